"""`serve --http-port`: the HTTP/JSON app started beside the gRPC server, in its event loop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from dompromise import limits
from dompromise.http.app import AuthCheck, create_app
from dompromise.http.availability_get import handler_over
from dompromise.replica.protocol import Replica
from dompromise.service.server import AlsoServe, BuiltServer

log = logging.getLogger(__name__)
# Seconds open HTTP requests (and Server-Sent Events streams) get to finish on shutdown.
HTTP_SHUTDOWN_SECONDS = 2.0
# The longest request line aiohttp reads: past HTTP_REQUEST_LINE_BYTES_MAX up to this, answered 414 as Status JSON
# (app.py guarded); past this, aiohttp's own 400.
HTTP_LINE_BYTES_READ = 4 * limits.HTTP_REQUEST_LINE_BYTES_MAX


def app_of(built: BuiltServer, replica: Replica, auth_check: AuthCheck | None = None) -> web.Application:
    """The HTTP app over a built server's servicers and its replica's position."""

    def position() -> tuple[int, str]:
        return replica.engine.log_position, replica.log_id

    min_position = None if built.consistency is None else built.consistency.serve_at_min_position
    return create_app(built.servicers, position, auth_check, min_position, handler_over(replica.engine))


async def start_http(
    built: BuiltServer,
    replica: Replica,
    host: str,
    port: int,
    auth_check: AuthCheck | None = None,
    reuse_port: bool = False,
) -> tuple[web.AppRunner, int]:
    """Listens on host:port (0: a free port); returns the runner (cleanup() stops it) and the bound port.
    `reuse_port`: the port is shared with the other workers of `serve --workers` (SO_REUSEPORT)."""
    app = app_of(built, replica, auth_check)
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=HTTP_SHUTDOWN_SECONDS,
        # Read past the limit, so a longer request line gets guarded's Status JSON, not aiohttp's text.
        max_line_size=HTTP_LINE_BYTES_READ,
    )
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
    return runner, int(runner.addresses[0][1])


def also_serve_http(
    host: str,
    port: int,
    ready: Callable[[int], None] | None = None,
    auth_check: AuthCheck | None = None,
    reuse_port: bool = False,
) -> AlsoServe:
    """service/server.py serve()'s `also_serve`: the HTTP app on host:port; `ready(port)` once it listens."""

    async def start(built: BuiltServer, replica: Replica) -> Callable[[], Awaitable[None]]:
        runner, bound = await start_http(built, replica, host, port, auth_check, reuse_port)
        log.info("HTTP/JSON and the counter page on %s:%d", host, bound)
        if ready is not None:
            ready(bound)
        return runner.cleanup

    return start
