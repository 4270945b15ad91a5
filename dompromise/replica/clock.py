"""The clocks a replica's log can follow: the wall clock (always, unless asked) or a simulated one.

A replica stamps each command with its clock (parts.LogClock), and holds
expire, supply ETAs are judged and promises are made by that log time; so a
replica given a SimulatedClock lives entirely in simulated time: `serve
--clock simulated --start 2026-11-23T08:00:00+01:00 [--speed N]`, or the
simulation (dompromise/simulate/) in-process, which moves it with `advance`.

Simulated time never runs backwards: `advance` refuses negative steps, and
the log clock never stamps older than what it has applied.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

NS_PER_SECOND = 1_000_000_000

CLOCK_WALL = "wall"
CLOCK_SIMULATED = "simulated"
CLOCK_KINDS = (CLOCK_WALL, CLOCK_SIMULATED)


class WallClock:
    """The system clock (time.time_ns): what a replica follows unless told otherwise."""

    kind = CLOCK_WALL

    def now_ns(self) -> int:
        return time.time_ns()

    def __call__(self) -> int:
        return time.time_ns()

    def describe(self) -> str:
        return "wall clock"


class SimulatedClock:
    """Simulated time: `start_ns`, plus `speed` simulated seconds per elapsed wall second, plus every `advance`.

    speed 0 stands still between advances (the in-process simulation);
    speed 1 runs at wall pace from the start instant (a server tried as of
    another day); speed 60 runs a simulated minute per second.
    """

    kind = CLOCK_SIMULATED

    def __init__(self, start_ns: int, speed: float = 0.0, monotonic_ns: Callable[[], int] = time.monotonic_ns) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.start_ns = start_ns
        self.speed = speed
        self._monotonic_ns = monotonic_ns
        self._started_monotonic_ns = monotonic_ns()
        self._advanced_ns = 0

    def now_ns(self) -> int:
        if self.speed == 0:
            return self.start_ns + self._advanced_ns
        elapsed_ns = self._monotonic_ns() - self._started_monotonic_ns
        return self.start_ns + self._advanced_ns + int(elapsed_ns * self.speed)

    def __call__(self) -> int:
        return self.now_ns()

    def advance(self, seconds: float = 0.0, nanoseconds: int = 0) -> int:
        """Moves simulated time on by `seconds` plus `nanoseconds` (never back); returns the new now."""
        step_ns = int(seconds * NS_PER_SECOND) + nanoseconds
        if step_ns < 0:
            raise ValueError(f"a simulated clock never goes back (step {step_ns} ns)")
        self._advanced_ns += step_ns
        return self.now_ns()

    def advance_to(self, time_ns: int) -> int:
        """Moves simulated time on to `time_ns` if that is later; returns the new now."""
        now_ns = self.now_ns()
        if time_ns > now_ns:
            self._advanced_ns += time_ns - now_ns
        return self.now_ns()

    def describe(self) -> str:
        start = dt.datetime.fromtimestamp(self.start_ns / NS_PER_SECOND, dt.UTC).isoformat()
        return f"simulated clock from {start} at speed {self.speed:g}"


Clock = WallClock | SimulatedClock


def parse_start(text: str) -> int:
    """An ISO 8601 instant with its UTC offset (2026-11-23T08:00:00+01:00) in ns since the epoch; ValueError else."""
    instant = dt.datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write e.g. 2026-11-23T08:00:00+01:00)")
    return int(instant.timestamp()) * NS_PER_SECOND + instant.microsecond * 1_000
