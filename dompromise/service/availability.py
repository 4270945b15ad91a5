"""AvailabilityService: batch availability and watches from the local replica."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, NamedTuple

import grpc
import grpc.aio
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from dompromise import limits
from dompromise.errors import FieldViolation, LimitExceededError, OutOfRangeError
from dompromise.inventory.channels import Channel
from dompromise.inventory.engine import (
    EARLIEST_NEVER,
    EARLIEST_NOW,
    SUPPLY_ALL_KINDS,
    AvailabilityAnswer,
    Engine,
    VariantBreakdown,
)
from dompromise.model.attributes import Attributes, canonical
from dompromise.replica.watch import WatchHub
from dompromise.service.errors import map_errors
from dompromise.service.unimplemented import abort_unimplemented
from dompromise.service.validation import (
    NANOS_PER_SECOND,
    check_count,
    duration_ns,
    duration_violations,
    id_violation,
    id_violations,
    raise_if_any,
    time_violations,
    timestamp_ns,
)
from dompromise.v1 import availability_pb2, availability_pb2_grpc, common_pb2

OK = common_pb2.ITEM_STATUS_OK
SKU_NOT_FOUND = common_pb2.ITEM_STATUS_SKU_NOT_FOUND
UNIT_NOT_FOUND = common_pb2.ITEM_STATUS_UNIT_NOT_FOUND
VIEW_FULL = availability_pb2.AVAILABILITY_VIEW_FULL
VIEW_TOTALS = availability_pb2.AVAILABILITY_VIEW_TOTALS
VIEW_UNSPECIFIED = availability_pb2.AVAILABILITY_VIEW_UNSPECIFIED
KNOWN_VIEWS = frozenset(availability_pb2.AvailabilityView.values())
KNOWN_SUPPLY_KINDS = frozenset(k for k in common_pb2.SupplyKind.values() if k)
DAY_NS = 86_400 * 10**9
# Rows of an answer's reasons (the core's order: UnavailableReason numbers - 1).
DAMAGED, QUARANTINED, INSPECTION, DISPLAY = (
    common_pb2.UNAVAILABLE_REASON_DAMAGED - 1,
    common_pb2.UNAVAILABLE_REASON_QUARANTINED - 1,
    common_pb2.UNAVAILABLE_REASON_INSPECTION - 1,
    common_pb2.UNAVAILABLE_REASON_DISPLAY - 1,
)
# Watch messages kept for other streams at the same log position, and the
# largest kept (SKUs x nodes): together they bound the memory (64 encoded messages of
# at most 10,000 cells each: some 30 MB at most, FULL view).
WATCH_SHARED_RESPONSES_MAX = 64
WATCH_SHARED_CELLS_MAX = 10_000
# WatchAvailabilityResponse.availability's tag: field 2, length-delimited.
WATCH_AVAILABILITY_TAG = bytes([2 << 3 | 2])
WATCH_SHUTDOWN_DETAILS = "server shutting down: resume on another server with resume_after_version and resume_log_id"

# GetAvailabilityRequest's fields as ListFields names them (the same descriptor objects).
_SKU_IDS = availability_pb2.GetAvailabilityRequest.DESCRIPTOR.fields_by_name["sku_ids"]
_VIEW = availability_pb2.GetAvailabilityRequest.DESCRIPTOR.fields_by_name["view"]

# The engine's index arrays (a node selection, SKU indices: numpy int32), passed back to it as they came.
# Opaque here: the service layer imports no numpy (tests/test_layers.py) and the inventory layer names
# no type for them yet, so Any stands for numpy.ndarray.
_Indices = Any


class WatchSelection(NamedTuple):
    """What a watch counts of the watched SKUs, besides the view (the filters as the request names them)."""

    node_ids: tuple[str, ...]
    node_tags: tuple[str, ...]
    required: tuple[tuple[str, str], ...]  # canonical required attributes
    with_variants: bool


class AvailabilityServicer(availability_pb2_grpc.AvailabilityServiceServicer):
    def __init__(self, engine: Engine, watches: WatchHub | None = None) -> None:
        self._engine = engine
        self._watches = watches
        # (SKU ids, selection, view, full answer) -> the encoded WatchAvailabilityResponse.
        self._shared_responses: dict[tuple[tuple[str, ...], WatchSelection, int, bool], bytes] = {}
        self._shared_position = -1
        self._shared_log_id = ""
        self._base_units: list[int] = []  # by core row, rebuilt when the catalog changes
        self._base_units_generation = -1

    def _base_units_by_row(self) -> list[int]:
        engine = self._engine
        if self._base_units_generation != engine.network_generation:
            self._base_units = [int(sku.base_unit) if sku is not None else 0 for sku in engine.skus_by_row]
            self._base_units_generation = engine.network_generation
        return self._base_units

    @map_errors
    async def GetAvailability(
        self,
        request: availability_pb2.GetAvailabilityRequest,
        context: grpc.aio.ServicerContext[
            availability_pb2.GetAvailabilityRequest, availability_pb2.GetAvailabilityResponse
        ],
    ) -> availability_pb2.GetAvailabilityResponse:
        return self._answer(request)

    @map_errors
    async def GetAvailabilityBytes(
        self,
        request: availability_pb2.GetAvailabilityRequest,
        context: grpc.aio.ServicerContext[availability_pb2.GetAvailabilityRequest, bytes],
    ) -> bytes:
        """GetAvailability's answer, encoded (the same bytes, the same errors), for a method registered
        without a response serializer (service/pipeline.py RAW_METHODS).

        A plain request (base units; no phasing, channel view, segment, unit or variants) in any view is
        written straight from the core's arrays (dompromise/wire); any other, or one with something wrong
        in it, goes the message path, which says what is wrong.
        """
        encoded = self._plain_bytes(request)
        if encoded is not None:
            return encoded
        return self._answer(request).SerializeToString()

    def _plain_bytes(self, request: availability_pb2.GetAvailabilityRequest) -> bytes | None:
        """The encoded answer of a plain, valid request; None for the message path.

        Errors must be the message path's, in its order: without filters, nothing is raised
        here (the writer checks the SKU ids as id_violations does and gives up on a bad one);
        with filters, the checks are the message path's own, in its order.
        """
        # Most requests set sku_ids and perhaps view, nothing else: one look at the fields set (in number
        # order) tells, where reading each field in turn costs ~0.6 us (a single-SKU answer's writing ~1 us).
        fields = request.ListFields()
        if 0 < len(fields) <= 2 and fields[0][0] is _SKU_IDS and (len(fields) == 1 or fields[1][0] is _VIEW):
            sku_ids = fields[0][1]
            view = fields[1][1] if len(fields) == 2 else VIEW_UNSPECIFIED
            nodes = self._engine.node_selection()
            if (
                len(sku_ids) > limits.AVAILABILITY_SKUS_MAX
                or view not in KNOWN_VIEWS
                or (view != VIEW_TOTALS and len(sku_ids) * len(nodes) > limits.AVAILABILITY_BREAKDOWN_CELLS_MAX)
            ):
                return None  # an error, unless a bad id comes first: the message path says
            return self._engine.availability_bytes(
                sku_ids, nodes, view != VIEW_TOTALS, view == VIEW_FULL, limits.ID_LENGTH_MAX
            )
        return self._filtered_bytes(request)

    def _filtered_bytes(self, request: availability_pb2.GetAvailabilityRequest) -> bytes | None:
        """_plain_bytes of a request setting more than sku_ids and view: with node filters, the encoded answer;
        with anything else, None."""
        if (
            request.HasField("phasing")
            or request.channel_view_id
            or request.customer_segment
            or request.unit
            or request.with_variants
            or len(request.required_attributes)
        ):
            return None
        sku_ids, view = request.sku_ids, request.view
        if not 0 < len(sku_ids) <= limits.AVAILABILITY_SKUS_MAX or view not in KNOWN_VIEWS:
            return None
        id_length_max = limits.ID_LENGTH_MAX  # the writer checks the SKU ids
        if request.node_ids or request.node_tags:
            # The message path's checks, in its order (nothing else comes before them in a plain request).
            raise_if_any(_selection_violations(request, "AVAILABILITY_SKUS_MAX"))
            nodes = self._engine.node_selection(request.node_ids, request.node_tags)
            _check_breakdown(len(sku_ids), len(nodes), view)
            id_length_max = 0  # checked above
        else:
            nodes = self._engine.node_selection()
            if view != VIEW_TOTALS and len(sku_ids) * len(nodes) > limits.AVAILABILITY_BREAKDOWN_CELLS_MAX:
                return None  # RESOURCE_EXHAUSTED, unless a bad id comes first: the message path says
        return self._engine.availability_bytes(sku_ids, nodes, view != VIEW_TOTALS, view == VIEW_FULL, id_length_max)

    def _answer(self, request: availability_pb2.GetAvailabilityRequest) -> availability_pb2.GetAvailabilityResponse:
        """GetAvailability's answer as a message: every request, every check."""
        sku_ids = request.sku_ids
        violations = _selection_violations(request, "AVAILABILITY_SKUS_MAX")
        if request.HasField("phasing"):
            violations += _phasing_violations(request.phasing)
        required: Attributes = ()
        if len(request.required_attributes) or request.with_variants:  # not on the hot path
            violations += self._variant_violations(request)
            required = canonical(request.required_attributes)
        raise_if_any(violations)
        channel: Channel | None = None
        if request.channel_view_id or request.customer_segment or request.unit:  # not on the hot path
            channel = self._channel(request)
        nodes = self._engine.node_selection(request.node_ids, request.node_tags, channel)
        # Through a channel, totals are sums of per-node figures: the cells are built in every view.
        _check_breakdown(len(sku_ids), len(nodes), request.view if channel is None else VIEW_FULL)
        if request.with_variants:
            _check_breakdown(self._engine.variant_row_count(sku_ids, required), len(nodes), request.view)
        response = availability_pb2.GetAvailabilityResponse()
        answer = self._fill_answer(response, sku_ids, nodes, request.view, channel, required, request.with_variants)
        if request.HasField("phasing"):
            self._fill_phasing(
                response, request.phasing, answer.sku_index, nodes, request.view != VIEW_TOTALS, channel, required
            )
        return response

    def _variant_violations(self, request: availability_pb2.GetAvailabilityRequest) -> list[FieldViolation]:
        """required_attributes: declared keys, lengths; with_variants: a view with a breakdown, no channel."""
        violations = self._engine.required_attribute_violations(request.required_attributes, "required_attributes")
        if request.with_variants and request.view == VIEW_TOTALS:
            violations.append(FieldViolation("with_variants", "needs the BASIC or FULL view"))
        if request.with_variants and (request.channel_view_id or request.unit):
            violations.append(FieldViolation("with_variants", "not with channel_view_id or unit"))
        return violations

    def _channel(self, request: availability_pb2.GetAvailabilityRequest) -> Channel:
        """The request's channel view, segment and unit, checked (ids, then the engine's checks)."""
        violations: list[FieldViolation] = []
        for field in ("channel_view_id", "customer_segment", "unit"):
            if getattr(request, field):
                violations += id_violation(getattr(request, field), field)
        raise_if_any(violations)
        channel = self._engine.channel(request.channel_view_id, request.customer_segment, request.unit)
        if channel.view is not None and channel.view.has_exposure_cap and request.view == VIEW_FULL:
            raise_if_any(
                [
                    FieldViolation(
                        "view", f"channel view {request.channel_view_id!r} caps what it shows: BASIC or TOTALS only"
                    )
                ]
            )
        return channel

    def _fill_answer(
        self,
        response: availability_pb2.GetAvailabilityResponse,
        sku_ids: Sequence[str],
        nodes: _Indices,
        view: int,
        channel: Channel | None = None,
        required: Attributes = (),
        with_variants: bool = False,
    ) -> AvailabilityAnswer:
        """Fills an empty GetAvailabilityResponse (no phasing) for these SKUs over these nodes.

        Returns the engine's answer. Shared by GetAvailability and WatchAvailability.
        """
        with_cells = view != VIEW_TOTALS
        answer = self._engine.availability(
            sku_ids, nodes, with_cells, view == VIEW_FULL, channel, required, with_variants
        )
        response.log_position = answer.log_position
        if with_cells:
            response.node_ids.extend(self._engine.node_ids(nodes))
        self._fill_items(response.items, sku_ids, answer, len(nodes) if with_cells else 0)
        return answer

    def _fill_phasing(
        self,
        response: availability_pb2.GetAvailabilityResponse,
        phasing: availability_pb2.TimePhasing,
        sku_index: _Indices,
        nodes: _Indices,
        with_cells: bool,
        channel: Channel | None = None,
        required: Attributes = (),
    ) -> None:
        """Adds per-bucket figures (and the earliest time for wanted_quantity) to every found SKU.

        Through a channel view, buckets ending after its horizon are left out.
        """
        start_ns = timestamp_ns(phasing.start_time) if phasing.HasField("start_time") else self._engine.now_ns()
        bucket_ns = duration_ns(phasing.bucket_duration) if phasing.HasField("bucket_duration") else DAY_NS
        count = phasing.bucket_count
        # Each bound is within its limits; their product may still end past 2200 (or int64, in 2262).
        if start_ns + count * bucket_ns >= limits.TIME_SECONDS_MAX * NANOS_PER_SECOND:
            raise_if_any(
                [
                    FieldViolation(
                        "phasing.bucket_count", "bucket_count x bucket_duration after start_time ends after 2200"
                    )
                ]
            )
        cells = len(sku_index) * max(len(nodes), 1) * count
        if cells > limits.PHASING_CELLS_MAX:
            raise LimitExceededError("phasing.bucket_count", "PHASING_CELLS_MAX", limits.PHASING_CELLS_MAX, cells)
        boundaries = [start_ns + (k + 1) * bucket_ns for k in range(count)]
        mask = SUPPLY_ALL_KINDS
        if phasing.supply_kinds:
            mask = sum(1 << kind for kind in set(phasing.supply_kinds))
        wanted = phasing.wanted_quantity
        if channel is None:
            phased = self._engine.phased_availability(sku_index, nodes, boundaries, mask, wanted, with_cells, required)
        else:
            horizon_end_ns = channel.horizon_end_ns(self._engine.now_ns())
            if horizon_end_ns is not None:
                boundaries = [end_ns for end_ns in boundaries if end_ns <= horizon_end_ns]
                if not boundaries:
                    assert channel.view is not None, "only a view has a horizon"
                    raise_if_any(
                        [
                            FieldViolation(
                                "phasing",
                                "the first bucket ends after the channel view's "
                                f"horizon of {channel.view.view.horizon_days} days",
                            )
                        ]
                    )
            phased = self._engine.channel_phased_availability(
                sku_index, nodes, boundaries, mask, wanted, with_cells, channel, horizon_end_ns, required
            )
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
    def _set_earliest(
        item: availability_pb2.SkuAvailability, earliest_ns: list[int], node_ids: list[str], start_ns: int
    ) -> None:
        best_ns: int | None = None
        best_node = ""
        for node_id, time_ns in zip(node_ids, earliest_ns):
            if time_ns == EARLIEST_NEVER:
                continue
            time_ns = start_ns if time_ns == EARLIEST_NOW else max(time_ns, start_ns)
            if best_ns is None or time_ns < best_ns:
                best_ns, best_node = time_ns, node_id
        if best_ns is not None:
            item.earliest_time.FromNanoseconds(best_ns)
            item.earliest_node_id = best_node

    def _fill_items(
        self,
        items: RepeatedCompositeFieldContainer[availability_pb2.SkuAvailability],
        sku_ids: Sequence[str],
        answer: AvailabilityAnswer,
        width: int,
    ) -> None:
        sku_index = answer.sku_index.tolist()
        totals = answer.totals.tolist()
        cells = answer.cells.tolist()
        buckets = answer.buckets.tolist() if answer.buckets is not None else None
        reasons = answer.reasons.tolist() if answer.reasons is not None else None
        # Through a channel only: the unit's size per SKU (0: it lacks the unit) and low-stock flags.
        unit_sizes = answer.unit_size.tolist() if answer.unit_size is not None else None
        low_stock = answer.low_stock.tolist() if answer.low_stock is not None else None
        base_units = self._base_units_by_row()
        for row, sku_id in enumerate(sku_ids):
            index = sku_index[row]
            if index < 0:
                items.add(sku_id=sku_id, status=SKU_NOT_FOUND)
                continue
            if unit_sizes is not None and not unit_sizes[row]:
                items.add(sku_id=sku_id, status=UNIT_NOT_FOUND, base_unit=base_units[index], unit=answer.unit)
                continue
            start, stop = row * width, (row + 1) * width
            item = items.add(
                sku_id=sku_id,
                status=OK,
                base_unit=base_units[index],
                available_quantity=totals[row],
                node_available_quantities=cells[start:stop],
            )
            if unit_sizes is not None:
                item.unit = answer.unit
            if low_stock is not None and low_stock[row]:
                item.low_stock = True
            if buckets is not None:
                item.node_on_hand_quantities.extend(buckets[0][start:stop])
                item.node_held_quantities.extend(buckets[1][start:stop])
                item.node_allocated_quantities.extend(buckets[2][start:stop])
                item.node_unavailable_quantities.extend(buckets[3][start:stop])
                item.node_safety_stock_quantities.extend(buckets[4][start:stop])
            if reasons is not None:
                item.node_damaged_quantities.extend(reasons[DAMAGED][start:stop])
                item.node_quarantined_quantities.extend(reasons[QUARANTINED][start:stop])
                item.node_inspection_quantities.extend(reasons[INSPECTION][start:stop])
                item.node_display_quantities.extend(reasons[DISPLAY][start:stop])
        if answer.variants is not None:
            _fill_variants(items, answer.variants, sku_index, width)

    @map_errors
    async def WatchAvailability(
        self,
        request: availability_pb2.WatchAvailabilityRequest,
        # The answers go out encoded (bytes): service/pipeline.py RAW_METHODS.
        context: grpc.aio.ServicerContext[availability_pb2.WatchAvailabilityRequest, bytes],
    ) -> AsyncIterator[bytes]:
        """The current state of the watched SKUs, then their changes, coalesced (see dompromise/replica/watch.py).

        Yields encoded messages: service/pipeline.py registers the method without a serializer.
        """
        if self._watches is None:  # a servicer without a replica (in-process benchmarks)
            await abort_unimplemented(context, "WatchAvailability without a replica", "serve with a replica")
        violations = _selection_violations(request, "WATCH_SKUS_MAX")
        if request.resume_after_version < 0:
            violations.append(FieldViolation("resume_after_version", "must be >= 0"))
        if len(request.resume_log_id) > limits.LOG_ID_LENGTH_MAX:
            violations.append(FieldViolation("resume_log_id", f"at most {limits.LOG_ID_LENGTH_MAX} characters"))
        required: Attributes = ()
        with_variants = request.with_variants
        if len(request.required_attributes) or with_variants:
            violations += self._engine.required_attribute_violations(request.required_attributes, "required_attributes")
            if with_variants and request.view == VIEW_TOTALS:
                violations.append(FieldViolation("with_variants", "needs the BASIC or FULL view"))
            required = canonical(request.required_attributes)
        raise_if_any(violations)
        engine, view = self._engine, request.view
        node_ids, node_tags = list(request.node_ids), list(request.node_tags)
        # At one log position, this names the nodes and what is counted of them.
        selection = WatchSelection(tuple(node_ids), tuple(node_tags), required, with_variants)
        sku_ids = list(dict.fromkeys(request.sku_ids))  # a SKU named twice is watched once
        nodes = engine.node_selection(node_ids, node_tags)
        _check_breakdown(len(sku_ids), len(nodes), view)
        if with_variants:
            _check_breakdown(engine.variant_row_count(sku_ids, required), len(nodes), view)
        resume_after = request.resume_after_version
        log_id = self._watches.log_id
        if request.resume_log_id and request.resume_log_id != log_id:
            # The version counts in another log (this one was started anew): it
            # says nothing of what the client has. Start over with a full answer,
            # which replaces everything it had, rather than fail: that is what
            # the client would do next anyway, one round trip later.
            resume_after = 0
        if resume_after > engine.log_position:
            raise OutOfRangeError(
                "resume_after_version",
                "VERSION_NOT_REACHED",
                f"{resume_after} is ahead of this replica's log position {engine.log_position}; resume with 0",
            )
        if self._watches.closed:
            await context.abort(grpc.StatusCode.UNAVAILABLE, WATCH_SHUTDOWN_DETAILS)
        # Subscribing and the first answer happen with no await between: every
        # batch applied after that answer marks this watcher.
        watcher = self._watches.subscribe(engine.sku_indices(sku_ids))
        try:
            if resume_after == 0 or resume_after < engine.log_position:
                yield self._watch_response(sku_ids, nodes, selection, view, True, log_id)
            while True:
                change = await watcher.next_change()
                if change is None:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, WATCH_SHUTDOWN_DETAILS)
                everything, positions = change
                if self._watches.log_id != log_id:
                    # The log id changed (Redis lost records, their positions now count in the new id):
                    # what the client has says nothing in the new one. A full answer replaces it.
                    log_id, everything = self._watches.log_id, True
                if everything:  # node status changed (the selection may have too), or the history did
                    nodes = engine.node_selection(node_ids, node_tags)
                    _check_breakdown(len(sku_ids), len(nodes), view)
                    yield self._watch_response(sku_ids, nodes, selection, view, True, log_id)
                else:
                    yield self._watch_response([sku_ids[p] for p in positions], nodes, selection, view, False, log_id)
        finally:
            self._watches.unsubscribe(watcher)

    def _watch_response(
        self,
        sku_ids: Sequence[str],
        nodes: _Indices,
        selection: WatchSelection,
        view: int,
        full_answer: bool,
        log_id: str,
    ) -> bytes:
        """The encoded message for these SKUs at the current log position, built once for every stream that asks
        the same.

        A popular SKU's change wakes many streams at one position: they share
        one message, encoded once (the method's response serializer is the
        identity: service/pipeline.py RAW_METHODS). Only the current position's are kept.
        """
        position = self._engine.log_position
        shareable = len(sku_ids) * max(len(nodes), 1) <= WATCH_SHARED_CELLS_MAX
        if shareable:
            if position != self._shared_position or log_id != self._shared_log_id:
                self._shared_responses.clear()
                self._shared_position, self._shared_log_id = position, log_id
            key = (tuple(sku_ids), selection, view, full_answer)
            encoded = self._shared_responses.get(key)
            if encoded is not None:
                return encoded
        encoded = self._watch_bytes(sku_ids, nodes, selection, view, full_answer, log_id, position)
        if shareable and len(self._shared_responses) < WATCH_SHARED_RESPONSES_MAX:
            self._shared_responses[key] = encoded
        return encoded

    def _watch_bytes(
        self,
        sku_ids: Sequence[str],
        nodes: _Indices,
        selection: WatchSelection,
        view: int,
        full_answer: bool,
        log_id: str,
        position: int,
    ) -> bytes:
        """The encoded WatchAvailabilityResponse: its availability written from the core's arrays when the
        selection is plain (no required attributes, no variants), else through the message."""
        availability = None
        if sku_ids and not selection.required and not selection.with_variants:
            # The ids were checked when the stream began (id_length_max 0: no check again).
            availability = self._engine.availability_bytes(sku_ids, nodes, view != VIEW_TOTALS, view == VIEW_FULL)
        if availability is None:
            response = availability_pb2.WatchAvailabilityResponse(
                version=position, full_answer=full_answer, log_id=log_id
            )
            self._fill_answer(
                response.availability, sku_ids, nodes, view, None, selection.required, selection.with_variants
            )
            return response.SerializeToString()
        # The fields in number order, as the message would be: version (1), availability (2), then
        # full_answer (3) and log_id (4).
        version = availability_pb2.WatchAvailabilityResponse(version=position).SerializeToString()
        rest = availability_pb2.WatchAvailabilityResponse(full_answer=full_answer, log_id=log_id).SerializeToString()
        return version + WATCH_AVAILABILITY_TAG + _varint(len(availability)) + availability + rest


