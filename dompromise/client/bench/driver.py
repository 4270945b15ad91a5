"""`dompromise bench`: client processes, the schedule, progress and the merged results.

The parent reads the catalogue and prepares the workload (blocking gRPC),
starts --processes client processes (multiprocessing, spawn), waits until each
has a connected channel, then gives them one common start time: warm-up,
then the measured window, by time.monotonic() (the same clock in every
process on Linux). Each process sends its tally back once done; the parent
merges the HDR histograms (encoded) and the counters, and for a contended run
counts oversell.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import multiprocessing
import os
import platform
import queue as queue_module
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Literal, Protocol, TypeVar

from dompromise.client.bench.histogram import Latencies, merge
from dompromise.client.bench.options import BenchConfig, problems
from dompromise.client.bench.results import (
    ClientCpu,
    Contended,
    Document,
    Machine,
    OperationStats,
    RowStats,
    RpcStats,
    Setup,
    SkuOversell,
)
from dompromise.client.bench.workloads import (
    CONTENDED_TTL_SECONDS,
    Plan,
    Tally,
    TallyExport,
    Workload,
    WorkloadError,
    parse_mix,
    position_buckets,
    promise_destinations,
    read_catalogue,
    set_available,
)
from dompromise.client.channel import open_aio_channel, open_channel
from dompromise.errors import DompromiseError

START_DELAY_SECONDS = 0.3  # between the go signal and the common start time
CONNECT_SECONDS_MAX = 60
PROGRESS_INTERVAL_SECONDS = 1.0
# Open loop: asyncio's timers fire up to a millisecond late (epoll counts in ms), so the
# scheduler wakes this much early rather than add its own lag to every latency.
SEND_EARLY_SECONDS_MAX = 0.001
# After the measured window, how long outstanding operations may take to finish.
DRAIN_SECONDS_EXTRA = 5.0
# Progress counters per process in one shared array: operations OK, failed, in flight.
SLOTS = 3
# How late the parent may see the measured window open or close (its queue wait's shortest timeout).
WINDOW_EDGE_SECONDS_MAX = 0.01


class BenchError(DompromiseError):
    """The run could not start or a client process failed."""


class SharedCounters(Protocol):
    """The progress counters every process writes (a multiprocessing RawArray of int64, SLOTS per process)."""

    def __getitem__(self, index: int) -> int: ...
    def __setitem__(self, index: int, value: int) -> None: ...


class Kinds(Protocol):
    """What the open loop asks of a workload: the kind of the next operation."""

    def next_kind(self) -> str: ...


# What a client process tells the parent: connected; its tally; or why it failed.
Message = tuple[Literal["ready"], int] | tuple[Literal["result"], int, TallyExport] | tuple[Literal["error"], int, str]
Progress = Callable[[str], None]
# Called with "start" and "end" as the measured window opens and closes (in the parent).
WindowEdge = Callable[[str], None]
# One operation: its kind, intended start (time.monotonic) and whether it is measured.
Operation = Callable[[str, float, bool], Awaitable[None]]
_Payload = TypeVar("_Payload")
# A client process's entry point (see run_clients).
ClientMain = Callable[
    [BenchConfig, _Payload, int, SharedCounters, Event, ctypes.c_double, "Queue[Message]"],
    None,
]


# ---- the parent ----------------------------------------------------------------------------------


def prepare(config: BenchConfig) -> tuple[Plan, Setup]:
    """Reads the catalogue; for a contended run, sets the hot SKUs' stock. Returns the plan and set-up facts."""
    import grpc

    mix = parse_mix(config.mix)
    setup: Setup = {}
    with open_channel(config.target, config.security) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=10)
        except grpc.FutureTimeoutError:
            raise BenchError(f"no server answers at {config.target}") from None
        try:
            sku_ids, node_ids, destinations, positions = read_catalogue(
                channel, config.seed, need_positions="reserve" in mix and not config.contended
            )
            if "promise" in mix:
                destinations, probes = promise_destinations(channel, sku_ids[0], destinations)
                setup["promise_destination_probes"] = probes
            hot_skus: list[str] = []
            hot_node = ""
            if config.contended:
                if "reserve" not in mix:
                    raise WorkloadError("--contended needs reserve in --mix")
                hot_node = config.node_id or node_ids[0]
                hot_skus = sku_ids[: config.contended]
                if len(hot_skus) < config.contended:
                    raise WorkloadError(f"--contended {config.contended}: the server has only {len(sku_ids)} SKUs")
                before = set_available(channel, hot_skus, hot_node, config.stock)
                setup.update(
                    {
                        "hot_sku_ids": hot_skus,
                        "node_id": hot_node,
                        "stock_per_sku": config.stock,
                        "buckets_before": before,
                    }
                )
        except grpc.RpcError as error:
            raise BenchError(f"setting up the workload failed: {error.code().name}: {error.details()}") from None
        except WorkloadError as error:
            raise BenchError(str(error)) from None
    plan = Plan(
        target=config.target,
        security=config.security,
        run_id=uuid.uuid4().hex[:10],
        mix=mix,
        sku_ids=sku_ids,
        destinations=destinations,
        positions=positions,
        hot_sku_ids=hot_skus,
        hot_node_id=hot_node,
        availability_skus=config.availability_skus,
        quantity=config.quantity,
        commit_percent=config.commit_percent,
        ttl_seconds=CONTENDED_TTL_SECONDS if config.contended else max(60, int(config.timeout_seconds * 6)),
        timeout_seconds=config.timeout_seconds,
    )
    setup.update(
        {"skus_in_catalogue": len(sku_ids), "enabled_nodes": len(node_ids), "stocked_positions_sampled": len(positions)}
    )
    return plan, setup


