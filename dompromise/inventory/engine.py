"""The engine: the only thing the service layer calls.

It owns the id <-> index interning and the core, turns requests in domain
terms (ids, quantities) into core commands and gathers, and hands back plain
numpy results. It knows nothing of gRPC; the core knows nothing of ids.

The state is a few objects the engine makes and shares: the core, the
reservation book, the variant registry, the capacity counts, the sellable
nodes and the supply and feed source ids. Two parts work over them: `Reads`
(reads.py: availability, time-phased, through channels, reservations) and
`RecordApplier` (records.py: log records into core commands). Their entry
points are bound as the engine's own attributes (_wire), not wrapped, so a
call costs what it did when one class did everything.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.errors import FieldViolation, InvalidArgumentError, NotFoundError
from dompromise.inventory.capacity import CapacityCounts
from dompromise.inventory.channels import Channel, ResolvedView, known_units, unit_size
from dompromise.inventory.codes import (
    BUCKETS,
    COMMAND_RESULT,
    EARLIEST_NEVER,
    EARLIEST_NOW,
    ITEM_OK,
    ITEM_STATUS,
    KIND,
    NEVER_NS,
    ON_HAND_ADJUST,
    ON_HAND_SET,
    RESULT,
    SAFETY_STOCK_CLEAR,
    SAFETY_STOCK_SCOPE,
    SUPPLY_ALL_KINDS,
    SUPPLY_KIND,
    UNAVAILABLE_REASON,
    UNKNOWN_INDEX,
    UPDATE_ON_HAND,
)
from dompromise.inventory.reads import AvailabilityAnswer, PhasedAnswer, Reads, VariantBreakdown
from dompromise.inventory.records import RecordApplier
from dompromise.inventory.sellable import SellableNodes
from dompromise.inventory.variants import VariantRegistry
from dompromise.model import attributes
from dompromise.model.attributes import Attributes
from dompromise.model.network import Network, Node, Sku
from dompromise.reservations.book import ReservationBook, ReservationView, pack_text, unpack_text

# The core's stable numbers (codes.py), re-exported so the service layer never imports _core;
# the reads' answer types (reads.py), so it imports the engine alone.
__all__ = [
    "AvailabilityAnswer",
    "PhasedAnswer",
    "VariantBreakdown",
    "BUCKETS",
    "COMMAND_RESULT",
    "EARLIEST_NEVER",
    "EARLIEST_NOW",
    "ITEM_OK",
    "ITEM_STATUS",
    "KIND",
    "NEVER_NS",
    "ON_HAND_ADJUST",
    "ON_HAND_SET",
    "RESULT",
    "SAFETY_STOCK_CLEAR",
    "SAFETY_STOCK_SCOPE",
    "SUPPLY_ALL_KINDS",
    "SUPPLY_KIND",
    "UNAVAILABLE_REASON",
    "UNKNOWN_INDEX",
    "UPDATE_ON_HAND",
    "Engine",
    "SupplyView",
    "network_fingerprint",
]

Int32s = npt.NDArray[np.int32]
# A snapshot's arrays, of several dtypes (the core's, the book's, the id tables').
StateArrays = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class SupplyView:
    """A supply as the API shows it."""

    supply_id: str
    sku_id: str
    node_id: str
    kind: int  # SUPPLY_KIND
    eta_ns: int
    quantity: int  # open
    received_quantity: int


class Engine:
    """One replica's state and the ways to read and change it."""

    def __init__(self, network: Network, clock_ns: Callable[[], int] = time.time_ns, core: _core.Core | None = None):
        """A fresh state over `network`; or around `core` (from_state: a snapshot's, of this network)."""
        self.network = network
        self._clock_ns = clock_ns
        self._node_index = {node.node_id: i for i, node in enumerate(network.nodes)}
        self._sku_index = {sku.sku_id: i for i, sku in enumerate(network.skus)}
        self._node_ids = [node.node_id for node in network.nodes]  # by index, for answers
        self._sku_ids = [sku.sku_id for sku in network.skus]
        assert len(self._node_index) == len(network.nodes), "duplicate node ids"
        assert len(self._sku_index) == len(network.skus), "duplicate SKU ids"
        self._nodes_by_tag: dict[str, list[int]] = {}
        for i, node in enumerate(network.nodes):
            for tag in node.tags:
                self._nodes_by_tag.setdefault(tag, []).append(i)
        self._core = (
            core
            if core is not None
            else _core.Core(len(network.nodes), len(network.skus), node_status=[int(n.status) for n in network.nodes])
        )
        self._sellable = SellableNodes(self._core, network)
        self._views = {
            view.view_id: ResolvedView(
                view, network, self._node_index, self._sku_index, self._nodes_by_tag, SUPPLY_ALL_KINDS
            )
            for view in network.views
        }
        self._known_units: frozenset[str] | None = None  # built on first use: a pass over the catalogue
        self._book = ReservationBook()
        # Supply ids and feed source ids by core index, assigned in log order (by the record applier).
        self._supply_ids: list[str] = []
        self._source_ids: list[str] = []
        # Attribute variants: SKU rows of the core after the network's, in log order.
        self._variants = VariantRegistry(len(network.skus), len(network.nodes))
        self._declared_attributes = attributes.declared_keys(network)
        # Orders per (node, local day) of the nodes with a daily capacity (capacity.py).
        self._capacity = CapacityCounts(network)
        self._wire()

    def _wire(self) -> None:
        """Builds the reads and the record applier over the state's parts and binds their
        entry points here (again after from_state replaced the parts)."""
        reads = Reads(
            self._core, self.network, self._sku_index, self._sku_ids, self._node_ids, self._variants, self._book
        )
        records = RecordApplier(
            self._core,
            self._node_index,
            self._sku_index,
            self._sellable,
            self._variants,
            self._book,
            self._capacity,
            reads,
            self._supply_ids,
            self._source_ids,
        )
        self._reads, self._records = reads, records
        self.availability = reads.availability
        self.phased_availability = reads.phased_availability
        self.channel_phased_availability = reads.channel_phased_availability
        self.channel_floors = reads.channel_floors
        self.variant_row_count = reads.variant_row_count
        self.reservation_view = reads.reservation_view
        self.apply_record = records.apply_record

    def node_statuses(self) -> dict[str, int]:
        """Each node's status as the log has it (NodeStatus numbers)."""
        return {node.node_id: int(self._core.node_status_of(i)) for i, node in enumerate(self.network.nodes)}

    def now_ns(self) -> int:
        """The wall clock reads are phased against (never the core's: it has only the log's)."""
        return self._clock_ns()

    # ---- lookups ----------------------------------------------------------

    @property
    def log_position(self) -> int:
        return self._core.log_position

    @property
    def core(self) -> _core.Core:
        """The core itself, for tests and benchmarks; the service never uses it."""
        return self._core

    @property
    def capacity(self) -> CapacityCounts:
        """Daily shipping capacity: the orders counted per (node, local day), as of the log position."""
        return self._capacity

    def node(self, node_id: str) -> Node | None:
        index = self._node_index.get(node_id)
        return None if index is None else self.network.nodes[index]

    def sku(self, sku_id: str) -> Sku | None:
        index = self._sku_index.get(sku_id)
        return None if index is None else self.network.skus[index]

    def node_ids(self, node_index: Iterable[int]) -> list[str]:
        """Ids of the indexed nodes; the default selection's list is built once."""
        sellable = self._sellable
        if node_index is sellable.index:
            return sellable.ids
        nodes = self.network.nodes
        return [nodes[i].node_id for i in node_index]

    def sku_indices(self, sku_ids: Sequence[str]) -> Int32s:
        """Core indices of the ids (int32), -1 for an unknown id."""
        return _core.indices_of(self._sku_index, sku_ids, UNKNOWN_INDEX)

    def node_indices(self, node_ids: Sequence[str]) -> Int32s:
        """Core indices of the ids (int32), -1 for an unknown id."""
        return _core.indices_of(self._node_index, node_ids, UNKNOWN_INDEX)

    def all_known_and_in_range(
        self, sku_ids: Sequence[str], node_ids: Sequence[str], quantities: Sequence[int]
    ) -> bool:
        """Whether every id is known and every quantity is 0 to QUANTITY_MAX (a bulk load's fast check)."""
        quantity = np.asarray(quantities, dtype=np.int64)
        return bool(
            (self.sku_indices(sku_ids) >= 0).all()
            and (self.node_indices(node_ids) >= 0).all()
            and ((quantity >= 0) & (quantity <= _core.QUANTITY_MAX)).all()
        )

    def node_selection(
        self, node_ids: Sequence[str] = (), node_tags: Sequence[str] = (), channel: Channel | None = None
    ) -> Int32s:
        """The sellable nodes named by id or carrying any tag; all sellable nodes if neither.

        An unknown node id raises NotFoundError naming its field; an unknown
        tag selects nothing (tags are open-ended labels). Through a channel
        view, only the view's nodes.
        """
        if channel is not None and channel.view is not None:
            selected = np.zeros(len(self.network.nodes), dtype=bool)
            selected[self.node_selection(node_ids, node_tags)] = True
            return np.flatnonzero(selected & channel.view.node_mask).astype(np.int32)
        if not node_ids and not node_tags:
            return self._sellable.index
        chosen = np.zeros(len(self.network.nodes), dtype=bool)
        for position, node_id in enumerate(node_ids):
            index = self._node_index.get(node_id)
            if index is None:
                raise NotFoundError("node", node_id, f"node_ids[{position}]")
            chosen[index] = True
        for tag in node_tags:
            chosen[self._nodes_by_tag.get(tag, [])] = True
        chosen &= self._sellable.mask
        return np.flatnonzero(chosen).astype(np.int32)

    # ---- channels: views, segments, units (see channels.py) -------------------

    def channel(
        self, view_id: str = "", segment: str = "", unit: str = "", segment_field: str = "customer_segment"
    ) -> Channel:
        """How a request asks, checked: NotFoundError for an unknown view,
        InvalidArgumentError for a segment the view does not declare (or no
        view) and for a unit no SKU of the network has. Field names are the
        requests' (channel_view_id, `segment_field`, unit)."""
        view = None
        if view_id:
            view = self._views.get(view_id)
            if view is None:
                raise NotFoundError("view", view_id, "channel_view_id")
        if segment and view is None:
            raise InvalidArgumentError([FieldViolation(segment_field, "needs channel_view_id")])
        if segment and view is not None and segment not in view.segments:
            known = ", ".join(sorted(view.segments)) or "none"
            raise InvalidArgumentError(
                [FieldViolation(segment_field, f"view {view_id!r} has no segment {segment!r} (it has: {known})")]
            )
        if unit and unit not in self._units():
            raise InvalidArgumentError([FieldViolation("unit", f"no SKU of the network has a unit {unit!r}")])
        return Channel(view, segment, unit)

    def _units(self) -> frozenset[str]:
        if self._known_units is None:
            self._known_units = known_units(self.network.skus)
        return self._known_units

    def unit_size(self, sku_id: str, unit: str) -> int | None:
        """Base units per `unit` of the SKU (1 for its base unit spelling); 0 if it has
        no such unit; None if the SKU is unknown."""
        sku = self.sku(sku_id)
        return None if sku is None else unit_size(sku, unit)

    def reserve_protection(
        self, channel: Channel, sku_ids: Sequence[str], node_ids: Sequence[str]
    ) -> tuple[list[int], list[int], list[int]]:
        """Per reservation line through a view: (protected quantity, protected percent,
        view safety stock or -1), for the log record; the engine turns them into
        floors when the record applies (on hand then). Raises InvalidArgumentError
        naming lines[i].node_id for a known node outside the view."""
        view = channel.view
        assert view is not None, "protection needs a view"
        sku_index, node_index = self.sku_indices(sku_ids), self.node_indices(node_ids)
        outside = [
            FieldViolation(f"lines[{i}].node_id", f"node {node_ids[i]!r} is not in view {view.view_id!r}")
            for i, node in enumerate(node_index.tolist())
            if node >= 0 and not view.node_mask[node]
        ]
        if outside:
            raise InvalidArgumentError(outside)
        fixed, percent = view.protection(channel.segment, sku_index, np.maximum(node_index, 0), pairs=True)
        return fixed.tolist(), percent.tolist(), view.per_sku("safety_stock", sku_index).tolist()

    # ---- supplies, feeds, changes -----------------------------------------------

    def supply(self, supply_id: str) -> SupplyView | None:
        index = self._records.supply_index(supply_id)
        if index is None:
            return None
        found = self._core.supply(index)
        assert found is not None, "an interned supply id is in the core"
        sku, node, kind, eta_ns, quantity, received = found
        return SupplyView(
            supply_id,
            self.network.skus[sku].sku_id,
            self.network.nodes[node].node_id,
            int(kind),
            int(eta_ns),
            int(quantity),
            int(received),
        )

    def feed_source_known(self, source_id: str) -> bool:
        return self._records.feed_source_known(source_id)

    def feed_sources_free(self) -> int:
        return _core.FEED_SOURCES_MAX - len(self._source_ids)

    def take_changed_skus(self) -> Int32s:
        """Indices of the SKUs written since the last call (each once, a variant's
        change as its SKU's), for watchers; clears them."""
        rows = self._core.take_changed_skus()
        if self._variants.count == 0:
            return rows
        parents = self._variants.parents_of(rows)
        _, first = np.unique(parents, return_index=True)
        return parents[np.sort(first)]

    # ---- attributes and variants ----------------------------------------------

    def attribute_violations(self, sku_id: str, values: Mapping[str, str], field: str) -> list[FieldViolation]:
        """What is wrong with the attributes of an item of SKU sku_id (keys it may not carry...)."""
        return attributes.violations(values, attributes.allowed_keys(self.network, self.sku(sku_id)), field)

    def required_attribute_violations(self, values: Mapping[str, str], field: str) -> list[FieldViolation]:
        """What is wrong with required attribute values (keys the network does not declare...)."""
        return attributes.violations(values, self._declared_attributes, field)

    def new_variant_count(self, sku_ids: Sequence[str], values: Sequence[Mapping[str, str]]) -> int:
        """How many variants these items would create (known SKUs, attributes not seen yet)."""
        new = set()
        for sku_id, mapping in zip(sku_ids, values):
            parent = self._sku_index.get(sku_id)
            if mapping and parent is not None:
                key = (parent, attributes.canonical(mapping))
                if self._variants.row_of(*key) is None:
                    new.add(key)
        return len(new)

    def variants_free(self) -> int:
        return self._variants.free

    @property
    def variant_count(self) -> int:
        return self._variants.count

    def variant_attributes(self, row: int) -> Attributes:
        """The attribute values of a core SKU row (() for a network SKU's own row)."""
        return self._variants.attributes_of(row)

    # ---- writes outside any log -------------------------------------------------

    def update_on_hand(
        self,
        sku_ids: Sequence[str],
        node_ids: Sequence[str],
        ops: Sequence[int],
        quantities: Sequence[int],
        all_or_nothing: bool = False,
    ) -> _core.Command:
        """Applies a batch of on-hand sets (ON_HAND_SET) and deltas (ON_HAND_ADJUST), in order, as one command.

        Outside any log: for tests, benchmarks and tools that own the engine.
        The engine of a Replica changes only through its log (apply_record).
        """
        sku = self.sku_indices(sku_ids)
        get = self._node_index.get
        node = np.array([get(n, UNKNOWN_INDEX) for n in node_ids], dtype=np.int32)
        return self.apply(
            UPDATE_ON_HAND,
            sku,
            node,
            np.asarray(quantities, dtype=np.int64),
            np.asarray(ops, dtype=np.int8),
            all_or_nothing,
        )

    def apply(
        self,
        kind: int,
        sku: Int32s,
        node: Int32s,
        quantity: npt.NDArray[np.int64],
        op: npt.NDArray[np.int8],
        all_or_nothing: bool = False,
    ) -> _core.Command:
        """Applies a command outside any log, stamped with this engine's own monotonic clock.

        For tests, benchmarks and tools that own the engine. A replica's engine
        changes only through apply_record, in log order, with the log's clock.
        """
        log_time_ns = max(self._clock_ns(), self._core.log_time_ns)
        command = _core.Command(kind, log_time_ns, sku, node, quantity, op, all_or_nothing)
        self._core.apply(command)
        return command

    # ---- reservation reads ----------------------------------------------------

    def reservation(self, reservation_id: str) -> ReservationView | None:
        index = self._book.index_of(reservation_id)
        return None if index < 0 else self.reservation_view(index)

    def reservation_from_lost_history(self, reservation_id: str) -> bool:
        """Whether an id this replica does not know was issued in another history of the log (its record lost:
        Redis restored from an older AOF, a lost log segment), not merely never issued: see ReservationBook."""
        return self._book.from_lost_history(reservation_id)

    def reservation_indices_of(self, order_id: str = "", customer_id: str = "") -> list[int]:
        """Reservations of an order (or else of a customer), oldest first."""
        return self._book.of_order(order_id) if order_id else self._book.of_customer(customer_id)

    def reservations_of(self, order_id: str = "", customer_id: str = "") -> list[ReservationView]:
        return [self.reservation_view(i) for i in self.reservation_indices_of(order_id, customer_id)]

    def next_expiry_ns(self) -> int | None:
        return self._core.next_expiry_ns()

    # ---- snapshots ------------------------------------------------------------

    def export_state(self) -> tuple[StateArrays, dict[str, str]]:
        """(core arrays, JSON-ready meta) of the whole state at the current log position."""
        arrays = self._core.export_state()
        arrays.update((f"book_{name}", array) for name, array in self._book.export().items())
        arrays["supply_ids_blob"], arrays["supply_ids_offsets"] = pack_text(self._supply_ids)
        arrays["source_ids_blob"], arrays["source_ids_offsets"] = pack_text(self._source_ids)
        arrays.update(self._variants.export())
        return arrays, {"network": network_fingerprint(self.network)}

    def load_state(self, other: Engine) -> None:
        """Takes over `other`'s whole state (a resync from a snapshot), in place: the
        servicers and watchers holding this object see the new state at once."""
        assert other.network is self.network or network_fingerprint(other.network) == network_fingerprint(self.network)
        self.__dict__.update(other.__dict__)

    @classmethod
    def from_state(
        cls,
        network: Network,
        arrays: StateArrays,
        meta: Mapping[str, object],
        clock_ns: Callable[[], int] = time.time_ns,
        adopt: bool = False,
    ) -> Engine:
        """An engine holding a snapshot's state; the network must be the one it was taken on.
        adopt=True: the core takes the arrays without copying them (Core.from_state);
        the caller must not use them afterwards."""
        if meta["network"] != network_fingerprint(network):
            raise ValueError("the snapshot was taken on another network (nodes or SKUs changed)")
        engine = cls(network, clock_ns, core=_core.Core.from_state(arrays, adopt))
        engine._book = ReservationBook.restore(
            {name[len("book_") :]: array for name, array in arrays.items() if name.startswith("book_")}
        )
        engine._supply_ids = unpack_text(arrays["supply_ids_blob"], arrays["supply_ids_offsets"])
        assert len(engine._supply_ids) == engine._core.supply_count, "supply ids differ from the core's supplies"
        engine._source_ids = unpack_text(arrays["source_ids_blob"], arrays["source_ids_offsets"])
        engine._variants = VariantRegistry.restore(len(network.skus), len(network.nodes), arrays)
        assert engine._variants.base_count + engine._variants.count == engine._core.sku_count, (
            "variants differ from the core's SKU rows"
        )
        engine._capacity = CapacityCounts(network)
        engine._capacity.rebuild(engine._core, arrays["book_create_ns"], arrays)
        engine._wire()
        return engine


def network_fingerprint(network: Network) -> str:
    """Identity of the interning order: snapshots are only valid for the same one."""
    digest = hashlib.blake2b(digest_size=16)
    for node in network.nodes:
        digest.update(node.node_id.encode() + b"\0")
    digest.update(b"\1")
    for sku in network.skus:
        digest.update(sku.sku_id.encode() + b"\0")
    return digest.hexdigest()
