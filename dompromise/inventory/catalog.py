"""The catalog and the network as data: log records that add, change and retire
SKUs and switch the network, applied to an engine in place.

The core grows, it is never rebuilt: a new SKU is a new core row (Core.add_skus,
amortised, as attribute variants are), a new node widens every per-position
table once (a copy into larger arrays at one log position). Indices are never
reused: a retired SKU keeps its row (re-adding it brings its stock back), a node
left out of a new network document is kept, disabled. Everything here depends on
the record and the state before it, so every replica switches alike.

Part of Engine (engine.py) as a mixin: these methods change the engine's own
id tables, core and derived parts, then rewire its reads and record applier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.capacity import CapacityCounts
from dompromise.inventory.sellable import SellableNodes
from dompromise.inventory.variants import VariantRegistry
from dompromise.model import attributes, document
from dompromise.model.network import Network, NodeStatus, Sku
from dompromise.model.reconcile import merged_nodes
from dompromise.reservations.book import Outcome, ReservationBook

# Per-item catalog outcomes (proto: dompromise.v1.CatalogItemStatus; numbers checked equal by a test).
CATALOG_STATUS = {
    "CREATED": 1,
    "UPDATED": 2,
    "UNCHANGED": 3,
    "RETIRED": 4,
    "SKU_IN_USE": 5,
    "NOT_FOUND": 6,
    "MALFORMED": 7,
    "ALREADY_RETIRED": 8,
}
# A ChangeNetwork's result (Outcome.result): applied, or refused whole (nothing changed).
NETWORK_APPLIED = 0
NETWORK_REFUSED_MALFORMED = 1
NETWORK_REFUSED_NODE_IN_USE = 2

_HELD = _core.RESERVATION_STATE["HELD"]
_COMMITTED = _core.RESERVATION_STATE["COMMITTED"]
_DISABLED = int(NodeStatus.DISABLED)


class CatalogChanges:
    """The catalog and network records of an Engine (see the module doc)."""

    # The engine's parts this mixin changes (engine.py sets them).
    network: Network
    _core: _core.Core
    _node_index: dict[str, int]
    _sku_index: dict[str, int]
    _node_ids: list[str]
    _sku_ids: list[str]  # by core row ("" for a variant row)
    _row_skus: list[Sku | None]  # by core row (None for a variant row)
    _row_documents: list[str | None]  # by core row: a catalog SKU's document, built on first need
    _retired: dict[str, int]  # retired SKU id -> its row
    _decoded: dict[str, Sku]  # SKU documents decoded ahead of their record's apply (prepare_rows)
    _nodes_by_tag: dict[str, list[int]]
    _variants: VariantRegistry
    _book: ReservationBook
    _capacity: CapacityCounts
    _sellable: SellableNodes
    _known_units: frozenset[str] | None
    _declared_attributes: tuple[str, ...]
    _supply_ids: list[str]
    network_generation: int
    _wire: Callable[[], None]
    _build_views: Callable[[], None]

    # ---- catalog reads ------------------------------------------------------------

    def is_retired(self, sku_id: str) -> bool:
        return sku_id in self._retired

    @property
    def skus_by_row(self) -> Sequence[Sku | None]:
        """The catalog SKU of each core row (None for a variant's row), retired ones included."""
        return self._row_skus

    def sku_at_row(self, row: int) -> Sku | None:
        """The catalog SKU of a core row (a variant row's parent's)."""
        return self._row_skus[self._variants.parent_of_row(row)]

    def catalog_rows(self) -> list[tuple[int, str, bool]]:
        """(row, sku_id, retired) of every catalog SKU, rows ascending."""
        return [(row, sku.sku_id, sku.sku_id in self._retired) for row, sku in enumerate(self._row_skus) if sku]

    def sku_dependents(self, sku_id: str, limit: int = 5) -> tuple[list[str], list[str]]:
        """Up to `limit` ids of the open reservations and open supplies on a SKU (any variant)."""
        row = self._sku_index.get(sku_id, self._retired.get(sku_id))
        if row is None:
            return [], []
        rows = set(self._variants.rows_for(row))
        return self._reservations_on(lambda sku, node: sku in rows, limit), self._supplies_on(rows, limit)

    def node_dependents(self, node_id: str, limit: int = 5) -> list[str]:
        """Up to `limit` ids of the open reservations holding stock at a node."""
        node = self._node_index.get(node_id)
        if node is None:
            return []
        return self._reservations_on(lambda sku, at: at == node, limit)

    def _reservations_on(self, touches: Callable[[int, int], bool], limit: int) -> list[str]:
        found: list[str] = []
        for index in range(self._core.reservation_count):
            lists = self._core.reservation_lists(index)
            if lists is None or lists[0] not in (_HELD, _COMMITTED):
                continue
            _, _, rows, nodes, quantities, shipped, _ = lists
            if any(q > s and touches(r, n) for r, n, q, s in zip(rows, nodes, quantities, shipped)):
                found.append(self._book.meta(index).reservation_id)
                if len(found) == limit:
                    break
        return found

    def _supplies_on(self, rows: set[int], limit: int) -> list[str]:
        found: list[str] = []
        for index, supply_id in enumerate(self._supply_ids):
            supply = self._core.supply(index)
            if supply is not None and supply[0] in rows and supply[4] > 0:
                found.append(supply_id)
                if len(found) == limit:
                    break
        return found

    def _in_use(self, row: int) -> bool:
        """Whether open holds, allocations or open supply depend on the SKU of `row` (decided in log order)."""
        rows = self._variants.rows_for(row)
        for bucket in ("held", "allocated"):
            if self._core.bucket_array(bucket)[rows].any():
                return True
        return bool(self._supplies_on(set(rows), 1))

    # ---- catalog records ------------------------------------------------------------

    def _apply_upsert_skus(self, body: log_pb2.UpsertSkus, log_time_ns: int) -> Outcome:
        statuses: list[int] = []
        added: list[tuple[Sku, str]] = []
        changed = False
        seen: set[str] = set()
        for text in body.sku_documents:
            decoded = self._decoded.pop(text, None)
            try:
                sku = decoded if decoded is not None else document.sku_from_document(text)
            except ValueError:
                statuses.append(CATALOG_STATUS["MALFORMED"])
                continue
            if sku.sku_id in seen:  # the first of two in one record wins; the second is refused
                statuses.append(CATALOG_STATUS["MALFORMED"])
                continue
            seen.add(sku.sku_id)
            row = self._sku_index.get(sku.sku_id, self._retired.get(sku.sku_id))
            if row is None:
                added.append((sku, text))
                statuses.append(CATALOG_STATUS["CREATED"])
                continue
            was_retired = self._retired.pop(sku.sku_id, None) is not None
            if was_retired:
                self._sku_index[sku.sku_id] = row
            if not was_retired and self._row_skus[row] == sku:
                statuses.append(CATALOG_STATUS["UNCHANGED"])
                continue
            self._row_skus[row], self._row_documents[row] = sku, text
            statuses.append(CATALOG_STATUS["CREATED" if was_retired else "UPDATED"])
            changed = True
        if added:
            self._add_rows(added)
        if changed:
            self._catalog_changed()
        elif added:  # appended rows only: the live catalog (row order) gains them at its end
            self._catalog_changed(self.network.skus + tuple(sku for sku, _ in added))
        return self._tick_outcome(log_time_ns, statuses)

    def rows_wanted(self, records: Iterable[log_pb2.LogRecord]) -> int:
        """At most how many SKU rows these records add (their catalog upserts' SKUs):
        room a replica can make off its event loop before applying them."""
        return sum(len(r.upsert_skus.sku_documents) for r in records if r.WhichOneof("command") == "upsert_skus")

    def prepare_rows(self, records: Sequence[log_pb2.LogRecord], count: int) -> object | None:
        """Work the records' apply would do, done ahead in another thread while no record
        applies (reads go on): their SKU documents decoded (kept for their apply: decoding
        is pure), and the copy a growth by `count` rows needs (Core.prepare_rows), or None
        if there is room."""
        self._decoded.clear()
        for record in records:
            if record.WhichOneof("command") == "upsert_skus":
                for text in record.upsert_skus.sku_documents:
                    try:
                        self._decoded[text] = document.sku_from_document(text)
                    except ValueError:
                        continue  # the apply refuses it (MALFORMED)
        return self._core.prepare_rows(count)

    def install_rows(self, prepared: object) -> list[object] | None:
        """Puts in what prepare_rows made, on the applying thread; returns the buffers it
        replaced (Core.install_rows), or None if a record applied meanwhile (the growth
        then happens in the record's apply)."""
        return self._core.install_rows(prepared)

    def _add_rows(self, added: Sequence[tuple[Sku, str]]) -> None:
        first = self._core.add_skus(len(added))
        assert first == self._variants.add_sku_rows(len(added)) >= len(self._row_skus)
        pad = first - len(self._row_skus)  # rows of variants created since the last SKU
        self._sku_ids.extend([""] * pad)
        self._row_skus.extend([None] * pad)
        self._row_documents.extend([None] * pad)
        for offset, (sku, text) in enumerate(added):
            self._sku_index[sku.sku_id] = first + offset
            self._sku_ids.append(sku.sku_id)
            self._row_skus.append(sku)
            self._row_documents.append(text)

    def _apply_retire_skus(self, body: log_pb2.RetireSkus, log_time_ns: int) -> Outcome:
        statuses: list[int] = []
        for sku_id in body.sku_ids:
            row = self._sku_index.get(sku_id)
            if row is None:
                statuses.append(CATALOG_STATUS["ALREADY_RETIRED" if sku_id in self._retired else "NOT_FOUND"])
            elif self._in_use(row):
                statuses.append(CATALOG_STATUS["SKU_IN_USE"])
            else:
                del self._sku_index[sku_id]
                self._retired[sku_id] = row
                statuses.append(CATALOG_STATUS["RETIRED"])
        if CATALOG_STATUS["RETIRED"] in statuses:
            self._catalog_changed()
        return self._tick_outcome(log_time_ns, statuses)

    def _catalog_changed(self, skus: tuple[Sku, ...] | None = None) -> None:
        """The network object and what derives from the catalog, after SKU rows changed
        (`skus`: the live catalog in row order, when the caller has it)."""
        if skus is None:
            skus = tuple(sku for sku in self._row_skus if sku is not None and sku.sku_id not in self._retired)
        self.network = dataclasses.replace(self.network, skus=skus)
        self._known_units = None
        self._build_views()
        self.network_generation += 1
        self._wire()

    def _tick_outcome(self, log_time_ns: int, statuses: list[int], result: int = 0) -> Outcome:
        command = _core.Command(_core.COMMAND_KIND["TICK"], log_time_ns)
        self._core.apply(command)
        return Outcome(
            log_position=command.log_position,
            log_time_ns=command.log_time_ns,
            result=result,
            item_status=tuple(statuses),
            applied_count=sum(1 for s in statuses if s in _APPLIED),
        )

    # ---- network records ------------------------------------------------------------

    def _apply_change_network(self, body: log_pb2.ChangeNetwork, log_time_ns: int) -> Outcome:
        """Switches to the record's network; refused whole (nothing changes) when malformed or
        when a node it closes holds open reservations."""
        try:
            proposed = document.network_from_document(body.network_document)
        except ValueError:
            return self._tick_outcome(log_time_ns, [], NETWORK_REFUSED_MALFORMED)
        nodes, closed = merged_nodes(self.network, proposed)
        if len({node.node_id for node in nodes}) != len(nodes):
            return self._tick_outcome(log_time_ns, [], NETWORK_REFUSED_MALFORMED)
        if any(self.node_dependents(node_id, 1) for node_id in closed):
            return self._tick_outcome(log_time_ns, [], NETWORK_REFUSED_NODE_IN_USE)
        added = nodes[len(self.network.nodes) :]
        if added:
            self._grow_nodes([int(node.status) for node in added])
        self.network = dataclasses.replace(proposed, nodes=tuple(nodes), skus=self.network.skus)
        for node in added:
            self._node_index[node.node_id] = len(self._node_ids)
            self._node_ids.append(node.node_id)
        self._nodes_by_tag.clear()
        for i, node in enumerate(self.network.nodes):
            for tag in node.tags:
                self._nodes_by_tag.setdefault(tag, []).append(i)
        if closed:
            self._close_nodes(closed, log_time_ns)
        self._declared_attributes = attributes.declared_keys(self.network)
        self._sellable = SellableNodes(self._core, self.network)
        self._rebuild_capacity()
        self._known_units = None
        self._build_views()
        self.network_generation += 1
        self._wire()
        return self._tick_outcome(log_time_ns, [], NETWORK_APPLIED)

    def _close_nodes(self, node_ids: list[str], log_time_ns: int) -> None:
        count = len(node_ids)
        command = _core.Command(
            _core.COMMAND_KIND["SET_NODE_STATUS"],
            log_time_ns,
            np.zeros(count, np.int32),
            np.array([self._node_index[n] for n in node_ids], dtype=np.int32),
            np.zeros(count, np.int64),
            np.full(count, _DISABLED, dtype=np.int8),
        )
        self._core.apply(command, False)

    def _grow_nodes(self, statuses: list[int]) -> None:
        """Widens the core by len(statuses) nodes: one copy into larger arrays, every index kept."""
        state = widened_state(self._core.export_state(), statuses)
        self._core = _core.Core.from_state(state, adopt=True)
        variants = VariantRegistry.restore(self._core.sku_count, self._core.node_count, self._variants.export())
        self._variants = variants

    def _rebuild_capacity(self) -> None:
        capacity = CapacityCounts(self.network)
        if capacity.enabled:
            arrays = self._core.export_state()
            arrays.update((f"book_{name}", array) for name, array in self._book.export().items())
            capacity.rebuild(self._core, np.asarray(arrays["book_create_ns"], dtype=np.int64), arrays)
        self._capacity = capacity


_APPLIED = frozenset((CATALOG_STATUS["CREATED"], CATALOG_STATUS["UPDATED"], CATALOG_STATUS["RETIRED"]))


def widened_state(state: dict[str, npt.NDArray[Any]], statuses: list[int]) -> dict[str, npt.NDArray[Any]]:
    """A core state (Core.export_state) with len(statuses) more nodes: every per-position table
    padded with its empty value, supply positions renumbered, nothing else changed."""
    node_count, sku_count = (int(v) for v in state["shape"])
    wider = node_count + len(statuses)
    per_position = {name: empty for name, empty, is_per_position in _core.GROWN_TABLES if is_per_position}
    per_position["supply_head"] = -1
    for name, empty in per_position.items():
        if name not in state:
            continue
        old = state[name].reshape(sku_count, node_count)
        grown = np.full((sku_count, wider), empty, dtype=old.dtype)
        grown[:, :node_count] = old
        state[name] = grown.reshape(-1)
    feed = state["feed_sequence"]
    grown_feed = np.full((feed.shape[0], sku_count, wider), -1, dtype=feed.dtype)
    grown_feed[:, :, :node_count] = feed.reshape(feed.shape[0], sku_count, node_count)
    state["feed_sequence"] = grown_feed.reshape(feed.shape[0], sku_count * wider)
    position = state["supply_position"]
    state["supply_position"] = (position // node_count) * wider + position % node_count
    state["node_status"] = np.concatenate(
        [state["node_status"], np.asarray(statuses, dtype=state["node_status"].dtype)]
    )
    unset = {name: empty for name, empty, _ in _core.GROWN_TABLES}["sku_safety_stock_rule"]
    rule = state["node_safety_stock_rule"]
    state["node_safety_stock_rule"] = np.concatenate([rule, np.full(len(statuses), unset, dtype=rule.dtype)])
    state["shape"] = np.array([wider, sku_count], dtype=np.int64)
    return state
