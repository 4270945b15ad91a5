"""Helpers for tests that run dompromise as a real child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

# Bounds for every wait here, in seconds.
START_SECONDS_MAX = 30
STOP_SECONDS_MAX = 15


def dompromise(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dompromise", *args], capture_output=True, text=True, timeout=timeout)


class Serving:
    """`dompromise serve --port 0` in a child process, ready once it prints its port."""

    def __init__(self, *args: str):
        # stderr goes to a file, never a pipe nobody drains (a chatty server would block).
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dompromise", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        deadline = time.monotonic() + START_SECONDS_MAX
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "serving on" in line or not line:
                break
        if "serving on" not in line:
            self.process.kill()
            self.process.wait(STOP_SECONDS_MAX)
            raise AssertionError(f"server did not start: {self.stderr_text()}")
        self.target = line.strip().rsplit(" ", 1)[-1]

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_SECONDS_MAX)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing graceful."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_SECONDS_MAX)


def until(condition, what: str, seconds: float = 30.0, interval_seconds: float = 0.02):
    """condition()'s first truthy value, polled every interval_seconds; AssertionError
    naming `what` if there is none within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_seconds)
    raise AssertionError(f"not within {seconds}s: {what}")


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` holds open (from /proc)."""
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found
