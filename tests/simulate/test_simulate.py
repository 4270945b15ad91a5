"""`dompromise simulate`: its help, determinism, metrics against hand-computed values, a one-day run."""

from __future__ import annotations

import json

import pytest

from dompromise.demo import network as demo
from dompromise.replica.clock import parse_start
from dompromise.simulate import report
from dompromise.simulate.command import Settings, run_in_process
from dompromise.simulate.policies import POLICIES
from dompromise.simulate.world import OrderResult, RunResult
from tests.processes import dompromise

H = 3_600 * 10**9


def test_help_explains_the_command_and_its_metrics():
    finished = dompromise("simulate", "--help")
    assert finished.returncode == 0
    for text in ("--orders-per-day", "--seed", "--png", "promise_kept_rate", "baselines", "greedy nearest"):
        assert text in finished.stdout


def _one_day(seed: int, policies: tuple[str, ...] = POLICIES) -> dict:
    """One simulated day of 150 orders on the demo network, in this process (about a second of CPU)."""
    network = demo.demo_network()
    settings = Settings(days=1, orders_per_day=150, seed=seed, policies=policies)
    return run_in_process(network, list(demo.demo_stock(network)), parse_start(settings.start), settings)


@pytest.fixture(scope="module")
def seed_7() -> dict:
    return _one_day(7)


def test_same_seed_same_json(seed_7):
    again = _one_day(7)
    first = json.loads(json.dumps(seed_7, sort_keys=True))
    for document in (first, again):
        document["settings"].pop("seconds")  # wall and CPU time: the one thing allowed to differ
        document["settings"].pop("cpu_seconds")
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    other = _one_day(8, ("promise",))
    assert other["orders"] != first["orders"] or other["fill_rate"] != first["fill_rate"]


def test_a_one_day_run_is_sane_for_every_policy(seed_7):
    assert set(seed_7["baselines"]) == {"greedy_nearest", "first_with_stock", "on_hand_only"}
    for metrics in (seed_7, *seed_7["baselines"].values()):
        assert set(report.METRIC_KEYS) <= set(metrics)
        assert metrics["orders"] == seed_7["orders"] > 100
        assert metrics["oversold_units"] == 0
        assert 0 < metrics["fill_rate"] <= 1 and 0 <= metrics["split_rate"] <= 1
        assert metrics["promise_kept_rate"] >= 0.995  # no slips, no late carriers
    assert seed_7["fill_rate"] >= seed_7["baselines"]["greedy_nearest"]["fill_rate"]
    assert seed_7["split_rate"] <= seed_7["baselines"]["greedy_nearest"]["split_rate"]
    assert [day["day"] for day in seed_7["by_day"]["promise"]] == [0]


def test_the_command_writes_its_json(tmp_path):
    out = tmp_path / "day.json"
    finished = dompromise(
        "simulate",
        "--days",
        "1",
        "--orders-per-day",
        "20",
        "--policies",
        "promise,greedy_nearest",
        "--json",
        str(out),
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    document = json.loads(out.read_text())
    assert document["policy"] == "promise" and set(document["baselines"]) == {"greedy_nearest"}
    assert document["orders"] > 0 and document["oversold_units"] == 0
    assert "promise" in finished.stderr  # the timings line


def test_metrics_match_hand_computed_values():
    placed = [0, 0, 0, 0]
    orders = [
        # 4 units, 2 shipments, promised by 30 h, delivered at 29 h: kept; lead 24 h
        OrderResult(
            day=0,
            requested_units=4,
            planned_units=4,
            shipments=2,
            promised_earliest_ns=24 * H,
            promised_latest_ns=30 * H,
            delivered_ns=29 * H,
            reserved=True,
        ),
        # 2 of 3 units, 1 shipment, delivered a day after the window: not kept; lead 48 h
        OrderResult(
            day=0,
            requested_units=3,
            planned_units=2,
            shipments=1,
            promised_earliest_ns=48 * H,
            promised_latest_ns=50 * H,
            delivered_ns=74 * H,
            reserved=True,
        ),
        OrderResult(day=0, requested_units=5),  # nothing to promise: fill 0
        OrderResult(day=0, requested_units=9, planned_units=9, shipments=1, abandoned=True, reserved=True),
    ]
    run = RunResult("promise", orders, oversold_units=0, holds_expired=1, at_risk_lines=3, at_risk_recovered=1)
    metrics = report.metrics(run, placed)
    assert metrics["orders"] == 3  # the abandoned checkout is not an order
    assert metrics["orders_promised"] == 2
    assert metrics["promise_kept_rate"] == 0.5
    assert metrics["fill_rate"] == pytest.approx(6 / 12, abs=1e-6)
    assert metrics["split_rate"] == 0.5
    assert metrics["mean_promised_lead_time_hours"] == 36.0
    assert (metrics["holds_expired"], metrics["at_risk_lines"], metrics["at_risk_recovered"]) == (1, 3, 1)


def test_bad_options_are_refused_by_name():
    finished = dompromise("simulate", "--days", "0", "--policies", "promise,magic")
    assert finished.returncode == 2
    assert "--days" in finished.stderr and "magic" in finished.stderr
