"""`dompromise bench` against a real server process, and the PostgreSQL baseline's smoke run."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from processes import Serving, dompromise

REPO = pathlib.Path(__file__).resolve().parent.parent
BENCH_SECONDS_MAX = 90


@pytest.fixture(scope="module")
def serving():
    server = Serving("--in-memory")
    yield server
    assert server.stop() == 0


def bench(target: str, tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    path = tmp_path / "bench.json"
    done = dompromise("bench", "--target", target, "--json", str(path), *args, timeout=BENCH_SECONDS_MAX)
    assert done.returncode == 0, done.stderr
    return done, json.loads(path.read_text())


def promise_status(target: str) -> str:
    """What the server answers a one-line PromiseDelivery to a node's postal code: OK or the status code name."""
    import grpc

    from dompromise.v1 import network_pb2, network_pb2_grpc, promise_pb2, promise_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        sku = network_pb2_grpc.NetworkServiceStub(channel).ListSkus(network_pb2.ListSkusRequest(page_size=1)).skus[0]
        node = (
            network_pb2_grpc.NetworkServiceStub(channel).ListNodes(network_pb2.ListNodesRequest(page_size=1)).nodes[0]
        )
        try:
            promise_pb2_grpc.PromiseServiceStub(channel).PromiseDelivery(
                promise_pb2.PromiseDeliveryRequest(
                    lines=[promise_pb2.OrderLine(sku_id=sku.sku_id, quantity=1)], postal_code=node.location.postal_code
                ),
                timeout=10,
            )
        except grpc.RpcError as error:
            return error.code().name
    return "OK"


def assert_sane_latencies(latency: dict) -> None:
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p99_9"] <= latency["max"]


def test_help_explains_itself():
    done = dompromise("bench", "--help")
    assert done.returncode == 0
    for words in (
        "Closed loop",
        "Open loop",
        "coordinated omission",
        "--contended",
        "oversell",
        "UNIMPLEMENTED",
        "--json",
        "p99.9",
    ):
        assert words in done.stdout, words


def test_closed_loop_mixed_workload(serving, tmp_path):
    done, result = bench(
        serving.target,
        tmp_path,
        "--mix",
        "availability=70,promise=15,reserve=15",
        "--processes",
        "2",
        "--in-flight",
        "4",
        "--duration",
        "1.5",
        "--warmup",
        "0.3",
    )
    assert result["config"]["loop"] == "closed"
    assert result["config"]["processes"] == 2
    availability = result["kinds"]["availability"]
    assert availability["ok"] > 50
    assert availability["failed"] == 0
    assert_sane_latencies(availability["latency_ms"])
    assert_sane_latencies(result["rpcs"]["GetAvailability"]["latency_ms"])
    # Promise is counted as the server answers it, never faked: without the promise engine every
    # call is UNIMPLEMENTED; with it, the destinations the driver picked are ones it promises to.
    promise = result["kinds"]["promise"]
    if promise_status(serving.target) == "UNIMPLEMENTED":
        assert promise["ok"] == 0
        assert set(promise["failed_by_code"]) == {"UNIMPLEMENTED"}
        assert promise["failed_by_code"]["UNIMPLEMENTED"] > 0
    else:
        assert result["setup"]["promise_destination_probes"]["OK"] > 0
        assert promise["ok"] > 0 and promise["failed"] == 0
        assert_sane_latencies(promise["latency_ms"])
    reserve = result["kinds"]["reserve"]
    assert reserve["ok"] > 0 and reserve["failed"] == 0
    resolved = result["rpcs"].get("CommitReservation", {}).get("ok", 0) + result["rpcs"].get(
        "ReleaseReservation", {}
    ).get("ok", 0)
    assert resolved == result["reserve_outcomes"]["held"] > 0
    assert result["rpcs"]["ReserveInventory"]["errors"] == 0
    assert result["operations"]["ok"] == sum(k["ok"] for k in result["kinds"].values())
    assert "[bench]" in done.stderr  # the progress line
    assert "op availability" in done.stdout