def run(config: BenchConfig, progress: Progress | None = None, on_window: WindowEdge | None = None) -> Document:
    """Runs the benchmark and returns the results (the JSON document); on_window as in run_clients."""
    started_wall = time.time()
    load_before = _loadavg()
    plan, setup = prepare(config)
    tallies = run_clients(config, client_main, plan, progress, on_window)
    document = summarize(config, plan, setup, tallies)
    if config.contended:
        document["contended"] = _count_oversell(config, plan, setup, tallies)
    document["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_wall))
    document["machine"] = machine_info(load_before)
    return document


def run_clients(
    config: BenchConfig,
    client_main: ClientMain[_Payload],
    payload: _Payload,
    progress: Progress | None = None,
    on_window: WindowEdge | None = None,
) -> list[TallyExport]:
    """Starts config.processes processes running client_main(config, payload, number, counters, go,
    start_at, results) and returns their tallies (Tally.export()). A client puts ("ready", number) once
    connected, waits for `go`, runs from start_at.value, and puts ("result", number, tally) or
    ("error", number, text). With config.client_cpus each process runs on those CPUs only, from its
    first line. on_window("start") and on_window("end") are called as the measured window opens and
    closes (within ~10 ms), to measure the system under test over the same window."""
    context = multiprocessing.get_context("spawn")
    counters: SharedCounters = context.Array("q", config.processes * SLOTS, lock=False)
    go = context.Event()
    start_at: ctypes.c_double = context.Value("d", 0.0, lock=False)
    results: Queue[Message] = context.Queue()
    processes = [
        context.Process(
            target=_pinned_client,
            args=(tuple(config.client_cpus), client_main, config, payload, number, counters, go, start_at, results),
            name=f"bench-client-{number}",
            daemon=True,
        )
        for number in range(config.processes)
    ]
    for process in processes:
        process.start()
    try:
        return _collect(config, processes, counters, go, start_at, results, progress, on_window)
    finally:
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)


def _pinned_client(
    cpus: tuple[int, ...],
    client_main: ClientMain[_Payload],
    config: BenchConfig,
    payload: _Payload,
    number: int,
    counters: SharedCounters,
    go: Event,
    start_at: ctypes.c_double,
    results: Queue[Message],
) -> None:
    """A client process's entry: on `cpus` (when given) before anything else runs, then client_main."""
    if cpus:
        os.sched_setaffinity(0, set(cpus))
    client_main(config, payload, number, counters, go, start_at, results)


def measure_cpu_in_window(tally: Tally, measure_start: float, end: float) -> None:
    """Samples this process's CPU time as the window opens and closes (asyncio's clock is time.monotonic)."""
    loop = asyncio.get_running_loop()
    opened: list[float] = []

    def open_window() -> None:
        opened.append(time.process_time())

    def close_window() -> None:
        if opened:
            tally.cpu_seconds_in_window = time.process_time() - opened[0]

    loop.call_at(measure_start, open_window)
    loop.call_at(end, close_window)


