"""AvailabilityService: batch availability from the local replica."""

from __future__ import annotations

from dompromise import limits
from dompromise.engine import EARLIEST_NEVER, EARLIEST_NOW, SUPPLY_ALL_KINDS, Engine
from dompromise.errors import FieldViolation, LimitExceededError
from dompromise.service.errors import map_errors
from dompromise.service.unimplemented import abort_unimplemented
from dompromise.service.validation import check_count, id_violations, raise_if_any
from dompromise.v1 import availability_pb2, availability_pb2_grpc, common_pb2

OK = common_pb2.ITEM_STATUS_OK
SKU_NOT_FOUND = common_pb2.ITEM_STATUS_SKU_NOT_FOUND
VIEW_FULL = availability_pb2.AVAILABILITY_VIEW_FULL
VIEW_TOTALS = availability_pb2.AVAILABILITY_VIEW_TOTALS
KNOWN_VIEWS = frozenset(availability_pb2.AvailabilityView.values())
KNOWN_SUPPLY_KINDS = frozenset(k for k in common_pb2.SupplyKind.values() if k)
DAY_NS = 86_400 * 10**9


class AvailabilityServicer(availability_pb2_grpc.AvailabilityServiceServicer):
    def __init__(self, engine: Engine):
        self._engine = engine
        self._base_units = [int(sku.base_unit) for sku in engine.network.skus]

    @map_errors
    async def GetAvailability(self, request, context):
        sku_ids = request.sku_ids
        self._validate(request)
        nodes = self._engine.node_selection(request.node_ids, request.node_tags)
        with_cells = request.view != VIEW_TOTALS
        if with_cells and len(sku_ids) * len(nodes) > limits.AVAILABILITY_BREAKDOWN_CELLS_MAX:
            raise LimitExceededError(
                "sku_ids", "AVAILABILITY_BREAKDOWN_CELLS_MAX",
                limits.AVAILABILITY_BREAKDOWN_CELLS_MAX, len(sku_ids) * len(nodes),
            )
        answer = self._engine.availability(sku_ids, nodes, with_cells, request.view == VIEW_FULL)
        response = availability_pb2.GetAvailabilityResponse(log_position=answer.log_position)
        if with_cells:
            response.node_ids.extend(self._engine.node_ids(nodes))
        self._fill_items(response.items, sku_ids, answer, len(nodes) if with_cells else 0)
        if request.HasField("phasing"):
            self._fill_phasing(response, request.phasing, answer.sku_index, nodes, with_cells)
        return response

    def _fill_phasing(self, response, phasing, sku_index, nodes, with_cells: bool) -> None:
        """Adds per-bucket figures (and the earliest time for wanted_quantity) to every found SKU."""
        start_ns = phasing.start_time.ToNanoseconds() if phasing.HasField("start_time") else self._engine.now_ns()
        bucket_ns = phasing.bucket_duration.ToNanoseconds() if phasing.HasField("bucket_duration") else DAY_NS
        count = phasing.bucket_count
        cells = len(sku_index) * max(len(nodes), 1) * count
        if cells > limits.PHASING_CELLS_MAX:
            raise LimitExceededError("phasing.bucket_count", "PHASING_CELLS_MAX", limits.PHASING_CELLS_MAX, cells)
        boundaries = [start_ns + (k + 1) * bucket_ns for k in range(count)]
        mask = SUPPLY_ALL_KINDS
        if phasing.supply_kinds:
            mask = sum(1 << kind for kind in set(phasing.supply_kinds))
        wanted = phasing.wanted_quantity
        phased = self._engine.phased_availability(sku_index, nodes, boundaries, mask, wanted, with_cells)
        for end_ns in boundaries:
            response.bucket_end_times.add().FromNanoseconds(end_ns)
        totals = phased.totals.tolist()
        node_ids = self._engine.node_ids(nodes)
        for row, item in enumerate(response.items):
            if item.status != OK:
                continue
            item.phased_available_quantities.extend(totals[row])
            if with_cells:
                item.node_phased_available_quantities.extend(phased.cells[row].ravel().tolist())
            if wanted > 0:
                self._set_earliest(item, phased.earliest_ns[row].tolist(), node_ids, start_ns)

    @staticmethod
    def _set_earliest(item, earliest_ns: list[int], node_ids: list[str], start_ns: int) -> None:
        best_ns, best_node = None, ""
        for node_id, time_ns in zip(node_ids, earliest_ns):
            if time_ns == EARLIEST_NEVER:
                continue
            time_ns = start_ns if time_ns == EARLIEST_NOW else max(time_ns, start_ns)
            if best_ns is None or time_ns < best_ns:
                best_ns, best_node = time_ns, node_id
        if best_ns is not None:
            item.earliest_time.FromNanoseconds(best_ns)
            item.earliest_node_id = best_node

    def _validate(self, request) -> None:
        check_count(request.sku_ids, "sku_ids", "AVAILABILITY_SKUS_MAX", minimum=1)
        violations = id_violations(request.sku_ids, "sku_ids")
        # Most lookups have no filter: skip its checks then (this is the hot path).
        if request.node_ids:
            check_count(request.node_ids, "node_ids", "AVAILABILITY_FILTER_NODES_MAX")
            violations += id_violations(request.node_ids, "node_ids")
        if request.node_tags:
            check_count(request.node_tags, "node_tags", "AVAILABILITY_FILTER_TAGS_MAX")
            violations += id_violations(request.node_tags, "node_tags")
        if request.view not in KNOWN_VIEWS:
            violations.append(FieldViolation("view", f"unknown view {request.view}"))
        if request.HasField("phasing"):
            violations += _phasing_violations(request.phasing)
        raise_if_any(violations)

    def _fill_items(self, items, sku_ids, answer, width: int) -> None:
        sku_index = answer.sku_index.tolist()
        totals = answer.totals.tolist()
        cells = answer.cells.tolist()
        buckets = answer.buckets.tolist() if answer.buckets is not None else None
        base_units = self._base_units
        for row, sku_id in enumerate(sku_ids):
            index = sku_index[row]
            if index < 0:
                items.add(sku_id=sku_id, status=SKU_NOT_FOUND)
                continue
            start, stop = row * width, (row + 1) * width
            item = items.add(
                sku_id=sku_id, status=OK, base_unit=base_units[index],
                available_quantity=totals[row], node_available_quantities=cells[start:stop],
            )
            if buckets is not None:
                item.node_on_hand_quantities.extend(buckets[0][start:stop])
                item.node_held_quantities.extend(buckets[1][start:stop])
                item.node_allocated_quantities.extend(buckets[2][start:stop])
                item.node_unavailable_quantities.extend(buckets[3][start:stop])
                item.node_safety_stock_quantities.extend(buckets[4][start:stop])

    async def WatchAvailability(self, request, context):
        await abort_unimplemented(context, "WatchAvailability", "issue 4 (inventory truth)")


