"""Server processes for benchmarks/grpc_ceiling.py. Each prints, once listening,
the same line as `dompromise serve`: "dompromise serving on HOST:PORT".

  python -m benchmarks.servers ours --nodes 200 --skus 10000   # our server, synthetic network
  python -m benchmarks.servers noop --response FILE            # the no-op ceiling
  python -m benchmarks.servers noop --service promise --response FILE   # ... of PromiseDelivery
  python -m benchmarks.servers noop --service reserve --response FILE   # ... of ReserveInventory

`dompromise_serve(*args)` (a context manager) runs `dompromise serve` itself on a
fresh temporary --data-dir, for benchmarks/bench_runs.py and pg_baseline.py.

The no-op server is a grpc.aio server with the same options as ours whose
GetAvailability returns a response precomputed by our server (read from
FILE, serialized GetAvailabilityResponse): the same bytes on the wire, no
lookup. The gap between the two is what our handler costs. With --service
promise it serves PromiseDelivery instead (FILE: a serialized
PromiseDeliveryResponse, tokens included), returned as is on every call.
With --service reserve it serves ReserveInventory (FILE: a serialized
ReserveInventoryResponse, as our server answered one), the bytes returned as
they are (no serializer, as our ReserveInventory handler answers).
--interceptor adds our ConsistencyInterceptor (positions in every answer's
metadata) over a tiny in-memory replica: what that interceptor costs alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

import grpc

from dompromise import limits
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)


class NoopAvailability(availability_pb2_grpc.AvailabilityServiceServicer):
    def __init__(self, response: availability_pb2.GetAvailabilityResponse):
        self._response = response

    async def GetAvailability(self, request, context):
        return self._response


class NoopPromise(promise_pb2_grpc.PromiseServiceServicer):
    def __init__(self, response: promise_pb2.PromiseDeliveryResponse):
        self._response = response

    async def PromiseDelivery(self, request, context):
        return self._response


def add_noop_reserve(response: bytes, server: grpc.aio.Server) -> None:
    """ReserveInventory answering `response` (serialized bytes) to every call, without a serializer."""

    async def reserve(request: reservation_pb2.ReserveInventoryRequest, context: object) -> bytes:
        return response

    reservation_pb2_grpc.add_ReservationServiceServicer_to_server(
        reservation_pb2_grpc.ReservationServiceServicer(), server
    )
    handler = grpc.unary_unary_rpc_method_handler(
        reserve, request_deserializer=reservation_pb2.ReserveInventoryRequest.FromString, response_serializer=None
    )
    server.add_registered_method_handlers("dompromise.v1.ReservationService", {"ReserveInventory": handler})


def announce(port: int) -> None:
    print(f"dompromise serving on 127.0.0.1:{port}", flush=True)


async def serve_noop(response_path: str, port: int, service: str = "availability", interceptor: bool = False) -> None:
    with open(response_path, "rb") as file:
        data = file.read()
    # Same options as dompromise.service.server.create_server, so only the handler differs.
    options = [
        ("grpc.max_receive_message_length", limits.MESSAGE_BYTES_MAX),
        ("grpc.max_send_message_length", limits.MESSAGE_BYTES_MAX),
        ("grpc.so_reuseport", 0),
    ]
    interceptors = []
    if interceptor:
        from benchmarks.networks import synthetic_network
        from dompromise.log import MemoryLog
        from dompromise.replica.local import Replica
        from dompromise.service.consistency import ConsistencyInterceptor

        interceptors.append(ConsistencyInterceptor(Replica(synthetic_network(2, 10, 1).engine, MemoryLog())))
    server = grpc.aio.server(
        options=options, maximum_concurrent_rpcs=limits.CONCURRENT_RPCS_MAX, interceptors=interceptors
    )
    if service == "reserve":
        add_noop_reserve(data, server)
    elif service == "promise":
        promise_pb2_grpc.add_PromiseServiceServicer_to_server(
            NoopPromise(promise_pb2.PromiseDeliveryResponse.FromString(data)), server
        )
    else:
        availability_pb2_grpc.add_AvailabilityServiceServicer_to_server(
            NoopAvailability(availability_pb2.GetAvailabilityResponse.FromString(data)), server
        )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    announce(bound)
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(1)


def serve_ours(node_count: int, sku_count: int, seed: int, port: int) -> None:
    from benchmarks.networks import synthetic_network
    from dompromise.log import MemoryLog
    from dompromise.replica.local import Replica
    from dompromise.service.server import serve

    # Stocked directly, not through the log: the benchmark only reads, and
    # replaying 2M positions of log records would only slow the start.
    engine = synthetic_network(node_count, sku_count, seed).engine
    asyncio.run(serve(Replica(engine, MemoryLog()), f"127.0.0.1:{port}", ready=announce))


@contextlib.contextmanager
def dompromise_serve(*args: str, start_seconds_max: float = 60):
    """`python -m dompromise serve --port 0 ARGS` in a child process; yields its address.

    Without --in-memory or --data-dir, the command log goes to a fresh
    temporary directory (the durable default: file log, fdatasync group
    commit), removed afterwards.
    """
    with contextlib.ExitStack() as stack:
        if "--in-memory" not in args and "--data-dir" not in args:
            args = (*args, "--data-dir", stack.enter_context(tempfile.TemporaryDirectory(prefix="dompromise-bench-")))
        stderr = stack.enter_context(tempfile.TemporaryFile())
        process = subprocess.Popen(
            [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        try:
            deadline = time.monotonic() + start_seconds_max
            target = None
            while target is None and time.monotonic() < deadline and process.poll() is None:
                if select.select([process.stdout], [], [], 0.2)[0]:
                    match = re.search(rb"serving on (\S+:\d+)", process.stdout.readline())
                    target = match.group(1).decode() if match else None
            if target is None:
                stderr.seek(0)
                raise RuntimeError(f"dompromise serve did not start: {stderr.read().decode(errors='replace')[-2000:]}")
            yield target
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            process.stdout.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.servers", description=__doc__.split("\n\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    ours = kinds.add_parser("ours", help="dompromise on a synthetic network (benchmarks/networks.py)")
    ours.add_argument("--nodes", type=int, default=200)
    ours.add_argument("--skus", type=int, default=10_000)
    ours.add_argument("--seed", type=int, default=1)
    noop = kinds.add_parser("noop", help="the no-op ceiling: returns a precomputed response")
    noop.add_argument(
        "--response",
        required=True,
        help="file holding a serialized GetAvailabilityResponse (or PromiseDeliveryResponse)",
    )
    noop.add_argument(
        "--service",
        choices=("availability", "promise", "reserve"),
        default="availability",
        help="serve GetAvailability (default), PromiseDelivery or ReserveInventory",
    )
    noop.add_argument(
        "--interceptor", action="store_true", help="add dompromise's ConsistencyInterceptor (over a tiny replica)"
    )
    for sub in (ours, noop):
        sub.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.kind == "ours":
        serve_ours(args.nodes, args.skus, args.seed, args.port)
    else:
        asyncio.run(serve_noop(args.response, args.port, args.service, args.interceptor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
