"""Requests that do not decode answer INVALID_ARGUMENT, for every RPC (ours, health, reflection).

Every string of every request is also bounded here, once for all (STRING_LENGTH_MAX, the generous bound
for fields no check names a tighter limit for): a request with a longer one is refused naming its path
before a handler could repeat it in an answer or a log. Requests no longer than the bound in all (most)
are not walked.

grpc.aio decodes a request before any handler runs; a DecodeError there becomes UNKNOWN
(`Unexpected <class 'DecodeError'>`) with a traceback in the log. So the call pipeline (service/pipeline.py)
decodes each method's request itself with `guarded(deserializer)`: bytes that are not the method's request
message become an `Undecodable` stand-in, which the pipeline answers with INVALID_ARGUMENT and a BadRequest
naming the field `request` before the servicer sees anything (after the key check: a caller without a key
learns nothing about its bytes). In a request stream (decoded by grpc with the guarded deserializer, which
cannot answer a call) the stand-in raises when the servicer reaches it (`checked_stream`), so the rows before
it are checked as usual and map_errors answers (an all-or-nothing upload then applies nothing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from dompromise import limits
from dompromise.errors import FieldViolation, InvalidArgumentError
from dompromise.service.bad_input import BAD_REQUESTS, BadRequestLog, echoed
from dompromise.service.errors import to_status
from dompromise.service.validation import VIOLATIONS_LISTED_MAX

# The field a BadRequest names for a request that is not a message at all.
REQUEST_FIELD = "request"
# Strings longer than STRING_LENGTH_MAX by design: a promise token signs a whole plan (up to PROMISE_LINES_MAX
# lines); it is bounded by MESSAGE_BYTES_MAX, checked by its signature and never repeated in an answer. A
# network config text (ApplyNetworkConfig) is a whole YAML document, bounded by NETWORK_DOCUMENT_BYTES_MAX in
# its servicer and parsed with file:line problems, never echoed whole.
UNWALKED_FIELDS = frozenset({"promise_token", "config_text"})


class Undecodable:
    """What the wrapped deserializer returns for a request refused before any handler: bytes that are not
    the request message, or a message with a string longer than STRING_LENGTH_MAX."""

    __slots__ = ("violations",)

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations

    def to_error(self) -> InvalidArgumentError:
        return InvalidArgumentError(self.violations)


def _long_strings(message: Message, prefix: str = "") -> list[FieldViolation]:
    """Every string (map keys and values included) longer than STRING_LENGTH_MAX, named by its path."""
    longest = limits.STRING_LENGTH_MAX
    violations: list[FieldViolation] = []
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.name in UNWALKED_FIELDS:
            continue
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if field.is_repeated else (value,)
            violations += [
                FieldViolation(f"{path}[{n}]" if field.is_repeated else path, _too_long(text))
                for n, text in enumerate(values)
                if len(text) > longest
            ]
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key in value:
                item = value[key]
                if len(key) > longest or (isinstance(item, str) and len(item) > longest):
                    violations.append(
                        FieldViolation(f"{path}[{echoed(key)}]", _too_long(key if len(key) > longest else item))
                    )
                elif isinstance(item, Message):
                    violations += _long_strings(item, f"{path}[{echoed(key)}].")
        elif field.message_type is not None:
            items = value if field.is_repeated else (value,)
            for n, item in enumerate(items):
                violations += _long_strings(item, f"{path}[{n}]." if field.is_repeated else f"{path}.")
        if len(violations) >= VIOLATIONS_LISTED_MAX:
            break
    return violations


def _too_long(text: str) -> str:
    return f"{len(text)} characters: longer than {limits.STRING_LENGTH_MAX} (STRING_LENGTH_MAX)"


class UndecodableRequestError(InvalidArgumentError):
    """A request stream reached a message that did not decode."""


def guarded(deserializer: Callable[[bytes], object]) -> Callable[[bytes], Any]:
    """`deserializer` that returns an Undecodable stand-in instead of raising, and for a request with a
    string longer than STRING_LENGTH_MAX."""
    # The generated code passes `Message.FromString`: its class names the message.
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    message_name: str = getattr(descriptor, "full_name", "request message")

    def deserialize(data: bytes) -> object:
        try:
            request = deserializer(data)
        except (DecodeError, ValueError, RecursionError) as error:  # too deep a nesting is a RecursionError
            return Undecodable([FieldViolation(REQUEST_FIELD, f"not a valid {message_name}: {echoed(str(error))}")])
        # No string can be longer than the whole request: most requests are never walked.
        if len(data) > limits.STRING_LENGTH_MAX and isinstance(request, Message):
            too_long = _long_strings(request)
            if too_long:
                return Undecodable(too_long)
        return request

    return deserialize


async def checked_stream(requests: AsyncIterator[object]) -> AsyncIterator[object]:
    async for request in requests:
        if isinstance(request, Undecodable):
            raise UndecodableRequestError(request.to_error().violations)
        yield request


def refusal(method: str, error: InvalidArgumentError, bad_requests: BadRequestLog = BAD_REQUESTS) -> grpc.Status:
    """The INVALID_ARGUMENT a refused request answers (logged as a bad request, rate-limited)."""
    bad_requests.warn(method, "INVALID_ARGUMENT", str(error))
    return to_status(error)
