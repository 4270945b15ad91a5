# cython: language_level=3
"""The deterministic core: dense quantity arrays and the commands that change them.

Pure state machine: no I/O, no clock, no Python objects in the loops. The
engine (dompromise.inventory.engine) interns ids to indices, builds Commands and calls
`Core.apply`, the one entry point for every write; reads are gathers over
SKU-major arrays so one SKU's nodes are contiguous.

One extension, in parts (as asyncpg's protocol.pyx includes its parts): this
file holds the imports and the Core class, the API every caller sees and its
documentation; each state_*.pxi holds one concern, as module-level functions
that take the core first (`_name(core, ...)` does the work of `Core.name`).
Core is final, so they compile to the same direct C calls its cdef methods
did, and the `inline` ones still inline. The parts import nothing: every
import of the module is here, where tests/test_layers.py reads it
(tests/core/test_core_parts.py keeps it so).

Directives (boundscheck, wraparound, initializedcheck) come from setup.py only,
never from a decorator here: `DOMPROMISE_DEBUG=1` turns bounds checks on in
every loop (tests/core/test_core_debug_build.py).
"""

cimport cython
cimport numpy as cnp
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import enum
import hashlib

import numpy as np

cnp.import_array()

include "state_consts.pxi"     # limits, sentinels, the enums as IntEnums and dicts
include "state_command.pxi"    # Command (a columnar write) and the column helpers


