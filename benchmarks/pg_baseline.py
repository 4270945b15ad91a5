"""Contended reservations: dompromise against the PostgreSQL row-lock baseline.

  python -m benchmarks.pg_baseline                          # 8 processes x 12 in flight, 4 hot SKUs
  python -m benchmarks.pg_baseline --stock 200 --rounds 3   # demand far above stock: the oversell check
  python -m benchmarks.pg_baseline --sweep --rounds 2       # 1x1 ... 8x12: where each side does best
  python -m benchmarks.pg_baseline --smoke                  # CI: seconds, checks both sides sold exactly the stock
  python -m benchmarks.pg_baseline --hot-skus 1000          # spread: the same load without contention
  python -m benchmarks.pg_baseline --no-pin                 # every process anywhere (the figures before pinning)

The baseline is what popular commerce platforms do today: one row per SKU x
location in a `stock` table, and each reservation one transaction:

  BEGIN;
  SELECT on_hand, reserved FROM stock WHERE sku = $1 AND node = $2 FOR UPDATE;
  -- enough? (on_hand - reserved >= quantity) else ROLLBACK
  UPDATE stock SET reserved = reserved + $3 WHERE sku = $1 AND node = $2;
  INSERT INTO reservations (request_id, sku, node, quantity, expires_at) VALUES (...);
  COMMIT;

on the machine's PostgreSQL (default 127.0.0.1:5432, user postgres), with the
server's own durability settings (reported: synchronous_commit, fsync,
wal_sync_method). The benchmark creates its own database with a unique name,
loads the demo network's positions (one row per SKU x node) and drops the
database afterwards.

Ours is `dompromise serve --data-dir <tmp>` (the durable default: file log,
fdatasync group commit) loaded by `dompromise bench --contended K` with the
same client processes, in-flight count, hot SKUs, node, stock and durations.
Both sides use the same harness (dompromise.client.bench.driver: spawn processes,
closed loop, HDR histograms, a common start time), so only the system under
test differs. Rounds alternate PostgreSQL, ours; the ratio is ours / theirs of
reserve attempts answered per second (held or refused for lack of stock).

The fair setting (default, --pin): the server under test on CPU 0 (--server-cpu),
the client processes, pgbench and this process on CPU 1 (--client-cpu). For
PostgreSQL the postmaster and every process and thread under it are pinned
before the clients connect (backends forked later inherit it) and given back
their own affinity afterwards, whatever happens; ours is pinned the same way.
Unpinned, the 8 client processes share both cores with the server, and the
figure mostly measures the clients. Each side's CPU time in the window per
reserve is reported: the server's tree (/proc) and the client processes' own.

The PostgreSQL client is psycopg in pipeline mode (--pg-client pipeline: BEGIN
and the SELECT in one round trip, UPDATE, INSERT and COMMIT in the next; the
row lock is held for one round trip plus the commit) or a round trip per
statement (--pg-client statements). Its best case is measured too: pgbench
(libpq, C, prepared statements, -j 1) runs the same transaction with as many
connections as the harness and with --pgbench-clients others, since a few hot
rows serve few connections better than many (their waiters pile up).

Oversell, on both sides: units held beyond the stock, from the clients'
own OK answers and read back (SUM of reservations; held + allocated).
If PostgreSQL is not reachable this says so and exits 3.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator

if __package__ in (None, ""):  # run as `python benchmarks/pg_baseline.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dompromise.client.bench import affinity, driver
from dompromise.client.bench.options import BenchConfig
from dompromise.client.bench.workloads import CONTENDED_TTL_SECONDS, Plan, Tally

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres"
CONNECT_TIMEOUT_SECONDS = 5
# Connections PostgreSQL keeps free for others (and our own set-up connection).
CONNECTIONS_SPARE = 3
EXIT_UNREACHABLE = 3
# --sweep: (processes, in flight per process), from one connection to what max_connections = 100 allows.
SWEEP = ((1, 1), (1, 4), (2, 4), (4, 4), (8, 4), (8, 12))
SETTINGS = (
    "server_version",
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "commit_delay",
    "default_transaction_isolation",
    "shared_buffers",
    "max_connections",
    "full_page_writes",
)

SELECT_FOR_UPDATE = "SELECT on_hand, reserved FROM stock WHERE sku = %s AND node = %s FOR UPDATE"
UPDATE_RESERVED = "UPDATE stock SET reserved = reserved + %s WHERE sku = %s AND node = %s"
INSERT_RESERVATION = (
    "INSERT INTO reservations (request_id, sku, node, quantity, expires_at) "
    "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))"
)


# The sides of a round, in the order they run.
SIDES = ("postgresql", "pgbench", "ours")
PG_CLIENTS = ("pipeline", "statements")
# More hot SKUs than this at one node is a spread load, not a contended one (the result says which).
CONTENDED_SKUS_MAX = 16
# pgbench: its own time limit on top of the run's, and a request_id unique per transaction (txid_current()).
PGBENCH_SECONDS_EXTRA = 60


# Server CPU per operation is given only when the parent sampled the window's edges within this share of it.
WINDOW_EDGES_MISS_SHARE_MAX = 0.05
# pgbench connection counts besides the harness's: a few hot rows do best with few connections.
PGBENCH_CLIENTS = (1, 4, 16)


def parse_counts(text: str) -> tuple[int, ...]:
    """'1,4,16' -> (1, 4, 16) (argparse type); '' -> ()."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"counts are numbers separated by commas, not {text!r}") from None
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"counts must be >= 1: {text!r}")
    return counts


