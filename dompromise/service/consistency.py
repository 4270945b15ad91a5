"""Log positions in metadata: what every answer reflects, and requests served at least at a position.

One server interceptor does it for every dompromise RPC (health and
reflection are left alone), so no handler knows about it:

- every answer carries `x-dompromise-position`: for an answer whose message
  has a `log_position` (every write, GetAvailability, PromiseDelivery) that
  value, the position of the write's own record or of the state the read was
  computed on; for the others (and errors) the replica's applied position
  when the request began to be served (a lower bound of what the answer
  reflects). Unary answers carry it in their trailing metadata, success or
  error: in grpc.aio, initial metadata of a unary answer can only be sent as
  its own operation before the message, which cost 15-25% of a no-op RPC
  (measured); trailing metadata rides with the status for free. Streams send
  it in their initial metadata, before the first message.
- every answer also carries `x-dompromise-log-id`, beside the position: the
  identity of the log (and, with Redis, of its history) the position counts
  in. It changes when the log is started anew, and when Redis lost records
  some instance had applied (their positions are then reused: see
  dompromise/replica/shared.py).
- a replica that cannot follow its log (the Redis log unreachable) adds
  `x-dompromise-stale-ms`: how long ago it last heard from the log. Absent
  means following.
- a request with `x-dompromise-min-position: N` is served only once the local
  replica has applied N. It waits (woken by the replica's apply listener) up
  to MIN_POSITION_WAIT_MS_MAX and never past the call's deadline, else
  answers UNAVAILABLE (reason POSITION_NOT_REACHED, retryable) naming the
  position reached. A value that is not a decimal position is
  INVALID_ARGUMENT naming the key.
- a request with a min-position may send `x-dompromise-log-id` (the one
  that came with the position): if it is not the replica's, the position
  counts in another history and waiting for it would be satisfied by other
  records. FAILED_PRECONDITION (reason LOG_CHANGED, naming both ids) at once,
  and also if the id changes while the request waits. Without a
  min-position the key is ignored.

Read-your-writes across instances: take `x-dompromise-position` and
`x-dompromise-log-id` from the write's answer, send them as
`x-dompromise-min-position` and `x-dompromise-log-id` with the read.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

import grpc
import grpc.aio
from google.protobuf.message import Message

from dompromise import limits
from dompromise.errors import (
    FieldViolation,
    InvalidArgumentError,
    LogChangedError,
    PositionNotReachedError,
    UnavailableError,
)
from dompromise.internal.v1 import log_pb2
from dompromise.replica.protocol import Replica
from dompromise.service.errors import to_status

POSITION_KEY = "x-dompromise-position"
MIN_POSITION_KEY = "x-dompromise-min-position"
STALE_MS_KEY = "x-dompromise-stale-ms"
LOG_ID_KEY = "x-dompromise-log-id"
# Present only when the log follows a simulated clock (`serve --clock simulated`): "simulated".
CLOCK_KEY = "x-dompromise-clock"
# Present only under `serve --workers N`: the index of the worker that answered (health checks too).
WORKER_KEY = "x-dompromise-worker"
# Positions are int64 on the wire (log_position fields).
POSITION_MAX = 2**63 - 1
# Digits of the largest position: longer values are refused before int().
POSITION_DIGITS_MAX = len(str(POSITION_MAX))
# A min-position wait ends this much before the call's deadline, so the
# UNAVAILABLE (with the position reached) reaches the client, not DEADLINE_EXCEEDED.
DEADLINE_MARGIN_SECONDS = 0.05  # room for a busy event loop and the answer's trip
# RPCs of these packages get positions; health checking and reflection do not.
SERVICE_PREFIX = "/dompromise."
HEALTH_PREFIX = "/grpc.health.v1.Health/"

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
# What the interceptor wraps, as grpc.aio calls it (grpc-stubs type RpcMethodHandler's behaviours for the
# synchronous server, hence the casts in _wrap): a unary answer is a coroutine function; a stream an async
# generator function or a coroutine function that writes with context.write. Requests are opaque here
# (a message, or an async iterator of them); the answers of dompromise's unary RPCs are messages.
_Context = grpc.aio.ServicerContext[object, object]
_UnaryBehaviour = Callable[[object, _Context], Awaitable[Message]]
_StreamBehaviour = Callable[[object, _Context], AsyncIterator[object] | Awaitable[None]]


class _Positioned(Protocol):
    """An answer with a log_position field (every write's, GetAvailability's, PromiseDelivery's)."""

    log_position: int


class PositionWaiters:
    """Requests waiting for the replica to apply a position, woken by its apply listener (no polling)."""

    def __init__(self, replica: Replica) -> None:
        self._engine = replica.engine
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []  # (position, arrival, future)
        self._log_ids: dict[asyncio.Future[None], str] = {}  # the log id each waiter's position counts in, if sent
        self._arrivals = itertools.count()
        replica.add_apply_listener(self._on_applied)
        if hasattr(replica, "add_writability_listener"):
            # A resync may move the position without applying records; reconnecting follows it.
            replica.add_writability_listener(lambda _writable: self._on_applied(self._engine.log_position, ()))
        if hasattr(replica, "add_history_listener"):
            # The log id changed: waiters whose position counts in another id end now (LOG_CHANGED).
            replica.add_history_listener(self._on_history_changed)

    def __len__(self) -> int:
        return len(self._heap)

    def _on_applied(self, log_position: int, records: Sequence[log_pb2.LogRecord]) -> None:
        heap = self._heap
        while heap and heap[0][0] <= log_position:
            future = heapq.heappop(heap)[2]
            if not future.done():  # a waiter that timed out has a cancelled future
                future.set_result(None)

    def _on_history_changed(self, log_id: str) -> None:
        for future, waited_id in list(self._log_ids.items()):
            if waited_id != log_id and not future.done():
                future.set_result(None)

    async def wait(self, position: int, timeout_seconds: float, log_id: str | None = None) -> bool:
        """True once the replica applied `position`; False if it did not within the timeout, or (given the
        `log_id` the position counts in) the replica's log id changed from it meanwhile."""
        if self._engine.log_position >= position:
            return True
        if timeout_seconds <= 0:
            return False
        if len(self._heap) >= limits.MIN_POSITION_WAITERS_MAX:
            self._heap = [entry for entry in self._heap if not entry[2].done()]
            heapq.heapify(self._heap)
            if len(self._heap) >= limits.MIN_POSITION_WAITERS_MAX:
                raise UnavailableError(
                    f"{limits.MIN_POSITION_WAITERS_MAX} requests already wait for a log "
                    "position here (MIN_POSITION_WAITERS_MAX); retry with backoff"
                )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (position, next(self._arrivals), future))
        if log_id is not None:
            self._log_ids[future] = log_id
        try:
            await asyncio.wait((future,), timeout=timeout_seconds)
        finally:
            self._log_ids.pop(future, None)
            if not future.done():
                future.cancel()  # dropped from the heap when its position comes, or by the pruning above
        return self._engine.log_position >= position


