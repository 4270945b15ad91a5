"""The call pipeline: every method handler (ours, health, reflection) wrapped once, when the server is built.

A grpc.aio server interceptor costs a coroutine per call, and ours rebuilt method handlers per call (refusals,
metrics); with three of them a single-SKU GetAvailability reached ~0.76 of a no-op server's RPC/s (issues 16
and 19). Here each method gets, at registration, one coroutine that does only what the server was configured
for (a no-op GetAvailability behind it costs ~0.9 of the bare no-op's CPU per call: benchmarks/results/pipeline_*):

1. keys and scopes (service/auth.py): UNAUTHENTICATED / PERMISSION_DENIED;
2. in-flight shedding (service/overload.py): RESOURCE_EXHAUSTED with RetryInfo, before any other work;
3. the request guard (service/decoding.py): a unary request arrives as bytes (registered without a request
   deserializer) and is decoded here, after the key check (a caller without a key learns nothing of what its
   bytes are) and the shedding (an overloaded server does not decode what it refuses); INVALID_ARGUMENT with
   a BadRequest. A request stream is decoded by grpc with the guarded deserializer and its stand-ins raise
   when the servicer reaches them;
4. consistency (service/consistency.py): x-dompromise-min-position waits, then positions in the answer's
   metadata (dompromise RPCs only);
5. the servicer's method, its answer handed to the business counters;

and around all of it the RPC metrics (service/metrics.py: started, handled by code, handling time). A call
refused at 1-3 carries no position: it was not served.

The hot RPCs answer encoded bytes (RAW_METHODS, registered without a response serializer): each entry
names the servicer's method. A method that answers a message is encoded here (the adapter); one that
answers bytes (a Cython encoder) goes out as is. An entry may also name a reader of its request bytes (a Cython
reader of the common request): the request guard tries it first, and decodes whatever it declines as usual, so
the servicer gets the reader's object or the message, and a request that does not decode is refused as ever.

Request ids and traces (off by default) stay grpc.aio interceptors, outside all of this.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any, NamedTuple, cast

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from dompromise.service.auth import OPEN_PREFIXES, KeyCheck
from dompromise.service.availability import AvailabilityServicer
from dompromise.service.consistency import HEALTH_PREFIX, SERVICE_PREFIX, Consistency, Positioned, min_position_asked
from dompromise.service.decoding import Undecodable, UndecodableRequestError, checked_stream, guarded, refusal
from dompromise.service.handlers import Behaviour, Context, Handler, behaviour_of, is_stream_answer
from dompromise.service.inventory import InventoryServicer
from dompromise.service.metrics import BusinessCounters, MethodStats, RpcMetrics, grpc_type_of
from dompromise.service.network import NetworkServicer
from dompromise.service.overload import Overload, is_shed_exempt
from dompromise.service.promise import PromiseServicer
from dompromise.service.reservation import ReservationServicer
from dompromise.v1 import availability_pb2, inventory_pb2, promise_pb2, reservation_pb2
from dompromise.wire.promise_request import read_promise_request

_V1 = "/dompromise.v1."
GET_AVAILABILITY = _V1 + "AvailabilityService/GetAvailability"
WATCH_AVAILABILITY = _V1 + "AvailabilityService/WatchAvailability"
PROMISE_DELIVERY = _V1 + "PromiseService/PromiseDelivery"
RESERVE_INVENTORY = _V1 + "ReservationService/ReserveInventory"
UPDATE_STOCK = _V1 + "InventoryService/UpdateStock"


class Servicers(NamedTuple):
    """Our servicer objects, as build_server made them."""

    availability: AvailabilityServicer
    inventory: InventoryServicer
    network: NetworkServicer
    promise: PromiseServicer
    reservation: ReservationServicer


@dataclass(frozen=True)
class RawMethod:
    """A method whose answers go out as the bytes its behaviour returns (no response serializer)."""

    # The behaviour, from the servicers: `async (request message, context) -> bytes` (a Cython encoder) or
    # the servicer's message method, whose answer the pipeline encodes (the adapter until the encoder is in).
    behaviour_of: Callable[[Servicers], Behaviour]
    # The answer's message type: a write's bytes are read for its log_position, and the business counters
    # decode the bytes when they count something of them (ReserveInventory, PromiseDelivery with metrics on).
    response_type: type[Message]
    # A read's answer reflects the state at the call's start (computed without an await in between: its
    # log_position is that state's); a write's reflects its own record, read from the answer.
    read: bool
    # Reads the request bytes before the message decoder: its object (handed to the behaviour) or None, and
    # then the bytes are decoded as usual. It must decline (None) every request that does not decode, or has a
    # string the guard refuses: what it takes is never refused here.
    reader: Callable[[bytes], object | None] | None = None


# The raw-bytes RPCs, each pointed at the servicer method that writes its answer as bytes (dompromise/wire).
RAW_METHODS: dict[str, RawMethod] = {
    GET_AVAILABILITY: RawMethod(
        lambda s: s.availability.GetAvailabilityBytes, availability_pb2.GetAvailabilityResponse, read=True
    ),
    # Already bytes: one encoding per change shared by every stream watching it (availability.py).
    WATCH_AVAILABILITY: RawMethod(
        lambda s: s.availability.WatchAvailability, availability_pb2.WatchAvailabilityResponse, read=True
    ),
    # The common request read from its bytes (wire/promise_request.pyx): no message, no protobuf field reads.
    PROMISE_DELIVERY: RawMethod(
        lambda s: s.promise.PromiseDeliveryBytes,
        promise_pb2.PromiseDeliveryResponse,
        read=True,
        reader=read_promise_request,
    ),
    RESERVE_INVENTORY: RawMethod(
        lambda s: s.reservation.ReserveInventoryBytes, reservation_pb2.ReserveInventoryResponse, read=False
    ),
    UPDATE_STOCK: RawMethod(lambda s: s.inventory.UpdateStockBytes, inventory_pb2.UpdateStockResponse, read=False),
}


@dataclass(frozen=True)
class Checks:
    """What the server was configured to do around every call (None: not done)."""

    keys: KeyCheck | None = None
    rpcs: RpcMetrics | None = None
    business: BusinessCounters | None = None
    overload: Overload | None = None
    consistency: Consistency | None = None


class Registrations:
    """Stands for a server: catches the method handlers generated add_*_to_server functions register."""

    def __init__(self) -> None:
        # Full method name (/package.Service/Method) -> its handler, each with its own message types.
        self.handlers: dict[str, Handler] = {}

    def add_generic_rpc_handlers(self, generic_handlers: object) -> None:
        pass  # the generated code registers each handler both ways: the registered ones are kept

    def add_registered_method_handlers(self, service_name: str, handlers: Mapping[str, Handler]) -> None:
        for name, handler in handlers.items():
            self.handlers[f"/{service_name}/{name}"] = handler


# The call's metadata as grpc.aio converted it for the handler look-up, handed to the call's behaviour: the
# look-up and the behaviour run in the call's one task, and context.invocation_metadata() would convert it
# again (~5 us a call, measured: 4% of a single-SKU read).
_CALL_METADATA: ContextVar[Any] = ContextVar("dompromise_call_metadata", default=None)


class _Lookup(grpc.GenericRpcHandler):
    """The built handlers by full method name (one dict look-up per call)."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._handlers = dict(handlers)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        _CALL_METADATA.set(handler_call_details.invocation_metadata)
        return self._handlers.get(handler_call_details.method)


