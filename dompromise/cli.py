"""The command line: `dompromise serve | lookup | load | load-catalog | health | check | snapshot | log | backup |
demo-config | bench`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from dompromise import limits
from dompromise.client import channel as channel_options
from dompromise.client.target import DEFAULT_PORT, DEFAULT_TARGET

if TYPE_CHECKING:
    from dompromise.model.network import Network
    from dompromise.replica.clock import Clock
    from dompromise.replica.protocol import Replica
    from dompromise.service.server import AlsoServe, BuiltServer
    from dompromise.service.serving import ServingOptions


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `serve --workers` starts workers with it
    worker = getattr(args, "worker_index", None)
    from dompromise.service.logs import configure

    configure(args.log_format, getattr(logging, args.log_level.upper()), worker)
    run: Callable[[argparse.Namespace], int] = args.run  # the subcommand's, set by its parser
    return run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dompromise", description="Available-to-promise service: live stock over gRPC."
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="json: one object per line with request_id and trace_id (for log collectors)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gRPC service (demo network if no --config)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0: any free port)")
    serve.add_argument("--config", help="network file (YAML or JSON, see docs/config.md)")
    serve.add_argument("--stock", help="stock CSV: sku_id,node_id,on_hand_quantity[,unit]")
    serve.add_argument("--data-dir", default=".dompromise", help="where the embedded command log lives")
    serve.add_argument("--in-memory", action="store_true", help="no command log on disk: state dies with the process")
    serve.add_argument(
        "--snapshot-every",
        type=int,
        default=50_000,
        metavar="RECORDS",
        help="write a snapshot (and compact the log) every this many log records",
    )
    serve.add_argument(
        "--token-key-file",
        metavar="FILE",
        help="signs promise tokens (at least 32 bytes; the same file on every instance, so any "
        "instance, or this one after a restart, can reserve any token); default: a random "
        "key per process",
    )
    serve.add_argument(
        "--redis",
        metavar="URL",
        help="share one command log in Redis (redis://host:port/db) with other instances "
        "instead of --data-dir (see docs/redis.md)",
    )
    serve.add_argument(
        "--redis-prefix",
        default="dompromise",
        metavar="PREFIX",
        help="key prefix of the shared log in Redis: one prefix per network",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"N worker processes (at most {limits.WORKERS_MAX}) serve the one port (SO_REUSEPORT), each "
        "a replica, under a supervisor that restarts crashed ones: with --redis of the shared log; "
        "else worker 0 writes the file log and the others read it (docs/operations.md)",
    )
    serve.add_argument(
        "--clock",
        choices=["wall", "simulated"],
        default="wall",
        help="the log's clock: wall (the default) or simulated, from --start at --speed; answers and "
        "health checks then carry x-dompromise-clock: simulated",
    )
    serve.add_argument(
        "--start", metavar="INSTANT", help="with --clock simulated: where it starts, e.g. 2026-11-23T08:00:00+01:00"
    )
    serve.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="N",
        help="with --clock simulated: simulated seconds per wall second (default 1; 0 stands still)",
    )
    serve.add_argument(
        "--http-port", type=int, help="also serve HTTP/JSON and the counter page on this port (0: any free port)"
    )
    serve.add_argument("--http-host", help="address for --http-port (default: --host)")
    serve.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # set by the supervisor
    serve.add_argument("--worker-restarts", type=int, default=0, help=argparse.SUPPRESS)  # set by the supervisor
    _production_arguments(serve)
    serve.set_defaults(run=_serve)

    check = commands.add_parser(
        "check", help="verify a running Redis cluster: instances, lag, heartbeats, snapshots (exit 0 when healthy)"
    )
    _redis_arguments(check)
    check.add_argument(
        "--max-lag",
        type=int,
        default=1_000,
        metavar="RECORDS",
        help="an instance further behind the stream head than this is a problem (default 1000)",
    )
    check.add_argument(
        "--max-heartbeat-age",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="an instance whose last heartbeat is older is a problem (default 5)",
    )
    check.add_argument(
        "--max-snapshot-age",
        type=float,
        default=86_400.0,
        metavar="SECONDS",
        help="log records waiting longer than this for a snapshot are a problem (default 86400)",
    )
    check.add_argument("--json", action="store_true", help="one JSON document on stdout, for machines")
    check.set_defaults(run=_check)

    snap = commands.add_parser("snapshot", help="store a snapshot of a Redis log at its head now (no instance needed)")
    _redis_arguments(snap)
    snap.add_argument("--config", help="the network file the instances serve (default: the demo network)")
    snap.set_defaults(run=_snapshot)

    _log_commands(commands)

    lookup = commands.add_parser(
        "lookup", help="print availability of SKUs as a table (part of a part number or description words, any case)"
    )
    lookup.add_argument("sku_ids", nargs="+", metavar="SKU", help="a part number, part of one, or description words")
    lookup.add_argument("--target", default=DEFAULT_TARGET, help=f"server address (default {DEFAULT_TARGET})")
    lookup.add_argument("--node", action="append", default=[], dest="node_ids", help="only this node (repeatable)")
    lookup.add_argument("--tag", action="append", default=[], dest="node_tags", help="only nodes with this tag")
    lookup.add_argument(
        "--all-nodes", action="store_true", help="list nodes with nothing available too, disabled ones marked"
    )
    lookup.add_argument("--deliver-to", default="", metavar="POSTAL", help="delivery options to this postal code")
    lookup.add_argument("--country", default="", metavar="CC", help="the postal code's country (ISO 3166-1 alpha-2)")
    lookup.add_argument(
        "--quantity", type=int, default=1, help="units of each SKU to deliver (with --deliver-to; default 1)"
    )
    lookup.add_argument("--timeout", type=float, default=5.0, help="deadline in seconds")
    channel_options.add_arguments(lookup)
    lookup.set_defaults(run=_lookup)

    health = commands.add_parser("health", help="exit 0 if the server reports SERVING (for probes)")
    health.add_argument("--target", default=DEFAULT_TARGET, help=f"server address (default {DEFAULT_TARGET})")
    health.add_argument("--service", default="", help="service name to check ('' is the whole server)")
    health.add_argument("--timeout", type=float, default=2.0, help="deadline in seconds")
    channel_options.add_arguments(health)
    health.set_defaults(run=_health)

    load = commands.add_parser("load", help="stream a stock CSV to a running server (millions of rows)")
    load.add_argument("csv", help="stock CSV: sku_id,node_id,on_hand_quantity[,unit]")
    load.add_argument("--target", default=DEFAULT_TARGET, help=f"server address (default {DEFAULT_TARGET})")
    load.add_argument(
        "--all-or-nothing",
        action="store_true",
        help="apply nothing unless every row is good (default: skip bad rows, apply the rest)",
    )
    load.add_argument("--source-id", default="", help="feed source: makes reloading the same file harmless")
    load.add_argument(
        "--sequence",
        type=int,
        default=0,
        help="the file's sequence for --source-id (e.g. its export time); older ones come back STALE",
    )
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument("--timeout", type=float, default=600.0, help="deadline in seconds")
    channel_options.add_arguments(load)
    load.set_defaults(run=_load)

    catalog = commands.add_parser("load-catalog", help="stream a catalog CSV (SKUs) to a running server")
    catalog.add_argument("csv", help="catalog CSV: sku_id[,description,unit,brand,category,tags,packs,...]")
    catalog.add_argument("--target", default=DEFAULT_TARGET, help=f"server address (default {DEFAULT_TARGET})")
    catalog.add_argument("--quiet", action="store_true", help="no progress bar")
    catalog.add_argument("--timeout", type=float, default=600.0, help="deadline in seconds")
    catalog.set_defaults(run=_load_catalog)

    demo = commands.add_parser("demo-config", help="write the demo network and stock files, to start your own")
    demo.add_argument("directory", help="folder to write network.yaml and stock.csv into")
    demo.set_defaults(run=_demo_config)

    from dompromise.client.bench import options as bench_options

    bench = commands.add_parser(
        "bench",
        help="load a running server and measure it (closed or open loop)",
        description=bench_options.DESCRIPTION,
        epilog=bench_options.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench_options.add_arguments(bench)
    bench.set_defaults(run=_bench)

    from dompromise.simulate import options as simulate_options

    simulate = commands.add_parser(
        "simulate",
        help="run a network for simulated days; measure promises kept, fill, splits against baselines",
        description=simulate_options.DESCRIPTION,
        epilog=simulate_options.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate_options.add_arguments(simulate)
    simulate.set_defaults(run=_simulate)
    return parser


def _simulate(args: argparse.Namespace) -> int:
    from dompromise.simulate import command

    return command.run(args)


def _log_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`log verify`, `log repair --accept-loss` and `backup`: the data directory offline (docs/operations.md)."""
    log_parser = commands.add_parser("log", help="check or repair a data directory's command log (offline)")
    log_commands = log_parser.add_subparsers(required=True, metavar="ACTION")
    verify = log_commands.add_parser("verify", help="check segments, frames, positions and snapshots (exit 0: good)")
    verify.add_argument("directory", nargs="?", help="the data directory (or --data-dir)")
    verify.add_argument("--data-dir", default=".dompromise", help="the data directory (default .dompromise)")
    verify.set_defaults(run=_log_verify)
    repair = log_commands.add_parser(
        "repair", help="keep every good record, stand in for the lost positions, start a new log id"
    )
    repair.add_argument("--data-dir", default=".dompromise", help="the data directory (default .dompromise)")
    repair.add_argument("--accept-loss", action="store_true", help="required: the damaged records are lost")
    repair.set_defaults(run=_log_repair)
    backup = commands.add_parser("backup", help="copy a data directory consistently, even while it is served")
    backup.add_argument("output", help="the new directory to copy into (must not exist or be empty)")
    backup.add_argument("--data-dir", default=".dompromise", help="the data directory (default .dompromise)")
    backup.set_defaults(run=_backup)