def _collect(
    config: BenchConfig,
    processes: Sequence[BaseProcess],
    counters: SharedCounters,
    go: Event,
    start_at: ctypes.c_double,
    results: Queue[Message],
    progress: Progress | None,
    on_window: WindowEdge | None = None,
) -> list[TallyExport]:
    """Waits for every process to connect, starts them together, prints progress, gathers their tallies."""
    ready = 0
    deadline = time.monotonic() + CONNECT_SECONDS_MAX
    while ready < len(processes):
        if _next_message(results, deadline, processes)[0] == "ready":
            ready += 1
    start_at.value = time.monotonic() + START_DELAY_SECONDS
    go.set()
    measure_start = start_at.value + config.warmup_seconds
    end = measure_start + config.duration_seconds
    tallies: list[TallyExport] = []
    deadline = end + config.timeout_seconds + DRAIN_SECONDS_EXTRA + CONNECT_SECONDS_MAX
    last_ok, last_time = 0, start_at.value
    next_progress = start_at.value + PROGRESS_INTERVAL_SECONDS
    edges = [(measure_start, "start"), (end, "end")] if on_window is not None else []
    while len(tallies) < len(processes):
        message: Message | None
        wake = min(next_progress, edges[0][0]) if edges else next_progress
        try:
            message = results.get(timeout=max(WINDOW_EDGE_SECONDS_MAX, min(wake - time.monotonic(), 1.0)))
        except queue_module.Empty:
            message = None
        while edges and time.monotonic() >= edges[0][0]:
            assert on_window is not None
            on_window(edges.pop(0)[1])
        if message is not None:
            if message[0] == "error":
                raise BenchError(f"client process {message[1]} failed:\n{message[2]}")
            if message[0] == "result":
                tallies.append(message[2])
        now = time.monotonic()
        if now > deadline:
            raise BenchError("client processes did not finish in time")
        if not any(p.is_alive() for p in processes) and results.empty() and len(tallies) < len(processes):
            raise BenchError("a client process died without a result")
        if progress is not None and now >= next_progress:
            ok = sum(counters[n * SLOTS] for n in range(len(processes)))
            failed = sum(counters[n * SLOTS + 1] for n in range(len(processes)))
            in_flight = sum(counters[n * SLOTS + 2] for n in range(len(processes)))
            phase = "warm-up" if now < measure_start else ("measuring" if now < end else "draining")
            progress(
                f"[bench] {now - start_at.value:6.1f}s {phase:9} {(ok - last_ok) / (now - last_time):9,.0f} ops/s"
                f"  ok {ok:,}  failed {failed:,}  in flight {in_flight:,}"
            )
            last_ok, last_time = ok, now
            next_progress = now + PROGRESS_INTERVAL_SECONDS
    return tallies


def _next_message(results: Queue[Message], deadline: float, processes: Sequence[BaseProcess]) -> Message:
    while True:
        try:
            message = results.get(timeout=0.5)
        except queue_module.Empty:
            if time.monotonic() > deadline:
                raise BenchError(f"client processes did not connect within {CONNECT_SECONDS_MAX}s") from None
            if not all(p.is_alive() for p in processes):
                raise BenchError("a client process died while connecting") from None
            continue
        if message[0] == "error":
            raise BenchError(f"client process {message[1]} failed:\n{message[2]}")
        return message