def parse_min_position(value: str | bytes) -> int:
    """The position a `x-dompromise-min-position` value asks for; InvalidArgumentError if malformed."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= POSITION_DIGITS_MAX) or int(text) > POSITION_MAX:
        raise InvalidArgumentError(
            [
                FieldViolation(
                    MIN_POSITION_KEY,
                    f"metadata {MIN_POSITION_KEY} must be a log position: a decimal integer from 0 to "
                    f"{POSITION_MAX}, not {value[:40]!r}",
                )
            ]
        )
    return int(text)


def parse_log_id(value: str | bytes) -> str:
    """A `x-dompromise-log-id` value; InvalidArgumentError if longer than LOG_ID_LENGTH_MAX."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    text = value.strip()
    if len(text) > limits.LOG_ID_LENGTH_MAX:
        raise InvalidArgumentError(
            [
                FieldViolation(
                    LOG_ID_KEY,
                    f"metadata {LOG_ID_KEY} is a log id of at most {limits.LOG_ID_LENGTH_MAX} characters "
                    f"(LOG_ID_LENGTH_MAX), not {len(text)}",
                )
            ]
        )
    return text


class _StatusWithMetadata(grpc.Status):
    def __init__(self, status: grpc.Status, extra: tuple[tuple[str, str], ...]) -> None:
        self.code = status.code
        self.details = status.details
        self.trailing_metadata = tuple(status.trailing_metadata or ()) + extra