def _log_verify(args: argparse.Namespace) -> int:
    from dompromise.log.verify import verify

    report = verify(args.directory or args.data_dir)
    print(report.render())
    return 0 if report.ok else 1


def _log_repair(args: argparse.Namespace) -> int:
    from dompromise.errors import LogError
    from dompromise.log.verify import repair

    if not args.accept_loss:
        print("dompromise log repair: --accept-loss is required: the damaged records are lost", file=sys.stderr)
        return 2
    try:
        repaired = repair(args.data_dir)
    except (OSError, LogError) as error:
        print(f"dompromise log repair: {error}", file=sys.stderr)
        return 1
    if repaired is None:
        print(f"{args.data_dir}: nothing to repair")
        return 0
    print(f"{args.data_dir}: repaired; {len(repaired.lost)} position(s) lost; new log id {repaired.log_id}")
    for line in repaired.lost:
        print(f"  lost {line}")
    for path in repaired.aside:
        print(f"  original kept as {path}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from dompromise.errors import LogError
    from dompromise.log.backup import backup

    try:
        summary = backup(args.data_dir, args.output)
    except (OSError, LogError) as error:
        print(f"dompromise backup: {error}", file=sys.stderr)
        return 1
    print(summary)
    return 0


def _redis_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", required=True, metavar="URL", help="the shared log's Redis (redis://host:port/db)")
    parser.add_argument(
        "--redis-prefix", default="dompromise", metavar="PREFIX", help="key prefix of the shared log in Redis"
    )


def _serve(args: argparse.Namespace) -> int:
    import redis

    from dompromise.config import ConfigError
    from dompromise.errors import LogError
    from dompromise.service.server import serve

    if args.workers is not None and args.worker_index is None:
        return _supervise(args)
    if args.worker_index is not None:
        from dompromise.replica.workers import follow_supervisor

        follow_supervisor()
    try:
        clock = _clock(args)
    except ValueError as error:
        print(f"dompromise: refusing to start: {error}", file=sys.stderr)
        return 2
    if clock.kind != "wall":
        logging.getLogger("dompromise.serve").warning("the log follows a %s, not the wall clock", clock.describe())
    try:
        replica = _open_replica(args, clock)
    except ConfigError as error:
        print(f"dompromise: refusing to start, bad config:\n{error}", file=sys.stderr)
        return 2
    except (OSError, LogError, redis.RedisError) as error:
        print(f"dompromise: refusing to start: {error}", file=sys.stderr)
        return 2
    try:
        options = _serving_options(args)
    except (OSError, ValueError) as error:
        print(f"dompromise: refusing to start: {error}", file=sys.stderr)
        return 2
    token_key = None
    if args.token_key_file:
        try:
            token_key = _token_key(args.token_key_file)
        except (OSError, ValueError) as error:
            print(f"dompromise: refusing to start: --token-key-file: {error}", file=sys.stderr)
            return 2
    address = f"{args.host}:{args.port}"

    def ready(port: int) -> None:
        replica.serving(f"{args.host}:{port}")
        # One line on stdout, for people and for scripts that started us with --port 0.
        print(f"dompromise serving on {args.host}:{port}", flush=True)

    also_serve = None
    if args.http_port is not None:
        from dompromise.http.serve import also_serve_http

        http_host = args.http_host or args.host

        def http_ready(port: int) -> None:
            print(f"dompromise http on {http_host}:{port}", flush=True)

        auth_check = None
        if options.keys is not None:  # the same keys and scopes as gRPC (http/auth.py)
            from dompromise.http.auth import keyring_check

            auth_check = keyring_check(options.keys)
        also_serve = also_serve_http(
            http_host, args.http_port, http_ready, auth_check, reuse_port=args.worker_index is not None
        )
    if args.worker_index == 0 and not args.redis:
        also_serve = _with_writer_endpoint(also_serve, args.data_dir)
    try:
        reload = _reloader(args, replica) if args.config else None
        asyncio.run(
            serve(
                replica,
                address,
                ready,
                token_key=token_key,
                reuse_port=args.worker_index is not None,
                clock_kind=clock.kind,
                also_serve=also_serve,
                parse_network=_parse_network,
                reload=reload,
                options=options,
            )
        )
    except OSError as error:
        print(f"dompromise: cannot serve on {address}: {error}", file=sys.stderr)
        return 2
    return 0


def _with_writer_endpoint(also_serve: AlsoServe | None, directory: str) -> AlsoServe:
    """Worker 0 of `serve --workers N` on the file log: `also_serve` and the endpoint the reader workers
    forward writes to (replica/writer_link.py)."""
    from dompromise.replica.local import LocalReplica
    from dompromise.replica.writer_link import WriterEndpoint

    async def serve_endpoint(built: BuiltServer, replica: Replica) -> Callable[[], Awaitable[None]]:
        assert isinstance(replica, LocalReplica), "worker 0 owns the file log"
        endpoint = WriterEndpoint(replica, directory)
        await endpoint.start()
        stop_also = None if also_serve is None else await also_serve(built, replica)

        async def stop() -> None:
            await endpoint.stop()
            if stop_also is not None:
                await stop_also()

        return stop

    return serve_endpoint


def _clock(args: argparse.Namespace) -> Clock:
    """`serve`'s log clock (replica/clock.py); ValueError naming the flag for a bad one."""
    from dompromise.replica.clock import SimulatedClock, WallClock, parse_start

    if args.clock == "wall":
        if args.start is not None:
            raise ValueError("--start needs --clock simulated")
        return WallClock()
    if args.start is None:
        raise ValueError("--clock simulated needs --start (e.g. 2026-11-23T08:00:00+01:00)")
    if args.speed < 0:
        raise ValueError(f"--speed must be >= 0, got {args.speed:g}")
    try:
        start_ns = parse_start(args.start)
    except ValueError as error:
        raise ValueError(f"--start: {error}") from None
    return SimulatedClock(start_ns, args.speed)


def _parse_network(text: str, source: str) -> Network:
    """A network config text (ApplyNetworkConfig), or INVALID_ARGUMENT naming each file:line problem."""
    from dompromise import config
    from dompromise.errors import FieldViolation, InvalidArgumentError

    try:
        return config.parse_network(text, source)
    except config.ConfigError as error:
        raise InvalidArgumentError(
            [FieldViolation("config_text", str(problem)) for problem in error.problems]
        ) from None


def _reloader(args: argparse.Namespace, replica: Replica) -> Callable[[], Awaitable[None]]:
    """SIGHUP: the --config file read again, validated whole and applied as log commands;
    any problem is logged (file:line) and the running network kept."""
    from dompromise import config
    from dompromise.errors import DompromiseError
    from dompromise.service.catalog import apply_network

    log = logging.getLogger("dompromise.reload")

    async def reload() -> None:
        try:
            network = config.load_network(args.config)
            response = await apply_network(replica.engine, replica, network, args.config)
        except (DompromiseError, OSError) as error:
            log.error("SIGHUP: %s not applied, the running network is kept:\n%s", args.config, error)
            return
        log.info(
            "SIGHUP: %s applied (network changed: %s, SKUs upserted: %d) at log position %d",
            args.config,
            response.network_changed,
            response.skus_upserted_count,
            response.log_position,
        )

    return reload


def _production_arguments(serve: argparse.ArgumentParser) -> None:
    """TLS, keys, metrics, load shedding, traces (docs/operations.md)."""
    serve.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this certificate chain (PEM)")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    serve.add_argument(
        "--tls-client-ca", metavar="FILE", help="mTLS: clients must present a certificate this CA (PEM) signed"
    )
    serve.add_argument(
        "--auth-keys",
        metavar="FILE",
        help="YAML file of API keys and their scopes; calls need authorization: Bearer <key> (SIGHUP reloads it)",
    )
    serve.add_argument("--no-reflection", action="store_true", help="do not serve gRPC server reflection")
    # Also after `serve` (where operators look for it); the global option's value stands when absent here.
    serve.add_argument("--log-format", choices=["text", "json"], default=argparse.SUPPRESS, help="as before COMMAND")
    serve.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="Prometheus /metrics on this port (with --workers, worker I uses PORT + I)",
    )
    serve.add_argument("--metrics-host", default="127.0.0.1", help="address the metrics page listens on")
    serve.add_argument(
        "--max-inflight",
        type=int,
        default=limits.INFLIGHT_RPCS_MAX,
        metavar="N",
        help=f"RPCs in flight before new ones are refused RESOURCE_EXHAUSTED (default {limits.INFLIGHT_RPCS_MAX})",
    )
    serve.add_argument(
        "--otel",
        action="store_true",
        help="OpenTelemetry server spans (pip install 'dompromise[otel]'); OTLP export when "
        "OTEL_EXPORTER_OTLP_ENDPOINT is set",
    )


