"""From a scanned call to the answer: the options kept, in rank order, and a Candidate per node.

When every option is a kernel row the kernel ranks them and says how each
node fared; with options built in Python (multi_node.py) beside them, they
are ranked here as PromiseEngine always ranked them. Every node gets a
Candidate saying why it is or is not in the answer; the explanations that do
not depend on the order are built once per node and reused (they are
immutable).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dompromise._core.promise import short_texts
from dompromise._core.transport import NEVER
from dompromise.inventory.channels import Channel
from dompromise.model.network import Network
from dompromise.promise.call import (
    CAPACITY_TEXT,
    CODE_CAPACITY,
    CODE_FULL,
    CODE_NO_DELIVERY,
    CODE_NO_LANE,
    CODE_PARTIAL,
    CODE_SHORT_NONE,
    INFO_CODE,
    INFO_FILLED_SUM,
    NO_DELIVERY_TEXT,
    Call,
)
from dompromise.promise.types import Candidate, Option, PlannedLine, PromiseRequest, Reason, Shipment

NOT_SELLABLE = int(Reason.NODE_NOT_SELLABLE)
REASON_USED = int(Reason.USED)
REASON_OUTRANKED = int(Reason.OUTRANKED)
REASON_TOO_LATE = int(Reason.TOO_LATE)
# One entry to rank: (score, earliest, cost, nodes, distinct key, kernel row or Option); entries are listed in
# the order they were made, which a stable sort keeps for ties.
Entry = tuple[float, int, int, tuple[int, ...], tuple[tuple[str, str, str, int], ...], int | Option]
# An entry's rank: score, then earliest delivery, then cost.
_rank_key = operator.itemgetter(0, 1, 2)
_new = tuple.__new__  # a NamedTuple from the tuple of its fields, in order:
assert Candidate._fields == ("node_id", "reason", "detail")


@dataclass(slots=True)
class RowAnswer:
    """A PromiseAnswer whose kernel rows are not built as Options (PromiseEngine.promise_rows): the encoder
    (dompromise/wire/promise.pyx promise_response_rows) writes them from the scan's arrays.

    Not frozen: made on every promise, and a frozen dataclass sets each field through object.__setattr__
    (~0.6 us against ~0.3). Nothing changes it once made."""

    call: Call
    kept: list[int | Option]  # in rank order: a kernel row's index (of call.scan.rows), or an Option built in Python
    candidates: list[Candidate]
    log_position: int
    node_ids: list[str]  # the network's, by node index

    @property
    def sku_ids(self) -> list[str]:
        return self.call.sku_ids

    @property
    def quantities(self) -> list[int]:
        return self.call.quantities


class AnswerBuilder:
    """Ranks a call's options and explains every node, for one network."""

    CANDIDATE_TABLES_KEPT = 256  # (reason, explanation) -> a Candidate per node, reused: they are immutable
    CANDIDATE_LISTS_KEPT = 1_024  # (destination, every node's reason) -> the answer's Candidates (kernel_rows)

    def __init__(self, network: Network):
        self._node_ids = [node.node_id for node in network.nodes]
        self._all_columns = list(range(len(self._node_ids)))  # a selection of every node, in order
        self._node_order = {node.node_id: i for i, node in enumerate(network.nodes)}
        self._fixed_candidates: dict[tuple[Reason, str], list[Candidate]] = {}
        self._reasons_by_destination: dict[tuple[str | None, str | None], dict[int, list[Candidate]]] = {}
        self._candidates_by_reasons: dict[tuple[str | None, str | None, tuple[int, ...]], list[Candidate]] = {}

    # ---- kernel rows as options -------------------------------------------------

    def _row_options(self, call: Call, rows: list[int]) -> list[Option]:
        """The Options of kernel rows, each one shipment of what its node fills: the
        arrays read once for all of them, a node's lines shared by its options."""
        scan = call.scan
        values: list[list[int]] = scan.rows[rows].tolist()
        scores: list[float] = scan.score[rows].tolist()
        columns = [value[0] for value in values]
        filled_by_row: list[list[int]]
        ready_by_row: list[list[int]]
        if len(call.wanted) == 1:  # one line: no need to gather columns
            filled_all, ready_all = scan.filled[0].tolist(), scan.ready_ns[0].tolist()
            filled_by_row = [[filled_all[column]] for column in columns]
            ready_by_row = [[ready_all[column]] for column in columns]
        else:
            filled_by_row = scan.filled[:, columns].T.tolist()
            ready_by_row = scan.ready_ns[:, columns].T.tolist()
        filled_sums: list[int] = scan.info[columns, INFO_FILLED_SUM].tolist()
        sku_ids, quantities, wanted_sum = call.sku_ids, call.quantities, call.wanted_sum
        routes, node_ids, nodes = call.destination.routes, self._node_ids, call.columns
        lines_of: dict[int, tuple[PlannedLine, ...]] = {}
        options = []
        for k, (column, route_index, earliest, latest, departure, cost) in enumerate(values):
            filled = filled_by_row[k]
            lines = lines_of.get(column)
            if lines is None:
                ready = ready_by_row[k]
                lines = lines_of[column] = tuple(
                    [PlannedLine(sku_ids[i], f, ready[i]) for i, f in enumerate(filled) if f > 0]
                )
            route = routes[route_index]
            shipment = Shipment(
                node_ids[nodes[column]],
                route.method,
                route.service,
                lines,
                earliest,
                latest,
                None if departure == NEVER else departure,
                cost,
                route.via_node_id,
            )
            filled_sum = filled_sums[k]
            short = (
                ()
                if filled_sum == wanted_sum
                else tuple(
                    [(sku_ids[i], w - max(f, 0)) for i, (w, f) in enumerate(zip(quantities, filled)) if max(f, 0) < w]
                )
            )
            options.append(
                Option(
                    route.method,
                    (shipment,),
                    100.0 * filled_sum / float(wanted_sum),
                    earliest,
                    latest,
                    cost,
                    scores[k],
                    short,
                )
            )
        return options

    # ---- ranking ----------------------------------------------------------------

    def kernel_ranked(self, call: Call) -> tuple[list[Option], list[Candidate]]:
        """Every option is a kernel row: the kernel ranks them and says how each node fared."""
        kept_count, candidates = self.kernel_rows(call)
        kept = self._row_options(call, call.scan.order[:kept_count].tolist()) if kept_count else []
        return kept, candidates

    def kernel_rows(self, call: Call) -> tuple[int, list[Candidate]]:
        """kernel_ranked without building the options: they are the first (count) rows of call.scan.order."""
        request, scan = call.request, call.scan
        kept_count = scan.rank(request.deliver_before_ns, request.max_options)
        # A reason per node: the kernel's outcome (USED, OUTRANKED, TOO_LATE: Reason's numbers),
        # else its column code; NODE_NOT_SELLABLE where no column. As lists: a dozen items, where
        # numpy's calls cost more than the work.
        final = scan.final_codes()
        columns = call.columns
        if len(columns) == len(self._node_ids) and columns == self._all_columns:
            reasons = final  # every node sellable, in node order (the default selection)
        else:
            reasons = [NOT_SELLABLE] * len(self._node_ids)
            for column, node in enumerate(columns):
                reasons[node] = final[column]
        if CODE_PARTIAL not in reasons:
            # The same reasons recur call after call (a front asks for the same few SKUs): their Candidates
            # are kept by destination and reasons, a copy handed out.
            key = (request.zone_id, request.pickup_node_id, tuple(reasons))
            found = self._candidates_by_reasons.get(key)
            if found is None:
                if len(self._candidates_by_reasons) >= self.CANDIDATE_LISTS_KEPT:
                    self._candidates_by_reasons.clear()
                tables = self._reason_tables(request)
                found = self._candidates_by_reasons[key] = [tables[reason][node] for node, reason in enumerate(reasons)]
            return kept_count, list(found)
        tables = self._reason_tables(request)
        partial = np.flatnonzero(np.array(final) == CODE_PARTIAL)
        texts = dict(zip([call.columns[column] for column in partial.tolist()], self._short_candidates(call, partial)))
        return kept_count, [
            tables[reason][node] if reason != CODE_PARTIAL else texts[node] for node, reason in enumerate(reasons)
        ]

    def python_ranked(self, call: Call, python_options: list[Option]) -> tuple[list[Option], list[Candidate]]:
        """python_rows, every kept option built (kernel rows as Options too)."""
        kept, candidates = self.python_rows(call, python_options)
        return self.built(call, kept), candidates

    def python_rows(self, call: Call, python_options: list[Option]) -> tuple[list[int | Option], list[Candidate]]:
        """Kernel rows and Python's options together, ranked as PromiseEngine always did:
        window, sort by (score, earliest, cost) in the order they were made, distinct,
        max_options; USED / TOO_LATE / OUTRANKED as before. The kept options unbuilt, in rank
        order: a kernel row's index, or Python's Option."""
        request, scan, columns = call.request, call.scan, call.columns
        tables = self._reason_tables(request)
        # Each node's Candidate, from the destination's tables (the same Candidates _candidate finds, without
        # hashing an enum per node); None while the options decide it (a FULL column) or none does (no column:
        # not sellable).
        used, outranked, too_late = tables[REASON_USED], tables[REASON_OUTRANKED], tables[REASON_TOO_LATE]
        found: list[Candidate | None] = [None] * len(self._node_ids)
        partial: list[int] = []
        for column, code in enumerate(scan.info[:, INFO_CODE].tolist()):
            if code == CODE_PARTIAL:
                partial.append(column)
            elif code != CODE_FULL:
                node = columns[column]
                found[node] = tables[code][node]
        if partial:
            for column, candidate in zip(partial, self._short_candidates(call, np.array(partial, dtype=np.int64))):
                found[columns[column]] = candidate
        # Rows and options in the order they were made: full rows, python, partial rows.
        entries: list[Entry] = []
        row_count, full_row_count = scan.row_count, scan.full_row_count
        row_entries: list[Entry] = []
        if row_count:
            rows: list[list[int]] = scan.rows[:row_count].tolist()
            scores: list[float] = scan.score[:row_count].tolist()
            routes, node_ids = call.destination.routes, self._node_ids
            for row, (column, route_index, earliest, _, _, cost) in enumerate(rows):
                node = columns[column]
                route = routes[route_index]
                row_entries.append(
                    (
                        scores[row],
                        earliest,
                        cost,
                        (node,),
                        ((node_ids[node], route.service, route.via_node_id, earliest),),
                        row,
                    )
                )
            entries = row_entries[:full_row_count]
        node_order = self._node_order
        for option in python_options:
            shipments = option.shipments
            if len(shipments) == 1:  # every consolidation: no comprehension (a function call each in 3.11)
                only = shipments[0]
                nodes: tuple[int, ...] = (node_order[only.node_id],)
                key: tuple[tuple[str, str, str, int], ...] = (
                    (only.node_id, only.service, only.via_node_id, only.earliest_ns),
                )
            else:
                nodes = tuple([node_order[s.node_id] for s in shipments])
                key = tuple([(s.node_id, s.service, s.via_node_id, s.earliest_ns) for s in shipments])
            entries.append((option.score, option.earliest_ns, option.cost_minor, nodes, key, option))
        if row_count > full_row_count:
            entries += row_entries[full_row_count:]
        if request.deliver_before_ns:
            in_window = []
            for entry in entries:
                if entry[1] <= request.deliver_before_ns:
                    in_window.append(entry)
                    continue
                for node in entry[3]:
                    if found[node] is None:
                        found[node] = too_late[node]
            entries = in_window
        entries.sort(key=_rank_key)  # stable: ties keep the order the options were made
        seen, distinct = set(), []
        for entry in entries:
            if entry[4] not in seen:
                seen.add(entry[4])
                distinct.append(entry)
        kept_entries = distinct[: request.max_options]
        for entry in kept_entries:
            for node in entry[3]:
                found[node] = used[node]
        for entry in entries:
            for node in entry[3]:
                if found[node] is None:
                    found[node] = outranked[node]
        ordered = [
            candidate if candidate is not None else not_sellable
            for candidate, not_sellable in zip(found, tables[NOT_SELLABLE])
        ]
        return [entry[5] for entry in kept_entries], ordered

    def built(self, call: Call, kept: list[int | Option]) -> list[Option]:
        """The kept options of python_rows, the kernel rows among them built as Options."""
        rows_kept = [entry for entry in kept if not isinstance(entry, Option)]
        built = iter(self._row_options(call, rows_kept) if rows_kept else ())
        return [entry if isinstance(entry, Option) else next(built) for entry in kept]

    # ---- explanations -----------------------------------------------------------

    def outside_view(self, candidates: list[Candidate], channel: Channel) -> list[Candidate]:
        """Nodes the view does not name are not sellable through it, whatever else they are."""
        view = channel.view
        assert view is not None, "a channel of a promise has a view"
        outside = self._fixed(Reason.NODE_NOT_SELLABLE, f"not in channel view {view.view_id!r}")
        in_view = view.node_mask
        return [candidate if in_view[node] else outside[node] for node, candidate in enumerate(candidates)]

    def _reason_tables(self, request: PromiseRequest) -> dict[int, list[Candidate]]:
        """Every node's Candidate for each reason whose explanation does not depend on the
        order (built once; NO_LANE's names the destination)."""
        key = (request.zone_id, request.pickup_node_id)
        found = self._reasons_by_destination.get(key)
        if found is not None:
            return found
        if len(self._reasons_by_destination) >= self.CANDIDATE_TABLES_KEPT:
            self._reasons_by_destination.clear()
        where = f"zone {request.zone_id}" if request.zone_id else f"store {request.pickup_node_id}"
        found = self._reasons_by_destination[key] = {
            int(Reason.USED): self._fixed(Reason.USED, "in a returned option"),
            int(Reason.NODE_NOT_SELLABLE): self._fixed(Reason.NODE_NOT_SELLABLE, "node is not enabled"),
            CODE_SHORT_NONE: self._fixed(Reason.SHORT, "has none of the order's SKUs"),
            CODE_NO_LANE: self._fixed(Reason.NO_LANE, f"no lane to {where} for the allowed methods"),
            CODE_NO_DELIVERY: self._fixed(Reason.NO_DELIVERY, NO_DELIVERY_TEXT),
            int(Reason.OUTRANKED): self._fixed(Reason.OUTRANKED, "had an option, ranked below the ones returned"),
            int(Reason.TOO_LATE): self._fixed(Reason.TOO_LATE, "cannot deliver by the requested latest time"),
            CODE_CAPACITY: self._fixed(Reason.CAPACITY, CAPACITY_TEXT),
        }
        return found

    def _fixed(self, reason: Reason, detail: str) -> list[Candidate]:
        key = (reason, detail)
        found = self._fixed_candidates.get(key)
        if found is None:
            if len(self._fixed_candidates) >= self.CANDIDATE_TABLES_KEPT:  # one NO_LANE table per destination
                self._fixed_candidates.clear()
            found = self._fixed_candidates[key] = [Candidate(node_id, reason, detail) for node_id in self._node_ids]
        return found

    def _candidate(self, node: int, reason: Reason, detail: str) -> Candidate:
        return self._fixed(reason, detail)[node]

    def _short_candidates(self, call: Call, columns: npt.NDArray[np.int64]) -> list[Candidate]:
        """SHORT, naming the first lines each node lacks: "short: SKU filled/wanted, ..."."""
        node_ids, nodes, short = self._node_ids, call.columns, Reason.SHORT
        columns = columns.astype(np.int64, copy=False)
        texts = short_texts(call.sku_ids, call.quantities, call.scan, columns)
        # tuple.__new__: a Candidate without its Python-level __new__ (one per short node, every call).
        return [
            _new(Candidate, (node_ids[nodes[column]], short, text)) for column, text in zip(columns.tolist(), texts)
        ]
