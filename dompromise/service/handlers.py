"""Method handlers and their behaviours, whatever their shape (unary or streaming).

The call pipeline (service/pipeline.py) wraps each method's behaviour once; the
interceptors left (request ids) wrap a handler with `wrap_around`: one place
knows the four shapes.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

import grpc
import grpc.aio

Context = grpc.aio.ServicerContext[Any, Any]
# A behaviour as grpc.aio calls it: a coroutine function (unary answer, or a stream written with
# context.write) or an async generator function (a stream that yields).
Behaviour = Callable[[Any, Context], Any]
State = TypeVar("State")
if TYPE_CHECKING:
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:  # grpc's class is generic in its stubs only
    Handler = grpc.RpcMethodHandler


def behaviour_of(handler: Handler) -> Behaviour:
    """The one behaviour a handler carries."""
    for behaviour in (handler.unary_unary, handler.unary_stream, handler.stream_unary, handler.stream_stream):
        if behaviour is not None:
            return cast(Behaviour, behaviour)
    raise AssertionError("a method handler carries a behaviour")


def with_behaviour(handler: Handler, behaviour: Behaviour) -> Handler:
    """`handler` with `behaviour` in place of its own (same shape, same (de)serializers)."""
    if handler.unary_unary is not None:
        build = grpc.unary_unary_rpc_method_handler
    elif handler.unary_stream is not None:
        build = grpc.unary_stream_rpc_method_handler
    elif handler.stream_unary is not None:
        build = grpc.stream_unary_rpc_method_handler
    else:
        build = grpc.stream_stream_rpc_method_handler
    return build(
        behaviour,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def is_stream_answer(handler: Handler) -> bool:
    return handler.unary_stream is not None or handler.stream_stream is not None


def wrap_around(
    handler: Handler,
    before: Callable[[Context], State],
    after: Callable[[Context, State, BaseException | None], None],
) -> Handler:
    """`handler` whose calls first run `before(context)` and end with `after(context, what before returned,
    the error or None)`, for every shape. Both are plain functions: no extra coroutine on the hot path."""
    behaviour = behaviour_of(handler)
    if inspect.isasyncgenfunction(behaviour):

        async def yields(request: Any, context: Context) -> AsyncIterator[Any]:
            state = before(context)
            error: BaseException | None = None
            try:
                async for response in behaviour(request, context):
                    yield response
            except BaseException as raised:
                error = raised
                raise
            finally:
                after(context, state, error)

        return with_behaviour(handler, yields)

    async def answers(request: Any, context: Context) -> Any:
        state = before(context)
        error: BaseException | None = None
        try:
            return await behaviour(request, context)
        except BaseException as raised:
            error = raised
            raise
        finally:
            after(context, state, error)

    return with_behaviour(handler, answers)


class PlainStatus(grpc.Status):
    """A status with a code and details (and optional trailing metadata, e.g. grpc-status-details-bin)."""

    def __init__(
        self, code: grpc.StatusCode, details: str, trailing_metadata: tuple[tuple[str, str | bytes], ...] = ()
    ) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata
