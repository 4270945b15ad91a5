"""AvailabilityService: batch availability from the local replica."""

from __future__ import annotations

from dompromise import limits
from dompromise.engine import Engine
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
        return response

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