def summarize(config: BenchConfig, plan: Plan, setup: Setup, tallies: list[TallyExport]) -> Document:
    """Merges the processes' tallies into the results document."""
    duration = config.duration_seconds
    kinds: dict[str, OperationStats] = {}
    all_operations = Latencies()
    operations_ok_total = 0
    operations_failed_total: Counter[str] = Counter()
    for kind in plan.mix:
        latencies = merge([t["operations"][kind] for t in tallies if kind in t["operations"]])
        all_operations.add(latencies)
        ok = sum(t["operations_ok"].get(kind, 0) for t in tallies)
        failed: Counter[str] = Counter()
        for t in tallies:
            failed.update(t["operations_failed"].get(kind, {}))
        operations_ok_total += ok
        operations_failed_total.update(failed)
        kinds[kind] = {
            "ok": ok,
            "failed": sum(failed.values()),
            "failed_by_code": dict(failed),
            "ok_per_second": round(ok / duration, 1),
            "latency_ms": latencies.summary_ms(),
        }
    rpcs: dict[str, RpcStats] = {}
    for method in sorted({m for t in tallies for m in (*t["rpcs"], *t["rpc_errors"])}):
        latencies = merge([t["rpcs"][method] for t in tallies if method in t["rpcs"]])
        errors: Counter[str] = Counter()
        for t in tallies:
            errors.update(t["rpc_errors"].get(method, {}))
        rpcs[method] = {
            "ok": latencies.count,
            "errors": sum(errors.values()),
            "errors_by_code": dict(errors),
            "ok_per_second": round(latencies.count / duration, 1),
            "latency_ms": latencies.summary_ms(),
        }
    outcomes: Counter[str] = Counter()
    for t in tallies:
        outcomes.update(t["outcomes"])
    send_lag = merge([t["send_lag"] for t in tallies])
    rpc_ok = sum(r["ok"] for r in rpcs.values())
    rpc_errors = sum(r["errors"] for r in rpcs.values())
    shown_setup = setup.copy()
    shown_setup.pop("buckets_before", None)
    document: Document = {
        "tool": "dompromise bench",
        "config": {
            "target": config.target,
            "loop": "open" if config.rate else "closed",
            "mix": plan.mix,
            "processes": config.processes,
            "in_flight_per_process": None if config.rate else config.in_flight,
            "target_rate_ops_per_second": config.rate or None,
            "duration_seconds": duration,
            "warmup_seconds": config.warmup_seconds,
            "contended_skus": config.contended,
            "quantity": config.quantity,
            "commit_percent": None if config.contended else config.commit_percent,
            "availability_skus": config.availability_skus,
            "timeout_seconds": config.timeout_seconds,
            "seed": config.seed,
            "run_id": plan.run_id,
        },
        "setup": shown_setup,
        "operations": {
            "ok": operations_ok_total,
            "failed": sum(operations_failed_total.values()),
            "failed_by_code": dict(operations_failed_total),
            "ok_per_second": round(operations_ok_total / duration, 1),
            "latency_ms": all_operations.summary_ms(),
        },
        "kinds": kinds,
        "rpcs": rpcs,
        "rpc_totals": {
            "ok": rpc_ok,
            "errors": rpc_errors,
            "ok_per_second": round(rpc_ok / duration, 1),
            "errors_by_code": dict(sum((Counter(r["errors_by_code"]) for r in rpcs.values()), Counter())),
        },
        "reserve_outcomes": dict(outcomes),
    }
    # Throughput: operations (any outcome) that ended inside the window. In an overloaded open loop
    # every scheduled operation is sent eventually, so counting by send time would just echo the target.
    document["operations"]["finished_per_second"] = round(sum(t["finished_in_window"] for t in tallies) / duration, 1)
    document["client_cpu"] = client_cpu(config, tallies)
    if config.rate:
        document["open_loop"] = {
            "target_ops_per_second": config.rate,
            "achieved_ops_per_second": document["operations"]["finished_per_second"],
            # How late the driver itself sent (a busy client machine): it is inside every latency.
            "send_lag_ms": send_lag.summary_ms(),
        }
    return document


def client_cpu(config: BenchConfig, tallies: list[TallyExport]) -> ClientCpu:
    """The client processes' own CPU time in the window, and per operation that ended in it: what the
    harness costs, the same measure for any system under test."""
    seconds = sum(t["cpu_seconds_in_window"] for t in tallies)
    finished = sum(t["finished_in_window"] for t in tallies)
    return {
        "cpus": sorted(config.client_cpus),
        "seconds_in_window": round(seconds, 3),
        "cores_busy": round(seconds / config.duration_seconds, 3),
        "us_per_operation": round(seconds / finished * 1e6, 1) if finished else None,
    }


def _count_oversell(config: BenchConfig, plan: Plan, setup: Setup, tallies: list[TallyExport]) -> Contended:
    """Units held on the hot SKUs: counted from our OK answers and read back; beyond the stock is oversell."""

    counted: Counter[str] = Counter()
    for t in tallies:
        counted.update(t["reserved_units"])
    before = setup["buckets_before"]
    with open_channel(config.target, config.security) as channel:
        after = position_buckets(channel, plan.hot_sku_ids, plan.hot_node_id)
    per_sku: dict[str, SkuOversell] = {}
    for sku in plan.hot_sku_ids:
        read_back = (after[sku]["held"] + after[sku]["allocated"]) - (before[sku]["held"] + before[sku]["allocated"])
        per_sku[sku] = {
            "stock": config.stock,
            "reserved_counted": counted.get(sku, 0),
            "reserved_read_back": read_back,
            "available_after": after[sku]["available"],
            "oversell": max(0, max(counted.get(sku, 0), read_back) - config.stock),
        }
    return {
        "node_id": plan.hot_node_id,
        "hot_sku_ids": plan.hot_sku_ids,
        "stock_per_sku": config.stock,
        "stock_total": config.stock * len(plan.hot_sku_ids),
        "reserved_counted": sum(s["reserved_counted"] for s in per_sku.values()),
        "reserved_read_back": sum(s["reserved_read_back"] for s in per_sku.values()),
        "oversell": sum(s["oversell"] for s in per_sku.values()),
        "per_sku": per_sku,
    }


