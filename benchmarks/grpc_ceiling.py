"""GetAvailability and PromiseDelivery throughput of our server against a no-op grpc.aio ceiling.

Both servers serve the same RPC with the same response bytes (the no-op one
returns what ours answered, precomputed); each runs in its own process
pinned to CPU 0 while h2load (a compiled HTTP/2 client) drives it from CPU 1.
Rounds alternate ceiling, ours, ceiling, ours... so drift on a shared machine
hits both alike; we report medians and the ratio ours / ceiling.

  python -m benchmarks.grpc_ceiling                 # full run (several minutes)
  python -m benchmarks.grpc_ceiling --smoke         # seconds: a few hundred requests each, no verdict
  python -m benchmarks.grpc_ceiling --sweep         # RPC/s at several concurrency settings
  python -m benchmarks.grpc_ceiling --json out.json
  python -m benchmarks.grpc_ceiling --networks demo --scenarios promise-1,promise-10
  python -m benchmarks.grpc_ceiling --phases        # the promise handler's phases, in-process (no gRPC)

The promise scenarios (demo network only: it has a transport section) send a
garage's order to Lille (59000 FR) at a fixed as_of_time, so the answer does
not move with the clock. Each option carries a signed token whose expiry comes
from the server's clock, so those answers are compared with their tokens
cleared; the no-op server returns one answer of ours, tokens included (same
size: the tokens differ only in expiry digits).

h2load counts any HTTP 200 as a success, even with grpc-status != 0, so
before and after each load a Python gRPC client checks each server answers
OK, and h2load's received data bytes per request must match the frame size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

if __package__ in (None, ""):  # run as `python benchmarks/grpc_ceiling.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grpc
import numpy as np

from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    common_pb2,
    network_pb2,
    network_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHOD = "/dompromise.v1.AvailabilityService/GetAvailability"
PROMISE_METHOD = "/dompromise.v1.PromiseService/PromiseDelivery"
SERVER_CPU, LOAD_CPU = 0, 1
BATCH_SKUS = 1_000
VIEWS = {"basic": availability_pb2.AVAILABILITY_VIEW_BASIC, "totals": availability_pb2.AVAILABILITY_VIEW_TOTALS}
# scenario -> (SKUs per request, view, h2load clients, streams per client)
SCENARIOS = {
    "single": (1, "basic", 8, 16),
    "batch-100": (100, "basic", 8, 16),
    "batch-totals": (BATCH_SKUS, "totals", 4, 4),
    "batch-basic": (BATCH_SKUS, "basic", 4, 4),
}
# A garage's order on the demo network, to Lille: every line in stock at WH-NORTH (and DC-NAT).
# (SKU, quantity, pack unit; "" = base unit). The first line alone is the 1-line order.
GARAGE_ORDER = (
    ("BRK-DSC-10627", 2, ""),
    ("FLT-AIR-12011", 1, ""),
    ("IGN-PLG-10867", 4, ""),
    ("WIP-BLD-10837", 2, ""),
    ("LMP-BLB-10964", 2, ""),
    ("OIL-MOT-11027", 5, "litre"),
    ("SUS-SHK-10122", 2, ""),
    ("BLT-DRV-10120", 1, ""),
    ("SNS-ELC-11037", 1, ""),
    ("GSK-ENG-10988", 1, ""),
)
PROMISE_POSTAL_CODE, PROMISE_COUNTRY = "59000", "FR"
# Tuesday 2026-11-24 10:00 in Paris: a working morning, within the demo calendars (2026-2027).
PROMISE_AS_OF_NS = 1_795_510_800 * 10**9
# scenario -> (order lines, h2load clients, streams per client): 16 in flight saturate one server core.
PROMISE_SCENARIOS = {
    "promise-1": (1, 4, 4),
    "promise-10": (10, 4, 4),
}
# Beyond 1,000 in flight the server sheds RPCs (limits.CONCURRENT_RPCS_MAX): the checks fail, as they should.
SWEEP = ((1, 1), (1, 8), (4, 4), (8, 16), (16, 32), (32, 64))


# ---- servers -----------------------------------------------------------------


class Server:
    """A server subprocess pinned to SERVER_CPU; ready once it prints its port."""

    def __init__(self, name: str, argv: list[str], workdir: str, pin: bool):
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.stderr")
        # Pinned by taskset, not a preexec_fn: running Python in a child forked from a
        # process with gRPC threads can deadlock (it did, in CI, hanging the smoke run).
        if pin:
            argv = ["taskset", "-c", str(SERVER_CPU)] + argv
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=REPO, stdout=subprocess.PIPE, stderr=log, env=dict(os.environ, PYTHONPATH=REPO)
            )
        self.port = self._wait_port(timeout_seconds=120)
        self.target = f"127.0.0.1:{self.port}"

    def _wait_port(self, timeout_seconds: float) -> int:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if select.select([self.process.stdout], [], [], 0.2)[0]:
                match = re.search(rb"serving on \S+:(\d+)", self.process.stdout.readline())
                if match:
                    return int(match.group(1))
        self.stop()
        with open(self.log_path, errors="replace") as log:
            raise RuntimeError(f"{self.name} server did not start:\n{log.read()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_ours(network: str, workdir: str, pin: bool, bare: bool = False) -> Server:
    """`demo` runs `python -m dompromise serve`; `NODESxSKUS` a synthetic network. `bare`: our
    availability handler alone, with no interceptor (benchmarks/servers.py ours --bare)."""
    if network == "demo" and not bare:
        argv = [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--port", "0", "--in-memory"]
    elif network == "demo":
        argv = [sys.executable, "-m", "benchmarks.servers", "ours", "--demo", "--bare"]
    else:
        nodes, skus = parse_shape(network)
        argv = [sys.executable, "-m", "benchmarks.servers", "ours", "--nodes", str(nodes), "--skus", str(skus)]
        argv += ["--bare"] if bare else []
    return Server("ours", argv, workdir, pin)


def parse_shape(network: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", network)
    if not match:
        raise SystemExit(f"network must be 'demo' or NODESxSKUS, not {network!r}")
    return int(match.group(1)), int(match.group(2))


# ---- requests and checks ------------------------------------------------------


def all_sku_ids(target: str) -> list[str]:
    ids, token = [], ""
    with grpc.insecure_channel(target) as channel:
        stub = network_pb2_grpc.NetworkServiceStub(channel)
        while True:
            page = stub.ListSkus(network_pb2.ListSkusRequest(page_size=1000, page_token=token), timeout=30)
            ids += [sku.sku_id for sku in page.skus]
            token = page.next_page_token
            if not token:
                return ids


def call(target: str, request) -> availability_pb2.GetAvailabilityResponse:
    """One real gRPC call: raises grpc.RpcError unless the status is OK."""
    with grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
        return availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(request, timeout=30)


def build_request(target: str, sku_count: int, view: str, seed: int):
    """Random SKUs (fixed seed); for one SKU, the first candidate with stock somewhere."""
    ids = all_sku_ids(target)
    rng = np.random.default_rng(seed)
    chosen = [ids[i] for i in rng.choice(len(ids), size=min(max(sku_count, 50), len(ids)), replace=False)]
    if sku_count == 1:
        probe = call(target, availability_pb2.GetAvailabilityRequest(sku_ids=chosen, view=VIEWS["totals"]))
        chosen = [next((i.sku_id for i in probe.items if i.available_quantity > 0), chosen[0])]
    return availability_pb2.GetAvailabilityRequest(sku_ids=chosen[:sku_count], view=VIEWS[view])


def check_answer(target: str, request, expected: bytes | None = None) -> bytes:
    """Calls the server; the answer must be OK, one item per SKU, each found (and equal to `expected`)."""
    response = call(target, request)
    assert len(response.items) == len(request.sku_ids), f"{target}: wrong item count"
    assert all(item.status == common_pb2.ITEM_STATUS_OK for item in response.items), f"{target}: SKU not found"
    if request.view != VIEWS["totals"]:
        assert response.node_ids and response.items[0].node_available_quantities, f"{target}: empty breakdown"
    data = response.SerializeToString()
    if expected is not None:
        # The no-op answer is fixed; ours may differ only in log_position (none moves here).
        assert data == expected, f"{target}: answer differs from the reference"
    return data


def promise_request(line_count: int) -> promise_pb2.PromiseDeliveryRequest:
    request = promise_pb2.PromiseDeliveryRequest(
        lines=[
            promise_pb2.OrderLine(sku_id=sku, quantity=quantity, unit=unit)
            for sku, quantity, unit in GARAGE_ORDER[:line_count]
        ],
        postal_code=PROMISE_POSTAL_CODE,
        country_code=PROMISE_COUNTRY,
    )
    request.as_of_time.FromNanoseconds(PROMISE_AS_OF_NS)
    return request


def without_tokens(response: promise_pb2.PromiseDeliveryResponse) -> bytes:
    """The answer with every option's promise_token cleared: the rest does not move between calls."""
    stripped = promise_pb2.PromiseDeliveryResponse()
    stripped.CopyFrom(response)
    for option in stripped.options:
        option.ClearField("promise_token")
    return stripped.SerializeToString(deterministic=True)


