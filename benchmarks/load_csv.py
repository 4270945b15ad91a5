"""`dompromise load` of a large stock CSV, end to end (issue 4 target: 1M rows <= 10 s).

  python -m benchmarks.load_csv              # 200 nodes x 5,000 SKUs = 1,000,000 rows
  python -m benchmarks.load_csv --smoke      # 20,000 rows, for CI

Writes a synthetic network config and a CSV with one row per position, starts
`dompromise serve --config ... --data-dir ...` (the durable file log, fsync
on), and times the `dompromise load` process from start to exit: reading the
CSV, streaming it, the server checking, logging and applying every row.
Prints JSON; checks that the server answers the loaded quantities.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import grpc
import numpy as np

from benchmarks.networks import build_network
from dompromise import config
from dompromise.v1 import availability_pb2, availability_pb2_grpc


def write_inputs(directory: str, nodes: int, skus: int) -> tuple[str, str, np.ndarray]:
    network = build_network(nodes, skus)
    network_path = os.path.join(directory, "network.yaml")
    with open(network_path, "w", encoding="utf-8") as out:
        out.write(config.dump_network(network))
    quantities = np.random.default_rng(7).integers(0, 1_000, size=nodes * skus)
    csv_path = os.path.join(directory, "stock.csv")
    node_ids = [node.node_id for node in network.nodes]
    with open(csv_path, "w", encoding="utf-8") as out:
        out.write("sku_id,node_id,on_hand_quantity\n")
        values = quantities.tolist()
        for s, sku in enumerate(network.skus):
            row = s * nodes
            out.write("".join(f"{sku.sku_id},{node_ids[n]},{values[row + n]}\n" for n in range(nodes)))
    return network_path, csv_path, quantities.reshape(skus, nodes)


def start_server(network_path: str, data_dir: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dompromise", "serve", "--port", "0", "--config", network_path, "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    if "serving on" not in line:
        process.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--smoke", action="store_true", help="20 nodes x 1,000 SKUs")
    args = parser.parse_args()
    nodes, skus = (20, 1_000) if args.smoke else (args.nodes, args.skus)
    with tempfile.TemporaryDirectory() as directory:
        network_path, csv_path, quantities = write_inputs(directory, nodes, skus)
        server, target = start_server(network_path, os.path.join(directory, "data"))
        try:
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "dompromise", "load", csv_path, "--target", target, "--quiet"],
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
            assert result.returncode == 0, result.stderr
            check(target, quantities)
        finally:
            server.terminate()
            server.wait(30)
    rows = nodes * skus
    print(
        json.dumps(
            {
                "rows": rows,
                "nodes": nodes,
                "skus": skus,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "target_seconds_for_1M": 10,
                "cpu_count": os.cpu_count(),
                "output": result.stdout.strip(),
            },
            indent=2,
        )
    )
    return 0


def check(target: str, quantities: np.ndarray) -> None:
    """The last SKU's row must read back exactly as loaded (nothing reserved yet)."""
    with grpc.insecure_channel(target) as channel:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        sku_id = build_network(quantities.shape[1], quantities.shape[0]).skus[-1].sku_id
        answer = stub.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=[sku_id]))
    assert list(answer.items[0].node_available_quantities) == quantities[-1].tolist(), "loaded figures differ"


if __name__ == "__main__":
    sys.exit(main())
