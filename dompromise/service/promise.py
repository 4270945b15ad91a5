"""PromiseService: delivery options from the local replica, with signed promise tokens."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypedDict, cast

import grpc
import grpc.aio
from google.protobuf import timestamp_pb2

from dompromise import limits
from dompromise.errors import FailedPreconditionError, FieldViolation, NotFoundError
from dompromise.inventory.engine import Engine
from dompromise.model.attributes import Attributes, canonical
from dompromise.promise.answer import RowAnswer
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.engine import PromiseEngine
from dompromise.promise.token import TokenBatch, TokenSigner, order_tail
from dompromise.promise.types import FillPolicy, Method, Option, PromiseAnswer, PromiseRequest, Sourcing
from dompromise.service.errors import map_errors
from dompromise.service.validation import (
    VIOLATIONS_LISTED_MAX,
    base_quantities,
    check_count,
    id_violation,
    raise_if_any,
    time_violations,
    timestamp_ns,
)
from dompromise.v1 import promise_pb2, promise_pb2_grpc
from dompromise.wire.promise import promise_response, promise_response_rows
from dompromise.wire.promise_request import PromiseRequestRead, PromiseRequestResolver

NS_PER_SECOND = 10**9
# Built once: iterating an Enum class costs microseconds per request.
METHODS_ALL = frozenset(Method)
METHOD_VALUES: frozenset[int] = frozenset((Method.SHIP, Method.PICKUP, Method.DROP_SHIP))
FILL_POLICY_VALUES = frozenset((0, *FillPolicy))
SOURCING_VALUES = frozenset((0, *Sourcing))
# A checked request's numbers as the enums (0: the default), by lookup: calling an Enum class costs more.
METHOD_OF = {int(method): method for method in Method}
FILL_POLICY_OF = {0: FillPolicy.FILL_OR_KILL, **{int(policy): policy for policy in FillPolicy}}
SOURCING_OF = {0: Sourcing.ORDER_LEVEL, **{int(mode): mode for mode in Sourcing}}
# The same, as the request reader takes them (wire/promise_request.pyx): the methods allowed per set of methods
# named (bit m - 1 for method m; none named: all), the policies and modes by number.
METHOD_SETS = tuple(
    frozenset(method for method in Method if bits & 1 << (method - 1)) or METHODS_ALL for bits in range(8)
)
FILL_POLICIES = tuple(FILL_POLICY_OF[number] for number in range(len(FILL_POLICY_OF)))
SOURCINGS = tuple(SOURCING_OF[number] for number in range(len(SOURCING_OF)))
# PromiseRequestResolver.resolve as the Promiser calls it.
ResolveRead = Callable[[PromiseRequestRead], PromiseRequest | None]
SERVICE = promise_pb2.DESCRIPTOR.services_by_name["PromiseService"]
# Postal codes whose zone is kept per network (the client's text: bounded).
POSTAL_CODES_KEPT = 4096
# Distinct request options whose token JSON is kept (a tier is the client's text: bounded).
OPTIONS_TEXTS_KEPT = 256
# Distinct orders (lines, destination, options) whose part of a token's payload is kept (the client's text: bounded),
# and the most lines an order may have to be kept (a bigger one's part is written each time: the cache stays small).
ORDER_TAILS_KEPT = 1024
ORDER_TAIL_LINES_MAX = 64
# The JSON a token's options are written in (token.py's: compact, ASCII).
OPTIONS_JSON = json.JSONEncoder(separators=(",", ":"))


class RequestOptions(TypedDict, total=False):
    """request_options(): PromiseRequest keyword arguments read back from a token's options."""

    fill_policy: FillPolicy
    min_fill_percent: int
    max_shipments: int
    sourcing: Sourcing
    methods: frozenset[Method]
    allow_future_supply: bool
    customer_tier: str
    max_options: int
    channel_view_id: str
    customer_segment: str
    split_lines: bool
    required_attributes: tuple[tuple[str, Attributes], ...]


