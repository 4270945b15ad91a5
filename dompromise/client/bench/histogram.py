"""Latency histograms: HdrHistogram in microseconds, merged across processes.

Each client process records into its own histograms and sends them to the
parent encoded (compressed, base64: a few hundred bytes); the parent decodes
and adds them. Merging histograms, not averaging percentiles, is what makes a
p99 over several processes a real p99.
"""

from __future__ import annotations

from typing import Protocol

# hdrh ships no type information (no py.typed, no stubs): _Histogram below states what is used of it.
from hdrh.histogram import HdrHistogram

# 1 us to 60 s at 3 significant digits: 0.1% resolution over the whole range.
LATENCY_US_MIN = 1
LATENCY_US_MAX = 60_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99_9": 99.9}


class _Histogram(Protocol):
    """The part of hdrh's HdrHistogram used here, with the types it has."""

    def record_value(self, value: int) -> bool: ...
    def get_total_count(self) -> int: ...
    def get_value_at_percentile(self, percentile: float) -> int: ...
    def get_mean_value(self) -> float: ...
    def get_max_value(self) -> int: ...
    def encode(self) -> bytes: ...
    def add(self, other_hist: _Histogram) -> None: ...


class Latencies:
    """One HdrHistogram of latencies in microseconds; values beyond the range are clamped."""

    __slots__ = ("histogram",)

    def __init__(self, histogram: _Histogram | None = None) -> None:
        self.histogram: _Histogram = histogram or HdrHistogram(LATENCY_US_MIN, LATENCY_US_MAX, SIGNIFICANT_DIGITS)

    def record_seconds(self, seconds: float) -> None:
        microseconds = int(seconds * 1_000_000)
        self.histogram.record_value(min(max(microseconds, LATENCY_US_MIN), LATENCY_US_MAX))

    @property
    def count(self) -> int:
        return self.histogram.get_total_count()

    def encode(self) -> bytes:
        return self.histogram.encode()

    @classmethod
    def decode(cls, encoded: bytes) -> Latencies:
        return cls(HdrHistogram.decode(encoded))

    def add(self, other: Latencies) -> None:
        if other.count:
            self.histogram.add(other.histogram)

    def summary_ms(self) -> dict[str, float | None]:
        """Percentiles, mean and max in milliseconds (None when nothing was recorded)."""
        if not self.count:
            return {name: None for name in (*PERCENTILES, "mean", "max")}
        summary: dict[str, float | None] = {
            name: self.histogram.get_value_at_percentile(p) / 1000 for name, p in PERCENTILES.items()
        }
        summary["mean"] = round(self.histogram.get_mean_value() / 1000, 3)
        summary["max"] = self.histogram.get_max_value() / 1000
        return summary


def merge(encoded: list[bytes]) -> Latencies:
    merged = Latencies()
    for item in encoded:
        merged.add(Latencies.decode(item))
    return merged
