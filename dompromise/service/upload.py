"""UploadStock: a client-streaming bulk load, checked row by row, applied chunk by chunk.

Each chunk's good rows become one UpdateOnHand log record, submitted while
the next chunk is read (a few in flight, in order). With all_or_nothing the
whole upload is checked first and only then submitted, as one log record: a
crash writes all of it or none (several records would let recovery apply a
prefix). That bounds it: UPLOAD_ATOMIC_ROWS_MAX rows and
UPLOAD_ATOMIC_RECORD_BYTES_MAX bytes (the file log frames at most 64 MB a
record; a Redis stream entry should stay far below). It takes absolute
quantities only, so a row that passed the checks cannot fail when applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from dompromise import limits
from dompromise.errors import FieldViolation, InvalidArgumentError, LimitExceededError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ITEM_OK, ON_HAND_ADJUST, ON_HAND_SET
from dompromise.replica.protocol import Replica
from dompromise.reservations.book import Outcome
from dompromise.service.convert import attribute_set
from dompromise.v1 import common_pb2, inventory_pb2

STALE = common_pb2.ITEM_STATUS_STALE
# Chunk records submitted and not yet answered: enough to overlap reading,
# checking, logging and applying; few enough to bound memory.
RECORDS_IN_FLIGHT_MAX = 4
_NO_ATTRIBUTES: dict[str, str] = {}


@dataclass
class _Rows:
    """One chunk's rows, columnar, before checks."""

    sku_ids: list[str] = field(default_factory=list)
    node_ids: list[str] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)
    quantities: list[int] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)  # {} for unattributed stock

    def extend(self, other: _Rows) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))


@dataclass
class _Tally:
    rows: int = 0
    applied: int = 0
    rejected: int = 0
    stale: int = 0
    log_position: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)

    def reject(self, row: int, field_name: str, description: str) -> None:
        self.rejected += 1
        if len(self.problems) < limits.UPLOAD_PROBLEMS_LISTED_MAX:
            self.problems.append((row, field_name, description))


