"""The parts counter's figures: catalog search latency over 200k SKUs, and single-SKU GET over HTTP/JSON against
a no-op aiohttp handler answering the same bytes, in one run.

  python -m benchmarks.http_counter                  # both (about a minute)
  python -m benchmarks.http_counter --smoke          # seconds, no verdict (CI)
  python -m benchmarks.http_counter --json benchmarks/results/http_counter.json

Search: 200,000 SKUs made from the demo catalog's words (part numbers of the demo's families, its description
vocabulary), the index built once, then queries as a person types them (every prefix of part numbers, of
description words, two-word queries), one at a time, three passes; wall p50 / p99 / max of the first pass, the
p99 of each query's CPU time (thread_time) and of its best wall time of the passes. Target: p99 <= 5 ms, judged on
the CPU time: on a shared machine the wall tail is other processes' time slices, not the index's.

HTTP: `dompromise serve --http-port` on the demo network, and a no-op aiohttp server returning the same response
body (ours, captured first) for any GET, each in its own process pinned to CPU 0 while h2load --h1 (Debian's
nghttp2-client) drives it from CPU 1. Both are the same aiohttp on the default asyncio loop, access log off; the
no-op is a bare app (no middleware, no extra headers), ours everything `serve` runs (the gRPC server too). Rounds
alternate no-op, ours, no-op, ours: the ratio ours / no-op of the medians of requests/s is the figure (target
>= 0.7). Beside it, each server's CPU time per request (from /proc, all its threads) and their ratio: on a machine
other processes load, the rates also measure how much CPU each round got; the CPU time per request does not.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dompromise.demo import network as demo
from dompromise.inventory.search import SkuSearch, words_of
from dompromise.model.network import Sku

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEARCH_SKUS = 200_000
SEARCH_PASSES = 3
PATH = "/v1/availability?sku_ids={sku}"
NOOP_SERVER = """
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()
async def noop(request):
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_get("/{tail:.*}", noop)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=lambda *a: print("ready", flush=True))
"""


def catalog(count: int, seed: int = 7) -> list[Sku]:
    rng = random.Random(seed)
    base = demo.demo_network().skus
    prefixes = sorted({sku.sku_id.rsplit("-", 1)[0] for sku in base})
    vocabulary = sorted({word for sku in base for word in sku.description.split()})
    seen: set[str] = set()
    skus = []
    while len(skus) < count:
        sku_id = f"{rng.choice(prefixes)}-{rng.randrange(10_000, 10_000_000)}"
        if sku_id in seen:
            continue
        seen.add(sku_id)
        skus.append(Sku(sku_id, " ".join(rng.sample(vocabulary, 5))))
    return skus


def typed_queries(skus: list[Sku], count: int, seed: int = 11) -> list[str]:
    """What people type: prefixes of part numbers (from 1 character), of description words, two words."""
    rng = random.Random(seed)
    queries = []
    while len(queries) < count:
        sku = rng.choice(skus)
        kind = rng.random()
        if kind < 0.5:
            queries.append(sku.sku_id.lower()[: rng.randint(1, len(sku.sku_id))])
        else:
            words = words_of(sku.description)
            first = rng.choice(words)
            query = first[: rng.randint(1, len(first))]
            if kind > 0.8:
                second = rng.choice(words)
                query += " " + second[: rng.randint(1, len(second))]
            queries.append(query)
    return queries


def bench_search(sku_count: int, query_count: int) -> dict:
    skus = catalog(sku_count)
    by_id = {sku.sku_id: sku for sku in skus}
    started = time.perf_counter()
    index = SkuSearch(skus, by_id.get)
    build_seconds = time.perf_counter() - started
    # As `serve` does with what start-up built (gc_pause.py): later collections skip the catalog.
    gc.collect()
    gc.freeze()
    queries = typed_queries(skus, query_count)
    for query in queries[:50]:  # warm
        index.search(query)
    # Three passes over the queries; per query its wall time in each pass, and its CPU time (thread_time: what the
    # query costs, without the time another process held the CPU, on a shared 2-core machine).
    wall_ms = [[0.0] * len(queries) for _ in range(SEARCH_PASSES)]
    cpu_ms = [0.0] * len(queries)
    for attempt in range(SEARCH_PASSES):
        for i, query in enumerate(queries):
            cpu_started = time.thread_time_ns()
            started = time.perf_counter()
            answer = index.search(query)
            wall_ms[attempt][i] = (time.perf_counter() - started) * 1000
            if attempt == 0:
                cpu_ms[i] = (time.thread_time_ns() - cpu_started) / 1e6
            assert answer.total_count >= len(answer.skus)
    first_pass = sorted(wall_ms[0])
    best_of_passes = sorted(min(times) for times in zip(*wall_ms))
    cpu = sorted(cpu_ms)
    return {
        "sku_count": sku_count,
        "query_count": len(queries),
        "build_seconds": round(build_seconds, 2),
        "p50_ms": _percentile(first_pass, 0.50),
        "p99_ms": _percentile(first_pass, 0.99),
        "max_ms": round(first_pass[-1], 3),
        "cpu_p99_ms": _percentile(cpu, 0.99),
        f"best_of_{SEARCH_PASSES}_p99_ms": _percentile(best_of_passes, 0.99),
        "loadavg_after": os.getloadavg(),
    }


def _percentile(ordered: list[float], share: float) -> float:
    return round(ordered[max(int(len(ordered) * share) - 1, 0)], 3)


def _pinned(argv: list[str], cpu: str) -> list[str]:
    return (["taskset", "-c", cpu] if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1 else []) + argv


def _start(argv: list[str], ready_pattern: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        match = re.search(ready_pattern, line)
        if match:
            return process, match.group(1) if match.groups() else ""
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def _h2load(url: str, requests: int, clients: int) -> float:
    out = subprocess.run(
        _pinned(["h2load", "--h1", "-n", str(requests), "-c", str(clients), url], "1"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    succeeded = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out)
    assert succeeded and int(succeeded.group(1)) == requests, out
    return float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))  # type: ignore[union-attr]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _round(url: str, pid: int, requests: int, clients: int) -> tuple[float, float, float]:
    """One h2load run: (requests/s, the server's CPU microseconds per request, its CPU share of the wall time)."""
    cpu_before, wall_before = _cpu_seconds(pid), time.perf_counter()
    rps = _h2load(url, requests, clients)
    cpu, wall = _cpu_seconds(pid) - cpu_before, time.perf_counter() - wall_before
    return rps, round(cpu / requests * 1e6, 2), round(cpu / wall, 3)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_http(rounds: int, requests: int, clients: int, body_file: str) -> dict:
    """Alternated rounds, no-op first; per round h2load's requests/s and the server process's CPU per request.

    Requests/s is the issue's figure; on a machine other processes load, a round's rate is also how much of
    CPU 0 (and of CPU 1, for h2load) the server got, so the CPU time per request, each server's own, is given
    beside it, with each round's CPU share (near 1.0: the server was the bottleneck).
    """
    if not shutil.which("h2load"):
        raise SystemExit("needs h2load (apt-get install nghttp2-client)")
    loadavg_before = os.getloadavg()
    python = sys.executable
    env_path = f"PYTHONPATH={REPO}"
    ours, port = _start(
        _pinned(
            ["env", env_path, python, "-m", "dompromise", "serve", "--in-memory", "--port", "0", "--http-port", "0"],
            "0",
        ),
        r"dompromise http on [\d.]+:(\d+)",
    )
    try:
        sku = demo.demo_network().skus[0].sku_id
        url = f"http://127.0.0.1:{port}" + PATH.format(sku=sku)
        body = urllib.request.urlopen(url, timeout=10).read()
        assert b'"ITEM_STATUS_OK"' in body, body[:200]
        with open(body_file, "wb") as out:
            out.write(body)
        noop_port = str(_free_port())
        noop, _ = _start(_pinned([python, "-c", NOOP_SERVER, body_file, noop_port], "0"), r"(ready)")
        try:
            noop_url = f"http://127.0.0.1:{noop_port}" + PATH.format(sku=sku)
            assert urllib.request.urlopen(noop_url, timeout=10).read() == body
            _h2load(url, max(requests // 10, 50), clients)  # warm both
            _h2load(noop_url, max(requests // 10, 50), clients)
            noop_rounds, ours_rounds = [], []
            for _ in range(rounds):
                noop_rounds.append(_round(noop_url, noop.pid, requests, clients))
                ours_rounds.append(_round(url, ours.pid, requests, clients))
        finally:
            noop.kill()
            noop.wait()
    finally:
        ours.kill()
        ours.wait()
    noop_rps, noop_cpu_us, noop_share = (list(column) for column in zip(*noop_rounds))
    ours_rps, ours_cpu_us, ours_share = (list(column) for column in zip(*ours_rounds))
    return {
        "response_bytes": len(body),
        "clients": clients,
        "requests_per_round": requests,
        "noop_rps": noop_rps,
        "ours_rps": ours_rps,
        "ratio_of_medians": round(statistics.median(ours_rps) / statistics.median(noop_rps), 3),
        "noop_cpu_us_per_request": noop_cpu_us,
        "ours_cpu_us_per_request": ours_cpu_us,
        # no-op's CPU per request / ours: what the rate ratio would be with both servers owning CPU 0.
        "cpu_ratio_of_medians": round(statistics.median(noop_cpu_us) / statistics.median(ours_cpu_us), 3),
        "noop_cpu_share": noop_share,
        "ours_cpu_share": ours_share,
        "loadavg_before": loadavg_before,
        "loadavg_after": os.getloadavg(),
    }


def _machine() -> dict:
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "dompromise").splitlines(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="seconds: small sizes, no verdict")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds of each server (default 5)")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per round (default 20,000)")
    args = parser.parse_args(argv)
    result: dict = {"machine": _machine()}
    if not args.skip_search:
        result["search"] = bench_search(5_000, 200) if args.smoke else bench_search(SEARCH_SKUS, 2_000)
        print(json.dumps(result["search"]), flush=True)
    if not args.skip_http:
        body_file = os.path.join(REPO, ".benchmarks-http-body.json")
        try:
            if args.smoke:
                result["http"] = bench_http(1, 200, 4, body_file)
            else:
                result["http"] = bench_http(args.rounds, args.requests, 16, body_file)
        finally:
            if os.path.exists(body_file):
                os.remove(body_file)
        print(json.dumps(result["http"]), flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    if args.smoke:
        return 0
    # The search verdict is on what a query costs (its CPU time); wall p99 is reported beside it (a loaded machine's).
    met = ("search" not in result or result["search"]["cpu_p99_ms"] <= 5.0) and (
        "http" not in result or result["http"]["ratio_of_medians"] >= 0.7
    )
    print("targets met" if met else "targets NOT met", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