class Promiser:
    """Requests in proto terms -> PromiseEngine -> answers with tokens. Shared by
    PromiseService and ReserveInventory(promise_token), which promises again
    when a token's plan no longer holds."""

    def __init__(self, engine: Engine, signer: TokenSigner, clock_ns: Callable[[], int]) -> None:
        self._network_engine = engine
        self._signer = signer
        self._clock_ns = clock_ns
        self._options_texts: dict[tuple[object, ...], str] = {}  # see _options_json
        self._order_tails: dict[tuple[object, ...], bytes] = {}  # see _batch
        self._build()

    def _build(self) -> None:
        """The promise engine and EDT tables of the engine's network as it is now."""
        engine = self._network_engine
        transport = engine.network.transport
        self._edt = EdtCalculator(engine.network) if transport is not None else None
        self._engine = PromiseEngine(engine, self._edt) if self._edt is not None else None
        self._currency = transport.currency if transport is not None else ""
        self._zone_ids = frozenset(zone.zone_id for zone in transport.zones) if transport is not None else frozenset()
        # (postal code, country) -> its zone (None: none), as the EDT tables' zone index says: a front asks
        # for the same postal codes again and again.
        self._zones_by_postal_code: dict[tuple[str, str], str | None] = {}
        # request_of for a request read from its bytes, on this network (None: no transport, request_of refuses).
        self._resolve: ResolveRead | None = None
        if self._engine is not None:
            resolver = PromiseRequestResolver(
                PromiseRequest,
                engine.sku,
                engine.unit_size,
                self._zone_ids,
                self._zones_by_postal_code,
                engine.node,
                self._clock_ns,
                METHOD_SETS,
                FILL_POLICIES,
                SOURCINGS,
                limits.PROMISE_OPTIONS_DEFAULT,
            )
            self._resolve = cast(ResolveRead, resolver.resolve)  # it builds PromiseRequest (wire cannot name it)
        self._generation = engine.network_generation

    def _current(self) -> None:
        """Rebuilds after the network or catalog changed (a log command, between two requests)."""
        if self._generation != self._network_engine.network_generation:
            self._build()

    @property
    def signer(self) -> TokenSigner:
        return self._signer

    @property
    def engine(self) -> Engine:
        return self._network_engine

    def request_of(self, message: promise_pb2.PromiseDeliveryRequest) -> PromiseRequest:
        """Checks the request (every bad field at once) and resolves its destination."""
        lines, read, times_ns = _validate(message)
        self._current()
        if self._engine is None:
            raise FailedPreconditionError("NO_TRANSPORT", "the network has no transport section: nothing to promise")
        sku_ids = tuple(read.sku_ids)
        sku = self._network_engine.sku
        for position, sku_id in enumerate(sku_ids):
            if sku(sku_id) is None:
                raise NotFoundError("sku", sku_id, f"lines[{position}].sku_id")
        # Lines in base units already unless one names a unit (converted and checked by base_quantities).
        quantities = base_quantities(self._network_engine, lines) if read.any_unit else read.quantities
        required = self._required_attributes(lines)
        # A segment describes the customer; it selects protected stock only through a view (without one
        # there is nothing to check: a segment is read only with a view).
        segment = ""
        if message.channel_view_id:
            segment = message.customer.segment
            self._network_engine.channel(message.channel_view_id, segment, segment_field="customer.segment")
        as_of_ns = times_ns["as_of_time"] if "as_of_time" in times_ns else self._clock_ns()
        return PromiseRequest(
            sku_ids=sku_ids,
            quantities=tuple(quantities),
            as_of_ns=as_of_ns,
            zone_id=self._zone(message),
            pickup_node_id=self._pickup(message),
            methods=frozenset([METHOD_OF[m] for m in message.delivery_methods]) or METHODS_ALL,
            fill_policy=FILL_POLICY_OF[message.fill_policy],
            min_fill_percent=message.min_fill_percent or 1,
            max_shipments=message.max_shipments or 1,
            sourcing=SOURCING_OF[message.sourcing_mode],
            allow_future_supply=not message.stock_on_hand_only,
            deliver_after_ns=times_ns.get("deliver_after_time", 0),
            deliver_before_ns=times_ns.get("deliver_before_time", 0),
            max_options=message.max_options or limits.PROMISE_OPTIONS_DEFAULT,
            customer_tier=message.customer.tier,
            channel_view_id=message.channel_view_id,
            customer_segment=segment,
            required_attributes=required,
            split_lines=message.split_lines,
        )

    def request_of_read(self, read: PromiseRequestRead) -> PromiseRequest | None:
        """request_of for a request read from its bytes (wire/promise_request.pyx): the same PromiseRequest, or
        None for one the reader leaves to request_of (decode read.data and ask it: it answers as ever, errors
        included)."""
        if self._generation != self._network_engine.network_generation:  # _current(), inline: a call less
            self._build()
        resolve = self._resolve
        return None if resolve is None else resolve(read)

    def _required_attributes(self, lines: Sequence[promise_pb2.OrderLine]) -> tuple[tuple[str, Attributes], ...]:
        """(sku_id, values) of the SKUs whose lines require attribute values; every problem
        named lines[i].required_attributes(.<key>)."""
        if not any([line.required_attributes for line in lines]):
            return ()  # the usual order: no line requires values, so none can require other values
        required: dict[str, Attributes] = {}
        violations: list[FieldViolation] = []
        for position, line in enumerate(lines):
            field = f"lines[{position}].required_attributes"
            values = canonical(line.required_attributes)
            if values:
                violations += self._network_engine.attribute_violations(line.sku_id, line.required_attributes, field)
            if required.setdefault(line.sku_id, values) != values:
                violations.append(
                    FieldViolation(field, f"an earlier line of SKU {line.sku_id!r} requires other values")
                )
        raise_if_any(violations)
        return tuple((sku_id, values) for sku_id, values in required.items() if values)

    def _zone(self, message: promise_pb2.PromiseDeliveryRequest) -> str | None:
        if message.zone_id:
            if message.zone_id not in self._zone_ids:
                raise NotFoundError("zone", message.zone_id, "zone_id")
            return message.zone_id
        if message.postal_code:
            assert self._edt is not None, "request_of refuses a network without transport first"
            key = (message.postal_code, message.country_code)
            zone = self._zones_by_postal_code.get(key, "")
            if zone == "":  # not looked up yet ("" is no zone id)
                if len(self._zones_by_postal_code) >= POSTAL_CODES_KEPT:
                    self._zones_by_postal_code.clear()
                zone = self._zones_by_postal_code[key] = self._edt.zone_for_postal_code(*key)
            if zone is None:
                raise NotFoundError("zone", f"postal code {message.postal_code}", "postal_code")
            return zone
        return None

    def _pickup(self, message: promise_pb2.PromiseDeliveryRequest) -> str | None:
        if not message.pickup_node_id:
            return None
        if self._network_engine.node(message.pickup_node_id) is None:
            raise NotFoundError("node", message.pickup_node_id, "pickup_node_id")
        return message.pickup_node_id

    def promise(self, request: PromiseRequest) -> PromiseAnswer:
        assert self._engine is not None, "request_of refuses a network without transport first"
        return self._engine.promise(request)

    def promise_rows(self, request: PromiseRequest) -> RowAnswer:
        """promise(request), its kernel rows not built as Options (for response_bytes)."""
        assert self._engine is not None, "request_of refuses a network without transport first"
        return self._engine.promise_rows(request)

    def response(self, request: PromiseRequest, answer: PromiseAnswer) -> promise_pb2.PromiseDeliveryResponse:
        response = promise_pb2.PromiseDeliveryResponse(zone_id=request.zone_id or "", log_position=answer.log_position)
        response.as_of_time.FromNanoseconds(request.as_of_ns)
        # From the server's clock, never the client's as_of: a what-if promise is no longer-lived token.
        expire_ns = self._clock_ns() + limits.PROMISE_TOKEN_TTL_SECONDS * NS_PER_SECOND
        if answer.options:
            # The options' tokens differ only in their holds: the rest is encoded once.
            tokens = self._signer.batch(
                expire_ns,
                answer.log_position,
                answer.sku_ids,
                answer.quantities,
                request.zone_id or "",
                request.pickup_node_id or "",
                token_options(request),
            )
            options = response.options
            for option in answer.options:
                self._add_option(options.add(), option, request.as_of_ns, tokens)
        candidates = response.candidates
        for candidate in answer.candidates:
            added = candidates.add()
            added.node_id = candidate.node_id
            added.reason = cast(promise_pb2.CandidateReason, candidate.reason)  # equal numbers (tested)
            added.detail = candidate.detail
        return response

    def response_bytes(self, request: PromiseRequest, answer: PromiseAnswer | RowAnswer) -> bytes:
        """response(request, answer).SerializeToString(), written by the compiled encoder (wire/promise.pyx):
        the same bytes, tokens signed over the same holds. A RowAnswer's options are written from the kernel's
        arrays (promise_rows)."""
        if isinstance(answer, RowAnswer):
            call = answer.call
            return promise_response_rows(
                call.scan,
                answer.kept,
                call.sku_ids,
                answer.node_ids,
                call.destination.routes,
                answer.candidates,
                request.zone_id or "",
                request.as_of_ns,
                answer.log_position,
                self._currency,
                self._batch(request, answer) if answer.kept else None,
            )
        return promise_response(
            answer.options,
            answer.candidates,
            request.zone_id or "",
            request.as_of_ns,
            answer.log_position,
            self._currency,
            None,
            self._batch(request, answer) if answer.options else None,
        )

    def _batch(self, request: PromiseRequest, answer: PromiseAnswer | RowAnswer) -> TokenBatch:
        """The signer of the answer's tokens, which expire PROMISE_TOKEN_TTL_SECONDS from now by the server's
        clock (never the client's as_of: a what-if promise is no longer-lived token)."""
        expire_ns = self._clock_ns() + limits.PROMISE_TOKEN_TTL_SECONDS * NS_PER_SECOND
        options_json = self._options_json(request)  # the options' text: it keys them as the tokens write them
        if len(answer.sku_ids) > ORDER_TAIL_LINES_MAX:
            return self._signer.batch_of_order(
                expire_ns, answer.log_position, self._order_tail(request, answer, options_json)
            )
        key = (tuple(answer.sku_ids), tuple(answer.quantities), request.zone_id, request.pickup_node_id, options_json)
        order = self._order_tails.get(key)
        if order is None:  # the order's part of every token's payload, written once per distinct order
            if len(self._order_tails) >= ORDER_TAILS_KEPT:
                self._order_tails.clear()
            order = self._order_tails[key] = self._order_tail(request, answer, options_json)
        return self._signer.batch_of_order(expire_ns, answer.log_position, order)

    def _order_tail(self, request: PromiseRequest, answer: PromiseAnswer | RowAnswer, options_json: str) -> bytes:
        """The order's part of its tokens' payloads (token.order_tail)."""
        return order_tail(
            answer.sku_ids,
            answer.quantities,
            request.zone_id or "",
            request.pickup_node_id or "",
            options_json,
        )

    def _options_json(self, request: PromiseRequest) -> str:
        """token_options(request) as the token's JSON text, encoded once per distinct options (most requests
        of a front share them)."""
        key = (
            request.fill_policy,
            request.min_fill_percent,
            request.max_shipments,
            request.sourcing,
            request.methods,
            request.allow_future_supply,
            request.customer_tier,
            request.max_options,
            request.channel_view_id,
            request.customer_segment,
            request.split_lines,
            request.required_attributes,
        )
        found = self._options_texts.get(key)
        if found is None:
            if len(self._options_texts) >= OPTIONS_TEXTS_KEPT:
                self._options_texts.clear()
            found = self._options_texts[key] = OPTIONS_JSON.encode(token_options(request))
        return found

    def _add_option(
        self, message: promise_pb2.DeliveryOption, option: Option, as_of_ns: int, tokens: TokenBatch
    ) -> None:
        # Method's numbers are the proto's DeliveryMethod (see service/convert.py on casting them).
        message.method = cast(promise_pb2.DeliveryMethod, option.method)
        message.cost_minor = option.cost_minor
        message.currency = self._currency
        message.fill_percent = option.fill_percent
        message.score = option.score
        _set_time(message.earliest_delivery_time, option.earliest_ns)
        _set_time(message.latest_delivery_time, option.latest_ns)
        for sku_id, quantity in option.short_lines:
            message.short_lines.add(sku_id=sku_id, quantity=quantity)
        # The token's holds, [sku_id, node_id, quantity, backorder_by_ns]: what to reserve for each line, at
        # its source node when consolidated; a line from future supply is a backorder due when it arrives.
        holds: list[list[str | int]] = []
        shipments = message.shipments
        for shipment in option.shipments:
            planned = shipments.add()
            planned.node_id = node_id = shipment.node_id
            planned.method = cast(promise_pb2.DeliveryMethod, shipment.method)
            planned.carrier_service = shipment.service
            planned.via_node_id = shipment.via_node_id
            planned.cost_minor = shipment.cost_minor
            _set_time(planned.earliest_delivery_time, shipment.earliest_ns)
            _set_time(planned.latest_delivery_time, shipment.latest_ns)
            if shipment.departure_ns is not None:
                _set_time(planned.departure_time, shipment.departure_ns)
            lines = planned.lines
            for line in shipment.lines:
                added = lines.add()
                added.sku_id = sku_id = line.sku_id
                added.quantity = quantity = line.quantity
                source_node_id = line.source_node_id
                if source_node_id:
                    added.source_node_id = source_node_id
                    ready_ns = line.source_ready_ns
                    holds.append([sku_id, source_node_id, quantity, ready_ns if ready_ns > as_of_ns else 0])
                else:
                    holds.append([sku_id, node_id, quantity, line.ready_ns if line.ready_ns > as_of_ns else 0])
                if line.ready_ns > as_of_ns:
                    _set_time(added.available_time, line.ready_ns)
        message.promise_token = tokens.sign(holds)