class Unreachable(Exception):
    pass


# ---- PostgreSQL set-up ---------------------------------------------------------------------------------


def _connect(dsn: str, dbname: str = "postgres", autocommit: bool = True):
    import psycopg

    try:
        return psycopg.connect(f"{dsn} dbname={dbname}", autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.OperationalError as error:
        raise Unreachable(str(error).strip()) from None


def server_settings(dsn: str) -> dict:
    with _connect(dsn) as connection:
        rows = connection.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", [list(SETTINGS)]
        ).fetchall()
    return {name: (f"{setting} {unit}" if unit else setting) for name, setting, unit in rows}


def create_database(dsn: str, hot_skus: list[str], node_id: str, stock: int) -> str:
    """A fresh database: the demo network's positions (one row per SKU x node), the hot ones at `stock`."""
    from dompromise.demo import network as demo

    name = f"dompromise_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _connect(dsn) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    network = demo.demo_network()
    rows = {(row.sku_id, row.node_id): row.on_hand_quantity for row in demo.demo_stock(network)}
    for sku in hot_skus:
        rows[(sku, node_id)] = stock
    with _connect(dsn, name, autocommit=False) as connection:
        connection.execute("""
            CREATE TABLE stock (
                sku text NOT NULL, node text NOT NULL,
                on_hand bigint NOT NULL, reserved bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (sku, node))""")
        connection.execute("""
            CREATE TABLE reservations (
                id bigserial PRIMARY KEY, request_id text NOT NULL UNIQUE,
                sku text NOT NULL, node text NOT NULL, quantity bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL)""")
        with connection.cursor().copy("COPY stock (sku, node, on_hand) FROM STDIN") as copy:
            for (sku, node), on_hand in rows.items():
                copy.write_row((sku, node, on_hand))
        connection.commit()
        connection.execute("ANALYZE stock")
        connection.commit()
    return name


def drop_database(dsn: str, name: str) -> None:
    with _connect(dsn) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def read_back(dsn: str, name: str, hot_skus: list[str], node_id: str) -> dict[str, tuple[int, int]]:
    """Per hot SKU: (stock.reserved, SUM(reservations.quantity))."""
    with _connect(dsn, name) as connection:
        reserved = dict(
            connection.execute(
                "SELECT sku, reserved FROM stock WHERE node = %s AND sku = ANY(%s)", [node_id, hot_skus]
            ).fetchall()
        )
        summed = dict(
            connection.execute(
                "SELECT sku, SUM(quantity) FROM reservations WHERE node = %s GROUP BY sku", [node_id]
            ).fetchall()
        )
    return {sku: (int(reserved.get(sku, 0)), int(summed.get(sku, 0) or 0)) for sku in hot_skus}


# ---- a PostgreSQL client process (same protocol as dompromise.client.bench.driver's clients) ---------------------


def _pg_client_main(config: BenchConfig, payload: dict, number: int, counters, go, start_at, results) -> None:
    try:
        tally = asyncio.run(_pg_client(config, payload, number, counters, go, start_at, results))
        results.put(("result", number, tally.export()))
    except BaseException:  # noqa: BLE001 - reported to the parent
        results.put(("error", number, traceback.format_exc()))


