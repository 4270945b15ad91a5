"""The aiohttp application: every annotated v1 RPC as JSON, server streams as Server-Sent Events, the page at `/`.

A route calls the very servicer object the gRPC server serves (no second
implementation): the request is built from the query string or the JSON body,
the servicer runs with an HttpContext standing for grpc's, and what it
answers, or aborts with, goes out as JSON. It runs in the gRPC server's event
loop (service/server.py `serve(also_serve=...)`, dompromise/http/serve.py).

Auth is a hook: `auth_check(authorization, scope)` gets the request's
Authorization header (None when absent) and the RPC's scope (the gRPC scope
table's, service/auth.py), and refuses by raising AuthRejected; `serve
--auth-keys` wires the key ring (http/auth.py).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import pathlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio
from aiohttp import web
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from dompromise import limits
from dompromise.errors import DompromiseError, InvalidArgumentError
from dompromise.http.convert import (
    fill_path_fields,
    message_from_body,
    message_from_dict,
    query_document,
    response_json,
    status_json,
    status_of_error,
    status_of_grpc,
)
from dompromise.http.routes import Route, annotated_routes
from dompromise.service.errors import to_status

log = logging.getLogger(__name__)
STATIC = pathlib.Path(__file__).resolve().parent / "static"
# What /static/ serves: the page's files (no subfolders).
STATIC_FILES = frozenset(path.name for path in STATIC.iterdir() if path.is_file())
JSON = "application/json"
# Seconds between SSE comments on a quiet stream: proxies and browsers keep the connection.
SSE_KEEPALIVE_SECONDS = 15.0
# The log position an answer reflects, as the gRPC side's trailing metadata says it.
POSITION_HEADER = "x-dompromise-position"
LOG_ID_HEADER = "x-dompromise-log-id"
# The key of a Server-Sent Events request, whose EventSource cannot send an Authorization header (RFC 6750 2.3).
ACCESS_TOKEN_PARAMETER = "access_token"
MIN_POSITION_HEADER = "x-dompromise-min-position"
# The tasks serving Server-Sent Events streams, cancelled on shutdown.
STREAMS = web.AppKey("streams", set[asyncio.Task[Any]])


class AuthRejected(Exception):
    """Raised by an auth check: UNAUTHENTICATED (no or bad credentials) or PERMISSION_DENIED (scope missing)."""

    def __init__(self, code: int, message: str) -> None:
        assert code in (code_pb2.UNAUTHENTICATED, code_pb2.PERMISSION_DENIED), code
        super().__init__(message)
        self.code = code


AuthCheck = Callable[[str | None, str], Awaitable[None] | None]
# The replica's (log position, log id), sent as headers with every answer.
PositionOf = Callable[[], tuple[int, str]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Waits for the request's x-dompromise-min-position (service/consistency.py); False: it aborted the call.
MinPosition = Callable[[Any], Awaitable[bool]]


class HttpAbort(grpc.aio.AbortError):
    """A servicer aborted: carries the google.rpc.Status it aborted with."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


