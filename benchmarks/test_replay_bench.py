"""Replay: Engine.apply_record over a stream of realistic log records.

Every instance applies every record (recovery from a file log, the Redis
catch-up, tailing). Each benchmark round applies RECORDS records of one kind
to a fresh demo-network engine (which has daily capacities configured, so the
capacity counts are kept as in production) stocked at 500 SKUs x every node.
Reserve, on-hand and commit/release records carry a request_id, as the
service writes them (the idempotency cache keeps each encoded answer).

  pytest benchmarks/test_replay_bench.py --benchmark-only   # records/s = RECORDS / mean
  python -m benchmarks.test_replay_bench                    # the same, as a table, 3 runs each

Checks: the final state's digest is the same with the benchmark disabled (one
round), and replaying the stream twice gives the same digest.
"""

from __future__ import annotations

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


def timed(kind: str, count: int = RECORDS) -> tuple[float, str]:
    """(records/s of the measured part, final digest). commit_release times the resolves only."""
    engine, stream = stocked_engine(), records(kind, count)
    if kind == "commit_release":
        replay(engine, stream[:count])
        stream = stream[count:]
    started = time.perf_counter()
    replay(engine, stream)
    return len(stream) / (time.perf_counter() - started), engine.core.digest()


@pytest.mark.parametrize("kind", KINDS)
def test_replay(benchmark, kind):
    streams = {}

    def setup():
        engine, stream = stocked_engine(), records(kind, RECORDS)
        if kind == "commit_release":
            replay(engine, stream[:RECORDS])
            stream = stream[RECORDS:]
        streams["last"] = engine
        return (engine, stream), {}

    benchmark.extra_info.update(records=RECORDS, kind=kind)
    benchmark.pedantic(replay, setup=setup, rounds=1 if SMOKE else 3)
    engine = stocked_engine()
    replay(engine, records(kind, RECORDS))
    assert streams["last"].core.digest() == engine.core.digest(), "replay is not deterministic"


def main(argv: list[str]) -> int:
    kinds = argv or list(KINDS)
    for kind in kinds:
        count = RECORDS // 5 if kind.endswith("100") else RECORDS * 2
        runs = [timed(kind, count) for _ in range(3)]
        assert len({digest for _, digest in runs}) == 1, "replay is not deterministic"
        rates = sorted(rate for rate, _ in runs)
        print(
            f"{kind:15s} {rates[1]:>9,.0f} records/s  ({1e6 / rates[1]:6.1f} us; runs "
            f"{', '.join(f'{r:,.0f}' for r in rates)})  digest {runs[0][1][:12]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
