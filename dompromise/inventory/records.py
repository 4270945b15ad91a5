"""Log records applied to the state: each record becomes core commands, in log order.

A `RecordApplier` is one part of an Engine (engine.py): it shares the engine's
core, reservation book, variant registry, capacity counts and id tables, and
is the only thing that changes them for a replica. Everything it decides
depends on the record and the state before it only, so the same log gives the
same state on every replica. The engine binds `apply_record` as its own method,
so a record costs no extra call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypedDict, Unpack

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.internal.v1 import log_pb2
from dompromise.inventory._records import ReserveRecords
from dompromise.inventory.capacity import CapacityCounts
from dompromise.inventory.channels import NONE, floors
from dompromise.inventory.codes import ITEM_STATUS, KIND, RESULT, SAFETY_STOCK_SCOPE, UNKNOWN_INDEX, UPDATE_ON_HAND
from dompromise.inventory.reads import Reads
from dompromise.inventory.sellable import SellableNodes
from dompromise.inventory.variants import VariantRegistry
from dompromise.model import attributes
from dompromise.model.attributes import Attributes
from dompromise.reservations import split as split_reserve
from dompromise.reservations.book import Outcome, ReservationBook, ReservationView, fingerprint

Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
# What a reserve leaves for its outcome: the core's command, or the plan's (split_reserve.Held) shaped like it.
Reserved = _core.Command | split_reserve.Held
AttributeSets = Sequence[log_pb2.AttributeSet]


class Sequenced(TypedDict, total=False):
    """A sequenced stock update's extra columns (UpdateOnHand.source_ids and sequences)."""

    ref: Int64s  # each item's feed row
    time_ns: Int64s  # each item's sequence number in its feed


# Records that change one reservation, named by its id.
NAMES_RESERVATION = frozenset(("commit", "release", "extend", "ship", "cancel_lines"))
# Records that change the catalog or the network (the engine applies them: catalog.py).
CATALOG_RECORDS = frozenset(("upsert_skus", "retire_skus", "change_network"))


