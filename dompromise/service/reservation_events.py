"""WatchReservationEvents: a server stream of reservation events (at risk, back on track,
node unavailable), filtered by order or customer, resumable by version.

The tracker (dompromise/replica/reservation_events.py) runs after each applied batch
while at least one stream is open; it keeps the last events so a client
that reconnects with resume_after_version gets what it missed. A stream
whose client reads too slowly for EVENTS_QUEUED_MAX events is ended with
RESOURCE_EXHAUSTED naming the version to resume after: writers never wait.

Versions are log positions, which only mean something in their log: every
message and event carries the replica's log_id, a resume with another
resume_log_id starts from now (never sending events of another history), and
when the replica's history changes under open streams (a shared replica
resynced, or Redis lost records and reuses their positions) the kept events
are dropped and the new events carry the new log_id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc.aio

from dompromise import limits
from dompromise.errors import FieldViolation, LimitExceededError, OutOfRangeError
from dompromise.internal.v1 import log_pb2
from dompromise.replica.protocol import Replica
from dompromise.replica.reservation_events import EventTracker, ReservationEvent
from dompromise.service.validation import id_violation, raise_if_any
from dompromise.v1 import reservation_pb2

# An event and the log id its version counts in.
Tagged = tuple[str, ReservationEvent]


class _Stream:
    def __init__(self, order_id: str, customer_id: str) -> None:
        self.order_id, self.customer_id = order_id, customer_id
        self.queue: asyncio.Queue[Tagged] = asyncio.Queue(maxsize=limits.RESERVATION_EVENTS_QUEUED_MAX)
        self.overflowed_after = -1  # the last version delivered before the queue overflowed

    def wants(self, event: ReservationEvent) -> bool:
        return (not self.order_id or event.order_id == self.order_id) and (
            not self.customer_id or event.customer_id == self.customer_id
        )


class ReservationEventHub:
    def __init__(self, replica: Replica) -> None:
        self._replica = replica
        self._tracker = EventTracker(replica.engine)
        self._streams: set[_Stream] = set()
        # While no stream is open nothing is tracked (no cost on the write path), so
        # events can only be resumed from the position tracking last started at.
        self._tracking_since: int | None = None
        replica.add_apply_listener(self._on_batch)
        replica.add_history_listener(self._on_history_changed)

    def _on_history_changed(self, log_id: str) -> None:
        """The replica's state was replaced or its log id changed: the kept events (and what was at risk)
        belong to the old history. Tracking goes on from here; a resume from before is from another log."""
        self._tracker.restart()
        if self._streams:
            self._tracking_since = self._replica.engine.log_position

    def _on_batch(self, position: int, records: list[log_pb2.LogRecord]) -> None:
        if not self._streams:
            return  # nobody watching: no tracking cost on the write path
        log_id = self._replica.log_id
        for event in self._tracker.on_batch(position, records):
            for stream in self._streams:
                if stream.wants(event) and stream.overflowed_after < 0:
                    try:
                        stream.queue.put_nowait((log_id, event))
                    except asyncio.QueueFull:
                        stream.overflowed_after = event.version - 1

    async def watch(
        self,
        request: reservation_pb2.WatchReservationEventsRequest,
        context: grpc.aio.ServicerContext[
            reservation_pb2.WatchReservationEventsRequest, reservation_pb2.WatchReservationEventsResponse
        ],
    ) -> AsyncIterator[reservation_pb2.WatchReservationEventsResponse]:
        """Yields WatchReservationEventsResponse messages until the client goes away."""
        violations: list[FieldViolation] = []
        for name in ("order_id", "customer_id"):
            if getattr(request, name):
                violations += id_violation(getattr(request, name), name)
        if request.resume_after_version < 0:
            violations.append(FieldViolation("resume_after_version", "must be >= 0"))
        if len(request.resume_log_id) > limits.LOG_ID_LENGTH_MAX:
            violations.append(FieldViolation("resume_log_id", f"at most {limits.LOG_ID_LENGTH_MAX} characters"))
        raise_if_any(violations)
        if len(self._streams) >= limits.RESERVATION_EVENT_STREAMS_MAX:
            raise LimitExceededError(
                "(stream)",
                "RESERVATION_EVENT_STREAMS_MAX",
                limits.RESERVATION_EVENT_STREAMS_MAX,
                len(self._streams) + 1,
            )
        stream = _Stream(request.order_id, request.customer_id)
        if not self._streams:
            self._tracking_since = self._tracking_since or self._replica.engine.log_position
        log_id = self._replica.log_id
        resume_after = request.resume_after_version
        if request.resume_log_id and request.resume_log_id != log_id:
            # The version counts in another log (this one started anew, or its positions are reused):
            # nothing kept here follows it. Start from now rather than fail: what the client would do next.
            resume_after = 0
        missed = self._missed(stream, resume_after)
        self._streams.add(stream)
        try:
            if missed:
                yield _response(log_id, missed)
            while True:
                if stream.overflowed_after >= 0:
                    raise LimitExceededError(
                        f"(resume_after_version {stream.overflowed_after})",
                        "RESERVATION_EVENTS_QUEUED_MAX",
                        limits.RESERVATION_EVENTS_QUEUED_MAX,
                        limits.RESERVATION_EVENTS_QUEUED_MAX + 1,
                    )
                tagged = [await stream.queue.get()]
                while not stream.queue.empty():
                    tagged.append(stream.queue.get_nowait())
                for log_id, events in _by_log_id(tagged):
                    yield _response(log_id, events)
        finally:
            self._streams.discard(stream)
            if not self._streams:
                self._tracking_since = None  # the next stream starts a new tracking epoch
                self._tracker.restart()

    def _missed(self, stream: _Stream, after: int) -> list[ReservationEvent]:
        if not after:
            return []
        recent = self._tracker.recent
        tracking_since = self._tracking_since
        assert tracking_since is not None, "watch() sets it before a stream asks what it missed"
        if after > self._replica.engine.log_position:
            raise OutOfRangeError(
                "resume_after_version",
                "VERSION_AHEAD",
                f"{after} is past this replica's log position {self._replica.engine.log_position}",
            )
        forgotten = recent and recent[0].version > after + 1 and len(recent) == recent.maxlen
        if forgotten or after < tracking_since:
            raise OutOfRangeError(
                "resume_after_version",
                "VERSION_FORGOTTEN",
                f"events after {after} were not tracked or are no longer kept; start again from 0",
            )
        return [event for event in recent if event.version > after and stream.wants(event)]


def _by_log_id(tagged: list[Tagged]) -> list[tuple[str, list[ReservationEvent]]]:
    """Queued events in runs of one log id, in order: a message's events all count in its log_id."""
    runs: list[tuple[str, list[ReservationEvent]]] = []
    for log_id, event in tagged:
        if not runs or runs[-1][0] != log_id:
            runs.append((log_id, []))
        runs[-1][1].append(event)
    return runs


def _response(log_id: str, events: list[ReservationEvent]) -> reservation_pb2.WatchReservationEventsResponse:
    response = reservation_pb2.WatchReservationEventsResponse(log_id=log_id)
    for event in events:
        added = response.events.add(
            log_id=log_id,
            version=event.version,
            type=event.event_type,
            reservation_id=event.reservation_id,
            order_id=event.order_id,
            customer_id=event.customer_id,
            line_number=event.line_number,
            sku_id=event.sku_id,
            node_id=event.node_id,
            quantity=event.quantity,
        )
        if event.backorder_by_ns:
            added.backorder_by.FromNanoseconds(event.backorder_by_ns)
        if event.expected_ns:
            added.expected_available_time.FromNanoseconds(event.expected_ns)
    return response