async def _pg_client(config: BenchConfig, payload: dict, number: int, counters, go, start_at, results) -> Tally:
    import random

    import psycopg

    tally = Tally()
    base = number * driver.SLOTS
    rng = random.Random(config.seed * 1_000_003 + number)
    hot_skus, node_id, run_id = payload["hot_sku_ids"], payload["node_id"], payload["run_id"]
    connections = [await psycopg.AsyncConnection.connect(payload["conninfo"]) for _ in range(config.in_flight)]
    results.put(("ready", number))
    begin = await driver.wait_for_start(go, start_at)
    measure_start = begin + config.warmup_seconds
    end = measure_start + config.duration_seconds
    driver.measure_cpu_in_window(tally, measure_start, end)
    sequence = 0

    async def per_statement(connection, sku: str, request_id: str) -> bool:
        """A round trip per statement: BEGIN, SELECT ... FOR UPDATE, UPDATE, INSERT, COMMIT (or ROLLBACK)."""
        held = False
        async with connection.transaction():
            cursor = await connection.execute(SELECT_FOR_UPDATE, (sku, node_id))
            on_hand, reserved = await cursor.fetchone()
            if on_hand - reserved < config.quantity:
                raise psycopg.Rollback()
            await connection.execute(UPDATE_RESERVED, (config.quantity, sku, node_id))
            await connection.execute(
                INSERT_RESERVATION, (request_id, sku, node_id, config.quantity, CONTENDED_TTL_SECONDS)
            )
            held = True
        return held

    async def pipelined(connection, pipeline, sku: str, request_id: str) -> bool:
        """The same statements in two round trips (an autocommit connection in pipeline mode, so BEGIN is ours
        to send): BEGIN and the SELECT, then UPDATE, INSERT and COMMIT (or ROLLBACK) with one sync. The row
        lock is held for the second round trip and the commit only."""
        try:
            await connection.execute("BEGIN")
            cursor = await connection.execute(SELECT_FOR_UPDATE, (sku, node_id))
            on_hand, reserved = await cursor.fetchone()
            held = on_hand - reserved >= config.quantity
            if held:
                await connection.execute(UPDATE_RESERVED, (config.quantity, sku, node_id))
                await connection.execute(
                    INSERT_RESERVATION, (request_id, sku, node_id, config.quantity, CONTENDED_TTL_SECONDS)
                )
            await connection.execute("COMMIT" if held else "ROLLBACK")
            await pipeline.sync()
        except psycopg.Error:
            with contextlib.suppress(psycopg.Error):  # leave the connection out of the failed transaction
                await connection.execute("ROLLBACK")
                await pipeline.sync()
            raise
        return held

    async def reserve(connection, pipeline) -> None:
        nonlocal sequence
        sequence += 1
        request_id = f"pg-{run_id}-{number}-{sequence}"  # taken now: other coroutines move `sequence` on
        sku = hot_skus[rng.randrange(len(hot_skus))]
        started = time.monotonic()
        measured = started >= measure_start
        counters[base + 2] += 1
        try:
            if pipeline is None:
                held = await per_statement(connection, sku, request_id)
            else:
                held = await pipelined(connection, pipeline, sku, request_id)
        except psycopg.Error as error:
            counters[base + 2] -= 1
            counters[base + 1] += 1
            if measured:
                tally.operation_failed("reserve", type(error).__name__)
            return
        counters[base + 2] -= 1
        counters[base] += 1
        now = time.monotonic()
        if held:
            tally.reserved_units[sku] += config.quantity
        if measured:
            tally.operation("reserve", now - started)
            tally.outcomes["held" if held else "short"] += 1
        if measure_start <= now < end:
            tally.finished_in_window += 1

    async def worker(connection) -> None:
        if payload["pipeline"]:
            await connection.set_autocommit(True)
            async with connection.pipeline() as pipeline:
                while time.monotonic() < end:
                    await reserve(connection, pipeline)
            return
        while time.monotonic() < end:
            await reserve(connection, None)

    await asyncio.sleep(max(0.0, begin - time.monotonic()))
    await asyncio.gather(*(worker(c) for c in connections))
    for connection in connections:
        await connection.close()
    return tally


# ---- the server under test: pinned, and its CPU time in the window ----------------------------------------


def postmaster_pid(dsn: str) -> int:
    """The PostgreSQL postmaster's pid: the parent of our backend (so the server must run on this machine),
    read while the connection is open (its backend ends with it)."""
    with _connect(dsn) as connection:
        (backend,) = connection.execute("SELECT pg_backend_pid()").fetchone()
        try:
            with open(f"/proc/{backend}/stat") as file:
                return int(file.read().rpartition(")")[2].split()[1])
        except OSError:
            raise Unreachable(
                f"backend {backend} is not a process here: PostgreSQL runs elsewhere (use --no-pin)"
            ) from None


class ServerWatch:
    """A server process tree over the measured window: where it ran and the CPU time it used (driver.WindowEdge)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.affinity_before = affinity.affinity_of(pid)["cpus"]  # made before any pinning
        self.cpu_seconds_at: dict[str, float] = {}
        self.monotonic_at: dict[str, float] = {}
        self.affinity_in_window: affinity.TreeAffinity | None = None

    def edge(self, which: str) -> None:
        self.cpu_seconds_at[which] = affinity.cpu_seconds_of(self.pid)
        self.monotonic_at[which] = time.monotonic()
        if which == "start":
            self.affinity_in_window = affinity.affinity_of(self.pid)

    def report(self, operations: int, window_seconds: float | None) -> dict:
        """CPU per operation over the window; None when the edges were seen too late to span it (a starved
        harness process: its share of the window is given, `sampled_seconds`). window_seconds None: the
        edges are the run's own (pgbench), nothing to check."""
        seconds = self.cpu_seconds_at.get("end", 0.0) - self.cpu_seconds_at.get("start", 0.0)
        sampled = self.monotonic_at.get("end", 0.0) - self.monotonic_at.get("start", 0.0)
        window = sampled if window_seconds is None else window_seconds
        spanned = abs(sampled - window) <= WINDOW_EDGES_MISS_SHARE_MAX * window
        return {
            "pid": self.pid,
            "affinity_in_window": self.affinity_in_window,
            "cpu_seconds_in_window": round(seconds, 3),
            "sampled_seconds": round(sampled, 3),
            "us_per_operation": round(seconds / operations * 1e6, 1) if operations and spanned else None,
        }


@contextlib.contextmanager
def pinned_server(pid: int, cpus: set[int] | None) -> Iterator[ServerWatch]:
    """The server's tree on `cpus` (None: left where it is) for the block, its affinity before restored."""
    watch = ServerWatch(pid)
    with affinity.pinned(pid, cpus) if cpus else contextlib.nullcontext():
        yield watch


def _server_report(watch: ServerWatch, document: dict, cpus: set[int] | None) -> dict:
    window = document["config"]["duration_seconds"]
    report = watch.report(round(document["operations"]["finished_per_second"] * window), window)
    report["pinned_cpus"] = sorted(cpus) if cpus else None
    return report


# ---- one side each ----------------------------------------------------------------------------------------


