"""`--log-format json`: one JSON object per line, with the request id and trace id of the RPC being served.

A call's request id is its `x-request-id` metadata (so a caller's id
follows it into our logs), else one made here. The trace id is the
OpenTelemetry span's when tracing is on (`dompromise[otel]`), else the
`traceparent` header's (W3C Trace Context) if the caller sent one.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

from dompromise.service.handlers import Context, Handler, wrap_around

REQUEST_ID_KEY = "x-request-id"
TRACEPARENT_KEY = "traceparent"
# A caller's request id longer than this is cut: it goes into every log line of the call.
REQUEST_ID_LENGTH_MAX = 128

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("dompromise_request_id", default="")
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("dompromise_trace_id", default="")
# Set by service/tracing.py when OpenTelemetry is on: the current span's trace id as hex, or "".
current_trace_id: Callable[[], str] | None = None


def _new_request_id() -> str:
    return os.urandom(8).hex()


def _trace_id_of_traceparent(value: str) -> str:
    parts = value.split("-")
    return parts[1] if len(parts) >= 4 and len(parts[1]) == 32 else ""


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, request_id, trace_id (and exc_info)."""

    def format(self, record: logging.LogRecord) -> str:
        trace_id = trace_id_var.get()
        if not trace_id and current_trace_id is not None:
            trace_id = current_trace_id()
        document: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
            "trace_id": trace_id,
        }
        worker = getattr(record, "worker_index", None)
        if worker is not None:
            document["worker"] = worker
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


class RequestIdInterceptor(grpc.aio.ServerInterceptor):
    """Puts the call's request id and trace id where log lines of the call find them; answers the id."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        request_id = trace_id = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == REQUEST_ID_KEY:
                request_id = str(value)[:REQUEST_ID_LENGTH_MAX]
            elif key == TRACEPARENT_KEY:
                trace_id = _trace_id_of_traceparent(str(value))
        request_id = request_id or _new_request_id()

        def enter(context: Context) -> None:
            # The behaviour runs in this task: the variables hold for every log line it writes.
            request_id_var.set(request_id)
            trace_id_var.set(trace_id)

        def leave(context: Context, _state: None, error: BaseException | None) -> None:
            pass

        return wrap_around(handler, enter, leave)


def configure(log_format: str, level: int, worker_index: int | None) -> None:
    """Root logging on stderr: `text` (people) or `json` (one object per line, for collectors)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        if worker_index is not None:
            handler.addFilter(_WorkerFilter(worker_index))
    else:
        worker = "" if worker_index is None else f"[worker {worker_index} pid {os.getpid()}] "
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s " + worker + "%(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


class _WorkerFilter(logging.Filter):
    def __init__(self, worker_index: int) -> None:
        super().__init__()
        self._worker_index = worker_index

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker_index = self._worker_index
        return True