class PromiseServicer(promise_pb2_grpc.PromiseServiceServicer):
    def __init__(self, promiser: Promiser) -> None:
        self._promiser = promiser

    @map_errors
    async def PromiseDelivery(
        self,
        request: promise_pb2.PromiseDeliveryRequest,
        context: grpc.aio.ServicerContext[promise_pb2.PromiseDeliveryRequest, promise_pb2.PromiseDeliveryResponse],
    ) -> promise_pb2.PromiseDeliveryResponse:
        promise_request = self._promiser.request_of(request)
        answer = self._promiser.promise(promise_request)
        return self._promiser.response(promise_request, answer)

    @map_errors
    async def PromiseDeliveryBytes(
        self,
        request: promise_pb2.PromiseDeliveryRequest | PromiseRequestRead,
        context: grpc.aio.ServicerContext[promise_pb2.PromiseDeliveryRequest, bytes],
    ) -> bytes:
        """PromiseDelivery's answer as wire bytes: the same checks and errors, the same bytes as its message
        serialized (served with no response serializer: service/pipeline.py RAW_METHODS). The pipeline hands it
        the common request as read from its bytes (wire/promise_request.pyx), any other decoded."""
        promiser = self._promiser
        if type(request) is PromiseRequestRead:
            promise_request = promiser.request_of_read(request)
            if promise_request is None:  # left to request_of: its answer, or its error
                promise_request = promiser.request_of(promise_pb2.PromiseDeliveryRequest.FromString(request.data))
        else:
            promise_request = promiser.request_of(request)
        answer = promiser.promise_rows(promise_request)
        return promiser.response_bytes(promise_request, answer)