class HttpContext:
    """Stands for grpc.aio.ServicerContext in a servicer called over HTTP: what the servicers use of it."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._trailing: tuple[tuple[str, str | bytes], ...] = ()

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Sequence[tuple[str, str | bytes]] = ()
    ) -> None:
        raise HttpAbort(status_pb2.Status(code=code.value[0], message=details))

    async def abort_with_status(self, status: grpc.Status) -> None:
        raise HttpAbort(status_of_grpc(status))

    def trailing_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self._trailing

    def set_trailing_metadata(self, trailing_metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self._trailing = tuple(trailing_metadata)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple((key.lower(), value) for key, value in self._request.headers.items())

    def time_remaining(self) -> float | None:
        return None

    async def send_initial_metadata(self, initial_metadata: Sequence[tuple[str, str | bytes]]) -> None:
        return None

    def peer(self) -> str:
        return str(self._request.remote)

    def cancelled(self) -> bool:
        return False


def error_response(status: status_pb2.Status) -> web.Response:
    http_status, body = status_json(status)
    return web.Response(status=http_status, body=body, content_type=JSON)


class RouteHandler:
    """One route: builds the request, checks auth, calls the servicer, answers JSON (or SSE for a stream)."""

    def __init__(
        self,
        route: Route,
        servicer: object,
        position: PositionOf,
        auth: AuthCheck | None,
        min_position: MinPosition | None = None,
    ):
        self.route = route
        self._method = getattr(servicer, route.method_name)
        self.position = position
        self.auth = auth
        self._min_position = min_position

    async def _at_min_position(self, request: web.Request, context: HttpContext) -> None:
        """Waits for x-dompromise-min-position when the request sends it (HttpAbort when it is not reached)."""
        if self._min_position is not None and MIN_POSITION_HEADER in request.headers:
            await self._min_position(context)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            await self._check_auth(request)
            message = await self._request_message(request)
        except AuthRejected as rejected:
            return error_response(status_pb2.Status(code=rejected.code, message=str(rejected)))
        except InvalidArgumentError as error:
            return error_response(status_of_error(error))
        if self.route.server_streaming:
            return await self._stream(request, message)
        return await self._unary(request, message)

    async def _check_auth(self, request: web.Request) -> None:
        if self.auth is None:
            return
        authorization = request.headers.get("Authorization")
        if authorization is None and self.route.server_streaming and ACCESS_TOKEN_PARAMETER in request.query:
            authorization = f"Bearer {request.query[ACCESS_TOKEN_PARAMETER]}"  # EventSource sends no headers
        outcome = self.auth(authorization, self.route.scope)
        if inspect.isawaitable(outcome):
            await outcome

    async def _request_message(self, request: web.Request) -> Message:
        message = self.route.request_type()
        if self.route.body:
            message_from_body(await request.read(), message)
        else:
            parameters = [(name, value) for name, value in request.query.items() if name != ACCESS_TOKEN_PARAMETER]
            message_from_dict(query_document(message.DESCRIPTOR, parameters), message)
        fill_path_fields(message, request.match_info)
        return message

    def headers(self) -> dict[str, str]:
        """The position headers of an answer (or of an error a servicer aborted with)."""
        position, log_id = self.position()
        return {POSITION_HEADER: str(position), LOG_ID_HEADER: log_id}

    async def _unary(self, request: web.Request, message: Message) -> web.Response:
        context = HttpContext(request)
        try:
            await self._at_min_position(request, context)
            answer = await self._method(message, context)
        except HttpAbort as aborted:
            response = error_response(aborted.status)
            response.headers.update(self.headers())
            return response
        return web.Response(body=response_json(answer), content_type=JSON, headers=self.headers())

    async def _stream(self, request: web.Request, message: Message) -> web.StreamResponse:
        """Server-Sent Events: one `data:` JSON message per answer; an abort is an `error` event, then the end."""
        context = HttpContext(request)
        try:
            await self._at_min_position(request, context)
        except HttpAbort as aborted:
            return error_response(aborted.status)
        task = asyncio.current_task()
        if task is not None:  # cancelled on shutdown (_cancel_streams): a quiet stream would outlive the loop
            request.app[STREAMS].add(task)
        answers: AsyncGenerator[Any, None] = self._method(message, context)
        response: web.StreamResponse | None = None
        try:
            while True:
                try:
                    answer = await asyncio.wait_for(anext(answers), SSE_KEEPALIVE_SECONDS)
                except TimeoutError:
                    if response is not None:
                        await response.write(b": keep-alive\n\n")
                    continue
                except StopAsyncIteration:
                    break
                if response is None:
                    response = await self._start_stream(request)
                if isinstance(answer, bytes):  # WatchAvailability's answers come encoded (service/availability.py)
                    answer = self.route.response_type.FromString(answer)
                await response.write(b"data: " + response_json(answer) + b"\n\n")
        except HttpAbort as aborted:
            if response is None:
                return error_response(aborted.status)
            _, body = status_json(aborted.status)
            await response.write(b"event: error\ndata: " + body + b"\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        finally:
            request.app[STREAMS].discard(task)
            await answers.aclose()
        if response is None:
            response = await self._start_stream(request)
        return response

    async def _start_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **self.headers()}
        )
        await response.prepare(request)
        return response


def _line_refusal(request: web.Request) -> web.Response | None:
    """414 as Status JSON for a request line over HTTP_REQUEST_LINE_BYTES_MAX (aiohttp reads up to
    HTTP_LINE_BYTES_READ, serve.py); None when it is within."""
    line_bytes = len(request.method) + len(request.raw_path) + len(" HTTP/1.1")
    if line_bytes <= limits.HTTP_REQUEST_LINE_BYTES_MAX:
        return None
    status = status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED,
        message=f"request line of {line_bytes} bytes is over HTTP_REQUEST_LINE_BYTES_MAX "
        f"({limits.HTTP_REQUEST_LINE_BYTES_MAX}): POST big batches",
    )
    _, body = status_json(status)
    return web.Response(status=414, body=body, content_type=JSON)


def _http_error_response(request: web.Request, error: web.HTTPException) -> web.Response:
    code = {
        404: code_pb2.NOT_FOUND,
        405: code_pb2.UNIMPLEMENTED,
        413: code_pb2.RESOURCE_EXHAUSTED,
    }.get(error.status, code_pb2.INVALID_ARGUMENT)
    status = status_pb2.Status(code=code, message=f"{request.method} {request.path}: {error.reason}")
    _, body = status_json(status)
    allow = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
    return web.Response(status=error.status, body=body, content_type=JSON, headers=allow)


def guarded(handler: Handler) -> Handler:
    """The handler with what every route answers alike: a request line over its limit, aiohttp's own refusals (no
    such route, wrong method, body too large) and errors escaping the handler, all as google.rpc.Status JSON.

    A wrapper per route rather than an aiohttp middleware: with no middleware aiohttp calls the handler directly,
    without building a middleware chain around each request (the counter's lookup is a few microseconds).
    """

    @functools.wraps(handler)
    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        refused = _line_refusal(request)
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            return _http_error_response(request, error)
        except DompromiseError as error:  # from our own code outside a servicer (none expected): mapped like gRPC
            return error_response(status_of_grpc(to_status(error)))
        except Exception:
            # A bug: logged whole; the caller learns only that it happened, as over gRPC.
            log.exception("unexpected error serving %s %s", request.method, request.path)
            return error_response(
                status_pb2.Status(code=code_pb2.INTERNAL, message="internal error (logged on the server)")
            )

    return guarded_handler


async def _no_route(request: web.Request) -> web.StreamResponse:
    """The last route, any method and path: 405 where another route has the path, else 404."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


async def _cancel_streams(app: web.Application) -> None:
    """on_shutdown: ends the open Server-Sent Events streams. aiohttp waits for a running handler, then leaves it;
    a stream waiting for its next change would be destroyed pending with the loop."""
    streams: set[asyncio.Task[Any]] = app[STREAMS]
    for task in list(streams):
        task.cancel()


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _static(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name)


def create_app(
    servicers: Mapping[str, object],
    position: PositionOf,
    auth_check: AuthCheck | None = None,
    min_position: MinPosition | None = None,
    handler_of: Callable[[RouteHandler], Handler] | None = None,
) -> web.Application:
    """The HTTP app over these servicers (service full name -> the object the gRPC server serves).

    `position()` is the replica's (log position, log id), sent as headers with every answer.
    `handler_of(route_handler)` is what answers a route (the route handler's `handle` if not given):
    availability_get.py's for the counter's lookup.
    """
    app = web.Application(client_max_size=limits.HTTP_BODY_BYTES_MAX)
    app[STREAMS] = set()
    app.on_shutdown.append(_cancel_streams)
    for route in annotated_routes():
        servicer = servicers.get(route.service_name)
        if servicer is None:
            continue
        handler = RouteHandler(route, servicer, position, auth_check, min_position)
        answer = handler_of(handler) if handler_of is not None else handler.handle
        app.router.add_route(route.verb, route.aiohttp_path, guarded(answer))
    app.router.add_get("/", guarded(_page))
    app.router.add_get("/static/{name}", guarded(_static))
    app.router.add_route("*", "/{tail:.*}", guarded(_no_route))  # last: it matches any path
    return app