def check_promise(target: str, request, expected: bytes | None = None) -> tuple[bytes, bytes]:
    """Calls PromiseDelivery; the answer must be OK, fill the whole order from one node, and carry a
    token per option; with `expected` (an answer minus its tokens), equal to it but for the tokens.
    Returns (the serialized answer, the answer minus its tokens)."""
    with grpc.insecure_channel(target) as channel:
        response = promise_pb2_grpc.PromiseServiceStub(channel).PromiseDelivery(request, timeout=30)
    assert response.options, f"{target}: no delivery option"
    best = response.options[0]
    assert best.fill_percent == 100.0 and len(best.shipments) == 1, f"{target}: not filled from one node"
    assert sum(len(shipment.lines) for shipment in best.shipments) == len(request.lines), f"{target}: lines missing"
    assert all(option.promise_token.startswith("v1.") for option in response.options), f"{target}: no token"
    stripped = without_tokens(response)
    if expected is not None:
        assert stripped == expected, f"{target}: answer (tokens aside) differs from the reference"
    return response.SerializeToString(), stripped


def grpc_frame(message: bytes) -> bytes:
    """gRPC length-prefixed message: flag 0 (uncompressed), 4-byte big-endian length."""
    return struct.pack(">BI", 0, len(message)) + message


# ---- h2load ----------------------------------------------------------------------