def _serving_options(args: argparse.Namespace) -> ServingOptions:
    """`serve`'s production options; ValueError (or OSError) naming the option that cannot be used."""
    from dompromise.service.auth import KeyRing, KeysFileError
    from dompromise.service.serving import ServingOptions
    from dompromise.service.tls import TlsFiles

    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        raise ValueError("--tls-client-ca needs --tls-cert and --tls-key (mTLS is TLS first)")
    if args.max_inflight < 1:
        raise ValueError("--max-inflight must be >= 1")
    tls = TlsFiles(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    if tls is not None:
        for path in (tls.certificate_path, tls.key_path, tls.client_ca_path):
            if path is not None and not os.access(path, os.R_OK):
                raise ValueError(f"cannot read {path}")
    try:
        keys = KeyRing(args.auth_keys) if args.auth_keys else None
    except KeysFileError as error:
        raise ValueError(f"--auth-keys: {error}") from None
    metrics_port = args.metrics_port
    if metrics_port is not None and metrics_port != 0 and args.worker_index is not None:
        metrics_port += args.worker_index  # one page per worker: documented in docs/operations.md
    if args.otel:
        from dompromise.service.tracing import configure_exporter

        configure_exporter()
    return ServingOptions(
        tls=tls,
        keys=keys,
        reflection=not args.no_reflection,
        metrics_port=metrics_port,
        metrics_host=args.metrics_host,
        inflight_max=args.max_inflight,
        request_ids=args.log_format == "json",
        tracing=args.otel,
        worker_restarts=args.worker_restarts,
        worker_index=args.worker_index,
    )


def _open_replica(args: argparse.Namespace, clock: Clock) -> Replica:
    """`serve`'s replica (replica/bootstrap.py): network from --config or the demo, state from the log.

    With the cyclic garbage collector paused, then what start-up built frozen (gc_pause.py).
    """
    from dompromise import config
    from dompromise.config import ConfigError, ConfigProblem
    from dompromise.demo import network as demo
    from dompromise.gc_pause import gc_paused_then_frozen
    from dompromise.replica import bootstrap

    with gc_paused_then_frozen():
        if args.config:
            network = config.load_network(args.config)
            rows = config.load_stock_csv(args.stock, network) if args.stock else []
        else:
            network = demo.demo_network()
            rows = config.load_stock_csv(args.stock, network) if args.stock else demo.demo_stock(network)
        if args.snapshot_every < 1:
            raise ConfigError([ConfigProblem("--snapshot-every", 0, "snapshot-every", "must be >= 1")])
        options = bootstrap.LogOptions(
            data_directory=args.data_dir,
            in_memory=args.in_memory,
            snapshot_interval_records=args.snapshot_every,
            redis_url=args.redis,
            redis_prefix=args.redis_prefix,
            worker_index=args.worker_index,
            network_source=args.config or "the demo",
            stock_path=args.stock,
            clock_ns=clock.now_ns,
        )
        return bootstrap.open_replica(network, rows, options)


def _supervise(args: argparse.Namespace) -> int:
    """`serve --workers N`: the supervisor of N worker processes (dompromise/replica/workers.py)."""
    from dompromise.replica import workers

    if args.in_memory:
        print(
            "dompromise: refusing to start: --workers with --in-memory: a memory log lives in one process; "
            "workers share the file log (--data-dir) or one in Redis (--redis)",
            file=sys.stderr,
        )
        return 2
    if not 1 <= args.workers <= limits.WORKERS_MAX:
        print(f"dompromise: refusing to start: --workers {args.workers}: 1 to {limits.WORKERS_MAX}", file=sys.stderr)
        return 2
    if not args.redis:
        from dompromise.replica.writer_link import socket_path

        try:
            socket_path(args.data_dir)  # worker 0's, where the others reach it
        except OSError as error:
            print(f"dompromise: refusing to start: {error}", file=sys.stderr)
            return 2
    staged = not args.redis  # the file log: worker 0 writes what the others read
    http = None if args.http_port is None else (args.http_host or args.host, args.http_port)
    return workers.run(
        args.argv, args.workers, args.host, args.port, reload=bool(args.config), staged=staged, http=http
    )


def _check(args: argparse.Namespace) -> int:
    import json

    import redis

    from dompromise.log.redis.log import RedisLog
    from dompromise.log.redis.registry import cluster_status, problems, render_status, warnings

    command_log = RedisLog(args.redis, args.redis_prefix)
    try:
        status = cluster_status(command_log)
    except redis.RedisError as error:
        print(f"dompromise check: cannot read {args.redis}: {error}", file=sys.stderr)
        return 2
    finally:
        command_log.close()
    found = problems(status, args.max_lag, args.max_heartbeat_age, args.max_snapshot_age)
    noted = warnings(status, args.max_heartbeat_age)
    if args.json:
        print(json.dumps(dict(status, healthy=not found, problems=found, warnings=noted), indent=2))
    else:
        print(render_status(status))
        print("healthy" if not found else f"{len(found)} problem{'s' if len(found) > 1 else ''}")
    for warning in noted:
        print(f"dompromise check: warning: {warning}", file=sys.stderr)
    for problem in found:
        print(f"dompromise check: {problem}", file=sys.stderr)
    return 1 if found else 0


def _snapshot(args: argparse.Namespace) -> int:
    import redis

    from dompromise import config
    from dompromise.config import ConfigError
    from dompromise.demo import network as demo
    from dompromise.errors import RedisLogError
    from dompromise.replica.redis_snapshot import snapshot_log

    try:
        network = config.load_network(args.config) if args.config else demo.demo_network()
    except ConfigError as error:
        print(f"dompromise snapshot: bad config:\n{error}", file=sys.stderr)
        return 2
    try:
        position, size, written = snapshot_log(network, args.redis, args.redis_prefix)
    except (redis.RedisError, RedisLogError) as error:
        print(f"dompromise snapshot: {error}", file=sys.stderr)
        return 1
    print(
        f"snapshot at log position {position} ({size:,} bytes) "
        + ("stored in Redis" if written else "already in Redis: it covers the head"),
        flush=True,
    )
    return 0


def _token_key(path: str) -> bytes:
    """The promise token key: the file's bytes, surrounding whitespace stripped."""
    from dompromise.promise.token import KEY_BYTES_MIN

    with open(path, "rb") as file:
        key = file.read().strip()
    if len(key) < KEY_BYTES_MIN:
        raise ValueError(f"{path} holds {len(key)} bytes; a token key needs at least {KEY_BYTES_MIN}")
    return key


def _lookup(args: argparse.Namespace) -> int:
    import grpc

    from dompromise.client.lookup import LookupRequest, render_lookup

    request = LookupRequest(
        target=args.target,
        terms=args.sku_ids,
        node_ids=args.node_ids,
        node_tags=args.node_tags,
        all_nodes=args.all_nodes,
        deliver_to=args.deliver_to,
        country_code=args.country.upper(),
        quantity=args.quantity,
        timeout_seconds=args.timeout,
    )
    try:
        request.security = channel_options.from_args(args)
        answer = render_lookup(request)
    except (OSError, ValueError) as error:
        print(f"dompromise lookup: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        print(f"dompromise lookup: {error.code().name}: {error.details()}", file=sys.stderr)
        return 2
    print(answer.text)
    return 1 if answer.unresolved else 0


def _health(args: argparse.Namespace) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        security = channel_options.from_args(args)
    except (OSError, ValueError) as error:
        print(f"dompromise health: {error}", file=sys.stderr)
        return 2
    with channel_options.open_channel(args.target, security) as channel:
        try:
            # The stub's stub (types-grpcio-health-checking) omits the methods HealthStub sets in __init__.
            check = health_pb2_grpc.HealthStub(channel).Check  # type: ignore[attr-defined]
            response: health_pb2.HealthCheckResponse = check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as error:
            print(f"dompromise health: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    print(status)
    return 0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1


def _load(args: argparse.Namespace) -> int:
    from dompromise.client import loader

    if args.sequence < 0:
        print("dompromise load: --sequence must be >= 0", file=sys.stderr)
        return 2
    try:
        security = channel_options.from_args(args)
    except (OSError, ValueError) as error:
        print(f"dompromise load: {error}", file=sys.stderr)
        return 2
    return loader.run(
        args.csv, args.target, args.all_or_nothing, args.source_id, args.sequence, args.quiet, args.timeout, security
    )


def _load_catalog(args: argparse.Namespace) -> int:
    from dompromise.client import catalog_loader

    return catalog_loader.run(args.csv, args.target, args.quiet, args.timeout)


def _demo_config(args: argparse.Namespace) -> int:
    from dompromise import config
    from dompromise.demo import network as demo

    os.makedirs(args.directory, exist_ok=True)
    network = demo.demo_network()
    with open(os.path.join(args.directory, "network.yaml"), "w", encoding="utf-8") as out:
        out.write(config.dump_network(network))
    with open(os.path.join(args.directory, "stock.csv"), "w", encoding="utf-8", newline="") as out:
        out.write("sku_id,node_id,on_hand_quantity\n")
        for row in demo.demo_stock(network):
            out.write(f"{row.sku_id},{row.node_id},{row.on_hand_quantity}\n")
    print(f"wrote {args.directory}/network.yaml and {args.directory}/stock.csv")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from dompromise.client.bench import driver
    from dompromise.client.bench.options import config_from_args

    return driver.main(config_from_args(args))
