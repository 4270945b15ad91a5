"""Session-scoped synthetic networks, built once per run.

BENCH_SMOKE=1 shrinks everything so `pytest benchmarks -q --benchmark-disable`
checks every benchmark's answer in a few seconds (CI).
"""

from __future__ import annotations

import os

import pytest

from benchmarks.networks import synthetic_network

SMOKE = os.environ.get("BENCH_SMOKE", "") not in ("", "0")
SEED = 20260101
# (nodes, SKUs). "large" is 20M positions; "demo-like" has the demo network's shape.
LARGE_SHAPE = (20, 2_000) if SMOKE else (200, 100_000)
SERVICE_SHAPE = (20, 2_000) if SMOKE else (200, 10_000)  # what benchmarks/grpc_ceiling.py serves
DEMO_SHAPE = (13, 3_000)


@pytest.fixture(scope="session")
def large():
    return synthetic_network(*LARGE_SHAPE, seed=SEED)


@pytest.fixture(scope="session")
def service_network():
    return synthetic_network(*SERVICE_SHAPE, seed=SEED + 2)


@pytest.fixture(scope="session")
def demo_like():
    return synthetic_network(*DEMO_SHAPE, seed=SEED + 1)


@pytest.fixture(params=["demo_like", "large"])
def network(request):
    return request.getfixturevalue(request.param)
