"""The results document of `dompromise bench` (what --json writes), key by key.

Latencies are in milliseconds, None when nothing was recorded; rates are per
second of the measured window; failures are counted by gRPC status code name.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

# Latencies.summary_ms(): p50, p90, p99, p99_9, mean and max.
LatencySummary = dict[str, float | None]


class RowStats(TypedDict):
    """What a row of the human summary shows, common to operations and RPCs."""

    ok: int
    ok_per_second: float
    latency_ms: LatencySummary


class OperationStats(RowStats):
    """One kind of operation (or all of them), measured part only."""

    failed: int
    failed_by_code: dict[str, int]


class AllOperationStats(OperationStats):
    # Operations (any outcome) that ended inside the window, per second: the throughput.
    finished_per_second: NotRequired[float]


class RpcStats(RowStats):
    """One RPC method, measured part only."""

    errors: int
    errors_by_code: dict[str, int]


class RpcTotals(TypedDict):
    ok: int
    errors: int
    ok_per_second: float
    errors_by_code: dict[str, int]


class ConfigShown(TypedDict):
    """The run's configuration as the document records it."""

    target: str
    loop: str  # "open" or "closed"
    mix: dict[str, int]
    processes: int
    in_flight_per_process: int | None  # closed loop only
    target_rate_ops_per_second: float | None  # open loop only
    duration_seconds: float
    warmup_seconds: float
    contended_skus: int
    quantity: int
    commit_percent: int | None  # not for a contended run: its holds are kept
    availability_skus: int
    timeout_seconds: float
    seed: int
    run_id: str


class Setup(TypedDict, total=False):
    """Facts of the set-up before the run (driver.prepare)."""

    promise_destination_probes: dict[str, int]  # status code name -> count
    hot_sku_ids: list[str]
    node_id: str
    stock_per_sku: int
    buckets_before: dict[str, dict[str, int]]  # sku -> bucket -> units; kept out of the document
    skus_in_catalogue: int
    enabled_nodes: int
    stocked_positions_sampled: int


class OpenLoop(TypedDict):
    target_ops_per_second: float
    achieved_ops_per_second: float
    # How late the driver itself sent (a busy client machine): it is inside every latency.
    send_lag_ms: LatencySummary


class SkuOversell(TypedDict):
    stock: int
    reserved_counted: int
    reserved_read_back: int
    available_after: int
    oversell: int


class Contended(TypedDict):
    """A contended run's check: units held on the hot SKUs against their stock."""

    node_id: str
    hot_sku_ids: list[str]
    stock_per_sku: int
    stock_total: int
    reserved_counted: int
    reserved_read_back: int
    oversell: int
    per_sku: dict[str, SkuOversell]


class ClientCpu(TypedDict):
    """The client processes' own CPU time (time.process_time) in the measured window."""

    cpus: list[int]  # the CPUs they were pinned to; empty: any
    seconds_in_window: float
    cores_busy: float  # seconds_in_window / the window
    us_per_operation: float | None  # per operation that ended in the window


class Machine(TypedDict):
    nproc: int | None
    cpu_model: str
    python: str
    grpcio: str
    kernel: str
    loadavg_before: list[str]
    loadavg_after: list[str]


class Document(TypedDict):
    tool: str
    config: ConfigShown
    setup: Setup
    operations: AllOperationStats
    kinds: dict[str, OperationStats]
    rpcs: dict[str, RpcStats]
    rpc_totals: RpcTotals
    reserve_outcomes: dict[str, int]
    open_loop: NotRequired[OpenLoop]
    contended: NotRequired[Contended]
    client_cpu: NotRequired[ClientCpu]
    started_at: NotRequired[str]
    machine: NotRequired[Machine]
