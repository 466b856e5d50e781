"""Real-data adapters: each shared real data set loads, maps as FORMATS.md says, and labels."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from detectors.adapters import ADAPTERS, FORMAT_NAMES, LABELLED_FORMATS, read_labels, real_data_path
from detectors.events import Event
from detectors.loading import LoadReport, read_events

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"

README_TABLE = {  # rows and users as ../shared/data/real/README.md gives them
    "taobao": (84_475, 815),
    "rees46": (17_434, 4_505),
    "talkingdata": (100_000, 34_857),
    "fraud_data": (30_190, 30_190),
    "diginetica": (12_390, 2_986),
}


@pytest.fixture(scope="module")
def loaded() -> dict[str, tuple[list[Event], LoadReport]]:
    return {fmt: read_events(real_data_path(fmt), fmt) for fmt in ADAPTERS}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def test_the_adapters_read_the_shared_real_data_folder() -> None:
    assert ("jsonl", "cases", *ADAPTERS) == FORMAT_NAMES
    for fmt in ADAPTERS:
        assert real_data_path(fmt).resolve() == (REAL / ADAPTERS[fmt].file).resolve()


@pytest.mark.parametrize("fmt", list(README_TABLE))
def test_row_counts_match_the_readme_within_the_truncated_last_row(
    loaded: dict[str, tuple[list[Event], LoadReport]], fmt: str
) -> None:
    events, report = loaded[fmt]
    rows, users = README_TABLE[fmt]
    assert report.read == report.kept + report.rejected
    assert report.rejected <= 1
    assert abs(report.kept - rows) <= 1
    assert abs(report.read - rows) <= 1
    if fmt == "diginetica":  # users are mostly anonymous sessions; the README counts sessions
        assert len({event.session_id for event in events}) == users
    else:
        assert abs(len({event.user_id for event in events}) - users) <= 1


@pytest.mark.parametrize(
    ("fmt", "line", "message"),
    [
        ("taobao", 84_476, "expected 5 columns, got 4"),
        ("rees46", 17_436, "expected 9 columns, got 8"),
        ("fraud_data", 30_191, "purchase_time: "),
    ],
)
def test_the_truncated_last_row_is_rejected_with_its_line(
    loaded: dict[str, tuple[list[Event], LoadReport]], fmt: str, line: int, message: str
) -> None:
    _, report = loaded[fmt]
    assert [problem.line for problem in report.problems] == [line]
    assert report.problems[0].message.startswith(message)
    assert report.problems[0].path == str(real_data_path(fmt))


def test_taobao_mapping(loaded: dict[str, tuple[list[Event], LoadReport]]) -> None:
    events, _ = loaded["taobao"]
    first = events[0]
    assert (first.user_id, first.item_id, first.category, first.action, first.ts) == (
        "1",
        "2268318",
        "2520377",
        "view",
        1511544070.0,
    )
    raw = Counter(line.split(",")[3] for line in real_data_path("taobao").read_text().splitlines())
    actions = Counter(event.action for event in events)
    assert actions["favorite"] == raw["fav"] and actions["purchase"] == raw["buy"]
    assert actions["add_to_cart"] == raw["cart"]
    assert actions["view"] == raw["pv"] - 1  # the truncated last row is a `pv`


def test_rees46_mapping(loaded: dict[str, tuple[list[Event], LoadReport]]) -> None:
    events, _ = loaded["rees46"]
    assert {event.action for event in events} == {"view", "add_to_cart", "purchase"}
    first, second = events[:2]
    assert (first.user_id, first.item_id, first.amount, first.ts) == (
        "541312140",
        "44600062",
        35.79,
        utc(2019, 10, 1),
    )
    assert first.session_id == "72d76fde-8bb3-4e00-8c23-a032dfed738c"
    assert first.category == "2103807459595387724"  # no category_code: the category_id
    assert first.attrs == {"category_id": "2103807459595387724", "brand": "shiseido"}
    assert second.category == "appliances.environment.water_heater"


def test_talkingdata_mapping(loaded: dict[str, tuple[list[Event], LoadReport]]) -> None:
    events, report = loaded["talkingdata"]
    actions = Counter(event.action for event in events)
    assert actions == {"ad_click": report.kept, "app_install": 227}
    first = events[0]
    assert (first.user_id, first.ip, first.ts) == ("87540", "87540", utc(2017, 11, 7, 9, 30, 38))
    assert first.attrs == {"app": "12", "os": "13", "channel": "497", "device": "1"}
    installs = [i for i, event in enumerate(events) if event.action == "app_install"]
    for index in installs:
        click, install = events[index - 1], events[index]
        assert click.action == "ad_click" and click.user_id == install.user_id
        assert install.ts >= click.ts


def test_fraud_data_mapping(loaded: dict[str, tuple[list[Event], LoadReport]]) -> None:
    events, report = loaded["fraud_data"]
    assert len(events) == 2 * report.kept
    signup, purchase = events[:2]
    assert (signup.user_id, signup.action) == ("22058", "account_signup")
    assert signup.ts == utc(2015, 2, 24, 22, 55)
    assert (purchase.action, purchase.amount) == ("purchase", 34.0)
    assert purchase.ts == utc(2015, 4, 18, 2, 47)
    assert (purchase.device_id, purchase.ip, purchase.country) == (
        "QVPSPJUOCKZAR",
        "43.173.1.96",
        "Japan",
    )
    assert signup.attrs == {"source": "SEO", "browser": "Chrome", "sex": "M", "age": 39}
    assert all(event.attrs.keys() == signup.attrs.keys() for event in events)
    pairs = zip(events[::2], events[1::2], strict=True)
    assert all(a.user_id == b.user_id and a.ts <= b.ts for a, b in pairs)
    with_country = sum(event.country is not None for event in events[::2])
    assert 0.5 * report.kept < with_country < report.kept  # table is partial: some ips unknown


def test_diginetica_mapping(loaded: dict[str, tuple[list[Event], LoadReport]]) -> None:
    events, _ = loaded["diginetica"]
    first = events[0]
    assert (first.user_id, first.session_id, first.item_id) == ("session:1", "1", "81766")
    assert first.action == "view"
    assert first.ts == utc(2016, 5, 9) + 526.309
    known = [event for event in events if not event.user_id.startswith("session:")]
    assert known and all(event.user_id.isdigit() for event in known)


def test_labels_of_the_labelled_sets(loaded: dict[str, tuple[list[Event], LoadReport]]) -> None:
    assert set(LABELLED_FORMATS) == {"fraud_data", "talkingdata"}
    fraud = read_labels(real_data_path("fraud_data"), "fraud_data")
    raw = real_data_path("fraud_data").read_text(encoding="utf-8-sig").splitlines()
    assert sum(fraud.values()) == sum(line.endswith(",1") for line in raw) == 2_867
    assert fraud.keys() == {event.user_id for event in loaded["fraud_data"][0]}
    clicks = read_labels(real_data_path("talkingdata"), "talkingdata")
    events = loaded["talkingdata"][0]
    converted = {event.user_id for event in events if event.action == "app_install"}
    assert clicks.keys() == {event.user_id for event in events}
    assert {ip for ip, label in clicks.items() if label == 0} == converted
    assert (len(clicks), len(converted)) == (34_857, 223)


def test_read_labels_refuses_an_unlabelled_format() -> None:
    with pytest.raises(ValueError, match="fraud_data"):
        read_labels(real_data_path("taobao"), "taobao")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_rows_are_rejected_by_column_not_repaired(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ub.csv",
        "1,10,100,pv,1511544070\n1,11,100,share,1511544071\n\n1,12,100,buy,soon\n2,13\n",
    )
    events, report = read_events(path, "taobao")
    assert [event.action for event in events] == ["view", "other:share"]
    assert (report.read, report.kept, report.rejected) == (4, 2, 2)
    assert [str(problem) for problem in report.problems] == [
        f"{path}:4: timestamp: not a number: 'soon'",
        f"{path}:5: expected 5 columns, got 2 (truncated or malformed)",
    ]


def test_a_file_of_another_layout_is_refused_by_its_header(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match=r"x\.csv: header"):
        read_events(path, "rees46")


def test_talkingdata_stray_prefix_and_install(tmp_path: Path) -> None:
    path = write(
        tmp_path / "td.csv",
        "..ip,app,device,os,channel,click_time,attributed_time,is_attributed\n"
        "5,9,1,13,497,2017-11-07 09:30:38,2017-11-07 10:00:00,1\n"
        "5,9,1,13,497,2017-11-07 09:31:00,,yes\n",
    )
    events, report = read_events(path, "talkingdata")
    assert [(event.action, event.ts) for event in events] == [
        ("ad_click", utc(2017, 11, 7, 9, 30, 38)),
        ("app_install", utc(2017, 11, 7, 10)),
    ]
    assert report.problems[0].line == 3 and "is_attributed" in report.problems[0].message


def test_fraud_data_country_comes_from_the_table_beside_it(tmp_path: Path) -> None:
    row = "7,1/2/2015 3:04,1/3/2015 4:05,62,DEV,SEO,Chrome,M,34,{ip},1\n"
    header = ",".join(ADAPTERS["fraud_data"].columns) + "\n"
    path = write(tmp_path / "fraud.csv", header + row.format(ip="16777300.5") + row.format(ip="5"))
    events, _ = read_events(path, "fraud_data")
    assert [event.country for event in events] == [None] * 4
    write(
        tmp_path / "IpAddress_to_Country.csv",
        "\ufefflower_bound_ip_address,upper_bound_ip_address,country\n16777216,16777471,Australia\n",
    )
    events, _ = read_events(path, "fraud_data")
    assert [(event.ip, event.country) for event in events[::2]] == [
        ("1.0.0.84", "Australia"),
        ("0.0.0.5", None),
    ]
