"""Requests that do not decode answer INVALID_ARGUMENT, for every RPC (ours, health, reflection).

Every string of every request is also bounded here, once for all (STRING_LENGTH_MAX, the generous bound
for fields no check names a tighter limit for): a request with a longer one is refused naming its path
before a handler could repeat it in an answer or a log. Requests no longer than the bound in all (most)
are not walked.

grpc.aio decodes a request before any handler runs; a DecodeError there becomes UNKNOWN
(`Unexpected <class 'DecodeError'>`) with a traceback in the log. `DecodeInterceptor` wraps the request
deserializer of every method: bytes that are not the method's request message become an `_Undecodable`
stand-in (a deserializer cannot answer a call), and the wrapped behaviour answers it with INVALID_ARGUMENT
and a BadRequest naming the field `request` before the servicer sees anything. In a request stream the
stand-in raises when the servicer reaches it, so the rows before it are checked as usual and map_errors
answers (an all-or-nothing upload then applies nothing).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import grpc
import grpc.aio
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from dompromise import limits
from dompromise.errors import FieldViolation, InvalidArgumentError
from dompromise.service.bad_input import BAD_REQUESTS, BadRequestLog, echoed
from dompromise.service.errors import to_status
from dompromise.service.validation import VIOLATIONS_LISTED_MAX

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
_Context = grpc.aio.ServicerContext[object, object]
# grpc.aio's behaviours (grpc-stubs types them for the synchronous server): a request or a request stream in,
# a coroutine or an async generator out; grpc.aio tells them apart with inspect, so the wrappers match kinds.
_Behaviour = Callable[[object, _Context], Any]
# The field a BadRequest names for a request that is not a message at all.
REQUEST_FIELD = "request"
# Strings longer than STRING_LENGTH_MAX by design: a promise token signs a whole plan (up to PROMISE_LINES_MAX
# lines); it is bounded by MESSAGE_BYTES_MAX, checked by its signature and never repeated in an answer. A
# network config text (ApplyNetworkConfig) is a whole YAML document, bounded by NETWORK_DOCUMENT_BYTES_MAX in
# its servicer and parsed with file:line problems, never echoed whole.
UNWALKED_FIELDS = frozenset({"promise_token", "config_text"})


class _Undecodable:
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


def _guarded(deserializer: Callable[[bytes], object]) -> Callable[[bytes], Any]:
    # The generated code passes `Message.FromString`: its class names the message.
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    message_name: str = getattr(descriptor, "full_name", "request message")

    def deserialize(data: bytes) -> object:
        try:
            request = deserializer(data)
        except (DecodeError, ValueError, RecursionError) as error:  # too deep a nesting is a RecursionError
            return _Undecodable([FieldViolation(REQUEST_FIELD, f"not a valid {message_name}: {echoed(str(error))}")])
        # No string can be longer than the whole request: most requests are never walked.
        if len(data) > limits.STRING_LENGTH_MAX and isinstance(request, Message):
            too_long = _long_strings(request)
            if too_long:
                return _Undecodable(too_long)
        return request

    return deserialize


async def _checked_stream(requests: AsyncIterator[object]) -> AsyncIterator[object]:
    async for request in requests:
        if isinstance(request, _Undecodable):
            raise UndecodableRequestError(request.to_error().violations)
        yield request


class DecodeInterceptor(grpc.aio.ServerInterceptor):
    """Answers INVALID_ARGUMENT (field `request`) for a request that does not decode (see the module doc)."""

    def __init__(self, bad_requests: BadRequestLog = BAD_REQUESTS) -> None:
        self._bad_requests = bad_requests
        # method -> (its handler, the wrapped one): handlers are looked up per call, wrapped once.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Request, _Response] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Request, _Response] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(
        self, method: str, handler: grpc.RpcMethodHandler[_Request, _Response]
    ) -> grpc.RpcMethodHandler[_Request, _Response]:
        deserializer = _guarded(cast(Callable[[bytes], object], handler.request_deserializer))
        serializer = handler.response_serializer
        if handler.unary_unary is not None:
            behaviour = self._unary(method, cast(_Behaviour, handler.unary_unary))
            return grpc.unary_unary_rpc_method_handler(behaviour, deserializer, serializer)
        if handler.unary_stream is not None:
            behaviour = self._unary(method, cast(_Behaviour, handler.unary_stream))
            return grpc.unary_stream_rpc_method_handler(behaviour, deserializer, serializer)
        if handler.stream_unary is not None:
            behaviour = self._streamed(method, cast(_Behaviour, handler.stream_unary))
            return grpc.stream_unary_rpc_method_handler(behaviour, deserializer, serializer)
        behaviour = self._streamed(method, cast(_Behaviour, handler.stream_stream))
        return grpc.stream_stream_rpc_method_handler(behaviour, deserializer, serializer)

    async def _refuse(self, method: str, error: InvalidArgumentError, context: _Context) -> None:
        self._bad_requests.warn(method, "INVALID_ARGUMENT", str(error))
        await context.abort_with_status(to_status(error))

    def _unary(self, method: str, behaviour: _Behaviour) -> _Behaviour:
        """One request in: refused before the behaviour runs if it did not decode."""
        if inspect.isasyncgenfunction(behaviour):

            async def answers(request: object, context: _Context) -> AsyncIterator[object]:
                if isinstance(request, _Undecodable):
                    await self._refuse(method, request.to_error(), context)
                async for response in behaviour(request, context):
                    yield response

            return answers

        async def answer(request: object, context: _Context) -> object:
            if isinstance(request, _Undecodable):
                await self._refuse(method, request.to_error(), context)
            return await behaviour(request, context)

        return answer

    def _streamed(self, method: str, behaviour: _Behaviour) -> _Behaviour:
        """A request stream in: the servicer reads it and raises at a message that did not decode."""
        if inspect.isasyncgenfunction(behaviour):

            async def answers(requests: object, context: _Context) -> AsyncIterator[object]:
                try:
                    async for response in behaviour(_checked_stream(cast(AsyncIterator[object], requests)), context):
                        yield response
                except UndecodableRequestError as error:  # a servicer without map_errors (reflection)
                    await self._refuse(method, error, context)

            return answers

        async def answer(requests: object, context: _Context) -> object:
            try:
                return await behaviour(_checked_stream(cast(AsyncIterator[object], requests)), context)
            except UndecodableRequestError as error:
                await self._refuse(method, error, context)
                return None

        return answer
