"""A replica ready to serve: opened on its log, caught up with it, and a new log started with the stock.

`serve` (cli.py) loads the network and the stock rows, then asks for one of
the two kinds of replica (replica/protocol.py):

- local: a FileLog in the data directory (or a MemoryLog with `in_memory`),
  its snapshots beside it; state from the newest snapshot and the log after it;
- shared: the Redis log; state from the newest Redis snapshot and the stream
  after it, and the instance registry heartbeating it once it serves.

Either way a new log starts with every node's status, then the stock rows as
absolute on-hand sets; an existing log is the truth and is replayed instead
(the stock is not loaded twice), and what the config changed is logged as
commands: the network (ChangeNetwork) and the catalog (UpsertSkus) as the
difference between the file and the state (model/reconcile.py), then node
statuses. A snapshot follows such a change, so a later start (or another
replica) rebuilds it from the snapshot and the log, never from the file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from dompromise import limits
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.catalog import NETWORK_APPLIED
from dompromise.inventory.engine import CATALOG_STATUS, ON_HAND_SET, Engine
from dompromise.log.file import FileLog
from dompromise.log.memory import MemoryLog
from dompromise.log.redis.log import RedisLog
from dompromise.log.redis.registry import InstanceRegistry
from dompromise.model import document
from dompromise.model import reconcile as reconcile_model
from dompromise.model.network import Network, StockRow
from dompromise.replica.follower import FollowerReplica
from dompromise.replica.local import LocalReplica
from dompromise.replica.parts import SNAPSHOT_INTERVAL_RECORDS
from dompromise.replica.protocol import Replica
from dompromise.replica.shared import SharedReplica
from dompromise.reservations.book import Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogOptions:
    """Which log a replica follows, and how start-up names what it ignores (the `serve` flags)."""

    data_directory: str = ".dompromise"
    in_memory: bool = False  # a MemoryLog: state dies with the process
    snapshot_interval_records: int = SNAPSHOT_INTERVAL_RECORDS
    redis_url: str | None = None  # set: the shared Redis log instead of data_directory
    redis_prefix: str = "dompromise"
    # Under `serve --workers`: this worker's index, for the registry; on the file log, worker 0 writes it and
    # the others follow it (replica/follower.py).
    worker_index: int | None = None
    # The network's source (the config file) and the stock file, as warnings name them.
    network_source: str = "the demo"
    stock_path: str | None = None
    # The log's clock (replica/clock.py): the wall clock, or a SimulatedClock (`serve --clock simulated`).
    clock_ns: Callable[[], int] = time.time_ns


def open_replica(network: Network, rows: Sequence[StockRow], options: LogOptions) -> Replica:
    """The replica `options` name, caught up with its log; a new log gets the status and stock records."""
    if options.redis_url:
        return open_shared_replica(network, rows, options)
    if options.worker_index:  # `serve --workers N` on the file log: worker 0 writes it, the others read it
        return open_follower_replica(network, options)
    return open_local_replica(network, rows, options)


def open_local_replica(network: Network, rows: Sequence[StockRow], options: LogOptions) -> LocalReplica:
    """The replica of the embedded log: newest snapshot file, then the log after it."""
    command_log = MemoryLog() if options.in_memory else FileLog(options.data_directory, exclusive=True)
    replica = LocalReplica(
        Engine(network, options.clock_ns),
        command_log,
        clock_ns=options.clock_ns,
        snapshot_directory=None if options.in_memory else options.data_directory,
        snapshot_interval_records=options.snapshot_interval_records,
    )
    started = time.monotonic()
    replayed = replica.recover()
    if replica.engine.log_position > 0:
        log.info(
            "recovered to log position %d (%d records replayed) from %s in %.2fs",
            replica.engine.log_position,
            replayed,
            options.data_directory,
            time.monotonic() - started,
        )
        if options.stock_path:
            log.warning(
                "the log already holds state: --stock %s ignored (feed changes through UpdateStock)",
                options.stock_path,
            )
    start_log(replica, rows, options.network_source, network)
    return replica


def open_follower_replica(network: Network, options: LogOptions) -> FollowerReplica:
    """A reader of the file log worker 0 writes (`serve --workers N` without Redis): newest snapshot file,
    then the segments after it, read-only; the writer has started and reconciled the log already."""
    replica = FollowerReplica(Engine(network, options.clock_ns), options.data_directory, clock_ns=options.clock_ns)
    started = time.monotonic()
    replayed = replica.recover()
    log.info(
        "reader: caught up with %s to log position %d (%d records applied) in %.2fs",
        options.data_directory,
        replica.engine.log_position,
        replayed,
        time.monotonic() - started,
    )
    return replica


def open_shared_replica(network: Network, rows: Sequence[StockRow], options: LogOptions) -> SharedReplica:
    """The replica of the Redis log: newest Redis snapshot, then the stream after it.

    An empty stream gets the status and stock records, appended only if the
    stream is still empty then (of instances starting together, one does it).
    """
    assert options.redis_url, "a shared replica needs the Redis log's URL"
    replica = SharedReplica(
        Engine(network, options.clock_ns),
        RedisLog(options.redis_url, options.redis_prefix),
        clock_ns=options.clock_ns,
        snapshot_interval_records=options.snapshot_interval_records,
    )
    replica.registry = InstanceRegistry(replica.log, worker=options.worker_index)
    started = time.monotonic()
    replayed = replica.recover()
    log.info(
        "caught up with %s to log position %d (%d records applied) in %.2fs",
        options.redis_url,
        replica.engine.log_position,
        replayed,
        time.monotonic() - started,
    )
    start_log(replica, rows, options.network_source, network)
    return replica


def start_log(
    replica: Replica, rows: Sequence[StockRow], network_source: str, configured: Network | None = None
) -> None:
    """A new log: every node's status, then the stock. An existing one: the network and catalog
    changes of the config (`configured`), then a status the config changed, if any."""
    changed = False
    if replica.log_position > 0 and configured is not None:
        changed = reconcile(replica, configured, network_source)
    status_record = replica.status_changes()
    if replica.log_position == 0:
        assert status_record is not None, "a new log states every node's status first"
        replica.bootstrap([status_record, *stock_records(rows)])
    elif status_record is not None:
        log.warning("node status in %s differs from the log: logging the change", network_source)
        replica.bootstrap([status_record])
    if changed and replica.snapshot_on_stop():
        log.info("snapshot at log position %d written (it carries the changed network)", replica.log_position)
    log.info(
        "network: %d nodes, %d SKUs; log position %d",
        len(replica.engine.network.nodes),
        len(replica.engine.network.skus),
        replica.log_position,
    )


def reconcile(replica: Replica, configured: Network, network_source: str) -> bool:
    """Logs the difference between the configured network and the state's; whether anything was logged.
    A change the state refuses (a node left out that open holds depend on) is logged as an error
    and the old network kept."""
    started = time.monotonic()
    records = reconcile_records(replica.engine, configured, network_source)
    if records:
        for record, outcome in zip(records, replica.bootstrap(records)):
            refused(record, outcome, replica.engine, network_source)
    log.info(
        "reconciled %s with the log in %.0f ms: %d change records",
        network_source,
        (time.monotonic() - started) * 1000,
        len(records),
    )
    return bool(records)


def reconcile_records(engine: Engine, configured: Network, network_source: str) -> list[log_pb2.LogRecord]:
    """ChangeNetwork (if the network differs), then UpsertSkus of at most CATALOG_SKUS_MAX SKUs each."""
    records = []
    network_text = reconcile_model.network_change(engine.network, configured)
    if network_text is not None:
        change = log_pb2.ChangeNetwork(network_document=network_text, source=network_source)
        records.append(log_pb2.LogRecord(change_network=change))
    upserts = reconcile_model.catalog_upserts(configured.skus, engine.sku, engine.is_retired)
    chunk = limits.CATALOG_SKUS_MAX
    for start in range(0, len(upserts), chunk):
        documents = upserts[start : start + chunk]
        records.append(log_pb2.LogRecord(upsert_skus=log_pb2.UpsertSkus(sku_documents=documents)))
    return records


def refused(record: log_pb2.LogRecord, outcome: Outcome, engine: Engine, network_source: str) -> None:
    """Logs what of a reconciled change the state refused."""
    if record.HasField("change_network") and outcome.result != NETWORK_APPLIED:
        _, closed = reconcile_model.merged_nodes(
            engine.network, document.network_from_document(record.change_network.network_document)
        )
        holds = {node_id: engine.node_dependents(node_id) for node_id in closed}
        log.error(
            "the network in %s was refused (result %d): nodes it leaves out hold open reservations %s; "
            "still serving the network of the log",
            network_source,
            outcome.result,
            {node_id: ids for node_id, ids in holds.items() if ids},
        )
    elif record.HasField("upsert_skus"):
        malformed = outcome.item_status.count(CATALOG_STATUS["MALFORMED"])
        if malformed:
            log.error("%d SKUs of %s were refused as malformed", malformed, network_source)


def stock_records(rows: Sequence[StockRow]) -> Iterator[log_pb2.LogRecord]:
    """Absolute on-hand sets for stock rows, as log records of at most STOCK_UPDATES_MAX items."""
    chunk = limits.STOCK_UPDATES_MAX
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        yield log_pb2.LogRecord(
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=[r.sku_id for r in part],
                node_ids=[r.node_id for r in part],
                ops=[ON_HAND_SET] * len(part),
                quantities=[r.on_hand_quantity for r in part],
            )
        )