def _varint(value: int) -> bytes:
    """A non-negative int as a protobuf varint: 7 bits a byte, low first, the high bit set on all but the last."""
    assert value >= 0, "lengths only"
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fill_variants(
    items: RepeatedCompositeFieldContainer[availability_pb2.SkuAvailability],
    variants: VariantBreakdown,
    sku_index: list[int],
    width: int,
) -> None:
    """Each found SKU's rows: attributes, total and per-node figures (with_variants)."""
    totals, cells, starts = variants.totals.tolist(), variants.cells.tolist(), variants.starts.tolist()
    rows = variants.rows.tolist()
    ends = starts[1:] + [len(rows)]
    for item, index, start, end in zip(items, sku_index, starts, ends):
        if index < 0:
            continue
        for row in range(start, end):
            if rows[row] < 0:  # no row matches the required attributes
                continue
            item.variants.add(
                attributes=dict(variants.attributes[row]),
                available_quantity=totals[row],
                node_available_quantities=cells[row * width : (row + 1) * width],
            )


def _selection_violations(
    request: availability_pb2.GetAvailabilityRequest | availability_pb2.WatchAvailabilityRequest, skus_limit_name: str
) -> list[FieldViolation]:
    """What GetAvailability and WatchAvailability check alike: ids, filters, view."""
    check_count(request.sku_ids, "sku_ids", skus_limit_name, minimum=1)
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
    return violations