class Upload:
    """The state of one UploadStock stream."""

    def __init__(self, replica: Replica) -> None:
        self._replica = replica
        self._engine = replica.engine
        self._tally = _Tally()
        self._pending: list[asyncio.Future[Outcome]] = []
        self._held = _Rows()  # all_or_nothing: every good row, submitted at the end
        self._all_or_nothing = False

    async def run(
        self, request_iterator: AsyncIterator[inventory_pb2.UploadStockRequest]
    ) -> inventory_pb2.UploadStockResponse:
        first = True
        async for chunk in request_iterator:
            if first:
                self._all_or_nothing, first = chunk.all_or_nothing, False
            rows = _rows_of(chunk)
            self._check_sizes(len(rows.sku_ids))
            start = self._tally.rows
            self._tally.rows += len(rows.sku_ids)
            good = self._checked(rows, start)
            if self._all_or_nothing:
                self._held.extend(good)
            elif good.sku_ids:
                await self._submit(good)
        if self._all_or_nothing:
            self._raise_if_rejected()
            self._check_variant_room(self._held)
            if self._held.sku_ids:
                await self._submit(self._held, limits.UPLOAD_ATOMIC_RECORD_BYTES_MAX)
        for future in self._pending:
            self._count(await future)
        return self._response()

    def _check_sizes(self, count: int) -> None:
        if count > limits.STOCK_UPDATES_MAX:
            raise LimitExceededError("updates", "STOCK_UPDATES_MAX", limits.STOCK_UPDATES_MAX, count)
        if self._all_or_nothing and self._tally.rows + count > limits.UPLOAD_ATOMIC_ROWS_MAX:
            raise LimitExceededError(
                "columns", "UPLOAD_ATOMIC_ROWS_MAX", limits.UPLOAD_ATOMIC_ROWS_MAX, self._tally.rows + count
            )
        if self._tally.rows + count > limits.UPLOAD_ROWS_MAX:
            raise LimitExceededError("columns", "UPLOAD_ROWS_MAX", limits.UPLOAD_ROWS_MAX, self._tally.rows + count)

    def _checked(self, rows: _Rows, start: int) -> _Rows:
        """The good rows, converted to base units; each bad row is tallied with its field."""
        if self._plainly_good(rows):
            return rows
        engine, good = self._engine, _Rows()
        sku_index = engine.sku_indices(rows.sku_ids).tolist()
        skus = engine.skus_by_row
        for i in range(len(rows.sku_ids)):
            problem = self._problem(rows, i, sku_index[i])
            if problem:
                self._tally.reject(start + i, *problem)
                continue
            unit = rows.units[i]
            sku = skus[sku_index[i]]
            assert sku is not None, "a known SKU id names a catalog row"
            factor = sku.pack_sizes[unit] if unit else 1
            quantity = rows.quantities[i] * factor
            if abs(quantity) > limits.QUANTITY_MAX:
                self._tally.reject(start + i, "quantity", f"{quantity} base units is over {limits.QUANTITY_MAX}")
                continue
            for name in ("sku_ids", "node_ids", "ops", "source_ids", "sequences", "attributes"):
                getattr(good, name).append(getattr(rows, name)[i])
            good.quantities.append(quantity)
        return good

    def _plainly_good(self, rows: _Rows) -> bool:
        """The common bulk case, checked with numpy: known ids, absolute in-range
        quantities in base units, no feed source. Anything else goes row by row."""
        if any(rows.units) or any(rows.source_ids) or any(rows.attributes) or any(op != ON_HAND_SET for op in rows.ops):
            return False
        return self._engine.all_known_and_in_range(rows.sku_ids, rows.node_ids, rows.quantities)

    def _problem(self, rows: _Rows, i: int, sku: int) -> tuple[str, str] | None:
        if sku < 0:
            return "sku_id", f"unknown SKU {rows.sku_ids[i]!r}"
        if self._engine.node(rows.node_ids[i]) is None:
            return "node_id", f"unknown node {rows.node_ids[i]!r}"
        op, quantity = rows.ops[i], rows.quantities[i]
        if op not in (ON_HAND_SET, ON_HAND_ADJUST):
            return "kind", "must be SET_ON_HAND or ADJUST_ON_HAND"
        if op == ON_HAND_ADJUST and self._all_or_nothing:
            return "kind", "an all_or_nothing upload sets on hand (ADJUST_ON_HAND is not allowed)"
        if (op == ON_HAND_SET and quantity < 0) or abs(quantity) > limits.QUANTITY_MAX:
            return "quantity", f"must be 0 to {limits.QUANTITY_MAX}" if op == ON_HAND_SET else "too large"
        unit = rows.units[i]
        known = self._engine.skus_by_row[sku]
        if unit and known is not None and unit not in known.pack_sizes:
            return "unit", f"{rows.sku_ids[i]!r} has no unit {unit!r}"
        source = rows.source_ids[i]
        if source:
            if len(source) > limits.ID_LENGTH_MAX or not source.isprintable() or " " in source:
                return "source_id", "must be printable, without spaces, at most 128 characters"
            if not self._engine.feed_source_known(source) and self._engine.feed_sources_free() == 0:
                return "source_id", f"a network keeps at most {limits.FEED_SOURCES_MAX} feed sources"
            if rows.sequences[i] < 0:
                return "sequence", "must be >= 0 with a source_id"
        if rows.attributes[i]:
            bad = self._engine.attribute_violations(rows.sku_ids[i], rows.attributes[i], "attributes")
            if bad:
                return bad[0].field, bad[0].description
        return None

    def _check_variant_room(self, rows: _Rows) -> None:
        """An all_or_nothing upload applies every row or none: the variants its rows
        would create must fit before anything is submitted (VARIANTS_MAX)."""
        engine = self._engine
        new = engine.new_variant_count(rows.sku_ids, rows.attributes)
        if new > engine.variants_free():
            raise LimitExceededError(
                "updates.attributes",
                "VARIANTS_MAX",
                engine.variant_count + engine.variants_free(),
                engine.variant_count + new,
            )

    def _raise_if_rejected(self) -> None:
        if self._tally.rejected:
            violations = [FieldViolation(f"rows[{row}].{name}", text) for row, name, text in self._tally.problems[:20]]
            raise InvalidArgumentError(violations)

    async def _submit(self, rows: _Rows, record_bytes_max: int = 0) -> None:
        """Submits the rows as one log record (checked against `record_bytes_max` bytes when given)."""
        body = log_pb2.UpdateOnHand(
            sku_ids=rows.sku_ids, node_ids=rows.node_ids, ops=rows.ops, quantities=rows.quantities
        )
        if any(rows.source_ids):
            body.source_ids.extend(rows.source_ids)
            body.sequences.extend(rows.sequences)
        if any(rows.attributes):
            body.attributes.extend(attribute_set(values) for values in rows.attributes)
        record = log_pb2.LogRecord(update_on_hand=body)
        if record_bytes_max and record.ByteSize() > record_bytes_max:
            size = record.ByteSize()
            raise LimitExceededError("columns", "UPLOAD_ATOMIC_RECORD_BYTES_MAX", record_bytes_max, size)
        if len(self._pending) >= RECORDS_IN_FLIGHT_MAX:
            self._count(await self._pending.pop(0))
        self._pending.append(asyncio.ensure_future(self._replica.submit(record)))

    def _count(self, outcome: Outcome) -> None:
        statuses = outcome.item_status
        self._tally.applied += statuses.count(ITEM_OK)
        self._tally.stale += statuses.count(STALE)
        # Checked rows cannot fail but a delta below zero (ADJUST); count it as rejected.
        self._tally.rejected += len(statuses) - statuses.count(ITEM_OK) - statuses.count(STALE)
        self._tally.log_position = max(self._tally.log_position, outcome.log_position)

    def _response(self) -> inventory_pb2.UploadStockResponse:
        tally = self._tally
        response = inventory_pb2.UploadStockResponse(
            applied_count=tally.applied,
            rejected_count=tally.rejected,
            stale_count=tally.stale,
            row_count=tally.rows,
            log_position=tally.log_position,
        )
        for row, name, text in tally.problems:
            response.problems.add(row=row, field=name, description=text)
        return response