def _loadavg() -> list[str]:
    try:
        with open("/proc/loadavg") as file:
            return file.read().split()[:3]
    except OSError:
        return []


def machine_info(load_before: list[str]) -> Machine:
    import grpc

    model = "?"
    try:
        with open("/proc/cpuinfo") as file:
            model = next((line.split(":", 1)[1].strip() for line in file if line.startswith("model name")), "?")
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "kernel": platform.release(),
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
    }


# ---- a client process ------------------------------------------------------------------------------


def client_main(
    config: BenchConfig,
    plan: Plan,
    number: int,
    counters: SharedCounters,
    go: Event,
    start_at: ctypes.c_double,
    results: Queue[Message],
) -> None:
    try:
        tally = asyncio.run(_client(config, plan, number, counters, go, start_at, results))
        results.put(("result", number, tally.export()))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the run
        results.put(("error", number, traceback.format_exc()))


async def wait_for_start(go: Event, start_at: ctypes.c_double) -> float:
    """Waits for the parent's go (in a thread: it is a multiprocessing Event); returns the common start time."""
    if not await asyncio.get_running_loop().run_in_executor(None, go.wait, CONNECT_SECONDS_MAX):
        raise BenchError("no start signal")
    return start_at.value


async def _client(
    config: BenchConfig,
    plan: Plan,
    number: int,
    counters: SharedCounters,
    go: Event,
    start_at: ctypes.c_double,
    results: Queue[Message],
) -> Tally:

    from dompromise import limits

    tally = Tally()
    base = number * SLOTS
    options = [("grpc.max_receive_message_length", limits.MESSAGE_BYTES_MAX)]
    async with open_aio_channel(plan.target, plan.security, options) as channel:
        await asyncio.wait_for(channel.channel_ready(), CONNECT_SECONDS_MAX)
        results.put(("ready", number))
        begin = await wait_for_start(go, start_at)
        measure_start = begin + config.warmup_seconds
        end = measure_start + config.duration_seconds
        workload = Workload(channel, plan, number, config.seed, tally)
        measure_cpu_in_window(tally, measure_start, end)

        async def one(kind: str, intended: float, measured: bool) -> None:
            counters[base + 2] += 1
            ok = await workload.perform(kind, intended, measured)
            if measure_start <= time.monotonic() < end:
                tally.finished_in_window += 1
            counters[base + 2] -= 1
            counters[base + (0 if ok else 1)] += 1

        await asyncio.sleep(max(0.0, begin - time.monotonic()))
        if config.rate:
            await _open_loop(config, workload, one, number, begin, measure_start, end, tally)
        else:

            async def worker() -> None:
                while True:
                    now = time.monotonic()
                    if now >= end:
                        return
                    await one(workload.next_kind(), now, now >= measure_start)

            await asyncio.wait_for(
                asyncio.gather(*(worker() for _ in range(config.in_flight))),
                end - time.monotonic() + config.timeout_seconds * 2 + DRAIN_SECONDS_EXTRA,
            )
    return tally