def run_postgres(
    config: BenchConfig,
    dsn: str,
    hot_skus: list[str],
    node_id: str,
    progress,
    server_cpus: set[int] | None = None,
    pipeline: bool = True,
) -> dict:
    name = create_database(dsn, hot_skus, node_id, config.stock)
    try:
        payload = {
            "conninfo": f"{dsn} dbname={name}",
            "hot_sku_ids": hot_skus,
            "node_id": node_id,
            "run_id": uuid.uuid4().hex[:10],
            "pipeline": pipeline,
        }
        postmaster = postmaster_pid(dsn) if server_cpus else None
        if postmaster is None:
            tallies = driver.run_clients(config, _pg_client_main, payload, progress)
            server = None
        else:
            with pinned_server(postmaster, server_cpus) as watch:
                tallies = driver.run_clients(config, _pg_client_main, payload, progress, watch.edge)
            server = watch
        plan = Plan(
            target=f"postgresql:{name}",
            run_id=payload["run_id"],
            mix={"reserve": 100},
            sku_ids=hot_skus,
            destinations=[],
            hot_sku_ids=hot_skus,
            hot_node_id=node_id,
        )
        document = driver.summarize(config, plan, {}, tallies)
        document["client"] = "psycopg, pipeline mode" if pipeline else "psycopg, a round trip per statement"
        if server is not None:
            document["server"] = _server_report(server, document, server_cpus)
            document["server"]["affinity_after"] = affinity.affinity_of(server.pid)["cpus"]
            document["server"]["affinity_before"] = server.affinity_before
        counted: dict[str, int] = {}
        for tally in tallies:
            for sku, units in tally["reserved_units"].items():
                counted[sku] = counted.get(sku, 0) + units
        back = read_back(dsn, name, hot_skus, node_id)
    finally:
        drop_database(dsn, name)
    per_sku = {
        sku: {
            "stock": config.stock,
            "reserved_counted": counted.get(sku, 0),
            "reserved_read_back": back[sku][1],
            "stock_reserved_column": back[sku][0],
            "oversell": max(0, max(counted.get(sku, 0), back[sku][0], back[sku][1]) - config.stock),
        }
        for sku in hot_skus
    }
    document["contended"] = {
        "node_id": node_id,
        "hot_sku_ids": hot_skus,
        "stock_per_sku": config.stock,
        "stock_total": config.stock * len(hot_skus),
        "reserved_counted": sum(s["reserved_counted"] for s in per_sku.values()),
        "reserved_read_back": sum(s["reserved_read_back"] for s in per_sku.values()),
        "oversell": sum(s["oversell"] for s in per_sku.values()),
        "per_sku": per_sku,
        "database": name,
    }
    return document


PGBENCH_SCRIPT = """\
\\set pick random(1, {count})
BEGIN;
SELECT on_hand, reserved FROM stock WHERE sku = {skus}[:pick] AND node = {node} FOR UPDATE \\gset
\\if :on_hand - :reserved >= {quantity}
UPDATE stock SET reserved = reserved + {quantity} WHERE sku = {skus}[:pick] AND node = {node};
INSERT INTO reservations (request_id, sku, node, quantity, expires_at)
  VALUES ('pgbench-' || txid_current(), {skus}[:pick], {node}, {quantity}, now() + make_interval(secs => {ttl}));
COMMIT;
\\else
ROLLBACK;
\\endif
"""


# The same statements as a server-side function: one round trip a reserve, the row lock held only while the
# function runs and the transaction commits (a short answer commits having changed nothing).
RESERVE_FUNCTION = """
CREATE FUNCTION reserve_stock(p_sku text, p_node text, p_quantity bigint, p_request_id text, p_ttl bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v_on_hand bigint; v_reserved bigint;
BEGIN
  SELECT on_hand, reserved INTO v_on_hand, v_reserved FROM stock WHERE sku = p_sku AND node = p_node FOR UPDATE;
  IF v_on_hand - v_reserved < p_quantity THEN RETURN false; END IF;
  UPDATE stock SET reserved = reserved + p_quantity WHERE sku = p_sku AND node = p_node;
  INSERT INTO reservations (request_id, sku, node, quantity, expires_at)
    VALUES (p_request_id, p_sku, p_node, p_quantity, now() + make_interval(secs => p_ttl));
  RETURN true;
END $$"""
PGBENCH_FUNCTION_SCRIPT = """\
\\set pick random(1, {count})
SELECT reserve_stock({skus}[:pick], {node}, {quantity}, 'pgbench-' || txid_current(), {ttl});
"""
# pgbench's forms: the client's transaction (five round trips), or the function (one).
PGBENCH_FORMS = ("transaction", "function")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pgbench_script(hot_skus: list[str], node_id: str, quantity: int, form: str = "transaction") -> str:
    """The harness's transaction for pgbench: a random hot SKU, SELECT ... FOR UPDATE, then hold or roll back;
    form "function": the same in reserve_stock()."""
    return (PGBENCH_FUNCTION_SCRIPT if form == "function" else PGBENCH_SCRIPT).format(
        count=len(hot_skus),
        skus="(ARRAY[" + ", ".join(_literal(sku) for sku in hot_skus) + "])",
        node=_literal(node_id),
        quantity=quantity,
        ttl=CONTENDED_TTL_SECONDS,
    )


def _pgbench_figure(output: str, pattern: str) -> float | None:
    match = re.search(pattern, output)
    return float(match.group(1)) if match else None


