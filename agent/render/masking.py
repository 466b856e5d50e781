"""PII masking for text sent to a model: ips to their network, emails to domain, cards to last 4."""

from __future__ import annotations

import ipaddress
import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")


def mask_ip(ip: str) -> str:
    """IPv4 → its /24 (`203.0.113.0/24`), IPv6 → its /48; anything unparseable → `ip?`."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return "ip?"
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def mask_email(email: str) -> str:
    """`alice@example.com` → `*@example.com`."""
    _, _, domain = email.rpartition("@")
    return f"*@{domain}" if domain else "*"


def mask_instrument(instrument: str) -> str:
    """Keep the kind and the last four characters: `card:4111111111114411` → `card:****4411`."""
    kind, sep, number = instrument.rpartition(":")
    digits = number.replace("*", "").replace(" ", "").replace("-", "")
    return f"{kind}{sep}****{digits[-4:]}"


def mask_text(text: str) -> str:
    """Mask emails and card-like digit runs inside free text."""
    text = _EMAIL.sub(lambda match: f"*@{match.group(1)}", text)
    return _CARD_NUMBER.sub(lambda match: "****" + re.sub(r"\D", "", match.group())[-4:], text)
