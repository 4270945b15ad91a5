"""The simulated clock in-process, and `serve --clock simulated` saying so in answers and health checks."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dompromise.replica.clock import SimulatedClock, WallClock, parse_start
from dompromise.v1 import network_pb2, network_pb2_grpc
from tests.processes import Serving, dompromise

START = "2026-11-23T08:00:00+01:00"
START_NS = 1_795_417_200 * 10**9


def test_start_is_parsed_with_its_offset_and_refused_without():
    assert parse_start(START) == START_NS
    with pytest.raises(ValueError, match="UTC offset"):
        parse_start("2026-11-23T08:00:00")


def test_simulated_clock_stands_still_at_speed_0_and_moves_by_advance_only_forwards():
    clock = SimulatedClock(START_NS)
    assert clock() == clock.now_ns() == START_NS
    assert clock.advance(seconds=90) == START_NS + 90 * 10**9
    assert clock.advance_to(START_NS) == START_NS + 90 * 10**9  # never back
    assert clock.advance_to(START_NS + 3_600 * 10**9) == START_NS + 3_600 * 10**9
    with pytest.raises(ValueError):
        clock.advance(seconds=-1)


def test_simulated_clock_runs_at_its_speed():
    wall = [0]
    clock = SimulatedClock(START_NS, speed=60, monotonic_ns=lambda: wall[0])
    wall[0] = 2 * 10**9  # two wall seconds: two simulated minutes
    assert clock.now_ns() == START_NS + 120 * 10**9
    assert WallClock().kind == "wall" and clock.kind == "simulated"


def test_serve_on_a_simulated_clock_says_so_in_metadata_and_health():
    server = Serving("--in-memory", "--clock", "simulated", "--start", START, "--speed", "0")
    try:
        with grpc.insecure_channel(server.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            answer, call = health.Check.with_call(health_pb2.HealthCheckRequest(), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            assert ("x-dompromise-clock", "simulated") in tuple(call.trailing_metadata())
            nodes = network_pb2_grpc.NetworkServiceStub(channel)
            _, call = nodes.ListNodes.with_call(network_pb2.ListNodesRequest(), timeout=5)
            assert ("x-dompromise-clock", "simulated") in tuple(call.trailing_metadata())
    finally:
        assert server.stop() == 0
    assert "simulated clock from 2026-11-23T07:00:00+00:00" in server.stderr_text()


def test_serve_on_the_wall_clock_adds_no_clock_metadata():
    server = Serving("--in-memory")
    try:
        with grpc.insecure_channel(server.target) as channel:
            nodes = network_pb2_grpc.NetworkServiceStub(channel)
            _, call = nodes.ListNodes.with_call(network_pb2.ListNodesRequest(), timeout=5)
            assert "x-dompromise-clock" not in dict(call.trailing_metadata())
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--clock", "simulated"], "needs --start"),
        (["--clock", "simulated", "--start", "2026-11-23T08:00:00"], "UTC offset"),
        (["--clock", "simulated", "--start", START, "--speed", "-1"], "--speed"),
        (["--start", START], "needs --clock simulated"),
    ],
)
def test_serve_refuses_a_bad_clock(args, message):
    finished = dompromise("serve", "--in-memory", "--port", "0", *args)
    assert finished.returncode == 2
    assert message in finished.stderr