def run_pgbench(
    config: BenchConfig,
    dsn: str,
    hot_skus: list[str],
    node_id: str,
    server_cpus: set[int] | None,
    clients: int,
    form: str = "transaction",
) -> dict:
    """pgbench (libpq, C) running the same transaction over `clients` connections in one thread (-j 1),
    prepared statements, on the clients' CPUs: PostgreSQL driven by the cheapest client there is.
    It has no warm-up: its figure is over the whole run, connections excluded (its own `tps`)."""
    name = create_database(dsn, hot_skus, node_id, config.stock)
    try:
        if form == "function":
            with _connect(dsn, name) as connection:
                connection.execute(RESERVE_FUNCTION)
        with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="pg-baseline-") as script:
            script.write(pgbench_script(hot_skus, node_id, config.quantity, form))
            script.flush()
            argv = ["pgbench", "-n", "-M", "prepared", "-f", script.name, "-c", str(clients), "-j", "1"]
            argv += ["-T", str(max(1, round(config.duration_seconds))), f"{dsn} dbname={name}"]
            cpus = set(config.client_cpus)
            watch_pid = postmaster_pid(dsn) if server_cpus else None
            with pinned_server(watch_pid, server_cpus) if watch_pid else contextlib.nullcontext() as watch:
                children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                if watch is not None:
                    watch.edge("start")
                done = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    timeout=config.duration_seconds + PGBENCH_SECONDS_EXTRA,
                    preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
                )
                if watch is not None:
                    watch.edge("end")
                children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr[-2000:]}")
        back = read_back(dsn, name, hot_skus, node_id)
        with _connect(dsn, name) as connection:
            (count,) = connection.execute("SELECT count(*) FROM reservations").fetchone()
    finally:
        drop_database(dsn, name)
    transactions = int(_pgbench_figure(done.stdout, r"number of transactions actually processed: (\d+)") or 0)
    failed = int(_pgbench_figure(done.stdout, r"number of failed transactions: (\d+)") or 0)
    tps = _pgbench_figure(done.stdout, r"tps = ([\d.]+) \(without initial connection time\)") or 0.0
    client_seconds = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    server = watch.report(transactions, None) if watch is not None else None
    oversell = sum(max(0, max(column, summed) - config.stock) for column, summed in back.values())
    return {
        "attempts_per_second": round(tps, 1),
        "held": int(count),
        "short": transactions - int(count),
        "failed": failed,
        "failed_by_code": {"pgbench": failed} if failed else {},
        "p50_ms": None,
        "p99_ms": None,
        "p99_9_ms": None,
        "latency_average_ms": _pgbench_figure(done.stdout, r"latency average = ([\d.]+) ms"),
        "client_cpu_us_per_reserve": round(client_seconds / transactions * 1e6, 1) if transactions else None,
        "client_cores_busy": round(client_seconds / config.duration_seconds, 3),
        "server_cpu_us_per_reserve": server["us_per_operation"] if server else None,
        "server_cores_busy": round(server["cpu_seconds_in_window"] / server["sampled_seconds"], 3)
        if server and server["sampled_seconds"]
        else None,
        "server": server,
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "reserved_total": None,  # pgbench counts transactions, not units: the read-back is the count
        "reserved_read_back": sum(summed for _, summed in back.values()),
        "stock_total": config.stock * len(hot_skus),
        "oversell": oversell,
        "clients": clients,
        "form": form,
        "argv": argv[:-1],
        "note": "pgbench: whole run, no warm-up; server CPU includes forking its connections",
    }


def _serve_pid() -> int:
    """Our `dompromise serve` child (benchmarks.servers.dompromise_serve starts exactly one)."""
    (pid,) = [
        child
        for child in affinity.children_of(os.getpid())
        if b"dompromise" in _cmdline(child) and b"serve" in _cmdline(child)
    ]
    return pid


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read()
    except OSError:
        return b""


def run_ours(config: BenchConfig, progress, server_cpus: set[int] | None = None) -> dict:
    from benchmarks.servers import dompromise_serve

    with dompromise_serve() as target:  # durable default: file log in a temporary --data-dir
        with pinned_server(_serve_pid(), server_cpus) as watch:
            document = driver.run(dataclasses.replace(config, target=target), progress, watch.edge)
        document["client"] = "grpc.aio, request bytes written ahead"
        document["server"] = _server_report(watch, document, server_cpus)
        return document


def hot_set(count: int) -> tuple[list[str], str]:
    """The same SKUs and node `dompromise bench --contended` picks on the demo network."""
    from dompromise.demo import network as demo
    from dompromise.model.network import NodeStatus

    network = demo.demo_network()
    node = next(n.node_id for n in network.nodes if n.status == NodeStatus.ENABLED)
    return [sku.sku_id for sku in network.skus[:count]], node


def side_summary(document: dict) -> dict:
    reserve = document["kinds"]["reserve"]
    c = document["contended"]
    return {
        "attempts_per_second": round((reserve["ok"]) / document["config"]["duration_seconds"], 1),
        "held": document["reserve_outcomes"].get("held", 0),
        "short": document["reserve_outcomes"].get("short", 0),
        "failed": reserve["failed"],
        "failed_by_code": reserve["failed_by_code"],
        "p50_ms": reserve["latency_ms"]["p50"],
        "p99_ms": reserve["latency_ms"]["p99"],
        "p99_9_ms": reserve["latency_ms"]["p99_9"],
        "client_cpu_us_per_reserve": document["client_cpu"]["us_per_operation"],
        "client_cores_busy": document["client_cpu"]["cores_busy"],
        "server_cpu_us_per_reserve": document.get("server", {}).get("us_per_operation"),
        "server_cores_busy": _cores(document),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "reserved_total": c["reserved_counted"],
        "reserved_read_back": c["reserved_read_back"],
        "stock_total": c["stock_total"],
        "oversell": c["oversell"],
    }


