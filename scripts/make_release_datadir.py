"""Writes `tests/data/datadir-v1/`: a small data directory as this release writes it, and what it must answer.

The next releases keep `tests/log/test_release_datadir.py`, which serves this directory with their code and
checks the answers in `expected.json`: a release that cannot read its predecessor's data directory fails it.
Run it only to make the directory of a new format (then name the directory after the format):

    python scripts/make_release_datadir.py tests/data/datadir-v1

The history: stock for 3 SKUs at 2 nodes, 4 reservations, a snapshot (so the directory holds a snapshot and
two segments after compaction), then a commit, a release and one more reservation, and a third segment. The
log's clock is fixed and holds last 100 years, so the answers do not depend on the day the test runs.
"""

from __future__ import annotations

import json
import os
import sys

from dompromise import config
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log.file import FileLog
from dompromise.log.snapshot import FORMAT_VERSION
from dompromise.model.network import StockRow
from dompromise.replica.bootstrap import start_log
from dompromise.replica.local import LocalReplica

NETWORK_YAML = """\
# dompromise network config (see docs/config.md): the checked-in data directory's network
version: 1
nodes:
- id: DC-1
  type: dc
  timezone: Europe/Paris
- id: WH-2
  type: warehouse
  timezone: Europe/Paris
skus:
- id: PAD-1
  description: Brake pads, front
- id: OIL-1
  description: Engine oil 5W30, 5 l
- id: BAT-1
  description: Starter battery 12V 60Ah
"""
STOCK = {("PAD-1", "DC-1"): 40, ("PAD-1", "WH-2"): 12, ("OIL-1", "DC-1"): 300, ("BAT-1", "WH-2"): 7}
LOG_TIME_NS = 1_796_083_200_000_000_000  # 2026-12-01T00:00:00Z
TTL_NS = 100 * 365 * 86_400 * 10**9
CUSTOMER = "release-v1"
# (request id, sku, node, quantity): reserved in this order.
RESERVES = [
    ("v1-a", "PAD-1", "DC-1", 4),
    ("v1-b", "OIL-1", "DC-1", 30),
    ("v1-c", "BAT-1", "WH-2", 2),
    ("v1-d", "PAD-1", "WH-2", 5),
]
LATE_RESERVE = ("v1-e", "PAD-1", "DC-1", 6)


def reserve(request_id: str, sku: str, node: str, quantity: int) -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        request_id=request_id,
        reserve=log_pb2.Reserve(
            sku_ids=[sku], node_ids=[node], quantities=[quantity], ttl_ns=TTL_NS, customer_id=CUSTOMER
        ),
    )


def main(directory: str) -> int:
    if os.path.exists(directory) and os.listdir(directory):
        print(f"{directory} is not empty", file=sys.stderr)
        return 2
    os.makedirs(directory, exist_ok=True)
    network_path = os.path.join(directory, "network.yaml")
    with open(network_path, "w") as target:
        target.write(NETWORK_YAML)
    network = config.load_network(network_path)
    ticks = iter(range(LOG_TIME_NS, LOG_TIME_NS + 10**6, 1_000))
    replica = LocalReplica(
        Engine(network),
        FileLog(directory, exclusive=True),
        clock_ns=lambda: next(ticks),
        snapshot_directory=directory,
        snapshot_interval_records=10**9,
    )
    replica.recover()
    rows = [StockRow(sku, node, quantity) for (sku, node), quantity in STOCK.items()]
    start_log(replica, rows, network_path)
    ids = {request_id: replica.bootstrap([reserve(request_id, *line)])[0] for request_id, *line in RESERVES}
    reservation_ids = {key: outcome.reservation.reservation_id for key, outcome in ids.items()}
    replica.snapshot_now()
    replica.bootstrap(
        [log_pb2.LogRecord(commit=log_pb2.Resolve(reservation_id=reservation_ids["v1-a"], order_id="O-1"))]
    )
    replica.bootstrap([log_pb2.LogRecord(release=log_pb2.Resolve(reservation_id=reservation_ids["v1-b"]))])
    replica.log.rotate()
    late = replica.bootstrap([reserve(LATE_RESERVE[0], *LATE_RESERVE[1:])])[0]
    reservation_ids[LATE_RESERVE[0]] = late.reservation.reservation_id
    position = replica.log_position
    replica.log.close()
    expected = {
        "snapshot_format_version": FORMAT_VERSION,
        "segment_format_version": 1,
        "log_position": position,
        "customer_id": CUSTOMER,
        "reservation_ids": reservation_ids,
        "states": {"v1-a": "COMMITTED", "v1-b": "RELEASED", "v1-c": "HELD", "v1-d": "HELD", "v1-e": "HELD"},
        "order_ids": {"v1-a": "O-1"},
        # (sku, node) -> [on hand, held, allocated]
        "positions": {
            "PAD-1@DC-1": [40, 6, 4],
            "PAD-1@WH-2": [12, 5, 0],
            "OIL-1@DC-1": [300, 0, 0],
            "BAT-1@WH-2": [7, 2, 0],
        },
    }
    with open(os.path.join(directory, "expected.json"), "w") as target:
        json.dump(expected, target, indent=2)
        target.write("\n")
    for leftover in ("LOCK",):
        os.remove(os.path.join(directory, leftover))
    print(f"wrote {directory}: log position {position}, {sorted(os.listdir(directory))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/datadir-v1"))
