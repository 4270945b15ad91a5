"""Reserve lines held from several core rows: a SKU's unattributed stock and its
attribute variants (see variants.py).

The engine plans, per line, which rows give how much, from the state as it is
at the record's place in the log (so every replica plans alike), then hands the
planned sub-lines to the core as one RESERVE: the core stays the judge (it
checks every sub-line again) and a hold still resolves as one reservation.

A line takes its rows in reservation order (VariantRegistry.rows_for): the
unattributed row first, then variants by ascending date code, lot, age; with
required attribute values only the matching variants. A line is all or nothing
over its rows unless the request allows partial fill. A line with a backorder
date that its rows cannot fill now goes whole to the SKU's own row, where
future supply lands, and the core holds or backorders it there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.model.attributes import Attributes

ITEM = _core.ITEM_STATUS
RESULT = _core.COMMAND_RESULT


@dataclass
class LinePlan:
    rows: list[int]  # the rows the line may take, in order
    node: int
    quantity: int
    floor: int  # what the line leaves at its rows together (a channel's protection)
    status: int = 0  # the engine's answer when the line goes to no row (unknown SKU...)
    # (row, quantity, backorder date or 0, floor) the core holds for the line.
    subs: list[tuple[int, int, int, int]] = field(default_factory=list)


@dataclass
class Held:
    """A reserve's outcome, shaped like a core Command's (what RecordApplier._outcome reads)."""

    status: npt.NDArray[np.int8]  # [lines]
    filled: npt.NDArray[np.int64]  # [lines]
    available_after: npt.NDArray[np.int64]  # [lines]
    applied_count: int
    result: int
    reservation: int
    log_position: int
    log_time_ns: int


def plan(
    sku: list[int],
    node: list[int],
    quantity: list[int],
    due_ns: list[int],
    floor: list[int],
    required: list[Attributes | None],
    rows_for: Callable[[int, Attributes], list[int]],
    available: npt.NDArray[np.int64],
    sellable: npt.NDArray[np.bool_],
    partial: bool,
) -> list[LinePlan]:
    """Each line's sub-lines. `available` is the core's (rows, nodes) view; lines of
    one request taking the same position see what earlier lines took."""
    taken: dict[tuple[int, int], int] = {}
    plans = []
    for i, wanted in enumerate(quantity):
        values = required[i]
        status = _refusal(sku[i], node[i], values, sellable)
        rows = rows_for(sku[i], values) if values is not None and sku[i] >= 0 and node[i] >= 0 else []
        line = LinePlan(rows, node[i], wanted, floor[i], status)
        plans.append(line)
        if status:
            continue
        free = [max(0, int(available[row, node[i]]) - taken.get((row, node[i]), 0)) for row in line.rows]
        room = sum(free) - floor[i]
        if room < wanted and due_ns[i] > 0 and not required[i]:
            line.subs.append((sku[i], wanted, due_ns[i], floor[i]))
            continue
        want = wanted if room >= wanted else max(room, 0) if partial else 0
        if want == 0:
            line.status = ITEM["INSUFFICIENT_STOCK"]
        for row, free_row in zip(line.rows, free):
            take = min(free_row, want)
            if take > 0:
                line.subs.append((row, take, 0, 0))
                taken[(row, node[i])] = taken.get((row, node[i]), 0) + take
                want -= take
    return plans


def _refusal(sku: int, node: int, required: Attributes | None, sellable: npt.NDArray[np.bool_]) -> int:
    if required is None:
        return ITEM["MALFORMED"]
    if sku < 0:
        return ITEM["SKU_NOT_FOUND"]
    if node < 0:
        return ITEM["NODE_NOT_FOUND"]
    return 0 if sellable[node] else ITEM["NODE_NOT_SELLABLE"]


def hold(core: _core.Core, plans: list[LinePlan], time_ns: int, deadline_ns: int, partial: bool, advance: bool) -> Held:
    """Applies the plan as one core RESERVE (a TICK when nothing is to be held)."""
    subs = [(i, *sub) for i, line in enumerate(plans) for sub in line.subs]
    refused = any(line.status for line in plans)
    if not subs or (refused and not partial):
        tick = _core.Command(_core.COMMAND_KIND["TICK"], time_ns)
        core.apply(tick, advance)
        status = [line.status or ITEM["NOT_APPLIED"] for line in plans]
        return _held(core, plans, status, [0] * len(plans), RESULT["INSUFFICIENT_STOCK"], -1, tick)
    columns = list(zip(*subs))
    command = _core.Command(
        _core.COMMAND_KIND["RESERVE"],
        time_ns,
        columns[1],
        [plans[i].node for i in columns[0]],
        columns[2],
        all_or_nothing=not partial,
        deadline_ns=deadline_ns,
        time_ns=columns[3],
        floor=columns[4],
    )
    core.apply(command, advance)
    owner = np.asarray(columns[0])
    status, filled = [], []
    for i, line in enumerate(plans):
        mine = owner == i
        got = int(command.filled[mine].sum())
        filled.append(got)
        status.append(line.status or _line_status(command.status[mine].tolist(), got, line.quantity))
    reservation = command.reservation if command.result == RESULT["OK"] else -1
    return _held(core, plans, status, filled, command.result, reservation, command)


def _line_status(sub_status: list[int], got: int, wanted: int) -> int:
    if got == wanted:
        return ITEM["OK"]
    if got > 0:
        return ITEM["PARTIALLY_FILLED"]
    failed = [s for s in sub_status if s not in (ITEM["OK"], ITEM["NOT_APPLIED"], ITEM["PARTIALLY_FILLED"])]
    return failed[0] if failed else ITEM["NOT_APPLIED"]


def _held(
    core: _core.Core,
    plans: list[LinePlan],
    status: list[int],
    filled: list[int],
    result: int,
    reservation: int,
    command: _core.Command,
) -> Held:
    available = core.bucket_array("available")
    after = [max(0, int(available[line.rows, line.node].sum()) - line.floor) if line.rows else 0 for line in plans]
    return Held(
        np.asarray(status, dtype=np.int8),
        np.asarray(filled, dtype=np.int64),
        np.asarray(after, dtype=np.int64),
        int(sum(filled)),
        result,
        reservation,
        command.log_position,
        command.log_time_ns,
    )