def _rows_of(chunk: inventory_pb2.UploadStockRequest) -> _Rows:
    """A chunk's updates then its columns, as one set of columns."""
    rows = _Rows()
    for update in chunk.updates:
        rows.sku_ids.append(update.sku_id)
        rows.node_ids.append(update.node_id)
        rows.ops.append(update.kind)
        rows.quantities.append(update.quantity)
        rows.units.append("")
        rows.source_ids.append(update.source_id)
        rows.sequences.append(update.sequence)
        rows.attributes.append(dict(update.attributes))
    columns = chunk.columns
    count = len(columns.sku_ids)
    if len(columns.node_ids) != count or len(columns.quantities) != count:
        raise InvalidArgumentError([FieldViolation("columns", "sku_ids, node_ids and quantities differ in length")])
    if (columns.units and len(columns.units) != count) or (columns.source_id and len(columns.sequences) != count):
        raise InvalidArgumentError([FieldViolation("columns", "units / sequences must have one value per row")])
    rows.sku_ids.extend(columns.sku_ids)
    rows.node_ids.extend(columns.node_ids)
    rows.ops.extend([ON_HAND_SET] * count)
    rows.quantities.extend(columns.quantities)
    rows.units.extend(columns.units or [""] * count)
    rows.source_ids.extend([columns.source_id] * count)
    rows.sequences.extend(columns.sequences or [0] * count)
    rows.attributes.extend([_NO_ATTRIBUTES] * count)  # one shared, never written
    return rows
