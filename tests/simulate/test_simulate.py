"""`dompromise simulate`: its help, determinism, metrics against hand-computed values, a one-day run."""

from __future__ import annotations

import json

import pytest

from dompromise.simulate import report
from dompromise.simulate.world import OrderResult, RunResult
from tests.processes import dompromise

H = 3_600 * 10**9


def test_help_explains_the_command_and_its_metrics():
    finished = dompromise("simulate", "--help")
    assert finished.returncode == 0
    for text in ("--orders-per-day", "--seed", "--png", "promise_kept_rate", "baselines", "greedy nearest"):
        assert text in finished.stdout


def _one_day(tmp_path, name: str, *extra: str) -> dict:
    out = tmp_path / name
    finished = dompromise(
        "--log-level",
        "warning",
        "simulate",
        "--days",
        "1",
        "--orders-per-day",
        "150",
        "--json",
        str(out),
        *extra,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(out.read_text())


def test_same_seed_same_json_and_a_sane_one_day_run(tmp_path):
    first = _one_day(tmp_path, "a.json", "--seed", "7")
    second = _one_day(tmp_path, "b.json", "--seed", "7")
    for document in (first, second):
        document["settings"].pop("seconds")  # wall time: the one thing allowed to differ
    assert first == second
    other = _one_day(tmp_path, "c.json", "--seed", "8")
    assert other["orders"] != first["orders"] or other["fill_rate"] != first["fill_rate"]
    # The metrics, ours and each baseline's, over the same orders.
    assert set(first["baselines"]) == {"greedy_nearest", "first_with_stock", "on_hand_only"}
    for metrics in (first, *first["baselines"].values()):
        assert set(report.METRIC_KEYS) <= set(metrics)
        assert metrics["orders"] == first["orders"] > 0
        assert metrics["oversold_units"] == 0
        assert 0 < metrics["fill_rate"] <= 1 and 0 <= metrics["split_rate"] <= 1
        assert metrics["promise_kept_rate"] >= 0.995  # no slips, no late carriers
    assert first["fill_rate"] >= first["baselines"]["greedy_nearest"]["fill_rate"]
    assert first["split_rate"] <= first["baselines"]["greedy_nearest"]["split_rate"]


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
