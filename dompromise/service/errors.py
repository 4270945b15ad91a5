"""The one place operating errors become gRPC status.

Handlers raise dompromise.errors exceptions; `map_errors` turns each into a
google.rpc.Status with packed details (BadRequest, ErrorInfo, ResourceInfo)
that clients read with grpc_status.rpc_status.from_call.

STATUS_BUILDERS names every operating error that can reach a servicer. The
rest of the tree (dompromise/errors.py) never does: LogError and ConfigError
stop a process from starting, or make a replica refuse writes (each writer
gets UnavailableError); TokenError is INVALID_ARGUMENT where the token is
verified (service/promise_reserve.py); the bench's errors are a client's. One
that reached a handler anyway is a bug: INTERNAL, logged, like any other
exception.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from dompromise import limits
from dompromise.errors import (
    AbortedError,
    AlreadyExistsError,
    DompromiseError,
    FailedPreconditionError,
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    OutOfRangeError,
    PositionNotReachedError,
    UnavailableError,
)
from dompromise.service.bad_input import BAD_REQUESTS

ERROR_DOMAIN = "dompromise.v1"
log = logging.getLogger(__name__)
# A servicer method (unary, or an async generator for a server stream).
Handler = TypeVar("Handler", bound=Callable[..., Any])
Context = grpc.aio.ServicerContext[Any, Any]


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _cut(text: str, length_max: int = limits.ERROR_DESCRIPTION_LENGTH_MAX) -> str:
    """`text` cut to `length_max` characters ("…" at the end): whatever a check put in a message, an answer's
    trailers stay small enough for a default client (8 KB of metadata)."""
    return text if len(text) <= length_max else text[: length_max - 1] + "…"


def _invalid_argument(error: InvalidArgumentError) -> status_pb2.Status:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=_cut(v.field), description=_cut(v.description))
            for v in error.violations
        ]
    )
    info = error_details_pb2.ErrorInfo(reason="INVALID_FIELD", domain=ERROR_DOMAIN)
    return status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message=str(error), details=[_pack(bad_request), _pack(info)]
    )


def _not_found(error: NotFoundError) -> status_pb2.Status:
    resource = error_details_pb2.ResourceInfo(
        resource_type=error.resource_type, resource_name=_cut(error.resource_id), description=_cut(str(error))
    )
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata={"field": error.field, **error.metadata}
    )
    return status_pb2.Status(code=code_pb2.NOT_FOUND, message=str(error), details=[_pack(resource), _pack(info)])


def _limit_exceeded(error: LimitExceededError) -> status_pb2.Status:
    violation = error_details_pb2.QuotaFailure.Violation(subject=error.field, description=_cut(str(error)))
    bad_request = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field=error.field, description=_cut(str(error)))]
    )
    info = error_details_pb2.ErrorInfo(
        reason="LIMIT_EXCEEDED",
        domain=ERROR_DOMAIN,
        metadata={"limit_name": error.limit_name, "limit": str(error.limit), "actual": str(error.actual)},
    )
    return status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message=str(error),
        details=[_pack(error_details_pb2.QuotaFailure(violations=[violation])), _pack(bad_request), _pack(info)],
    )


def _out_of_range(error: OutOfRangeError) -> status_pb2.Status:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=error.field, description=_cut(error.description))
        ]
    )
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata={"field": error.field})
    return status_pb2.Status(code=code_pb2.OUT_OF_RANGE, message=str(error), details=[_pack(bad_request), _pack(info)])


def _failed_precondition(error: FailedPreconditionError) -> status_pb2.Status:
    violation = error_details_pb2.PreconditionFailure.Violation(
        type=error.reason, subject=_cut(error.subject), description=_cut(str(error))
    )
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata)
    return status_pb2.Status(
        code=code_pb2.FAILED_PRECONDITION,
        message=str(error),
        details=[_pack(error_details_pb2.PreconditionFailure(violations=[violation])), _pack(info)],
    )


def _already_exists(error: AlreadyExistsError) -> status_pb2.Status:
    metadata = {key: _cut(value) for key, value in error.metadata.items()}
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=metadata)
    return status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message=str(error), details=[_pack(info)])


def _unavailable(error: UnavailableError) -> status_pb2.Status:
    if isinstance(error, PositionNotReachedError):
        info = error_details_pb2.ErrorInfo(
            reason="POSITION_NOT_REACHED",
            domain=ERROR_DOMAIN,
            metadata={"requested_position": str(error.requested), "reached_position": str(error.reached)},
        )
    else:
        info = error_details_pb2.ErrorInfo(reason="LOG_UNAVAILABLE", domain=ERROR_DOMAIN)
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromMilliseconds(100)
    return status_pb2.Status(code=code_pb2.UNAVAILABLE, message=str(error), details=[_pack(info), _pack(retry)])


def _aborted(error: AbortedError) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN)
    details = [_pack(info)]
    if error.alternative is not None:
        details.append(_pack(error.alternative))
    return status_pb2.Status(code=code_pb2.ABORTED, message=str(error), details=details)


# The table: exception type -> builder of its google.rpc.Status (each takes its own type).
STATUS_BUILDERS: dict[type[DompromiseError], Callable[[Any], status_pb2.Status]] = {
    InvalidArgumentError: _invalid_argument,
    NotFoundError: _not_found,
    LimitExceededError: _limit_exceeded,
    OutOfRangeError: _out_of_range,
    FailedPreconditionError: _failed_precondition,
    AlreadyExistsError: _already_exists,
    AbortedError: _aborted,
    UnavailableError: _unavailable,
}
MAPPED_ERRORS = tuple(STATUS_BUILDERS)
# The errors that say the request itself is bad: each logs one WARNING line (rate-limited, no traceback).
BAD_REQUEST_ERRORS: dict[type[DompromiseError], str] = {
    InvalidArgumentError: "INVALID_ARGUMENT",
    LimitExceededError: "RESOURCE_EXHAUSTED",
    OutOfRangeError: "OUT_OF_RANGE",
}


def _warn_if_bad_request(handler: Callable[..., Any], error: DompromiseError) -> None:
    for error_type, code in BAD_REQUEST_ERRORS.items():
        if isinstance(error, error_type):
            BAD_REQUESTS.warn(handler.__qualname__, code, str(error))
            return


def to_status(error: DompromiseError) -> grpc.Status:
    """The grpc.Status (with details) an operating error maps to; its message cut to ERROR_MESSAGE_LENGTH_MAX."""
    for error_type, build in STATUS_BUILDERS.items():
        if isinstance(error, error_type):
            status = build(error)
            status.message = _cut(status.message, limits.ERROR_MESSAGE_LENGTH_MAX)
            return rpc_status.to_status(status)
    raise AssertionError(f"no status mapping for {type(error).__name__}")


def _keeping_trailing_metadata(context: Context, status: grpc.Status) -> grpc.Status:
    """`status` with the trailing metadata already set on the call (the log position) added."""
    kept = tuple(context.trailing_metadata() or ())
    if not kept:
        return status
    return _Status(status.code, status.details, tuple(status.trailing_metadata or ()) + kept)


class _Status(grpc.Status):
    def __init__(
        self, code: grpc.StatusCode, details: str, trailing_metadata: tuple[tuple[str, str | bytes], ...]
    ) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def map_errors(handler: Handler) -> Handler:
    """Wraps a servicer method so an operating error aborts with its mapped status (any other: INTERNAL)."""
    if inspect.isasyncgenfunction(handler):

        @functools.wraps(handler)
        async def stream_wrapper(self: object, request: Message, context: Context) -> AsyncIterator[Message]:
            try:
                async for response in handler(self, request, context):
                    yield response
            except MAPPED_ERRORS as error:
                _warn_if_bad_request(handler, error)
                await context.abort_with_status(_keeping_trailing_metadata(context, to_status(error)))
            except (grpc.aio.AbortError, asyncio.CancelledError):
                raise
            except Exception:
                log.exception("unexpected error in %s", handler.__qualname__)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error (logged on the server)")

        return cast(Handler, stream_wrapper)

    @functools.wraps(handler)
    async def unary_wrapper(self: object, request: Message, context: Context) -> Message:
        try:
            response: Message = await handler(self, request, context)
            return response
        except MAPPED_ERRORS as error:
            _warn_if_bad_request(handler, error)
            await context.abort_with_status(_keeping_trailing_metadata(context, to_status(error)))
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception:
            # A bug: log it whole, tell the client only that it happened.
            log.exception("unexpected error in %s", handler.__qualname__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error (logged on the server)")

    return cast(Handler, unary_wrapper)
