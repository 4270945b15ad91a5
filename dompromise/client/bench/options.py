"""`dompromise bench` options: kept apart from the driver so building the CLI parser imports nothing heavy."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from dompromise.client import channel
from dompromise.client.channel import ChannelSecurity
from dompromise.client.target import DEFAULT_TARGET

DESCRIPTION = """\
Load a running dompromise server and measure it: several client processes,
each a grpc.aio channel, send a mix of requests built from the server's own
catalogue (ListSkus, ListNodes, GetAvailability), so any network works.

Closed loop (default): each process keeps --in-flight operations outstanding;
a new one starts when one ends. Open loop (--rate R): operations are sent on a
fixed schedule of R per second in total, whatever the server does, and each
latency counts from the intended send time, so a stalled server shows up in
the percentiles (no coordinated omission).

Latencies go into HDR histograms (merged over processes): p50, p90, p99,
p99.9 and max per kind and per RPC method. Failed RPCs are counted by gRPC
status code (an RPC the server does not implement shows as UNIMPLEMENTED).
A progress line goes to stderr every second; --json writes everything."""

EPILOG = """\
kinds (--mix, weights of any total):
  availability  GetAvailability of --availability-skus random SKUs
  promise       PromiseDelivery of one SKU to a node's postal code (a server without
                the promise engine answers UNIMPLEMENTED: counted, not faked)
  reserve       ReserveInventory of one line at a stocked position, then
                CommitReservation (--commit-percent) or ReleaseReservation

contended reservations (--contended K): every reserve goes to K hot SKUs at
one node (--node, default the first enabled node), whose available stock is
first set to --stock units each (this writes to the server: on hand is set
so that exactly --stock is available, earlier holds stay). Holds are kept,
and afterwards the driver counts units held (its own OK answers, and read
back through GetAvailability) and reports oversell = units held beyond the
stock. Any oversell exits 1.

examples:
  dompromise bench --duration 10                             # 80/15/5 mix, closed loop
  dompromise bench --mix availability --in-flight 32         # pure lookups
  dompromise bench --rate 800 --duration 20 --json out.json  # open loop at 800 ops/s
  dompromise bench --contended 4 --stock 1000 --processes 8 --in-flight 12

