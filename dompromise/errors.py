"""The operating errors of dompromise: a small tree, mapped to gRPC status in
one place (dompromise/service/errors.py).

Business outcomes (a SKU not found inside a batch, a short position) are not
exceptions: they are per-item statuses in the answer. Programmer errors are
assertions. These are for whole requests that cannot be served, and for a
command log a replica cannot follow. The whole tree:

    DompromiseError
        InvalidArgumentError            INVALID_ARGUMENT (BadRequest)
        NotFoundError                   NOT_FOUND
            LostHistoryNotFoundError    (reason LOG_CHANGED: an id of a lost history)
        LimitExceededError              RESOURCE_EXHAUSTED
        OutOfRangeError                 OUT_OF_RANGE
        AbortedError                    ABORTED
        UnavailableError                UNAVAILABLE
            PositionNotReachedError
        AlreadyExistsError              ALREADY_EXISTS
            PromiseTokenReservedError
        FailedPreconditionError         FAILED_PRECONDITION
            LogChangedError
        LogError                        start-up and the replica's own loops: never a servicer's
            LogCorruption
            LogGap
            RedisLogError
            DataDirInUse
            FormatTooNew
        TokenError                      promise/token.py: INVALID_ARGUMENT where it is verified
        ConfigError                     config/problems.py: start-up only
        BenchError, WorkloadError       client/bench: `dompromise bench`, never a server's

Those with a status are mapped in one table (dompromise/service/errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.protobuf.message import Message


class DompromiseError(Exception):
    """Base of every operating error."""


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: `field` is its path (`updates[3].quantity`)."""

    field: str
    description: str


class InvalidArgumentError(DompromiseError):
    """The request is malformed; every bad field is listed."""

    def __init__(self, violations: list[FieldViolation]):
        assert violations, "an invalid argument names at least one field"
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))


class NotFoundError(DompromiseError):
    """A thing the request names as a whole (not an item of a batch) does not exist."""

    def __init__(self, resource_type: str, resource_id: str, field: str):
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.field = field
        self.reason = f"{resource_type.upper()}_NOT_FOUND"
        self.metadata: dict[str, str] = {}
        super().__init__(f"{resource_type} {resource_id!r} not found ({field})")


class LostHistoryNotFoundError(NotFoundError):
    """The id was issued in another history of the log (its record was lost: Redis restored from an older AOF,
    a lost log segment); this log never held it, and never gives it to anything else. Reason LOG_CHANGED."""

    def __init__(self, resource_type: str, resource_id: str, field: str, log_id: str, log_position: int):
        super().__init__(resource_type, resource_id, field)
        self.reason = "LOG_CHANGED"
        self.metadata = {"log_id": log_id, "log_position": str(log_position)}
        self.args = (
            f"{resource_type} {resource_id!r} not found ({field}): it was issued in another history of the log "
            f"(records lost; log id now {log_id!r}); nothing else has this id",
        )


class LimitExceededError(DompromiseError):
    """The request is over a documented limit."""

    def __init__(self, field: str, limit_name: str, limit: int, actual: int):
        self.field = field
        self.limit_name = limit_name
        self.limit = limit
        self.actual = actual
        super().__init__(f"{field}: {actual} is over the limit of {limit} ({limit_name})")


class OutOfRangeError(DompromiseError):
    """A field is past what this server has now (a version it has not reached); may pass later."""

    def __init__(self, field: str, reason: str, description: str):
        self.field = field
        self.reason = reason
        self.description = description
        super().__init__(f"{field}: {description}")


class AbortedError(DompromiseError):
    """The request conflicted with a change of state (e.g. a promised plan no longer
    holds); `alternative`, if any, is a message the client can act on instead."""

    def __init__(self, reason: str, message: str, alternative: Message | None = None):
        self.reason = reason
        self.alternative = alternative
        super().__init__(message)


class UnavailableError(DompromiseError):
    """Writes cannot be made durable right now (the log failed or is full); retry later."""


class PositionNotReachedError(UnavailableError):
    """A request asked for a log position (x-dompromise-min-position) this replica did not reach in time."""

    def __init__(self, requested: int, reached: int, waited_ms: int):
        self.requested = requested
        self.reached = reached
        super().__init__(
            f"this replica reached log position {reached}, not the {requested} asked for "
            f"(x-dompromise-min-position), within {waited_ms} ms; retry here or on another instance"
        )


class AlreadyExistsError(DompromiseError):
    """A request_id was reused with a different payload."""

    reason = "REQUEST_ID_REUSED"

    def __init__(self, request_id: str):
        self.request_id = request_id
        self.metadata = {"request_id": request_id}
        super().__init__(f"request_id {request_id!r} was already used with a different payload")


class PromiseTokenReservedError(AlreadyExistsError):
    """A promise token reserves once: it already made the reservation named (with another request_id)."""

    reason = "PROMISE_TOKEN_ALREADY_RESERVED"

    def __init__(self, request_id: str, reservation_id: str):
        super().__init__(request_id)
        self.metadata = {"request_id": request_id, "reservation_id": reservation_id}
        self.args = (
            f"the promise token was already reserved, as {reservation_id!r} (a token reserves once, for its "
            "whole validity, whatever became of that reservation); retry with the first request_id to get its "
            "answer, or promise again",
        )


class FailedPreconditionError(DompromiseError):
    """The thing exists but is in a state that does not allow the request."""

    subject = "reservation"  # what the PreconditionFailure names

    def __init__(self, reason: str, message: str, metadata: dict[str, str] | None = None):
        self.reason = reason
        self.metadata = metadata or {}
        super().__init__(message)


class LogChangedError(FailedPreconditionError):
    """A request's x-dompromise-log-id is not this replica's: its min-position counts in another history."""

    subject = "x-dompromise-log-id"

    def __init__(self, requested_log_id: str, log_id: str):
        super().__init__(
            "LOG_CHANGED",
            f"x-dompromise-log-id {requested_log_id!r} is not this replica's log id {log_id!r}: the position "
            "asked for counts in another history of the log (it was started anew, or Redis lost records and "
            "their positions were reused); what was read or written at it may not exist here. Read afresh "
            "without x-dompromise-min-position, and take the position and log id of that answer",
            {"requested_log_id": requested_log_id, "log_id": log_id},
        )


class LogError(DompromiseError):
    """A command log this replica cannot follow: at start-up the process refuses to start; while serving the
    replica refuses writes (UnavailableError to each writer). Never raised to a servicer."""


class LogCorruption(LogError):
    """The log cannot be read as a whole: foreign file, bad record before the tail, or a gap."""


class LogGap(LogError):
    """The next stream entry is not the next position: trimmed past us, or Redis lost entries."""


class RedisLogError(LogError):
    """The Redis log cannot serve this instance: another layout or network, or a gap no snapshot covers."""


class DataDirInUse(LogError):
    """Another live process owns the data directory (its flock on `LOCK`): `data dir X is in use by pid N`."""


class FormatTooNew(LogError):
    """A segment or snapshot was written by a newer release, in a format this one cannot read."""