class RecordApplier:
    """Turns each log record into core commands and keeps the books the core does not."""

    def __init__(
        self,
        core: _core.Core,
        node_index: dict[str, int],
        sku_index: dict[str, int],
        sellable: SellableNodes,
        variants: VariantRegistry,
        book: ReservationBook,
        capacity: CapacityCounts,
        reads: Reads,
        supply_ids: list[str],
        source_ids: list[str],
        catalog: Callable[[log_pb2.LogRecord], Outcome] | None = None,
        row_ids: tuple[list[str], list[str]] | None = None,
    ):
        self._core = core
        # The engine's handler of catalog and network records (catalog.py): they change the engine itself.
        self._catalog = catalog
        self._node_index = node_index
        self._sku_index = sku_index
        self._sellable = sellable
        self._variants = variants
        self._book = book
        self._capacity = capacity
        self._reservation_view = reads.reservation_view  # for outcomes
        # Supply ids <-> core supply indices, assigned in log order (the list is the engine's).
        self._supply_ids = supply_ids
        self._supply_index = {supply_id: i for i, supply_id in enumerate(supply_ids)}
        # Feed source ids <-> core feed rows, assigned in log order (the list is the engine's).
        self._source_ids = source_ids
        self._source_index = {source_id: i for i, source_id in enumerate(source_ids)}
        # Reserve records applied from their bytes (_records.pyx), answering with ids by row: (SKU ids, node ids).
        sku_ids, node_ids = row_ids if row_ids is not None else ([], [])
        self._reserves = ReserveRecords(
            core, sku_index, node_index, sku_ids, node_ids, book, variants, Outcome, ReservationView
        )

    def supply_index(self, supply_id: str) -> int | None:
        return self._supply_index.get(supply_id)

    def feed_source_known(self, source_id: str) -> bool:
        return source_id in self._source_index

    # ---- a record ---------------------------------------------------------------

    def apply_record(self, record: log_pb2.LogRecord, log_position: int) -> Outcome:
        """Applies one log record at its position; the same log gives the same state.

        A record whose request_id was seen applies as a Tick (the clock still
        moves) and returns the first outcome, or a conflict if the payload differs.
        """
        assert log_position == self._core.log_position + 1, "log records apply in order, once"
        log_time_ns = record.log_time_ns
        self._book.forget_before(log_time_ns)
        self._book.forget_tokens_before(log_time_ns)
        key = record.request_id
        if key:
            print_ = fingerprint_of(record)
            first = self._book.seen(key, print_)
            if first is not None:
                self._core.apply(_core.Command(KIND["TICK"], log_time_ns))
                self._count_capacity(None)
                return first
        outcome = self._apply_command(record, log_position)
        if key:
            self._book.remember(key, print_, log_time_ns, outcome)
        self._count_capacity(record)
        return outcome

    def replay_payload(self, payload: bytes, log_position: int, log_time_ns: int = -1) -> None:
        """Applies a record from its log bytes, its answer not wanted (recovery, a replica tailing a log):
        a reserve _records.pyx takes is applied there, any other record parsed and applied as apply_record
        does (a payload that does not parse raises DecodeError). `log_time_ns` >= 0: the record's time, in
        place of the payload's (a Redis entry carries it beside the payload)."""
        if not self._reserves.replay(payload, log_position, log_time_ns):
            self.apply_record(_parsed(payload, log_time_ns), log_position)

    def apply_payload(
        self, payload: bytes, log_position: int, record: log_pb2.LogRecord | None = None, log_time_ns: int = -1
    ) -> Outcome:
        """replay_payload, answering with the record's Outcome (the writer's). `record`: the payload parsed
        already, with its log time (the writer's own, a tail's), applied when the fast path does not take
        it (a big catalog record is not parsed twice)."""
        outcome: Outcome | None = self._reserves.apply(payload, log_position, log_time_ns)
        if outcome is None:
            outcome = self.apply_record(record or _parsed(payload, log_time_ns), log_position)
        return outcome

    def count_capacity(self) -> None:
        """Brings the capacity counts up to the records applied: those applied from their bytes leave it to
        the next read (Engine.capacity) or the next record applied here, which counts every new reservation
        and expiry alike (the counts are a function of the state and the log's clock: capacity.py)."""
        self._capacity.sync(self._core, self._book.create_ns_of)  # _count_capacity(None), a frame less

    def _count_capacity(self, record: log_pb2.LogRecord | None) -> None:
        """Brings the capacity counts up to the record just applied (in log order:
        every replica counts alike): new reservations, the one it named, expiries."""
        if not self._capacity.enabled:
            return
        touched = -1
        which = record.WhichOneof("command") if record is not None else None
        if record is not None and which in NAMES_RESERVATION:
            touched = self._book.index_of(getattr(record, which).reservation_id)
        self._capacity.sync(self._core, self._book.create_ns_of, touched)

    def _apply_command(self, record: log_pb2.LogRecord, log_position: int) -> Outcome:
        which = record.WhichOneof("command")
        time_ns = record.log_time_ns
        if which == "update_on_hand":
            body = record.update_on_hand
            if body.source_ids:
                sources = self._source_rows(body.source_ids)
                sequences = np.asarray(body.sequences, dtype=np.int64)
                return self._apply_attributed(UPDATE_ON_HAND, time_ns, body, body.ops, ref=sources, time_ns=sequences)
            return self._apply_attributed(UPDATE_ON_HAND, time_ns, body, body.ops)
        if which == "set_unavailable":
            unavailable = record.set_unavailable
            return self._apply_attributed(KIND["SET_UNAVAILABLE"], time_ns, unavailable, unavailable.reasons)
        if which == "reserve":
            return self._apply_reserve(record.reserve, time_ns, log_position, record.id_nonce)
        if which == "commit" or which == "release":
            resolve = record.commit if which == "commit" else record.release
            index = self._book.index_of(resolve.reservation_id)
            command = _core.Command(KIND[which.upper()], time_ns, reservation=index)
            self._core.apply(command)
            if which == "commit" and command.result == RESULT["OK"]:
                self._book.set_order(index, resolve.order_id)
            return self._outcome(command, (), index)
        if which == "extend":
            extend = record.extend
            index = self._book.index_of(extend.reservation_id)
            command = _core.Command(KIND["EXTEND"], time_ns, reservation=index, deadline_ns=time_ns + extend.ttl_ns)
            self._core.apply(command)
            return self._outcome(command, (), index)
        if which == "ship" or which == "cancel_lines":
            change = record.ship if which == "ship" else record.cancel_lines
            index = self._book.index_of(change.reservation_id)
            count = len(change.line_numbers)
            command = _core.Command(
                KIND[which.upper()],
                time_ns,
                np.zeros(count, np.int32),
                np.zeros(count, np.int32),
                np.asarray(change.quantities, dtype=np.int64),
                reservation=index,
                line=np.asarray(change.line_numbers, dtype=np.int32),
            )
            self._core.apply(command)
            return self._outcome(command, command.filled, index)
        if which == "allocate_wave":
            return self._apply_wave(record.allocate_wave, time_ns, log_position, record.id_nonce)
        if which == "set_node_status":
            status = record.set_node_status
            count = len(status.node_ids)
            get = self._node_index.get
            node = np.array([get(n, UNKNOWN_INDEX) for n in status.node_ids], dtype=np.int32)
            command = _core.Command(
                KIND["SET_NODE_STATUS"],
                time_ns,
                np.zeros(count, np.int32),
                node,
                np.zeros(count, np.int64),
                np.asarray(status.statuses, dtype=np.int8),
            )
            self._core.apply(command)
            self._sellable.refresh()
            return self._outcome(command, ())
        if which == "upsert_supply":
            return self._apply_upsert_supply(record.upsert_supply, time_ns)
        if which == "receive_supply":
            receive = record.receive_supply
            get_supply = self._supply_index.get
            count = len(receive.supply_ids)
            command = _core.Command(
                KIND["RECEIVE_SUPPLY"],
                time_ns,
                np.zeros(count, np.int32),
                np.zeros(count, np.int32),
                np.asarray(receive.quantities, dtype=np.int64),
                np.asarray(receive.dispositions, dtype=np.int8),
                all_or_nothing=receive.all_or_nothing,
                ref=np.array([get_supply(s, UNKNOWN_INDEX) for s in receive.supply_ids], dtype=np.int64),
            )
            self._core.apply(command)  # an unknown id is -1: SUPPLY_NOT_FOUND
            return self._outcome(command, command.on_hand_after)
        if which == "set_safety_stock":
            return self._apply_safety_stock(record.set_safety_stock, time_ns)
        if which in CATALOG_RECORDS and self._catalog is not None:
            return self._catalog(record)
        if which == "return_stock":
            returned = record.return_stock
            command = self._command(
                KIND["RETURN"],
                time_ns,
                returned.sku_ids,
                returned.node_ids,
                returned.quantities,
                np.asarray(returned.dispositions, dtype=np.int8),
            )
            return self._outcome(command, command.filled)
        # A tick; or no command / one this version does not know, which the
        # core records as malformed (kind 0) without changing anything.
        command = _core.Command(KIND["TICK"] if which == "tick" else 0, time_ns)
        self._core.apply(command)
        return self._outcome(command, ())

    # ---- stock ------------------------------------------------------------------

    def _apply_attributed(
        self,
        kind: int,
        log_time_ns: int,
        body: log_pb2.UpdateOnHand | log_pb2.SetUnavailable,
        ops: Sequence[int],
        **sequenced: Unpack[Sequenced],
    ) -> Outcome:
        """A stock command whose items may name attribute variants (update_on_hand, set_unavailable)."""
        sku = _core.indices_of(self._sku_index, body.sku_ids, UNKNOWN_INDEX)
        node = _core.indices_of(self._node_index, body.node_ids, UNKNOWN_INDEX)
        rows, answered = self._attributed_rows(sku, node, body.attributes)
        command = _core.Command(
            kind,
            log_time_ns,
            rows,
            node,
            _core.int64_column(body.quantities),
            np.asarray(ops, dtype=np.int8),
            all_or_nothing=body.all_or_nothing,
            **sequenced,
        )
        self._core.apply(command)
        for item, status in answered.items():
            command.status[item] = status
        return self._outcome(command, command.on_hand_after)

    def _attributed_rows(
        self, sku: Int32s, node: Int32s, attribute_sets: AttributeSets
    ) -> tuple[Int32s, dict[int, int]]:
        """The core row of each item of a record: its SKU's, or its variant's (created
        now, in log order, if new). Returns (rows, {item: status the engine answers});
        such items get row -1 (the core changes nothing for them)."""
        count = len(sku)
        if not attribute_sets:
            return sku, {}
        sets = attribute_sets_of(attribute_sets, count)
        rows, answered, created = sku.copy(), {}, 0
        for i, values in enumerate(sets):
            if values is None:
                rows[i], answered[i] = UNKNOWN_INDEX, ITEM_STATUS["MALFORMED"]
            elif values and sku[i] >= 0 and node[i] >= 0:
                row = self._variants.row_of(int(sku[i]), values)
                if row is None and self._variants.free == 0:
                    rows[i], answered[i] = UNKNOWN_INDEX, ITEM_STATUS["VARIANT_LIMIT_REACHED"]
                    continue
                if row is None:
                    row = self._variants.add(int(sku[i]), values)
                    created += 1
                rows[i] = row
        if created:
            first = self._core.add_skus(created)
            assert first + created == self._core.sku_count == self._variants.row_count
        return rows, answered

    def _apply_safety_stock(self, body: log_pb2.SetSafetyStock, time_ns: int) -> Outcome:
        """A rule's scope is which ids it names: both a position, a SKU alone the SKU, a node alone the node."""
        scope = [
            SAFETY_STOCK_SCOPE["SKU" if not node_id else "NODE" if not sku_id else "POSITION"]
            for sku_id, node_id in zip(body.sku_ids, body.node_ids)
        ]
        command = self._command(
            KIND["SET_SAFETY_STOCK"],
            time_ns,
            body.sku_ids,
            body.node_ids,
            body.quantities,
            np.asarray(scope, dtype=np.int8),
            body.all_or_nothing,
        )
        return self._outcome(command, command.on_hand_after)

    def _source_rows(self, source_ids: Sequence[str]) -> Int64s:
        """Core feed rows of the items' sources ("" = -1, not sequenced), adding new
        sources in log order; one past FEED_SOURCES_MAX makes its items MALFORMED."""
        rows = np.empty(len(source_ids), dtype=np.int64)
        for i, source_id in enumerate(source_ids):
            if not source_id:
                rows[i] = -1
                continue
            row = self._source_index.get(source_id)
            if row is None and len(self._source_ids) < _core.FEED_SOURCES_MAX:
                row = self._source_index[source_id] = len(self._source_ids)
                self._source_ids.append(source_id)
            rows[i] = _core.FEED_SOURCES_MAX if row is None else row
        return rows

    # ---- reservations -----------------------------------------------------------

    def _apply_reserve(self, body: log_pb2.Reserve, time_ns: int, log_position: int, nonce: int) -> Outcome:
        token_key = body.promise_token_key
        if token_key and self._book.token_reservation(token_key) >= 0:
            return self._token_reused(token_key, time_ns, log_position)
        command = self._reserve_lines(body, time_ns, time_ns + body.ttl_ns, body.allow_partial, True, body)
        index = -1
        if command.result == RESULT["OK"]:
            index = command.reservation
            self._book.add(index, log_position, time_ns, body.order_id, body.customer_id, nonce=nonce)
            if token_key:
                self._book.remember_token(token_key, index, body.promise_token_expire_ns)
        return self._outcome(command, command.filled, index)

    def _token_reused(self, token_key: bytes, time_ns: int, log_position: int) -> Outcome:
        """A promise token reserves once: a second Reserve of it (another request_id) holds nothing and
        answers with the first reservation, flagged, decided here in log order so every replica agrees."""
        self._core.apply(_core.Command(KIND["TICK"], time_ns))  # the clock still moves
        first = self._book.token_reservation(token_key)
        return Outcome(
            log_position=log_position,
            log_time_ns=time_ns,
            result=RESULT["OK"],
            reservation=self._reservation_view(first),
            token_reused=True,
        )

    def _reserve_lines(
        self,
        lines: log_pb2.Reserve | log_pb2.WaveOrder,
        time_ns: int,
        deadline_ns: int,
        partial: bool,
        advance: bool,
        protection: log_pb2.Reserve | None = None,
    ) -> Reserved:
        """Holds the lines of a Reserve record or a wave order as one core command.
        Lines of SKUs with variants, or requiring attribute values, are planned
        over their rows (split_reserve.py); others go to the core as they are."""
        count = len(lines.sku_ids)
        sku = _core.indices_of(self._sku_index, lines.sku_ids, UNKNOWN_INDEX)
        required_sets = getattr(lines, "required_attributes", ())
        required: list[Attributes | None] = attribute_sets_of(required_sets, count) if required_sets else [()] * count
        due: Sequence[int] = getattr(lines, "backorder_by_ns", ())
        if (not required_sets or all(values == () for values in required)) and not self._variants.any_variants(sku):
            floor = self._reserve_floors(protection) if protection is not None else None
            command = _core.Command(
                KIND["RESERVE"],
                time_ns,
                sku,
                _core.indices_of(self._node_index, lines.node_ids, UNKNOWN_INDEX),
                _core.int64_column(lines.quantities),
                all_or_nothing=not partial,
                deadline_ns=deadline_ns,
                time_ns=_core.int64_column(due) if due else None,
                floor=floor,
            )
            self._core.apply(command, advance)
            return command
        due = list(due)
        # Holds due by now expire before the plan reads what is available.
        self._core.apply(_core.Command(KIND["TICK"], time_ns), False)
        node = _core.indices_of(self._node_index, lines.node_ids, UNKNOWN_INDEX)
        line_rows = [
            self._variants.rows_for(s, values) if s >= 0 and values is not None else []
            for s, values in zip(sku.tolist(), required)
        ]
        floor = self._reserve_floors(protection, line_rows) if protection is not None else None
        plans = split_reserve.plan(
            sku.tolist(),
            node.tolist(),
            list(lines.quantities),
            due or [0] * count,
            [0] * count if floor is None else floor.tolist(),
            required,
            self._variants.rows_for,
            self._core.bucket_array("available"),
            self._sellable.mask,
            partial,
        )
        return split_reserve.hold(self._core, plans, time_ns, deadline_ns, partial, advance)

    def _reserve_floors(self, body: log_pb2.Reserve, line_rows: list[list[int]] | None = None) -> Int64s | None:
        """Each line's floor from the protection its record carries, with on hand and
        safety stock as they are now (in log order: the same on every replica). The
        record, not the config, says what is protected: an edited view never
        changes how an old record replays."""
        count = len(body.sku_ids)
        columns = (body.protected_quantities, body.protected_percents, body.channel_safety_stock_quantities)
        if not any(columns):
            return None
        if any(column and len(column) != count for column in columns):
            return np.full(count, -1, dtype=np.int64)  # a negative floor: the core records it MALFORMED
        # Clipped so no sum below can overflow, whatever a record holds.
        fixed = np.clip(np.asarray(body.protected_quantities or [0] * count, dtype=np.int64), 0, _core.QUANTITY_MAX)
        percent = np.clip(np.asarray(body.protected_percents or [0] * count, dtype=np.int64), 0, 100)
        view_safety = np.clip(
            np.asarray(body.channel_safety_stock_quantities or [NONE] * count, dtype=np.int64), NONE, _core.QUANTITY_MAX
        )
        sku = _core.indices_of(self._sku_index, body.sku_ids, UNKNOWN_INDEX)
        node = _core.indices_of(self._node_index, body.node_ids, UNKNOWN_INDEX)
        known = (sku >= 0) & (node >= 0)  # unknown lines fail in the core: any floor will do
        on_hand = np.zeros(count, dtype=np.int64)
        safety = np.zeros(count, dtype=np.int64)
        if line_rows is None:
            on_hand[known] = self._core.bucket_array("on_hand")[sku[known], node[known]]
            safety[known] = self._core.bucket_array("safety_stock")[sku[known], node[known]]
        else:  # a line held from several rows leaves its protection at them together
            for i in np.flatnonzero(known).tolist():
                on_hand[i] = self._core.bucket_array("on_hand")[line_rows[i], node[i]].sum()
                safety[i] = self._core.bucket_array("safety_stock")[line_rows[i], node[i]].sum()
        return floors(fixed, percent, view_safety, on_hand, safety)

    def _apply_wave(self, wave: log_pb2.AllocateWave, time_ns: int, log_position: int, nonce: int) -> Outcome:
        """Allocates the orders one by one in (priority, need-by, request order) order.

        Each order is a reserve and an immediate commit inside this one log
        record, so a wave is atomic with respect to every other command.
        """
        never_ns = 2**63 - 1
        ranked = sorted(
            range(len(wave.orders)), key=lambda i: (wave.orders[i].priority, wave.orders[i].need_by_ns or never_ns, i)
        )
        parts: dict[int, Outcome] = {}  # by request position
        for rank, position in enumerate(ranked):
            order = wave.orders[position]
            command = self._reserve_lines(order, time_ns, time_ns + 1, order.allow_partial, False)
            index = -1
            if command.result == RESULT["OK"]:
                index = command.reservation
                self._book.add(
                    index, log_position, time_ns, order.order_id, order.customer_id, wave_rank=rank, nonce=nonce
                )
                commit = _core.Command(KIND["COMMIT"], time_ns, reservation=index)
                self._core.apply(commit, False)
            outcome = self._outcome(command, command.filled, index)
            parts[position] = Outcome(
                log_position=log_position,
                log_time_ns=time_ns,
                result=rank,
                item_status=outcome.item_status,
                item_quantity=outcome.item_quantity,
                item_available=outcome.item_available,
                applied_count=outcome.applied_count,
                reservation=outcome.reservation,
            )
        tick = _core.Command(KIND["TICK"], time_ns)
        self._core.apply(tick)
        return Outcome(
            log_position=log_position,
            log_time_ns=time_ns,
            result=RESULT["OK"],
            parts=tuple(parts[i] for i in range(len(parts))),
        )

    # ---- supplies ---------------------------------------------------------------

    def _apply_upsert_supply(self, body: log_pb2.UpsertSupply, time_ns: int) -> Outcome:
        """Interns new supply ids (in log order, so every replica numbers them alike) and applies."""
        get = self._node_index.get
        node = np.array([get(n, UNKNOWN_INDEX) for n in body.node_ids], dtype=np.int32)
        sku = _core.indices_of(self._sku_index, body.sku_ids, UNKNOWN_INDEX)
        ref = np.zeros(len(body.supply_ids), dtype=np.int64)
        new: dict[str, int] = {}
        for i, supply_id in enumerate(body.supply_ids):
            index = self._supply_index.get(supply_id)
            if index is None and sku[i] >= 0 and node[i] >= 0:
                # A new id: the next free index, unless named earlier in this command.
                index = new.setdefault(supply_id, len(self._supply_ids) + len(new))
            ref[i] = 0 if index is None else index
        command = _core.Command(
            KIND["UPSERT_SUPPLY"],
            time_ns,
            sku,
            node,
            np.asarray(body.quantities, dtype=np.int64),
            np.asarray(body.kinds, dtype=np.int8),
            all_or_nothing=body.all_or_nothing,
            time_ns=np.asarray(body.eta_ns, dtype=np.int64),
            ref=ref,
        )
        self._core.apply(command)
        created = self._core.supply_count - len(self._supply_ids)
        for supply_id, index in sorted(new.items(), key=lambda item: item[1])[:created]:
            self._supply_index[supply_id] = index
            self._supply_ids.append(supply_id)
        return self._outcome(command, command.on_hand_after)

    # ---- commands and outcomes --------------------------------------------------

    def _command(
        self,
        kind: int,
        log_time_ns: int,
        sku_ids: Sequence[str],
        node_ids: Sequence[str],
        quantities: Sequence[int],
        op: npt.NDArray[np.int8],
        all_or_nothing: bool = False,
    ) -> _core.Command:
        """A command of a record's ids and quantities (a protobuf repeated int64), applied."""
        command = _core.Command(
            kind,
            log_time_ns,
            _core.indices_of(self._sku_index, sku_ids, UNKNOWN_INDEX),
            _core.indices_of(self._node_index, node_ids, UNKNOWN_INDEX),
            _core.int64_column(quantities),
            op=op,
            all_or_nothing=all_or_nothing,
        )
        self._core.apply(command)
        return command

    def _outcome(self, command: Reserved, quantities: Int64s | tuple[()], reservation_index: int = -1) -> Outcome:
        view = self._reservation_view(reservation_index) if reservation_index >= 0 else None
        return Outcome(
            log_position=command.log_position,
            log_time_ns=command.log_time_ns,
            result=command.result,
            item_status=tuple(command.status.tolist()),
            item_quantity=tuple(np.asarray(quantities).tolist()),
            item_available=tuple(command.available_after.tolist()),
            applied_count=command.applied_count,
            reservation=view,
        )


def _parsed(payload: bytes, log_time_ns: int) -> log_pb2.LogRecord:
    """The record of a payload, with `log_time_ns` as its time when that is >= 0."""
    record = log_pb2.LogRecord.FromString(payload)
    if log_time_ns >= 0:
        record.log_time_ns = log_time_ns
    return record


def attribute_sets_of(attribute_sets: AttributeSets, count: int) -> list[Attributes | None]:
    """A record's AttributeSets per item (() for none, None where malformed)."""
    if not attribute_sets:
        return [()] * count
    if len(attribute_sets) != count:
        return [None] * count
    return [attributes.from_record(list(a.keys), list(a.values)) for a in attribute_sets]


def fingerprint_of(record: log_pb2.LogRecord) -> bytes:
    """The payload's identity: the command without its time, key and id nonce (a retry's writer picks
    another nonce for the same request)."""
    payload = log_pb2.LogRecord()
    payload.CopyFrom(record)
    payload.log_time_ns = 0
    payload.request_id = ""
    payload.id_nonce = 0
    return fingerprint(payload.SerializeToString(deterministic=True))