def _metadata_of(context: Context) -> Any:
    """The call's metadata: as the look-up saw it, else (a handler served another way) from the context."""
    metadata = _CALL_METADATA.get()
    if metadata is None:
        metadata = context.invocation_metadata()
    return metadata or ()


def register(server: grpc.aio.Server, handlers: Mapping[str, Handler]) -> None:
    """Serves `handlers` (the built ones) on `server` as one generic handler.

    Not as registered methods: grpc.aio keeps one pending request per registered method and waits on all of
    them (asyncio.wait) once per batch of calls, a cost that grows with the number of methods (~40 here);
    measured, a no-op GetAvailability behind the pipeline cost 182 us of CPU per call registered, 160 generic."""
    server.add_generic_rpc_handlers((_Lookup(handlers),))


@dataclass(frozen=True)
class _Method:
    """One method's configuration, worked out once."""

    name: str
    behaviour: Behaviour
    stats: MethodStats | None
    observe: Callable[[str, Message], None] | None  # the business counters' on_answer
    keys: KeyCheck | None
    scope: str | None
    overload: Overload | None
    bounded: bool
    consistency: Consistency | None
    trailing: tuple[tuple[str, str], ...]  # fixed trailing metadata (a simulated clock on health checks)
    raw: RawMethod | None

    @property
    def reads_metadata(self) -> bool:
        return self.keys is not None or self.consistency is not None


def build(handlers: Mapping[str, Handler], servicers: Servicers, checks: Checks) -> dict[str, Handler]:
    """Every handler of `handlers` wrapped in its pipeline (see the module doc)."""
    return {method: _build_one(method, handler, servicers, checks) for method, handler in handlers.items()}


