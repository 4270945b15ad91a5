"""Replay: Engine.apply_record over a stream of realistic log records.

Every instance applies every record (recovery from a file log, the Redis
catch-up, tailing). Each benchmark round applies RECORDS records of one kind
to a fresh demo-network engine (which has daily capacities configured, so the
capacity counts are kept as in production) stocked at 500 SKUs x every node.
Reserve, on-hand and commit/release records carry a request_id, as the
service writes them (the idempotency cache keeps each encoded answer).

Two paths: `record` hands apply_record a parsed LogRecord (the stream is
parsed before timing); `payload` hands replay_payload the record's bytes, as
recovery and a tailing replica get them (parsing included: a reserve is
decoded and applied by inventory/_records.pyx, any other record parsed and
applied by apply_record).

  pytest benchmarks/test_replay_bench.py --benchmark-only   # records/s = RECORDS / mean
  python -m benchmarks.test_replay_bench [--json FILE] [KIND ...]
      # a table: both paths alternated in one run, 5 runs each, median and ratio

Checks: the final state's digest is the same with the benchmark disabled (one
round), replaying the stream twice gives the same digest, and both paths give
the same digest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks.conftest import SMOKE
from dompromise.demo import network as demo
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine

RECORDS = 200 if SMOKE else 5_000
LINES = 100  # lines / items of the wide records
TTL_NS = 3600 * 10**9
START_NS = 1_800_000_000 * 10**9
KINDS = ("reserve1", "reserve100", "onhand1", "onhand100", "commit_release", "tick")

_network = demo.demo_network()
_skus = [sku.sku_id for sku in _network.skus][:500]
_nodes = [node.node_id for node in _network.nodes]


def stocked_engine() -> Engine:
    engine = Engine(_network)
    pairs = [(sku, node) for sku in _skus for node in _nodes]
    engine.apply_record(
        log_pb2.LogRecord(
            log_time_ns=START_NS,
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=[s for s, _ in pairs],
                node_ids=[n for _, n in pairs],
                ops=[1] * len(pairs),
                quantities=[10**12] * len(pairs),
            ),
        ),
        1,
    )
    return engine


def _wide(i: int) -> tuple[list[str], list[str]]:
    return [_skus[(i + k) % len(_skus)] for k in range(LINES)], [_nodes[k % len(_nodes)] for k in range(LINES)]


def records(kind: str, count: int, first_position: int = 2) -> list[log_pb2.LogRecord]:
    """`count` records of one kind, times 1 us apart; commit_release also places the holds it resolves."""
    out = []
    at = START_NS + 1000
    if kind == "commit_release":
        holds = records("reserve1", count, first_position)
        resolves = []
        for i in range(count):
            body = log_pb2.Resolve(reservation_id=f"R{first_position + i}", order_id=f"o{i}" if i % 2 else "")
            resolves.append(
                log_pb2.LogRecord(
                    log_time_ns=at + (count + i) * 1000, request_id=f"c{i}", **{"commit" if i % 2 else "release": body}
                )
            )
        return holds + resolves
    for i in range(count):
        t = at + i * 1000
        if kind == "reserve1":
            out.append(
                log_pb2.LogRecord(
                    log_time_ns=t,
                    request_id=f"r{i}",
                    reserve=log_pb2.Reserve(
                        sku_ids=[_skus[i % len(_skus)]], node_ids=["DC-NAT"], quantities=[1], ttl_ns=TTL_NS
                    ),
                )
            )
        elif kind == "reserve100":
            sku_ids, node_ids = _wide(i)
            out.append(
                log_pb2.LogRecord(
                    log_time_ns=t,
                    request_id=f"r{i}",
                    reserve=log_pb2.Reserve(sku_ids=sku_ids, node_ids=node_ids, quantities=[1] * LINES, ttl_ns=TTL_NS),
                )
            )
        elif kind == "onhand1":
            out.append(
                log_pb2.LogRecord(
                    log_time_ns=t,
                    request_id=f"u{i}",
                    update_on_hand=log_pb2.UpdateOnHand(
                        sku_ids=[_skus[i % len(_skus)]], node_ids=["DC-NAT"], ops=[2], quantities=[1]
                    ),
                )
            )
        elif kind == "onhand100":
            sku_ids, node_ids = _wide(i)
            out.append(
                log_pb2.LogRecord(
                    log_time_ns=t,
                    request_id=f"u{i}",
                    update_on_hand=log_pb2.UpdateOnHand(
                        sku_ids=sku_ids, node_ids=node_ids, ops=[2] * LINES, quantities=[1] * LINES
                    ),
                )
            )
        elif kind == "tick":
            out.append(log_pb2.LogRecord(log_time_ns=t, tick=log_pb2.Tick()))
        else:
            raise ValueError(kind)
    return out


def replay(engine: Engine, stream: list[log_pb2.LogRecord]) -> None:
    apply, position = engine.apply_record, engine.log_position
    for record in stream:
        position += 1
        apply(record, position)


def replay_payloads(engine: Engine, payloads: list[bytes]) -> None:
    apply, position = engine.replay_payload, engine.log_position
    for payload in payloads:
        position += 1
        apply(payload, position)


def timed(kind: str, count: int = RECORDS, path: str = "record") -> tuple[float, str, float]:
    """(records/s of the measured part, final digest, records per CPU second of this process: on a shared
    machine, what the wall clock loses to other processes it does not count). commit_release times the
    resolves only."""
    engine, stream = stocked_engine(), records(kind, count)
    if kind == "commit_release":
        replay(engine, stream[:count])
        stream = stream[count:]
    payloads = [record.SerializeToString() for record in stream]
    started, cpu_started = time.perf_counter(), time.process_time()
    if path == "record":
        replay(engine, stream)
    else:
        replay_payloads(engine, payloads)
    cpu_seconds = time.process_time() - cpu_started
    return len(stream) / (time.perf_counter() - started), engine.core.digest(), len(stream) / cpu_seconds


@pytest.mark.parametrize("path", ("record", "payload"))
@pytest.mark.parametrize("kind", KINDS)
def test_replay(benchmark, kind, path):
    streams = {}

    def setup():
        engine, stream = stocked_engine(), records(kind, RECORDS)
        if kind == "commit_release":
            replay(engine, stream[:RECORDS])
            stream = stream[RECORDS:]
        streams["last"] = engine
        if path == "payload":
            return (engine, [record.SerializeToString() for record in stream]), {}
        return (engine, stream), {}

    benchmark.extra_info.update(records=RECORDS, kind=kind, path=path)
    benchmark.pedantic(replay if path == "record" else replay_payloads, setup=setup, rounds=1 if SMOKE else 3)
    engine = stocked_engine()
    replay(engine, records(kind, RECORDS))
    assert streams["last"].core.digest() == engine.core.digest(), "replay is not deterministic"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout.strip()


def main(argv: list[str]) -> int:
    json_path = None
    if argv[:1] == ["--json"]:
        json_path, argv = argv[1], argv[2:]
    kinds = argv or list(KINDS)
    results = []
    print(f"load average {os.getloadavg()[0]:.2f}")
    for kind in kinds:
        count = RECORDS // 5 if kind.endswith("100") else RECORDS * 2
        runs: dict[str, list[float]] = {"record": [], "payload": []}
        cpu_runs: dict[str, list[float]] = {"record": [], "payload": []}
        digests = set()
        for _ in range(5):  # alternated, so both see the same machine
            for path in runs:
                rate, digest, cpu_rate = timed(kind, count, path)
                runs[path].append(rate)
                cpu_runs[path].append(cpu_rate)
                digests.add(digest)
        assert len(digests) == 1, "replay is not deterministic, or the paths differ"
        median = {path: sorted(rates)[len(rates) // 2] for path, rates in runs.items()}
        cpu_median = {path: sorted(rates)[len(rates) // 2] for path, rates in cpu_runs.items()}
        ratio = median["payload"] / median["record"]
        print(
            f"{kind:15s} record {median['record']:>9,.0f}/s  payload {median['payload']:>9,.0f}/s "
            f"({1e6 / median['payload']:5.1f} us, x{ratio:.2f}); per CPU second: record "
            f"{cpu_median['record']:>9,.0f}  payload {cpu_median['payload']:>9,.0f}  digest {digests.pop()[:12]}"
        )
        results.append(
            {
                "kind": kind,
                "records_per_run": count,
                "record_median_per_second": round(median["record"]),
                "payload_median_per_second": round(median["payload"]),
                "payload_to_record": round(ratio, 2),
                "record_median_per_cpu_second": round(cpu_median["record"]),
                "payload_median_per_cpu_second": round(cpu_median["payload"]),
                "runs": {path: [round(r) for r in rates] for path, rates in runs.items()},
                "cpu_runs": {path: [round(r) for r in rates] for path, rates in cpu_runs.items()},
            }
        )
    if json_path:
        machine = {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "loadavg_at_end": os.getloadavg(),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "uncommitted": _git("status", "--porcelain", "--", "dompromise").splitlines(),
        }
        with open(json_path, "w") as out:
            json.dump(
                {
                    "benchmark": "replay",
                    "unit": "records_per_second",
                    "target": 200_000,
                    "machine": machine,
                    "results": results,
                },
                out,
                indent=1,
            )
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
