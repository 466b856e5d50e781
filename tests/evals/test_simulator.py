"""The fraud-typology simulator: deterministic, valid FORMATS.md cases, the typologies it claims."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from detectors.cases import FRAUD_TYPES, Case
from detectors.events import Event
from detectors.loading import read_cases, read_events
from detectors.sequences import order_events
from evals import simulate_cli
from evals.simulator.acceptable import ACCEPTABLE_ACTIONS, HARD_NEGATIVE_ACTIONS
from evals.simulator.build import plan_case_sets, simulate_cases
from evals.simulator.case_files import write_cases
from evals.simulator.injection import INJECTION_TEXTS
from evals.simulator.plan import HARD_NEGATIVE_KINDS
from evals.simulator.shops import SHOP_ACTIONS

N_CASES = 440
FRAUD_RATE = 0.5
CHANGES = {"email_change", "phone_change", "address_change", "two_factor_change", "password_reset"}


def _simulate(n: int, fraud_rate: float, seed: int) -> list[Case]:
    cases: list[Case] = []
    for plan, ctx in plan_case_sets(n, fraud_rate, seed):
        cases += simulate_cases(plan, ctx)
    return cases


@pytest.fixture(scope="module")
def case_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "cases.jsonl.gz"
    write_cases(path, _simulate(N_CASES, FRAUD_RATE, seed=7))
    return path


@pytest.fixture(scope="module")
def cases(case_file: Path) -> list[Case]:
    loaded, report = read_cases(case_file)
    assert report.rejected == 0, [str(problem) for problem in report.problems[:5]]
    return loaded


def _of(cases: list[Case], fraud_type: str) -> list[Case]:
    chosen = [case for case in cases if case.fraud_type == fraud_type]
    assert chosen, f"no {fraud_type} case"
    return chosen


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(simulate_cli.simulate)
    return app


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        path = tmp_path / name / "cases.jsonl.gz"
        args = ["--n", "60", "--fraud-rate", "0.3", "--seed", str(seed), "-o", str(path)]
        result = runner.invoke(_cli(), args)
        assert result.exit_code == 0, result.output
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]
    with gzip.open(tmp_path / "a" / "cases.jsonl.gz", "rt", encoding="utf-8") as lines:
        assert sum(1 for _ in lines) == 60


def test_every_case_parses_and_every_type_is_present(cases: list[Case]) -> None:
    assert len(cases) == N_CASES
    assert set(Counter(case.fraud_type for case in cases)) == set(FRAUD_TYPES)


def test_fraud_rate_is_kept_and_types_are_balanced(cases: list[Case]) -> None:
    by_type = Counter(case.fraud_type for case in cases)
    assert by_type["none"] == N_CASES - round(N_CASES * FRAUD_RATE)
    fraud_counts = [count for name, count in by_type.items() if name != "none"]
    assert max(fraud_counts) - min(fraud_counts) <= 1


def test_ids_are_unique_and_each_case_is_one_capped_user(cases: list[Case]) -> None:
    assert len({case.case_id for case in cases}) == len(cases)
    assert all(case.case_id.startswith("sim-") and len(case.case_id) == 10 for case in cases)
    users = [{event.user_id for event in case.events} for case in cases]
    assert all(len(ids) == 1 for ids in users)
    assert len(set.union(*users)) == len(cases)
    assert max(len(case.events) for case in cases) <= 120
    merged = [case.case_id for case in cases if len(order_events(case.events)) < len(case.events)]
    assert merged == [], "events that loading would merge as duplicates"


def test_acceptable_actions_come_from_the_table(cases: list[Case]) -> None:
    for case in cases:
        if "hard_negative" in case.extra["tags"]:
            assert case.acceptable_actions == HARD_NEGATIVE_ACTIONS
        else:
            assert case.acceptable_actions == ACCEPTABLE_ACTIONS[case.fraud_type]


def test_about_a_quarter_of_legitimate_users_are_hard_negatives_of_every_kind(
    cases: list[Case],
) -> None:
    legit = _of(cases, "none")
    hard = [case for case in legit if "hard_negative" in case.extra["tags"]]
    assert abs(len(hard) / len(legit) - 0.25) < 0.02
    assert {case.extra["tags"][1] for case in hard} == set(HARD_NEGATIVE_KINDS)


def test_injections_sit_in_review_text_of_tagged_review_fraud_only(cases: list[Case]) -> None:
    tagged = [case for case in cases if "prompt_injection" in case.extra["tags"]]
    assert tagged
    assert {case.fraud_type for case in tagged} <= {"order_brushing", "fake_review"}
    for case in cases:
        texts = [event.text or "" for event in case.events if event.action == "review"]
        injected = any(attack in text for text in texts for attack in INJECTION_TEXTS)
        assert injected == (case in tagged), case.case_id


def _gaps(events: list[Event]) -> list[float]:
    return [later.ts - earlier.ts for earlier, later in itertools.pairwise(events)]


def test_card_testing_is_many_small_mostly_declined_attempts_over_many_cards(
    cases: list[Case],
) -> None:
    for case in _of(cases, "card_testing"):
        payments = [event for event in case.events if event.action == "payment_attempt"]
        run = payments[-1].session_id  # a thin real history may hold ordinary payments before
        attempts = [event for event in payments if event.session_id == run]
        declined = [event for event in attempts if event.status == "declined"]
        assert len(attempts) >= 10
        assert len({event.payment_method for event in attempts}) >= 3
        assert len(declined) / len(attempts) >= 0.5
        assert all((event.amount or 0) <= 6 for event in attempts)
        assert attempts[-1].ts - attempts[0].ts < 3 * 3600


def test_account_takeover_is_a_new_device_changing_credentials_then_buying(
    cases: list[Case],
) -> None:
    for case in _of(cases, "account_takeover"):
        first_devices = {event.device_id for event in case.events[:5]}
        intruder = [event for event in case.events if event.device_id not in first_devices]
        actions = [event.action for event in intruder]
        assert CHANGES & set(actions), case.notes
        last_change = max(i for i, action in enumerate(actions) if action in CHANGES)
        assert "purchase" in actions[last_change:], case.notes


def test_payment_fraud_buys_fast_with_a_fresh_instrument(cases: list[Case]) -> None:
    for case in _of(cases, "payment_fraud"):
        added = [event for event in case.events if event.action == "payment_method_add"]
        bought = [event for event in case.events if event.action == "purchase"]
        assert added and bought
        assert bought[-1].ts - added[-1].ts < 3 * 3600


def test_order_brushing_repeats_one_shops_items_with_five_star_reviews(
    cases: list[Case],
) -> None:
    for case in _of(cases, "order_brushing"):
        shop_events = [event for event in case.events if "shop_id" in event.attrs]
        purchases = [event for event in shop_events if event.action == "purchase"]
        assert len(purchases) >= 2
        assert len({event.attrs["shop_id"] for event in shop_events}) == 1
        assert len({event.item_id for event in purchases}) <= 3
        assert all(event.rating == 5 for event in shop_events if event.action == "review")


def test_fake_reviews_review_items_never_bought(cases: list[Case]) -> None:
    for case in _of(cases, "fake_review"):
        bought = {event.item_id for event in case.events if event.action == "purchase"}
        reviewed = [event for event in case.events if event.action == "review"]
        assert len([event for event in reviewed if event.item_id not in bought]) >= 4


def test_bots_view_or_click_at_machine_rate_without_buying(cases: list[Case]) -> None:
    for case in _of(cases, "scraping_bot"):
        actions = Counter(event.action for event in case.events)
        assert actions["view"] >= 50
        assert not {"add_to_cart", "checkout", "purchase"} & set(actions)
        views = [event for event in case.events if event.action == "view"]
        assert statistics.median(_gaps(views)) <= 10
    for case in _of(cases, "click_fraud"):
        clicks = [event for event in case.events if event.action == "ad_click"]
        assert len(clicks) >= 30
        assert not [event for event in case.events if event.action == "app_install"]
        assert not [
            event
            for event in case.events
            if event.action == "purchase" and event.ts > clicks[-1].ts
        ]


def test_order_typologies_show_their_signature(cases: list[Case]) -> None:
    for case in _of(cases, "promo_abuse"):
        assert any(event.action == "coupon_redeem" for event in case.events)
    for case in _of(cases, "reseller_scalping"):
        maxed = [
            event
            for event in case.events
            if event.action == "purchase" and event.quantity == event.attrs.get("max_per_order")
        ]
        assert len(maxed) >= 1 and maxed[-1].ts - maxed[0].ts < 3600
    for case in _of(cases, "refund_abuse"):
        assert sum(event.action == "refund_request" for event in case.events) >= 3


def test_splits_are_stratified_and_use_distinct_users(tmp_path: Path) -> None:
    output = tmp_path / "set.jsonl.gz"
    args = ["--n", "300", "--fraud-rate", "0.4", "--splits", "0.6,0.2,0.2", "-o", str(output)]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    parts = [read_cases(tmp_path / f"set_{name}.jsonl.gz")[0] for name in ("train", "dev", "test")]
    assert [len(part) for part in parts] == [180, 60, 60]
    for part in parts:
        fraud = Counter(case.fraud_type for case in part if case.is_fraud)
        assert set(fraud) == set(FRAUD_TYPES[1:])
    users = [case.events[0].user_id for part in parts for case in part]
    assert len(set(users)) == 300


def test_events_only_writes_plain_events_of_every_user(tmp_path: Path) -> None:
    output = tmp_path / "sample.jsonl"
    args = ["--n", "40", "--fraud-rate", "0.25", "--events-only", "-o", str(output)]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    events, report = read_events(output)
    assert report.rejected == 0 and report.kept == len(events)
    assert len({event.user_id for event in events}) == 40
    first = json.loads(output.read_text(encoding="utf-8").splitlines()[0])
    assert "fraud_type" not in first and "user_id" in first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "need ≥ 1"),
        (["--fraud-rate", "1.5"], "0 ≤ rate ≤ 1"),
        (["--splits", "0.6,0.6"], "sum to"),
        (["--max-events", "30"], "need ≥ 60"),
    ],
)
def test_bad_input_is_refused_with_exit_code_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(_cli(), [*args, "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.jsonl").exists()


DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def test_committed_test_split_and_sample_load_whole() -> None:
    test_cases, report = read_cases(DATASETS / "sim_v1_test.jsonl.gz")
    assert report.rejected == 0 and len(test_cases) == 800
    by_type = Counter(case.fraud_type for case in test_cases)
    assert set(by_type) == set(FRAUD_TYPES)
    assert min(count for name, count in by_type.items() if name != "none") >= 15
    events, report = read_events(DATASETS / "sample_events_v1.jsonl")
    assert report.rejected == 0
    assert len({event.user_id for event in events}) == 150
    assert any(attack in (event.text or "") for event in events for attack in INJECTION_TEXTS)


def test_a_real_data_folder_without_the_data_sets_is_refused(tmp_path: Path) -> None:
    args = ["--n", "5", "--real-data", str(tmp_path), "-o", str(tmp_path / "x.jsonl")]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 2
    assert "not found" in result.output


def test_sim_v2_draws_more_variants_and_noisier_hard_negatives() -> None:
    from evals.simulator.injection import MORE_LANGUAGES
    from evals.simulator.versions import SIM_V1, SIM_V2

    cases: list[Case] = []
    for plan, ctx in plan_case_sets(300, 0.5, seed=5, version="v2"):
        assert ctx.version == "v2" and ctx.max_events == SIM_V2.max_events
        cases += simulate_cases(plan, ctx)
    assert {case.fraud_type for case in cases} == set(FRAUD_TYPES)
    assert all(len(case.events) <= SIM_V2.max_events for case in cases)
    notes = " ".join(case.notes or "" for case in cases)
    for variant in ("(v2, quiet)", "(v2, low and slow)", "(v2, ring of", "scraping bot (v2)"):
        assert variant in notes
    kinds = {case.extra["tags"][1] for case in cases if "hard_negative" in case.extra["tags"]}
    assert kinds - set(SIM_V1.hard_negatives)  # kinds sim_v1 never makes
    texts = [e.text for case in cases for e in case.events if e.text]
    assert any(attack in text for text in texts for attack in MORE_LANGUAGES)


def _simulated(version: str) -> list[Case]:
    cases: list[Case] = []
    for plan, ctx in plan_case_sets(200, 0.5, seed=9, version=version):
        cases += simulate_cases(plan, ctx)
    return cases


def _without_shop(event: Event) -> Event:
    attrs = {key: value for key, value in event.attrs.items() if key != "shop_id"}
    return dataclasses.replace(event, attrs=attrs)


def test_sim_v3_is_sim_v2_with_every_orders_shop_named_alike() -> None:
    v2, v3 = _simulated("v2"), _simulated("v3")
    assert [case.case_id for case in v2] == [case.case_id for case in v3]
    for old, new in zip(v2, v3, strict=True):
        assert [_without_shop(e) for e in old.events] == [_without_shop(e) for e in new.events]
    orders = [
        (case.fraud_type, event)
        for case in v3
        for event in case.events
        if event.action in SHOP_ACTIONS and event.item_id is not None
    ]
    assert all(re.fullmatch(r"shop-[0-9a-f]{6}", event.attrs["shop_id"]) for _, event in orders)
    # the attribute no longer marks brushing: honest buyers' orders name shops the same way
    keys = {fraud == "order_brushing": set(event.attrs) for fraud, event in orders}
    assert keys[True] == keys[False]
    # a ring's orders (sim_v2 marked them) still name one shop, now in the common form
    for old, new in zip(v2, v3, strict=True):
        ring = {e.attrs["shop_id"] for e in old.events if "shop_id" in e.attrs}
        renamed = {
            n.attrs["shop_id"]
            for o, n in zip(old.events, new.events, strict=True)
            if "shop_id" in o.attrs
        }
        assert len(renamed) == len(ring)