async def _open_loop(
    config: BenchConfig,
    workload: Kinds,
    one: Operation,
    number: int,
    begin: float,
    measure_start: float,
    end: float,
    tally: Tally,
) -> None:
    """Sends on a fixed schedule: process n sends at begin + (n + i * processes) / rate."""
    interval = config.processes / config.rate
    offset = number / config.rate
    outstanding: set[asyncio.Task[None]] = set()
    crashed: list[BaseException] = []  # a bug in an operation must fail the run, not vanish with its task

    def finished(task: asyncio.Task[None]) -> None:
        outstanding.discard(task)
        if not task.cancelled():
            exception = task.exception()
            if exception is not None:
                crashed.append(exception)

    sent = 0
    while True:
        intended = begin + offset + sent * interval
        if intended >= end:
            break
        delay = intended - time.monotonic()
        if delay > SEND_EARLY_SECONDS_MAX:
            await asyncio.sleep(delay - SEND_EARLY_SECONDS_MAX)
        while len(outstanding) >= config.open_in_flight_max:
            # Back-pressure on the driver, never on the clock: the wait is inside the latencies.
            await asyncio.wait(outstanding, return_when=asyncio.FIRST_COMPLETED)
        now = time.monotonic()
        if intended >= measure_start:
            tally.send_lag.record_seconds(max(0.0, now - intended))
        # A send up to a timer tick early counts from when it went out; a late one from the schedule.
        task = asyncio.ensure_future(one(workload.next_kind(), min(intended, now), intended >= measure_start))
        outstanding.add(task)
        task.add_done_callback(finished)
        sent += 1
        if crashed:
            raise crashed[0]
    if outstanding:
        await asyncio.wait(outstanding, timeout=config.timeout_seconds * 2 + DRAIN_SECONDS_EXTRA)
    if crashed:
        raise crashed[0]


# ---- the command ---------------------------------------------------------------------------------------


def render(document: Document) -> str:
    """The human summary: one row per kind, one per RPC method, and the oversell check."""
    config = document["config"]
    shape = (
        f"open loop at {config['target_rate_ops_per_second']:,.0f} ops/s"
        if config["loop"] == "open"
        else f"closed loop, {config['in_flight_per_process']} in flight per process"
    )
    lines = [
        f"dompromise bench: {config['target']}, {config['processes']} processes, {shape}, "
        f"{config['duration_seconds']:g} s measured after {config['warmup_seconds']:g} s warm-up",
        f"{'':22} {'ok/s':>9} {'ok':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9}"
        f" {'max ms':>8}  failed",
    ]

    def row(name: str, stats: RowStats, failed_by_code: dict[str, int]) -> str:
        latency = stats["latency_ms"]

        def ms(value: float | None) -> str:
            return f"{value:8.2f}" if value is not None else f"{'-':>8}"

        failures = ", ".join(f"{code} {count:,}" for code, count in sorted(failed_by_code.items())) or "-"
        return (
            f"{name:22} {stats['ok_per_second']:9,.1f} {stats['ok']:9,} {ms(latency['p50'])} {ms(latency['p90'])}"
            f" {ms(latency['p99'])} {ms(latency['p99_9']):>9} {ms(latency['max'])}  {failures}"
        )

    for kind, stats in document["kinds"].items():
        lines.append(row(f"op {kind}", stats, stats["failed_by_code"]))
    lines.append(row("all operations", document["operations"], document["operations"]["failed_by_code"]))
    for method, rpc_stats in document["rpcs"].items():
        lines.append(row(f"rpc {method}", rpc_stats, rpc_stats["errors_by_code"]))
    if document.get("reserve_outcomes"):
        lines.append(
            "reserve outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(document["reserve_outcomes"].items()))
        )
    if "open_loop" in document:
        open_loop = document["open_loop"]
        lag = open_loop["send_lag_ms"]
        lines.append(
            f"open loop: target {open_loop['target_ops_per_second']:,.0f} ops/s, achieved "
            f"{open_loop['achieved_ops_per_second']:,.1f}; driver send lag p99 "
            f"{lag['p99'] if lag['p99'] is not None else '-'} ms"
        )
    if "contended" in document:
        c = document["contended"]
        lines.append(
            f"contended: {len(c['hot_sku_ids'])} hot SKUs at {c['node_id']}, stock {c['stock_per_sku']:,} each "
            f"({c['stock_total']:,}): reserved {c['reserved_counted']:,} counted / "
            f"{c['reserved_read_back']:,} read back, OVERSELL {c['oversell']:,}"
        )
    return "\n".join(lines)


def main(config: BenchConfig) -> int:
    wrong = problems(config)
    if wrong:
        print("dompromise bench: " + "; ".join(wrong), file=sys.stderr)
        return 2
    progress = None if config.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        document = run(config, progress)
    except (BenchError, ValueError) as error:
        print(f"dompromise bench: {error}", file=sys.stderr)
        return 2
    print(render(document), flush=True)
    if config.json_path:
        directory = os.path.dirname(config.json_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(config.json_path, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
        print(f"wrote {config.json_path}", flush=True)
    if "contended" in document and document["contended"]["oversell"] > 0:
        print("dompromise bench: OVERSELL: more units held than stock", file=sys.stderr)
        return 1
    return 0