exit status: 0 when the run completed (errors are reported, not fatal),
1 on oversell, 2 when the run could not start."""

DEFAULT_MIX = "availability=80,promise=15,reserve=5"


@dataclass(frozen=True)
class BenchConfig:
    """One run of the driver."""

    target: str
    mix: str = DEFAULT_MIX
    processes: int = 2
    in_flight: int = 16
    rate: float = 0.0  # ops/s over all processes; 0 is closed loop
    open_in_flight_max: int = 256  # per process, open loop: beyond this the schedule waits (and shows it)
    duration_seconds: float = 10.0
    warmup_seconds: float = 2.0
    contended: int = 0
    stock: int = 1_000
    node_id: str = ""
    quantity: int = 1
    commit_percent: int = 50
    availability_skus: int = 1
    timeout_seconds: float = 10.0
    seed: int = 1
    quiet: bool = False
    json_path: str = ""
    # CPUs the client processes run on (sched_setaffinity); empty: wherever the kernel puts them.
    client_cpus: tuple[int, ...] = ()
    # TLS files and API key (client/channel.py).
    security: ChannelSecurity = field(default_factory=ChannelSecurity)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default=DEFAULT_TARGET, help=f"server address (default {DEFAULT_TARGET})")
    parser.add_argument(
        "--mix",
        default=None,
        metavar="KIND=WEIGHT,...",
        help=f"operation mix (default {DEFAULT_MIX}; with --contended: reserve)",
    )
    parser.add_argument("--processes", type=int, default=2, help="client processes (default 2)")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=16,
        metavar="N",
        help="closed loop: operations outstanding per process (default 16)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        metavar="OPS_PER_S",
        help="open loop: target operations/s over all processes (default: closed loop)",
    )
    parser.add_argument(
        "--open-in-flight-max",
        type=int,
        default=256,
        metavar="N",
        help="open loop: most operations outstanding per process (default 256)",
    )
    parser.add_argument("--duration", type=float, default=10.0, metavar="SECONDS", help="measured time (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, metavar="SECONDS", help="unmeasured load before it (default 2)"
    )
    parser.add_argument(
        "--contended",
        type=int,
        default=0,
        metavar="K",
        help="reserve only K hot SKUs at one node with --stock each, then count oversell",
    )
    parser.add_argument(
        "--stock", type=int, default=1_000, help="contended: units available per hot SKU (default 1000)"
    )
    parser.add_argument("--node", default="", dest="node_id", help="contended: the node (default first enabled)")
    parser.add_argument("--quantity", type=int, default=1, help="units per reserve / promise line (default 1)")
    parser.add_argument(
        "--commit-percent",
        type=int,
        default=50,
        metavar="P",
        help="share of holds committed, the rest released (default 50)",
    )
    parser.add_argument(
        "--availability-skus", type=int, default=1, metavar="N", help="SKUs per GetAvailability (default 1)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="deadline of each RPC")
    parser.add_argument("--seed", type=int, default=1, help="random choices of SKUs and kinds")
    parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    parser.add_argument("--json", default="", dest="json_path", metavar="PATH", help="write the results here")
    parser.add_argument(
        "--client-cpus",
        type=parse_cpus,
        default=(),
        metavar="CPU,...",
        help="run the client processes on these CPUs only, e.g. 1 (a server pinned to the others: "
        "its figure, not the clients'; default: anywhere)",
    )
    channel.add_arguments(parser)


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    mix = args.mix or ("reserve" if args.contended else DEFAULT_MIX)
    return BenchConfig(
        target=args.target,
        mix=mix,
        processes=args.processes,
        in_flight=args.in_flight,
        rate=args.rate,
        open_in_flight_max=args.open_in_flight_max,
        duration_seconds=args.duration,
        warmup_seconds=args.warmup,
        contended=args.contended,
        stock=args.stock,
        node_id=args.node_id,
        quantity=args.quantity,
        commit_percent=args.commit_percent,
        availability_skus=args.availability_skus,
        timeout_seconds=args.timeout,
        seed=args.seed,
        quiet=args.quiet,
        json_path=args.json_path,
        client_cpus=args.client_cpus,
        security=channel.from_args(args),
    )


def parse_cpus(text: str) -> tuple[int, ...]:
    """'1' or '0,2' -> CPU numbers (argparse type)."""
    try:
        cpus = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"CPUs are numbers separated by commas, not {text!r}") from None
    if not cpus or min(cpus) < 0:
        raise argparse.ArgumentTypeError(f"no CPU numbers in {text!r}")
    return cpus


def problems(config: BenchConfig) -> list[str]:
    """What is wrong with a configuration, in words (empty when it can run)."""
    found = []
    if config.processes < 1:
        found.append("--processes must be >= 1")
    if config.in_flight < 1:
        found.append("--in-flight must be >= 1")
    if config.rate < 0:
        found.append("--rate must be >= 0")
    if config.open_in_flight_max < 1:
        found.append("--open-in-flight-max must be >= 1")
    if config.duration_seconds <= 0:
        found.append("--duration must be > 0")
    if config.warmup_seconds < 0:
        found.append("--warmup must be >= 0")
    if config.contended < 0:
        found.append("--contended must be >= 0")
    if config.contended and config.stock < 0:
        found.append("--stock must be >= 0")
    if config.quantity < 1:
        found.append("--quantity must be >= 1")
    if not 0 <= config.commit_percent <= 100:
        found.append("--commit-percent must be 0 to 100")
    if config.availability_skus < 1:
        found.append("--availability-skus must be >= 1")
    if config.timeout_seconds <= 0:
        found.append("--timeout must be > 0")
    if config.client_cpus and not set(config.client_cpus) <= os.sched_getaffinity(0):
        found.append(
            f"--client-cpus {config.client_cpus}: this process may run only on {sorted(os.sched_getaffinity(0))}"
        )
    return found