@dataclass
class Run:
    server: str
    rpc_per_s: float
    requests: int
    p50_ms: float
    p99_ms: float
    latencies_us: np.ndarray = field(repr=False)


def h2load(
    target: str,
    frame_path: str,
    clients: int,
    streams: int,
    duration: float,
    requests: int,
    pin: bool,
    workdir: str,
    method: str = METHOD,
    headers: tuple[str, ...] = (),
) -> tuple[dict, np.ndarray]:
    """Runs h2load for `duration` seconds (or `requests` requests if duration is 0).

    Returns h2load's counters and the latency (us) of each request. No
    --warm-up-time: with it h2load counts warm-up bytes but not warm-up
    requests, which would blind the byte check; callers warm up separately.
    """
    log_path = os.path.join(workdir, "h2load.log")
    if os.path.exists(log_path):
        os.remove(log_path)  # h2load appends
    argv = [
        "h2load",
        "-c",
        str(clients),
        "-m",
        str(streams),
        "-t",
        "1",
        "-d",
        frame_path,
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        *[part for header in headers for part in ("-H", header)],
        "--log-file",
        log_path,
    ]
    argv += ["-D", f"{duration:g}"] if duration else ["-n", str(requests)]
    argv.append(f"http://{target}{method}")
    if pin:
        argv = ["taskset", "-c", str(LOAD_CPU)] + argv
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration * 3 + 60)
    if out.returncode != 0:
        raise RuntimeError(f"h2load failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    stats = parse_h2load(out.stdout)
    # Log columns: start (us since epoch), HTTP status, duration (us).
    # Nothing finished in time (a warm-up starved by other processes): no rows, not a crash.
    if not os.path.exists(log_path) or os.path.getsize(log_path) == 0:
        log = np.zeros((0, 3), dtype=np.int64)
    else:
        log = np.loadtxt(log_path, dtype=np.int64, ndmin=2)
    stats["non_200"] = int((log[:, 1] != 200).sum())
    return stats, log[:, 2]


def parse_h2load(text: str) -> dict:
    def number(pattern: str) -> float:
        match = re.search(pattern, text)
        if not match:
            raise RuntimeError(f"unexpected h2load output (no {pattern!r}):\n{text}")
        return float(match.group(1))

    return {
        "rpc_per_s": number(r"finished in [\d.]+\w+, ([\d.]+) req/s"),
        "done": int(number(r"requests: \d+ total, \d+ started, (\d+) done")),
        "succeeded": int(number(r"(\d+) succeeded")),
        "failed": int(number(r"(\d+) failed") + number(r"(\d+) errored") + number(r"(\d+) timeout")),
        "status_2xx": int(number(r"status codes: (\d+) 2xx")),
        "data_bytes": int(number(r"traffic: .*?\((\d+)\) data")),  # DATA payload received
    }


def load(
    server: str, target: str, frame_path: str, frame_bytes: int, args, clients, streams, method: str = METHOD
) -> Run:
    if args.warmup:
        h2load(target, frame_path, clients, streams, args.warmup, 0, args.pin, args.workdir, method)
    stats, latencies = h2load(
        target, frame_path, clients, streams, args.duration, args.requests, args.pin, args.workdir, method
    )
    if stats["failed"] or stats["non_200"] or not stats["succeeded"] == stats["status_2xx"] == stats["done"]:
        raise RuntimeError(f"{server}: h2load saw failures: {stats}")
    # A gRPC error is trailers only, no DATA: every request must have received one full response frame.
    per_request = stats["data_bytes"] / stats["done"]
    if abs(per_request - frame_bytes) > 0.01 * frame_bytes:
        raise RuntimeError(f"{server}: {per_request:.1f} data bytes per response, expected {frame_bytes}")
    p50, p99 = (np.percentile(latencies, (50, 99)) / 1000).tolist()
    return Run(server, stats["rpc_per_s"], stats["done"], round(p50, 3), round(p99, 3), latencies)


# ---- one scenario: both servers, alternating rounds ----------------------------------


def run_scenario(network: str, scenario: str, args, concurrency=None) -> dict:
    if scenario in PROMISE_SCENARIOS:
        return run_promise_scenario(network, scenario, args)
    sku_count, view, clients, streams = SCENARIOS[scenario]
    clients, streams = concurrency or (args.clients or clients, args.streams or streams)
    ours = start_ours(network, args.workdir, args.pin, args.bare)
    noop = None
    try:
        request = build_request(ours.target, sku_count, view, args.seed)
        reference = check_answer(ours.target, request)
        response_path = os.path.join(args.workdir, "response.bin")
        with open(response_path, "wb") as file:
            file.write(reference)
        noop = Server(
            "ceiling",
            [sys.executable, "-m", "benchmarks.servers", "noop", "--response", response_path],
            args.workdir,
            args.pin,
        )
        check_answer(noop.target, request, reference)
        frame_path = os.path.join(args.workdir, "request.bin")
        with open(frame_path, "wb") as file:
            file.write(grpc_frame(request.SerializeToString()))
        frame_bytes = len(grpc_frame(reference))
        runs = []
        for round_index in range(args.rounds):
            for name, server in (("ceiling", noop), ("ours", ours)):
                run = load(name, server.target, frame_path, frame_bytes, args, clients, streams)
                runs.append(run)
                print(
                    f"  {network} {scenario} c{clients} m{streams} round {round_index + 1} {name:8}"
                    f" {run.rpc_per_s:9.0f} RPC/s  p50 {run.p50_ms:.2f} ms  p99 {run.p99_ms:.2f} ms",
                    flush=True,
                )
        for server in (noop, ours):  # still answering OK after the load
            check_answer(server.target, request, reference)
    finally:
        for server in (noop, ours):
            if server is not None:
                server.stop()
    return summarize(network, scenario, sku_count, view, clients, streams, request, reference, runs)


def run_promise_scenario(network: str, scenario: str, args) -> dict:
    """PromiseDelivery of the garage order: ours against a no-op server returning one answer of ours."""
    if network != "demo":
        raise SystemExit(f"{scenario}: the promise scenarios need the demo network (a transport section)")
    line_count, clients, streams = PROMISE_SCENARIOS[scenario]
    clients, streams = args.clients or clients, args.streams or streams
    ours = start_ours(network, args.workdir, args.pin)
    noop = None
    try:
        request = promise_request(line_count)
        reference, reference_stripped = check_promise(ours.target, request)
        check_promise(ours.target, request, reference_stripped)  # the answer does not move between calls
        response_path = os.path.join(args.workdir, "response.bin")
        with open(response_path, "wb") as file:
            file.write(reference)
        noop = Server(
            "ceiling",
            [sys.executable, "-m", "benchmarks.servers", "noop", "--service", "promise", "--response", response_path],
            args.workdir,
            args.pin,
        )
        check_promise(noop.target, request, reference_stripped)
        frame_path = os.path.join(args.workdir, "request.bin")
        with open(frame_path, "wb") as file:
            file.write(grpc_frame(request.SerializeToString()))
        frame_bytes = len(grpc_frame(reference))
        runs = []
        for round_index in range(args.rounds):
            for name, server in (("ceiling", noop), ("ours", ours)):
                run = load(name, server.target, frame_path, frame_bytes, args, clients, streams, PROMISE_METHOD)
                runs.append(run)
                print(
                    f"  {network} {scenario} c{clients} m{streams} round {round_index + 1} {name:8}"
                    f" {run.rpc_per_s:9.0f} RPC/s  p50 {run.p50_ms:.2f} ms  p99 {run.p99_ms:.2f} ms",
                    flush=True,
                )
        for server in (noop, ours):  # still answering the same after the load
            check_promise(server.target, request, reference_stripped)
    finally:
        for server in (noop, ours):
            if server is not None:
                server.stop()
    result = summarize(network, scenario, line_count, "promise", clients, streams, request, reference, runs)
    result["order_lines"] = result.pop("skus_per_request")
    for key in ("sku_checks_per_s_ours", "sku_checks_per_s_ceiling"):
        del result[key]
    result["options"] = len(promise_pb2.PromiseDeliveryResponse.FromString(reference).options)
    return result


def summarize(network, scenario, sku_count, view, clients, streams, request, reference, runs) -> dict:
    result = {
        "network": network,
        "scenario": scenario,
        "skus_per_request": sku_count,
        "view": view,
        "clients": clients,
        "streams": streams,
        "request_bytes": len(request.SerializeToString()),
        "response_bytes": len(reference),
    }
    for name in ("ceiling", "ours"):
        mine = [run for run in runs if run.server == name]
        latencies = np.concatenate([run.latencies_us for run in mine]) / 1000
        result[name] = {
            "rpc_per_s_median": round(statistics.median(run.rpc_per_s for run in mine), 1),
            "rpc_per_s_rounds": [run.rpc_per_s for run in mine],
            "p50_ms": round(float(np.percentile(latencies, 50)), 3),
            "p99_ms": round(float(np.percentile(latencies, 99)), 3),
            "requests": sum(run.requests for run in mine),
        }
    result["ratio"] = round(result["ours"]["rpc_per_s_median"] / result["ceiling"]["rpc_per_s_median"], 3)
    # Each round's ours / the ceiling run just before it: drift between rounds cancels out.
    paired = [o / c for c, o in zip(result["ceiling"]["rpc_per_s_rounds"], result["ours"]["rpc_per_s_rounds"])]
    result["ratio_per_round"] = [round(r, 3) for r in paired]
    result["sku_checks_per_s_ours"] = round(result["ours"]["rpc_per_s_median"] * sku_count)
    result["sku_checks_per_s_ceiling"] = round(result["ceiling"]["rpc_per_s_median"] * sku_count)
    return result


# ---- the promise handler's phases, in-process ------------------------------------------


def promise_phases(calls: int) -> list[dict]:
    """Median microseconds of each step PromiseDelivery takes for the garage orders, in-process:
    the request's parse, Promiser.request_of (validation, SKUs, units, destination),
    PromiseEngine.promise, Promiser.response (building the message and signing a token per
    option; the tokens alone timed apart, from the same holds) and the serialization; and
    Promiser.response_bytes ("wire": the built answer's bytes); and what PromiseDeliveryBytes does today:
    Promiser.promise_rows ("rows": the kernel's rows not built as Options) and its bytes ("wire rows"); and
    "read": the request as PromiseDeliveryBytes takes it, read from its bytes (wire/promise_request.pyx) and
    resolved (Promiser.request_of_read), instead of parse + request_of ("read handler": read, rows, wire rows).
    The demo network and stock of `dompromise serve --in-memory`; no gRPC, no event loop."""
    from dompromise.demo import network as demo
    from dompromise.inventory.engine import Engine
    from dompromise.log import MemoryLog
    from dompromise.promise.token import TokenSigner
    from dompromise.replica.bootstrap import stock_records
    from dompromise.replica.local import Replica
    from dompromise.service.promise import Promiser, token_options

    network = demo.demo_network()
    replica = Replica(Engine(network), MemoryLog())
    replica.bootstrap(list(stock_records(demo.demo_stock(network))))
    promiser = Promiser(replica.engine, TokenSigner(), replica.now_ns)
    rows = []
    for scenario, (line_count, _, _) in PROMISE_SCENARIOS.items():
        data = promise_request(line_count).SerializeToString()
        times: dict[str, list[float]] = {
            name: []
            for name in (
                "parse",
                "request_of",
                "promise",
                "response",
                "tokens",
                "serialize",
                "wire",
                "rows",
                "wire_rows",
                "read",
            )
        }
        wire = getattr(promiser, "response_bytes", None)  # a tree from before the compiled encoder has none
        rows_of = getattr(promiser, "promise_rows", None)  # nor one from before the rows' encoder
        read_of = getattr(promiser, "request_of_read", None)  # nor one from before the request reader
        if read_of is not None:
            from dompromise.wire.promise_request import read_promise_request
        for call_index in range(calls + calls // 10):  # the first tenth warms up
            t0 = time.perf_counter_ns()
            message = promise_pb2.PromiseDeliveryRequest.FromString(data)
            t1 = time.perf_counter_ns()
            request = promiser.request_of(message)
            t2 = time.perf_counter_ns()
            answer = promiser.promise(request)
            t3 = time.perf_counter_ns()
            response = promiser.response(request, answer)
            t4 = time.perf_counter_ns()
            response.SerializeToString()
            t5 = time.perf_counter_ns()
            holds = [
                [
                    [line.sku_id, line.source_node_id or shipment.node_id, line.quantity, 0]
                    for shipment in option.shipments
                    for line in shipment.lines
                ]
                for option in answer.options
            ]
            t6 = time.perf_counter_ns()
            sign_tokens(promiser.signer, holds, t6, request, answer, token_options(request))
            t7 = time.perf_counter_ns()
            if wire is not None:
                wire(request, answer)
            t8 = time.perf_counter_ns()
            if rows_of is not None and wire is not None:
                unbuilt = rows_of(request)
                t9 = time.perf_counter_ns()
                wire(request, unbuilt)
            else:
                t9 = time.perf_counter_ns()
            t10 = time.perf_counter_ns()
            read_request = read_of(read_promise_request(data)) if read_of is not None else request
            t11 = time.perf_counter_ns()
            assert read_request == request, "the garage order is read from its bytes"
            if call_index >= calls // 10:
                spans = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t7 - t6, t5 - t4, t8 - t7, t9 - t8, t10 - t9, t11 - t10)
                for name, ns in zip(times, spans):
                    times[name].append(ns / 1000)
        row = {
            "scenario": scenario,
            "order_lines": line_count,
            "calls": calls,
            "options": len(answer.options),
            "candidates": len(answer.candidates),
            "response_bytes": len(response.SerializeToString()),
        }
        row.update({f"{name}_us": round(statistics.median(values), 1) for name, values in times.items()})
        row["handler_us"] = round(
            sum(row[f"{name}_us"] for name in ("parse", "request_of", "promise", "response", "serialize")), 1
        )
        row["engine_share"] = round(row["promise_us"] / row["handler_us"], 3)
        if wire is not None:  # PromiseDeliveryBytes: the answer written as wire bytes, no message, no serialize
            row["handler_wire_us"] = round(
                sum(row[f"{name}_us"] for name in ("parse", "request_of", "promise", "wire")), 1
            )
        else:
            del row["wire_us"]
        if rows_of is not None and wire is not None:  # PromiseDeliveryBytes today: promise_rows, then the rows' bytes
            row["handler_rows_us"] = round(
                sum(row[f"{name}_us"] for name in ("parse", "request_of", "rows", "wire_rows")), 1
            )
        else:
            del row["rows_us"], row["wire_rows_us"]
        if read_of is not None and "rows_us" in row:  # PromiseDeliveryBytes of a request read from its bytes
            row["handler_read_us"] = round(sum(row[f"{name}_us"] for name in ("read", "rows", "wire_rows")), 1)
        else:
            del row["read_us"]
        rows.append(row)
    print(
        f"\n{'scenario':11} {'parse':>6} {'request_of':>10} {'promise':>8} {'response':>9} {'(tokens)':>9}"
        f" {'serialize':>9} {'handler':>8} {'engine share':>12} {'wire':>6} {'wire handler':>12}"
        f" {'rows':>6} {'wire rows':>9} {'rows handler':>12} {'read':>6} {'read handler':>12}"
        f"   (median us, {calls} calls)"
    )
    for row in rows:
        print(
            f"{row['scenario']:11} {row['parse_us']:6.1f} {row['request_of_us']:10.1f} {row['promise_us']:8.1f}"
            f" {row['response_us']:9.1f} {row['tokens_us']:9.1f} {row['serialize_us']:9.1f} {row['handler_us']:8.1f}"
            f" {row['engine_share']:12.2f} {row.get('wire_us', float('nan')):6.1f}"
            f" {row.get('handler_wire_us', float('nan')):12.1f}"
            f" {row.get('rows_us', float('nan')):6.1f} {row.get('wire_rows_us', float('nan')):9.1f}"
            f" {row.get('handler_rows_us', float('nan')):12.1f}"
            f" {row.get('read_us', float('nan')):6.1f} {row.get('handler_read_us', float('nan')):12.1f}"
        )
    return rows


def sign_tokens(signer, holds: list, expire_ns: int, request, answer, options: dict) -> None:
    """One token per option's holds, as Promiser.response signs them (or, on a tree from before
    TokenSigner.batch, one TokenSigner.sign each: --phases also times older code)."""
    zone_id, pickup_node_id = request.zone_id or "", request.pickup_node_id or ""
    if hasattr(signer, "batch"):
        batch = signer.batch(
            expire_ns, answer.log_position, answer.sku_ids, answer.quantities, zone_id, pickup_node_id, options
        )
        for option_holds in holds:
            batch.sign(option_holds)
        return
    from dompromise.promise.token import PlannedHold, TokenContent

    for option_holds in holds:
        signer.sign(
            TokenContent(
                tuple(PlannedHold(*hold) for hold in option_holds),
                expire_ns,
                answer.log_position,
                answer.sku_ids,
                answer.quantities,
                zone_id,
                pickup_node_id,
                options,
            )
        )


# ---- reporting -----------------------------------------------------------------------


def machine() -> dict:
    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?"
    )
    h2load_version = subprocess.run(["h2load", "--version"], capture_output=True, text=True).stdout.strip()

    def git(*argv: str) -> str:  # read-only: which code was measured
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "h2load": h2load_version,
        "kernel": platform.release(),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],  # others' load on a shared machine
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "dompromise").splitlines(),
    }