class ConsistencyInterceptor(grpc.aio.ServerInterceptor):
    """Adds positions (and staleness) to every answer and serves min-position requests (see the module doc)."""

    def __init__(
        self,
        replica: Replica,
        wait_ms_max: int = limits.MIN_POSITION_WAIT_MS_MAX,
        clock_kind: str = "wall",
        worker: int | None = None,
    ) -> None:
        self._replica = replica
        # A simulated clock is said in every answer (and health check), so no one takes its times for real ones.
        self._clock_metadata: tuple[tuple[str, str], ...] = () if clock_kind == "wall" else ((CLOCK_KEY, clock_kind),)
        if worker is not None:  # which worker answered, beside the clock (the same answers carry it)
            self._clock_metadata += ((WORKER_KEY, str(worker)),)
        self._engine = replica.engine
        self._staleness_ms: Callable[[], int | None] | None = getattr(replica, "staleness_ms", None)
        self._wait_seconds_max = wait_ms_max / 1000
        self.waiters = PositionWaiters(replica)
        # method -> (its handler, the wrapped one): each method has its own request and response types.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]] = {}
        self._has_position_field: dict[type[Message], bool] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Request, _Response] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Request, _Response] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is not None and self._clock_metadata and method.startswith(HEALTH_PREFIX):
            return self._with_clock(handler)
        if handler is None or not method.startswith(SERVICE_PREFIX):
            return handler
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    # ---- the pieces every wrapped call runs -------------------------------------

    def metadata(self, position: int) -> tuple[tuple[str, str], ...]:
        """The answer's metadata for a state at `position`."""
        stale_ms = self._staleness_ms() if self._staleness_ms is not None else None
        log_id = self._replica.log_id
        if stale_ms is None:
            return (POSITION_KEY, str(position)), (LOG_ID_KEY, log_id), *self._clock_metadata
        return (POSITION_KEY, str(position)), (LOG_ID_KEY, log_id), (STALE_MS_KEY, str(stale_ms)), *self._clock_metadata

    def _with_clock(
        self, handler: grpc.RpcMethodHandler[_Request, _Response]
    ) -> grpc.RpcMethodHandler[_Request, _Response]:
        """A health check's handler whose answer says the clock is simulated (unary Check only; Watch as is)."""
        if handler.unary_unary is None:
            return handler
        # grpc.aio runs a unary behaviour as a coroutine function (the stubs type it as grpc's sync one).
        behaviour = cast(_UnaryBehaviour, handler.unary_unary)
        extra = self._clock_metadata

        async def checked(request: Any, context: _Context) -> Any:
            context.set_trailing_metadata(extra)
            return await behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _answer_position(self, response: Message | bytes, position_before: int) -> int:
        if isinstance(response, bytes):
            # An answer written as bytes (ReserveInventoryBytes, UpdateStockBytes): its write is applied, so
            # the position now covers it (it may name a later write too: waiting for it is as safe). A read's
            # (PromiseDeliveryBytes) awaits nothing: the position is the one it was computed at.
            return max(position_before, self._engine.log_position)
        kind = type(response)
        has_field = self._has_position_field.get(kind)
        if has_field is None:
            has_field = "log_position" in kind.DESCRIPTOR.fields_by_name
            self._has_position_field[kind] = has_field
        if has_field:
            answer = cast(_Positioned, response)  # its descriptor has the field
            if answer.log_position > 0:
                return answer.log_position
        return position_before

    async def serve_at_min_position(self, context: _Context) -> bool:
        """For a call served outside gRPC (the HTTP/JSON routes, whose context stands for grpc's): as below."""
        return await self._serve_at_min_position(context)

    async def _serve_at_min_position(self, context: _Context) -> bool:
        """Waits for the requested position if one is asked; False if the call was aborted instead."""
        value = log_id_value = None
        for key, found in context.invocation_metadata() or ():
            if key == MIN_POSITION_KEY:
                value = found
            elif key == LOG_ID_KEY:
                log_id_value = found
        if value is None:
            return True
        try:
            position = parse_min_position(value)
            log_id = parse_log_id(log_id_value) if log_id_value is not None else None
            self._check_log_id(log_id)
            if self._engine.log_position >= position:
                return True
            timeout = self._wait_seconds_max
            remaining = context.time_remaining()
            if remaining is not None:
                timeout = min(timeout, remaining - DEADLINE_MARGIN_SECONDS)
            started = time.monotonic()
            reached = await self.waiters.wait(position, timeout, log_id)
            self._check_log_id(log_id)  # the history may have changed meanwhile
            if reached:
                return True
            raise PositionNotReachedError(
                position, self._engine.log_position, round((time.monotonic() - started) * 1000)
            )
        except (InvalidArgumentError, UnavailableError, LogChangedError) as error:
            status = to_status(error)
            await context.abort_with_status(_StatusWithMetadata(status, self.metadata(self._engine.log_position)))
        return False

    def _check_log_id(self, requested: str | None) -> None:
        if requested is not None and requested != self._replica.log_id:
            raise LogChangedError(requested, self._replica.log_id)

    # ---- wrapping by RPC shape ---------------------------------------------------

    def _wrap(self, handler: grpc.RpcMethodHandler[_Request, _Response]) -> grpc.RpcMethodHandler[_Request, _Response]:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary_answer(cast(_UnaryBehaviour, handler.unary_unary)),  # grpc.aio's (see _UnaryBehaviour)
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._unary_answer(cast(_UnaryBehaviour, handler.stream_unary)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream_answer(cast(_StreamBehaviour, handler.unary_stream)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            self._stream_answer(cast(_StreamBehaviour, handler.stream_stream)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _unary_answer(self, behavior: _UnaryBehaviour) -> Callable[[object, _Context], Awaitable[Message | None]]:
        engine = self._engine

        async def answer(request: object, context: _Context) -> Message | None:
            if not await self._serve_at_min_position(context):
                return None
            position_before = engine.log_position
            # Trailing metadata, set now: an error answer carries it too (map_errors keeps it).
            context.set_trailing_metadata(self.metadata(position_before))
            response = await behavior(request, context)
            context.set_trailing_metadata(self.metadata(self._answer_position(response, position_before)))
            return response

        return answer

    def _stream_answer(
        self, behavior: _StreamBehaviour
    ) -> Callable[[object, _Context], Awaitable[None] | AsyncIterator[object]]:
        engine = self._engine
        if not inspect.isasyncgenfunction(behavior):  # a coroutine that writes with context.write
            writes = cast(Callable[[object, _Context], Awaitable[None]], behavior)  # that kind, inspected

            async def written(request: object, context: _Context) -> None:
                if await self._serve_at_min_position(context):
                    await context.send_initial_metadata(self.metadata(engine.log_position))
                    await writes(request, context)

            return written
        yields = cast(Callable[[object, _Context], AsyncIterator[object]], behavior)  # that kind, inspected

        async def answer(request: object, context: _Context) -> AsyncIterator[object]:
            if not await self._serve_at_min_position(context):
                return
            await context.send_initial_metadata(self.metadata(engine.log_position))
            async for response in yields(request, context):
                yield response

        return answer
