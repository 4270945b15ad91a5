"""A real `redis-server` of the test's own: free port, temp dir, stopped in teardown. Never 6379.

The `redis_server` fixture (tests/conftest.py) starts one per test.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pytest

# Bounds for every wait here, in seconds.
START_SECONDS_MAX = 15
STOP_SECONDS_MAX = 15
SHARED_REDIS_PORT = 6379

needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on PATH")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert port != SHARED_REDIS_PORT
    return port


class RedisServer:
    """redis-server on 127.0.0.1:<free port> with its files in `directory`."""

    def __init__(self, directory: str, appendonly: bool = True, appendfsync: str = "always"):
        self.directory = directory
        self.port = free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Starts (or restarts, same dir and port) and waits until it answers PING."""
        import redis

        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.directory,
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                self.appendfsync,
                "--maxmemory-policy",
                "noeviction",
                "--logfile",
                "redis.log",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + START_SECONDS_MAX
        try:
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError(f"redis-server on {self.port} did not start")

    def kill(self) -> None:
        """SIGKILL: nothing flushed that was not flushed already."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_SECONDS_MAX)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS_MAX)
            except subprocess.TimeoutExpired:
                self.kill()