def print_table(results: list[dict]) -> None:
    print(
        f"\n{'network':10} {'scenario':13} {'c x m':7} {'ceiling RPC/s':>13} {'ours RPC/s':>11} {'ratio':>6}"
        f" {'ours SKU-checks/s':>18} {'ceil p50/p99 ms':>16} {'ours p50/p99 ms':>16}  ratio per round"
    )
    for r in results:
        if "error" in r:
            print(
                f"{r['network']:10} {r['scenario']:13} {str(r['clients']) + 'x' + str(r['streams']):7} failed: "
                + r["error"].splitlines()[0]
            )
            continue
        c, o = r["ceiling"], r["ours"]
        print(
            f"{r['network']:10} {r['scenario']:13} {str(r['clients']) + 'x' + str(r['streams']):7}"
            f" {c['rpc_per_s_median']:13.0f} {o['rpc_per_s_median']:11.0f} {r['ratio']:6.3f}"
            f" {format(r['sku_checks_per_s_ours'], ',') if 'sku_checks_per_s_ours' in r else '-':>18}"
            f" {c['p50_ms']:7.2f}/{c['p99_ms']:<8.2f} {o['p50_ms']:7.2f}/{o['p99_ms']:<8.2f}"
            f"  per round: {' '.join(f'{x:.2f}' for x in r['ratio_per_round'])}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.grpc_ceiling",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--smoke", action="store_true", help="a few hundred requests per server, 1 round, no verdict")
    parser.add_argument("--sweep", action="store_true", help="single-SKU RPC/s at several h2load -c/-m settings")
    parser.add_argument(
        "--phases",
        type=int,
        nargs="?",
        const=3000,
        metavar="CALLS",
        help="time the promise handler's steps in-process (default 3000 calls per order), no gRPC",
    )
    parser.add_argument(
        "--networks",
        default=None,
        help="comma list of 'demo' and NODESxSKUS (default demo,200x10000; smoke: 20x2000 for"
        " availability, demo for promise)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join([*SCENARIOS, *PROMISE_SCENARIOS]),
        help=f"comma list of {', '.join([*SCENARIOS, *PROMISE_SCENARIOS])} (promise-*: demo network only)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (alternating)")
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each round")
    parser.add_argument("--requests", type=int, default=400, help="requests per round in --smoke mode")
    parser.add_argument("-c", "--clients", type=int, help="h2load connections (default per scenario)")
    parser.add_argument("-m", "--streams", type=int, help="h2load streams per connection (default per scenario)")
    parser.add_argument("--seed", type=int, default=7, help="which SKUs the requests name")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin server and h2load to CPUs")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--bare", action="store_true", help="availability: our handler alone, no interceptor (servers.py ours --bare)"
    )
    args = parser.parse_args(argv)

    if args.phases:
        info = machine()
        print(f"machine: {info}", flush=True)
        rows = promise_phases(args.phases)
        if args.json:
            with open(args.json, "w") as out:
                json.dump({"machine": info, "argv": sys.argv[1:], "phases": rows}, out, indent=1)
            print(f"wrote {args.json}")
        return 0
    if shutil.which("h2load") is None:
        print("h2load not found: install it (Debian/Ubuntu: apt-get install -y nghttp2-client)", file=sys.stderr)
        return 2
    args.pin = args.pin and len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset") is not None
    scenarios = args.scenarios.split(",")
    unknown = [name for name in scenarios if name not in SCENARIOS and name not in PROMISE_SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    if args.smoke:
        args.rounds, args.duration, args.warmup = 1, 0, 0
    networks = (args.networks or ("20x2000" if args.smoke else "demo,200x10000")).split(",")
    # (network, scenario) pairs: promises only where there is transport (the demo network).
    plan = [
        (network, scenario)
        for network in networks
        for scenario in scenarios
        if scenario not in PROMISE_SCENARIOS or network == "demo"
    ]
    if args.smoke and args.networks is None:
        plan += [("demo", scenario) for scenario in scenarios if scenario in PROMISE_SCENARIOS]
    info = machine()
    print(f"machine: {info}\nservers pinned to CPU {SERVER_CPU}, h2load to CPU {LOAD_CPU}: {args.pin}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="grpc_ceiling.") as workdir:
        args.workdir = workdir
        if args.sweep:
            for concurrency in SWEEP:
                try:
                    results.append(run_scenario(networks[0], "single", args, concurrency))
                except RuntimeError as error:  # recorded, so the sweep shows where the server gives way
                    print(f"  c{concurrency[0]} m{concurrency[1]}: {error}", flush=True)
                    results.append(
                        {
                            "network": networks[0],
                            "scenario": "single",
                            "clients": concurrency[0],
                            "streams": concurrency[1],
                            "error": str(error),
                        }
                    )
        else:
            for network, scenario in plan:
                results.append(run_scenario(network, scenario, args))
    print_table(results)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": info, "argv": sys.argv[1:], "smoke": args.smoke, "results": results}, out, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