def token_options(request: PromiseRequest) -> dict[str, object]:
    """The request's options a fresh promise must keep (JSON-ready)."""
    return {
        "fill_policy": int(request.fill_policy),
        "min_fill_percent": request.min_fill_percent,
        "max_shipments": request.max_shipments,
        "sourcing": int(request.sourcing),
        "methods": sorted(int(m) for m in request.methods),
        "allow_future_supply": request.allow_future_supply,
        "customer_tier": request.customer_tier,
        "max_options": request.max_options,
        "channel_view_id": request.channel_view_id,
        "customer_segment": request.customer_segment,
        "split_lines": request.split_lines,
        "required_attributes": [
            [sku_id, [list(pair) for pair in values]] for sku_id, values in request.required_attributes
        ],
    }


def request_options(options: Mapping[str, Any]) -> RequestOptions:
    """PromiseRequest keyword arguments from token_options() (decoded from a token's JSON: any shape
    a token of this or an older server carries, hence Any)."""
    if not options:
        return {}
    return {
        "fill_policy": FillPolicy(options["fill_policy"]),
        "min_fill_percent": int(options["min_fill_percent"]),
        "max_shipments": int(options["max_shipments"]),
        "sourcing": Sourcing(options["sourcing"]),
        "methods": frozenset(Method(m) for m in options["methods"]),
        "allow_future_supply": bool(options["allow_future_supply"]),
        "customer_tier": str(options["customer_tier"]),
        "max_options": int(options["max_options"]),
        # Tokens signed before promises had views carry none.
        "channel_view_id": str(options.get("channel_view_id", "")),
        "customer_segment": str(options.get("customer_segment", "")),
        "split_lines": bool(options.get("split_lines", False)),
        "required_attributes": required_attributes_of(options),
    }