def _cores(document: dict) -> float | None:
    server = document.get("server")
    if not server:
        return None
    return round(server["cpu_seconds_in_window"] / server["sampled_seconds"], 3) if server["sampled_seconds"] else None


def _fdatasync_ms(args) -> dict:
    """fdatasync latency where our log goes (the temporary directory); skipped in smoke runs (seconds count)."""
    if args.smoke:
        return {}
    from benchmarks.reserve_load import fdatasync_ms

    return {"directory": tempfile.gettempdir(), **fdatasync_ms(tempfile.gettempdir())}


def machine() -> dict:
    def git(*argv: str) -> str:  # read-only: which code was measured
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return {
        **driver.machine_info([]),
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "dompromise").splitlines(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pg_baseline",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get("DOMPROMISE_BENCH_PG_DSN", DEFAULT_DSN),
        help=f"libpq connection string without dbname (default {DEFAULT_DSN!r})",
    )
    parser.add_argument("--processes", type=int, default=8, help="client processes, each side (default 8)")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=12,
        help="reserves in flight per process = PostgreSQL connections per process (default 12)",
    )
    parser.add_argument("--hot-skus", type=int, default=4, help="hot SKUs at one node (default 4)")
    parser.add_argument("--stock", type=int, default=1_000_000, help="units available per hot SKU (default 1,000,000)")
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per side and round")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, each PostgreSQL then ours")
    parser.add_argument("--skip-ours", action="store_true", help="the baseline only")
    parser.add_argument(
        "--sweep", action="store_true", help=f"every processes x in-flight of {', '.join(f'{p}x{i}' for p, i in SWEEP)}"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="seconds: 2 processes x 4, stock 50: both must hold exactly the stock, no more",
    )
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the server under test (every PostgreSQL process, or dompromise serve) on --server-cpu, the client "
        "processes and this one on --client-cpu; PostgreSQL's affinity is restored afterwards (default: pinned, "
        "the fair setting: otherwise the clients' CPU is measured; --no-pin: the kernel places everything)",
    )
    parser.add_argument("--server-cpu", type=int, default=0, help="with --pin: the server's CPU (default 0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="with --pin: the clients' CPU (default 1)")
    parser.add_argument(
        "--pg-client",
        choices=PG_CLIENTS,
        default="pipeline",
        help="the PostgreSQL client: pipeline (psycopg pipeline mode: BEGIN+SELECT, then UPDATE+INSERT+COMMIT, "
        "two round trips; the default) or statements (a round trip per statement: five)",
    )
    parser.add_argument(
        "--pgbench",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run pgbench (C client, the same transaction, -c processes x in-flight -j 1, pinned like the "
        "clients) each round: PostgreSQL's best case (default: on when pgbench is installed, off with --smoke)",
    )
    parser.add_argument(
        "--pgbench-clients",
        type=parse_counts,
        default=PGBENCH_CLIENTS,
        metavar="N,...",
        help="pgbench connection counts run besides the harness's own (processes x in-flight), to find "
        f"PostgreSQL's best (default {','.join(map(str, PGBENCH_CLIENTS))}; a hot row's waiters pile up)",
    )
    parser.add_argument(
        "--pgbench-forms",
        type=lambda text: tuple(part for part in text.split(",") if part),
        default=PGBENCH_FORMS,
        metavar="FORM,...",
        help="pgbench's forms: transaction (the client's statements, five round trips) and function (the same "
        "statements in a PL/pgSQL function: one round trip, the row lock held the least; default both)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.processes, args.in_flight, args.stock, args.duration, args.warmup, args.rounds = 2, 4, 50, 1.5, 0.5, 1

    try:
        settings = server_settings(args.dsn)
    except Unreachable as error:
        print(
            f"pg_baseline: PostgreSQL is not reachable ({args.dsn}): {error}\n"
            "pg_baseline: the baseline needs a running PostgreSQL (Debian: apt-get install postgresql; "
            "trust auth for user postgres on 127.0.0.1:5432), or --dsn",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    settings_line = (
        f"PostgreSQL {settings['server_version']}: synchronous_commit={settings['synchronous_commit']}, "
        f"fsync={settings['fsync']}, wal_sync_method={settings['wal_sync_method']}, "
        f"isolation={settings['default_transaction_isolation']}"
    )
    print(settings_line, flush=True)
    shapes = SWEEP if args.sweep else ((args.processes, args.in_flight),)
    for processes, in_flight in shapes:
        connections = processes * in_flight
        if connections + CONNECTIONS_SPARE > int(settings["max_connections"]):
            print(
                f"pg_baseline: {processes} x {in_flight} = {connections} connections, but PostgreSQL's "
                f"max_connections is {settings['max_connections']}: lower --processes or --in-flight",
                file=sys.stderr,
            )
            return 2
    unknown = set(args.pgbench_forms) - set(PGBENCH_FORMS)
    if unknown or not args.pgbench_forms:
        parser.error(f"--pgbench-forms: one or more of {', '.join(PGBENCH_FORMS)}, not {sorted(unknown)}")
    if args.pgbench is None:
        args.pgbench = not args.smoke and shutil.which("pgbench") is not None
    hot_skus, node_id = hot_set(args.hot_skus)
    fdatasync_before = _fdatasync_ms(args)
    harness_affinity = os.sched_getaffinity(0)
    try:
        if args.pin:  # the parent too: it only waits and prints, but not on the server's CPU
            os.sched_setaffinity(0, {args.client_cpu})
        comparisons = [compare(args, processes, in_flight, hot_skus, node_id) for processes, in_flight in shapes]
    finally:
        os.sched_setaffinity(0, harness_affinity)
    result = {
        "machine": machine(),
        # Both sides wait for a sync at every commit: how long one took on this machine, before and after.
        "fdatasync_ms": {"before": fdatasync_before, "after": _fdatasync_ms(args)},
        "postgresql_settings": settings,
        "argv": sys.argv[1:] if argv is None else argv,
        "smoke": args.smoke,
        "hot_sku_ids": hot_skus,
        "node_id": node_id,
        "stock_per_sku": args.stock,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "pinning": {
            "pinned": args.pin,
            "server_cpu": args.server_cpu if args.pin else None,
            "client_cpu": args.client_cpu if args.pin else None,
            "what": (
                "server under test (every PostgreSQL process, or dompromise serve) on server_cpu; client "
                "processes, pgbench and the harness on client_cpu; PostgreSQL's affinity restored after each run"
                if args.pin
                else "unpinned: servers and clients share every CPU"
            ),
        },
        "postgresql_client": args.pg_client,
        "hot_set": "contended" if args.hot_skus <= CONTENDED_SKUS_MAX else "spread (uncontended)",
    }
    if args.sweep:
        result["sweep"] = comparisons
    else:
        result.update(comparisons[0])
    result["failures"] = [failure for c in comparisons for failure in c["failures"]]
    print("\n" + settings_line)
    if result["fdatasync_ms"]["before"]:
        print(
            f"fdatasync p50 {result['fdatasync_ms']['before']['p50']} ms before, "
            f"{result['fdatasync_ms']['after']['p50']} ms after (every commit waits for one)"
        )
    for comparison in comparisons:
        print(_table(comparison, args.duration), flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)
        print(f"wrote {args.json}")
    for failure in result["failures"]:
        print(f"pg_baseline: FAILED: {failure}", file=sys.stderr)
    return 1 if result["failures"] else 0


def compare(args, processes: int, in_flight: int, hot_skus: list[str], node_id: str) -> dict:
    """--rounds rounds of PostgreSQL then ours at one concurrency; per-round ratios and their median."""
    config = BenchConfig(
        target="",
        mix="reserve",
        processes=processes,
        in_flight=in_flight,
        duration_seconds=args.duration,
        warmup_seconds=args.warmup,
        contended=args.hot_skus,
        stock=args.stock,
        quiet=args.quiet,
        client_cpus=(args.client_cpu,) if args.pin else (),
    )
    server_cpus = {args.server_cpu} if args.pin else None
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    print(
        f"{processes} processes x {in_flight} in flight, {args.hot_skus} hot SKUs at {node_id}, "
        f"stock {args.stock:,} each, {args.duration:g} s after {args.warmup:g} s warm-up, {args.rounds} round(s)",
        flush=True,
    )
    rounds = []
    for number in range(args.rounds):
        theirs = run_postgres(
            config, args.dsn, hot_skus, node_id, progress, server_cpus, pipeline=args.pg_client == "pipeline"
        )
        entry = {"postgresql": side_summary(theirs), "postgresql_full": theirs}
        print(f"  round {number + 1} postgresql {_line(entry['postgresql'])}", flush=True)
        if args.pgbench:
            connections = processes * in_flight
            by_clients = {
                _pgbench_key(form, clients): run_pgbench(
                    config, args.dsn, hot_skus, node_id, server_cpus, clients, form
                )
                for form in args.pgbench_forms
                for clients in sorted({*args.pgbench_clients, connections})
            }
            for key, figure in by_clients.items():
                print(f"  round {number + 1} pgbench {key:<12} {_line(figure)}", flush=True)
            # The harness's setting: as many connections, the client's own transaction.
            entry["pgbench"] = by_clients.get(_pgbench_key("transaction", connections)) or next(
                iter(by_clients.values())
            )
            best = max(by_clients.values(), key=lambda figure: figure["attempts_per_second"])
            entry["pgbench_best"] = {
                "clients": best["clients"],
                "form": best["form"],
                "attempts_per_second": best["attempts_per_second"],
            }
            entry["pgbench_by_clients"] = by_clients
        if not args.skip_ours:
            ours = run_ours(config, progress, server_cpus)
            entry.update({"ours": side_summary(ours), "ours_full": ours})
            entry["ratio"] = round(
                entry["ours"]["attempts_per_second"] / max(entry["postgresql"]["attempts_per_second"], 1e-9), 2
            )
            print(
                f"  round {number + 1} ours       {_line(entry['ours'])}  ours/theirs {entry['ratio']:.2f}", flush=True
            )
        rounds.append(entry)
    comparison = {"processes": processes, "in_flight_per_process": in_flight, "rounds": rounds}
    for side in SIDES:
        if side in rounds[0]:
            comparison[f"{side}_attempts_per_second_median"] = statistics.median(
                r[side]["attempts_per_second"] for r in rounds
            )
    if not args.skip_ours:
        comparison["ratio_median"] = statistics.median(r["ratio"] for r in rounds)
        comparison["ratio_per_round"] = [r["ratio"] for r in rounds]
        if args.pgbench:
            for key, figure_of in (("pgbench", lambda r: r["pgbench"]), ("pgbench_best", lambda r: r["pgbench_best"])):
                for entry in rounds:
                    theirs = figure_of(entry)["attempts_per_second"]
                    entry[f"ratio_to_{key}"] = (
                        round(entry["ours"]["attempts_per_second"] / theirs, 2) if theirs else None
                    )
                ratios = [r[f"ratio_to_{key}"] for r in rounds]
                comparison[f"ratio_to_{key}_per_round"] = ratios
                comparison[f"ratio_to_{key}_median"] = statistics.median(ratios) if None not in ratios else None
    comparison["failures"] = _check(rounds, args)
    return comparison


def _check(rounds: list[dict], args) -> list[str]:
    """Oversell anywhere fails; in smoke mode both sides must also have sold exactly the stock."""
    failures = []
    for number, entry in enumerate(rounds, 1):
        sides = [(side, entry[side]) for side in SIDES if side in entry]
        sides += [
            (f"pgbench {key}", f) for key, f in entry.get("pgbench_by_clients", {}).items() if f is not entry["pgbench"]
        ]
        for side, s in sides:
            if not s["attempts_per_second"]:
                failures.append(f"round {number} {side}: no reserve answered")
            if s["oversell"]:
                failures.append(f"round {number} {side}: oversell {s['oversell']}")
            if s["reserved_total"] is not None and s["reserved_total"] != s["reserved_read_back"]:
                failures.append(
                    f"round {number} {side}: {s['reserved_total']} units held by the clients' count, "
                    f"{s['reserved_read_back']} read back"
                )
            if s["failed"]:
                failures.append(f"round {number} {side}: {s['failed']} reserves failed {s['failed_by_code']}")
            if args.smoke and s["reserved_read_back"] != s["stock_total"]:
                failures.append(
                    f"round {number} {side}: demand exceeded stock, yet {s['reserved_read_back']} units "
                    f"were held, not {s['stock_total']}"
                )
    return failures


def _line(s: dict) -> str:
    return (
        f"{s['attempts_per_second']:9,.1f} reserves/s  p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms  "
        f"held {s['reserved_read_back']:,} of stock {s['stock_total']:,}  oversell {s['oversell']}  "
        f"server {_us(s['server_cpu_us_per_reserve'])} us/reserve  client {_us(s['client_cpu_us_per_reserve'])} us"
    )


def _pgbench_key(form: str, clients: int) -> str:
    """'-c 16' for the client's transaction, '-c 16 fn' for the function."""
    return f"-c {clients}" + (" fn" if form == "function" else "")


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _us(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ms(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(comparison: dict, duration: float) -> str:
    rounds = comparison["rounds"]
    lines = [
        f"\n{comparison['processes']} processes x {comparison['in_flight_per_process']} in flight",
        f"{'round':5} {'system':10} {'reserves/s':>10} {'held/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'p99.9 ms':>9} {'units held':>10} {'stock':>10} {'oversell':>8} {'failed':>6} {'server us':>10} "
        f"{'client us':>10}",
    ]
    for number, entry in enumerate(rounds, 1):
        for side in SIDES:
            if side in entry:
                s = entry[side]
                lines.append(
                    f"{number:5} {side:10} {s['attempts_per_second']:10,.1f} {s['held'] / duration:9,.1f} "
                    f"{_ms(s['p50_ms']):>8} {_ms(s['p99_ms']):>8} {_ms(s['p99_9_ms']):>9} "
                    f"{s['reserved_read_back']:10,} {s['stock_total']:10,} {s['oversell']:8} {s['failed']:6} "
                    f"{_us(s['server_cpu_us_per_reserve']):>10} {_us(s['client_cpu_us_per_reserve']):>10}"
                )
    for number, entry in enumerate(rounds, 1):
        for key, figure in entry.get("pgbench_by_clients", {}).items():
            if figure is not entry["pgbench"]:
                lines.append(
                    f"{number:5} {'pgbench ' + key:<16} {figure['attempts_per_second']:7,.1f}"
                    f"{'':>50} {figure['oversell']:>29}"
                )
    if "ratio_median" in comparison:
        lines.append(
            f"ours / PostgreSQL (reserve attempts answered per second): median {comparison['ratio_median']:.2f}, "
            f"per round {' '.join(f'{r:.2f}' for r in comparison['ratio_per_round'])}"
        )
    if "ratio_to_pgbench_per_round" in comparison:
        best = ", ".join(_pgbench_key(r["pgbench_best"]["form"], r["pgbench_best"]["clients"]) for r in rounds)
        for key, what in (
            ("pgbench", "pgbench (C client) with as many connections"),
            ("pgbench_best", f"pgbench at its best connection count ({best})"),
        ):
            lines.append(
                f"ours / {what}: median {_ratio(comparison[f'ratio_to_{key}_median'])}, "
                f"per round {' '.join(_ratio(r) for r in comparison[f'ratio_to_{key}_per_round'])}"
            )
    lines.append("server us, client us: CPU time per reserve answered in the window (server tree; client processes)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
