"""Requests that do not decode answer INVALID_ARGUMENT, for every RPC (ours, health, reflection).

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
from google.protobuf.message import DecodeError

from dompromise.errors import FieldViolation, InvalidArgumentError
from dompromise.service.bad_input import BAD_REQUESTS, BadRequestLog, echoed
from dompromise.service.errors import to_status

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
_Context = grpc.aio.ServicerContext[object, object]
# grpc.aio's behaviours (grpc-stubs types them for the synchronous server): a request or a request stream in,
# a coroutine or an async generator out; grpc.aio tells them apart with inspect, so the wrappers match kinds.
_Behaviour = Callable[[object, _Context], Any]
# The field a BadRequest names for a request that is not a message at all.
REQUEST_FIELD = "request"


class _Undecodable:
    """What the wrapped deserializer returns for bytes that are not the request message."""

    __slots__ = ("error", "message_name")

    def __init__(self, message_name: str, error: Exception) -> None:
        self.message_name = message_name
        self.error = error

    def to_error(self) -> InvalidArgumentError:
        description = f"not a valid {self.message_name}: {echoed(str(self.error))}"
        return InvalidArgumentError([FieldViolation(REQUEST_FIELD, description)])


class UndecodableRequestError(InvalidArgumentError):
    """A request stream reached a message that did not decode."""


def _guarded(deserializer: Callable[[bytes], object]) -> Callable[[bytes], Any]:
    # The generated code passes `Message.FromString`: its class names the message.
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    message_name: str = getattr(descriptor, "full_name", "request message")

    def deserialize(data: bytes) -> object:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, RecursionError) as error:  # too deep a nesting is a RecursionError
            return _Undecodable(message_name, error)

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
