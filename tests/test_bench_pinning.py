"""The load driver's fair setting: process trees pinned and restored, clients on their CPUs, CPU time counted,
and contended reserves sent as bytes equal to the generated class's."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise.client.bench import affinity, driver
from dompromise.client.bench.options import BenchConfig, parse_cpus
from dompromise.client.bench.workloads import Tally, reserve_body, reserve_request

WAIT_SECONDS_MAX = 10
TWO_CPUS = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to pin to one of them")

# A process with a second thread that, on a line on stdin, starts a child and prints its pid; then sleeps.
_TREE = textwrap.dedent(
    """
    import subprocess, sys, threading, time
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.readline()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    print(child.pid, flush=True)
    time.sleep(60)
    """
)


@pytest.fixture
def tree_process():
    process = subprocess.Popen([sys.executable, "-c", _TREE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    yield process
    for pid in affinity.tree(process.pid)[1:]:
        os.kill(pid, 9)
    process.kill()
    process.wait(WAIT_SECONDS_MAX)


def _start_child(process: subprocess.Popen) -> int:
    process.stdin.write("go\n")
    process.stdin.flush()
    return int(process.stdout.readline())


@TWO_CPUS
def test_pinned_moves_every_thread_and_restores_them(tree_process):
    before = affinity.affinity_of(tree_process.pid)
    assert before["threads"] >= 2  # the main thread and the sleeper
    cpu = min(before["cpus"])
    with affinity.pinned(tree_process.pid, {cpu}):
        inside = affinity.affinity_of(tree_process.pid)
        assert inside["cpus"] == [cpu]
        assert inside["threads"] == before["threads"]
    assert affinity.affinity_of(tree_process.pid)["cpus"] == before["cpus"]


@TWO_CPUS
def test_a_child_started_while_pinned_inherits_the_pin_and_is_restored_too(tree_process):
    before = affinity.affinity_of(tree_process.pid)["cpus"]
    cpu = max(before)
    with affinity.pinned(tree_process.pid, {cpu}):
        child = _start_child(tree_process)  # as a postmaster forks a backend for a new connection
        assert sorted(os.sched_getaffinity(child)) == [cpu]
        assert affinity.affinity_of(tree_process.pid)["processes"] == 2
    assert sorted(os.sched_getaffinity(child)) == before
    assert affinity.affinity_of(tree_process.pid)["cpus"] == before


@TWO_CPUS
def test_pinned_restores_when_the_block_fails(tree_process):
    before = affinity.affinity_of(tree_process.pid)["cpus"]
    with pytest.raises(RuntimeError, match="the run failed"):
        with affinity.pinned(tree_process.pid, {min(before)}):
            raise RuntimeError("the run failed")
    assert affinity.affinity_of(tree_process.pid)["cpus"] == before


def test_cpu_seconds_of_a_tree_counts_its_children():
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time; subprocess.run([sys.executable, '-c', {busy!r}]); "
            "print('done', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout.readline().strip() == "done"
        # The child ended and was reaped: its CPU time is the parent's cutime, counted in the tree's.
        assert affinity.cpu_seconds_of(parent.pid) >= 0.3
    finally:
        parent.kill()
        parent.wait(WAIT_SECONDS_MAX)


def _report_affinity(config, payload, number, counters, go, start_at, results) -> None:
    """A client process for run_clients: its tally's outcomes name the CPUs it may run on."""
    results.put(("ready", number))
    assert go.wait(WAIT_SECONDS_MAX)
    while time.monotonic() < start_at.value + config.warmup_seconds + config.duration_seconds:
        time.sleep(0.01)
    tally = Tally()
    tally.outcomes[",".join(map(str, sorted(os.sched_getaffinity(0))))] += 1
    tally.cpu_seconds_in_window = 0.5
    tally.finished_in_window = 100
    results.put(("result", number, tally.export()))


@TWO_CPUS
def test_client_processes_run_on_the_client_cpus_and_the_window_edges_are_told():
    cpu = max(os.sched_getaffinity(0))
    config = BenchConfig(
        target="", processes=2, duration_seconds=0.3, warmup_seconds=0.1, client_cpus=(cpu,), quiet=True
    )
    edges: list[tuple[str, float]] = []
    started = time.monotonic()
    tallies = driver.run_clients(
        config, _report_affinity, None, on_window=lambda which: edges.append((which, time.monotonic()))
    )
    assert [t["outcomes"] for t in tallies] == [{str(cpu): 1}, {str(cpu): 1}]
    assert [which for which, _ in edges] == ["start", "end"]
    assert edges[1][1] - edges[0][1] == pytest.approx(config.duration_seconds, abs=0.1)
    assert edges[0][1] - started >= config.warmup_seconds
    shown = driver.client_cpu(config, tallies)
    assert shown == {"cpus": [cpu], "seconds_in_window": 1.0, "cores_busy": 3.333, "us_per_operation": 5000.0}


def test_parse_cpus():
    assert parse_cpus("1") == (1,)
    assert parse_cpus("2, 0,2") == (0, 2)
    for wrong in ("", "a", "-1"):
        with pytest.raises(Exception, match="CPU"):
            parse_cpus(wrong)


_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    request_id=_ids,
    sku_id=_ids,
    node_id=_ids,
    quantity=st.integers(1, 2**62),
    ttl_seconds=st.integers(0, 2**40),
)
def test_reserve_request_bytes_equal_the_generated_class(request_id, sku_id, node_id, quantity, ttl_seconds):
    from google.protobuf import duration_pb2

    from dompromise.v1 import reservation_pb2 as pb

    expected = pb.ReserveInventoryRequest(
        request_id=request_id,
        lines=[pb.ReservationLine(sku_id=sku_id, node_id=node_id, quantity=quantity)],
        ttl=duration_pb2.Duration(seconds=ttl_seconds),
    ).SerializeToString()
    written = reserve_request(request_id.encode(), reserve_body(sku_id, node_id, quantity, ttl_seconds))
    assert written == expected