def _build_one(method: str, handler: Handler, servicers: Servicers, checks: Checks) -> Handler:
    raw = RAW_METHODS.get(method)
    stream_answer = is_stream_answer(handler)
    consistency = checks.consistency if method.startswith(SERVICE_PREFIX) else None
    clock = checks.consistency.clock_metadata if checks.consistency is not None else ()
    overload = None if is_shed_exempt(method, stream_answer) else checks.overload
    business = checks.business
    spec = _Method(
        name=method,
        behaviour=raw.behaviour_of(servicers) if raw is not None else behaviour_of(handler),
        stats=_stats(checks.rpcs, method, handler),
        observe=business.on_answer if business is not None and business.observes(method) else None,
        keys=None if method.startswith(OPEN_PREFIXES) else checks.keys,
        scope=KeyCheck.scope_needed(method),
        overload=overload,
        bounded=overload is not None and overload.is_bounded(method),
        consistency=consistency,
        # Unary health answers say a simulated clock (and the worker) too; health streams as they are.
        trailing=clock if method.startswith(HEALTH_PREFIX) and not stream_answer else (),
        raw=raw,
    )
    serializer = None if raw is not None else handler.response_serializer
    deserializer = handler.request_deserializer
    if handler.stream_unary is not None or handler.stream_stream is not None:
        spec = replace(spec, behaviour=_guarding_streams(method, spec.behaviour))
    if handler.unary_unary is not None:
        reader = raw.reader if raw is not None else None
        return grpc.unary_unary_rpc_method_handler(_unary_answer(spec, deserializer, reader), None, serializer)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_stream_answer(spec, deserializer), None, serializer)
    guarded_deserializer = guarded(deserializer) if deserializer is not None else None
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(_unary_answer(spec, None), guarded_deserializer, serializer)
    return grpc.stream_stream_rpc_method_handler(_stream_answer(spec, None), guarded_deserializer, serializer)


def _stats(rpcs: RpcMetrics | None, method: str, handler: Handler) -> MethodStats | None:
    if rpcs is None:
        return None
    service, _, name = method[1:].partition("/")
    return rpcs.method(method, (grpc_type_of(handler), service, name))


# ---- per call: plain functions around the one coroutine -------------------------------


def _refused_by_keys(spec: _Method, metadata: Any, context: Context) -> grpc.Status | None:
    """The status refusing a call whose key does not do (None: it does, or keys are off for the method)."""
    return None if spec.keys is None else spec.keys.refusal(spec.scope, metadata, context)


def _decoded(spec: _Method, request: Any, decode: Callable[[Any], Any]) -> tuple[Any, grpc.Status | None]:
    """The request guard: (the request, None) or (None, the INVALID_ARGUMENT refusing the call)."""
    request = decode(request)
    if type(request) is Undecodable:
        return None, refusal(spec.name, request.to_error())
    return request, None


def _decoder(
    deserializer: Callable[[bytes], object] | None, reader: Callable[[bytes], object | None] | None = None
) -> Callable[[Any], Any]:
    """How a call's request is decoded: a unary one from its bytes (by the method's reader first, if it has
    one: what it declines is decoded); a request stream (deserializer None: grpc decodes it) has its stand-ins
    raise where the servicer reads them."""
    if deserializer is None:
        return checked_stream
    decode = guarded(deserializer)
    if reader is None:
        return decode

    def read_or_decode(data: bytes) -> object:
        read = reader(data)
        return read if read is not None else decode(data)

    return read_or_decode


def _guarding_streams(name: str, behaviour: Behaviour) -> Behaviour:
    """`behaviour` (of a request stream) whose undecodable message, if the servicer did not map it (reflection),
    answers INVALID_ARGUMENT."""
    if inspect.isasyncgenfunction(behaviour):

        async def answers(requests: Any, context: Context) -> AsyncIterator[Any]:
            try:
                async for response in behaviour(requests, context):
                    yield response
            except UndecodableRequestError as error:
                await context.abort_with_status(refusal(name, error))

        return answers

    async def answer(requests: Any, context: Context) -> Any:
        try:
            return await behaviour(requests, context)
        except UndecodableRequestError as error:
            await context.abort_with_status(refusal(name, error))
            return None

    return answer


