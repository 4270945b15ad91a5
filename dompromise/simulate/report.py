"""The metrics of a run, the JSON document and the PNG by day.

Over orders that were not abandoned at checkout:
- promise_kept_rate: orders delivered (every shipment) by the latest instant of the promised window,
  over orders promised;
- fill_rate: units promised and reserved over units requested (an order no policy can serve counts 0);
- split_rate: promised orders sent in more than one shipment, over promised orders;
- mean_promised_lead_time_hours: order placed -> promised earliest delivery, over promised orders;
- oversold_units: units promised and committed that never shipped, plus any negative stock on hand;
- holds_expired: abandoned checkouts' holds that expired by the log's clock;
- at_risk_lines / at_risk_recovered: backorder lines put AT_RISK by a supply slip, and those that came
  BACK_ON_TRACK; repromise_would_save: at-risk lines of orders that were late whose line, promised
  again when the risk was announced, had a plan from stock inside the original window;
- reserve_refused: orders whose plan, signed into a promise token, the reserve then refused.
"""

from __future__ import annotations

from typing import Any

from dompromise.simulate.world import OrderResult, RunResult

NS_PER_HOUR = 3_600 * 10**9
METRIC_KEYS = (
    "promise_kept_rate",
    "fill_rate",
    "split_rate",
    "mean_promised_lead_time_hours",
    "oversold_units",
    "holds_expired",
    "at_risk_lines",
    "at_risk_recovered",
    "repromise_would_save",
    "orders",
    "orders_promised",
)


def metrics(result: RunResult, placed_ns: list[int]) -> dict[str, Any]:
    """The metric keys of one run; `placed_ns` is each order's time (same order as result.orders)."""
    document = _order_metrics(result.orders, placed_ns)
    document.update(
        oversold_units=result.oversold_units,
        holds_expired=result.holds_expired,
        at_risk_lines=result.at_risk_lines,
        at_risk_recovered=result.at_risk_recovered,
        repromise_would_save=result.repromise_would_save,
        reserve_refused=result.reserve_refused,
    )
    return document


def _order_metrics(orders: list[OrderResult], placed_ns: list[int]) -> dict[str, Any]:
    kept = promised = split = requested = planned = 0
    lead_ns = 0
    for order, placed in zip(orders, placed_ns):
        if order.abandoned:
            continue
        requested += order.requested_units
        if not order.reserved:
            continue
        promised += 1
        planned += order.planned_units
        split += order.shipments > 1
        lead_ns += order.promised_earliest_ns - placed
        kept += 0 < order.delivered_ns <= order.promised_latest_ns
    return {
        "orders": sum(1 for order in orders if not order.abandoned),
        "orders_promised": promised,
        "promise_kept_rate": _ratio(kept, promised),
        "fill_rate": _ratio(planned, requested),
        "split_rate": _ratio(split, promised),
        "mean_promised_lead_time_hours": round(lead_ns / promised / NS_PER_HOUR, 3) if promised else 0.0,
    }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def by_day(result: RunResult, placed_ns: list[int], days: int) -> list[dict[str, Any]]:
    """The order metrics of each day's orders."""
    series = []
    for day in range(days):
        chosen = [(o, t) for o, t in zip(result.orders, placed_ns) if o.day == day]
        series.append({"day": day, **_order_metrics([o for o, _ in chosen], [t for _, t in chosen])})
    return series


def document(runs: list[RunResult], placed_ns: list[int], days: int, settings: dict[str, Any]) -> dict[str, Any]:
    """The JSON: our policy's metrics at the top, each baseline's under `baselines`, days under `by_day`."""
    ours, baselines = runs[0], runs[1:]
    top: dict[str, Any] = {"policy": ours.policy, **metrics(ours, placed_ns)}
    top["baselines"] = {run.policy: metrics(run, placed_ns) for run in baselines}
    top["by_day"] = {run.policy: by_day(run, placed_ns, days) for run in runs}
    top["settings"] = settings
    return top


def write_png(path: str, report: dict[str, Any]) -> None:
    """Fill, split and kept rates by day, ours against each baseline (matplotlib: the `simulate` extra)."""
    import matplotlib  # noqa: PLC0415 - optional: only --png needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    names = ("promise_kept_rate", "fill_rate", "split_rate")
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4))
    for axis, name in zip(axes, names):
        for policy, days in report["by_day"].items():
            axis.plot([d["day"] + 1 for d in days], [d[name] for d in days], marker="o", label=policy)
        axis.set_title(name)
        axis.set_xlabel("day")
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
