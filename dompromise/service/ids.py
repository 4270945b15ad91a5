"""Ids a client keeps are never re-issued: the writer's nonce, and the answer for an id of a lost history.

A reservation id is R<log position>[.<wave rank>]-<16 hex digits>, the digits
being a random nonce the writer puts in the record (LogRecord.id_nonce), so
every replica derives the same id from the record, and a position reused in
another history of the log (Redis restored from an older AOF, a lost log
segment) gives another id: an acknowledged id never names another order.

An id this replica does not hold but that carries a nonce was issued in a
history this log lost (or is past what this replica applied yet): NOT_FOUND
with reason LOG_CHANGED once that is certain, never another reservation.
"""

from __future__ import annotations

import os
import secrets

from dompromise import limits
from dompromise.errors import LostHistoryNotFoundError, NotFoundError, PositionNotReachedError
from dompromise.replica.protocol import Replica
from dompromise.reservations.book import NONCE_MAX, ReservationView, parse_reservation_id
from dompromise.service.consistency import DEADLINE_MARGIN_SECONDS, PositionWaiters

FIELD = "reservation_id"


# Nonces drawn from the OS's random source this many at a time: one getrandom call serves this many records
# (secrets.randbelow per record cost ~0.9 us, most of it random.py's Python around one syscall).
NONCE_DRAW_COUNT = 64
NONCE_BYTES = 8
assert NONCE_MAX == 2 ** (8 * NONCE_BYTES) - 1, "a nonce is NONCE_BYTES random bytes, 0 excepted"


class _NonceSource:
    """64-bit nonces from os.urandom (secrets' source), drawn NONCE_DRAW_COUNT at a time. A forked process
    draws its own (forget, at fork): the parent's unused bytes are never handed out twice."""

    def __init__(self) -> None:
        self._drawn = b""
        self._at = 0

    def forget(self) -> None:
        self._drawn, self._at = b"", 0

    def take(self) -> int:
        while True:
            if self._at >= len(self._drawn):
                self._drawn, self._at = secrets.token_bytes(NONCE_BYTES * NONCE_DRAW_COUNT), 0
            at = self._at
            self._at = at + NONCE_BYTES
            nonce = int.from_bytes(self._drawn[at : at + NONCE_BYTES], "little")
            if nonce:  # 0 means none: drawn again (uniform over 1..NONCE_MAX, as randbelow(NONCE_MAX) + 1)
                return nonce


_NONCES = _NonceSource()
os.register_at_fork(after_in_child=_NONCES.forget)


def id_nonce() -> int:
    """A fresh nonce for a record that creates ids: 64 random bits, never 0 (0 means none)."""
    return _NONCES.take()


def not_found_in_write(replica: Replica, reservation_id: str) -> NotFoundError:
    """A write named a reservation that was not there when its record applied. An id with a nonce is then
    from a lost history: a reservation is acknowledged only once appended, so a later write of its id always
    comes after it in the same history."""
    if replica.engine.reservation_from_lost_history(reservation_id):
        return LostHistoryNotFoundError("reservation", reservation_id, FIELD, replica.log_id, replica.log_position)
    return NotFoundError("reservation", reservation_id, FIELD)


async def find_or_explain(
    replica: Replica, waiters: PositionWaiters, reservation_id: str, time_remaining_seconds: float | None
) -> ReservationView:
    """The reservation, or the NOT_FOUND that says why (LOG_CHANGED for an id of a lost history).

    An id past the position this replica applied may only be ahead of it (another instance wrote it): if the
    log's head has it, wait (bounded, as for x-dompromise-min-position) and look again; past the head, it
    names nothing in this history."""
    engine = replica.engine
    view = engine.reservation(reservation_id)
    if view is not None:
        return view
    parsed = parse_reservation_id(reservation_id)
    if parsed is None or not engine.reservation_from_lost_history(reservation_id):
        raise NotFoundError("reservation", reservation_id, FIELD)
    if parsed.log_position > replica.log_position and parsed.log_position <= await replica.head_position():
        wait_seconds = limits.MIN_POSITION_WAIT_MS_MAX / 1000
        if time_remaining_seconds is not None:
            wait_seconds = min(wait_seconds, time_remaining_seconds - DEADLINE_MARGIN_SECONDS)
        if not await waiters.wait(parsed.log_position, wait_seconds):
            raise PositionNotReachedError(parsed.log_position, replica.log_position, int(wait_seconds * 1000))
        view = engine.reservation(reservation_id)
        if view is not None:
            return view
    raise LostHistoryNotFoundError("reservation", reservation_id, FIELD, replica.log_id, replica.log_position)