def _check_breakdown(sku_count: int, node_count: int, view: int) -> None:
    """RESOURCE_EXHAUSTED when a per-node breakdown would be over AVAILABILITY_BREAKDOWN_CELLS_MAX."""
    if view != VIEW_TOTALS and sku_count * node_count > limits.AVAILABILITY_BREAKDOWN_CELLS_MAX:
        raise LimitExceededError(
            "sku_ids",
            "AVAILABILITY_BREAKDOWN_CELLS_MAX",
            limits.AVAILABILITY_BREAKDOWN_CELLS_MAX,
            sku_count * node_count,
        )


def _phasing_violations(phasing: availability_pb2.TimePhasing) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    if not 1 <= phasing.bucket_count <= limits.PHASING_BUCKETS_MAX:
        violations.append(FieldViolation("phasing.bucket_count", f"must be 1 to {limits.PHASING_BUCKETS_MAX}"))
    if phasing.HasField("bucket_duration"):
        violations += duration_violations(
            phasing.bucket_duration,
            "phasing.bucket_duration",
            limits.PHASING_BUCKET_SECONDS_MIN,
            limits.PHASING_BUCKET_SECONDS_MAX,
        )
    for position, kind in enumerate(phasing.supply_kinds):
        if kind not in KNOWN_SUPPLY_KINDS:
            violations.append(FieldViolation(f"phasing.supply_kinds[{position}]", f"unknown supply kind {kind}"))
    if not 0 <= phasing.wanted_quantity <= limits.QUANTITY_MAX:
        violations.append(FieldViolation("phasing.wanted_quantity", f"must be 0 to {limits.QUANTITY_MAX}"))
    if phasing.HasField("start_time"):
        violations += time_violations(phasing.start_time, "phasing.start_time")
    return violations