def required_attributes_of(options: Mapping[str, Any]) -> tuple[tuple[str, Attributes], ...]:
    """PromiseRequest.required_attributes from token_options() (none in older tokens)."""
    return tuple(
        (str(sku_id), tuple((str(key), str(value)) for key, value in values))
        for sku_id, values in options.get("required_attributes", ())
    )


def _set_time(timestamp: timestamp_pb2.Timestamp, ns: int) -> None:
    """timestamp.FromNanoseconds(ns) (the same seconds and nanos) without its call and its year 1-9999
    check: the engine's times come from its calendars."""
    seconds, nanos = divmod(ns, NS_PER_SECOND)
    timestamp.seconds = seconds
    timestamp.nanos = nanos


class LinesRead(NamedTuple):
    """What _validate read of the lines (every read of a message field is a call into protobuf)."""

    sku_ids: list[str]
    quantities: list[int]  # as given, in the line's unit
    any_unit: bool  # some line names a unit (its quantity is converted to base units)


def _validate(
    message: promise_pb2.PromiseDeliveryRequest,
) -> tuple[list[promise_pb2.OrderLine], LinesRead, dict[str, int]]:
    """Every bad field of the request at once; returns list(message.lines), read once
    (each access to message.lines wraps every line again), their fields as read here, and the times it sets,
    in ns by field name."""
    check_count(message.lines, "lines", "PROMISE_LINES_MAX", minimum=1)
    lines = list(message.lines)
    violations: list[FieldViolation] = []
    longest, quantity_max = limits.ID_LENGTH_MAX, limits.QUANTITY_MAX
    sku_ids: list[str] = []
    quantities: list[int] = []
    any_unit = False
    for position, line in enumerate(lines):
        sku_id, quantity = line.sku_id, line.quantity
        sku_ids.append(sku_id)
        quantities.append(quantity)
        any_unit = any_unit or bool(line.unit)
        # id_violation's own test, inline for the usual good id.
        if not (0 < len(sku_id) <= longest and sku_id.isprintable() and " " not in sku_id):
            violations += id_violation(sku_id, f"lines[{position}].sku_id")
        if not 0 < quantity <= quantity_max:
            violations.append(FieldViolation(f"lines[{position}].quantity", f"must be 1 to {quantity_max}"))
        if len(violations) >= VIOLATIONS_LISTED_MAX:
            break
    # Each field read once: every read of a message field is a call into protobuf.
    postal_code, zone_id = message.postal_code, message.zone_id
    if not (postal_code or zone_id or message.pickup_node_id):
        violations.append(FieldViolation("postal_code", "give postal_code, zone_id or pickup_node_id"))
    if len(postal_code) > limits.POSTAL_CODE_LENGTH_MAX:
        violations.append(FieldViolation("postal_code", f"longer than {limits.POSTAL_CODE_LENGTH_MAX} characters"))
    if len(message.country_code) > limits.COUNTRY_CODE_LENGTH_MAX:
        violations.append(FieldViolation("country_code", "an ISO 3166-1 alpha-2 code (2 letters)"))
    if postal_code and zone_id:
        violations.append(FieldViolation("zone_id", "give postal_code or zone_id, not both"))
    methods = message.delivery_methods
    if methods:
        for position, method in enumerate(methods):
            if method not in METHOD_VALUES:
                violations.append(FieldViolation(f"delivery_methods[{position}]", f"unknown method {method}"))
    if message.fill_policy not in FILL_POLICY_VALUES:
        violations.append(FieldViolation("fill_policy", f"unknown policy {message.fill_policy}"))
    if message.sourcing_mode not in SOURCING_VALUES:
        violations.append(FieldViolation("sourcing_mode", f"unknown mode {message.sourcing_mode}"))
    if not 0 <= message.min_fill_percent <= 100:
        violations.append(FieldViolation("min_fill_percent", "must be 0 to 100"))
    if not 0 <= message.max_shipments <= limits.PROMISE_OPTIONS_MAX:
        violations.append(FieldViolation("max_shipments", f"must be 0 to {limits.PROMISE_OPTIONS_MAX}"))
    if not 0 <= message.max_options <= limits.PROMISE_OPTIONS_MAX:
        violations.append(FieldViolation("max_options", f"must be 0 to {limits.PROMISE_OPTIONS_MAX}"))
    times_ns: dict[str, int] = {}
    has_field = message.HasField
    for name in ("as_of_time", "deliver_after_time", "deliver_before_time"):
        if has_field(name):
            timestamp = getattr(message, name)
            violations += time_violations(timestamp, name)
            times_ns[name] = timestamp_ns(timestamp)
    after, before = times_ns.get("deliver_after_time", 0), times_ns.get("deliver_before_time", 0)
    if after and before and before < after:
        violations.append(FieldViolation("deliver_before_time", "is before deliver_after_time"))
    as_of = times_ns.get("as_of_time", 0)
    if before and as_of and before < as_of:
        violations.append(FieldViolation("deliver_before_time", "is before as_of_time"))
    raise_if_any(violations)
    return lines, LinesRead(sku_ids, quantities, any_unit), times_ns
