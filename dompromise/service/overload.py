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

from collections.abc import Callable, Mapping

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from dompromise import limits
from dompromise.service.errors import ERROR_DOMAIN

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


def is_shed_exempt(method: str, stream_answer: bool) -> bool:
    """Whether calls of `method` are never counted nor shed: streams of answers and health checks."""
    return stream_answer or method.startswith(NEVER_SHED_PREFIXES)


class Overload:
    """Counts calls in flight, in total and per bounded method; refuses past the bounds (see the module doc).
    The call pipeline (service/pipeline.py) enters every counted call and leaves it once answered."""

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

    def is_bounded(self, method: str) -> bool:
        """Whether `method` has its own bound (limits.INFLIGHT_PER_METHOD_MAX)."""
        return method in self._per_method

    def enter(self, method: str, bounded: bool) -> grpc.Status | None:
        """Counts a call in (None), or the status that refuses it when over a bound (not counted)."""
        if self.inflight >= self.inflight_max:
            return self._shed(method, "INFLIGHT_RPCS_MAX", self.inflight_max)
        if bounded:
            bound = self._per_method_max[method]
            if self._per_method[method] >= bound:
                return self._shed(method, "INFLIGHT_PER_METHOD_MAX", bound)
            self._per_method[method] += 1
        self.inflight += 1
        return None

    def leave(self, method: str, bounded: bool) -> None:
        """A call `enter` counted in is answered."""
        self.inflight -= 1
        if bounded:
            self._per_method[method] -= 1

    def _shed(self, method: str, limit_name: str, limit: int) -> grpc.Status:
        if self._on_shed is not None:
            self._on_shed(method)
        return overloaded_status(method, limit_name, limit)
