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

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.errors import FieldViolation, InvalidArgumentError, NotFoundError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.capacity import CapacityCounts
from dompromise.inventory.catalog import CATALOG_STATUS, CatalogChanges
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
from dompromise.inventory.encoded import EncodedReads
from dompromise.inventory.reads import AvailabilityAnswer, PhasedAnswer, Reads, VariantBreakdown
from dompromise.inventory.records import RecordApplier
from dompromise.inventory.sellable import SellableNodes
from dompromise.inventory.variants import VariantRegistry
from dompromise.model import attributes, document
from dompromise.model.attributes import Attributes
from dompromise.model.network import Network, Node, Sku
from dompromise.reservations.book import Outcome, ReservationBook, ReservationView, pack_text, unpack_text

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
    "CATALOG_STATUS",
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


class Engine(CatalogChanges):
    """One replica's state and the ways to read and change it."""

    def __init__(self, network: Network, clock_ns: Callable[[], int] = time.time_ns, core: _core.Core | None = None):
        """A fresh state over `network`; or around `core` (from_state: a snapshot's, of this network)."""
        self.network = network
        self._clock_ns = clock_ns
        self._node_index = {node.node_id: i for i, node in enumerate(network.nodes)}
        self._sku_index = {sku.sku_id: i for i, sku in enumerate(network.skus)}
        self._node_ids = [node.node_id for node in network.nodes]  # by index, for answers
        self._sku_ids = [sku.sku_id for sku in network.skus]  # by core row ("" for a variant's)
        self._row_skus: list[Sku | None] = list(network.skus)  # by core row (None for a variant's)
        self._row_documents: list[str | None] = [None] * len(network.skus)
        self._retired: dict[str, int] = {}
        self._decoded: dict[str, Sku] = {}  # catalog.py: SKU documents decoded ahead of their apply
        # Bumped by every catalog or network change: what the service derives from the network is stale.
        self.network_generation = 0
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
        self._views: dict[str, ResolvedView] = {}
        self._build_views()
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

    def _build_views(self) -> None:
        network = self.network
        self._views = {
            view.view_id: ResolvedView(
                view, network, self._node_index, self._sku_index, self._nodes_by_tag, SUPPLY_ALL_KINDS
            )
            for view in network.views
        }

    def _wire(self) -> None:
        """Builds the reads and the record applier over the state's parts and binds their
        entry points here (again after from_state replaced the parts)."""
        reads = Reads(
            self._core,
            self.network,
            self._sku_index,
            self._sku_ids,
            self._node_ids,
            self._variants,
            self._row_skus,
            self._book,
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
            self._apply_catalog_record,
            (self._sku_ids, self._node_ids),
        )
        self._reads, self._records = reads, records
        self.availability = reads.availability
        # The plain read's answer as wire bytes (encoded.py), for the gRPC service.
        self.availability_bytes = EncodedReads(
            self._core, self._sku_index, self._row_skus, self.node_ids, self._variants, self._sellable
        ).availability_bytes
        self.phased_availability = reads.phased_availability
        self.promise_cells = reads.promise_cells
        self.channel_phased_availability = reads.channel_phased_availability
        self.channel_floors = reads.channel_floors
        self.variant_row_count = reads.variant_row_count
        self.reservation_view = reads.reservation_view
        self.apply_record = records.apply_record
        self.replay_payload = records.replay_payload
        self.apply_payload = records.apply_payload

    def _apply_catalog_record(self, record: log_pb2.LogRecord) -> Outcome:
        which = record.WhichOneof("command")
        if which == "upsert_skus":
            return self._apply_upsert_skus(record.upsert_skus, record.log_time_ns)
        if which == "retire_skus":
            return self._apply_retire_skus(record.retire_skus, record.log_time_ns)
        assert which == "change_network", which
        return self._apply_change_network(record.change_network, record.log_time_ns)

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
    def log_time_ns(self) -> int:
        """The log's clock as of the last record applied (its log_time_ns)."""
        return self._core.log_time_ns

    @property
    def core(self) -> _core.Core:
        """The core itself, for tests and benchmarks; the service never uses it."""
        return self._core

    @property
    def capacity(self) -> CapacityCounts:
        """Daily shipping capacity: the orders counted per (node, local day), as of the log position
        (records applied from their bytes are counted here, on the read after them)."""
        self._records.count_capacity()
        return self._capacity

    def node(self, node_id: str) -> Node | None:
        index = self._node_index.get(node_id)
        return None if index is None else self.network.nodes[index]

    def sku(self, sku_id: str) -> Sku | None:
        index = self._sku_index.get(sku_id)
        return None if index is None else self._row_skus[index]

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
            selected = np.zeros(len(self._node_ids), dtype=bool)
            selected[self.node_selection(node_ids, node_tags)] = True
            return np.flatnonzero(selected & channel.view.node_mask).astype(np.int32)
        if not node_ids and not node_tags:
            return self._sellable.index
        chosen = np.zeros(len(self._node_ids), dtype=bool)
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
            self._sku_ids[sku],
            self._node_ids[node],
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

    def hold_counts(self) -> dict[str, int]:
        """Reservations by state (held, committed, released, expired, shipped), lower-case names: one pass
        over the core's state array, for the metrics page."""
        counts = self._core.reservation_state_counts()
        return {state.name.lower(): int(counts[state]) for state in _core.ReservationState}

    # ---- snapshots ------------------------------------------------------------

    def export_state(self) -> tuple[StateArrays, dict[str, str]]:
        """(core arrays, JSON-ready meta) of the whole state at the current log position."""
        arrays = self._core.export_state()
        arrays.update((f"book_{name}", array) for name, array in self._book.export().items())
        arrays["supply_ids_blob"], arrays["supply_ids_offsets"] = pack_text(self._supply_ids)
        arrays["source_ids_blob"], arrays["source_ids_offsets"] = pack_text(self._source_ids)
        arrays.update(self._variants.export())
        arrays.update(self._catalog_arrays())
        meta = {
            "network": network_fingerprint(self.network),
            "network_document": document.network_document(self.network),
        }
        return arrays, meta

    def _catalog_arrays(self) -> StateArrays:
        """The catalog by row (documents, retired flags): a snapshot rebuilds it without any config."""
        rows, texts, retired = [], [], []
        for row, sku in enumerate(self._row_skus):
            if sku is None:
                continue
            text = self._row_documents[row]
            if text is None:
                text = self._row_documents[row] = document.sku_document(sku)
            rows.append(row)
            texts.append(text)
            retired.append(sku.sku_id in self._retired)
        blob, offsets = pack_text(texts)
        return {
            "catalog_row": np.array(rows, dtype=np.int64),
            "catalog_retired": np.array(retired, dtype=bool),
            "catalog_documents_blob": blob,
            "catalog_documents_offsets": offsets,
        }

    def state_digest(self) -> str:
        """A hash of the whole replicated state: the core's, the network and the catalog (rows, retired).
        Equal on every replica at the same log position."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(self._core.digest().encode())
        digest.update(document.network_document(self.network).encode())
        arrays = self._catalog_arrays()
        for name in sorted(arrays):
            digest.update(np.ascontiguousarray(arrays[name]).tobytes())
        return digest.hexdigest()

    def load_state(self, other: Engine) -> None:
        """Takes over `other`'s whole state (a resync from a snapshot), in place: the
        servicers and watchers holding this object see the new state at once."""
        generation = max(self.network_generation, other.network_generation) + 1
        self.__dict__.update(other.__dict__)
        self.network_generation = generation  # the network may have changed: derived things rebuild
        self._wire()  # the applier's catalog handler is bound to this object, not `other`

    @classmethod
    def from_state(
        cls,
        network: Network,
        arrays: StateArrays,
        meta: Mapping[str, object],
        clock_ns: Callable[[], int] = time.time_ns,
        adopt: bool = False,
    ) -> Engine:
        """An engine holding a snapshot's state, on the network and catalog the snapshot carries
        (`network` is not used then: a changed config is reconciled by log commands after).
        A snapshot from before catalog changes carries only a fingerprint: `network`, or the
        part of it that existed then (its first nodes and SKUs), must match it.
        adopt=True: the core takes the arrays without copying them (Core.from_state);
        the caller must not use them afterwards."""
        core = _core.Core.from_state(arrays, adopt)
        if "catalog_row" in arrays and "network_document" in meta:
            engine = cls._on_snapshot_catalog(arrays, str(meta["network_document"]), core, clock_ns)
        else:
            engine = cls(_network_of_fingerprint(network, core, arrays, meta), clock_ns, core=core)
        engine._book = ReservationBook.restore(
            {name[len("book_") :]: array for name, array in arrays.items() if name.startswith("book_")}
        )
        engine._supply_ids = unpack_text(arrays["supply_ids_blob"], arrays["supply_ids_offsets"])
        assert len(engine._supply_ids) == engine._core.supply_count, "supply ids differ from the core's supplies"
        engine._source_ids = unpack_text(arrays["source_ids_blob"], arrays["source_ids_offsets"])
        engine._variants = VariantRegistry.restore(engine._core.sku_count, engine._core.node_count, arrays)
        assert engine._variants.row_count == engine._core.sku_count, "variants differ from the core's SKU rows"
        engine._capacity = CapacityCounts(engine.network)
        engine._capacity.rebuild(engine._core, arrays["book_create_ns"], arrays)
        engine._wire()
        return engine

    @classmethod
    def _on_snapshot_catalog(
        cls, arrays: StateArrays, network_text: str, core: _core.Core, clock_ns: Callable[[], int]
    ) -> Engine:
        """An engine over the network and catalog a snapshot carries (rows as they were)."""
        texts = unpack_text(arrays["catalog_documents_blob"], arrays["catalog_documents_offsets"])
        rows = arrays["catalog_row"].tolist()
        retired = arrays["catalog_retired"].tolist()
        skus = [document.sku_from_document(text) for text in texts]
        active = tuple(sku for sku, gone in zip(skus, retired) if not gone)
        network = document.network_from_document(network_text, active)
        engine = cls(dataclasses.replace(network, skus=active), clock_ns, core=core)
        row_count = core.sku_count
        engine._row_skus = [None] * row_count
        engine._row_documents = [None] * row_count
        engine._sku_ids = [""] * row_count
        engine._sku_index = {}
        engine._retired = {}
        for sku, text, row, gone in zip(skus, texts, rows, retired):
            engine._row_skus[row], engine._row_documents[row], engine._sku_ids[row] = sku, text, sku.sku_id
            if gone:
                engine._retired[sku.sku_id] = row
            else:
                engine._sku_index[sku.sku_id] = row
        engine._build_views()
        return engine


def _network_of_fingerprint(
    network: Network, core: _core.Core, arrays: StateArrays, meta: Mapping[str, object]
) -> Network:
    """The network a fingerprint-only snapshot was taken on: `network`, or its first nodes and SKUs
    (a config that only appended nodes or SKUs since). Raises ValueError when neither matches."""
    if meta["network"] == network_fingerprint(network):
        return network
    variant_count = len(arrays["variant_parent"]) if "variant_parent" in arrays else 0
    nodes, skus = core.node_count, core.sku_count - variant_count
    prefix = dataclasses.replace(network, nodes=network.nodes[:nodes], skus=network.skus[:skus])
    if len(prefix.nodes) == nodes and len(prefix.skus) == skus and meta["network"] == network_fingerprint(prefix):
        if nodes < len(network.nodes):  # the config's transport may name nodes the snapshot lacks
            prefix = dataclasses.replace(prefix, transport=None, views=())
        return prefix
    raise ValueError("the snapshot was taken on another network (nodes or SKUs changed, not only appended)")


def network_fingerprint(network: Network) -> str:
    """Identity of the interning order: snapshots are only valid for the same one."""
    digest = hashlib.blake2b(digest_size=16)
    for node in network.nodes:
        digest.update(node.node_id.encode() + b"\0")
    digest.update(b"\1")
    for sku in network.skus:
        digest.update(sku.sku_id.encode() + b"\0")
    return digest.hexdigest()


def network_of_fingerprint(network: Network, fingerprint: str) -> Network | None:
    """`network`'s first nodes and SKUs whose fingerprint is `fingerprint` (the network a log started
    on, when the config only appended since), or None. Bounded: a search of at most 10M hashes."""
    nodes, skus = network.nodes, network.skus
    if (len(nodes) + 1) * (len(skus) + 1) > 10_000_000:
        return network if network_fingerprint(network) == fingerprint else None
    digest = hashlib.blake2b(digest_size=16)
    for node_count in range(len(nodes) + 1):
        if node_count:
            digest.update(nodes[node_count - 1].node_id.encode() + b"\0")
        if node_count == 0:
            continue  # a network has a node
        of_skus = digest.copy()
        of_skus.update(b"\1")
        for sku_count in range(len(skus) + 1):
            if sku_count:
                of_skus.update(skus[sku_count - 1].sku_id.encode() + b"\0")
            if sku_count and of_skus.hexdigest() == fingerprint:
                prefix = dataclasses.replace(network, nodes=nodes[:node_count], skus=skus[:sku_count])
                if node_count < len(nodes):  # the config's transport may name nodes the log lacks
                    prefix = dataclasses.replace(prefix, transport=None, views=())
                return prefix
    return None
