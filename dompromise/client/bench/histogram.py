"""Latency histograms: HdrHistogram in microseconds, merged across processes.

Each client process records into its own histograms and sends them to the
parent encoded (compressed, base64: a few hundred bytes); the parent decodes
and adds them. Merging histograms, not averaging percentiles, is what makes a
p99 over several processes a real p99.
"""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

# 1 us to 60 s at 3 significant digits: 0.1% resolution over the whole range.
LATENCY_US_MIN = 1
LATENCY_US_MAX = 60_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99_9": 99.9}


class Latencies:
    """One HdrHistogram of latencies in microseconds; values beyond the range are clamped."""

    __slots__ = ("histogram",)

    def __init__(self, histogram: HdrHistogram | None = None):
        self.histogram = histogram or HdrHistogram(LATENCY_US_MIN, LATENCY_US_MAX, SIGNIFICANT_DIGITS)

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

    def summary_ms(self) -> dict:
        """Percentiles, mean and max in milliseconds (None when nothing was recorded)."""
        if not self.count:
            return {name: None for name in (*PERCENTILES, "mean", "max")}
        summary = {name: self.histogram.get_value_at_percentile(p) / 1000 for name, p in PERCENTILES.items()}
        summary["mean"] = round(self.histogram.get_mean_value() / 1000, 3)
        summary["max"] = self.histogram.get_max_value() / 1000
        return summary


def merge(encoded: list[bytes]) -> Latencies:
    merged = Latencies()
    for item in encoded:
        merged.add(Latencies.decode(item))
    return merged
