"""`ranking:` blocks of the network config: promise ranking weights.

The network's block sets weights over the defaults; a view's block sets
weights over the network's (`docs/config.md`, "Promise ranking"):

    ranking: {per_100_km: 1.5, per_priority_step: 4}

Each weight is a finite number (integers too) in [0, RANKING_WEIGHT_MAX]; a
block sets at least one. Written back by `dump.dump_ranking`.
"""

from __future__ import annotations

import dataclasses
import math

from dompromise.config.problems import Problems, Value, as_mapping, check_keys, describe_type, member
from dompromise.limits import RANKING_WEIGHT_MAX
from dompromise.model.views import RANKING_WEIGHT_NAMES, RankingWeights


def read_ranking(item: Value, base: RankingWeights, problems: Problems) -> RankingWeights | None:
    """A `ranking:` block (the network's, or a view's): the weights it sets over `base`.

    None when it has problems.
    """
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, RANKING_WEIGHT_NAMES, (), problems)
    if not entry:
        problems.add(item.line, item.field, "set at least one weight (or leave the key out)")
    weights: dict[str, float] = {}
    for name in RANKING_WEIGHT_NAMES:
        weight_item = member(entry, name, item.field)
        weight = _as_weight(weight_item, problems) if weight_item is not None else None
        if weight is not None:
            weights[name] = weight
    if problems.count() > before:
        return None
    return dataclasses.replace(base, **weights)


def _as_weight(item: Value, problems: Problems) -> float | None:
    value = item.value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        problems.add(item.line, item.field, f"expected a number, got {describe_type(value)}")
        return None
    if not math.isfinite(value) or not 0 <= value <= RANKING_WEIGHT_MAX:
        problems.add(item.line, item.field, f"{value} is outside [0, {RANKING_WEIGHT_MAX}]")
        return None
    return float(value)