def test_open_loop_keeps_its_schedule(serving, tmp_path):
    rate, seconds = 150, 1.5
    _, result = bench(
        serving.target,
        tmp_path,
        "--mix",
        "availability",
        "--rate",
        str(rate),
        "--processes",
        "2",
        "--duration",
        str(seconds),
        "--warmup",
        "0.3",
        "--quiet",
    )
    assert result["config"]["loop"] == "open"
    assert result["open_loop"]["achieved_ops_per_second"] == pytest.approx(rate, rel=0.1)
    availability = result["kinds"]["availability"]
    assert availability["failed"] == 0
    assert availability["ok"] == pytest.approx(rate * seconds, rel=0.05)
    assert_sane_latencies(availability["latency_ms"])
    assert result["open_loop"]["send_lag_ms"]["p50"] is not None


def test_contended_reserves_sell_exactly_the_stock(serving, tmp_path):
    stock, hot = 40, 2
    done, result = bench(
        serving.target,
        tmp_path,
        "--contended",
        str(hot),
        "--stock",
        str(stock),
        "--processes",
        "2",
        "--in-flight",
        "8",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--quiet",
        "--client-cpus",
        str(max(os.sched_getaffinity(0))),
    )
    assert result["client_cpu"]["cpus"] == [max(os.sched_getaffinity(0))]
    assert result["client_cpu"]["us_per_operation"] > 0
    contended = result["contended"]
    assert contended["oversell"] == 0
    # Demand (hundreds of reserves) far exceeds the stock: exactly the stock is held, no more, no less.
    assert contended["reserved_counted"] == contended["reserved_read_back"] == stock * hot
    assert all(s["available_after"] == 0 for s in contended["per_sku"].values())
    assert result["reserve_outcomes"]["short"] > 0
    assert result["kinds"]["reserve"]["failed"] == 0
    assert "OVERSELL 0" in done.stdout


def test_no_server_is_a_clear_error(tmp_path):
    done = dompromise("bench", "--target", "127.0.0.1:9", "--duration", "1", "--quiet")
    assert done.returncode == 2
    assert "no server answers at 127.0.0.1:9" in done.stderr


def test_bad_mix_is_refused():
    done = dompromise("bench", "--mix", "availability=1,lookup=2", "--quiet")
    assert done.returncode == 2
    assert "unknown kind 'lookup'" in done.stderr


def test_histograms_merge_across_processes():
    from dompromise.client.bench.histogram import Latencies, merge

    first, second = Latencies(), Latencies()
    for milliseconds in range(1, 101):
        (first if milliseconds % 2 else second).record_seconds(milliseconds / 1000)
    merged = merge([first.encode(), second.encode()])
    assert merged.count == 100
    summary = merged.summary_ms()
    assert summary["p50"] == pytest.approx(50, rel=0.01)
    assert summary["p99"] == pytest.approx(99, rel=0.01)
    assert summary["max"] == pytest.approx(100, rel=0.01)
    assert merge([]).summary_ms()["p50"] is None


def postgresql_unreachable() -> str:
    try:
        import psycopg
    except ImportError as error:
        return f"psycopg not installed ({error}): pip install -e '.[dev]'"
    try:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3):
            return ""
    except psycopg.OperationalError as error:
        return f"PostgreSQL not reachable at 127.0.0.1:5432 as postgres: {str(error).strip()}"


def test_postgresql_baseline_smoke(tmp_path):
    reason = postgresql_unreachable()
    if reason:
        pytest.skip(reason)
    path = tmp_path / "pg.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.pg_baseline", "--smoke", "--quiet", "--json", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BENCH_SECONDS_MAX,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(path.read_text())
    assert result["failures"] == []
    (entry,) = result["rounds"]
    for side in ("postgresql", "ours"):
        assert entry[side]["oversell"] == 0, side
        assert entry[side]["reserved_total"] == entry[side]["reserved_read_back"] == entry[side]["stock_total"] == 200
        assert entry[side]["attempts_per_second"] > 0
    assert result["postgresql_settings"]["synchronous_commit"]
    assert entry["ratio"] > 0
    assert "ours / PostgreSQL" in done.stdout
    # The fair setting is the default: each server on CPU 0 in the window, the clients on CPU 1, and
    # PostgreSQL's processes given back the affinity they had.
    assert result["pinning"]["pinned"] is True
    assert (result["pinning"]["server_cpu"], result["pinning"]["client_cpu"]) == (0, 1)
    for side in ("postgresql", "ours"):
        full = entry[f"{side}_full"]
        assert full["server"]["affinity_in_window"]["cpus"] == [0], side
        assert full["server"]["pinned_cpus"] == [0], side
        assert full["client_cpu"]["cpus"] == [1], side
        assert entry[side]["client_cpu_us_per_reserve"] > 0, side
        assert full["server"]["cpu_seconds_in_window"] > 0, side
    server = entry["postgresql_full"]["server"]
    assert server["affinity_in_window"]["processes"] > 8  # with the backends of the 2 x 4 connections
    assert server["affinity_after"] == server["affinity_before"]
    assert len(server["affinity_before"]) > 1
    assert "pgbench" not in entry  # --smoke keeps to seconds