def _phasing_violations(phasing) -> list[FieldViolation]:
    violations = []
    if not 1 <= phasing.bucket_count <= limits.PHASING_BUCKETS_MAX:
        violations.append(FieldViolation("phasing.bucket_count", f"must be 1 to {limits.PHASING_BUCKETS_MAX}"))
    if phasing.HasField("bucket_duration"):
        seconds = phasing.bucket_duration.ToNanoseconds() / 1e9
        if not limits.PHASING_BUCKET_SECONDS_MIN <= seconds <= limits.PHASING_BUCKET_SECONDS_MAX:
            violations.append(FieldViolation("phasing.bucket_duration", "must be 1 minute to 366 days"))
    for position, kind in enumerate(phasing.supply_kinds):
        if kind not in KNOWN_SUPPLY_KINDS:
            violations.append(FieldViolation(f"phasing.supply_kinds[{position}]", f"unknown supply kind {kind}"))
    if not 0 <= phasing.wanted_quantity <= limits.QUANTITY_MAX:
        violations.append(FieldViolation("phasing.wanted_quantity", f"must be 0 to {limits.QUANTITY_MAX}"))
    if phasing.HasField("start_time") and phasing.start_time.ToNanoseconds() <= 0:
        violations.append(FieldViolation("phasing.start_time", "must be after 1970"))
    return violations
