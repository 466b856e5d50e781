"""Who a simulated user is: stable devices, ips, country and payment instruments."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

COUNTRY_WEIGHTS: dict[str, dict[str, float]] = {
    # Taobao is a Chinese marketplace, REES46 a Russian multi-category store; both sell abroad too.
    "taobao": {"CN": 70, "HK": 6, "TW": 5, "SG": 4, "MY": 4, "US": 4, "JP": 3, "KR": 2, "AU": 2},
    "rees46": {
        "RU": 45,
        "KZ": 8,
        "BY": 6,
        "UA": 6,
        "DE": 7,
        "US": 8,
        "PL": 5,
        "GB": 5,
        "TR": 5,
        "FR": 5,
    },
    "new": {
        "US": 20,
        "GB": 8,
        "DE": 8,
        "FR": 6,
        "CN": 10,
        "RU": 8,
        "BR": 8,
        "IN": 8,
        "NG": 4,
        "VN": 4,
        "ID": 4,
        "MX": 4,
        "TR": 4,
        "UA": 4,
    },
}
_FIRST_OCTETS: dict[str, tuple[int, ...]] = {
    "CN": (36, 58, 101, 112, 183, 223),
    "HK": (42, 103, 119),
    "TW": (1, 36, 114),
    "SG": (8, 103),
    "MY": (14, 60, 175),
    "US": (23, 38, 64, 73, 98, 174),
    "JP": (49, 126, 153),
    "KR": (14, 121),
    "AU": (1, 101, 110),
    "RU": (5, 31, 46, 77, 95, 178),
    "KZ": (2, 37, 92),
    "BY": (37, 86, 178),
    "UA": (31, 46, 91, 176),
    "DE": (31, 46, 79, 84, 93),
    "PL": (31, 83, 89),
    "GB": (2, 31, 81, 86),
    "TR": (78, 88, 176),
    "FR": (2, 37, 80, 90),
    "BR": (138, 177, 179, 187),
    "IN": (49, 106, 117),
    "NG": (41, 102, 105),
    "VN": (14, 113, 171),
    "ID": (36, 110, 180),
    "MX": (187, 189, 201),
}
MOBILE_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 Chrome/126.0 Mobile Safari",
    "Mozilla/5.0 (Linux; Android 13; M2102J20SG) AppleWebKit/537.36 Chrome/124.0 Mobile",
    "ShopApp/8.14.2 (iOS 17.4; iPhone15,2)",
    "ShopApp/8.13.0 (Android 14; Pixel 8)",
    "ShopApp/8.11.5 (Android 12; HUAWEI P50)",
)
DESKTOP_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/125.0 Safari/537.36",
)
AUTOMATION_AGENTS = (
    "python-requests/2.31.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
)


@dataclass(frozen=True, slots=True)
class Where:
    """Where an event came from."""

    device_id: str
    ip: str
    country: str
    user_agent: str


@dataclass(slots=True)
class Persona:
    """A simulated account: its usual devices and network, home country and instruments."""

    user_id: str
    home: Where
    places: list[Where] = field(default_factory=list)
    """Every device/network the owner uses; `home` first."""
    cards: list[str] = field(default_factory=list)
    billing_country: str = ""
    """Where the owner's instruments were issued: the home country, wherever they log in from."""

    def usual_place(self, rng: random.Random) -> Where:
        """The owner's main device most of the time, another of theirs sometimes."""
        if len(self.places) == 1 or rng.random() < 0.75:
            return self.home
        return rng.choice(self.places[1:])


def random_hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def new_device_id(rng: random.Random) -> str:
    return "d-" + random_hex(rng, 10)


def new_ip(rng: random.Random, country: str) -> str:
    first = rng.choice(_FIRST_OCTETS.get(country, (45, 91, 185)))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def nearby_ip(rng: random.Random, ip: str) -> str:
    """Another address in the same /16: the same provider, a new lease."""
    first, second, _, _ = ip.split(".")
    return f"{first}.{second}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def new_instrument(rng: random.Random) -> str:
    """A masked payment instrument id, mostly cards."""
    kind = rng.choices(("card", "wallet", "paypal"), weights=(85, 10, 5))[0]
    return f"{kind}:****{rng.randint(0, 9999):04d}"


def pick_country(rng: random.Random, population: str) -> str:
    weights = COUNTRY_WEIGHTS[population]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def other_country(rng: random.Random, country: str) -> str:
    """A country other than `country`, drawn from the whole population mix."""
    options = sorted({name for weights in COUNTRY_WEIGHTS.values() for name in weights} - {country})
    return rng.choice(options)


def new_place(rng: random.Random, country: str, agents: tuple[str, ...] = MOBILE_AGENTS) -> Where:
    return Where(new_device_id(rng), new_ip(rng, country), country, rng.choice(agents))


def moved(rng: random.Random, place: Where, country: str | None = None) -> Where:
    """The same device on another network: nearby ip at home, or a new one abroad."""
    if country is None or country == place.country:
        return replace(place, ip=nearby_ip(rng, place.ip))
    return replace(place, ip=new_ip(rng, country), country=country)


def new_persona(rng: random.Random, user_id: str, population: str) -> Persona:
    """An account with one to three devices, one or two instruments, all in one home country."""
    country = pick_country(rng, population)
    agents = MOBILE_AGENTS if rng.random() < 0.7 else DESKTOP_AGENTS
    home = new_place(rng, country, agents)
    places = [home]
    for _ in range(rng.choices((0, 1, 2), weights=(55, 35, 10))[0]):
        agents = DESKTOP_AGENTS if agents is MOBILE_AGENTS else MOBILE_AGENTS
        places.append(new_place(rng, country, agents))
    cards = [new_instrument(rng) for _ in range(rng.choices((1, 2, 3), weights=(65, 28, 7))[0])]
    return Persona(user_id, home, places, cards, billing_country=country)