def test_postmaster_found_every_time():
    """The postmaster is our backend's parent, read while the backend lives (it ends with the connection)."""
    reason = postgresql_unreachable()
    if reason:
        pytest.skip(reason)
    from benchmarks.pg_baseline import DEFAULT_DSN, postmaster_pid

    found = {postmaster_pid(DEFAULT_DSN) for _ in range(50)}
    assert len(found) == 1
    (pid,) = found
    with open(f"/proc/{pid}/cmdline", "rb") as file:
        assert b"postgres" in file.read()


def test_postgresql_baseline_unpinned_and_pgbench(tmp_path):
    """--no-pin leaves every process where it was; pgbench runs the same transaction, oversell counted."""
    reason = postgresql_unreachable()
    if reason:
        pytest.skip(reason)
    if shutil.which("pgbench") is None:
        pytest.skip("pgbench not installed (Debian: postgresql-client)")
    path = tmp_path / "pg.json"
    argv = ["--smoke", "--quiet", "--no-pin", "--skip-ours", "--pg-client", "statements", "--pgbench"]
    argv += ["--pgbench-clients", "2", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.pg_baseline", *argv, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BENCH_SECONDS_MAX,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(path.read_text())
    (entry,) = result["rounds"]
    assert result["pinning"]["pinned"] is False
    assert result["postgresql_client"] == "statements"
    assert entry["postgresql"]["reserved_total"] == entry["postgresql"]["reserved_read_back"] == 200
    assert "server" not in entry["postgresql_full"]
    assert entry["postgresql_full"]["client_cpu"]["cpus"] == []
    # --pgbench-clients and the harness's 2 x 4, the client's transaction and the function
    assert sorted(entry["pgbench_by_clients"]) == ["-c 2", "-c 2 fn", "-c 8", "-c 8 fn"]
    assert {f["form"] for f in entry["pgbench_by_clients"].values()} == {"transaction", "function"}
    for figure in entry["pgbench_by_clients"].values():
        assert figure["oversell"] == 0
        assert figure["reserved_read_back"] == figure["stock_total"] == 200
        assert figure["attempts_per_second"] > 0
    assert (entry["pgbench"]["clients"], entry["pgbench"]["form"]) == (8, "transaction")
    assert entry["pgbench_best"]["attempts_per_second"] == max(
        f["attempts_per_second"] for f in entry["pgbench_by_clients"].values()
    )


def test_open_loop_counts_late_sends_from_the_schedule():
    """No coordinated omission: when the server holds the driver back, latency still starts at the intended time."""
    import asyncio
    import time

    from dompromise.client.bench import driver
    from dompromise.client.bench.options import BenchConfig
    from dompromise.client.bench.workloads import Tally

    rate, service_seconds = 100, 0.05  # one operation every 10 ms, each taking 50 ms, one at a time
    starts: list[float] = []

    class OneKind:
        def next_kind(self) -> str:
            return "availability"

    async def one(kind: str, start: float, measured: bool) -> None:
        starts.append(start)
        await asyncio.sleep(service_seconds)

    async def run() -> tuple[float, Tally]:
        config = BenchConfig(target="", processes=1, rate=rate, open_in_flight_max=1)
        begin = time.monotonic() + 0.01
        tally = Tally()
        await driver._open_loop(config, OneKind(), one, 0, begin, begin, begin + 0.3, tally)
        return begin, tally

    begin, tally = asyncio.run(run())
    assert len(starts) == 30
    for number, start in enumerate(starts):
        # Up to a timer tick early is allowed; late never moves the start.
        assert begin + number / rate - 0.0015 <= start <= begin + number / rate + 0.0001, number
    assert tally.send_lag.summary_ms()["max"] > 1000 * (29 * service_seconds - 29 / rate) * 0.9
