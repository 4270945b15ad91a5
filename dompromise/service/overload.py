"""Load shedding: a bounded number of RPCs in flight, the rest refused at once.

Past INFLIGHT_RPCS_MAX calls in flight in one process (or a method's own
bound in limits.INFLIGHT_PER_METHOD_MAX: the heavy ones), a new call is
answered RESOURCE_EXHAUSTED at once, with google.rpc.RetryInfo (back off
SHED_RETRY_DELAY_MS) and ErrorInfo reason OVERLOADED, instead of queueing
behind the others until its deadline passes. Server streams (watches) are
not counted here: they live for hours and have their own bounds
(WATCH_STREAMS_MAX, RESERVATION_EVENT_STREAMS_MAX). Health checking is
never shed: a probe must see a busy server as alive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from dompromise import limits
from dompromise.service.errors import ERROR_DOMAIN
from dompromise.service.handlers import Context, Handler, is_stream_answer, refusing, wrap_around

# How long a shed client should wait before retrying, in milliseconds.
SHED_RETRY_DELAY_MS = 50
NEVER_SHED_PREFIXES = ("/grpc.health.v1.Health/",)


def _pack(message: error_details_pb2.RetryInfo | error_details_pb2.ErrorInfo) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def overloaded_status(method: str, limit_name: str, limit: int) -> grpc.Status:
    """RESOURCE_EXHAUSTED with RetryInfo and ErrorInfo(OVERLOADED) naming the bound that was hit."""
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromMilliseconds(SHED_RETRY_DELAY_MS)
    info = error_details_pb2.ErrorInfo(
        reason="OVERLOADED", domain=ERROR_DOMAIN, metadata={"limit_name": limit_name, "limit": str(limit)}
    )
    message = f"server busy: {limit} calls in flight ({limit_name}); retry after {SHED_RETRY_DELAY_MS} ms"
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=[_pack(retry), _pack(info)])
    )


class OverloadInterceptor(grpc.aio.ServerInterceptor):
    """Counts calls in flight, in total and per bounded method; refuses past the bounds (see the module doc)."""

    def __init__(
        self,
        inflight_max: int = limits.INFLIGHT_RPCS_MAX,
        per_method_max: Mapping[str, int] = limits.INFLIGHT_PER_METHOD_MAX,
        on_shed: Callable[[str], None] | None = None,
    ) -> None:
        assert inflight_max >= 1, inflight_max
        self.inflight_max = inflight_max
        self._per_method_max = dict(per_method_max)
        self.inflight = 0
        self._per_method: dict[str, int] = dict.fromkeys(self._per_method_max, 0)
        self._on_shed = on_shed
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        return None if handler is None else self.decide(handler_call_details, handler)

    def decide(self, handler_call_details: grpc.HandlerCallDetails, handler: Handler) -> Handler:
        """`handler` counted, or a refusal when over a bound (for ChainedInterceptor too)."""
        method = handler_call_details.method
        if is_stream_answer(handler) or method.startswith(NEVER_SHED_PREFIXES):
            return handler
        refusal = self._refusal(method)
        if refusal is not None:
            if self._on_shed is not None:
                self._on_shed(method)
            return refusing(handler, refusal)
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._counted(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _refusal(self, method: str) -> grpc.Status | None:
        if self.inflight >= self.inflight_max:
            return overloaded_status(method, "INFLIGHT_RPCS_MAX", self.inflight_max)
        bound = self._per_method_max.get(method)
        if bound is not None and self._per_method[method] >= bound:
            return overloaded_status(method, "INFLIGHT_PER_METHOD_MAX", bound)
        return None

    def _counted(self, method: str, handler: Handler) -> Handler:
        bounded = method in self._per_method

        def enter(context: Context) -> None:
            self.inflight += 1
            if bounded:
                self._per_method[method] += 1

        def leave(context: Context, _state: None, error: BaseException | None) -> None:
            self.inflight -= 1
            if bounded:
                self._per_method[method] -= 1

        return wrap_around(handler, enter, leave)
