"""Log positions in metadata: what every answer reflects, and requests served at least at a position.

Every dompromise RPC's call pipeline (service/pipeline.py) does it (health and
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
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, cast

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

# The servicer context, as grpc.aio hands it (the HTTP routes' stands for it).
_Context = grpc.aio.ServicerContext[object, object]


class Positioned(Protocol):
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


class Consistency:
    """Positions (and staleness) for every answer and the min-position waits (see the module doc).

    service/pipeline.py calls these pieces from each call's one coroutine; the HTTP/JSON routes call
    serve_at_min_position. Nothing here runs per call but what a call asks for."""

    def __init__(
        self,
        replica: Replica,
        wait_ms_max: int = limits.MIN_POSITION_WAIT_MS_MAX,
        clock_kind: str = "wall",
        worker: int | None = None,
    ) -> None:
        self._replica = replica
        # A simulated clock is said in every answer (and health check), so no one takes its times for real ones.
        self.clock_metadata: tuple[tuple[str, str], ...] = () if clock_kind == "wall" else ((CLOCK_KEY, clock_kind),)
        if worker is not None:  # which worker answered, beside the clock (the same answers carry it)
            self.clock_metadata += ((WORKER_KEY, str(worker)),)
        self.engine = replica.engine
        self._staleness_ms: Callable[[], int | None] | None = getattr(replica, "staleness_ms", None)
        self._wait_seconds_max = wait_ms_max / 1000
        self.waiters = PositionWaiters(replica)
        self._has_position_field: dict[type[Message], bool] = {}
        # The last metadata built and what it was built from: reads in a row between writes share it.
        self._last: tuple[int, str, int | None, tuple[tuple[str, str], ...]] = (-1, "", None, ())

    def metadata(self, position: int) -> tuple[tuple[str, str], ...]:
        """The answer's metadata for a state at `position`."""
        stale_ms = self._staleness_ms() if self._staleness_ms is not None else None
        log_id = self._replica.log_id
        last = self._last
        if last[0] == position and last[2] == stale_ms and last[1] == log_id:
            return last[3]
        built: tuple[tuple[str, str], ...] = ((POSITION_KEY, str(position)), (LOG_ID_KEY, log_id))
        if stale_ms is not None:
            built += ((STALE_MS_KEY, str(stale_ms)),)
        built += self.clock_metadata
        self._last = (position, log_id, stale_ms, built)
        return built

    def answer_position(self, response: Message, position_before: int) -> int:
        """The position an answer reflects: its log_position if it has one (> 0), else `position_before`."""
        kind = type(response)
        has_field = self._has_position_field.get(kind)
        if has_field is None:
            has_field = "log_position" in kind.DESCRIPTOR.fields_by_name
            self._has_position_field[kind] = has_field
        if has_field:
            answer = cast(Positioned, response)  # its descriptor has the field
            if answer.log_position > 0:
                return answer.log_position
        return position_before

    async def serve_at_min_position(self, context: _Context) -> bool:
        """For a call served outside gRPC (the HTTP/JSON routes, whose context stands for grpc's): as below."""
        asked = min_position_asked(context.invocation_metadata() or ())
        return True if asked is None else await self.wait_for(context, *asked)

    async def wait_for(self, context: _Context, value: str | bytes, log_id_value: str | bytes | None) -> bool:
        """Waits for the position `value` asks (in the log `log_id_value` names, if sent); False if the call was
        aborted instead (malformed, not reached in time, another log)."""
        try:
            position = parse_min_position(value)
            log_id = parse_log_id(log_id_value) if log_id_value is not None else None
            self._check_log_id(log_id)
            if self.engine.log_position >= position:
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
                position, self.engine.log_position, round((time.monotonic() - started) * 1000)
            )
        except (InvalidArgumentError, UnavailableError, LogChangedError) as error:
            status = to_status(error)
            await context.abort_with_status(_StatusWithMetadata(status, self.metadata(self.engine.log_position)))
        return False

    def _check_log_id(self, requested: str | None) -> None:
        if requested is not None and requested != self._replica.log_id:
            raise LogChangedError(requested, self._replica.log_id)


def min_position_asked(
    metadata: Iterable[tuple[str, str | bytes]],
) -> tuple[str | bytes, str | bytes | None] | None:
    """The (min-position, log id or None) values a call's metadata asks for; None if it asks no position."""
    value = log_id_value = None
    for key, found in metadata:
        if key == MIN_POSITION_KEY:
            value = found
        elif key == LOG_ID_KEY:
            log_id_value = found
    return None if value is None else (value, log_id_value)