def _unary_answer(
    spec: _Method,
    deserializer: Callable[[bytes], object] | None,
    reader: Callable[[bytes], object | None] | None = None,
) -> Behaviour:
    """The pipeline of a method with one answer (a unary request as bytes, or a request stream)."""
    decode = _decoder(deserializer, reader)
    behaviour, stats, overload, bounded = spec.behaviour, spec.stats, spec.overload, spec.bounded
    keys, scope = spec.keys, spec.scope
    finish = _finisher(spec)
    reads_metadata, trailing, consistency = spec.reads_metadata, spec.trailing, spec.consistency

    async def answer(request: Any, context: Context) -> Any:
        began = 0.0
        if stats is not None:
            stats.started += 1
            began = perf_counter()
        error: BaseException | None = None
        entered = False
        try:
            metadata = _metadata_of(context) if reads_metadata else ()
            refused = None if keys is None else keys.refusal(scope, metadata, context)
            if refused is None and overload is not None:  # shed before decoding: refusing costs nothing then
                refused = overload.enter(spec.name, bounded)
                entered = refused is None
            if refused is None:
                request, refused = _decoded(spec, request, decode)
            if refused is not None:
                await context.abort_with_status(refused)
            if trailing:
                context.set_trailing_metadata(trailing)
            if consistency is None:
                return finish(await behaviour(request, context), context, -1)
            asked = min_position_asked(metadata)
            if asked is not None and not await consistency.wait_for(context, *asked):
                return None
            position = consistency.engine.log_position
            # Now: an error answer carries it too (map_errors keeps it).
            context.set_trailing_metadata(consistency.metadata(position))
            return finish(await behaviour(request, context), context, position)
        except BaseException as raised:
            error = raised
            raise
        finally:
            if entered:
                overload.leave(spec.name, bounded)  # type: ignore[union-attr]  # entered: it is there
            if stats is not None:
                stats.ended(perf_counter() - began, error, context)

    return answer


_Finish = Callable[[Any, Context, int], Any]


def _finisher(spec: _Method) -> _Finish:
    """What a unary answer goes through once the servicer answered: its position in the trailing metadata (a
    write's own record: the one set at the start was the state before it), the business counters, encoding
    (raw methods)."""
    consistency, observe, raw, name = spec.consistency, spec.observe, spec.raw, spec.name
    read_position = _position_reader(raw.response_type) if raw is not None and not raw.read else None
    # A raw read's answer is the state at the start: its position is there already.
    repositions = consistency is not None and (raw is None or not raw.read)

    def finish(answer: Any, context: Context, position_before: int) -> Any:
        if type(answer) is bytes:  # an encoder's answer (raw methods only)
            assert raw is not None, name
            if repositions and read_position is not None:
                _reposition(consistency, context, read_position(answer), position_before)
            if observe is not None:
                observe(name, raw.response_type.FromString(answer))
            return answer
        if not isinstance(answer, Message):
            return answer
        if repositions and consistency is not None:
            _reposition(consistency, context, consistency.answer_position(answer, position_before), position_before)
        if observe is not None:
            observe(name, answer)
        return answer.SerializeToString() if raw is not None else answer

    return finish


def _reposition(consistency: Consistency | None, context: Context, position: int, position_before: int) -> None:
    """The answer's position in its trailing metadata, unless the one set at the start is it."""
    if consistency is not None and position != position_before:
        context.set_trailing_metadata(consistency.metadata(position))


def _stream_answer(spec: _Method, deserializer: Callable[[bytes], object] | None) -> Behaviour:
    """The pipeline of a method with a stream of answers (never shed: streams have their own bounds)."""
    decode = _decoder(deserializer)
    behaviour, stats, consistency = spec.behaviour, spec.stats, spec.consistency
    generates = inspect.isasyncgenfunction(behaviour)  # else a coroutine that writes with context.write

    async def answers(request: Any, context: Context) -> AsyncIterator[Any]:
        began = 0.0
        if stats is not None:
            stats.started += 1
            began = perf_counter()
        error: BaseException | None = None
        try:
            metadata = _metadata_of(context) if spec.reads_metadata else ()
            refused = _refused_by_keys(spec, metadata, context)
            if refused is None:
                request, refused = _decoded(spec, request, decode)
            if refused is not None:
                await context.abort_with_status(refused)
            if consistency is not None:
                asked = min_position_asked(metadata)
                if asked is not None and not await consistency.wait_for(context, *asked):
                    return
                await context.send_initial_metadata(consistency.metadata(consistency.engine.log_position))
            if generates:
                async for response in behaviour(request, context):
                    yield response
            else:
                await behaviour(request, context)
        except BaseException as raised:
            error = raised
            raise
        finally:
            if stats is not None:
                stats.ended(perf_counter() - began, error, context)

    return answers


def _position_reader(response_type: type[Message]) -> Callable[[bytes], int]:
    """Reads only log_position from an encoded `response_type`: a message type with that one field (same
    number) parses it in C and skips the rest."""
    descriptor = response_type.DESCRIPTOR
    number = descriptor.fields_by_name["log_position"].number
    file = descriptor_pb2.FileDescriptorProto(
        name=f"dompromise/pipeline/{descriptor.name}_position.proto", package="dompromise.pipeline", syntax="proto3"
    )
    message = file.message_type.add(name=f"{descriptor.name}Position")
    message.field.add(
        name="log_position",
        number=number,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    position_type = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"dompromise.pipeline.{message.name}"))

    def read(data: bytes) -> int:
        return cast(Positioned, position_type.FromString(data)).log_position

    return read
