"""A real server with production options (TLS, keys, metrics, shedding) on its own loop thread."""

from __future__ import annotations

import asyncio
import threading

from dompromise.service.metrics import serve_metrics
from dompromise.service.server import build_server_with_additions, set_serving
from dompromise.service.serving import ServingOptions


class ProductionServer:
    """Like conftest.ServerThread, with ServingOptions; the metrics page on its own port when asked."""

    def __init__(self, replica, options: ServingOptions):
        self.replica = replica
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.metrics_port = None
        self._metrics = None
        self.built, self.additions = self.call(self._start())
        self.port = self.built.port
        self.target = f"127.0.0.1:{self.port}"

    async def _start(self):
        built, added = build_server_with_additions(self.replica, "127.0.0.1:0", options=self.options)
        await self.replica.start()
        await built.server.start()
        await set_serving(built.health, True)
        if added.registry is not None:
            self._metrics = await serve_metrics(added.registry, "127.0.0.1", 0)
            self.metrics_port = self._metrics.sockets[0].getsockname()[1]
        return built, added

    async def _close_metrics(self) -> None:
        if self._metrics is not None:
            self._metrics.close()

    def call(self, coroutine, timeout_seconds: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_seconds)

    def stop(self) -> None:
        if self._metrics is not None:  # closed on its loop: asyncio servers are not thread-safe
            self.call(self._close_metrics())
        self.call(self.built.server.stop(0))
        self.call(self.replica.stop())
        self.replica.close()
        self.call(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