@cython.final
cdef class Core:
    """Node-by-SKU quantity state of one replica.

    Unknown ids never reach the core: the engine maps them to index -1 and
    the core reports SKU_NOT_FOUND / NODE_NOT_FOUND for them.
    """

    def __init__(self, int32_t node_count, int32_t sku_count, node_status=None, bint _positions=True):
        # _positions=False (from_state only): the per-position tables are left
        # empty, from_state sets every one of them (10M positions: ~0.5 s saved).
        assert node_count > 0, "a network needs at least one node"
        assert sku_count > 0, "a network needs at least one SKU"
        cdef Py_ssize_t positions = <Py_ssize_t>node_count * sku_count if _positions else 0
        self.node_count = node_count
        self.sku_count = sku_count
        self.sku_capacity = sku_count
        self.log_time_ns = 0
        self.log_position = 0
        self.on_hand = np.zeros(positions, dtype=np.int64)
        self.held = np.zeros(positions, dtype=np.int64)
        self.allocated = np.zeros(positions, dtype=np.int64)
        self.unavailable = np.zeros(positions, dtype=np.int64)
        self.safety_stock = np.zeros(positions, dtype=np.int64)
        self.available = np.zeros(positions, dtype=np.int64)
        self.safety_stock_rule = np.full(positions, SAFETY_STOCK_UNSET, dtype=np.int64)
        self.sku_safety_stock_rule = np.full(sku_count, SAFETY_STOCK_UNSET, dtype=np.int64)
        self.node_safety_stock_rule = np.full(node_count, SAFETY_STOCK_UNSET, dtype=np.int64)
        self.reason_row = np.full(positions, -1, dtype=np.int32)
        self.reason_quantity = np.zeros(0, dtype=np.int64)
        self.reason_count = 0
        if node_status is None:
            self.node_status = np.full(node_count, NODE_ENABLED, dtype=np.uint8)
        else:
            statuses = np.ascontiguousarray(node_status, dtype=np.uint8)
            assert statuses.shape[0] == node_count, "one status per node"
            assert np.all((statuses >= NODE_ENABLED) & (statuses <= NODE_DISABLED))
            self.node_status = statuses.copy()
        self.reservation_count = 0
        self.line_count = 0
        self.heap_size = 0
        self.reservation_state = np.zeros(0, dtype=np.uint8)
        self.reservation_expire_ns = np.zeros(0, dtype=np.int64)
        self.reservation_first_line = np.zeros(0, dtype=np.int64)
        self.reservation_line_count = np.zeros(0, dtype=np.int32)
        self.line_sku = np.zeros(0, dtype=np.int32)
        self.line_node = np.zeros(0, dtype=np.int32)
        self.line_quantity = np.zeros(0, dtype=np.int64)
        self.line_shipped = np.zeros(0, dtype=np.int64)
        self.line_due_ns = np.zeros(0, dtype=np.int64)
        self.line_next_demand = np.zeros(0, dtype=np.int64)
        self.demand_head = np.full(positions, END_OF_LIST, dtype=np.int64)
        self.supply_count = 0
        self.supply_position = np.zeros(0, dtype=np.int64)
        self.supply_received = np.zeros(0, dtype=np.int64)
        self.supply_slot = np.zeros(0, dtype=np.int64)
        self.supply_stamp = np.zeros(0, dtype=np.int64)
        _adopt_records(self, np.zeros(0, dtype=SUPPLY_RECORD_DTYPE))
        self.supply_head = np.full(positions, END_OF_LIST, dtype=np.int64)
        self.feed_sequence = np.full((0, <Py_ssize_t>node_count * sku_count), -1, dtype=np.int64)
        self.sku_changed = np.zeros(sku_count, dtype=np.uint8)
        self.changed_skus = np.zeros(sku_count, dtype=np.int32)
        self.changed_count = 0
        self.heap_expire_ns = np.zeros(0, dtype=np.int64)
        self.heap_reservation = np.zeros(0, dtype=np.int64)
        _reserve_capacity(self, RESERVATIONS_INITIAL, RESERVATIONS_INITIAL)
        _adopt_buffers(self)

    # ---- writes ----------------------------------------------------------------------

    def apply(self, Command command, bint advance=True):
        """Applies one command in log order; returns its log position.

        The command's time is the log's clock: it never goes backwards, and
        it is the only time the core knows. One log record may apply several
        core commands (a wave): all but the last pass advance=False, so the
        core's position stays the log's.
        """
        assert command.log_time_ns >= 0, "log time before the epoch"
        assert command.log_time_ns >= self.log_time_ns, "log time went backwards"
        # The log's clock moves first: holds due by this command's time expire
        # before it applies, identically on every replica.
        self._changes += 1
        _expire_due(self, command.log_time_ns)
        if not _well_formed(command):
            # A malformed command (the edge should never let one through) is
            # recorded as such and changes nothing: replay cannot be poisoned.
            command.status[:] = ITEM_MALFORMED
            command.result = RESULT_MALFORMED
        elif command.kind == COMMAND_UPDATE_ON_HAND:
            _apply_on_hand(self, command)
        elif command.kind == COMMAND_RESERVE:
            _apply_reserve(self, command)
        elif command.kind == COMMAND_COMMIT or command.kind == COMMAND_RELEASE:
            _apply_resolve(self, command)
        elif command.kind == COMMAND_EXTEND:
            _apply_extend(self, command)
        elif command.kind == COMMAND_SHIP or command.kind == COMMAND_CANCEL_LINES:
            _apply_line_change(self, command)
        elif command.kind == COMMAND_RETURN:
            _apply_return(self, command)
        elif command.kind == COMMAND_SET_NODE_STATUS:
            _apply_node_status(self, command)
        elif command.kind == COMMAND_UPSERT_SUPPLY:
            _apply_upsert_supply(self, command)
        elif command.kind == COMMAND_RECEIVE_SUPPLY:
            _apply_receive_supply(self, command)
        elif command.kind == COMMAND_SET_SAFETY_STOCK:
            _apply_safety_stock(self, command)
        elif command.kind == COMMAND_SET_UNAVAILABLE:
            _apply_set_unavailable(self, command)
        elif command.kind == COMMAND_TICK:
            command.result = RESULT_OK
        self.log_time_ns = command.log_time_ns
        if advance:
            self.log_position += 1
        command.log_position = self.log_position + (0 if advance else 1)
        if DOMPROMISE_DEBUG:
            _check_invariants(self)
        return self.log_position

    cdef int reserve_lines(self, ReserveLines* lines, int64_t log_time_ns) except -1:
        """Core.apply of a RESERVE whose columns are C arrays (a record decoded without
        a Command: inventory/_records.pyx): the same checks, outcome and position.
        The results are written whole (status, filled and available_after zeroed first)."""
        cdef Py_ssize_t i
        assert log_time_ns >= 0, "log time before the epoch"
        assert log_time_ns >= self.log_time_ns, "log time went backwards"
        self._changes += 1
        _expire_due(self, log_time_ns)
        for i in range(lines.count):
            lines.status[i] = 0
            lines.filled[i] = 0
            lines.available_after[i] = 0
        lines.reservation = -1
        lines.applied_count = 0
        if _reserve_well_formed(lines.count, lines.quantity, lines.due_ns, lines.floor, lines.deadline_ns,
                                log_time_ns):
            _reserve(self, lines)
        else:
            for i in range(lines.count):
                lines.status[i] = ITEM_MALFORMED
            lines.result = RESULT_MALFORMED
        self.log_time_ns = log_time_ns
        self.log_position += 1
        if DOMPROMISE_DEBUG:
            _check_invariants(self)
        return 0

    # ---- reads: state_gather.pxi -----------------------------------------------------

    def gather_available(self, cnp.ndarray sku, cnp.ndarray nodes, cnp.ndarray cells, cnp.ndarray totals):
        """Availability of each SKU at each selected node.

        cells[s * len(nodes) + j] = available(sku[s], nodes[j]); totals[s] is
        the row sum. A SKU index of -1 (unknown) yields zeros. `cells` may be
        empty to ask for totals only. Arguments are C-contiguous numpy arrays
        (int32 sku and nodes, int64 cells and totals).
        """
        _gather_available(self, sku, nodes, cells, totals)

    def gather_buckets(self, const int32_t[::1] sku, const int32_t[::1] nodes, int64_t[:, ::1] out):
        """Every bucket of each (SKU, selected node): out[b, s * len(nodes) + j].

        Buckets in the order of BUCKETS. Unknown SKUs (-1) yield zeros.
        """
        _gather_buckets(self, sku, nodes, out)

    def gather_unavailable(self, const int32_t[::1] sku, const int32_t[::1] nodes, int64_t[:, ::1] out):
        """Unavailable by reason of each (SKU, selected node): out[r - 1, s * len(nodes) + j]
        for reason r (UNAVAILABLE_REASON). Unknown SKUs (-1) yield zeros."""
        _gather_unavailable(self, sku, nodes, out)

    def gather_phased(self, cnp.ndarray sku, cnp.ndarray nodes, cnp.ndarray boundaries_ns, int kind_mask,
                      cnp.ndarray wanted, cnp.ndarray cells, cnp.ndarray totals, cnp.ndarray earliest_ns):
        """Time-phased availability: what each (SKU, node) can promise by each date.

        cells[(s * len(nodes) + j) * B + k] is the quantity of sku[s] at
        nodes[j] that can be promised for shipment from the node by
        boundaries_ns[k] (B ascending instants): on hand now plus the supply
        of the kinds in kind_mask due by then (overdue supply counts from the
        first bucket), less every backorder, with no later date left short.
        totals[s * B + k] sums cells over the nodes; `cells` may be empty to
        ask for totals only. earliest_ns[s * len(nodes) + j] is the first
        instant wanted[s] units can be promised there: EARLIEST["NOW"], an
        ETA, or EARLIEST["NEVER"]. Arguments are C-contiguous numpy arrays:
        int32 sku and nodes, int64 the rest. Unknown SKUs (-1) yield zeros.
        """
        _gather_phased(self, sku, nodes, boundaries_ns, kind_mask, wanted, cells, totals, earliest_ns)

    def bucket_array(self, str name):
        """A read-only numpy view of one bucket, shape (sku_count, node_count)."""
        assert name in BUCKETS, f"unknown bucket {name}"
        view = np.asarray(getattr_bucket(self, name)).reshape(self.sku_count, self.node_count)
        view.flags.writeable = False
        return view

    def take_changed_skus(self):
        """SKU indices whose positions were written since the last call, in first-change
        order, each once; clears the journal. A node status change marks no SKU:
        it changes what is sellable everywhere, which watchers learn from the command."""
        count = self.changed_count
        taken = np.asarray(self.changed_skus)[:count].copy()
        np.asarray(self.sku_changed)[taken] = 0
        self.changed_count = 0
        return taken

    # ---- positions and nodes: state_stock.pxi ----------------------------------------

    def net_on_hand(self, int32_t sku, int32_t node):
        """On hand less held, allocated, unavailable and safety stock; may be negative."""
        assert 0 <= sku < self.sku_count and 0 <= node < self.node_count, "position out of range"
        return _net_on_hand(self, <Py_ssize_t>sku * self.node_count + node)

    def sellable_nodes(self):
        """Indices of the nodes that take new demand (ENABLED), ascending."""
        statuses = np.asarray(self.node_status)
        return np.flatnonzero(statuses == NODE_ENABLED).astype(np.int32)

    def node_status_of(self, int32_t node):
        """The node's status (NODE_STATUS)."""
        assert 0 <= node < self.node_count, "node index out of range"
        return self.node_status[node]

    # ---- future supply and backorders: state_supply.pxi ------------------------------

    def supply(self, int64_t supply):
        """(sku, node, kind, eta_ns, open quantity, received) of a supply, or None."""
        return _supply(self, supply)

    def position_plan(self, int32_t sku, int32_t node):
        """The open supplies and backorder lines of one position, each list in date order:
        ([(supply, kind, eta_ns, quantity)], [(line, due_ns, quantity)]). For the cold
        paths that explain or re-evaluate a position; reads do not need it."""
        return _position_plan(self, sku, node)

    def lay_out_supplies(self):
        """Lays the supply records out afresh in list order (what a restore does):
        supplies created since the last restore sit in creation order, far from
        their SKU's others. The state (and its digest) does not change."""
        tables = _supply_tables(self)
        _lay_out_supplies(self, tables["supply_position"], tables["supply_eta_ns"], tables["supply_quantity"],
                          tables["supply_kind"], tables["supply_received"])

    def supply_layout(self):
        """The slot of each supply's record, by supply index (a copy): the
        records' order in memory, for tests and diagnostics. Never state."""
        return np.asarray(self.supply_slot)[:self.supply_count].copy()

    # ---- reservations and the expiry heap: state_reservations.pxi --------------------

    def reservation(self, int64_t reservation):
        """(state, expire_ns, sku[], node[], open quantity[], shipped[], due_ns[]) of a reservation,
        or None. due_ns is 0 for a line held from stock, else the backorder's date."""
        return _reservation(self, reservation)

    def reservation_lists(self, int64_t reservation):
        """reservation() as Python ints and lists, no array copies: (state, expire_ns,
        sku, node, open quantity, shipped, due_ns), or None. For the per-record
        readers (the answer's view, the capacity counts)."""
        return _reservation_lists(self, reservation)

    def reservation_of_line(self, int64_t line):
        """The reservation a line of the arena belongs to (lines are appended per
        reservation, so first lines ascend: a binary search), or -1."""
        return _reservation_of_line(self, line)

    def next_expiry_ns(self):
        """Earliest pending expiry (possibly stale), or None: when a Tick is worth appending."""
        return self.heap_expire_ns[0] if self.heap_size > 0 else None

    # ---- growth, SKU rows appended at run time (variants): state_growth.pxi -------------

    def add_skus(self, int32_t count):
        """Appends `count` SKU rows (every position empty, no safety-stock rule of
        their own) and returns the first new row's index.

        SKU-major, so new rows go at the end of every per-position table and
        no index changes. Room doubles when it runs out (amortised), and costs
        address space until rows use it: buffers are allocated uninitialised
        and a row is filled when added. The engine calls this while applying a
        log record, in log order, so every replica numbers the rows alike;
        reads never see a partial growth. The copy of a doubling can be done
        beforehand, off the applying thread: prepare_rows / install_rows.
        """
        return _add_skus(self, count)

    def prepare_rows(self, int32_t count):
        """The bulk of the growth add_skus(count) would need (the per-position
        tables copied into buffers twice as large), or None if there is room.

        May run in another thread while no write is applied to this core (reads
        may go on: it only reads the core, and numpy copies without the GIL).
        Where there is room, the rows are filled with their empty values here
        (as add_skus will), so that the applying thread finds their memory
        mapped. Pass the result to install_rows on the applying thread."""
        cdef int64_t end = <int64_t>self.sku_count + count
        if end <= self.sku_capacity:
            # Room enough: its rows are only touched (never read beyond sku_count).
            _touch_rows(self._buffers, np.asarray(self.feed_sequence), self.node_count, self.sku_count, end)
            return None
        prepared = _grown_per_position(self, _room_for(self, end))
        _touch_rows(prepared[4], prepared[5], self.node_count, self.sku_count, end)
        return prepared

    def install_rows(self, prepared):
        """Puts in what prepare_rows prepared (a few small copies) and returns the
        buffers it replaced, a list (dropping it unmaps them: do that where a pause
        does not matter, one at a time); None (nothing changed) if a write came
        between: add_skus then grows itself. Room is not state: digests,
        snapshots and answers are the same either way."""
        return _install(self, prepared)

    # ---- snapshots: state_snapshot.pxi; checks: state_checks.pxi ---------------------

    def export_state(self):
        """Every array and counter of the state, as copies: a snapshot's contents.

        Core.from_state(core.export_state()) has the same digest as core.
        """
        return _export_state(self)

    @staticmethod
    def from_state(state, bint adopt=False):
        """A core holding exactly the exported state (see export_state).

        adopt=True takes the state's per-position arrays as they are when they
        are already C-contiguous, writable and of the core's dtype (a snapshot
        read into a buffer nobody else uses): no copy. The caller must not use
        them afterwards. Otherwise every array is copied."""
        return _from_state(state, adopt)

    def digest(self):
        """A hash of the whole state: equal digests mean equal replicas."""
        return _digest(self)

    def check_invariants(self):
        """Raises AssertionError if any position breaks an invariant."""
        return _check_invariants(self)


# The parts of Core, one concern each.
include "state_stock.pxi"         # on hand, safety stock, unavailable by reason, node status
include "state_supply.pxi"        # future supply, backorder lists, the supply record layout
include "state_reservations.pxi"  # reserve, commit, release, ship, return; the expiry heap
include "state_gather.pxi"        # reads: availability, buckets, reasons, time-phased
include "state_growth.pxi"        # the per-SKU tables by name, and add_skus
include "state_snapshot.pxi"      # export_state, from_state, digest
include "state_checks.pxi"        # check_invariants
