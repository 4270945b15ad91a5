"""WatchAvailability over a real socket: full state, coalesced changes, versions, resume, limits, shutdown."""

from __future__ import annotations

import asyncio
import logging
import queue
import signal
import threading
import time

import grpc
import pytest
from conftest import ServerThread, small_network, stock_record, stocked_replica
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from processes import STOP_SECONDS_MAX, Serving

from dompromise import limits
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.model.network import Network, Node, NodeStatus, NodeType, Sku
from dompromise.replica import watch as watch_module
from dompromise.replica.local import Replica
from dompromise.service import server as server_module
from dompromise.v1 import availability_pb2 as pb
from dompromise.v1 import (
    availability_pb2_grpc,
    common_pb2,
    inventory_pb2,
    inventory_pb2_grpc,
    network_pb2,
    network_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

# Bounds for every wait here, in seconds: how long a change may take to arrive,
# and how long "nothing arrives" is watched for.
ARRIVAL_SECONDS_MAX = 5.0
SILENCE_SECONDS = 0.3


class Watch:
    """A WatchAvailability stream read by a thread into a queue, so a test can wait with a timeout."""

    def __init__(self, channel, request: pb.WatchAvailabilityRequest):
        self.call = availability_pb2_grpc.AvailabilityServiceStub(channel).WatchAvailability(request)
        self._messages: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self._messages.put(message)
            self._messages.put(None)  # ended with OK
        except grpc.RpcError as error:
            self._messages.put(error)

    def next(self, timeout: float = ARRIVAL_SECONDS_MAX) -> pb.WatchAvailabilityResponse:
        message = self._messages.get(timeout=timeout)
        if isinstance(message, grpc.RpcError):
            raise message
        assert message is not None, "the stream ended"
        return message

    def end(self, timeout: float = ARRIVAL_SECONDS_MAX):
        """The stream's end: None for OK, else its RpcError (messages before it are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            if message is None or isinstance(message, grpc.RpcError):
                return message

    def assert_silent(self, seconds: float = SILENCE_SECONDS) -> None:
        with pytest.raises(queue.Empty):
            message = self._messages.get(timeout=seconds)
            pytest.fail(f"expected no message, got {message}")

    def cancel(self) -> None:
        self.call.cancel()
        self._thread.join(ARRIVAL_SECONDS_MAX)


@pytest.fixture
def watches(channel):
    opened = []

    def open_watch(**fields) -> Watch:
        watch = Watch(channel, pb.WatchAvailabilityRequest(**fields))
        opened.append(watch)
        return watch

    yield open_watch
    for watch in opened:
        watch.cancel()


def set_on_hand(channel, sku_id: str, node_id: str, quantity: int) -> int:
    """Sets one position's on hand; returns the log position of the write."""
    response = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[inventory_pb2.StockUpdate(sku_id=sku_id, node_id=node_id, kind=1, quantity=quantity)]
        )
    )
    assert response.applied_count == 1
    return response.log_position


def item_map(message: pb.WatchAvailabilityResponse) -> dict[str, dict[str, int]]:
    """{sku_id: {node_id: available}} of a message."""
    columns = list(message.availability.node_ids)
    return {item.sku_id: dict(zip(columns, item.node_available_quantities)) for item in message.availability.items}


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None, "error carries no google.rpc.Status"
    violations = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.update((v.field, v.description) for v in bad_request.field_violations)
    return violations


def wait_for(condition, seconds: float = ARRIVAL_SECONDS_MAX) -> None:
    """Polls a server-side condition that no event signals to the client (bounded)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


# ---- the stream's contents -----------------------------------------------------


def test_first_message_is_the_full_state_in_request_order(watches, engine):
    watch = watches(sku_ids=["OIL-1", "NOPE", "PAD-1", "OIL-1"])
    first = watch.next()
    assert first.full_answer
    assert first.version == first.availability.log_position == engine.log_position == 1
    assert list(first.availability.node_ids) == ["DC-1", "WH-N", "ST-1"]
    oil, missing, pad = first.availability.items  # OIL-1 named twice is watched once
    assert (oil.sku_id, oil.status, list(oil.node_available_quantities)) == (
        "OIL-1",
        common_pb2.ITEM_STATUS_OK,
        [30, 31, 32],
    )
    assert oil.base_unit == common_pb2.BASE_UNIT_MILLILITRE
    assert missing.sku_id == "NOPE" and missing.status == common_pb2.ITEM_STATUS_SKU_NOT_FOUND
    assert pad.available_quantity == 33


def test_watched_stock_update_arrives_with_a_higher_version(watches, channel):
    watch = watches(sku_ids=["PAD-1", "OIL-1"])
    first = watch.next()
    position = set_on_hand(channel, "OIL-1", "WH-N", 5)
    change = watch.next()
    assert change.version == position > first.version
    assert not change.full_answer
    assert item_map(change) == {"OIL-1": {"DC-1": 30, "WH-N": 5, "ST-1": 32}}  # only the changed SKU


def test_unwatched_change_sends_nothing(watches, channel):
    watch = watches(sku_ids=["PAD-1"])
    watch.next()
    unwatched_position = set_on_hand(channel, "OIL-1", "DC-1", 1)
    watch.assert_silent()
    position = set_on_hand(channel, "PAD-1", "DC-1", 2)
    change = watch.next()
    assert position == unwatched_position + 1
    assert change.version == position
    assert item_map(change) == {"PAD-1": {"DC-1": 2, "WH-N": 11, "ST-1": 12}}


def test_filters_and_views_apply_to_every_message(watches, channel):
    watch = watches(sku_ids=["PAD-1"], node_tags=["north"], view=pb.AVAILABILITY_VIEW_FULL)
    first = watch.next()
    assert list(first.availability.node_ids) == ["WH-N", "ST-1"]
    totals = watches(sku_ids=["PAD-1"], view=pb.AVAILABILITY_VIEW_TOTALS)
    assert totals.next().availability.items[0].available_quantity == 33
    set_on_hand(channel, "PAD-1", "ST-1", 50)
    item = watch.next().availability.items[0]
    assert list(item.node_on_hand_quantities) == [11, 50]
    assert list(item.node_available_quantities) == [11, 50]
    total = totals.next()
    assert list(total.availability.node_ids) == [] and total.availability.items[0].available_quantity == 71


def test_a_reservation_and_its_expiry_are_changes():
    now_ns = [1_800_000_000 * 10**9]
    replica = Replica(Engine(small_network()), MemoryLog(), clock_ns=lambda: now_ns[0])
    replica.bootstrap([stock_record(replica.engine)])
    running = ServerThread(replica)
    try:
        with grpc.insecure_channel(running.target) as channel:
            watch = Watch(channel, pb.WatchAvailabilityRequest(sku_ids=["PAD-1"], node_ids=["DC-1"]))
            assert item_map(watch.next()) == {"PAD-1": {"DC-1": 10}}
            reserved = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
                reservation_pb2.ReserveInventoryRequest(
                    request_id="hold-1",
                    ttl=duration_pb2.Duration(seconds=1),
                    lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=3)],
                )
            )
            held = watch.next()
            assert held.version == reserved.log_position
            assert item_map(held) == {"PAD-1": {"DC-1": 7}}
            now_ns[0] += 2 * 10**9  # the hold is due: the next command (this write, or a tick) expires it
            set_on_hand(channel, "OIL-1", "DC-1", 1)
            expired = watch.next()
            assert expired.version > held.version
            assert item_map(expired) == {"PAD-1": {"DC-1": 10}}
            watch.cancel()
    finally:
        running.stop()


def test_node_status_change_through_the_log_resends_every_sku_over_the_new_columns(watches, server, channel):
    every_node = watches(sku_ids=["PAD-1", "OIL-1"])
    only_dc = watches(sku_ids=["PAD-1"], node_ids=["DC-1"])
    assert list(every_node.next().availability.node_ids) == ["DC-1", "WH-N", "ST-1"]
    assert list(only_dc.next().availability.node_ids) == ["DC-1"]
    disable = log_pb2.LogRecord(
        set_node_status=log_pb2.SetNodeStatus(node_ids=["DC-1"], statuses=[int(NodeStatus.DISABLED)])
    )
    outcome = server._call(server.replica.submit(disable))
    change = every_node.next()
    assert change.full_answer and change.version == outcome.log_position
    assert item_map(change) == {"PAD-1": {"WH-N": 11, "ST-1": 12}, "OIL-1": {"WH-N": 31, "ST-1": 32}}
    assert change.availability.items[0].available_quantity == 23
    emptied = only_dc.next()
    assert list(emptied.availability.node_ids) == [] and emptied.availability.items[0].available_quantity == 0


def test_large_batches_are_filtered_to_the_watched_skus():
    # More changed SKUs than VECTOR_FILTER_SKUS_MIN: the hub's vector path.
    sku_count = 3 * watch_module.VECTOR_FILTER_SKUS_MIN
    network = Network(nodes=(Node("N1", NodeType.STORE),), skus=tuple(Sku(f"S{i:03d}") for i in range(sku_count)))
    running = ServerThread(Engine(network))
    try:
        with grpc.insecure_channel(running.target) as channel:
            stock = inventory_pb2_grpc.InventoryServiceStub(channel)

            def set_all(sku_ids, quantity):
                stock.UpdateStock(
                    inventory_pb2.UpdateStockRequest(
                        updates=[
                            inventory_pb2.StockUpdate(sku_id=s, node_id="N1", kind=1, quantity=quantity)
                            for s in sku_ids
                        ]
                    )
                )

            watch = Watch(channel, pb.WatchAvailabilityRequest(sku_ids=["S007", "S150"]))
            watch.next()
            set_all([f"S{i:03d}" for i in range(sku_count) if i not in (7, 150)], 3)
            watch.assert_silent()
            set_all([f"S{i:03d}" for i in range(100, sku_count)], 9)
            assert item_map(watch.next()) == {"S150": {"N1": 9}}
            watch.cancel()
    finally:
        running.stop()


def test_required_attributes_count_only_matching_variants_and_with_variants_breaks_them_down():
    from test_service_attributes import attributed_network

    replica = Replica(Engine(attributed_network()), MemoryLog())
    replica.bootstrap([stock_record(replica.engine)])  # PAD-1: 10 at DC-1, 11 at WH-N, 12 at ST-1
    running = ServerThread(replica)
    try:
        with grpc.insecure_channel(running.target) as channel:
            stock = inventory_pb2_grpc.InventoryServiceStub(channel)

            def set_lot(lot: str, quantity: int, node_id: str = "DC-1") -> int:
                return stock.UpdateStock(
                    inventory_pb2.UpdateStockRequest(
                        updates=[
                            inventory_pb2.StockUpdate(
                                sku_id="PAD-1", node_id=node_id, kind=1, quantity=quantity, attributes={"lot": lot}
                            )
                        ]
                    )
                ).log_position

            set_lot("L1", 5)
            lot_l1 = Watch(
                channel,
                pb.WatchAvailabilityRequest(
                    sku_ids=["PAD-1"], node_ids=["DC-1", "WH-N"], required_attributes={"lot": "L1"}
                ),
            )
            by_variant = Watch(
                channel, pb.WatchAvailabilityRequest(sku_ids=["PAD-1"], node_ids=["DC-1"], with_variants=True)
            )
            assert item_map(lot_l1.next()) == {"PAD-1": {"DC-1": 5, "WH-N": 0}}
            first = by_variant.next().availability.items[0]
            assert [(dict(v.attributes), v.available_quantity) for v in first.variants] == [
                ({}, 10),
                ({"lot": "L1"}, 5),
            ]
            position = set_lot("L1", 8, "WH-N")
            change = lot_l1.next()
            assert change.version == position and item_map(change) == {"PAD-1": {"DC-1": 5, "WH-N": 8}}
            assert by_variant.next().availability.items[0].available_quantity == 15  # unchanged at DC-1, sent again
            set_lot("L2", 3)  # another lot: the L1 watch gets the SKU again, with the same figures
            assert item_map(lot_l1.next()) == {"PAD-1": {"DC-1": 5, "WH-N": 8}}
            variants = by_variant.next().availability.items[0].variants
            assert [(dict(v.attributes), v.available_quantity) for v in variants] == [
                ({}, 10),
                ({"lot": "L1"}, 5),
                ({"lot": "L2"}, 3),
            ]
            for watch in (lot_l1, by_variant):
                watch.cancel()
    finally:
        running.stop()


def test_required_attributes_are_checked(watches):
    with pytest.raises(grpc.RpcError) as caught:
        watches(sku_ids=["PAD-1"], required_attributes={"lot": "L1"}).next()  # no attributes declared here
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "required_attributes.lot" in field_violations(caught.value)
    with pytest.raises(grpc.RpcError) as caught:
        watches(sku_ids=["PAD-1"], with_variants=True, view=pb.AVAILABILITY_VIEW_TOTALS).next()
    assert "with_variants" in field_violations(caught.value)


# ---- resume ------------------------------------------------------------------------


def test_resume_at_the_current_version_sends_only_later_changes(watches, channel, engine):
    watch = watches(sku_ids=["PAD-1"], resume_after_version=engine.log_position)
    watch.assert_silent()
    position = set_on_hand(channel, "PAD-1", "WH-N", 4)
    change = watch.next()
    assert change.version == position and not change.full_answer
    assert item_map(change) == {"PAD-1": {"DC-1": 10, "WH-N": 4, "ST-1": 12}}


def test_resume_from_an_older_version_starts_with_the_full_state(watches, channel):
    first = watches(sku_ids=["PAD-1", "OIL-1"]).next()
    position = set_on_hand(channel, "OIL-1", "DC-1", 3)
    resumed = watches(sku_ids=["PAD-1", "OIL-1"], resume_after_version=first.version).next()
    assert resumed.full_answer and resumed.version == position
    assert item_map(resumed) == {
        "PAD-1": {"DC-1": 10, "WH-N": 11, "ST-1": 12},
        "OIL-1": {"DC-1": 3, "WH-N": 31, "ST-1": 32},
    }


def test_every_message_names_the_log_its_version_counts_in(watches, channel, server):
    watch = watches(sku_ids=["PAD-1"])
    first = watch.next()
    set_on_hand(channel, "PAD-1", "DC-1", 4)
    change = watch.next()
    assert len(server.replica.log_id) == 16
    assert first.log_id == change.log_id == server.replica.log_id


def test_resume_with_the_same_log_id_sends_only_later_changes(watches, channel, engine, server):
    watch = watches(sku_ids=["PAD-1"], resume_after_version=engine.log_position, resume_log_id=server.replica.log_id)
    watch.assert_silent()
    position = set_on_hand(channel, "PAD-1", "WH-N", 4)
    change = watch.next()
    assert change.version == position and not change.full_answer


@pytest.mark.parametrize("ahead", [0, 5], ids=["same-position", "ahead"])
def test_resume_with_another_log_id_starts_over_with_the_full_state(watches, engine, server, ahead):
    # The version counts in another log (say, before a restart): equal to, or
    # even ahead of, this log's position, it says nothing of what the client has.
    foreign = "0123456789abcdef"
    assert server.replica.log_id != foreign
    first = watches(
        sku_ids=["PAD-1", "OIL-1"], resume_after_version=engine.log_position + ahead, resume_log_id=foreign
    ).next()
    assert first.full_answer and first.version == engine.log_position
    assert first.log_id == server.replica.log_id
    assert item_map(first) == {
        "PAD-1": {"DC-1": 10, "WH-N": 11, "ST-1": 12},
        "OIL-1": {"DC-1": 30, "WH-N": 31, "ST-1": 32},
    }


def test_resume_ahead_of_the_replica_is_out_of_range(watches, engine):
    with pytest.raises(grpc.RpcError) as caught:
        watches(sku_ids=["PAD-1"], resume_after_version=engine.log_position + 1).next()
    assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "resume_after_version" in field_violations(caught.value)


# ---- bad input and limits --------------------------------------------------------


@pytest.mark.parametrize(
    "fields,code,bad_field",
    [
        ({}, grpc.StatusCode.INVALID_ARGUMENT, "sku_ids"),
        ({"sku_ids": ["PAD-1", ""]}, grpc.StatusCode.INVALID_ARGUMENT, "sku_ids[1]"),
        ({"sku_ids": ["PAD-1"], "node_tags": ["a b"]}, grpc.StatusCode.INVALID_ARGUMENT, "node_tags[0]"),
        ({"sku_ids": ["PAD-1"], "view": 42}, grpc.StatusCode.INVALID_ARGUMENT, "view"),
        ({"sku_ids": ["PAD-1"], "resume_after_version": -1}, grpc.StatusCode.INVALID_ARGUMENT, "resume_after_version"),
        (
            {"sku_ids": ["PAD-1"], "resume_log_id": "x" * (limits.LOG_ID_LENGTH_MAX + 1)},
            grpc.StatusCode.INVALID_ARGUMENT,
            "resume_log_id",
        ),
        ({"sku_ids": ["PAD-1"] * (limits.WATCH_SKUS_MAX + 1)}, grpc.StatusCode.RESOURCE_EXHAUSTED, "sku_ids"),
    ],
    ids=["empty", "empty-id", "bad-tag", "view", "negative-version", "long-log-id", "too-many-skus"],
)
def test_bad_input_names_the_field(watches, fields, code, bad_field):
    with pytest.raises(grpc.RpcError) as caught:
        watches(**fields).next()
    assert caught.value.code() == code
    assert bad_field in field_violations(caught.value)


def test_unknown_filter_node_is_not_found(watches):
    with pytest.raises(grpc.RpcError) as caught:
        watches(sku_ids=["PAD-1"], node_ids=["NOWHERE"]).next()
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_too_many_streams_is_resource_exhausted_until_one_ends(watches, server, monkeypatch):
    monkeypatch.setattr(limits, "WATCH_STREAMS_MAX", 2)
    first, second = watches(sku_ids=["PAD-1"]), watches(sku_ids=["OIL-1"])
    first.next(), second.next()
    with pytest.raises(grpc.RpcError) as caught:
        watches(sku_ids=["PAD-1"]).next()
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(caught.value)
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR))
    assert info.metadata["limit_name"] == "WATCH_STREAMS_MAX"
    first.cancel()
    wait_for(lambda: server.watches.watcher_count == 1)
    assert watches(sku_ids=["PAD-1"]).next().full_answer


def test_client_cancel_ends_the_watch_on_the_server(watches, server, channel):
    watch = watches(sku_ids=["PAD-1"])
    watch.next()
    assert server.watches.watcher_count == 1
    watch.cancel()
    wait_for(lambda: server.watches.watcher_count == 0)
    set_on_hand(channel, "PAD-1", "DC-1", 1)  # nobody watches: the writer goes on alone
    assert watches(sku_ids=["PAD-1"]).next().availability.items[0].available_quantity == 24


def test_watch_limits_are_within_the_rpc_limit():
    assert limits.WATCH_STREAMS_MAX < limits.CONCURRENT_RPCS_MAX
    assert limits.WATCH_SKUS_MAX <= limits.AVAILABILITY_SKUS_MAX


# ---- the replica's apply listener -----------------------------------------------------


def test_apply_listener_runs_once_per_batch_and_a_failing_one_does_not_stop_the_writer(caplog):
    replica = stocked_replica()
    calls = []

    def failing(log_position, records):
        raise RuntimeError("a listener bug")

    replica.add_apply_listener(failing)
    replica.add_apply_listener(lambda log_position, records: calls.append((log_position, len(records))))
    record = log_pb2.LogRecord(
        update_on_hand=log_pb2.UpdateOnHand(sku_ids=["PAD-1"], node_ids=["DC-1"], ops=[1], quantities=[5])
    )

    async def write_three_then_one():
        await replica.start()
        try:
            # Queued before the writer runs: one batch.
            batch = await asyncio.gather(*(replica.submit(record) for _ in range(3)))
            alone = await replica.submit(record)
            return batch, alone
        finally:
            await replica.stop()

    with caplog.at_level(logging.ERROR, logger="dompromise.replica.local"):
        batch, alone = asyncio.run(write_three_then_one())
    assert [outcome.log_position for outcome in batch] == [2, 3, 4]
    assert alone.log_position == 5
    assert calls == [(4, 3), (5, 1)]
    assert sum("apply listener" in message for message in caplog.messages) == 2


# ---- slow consumers and writers ------------------------------------------------------

UPDATES = 2_000
# The writer with a stalled watcher may be at most this many times slower than
# without one (measured about 1.0: the watcher costs the writer one journal take
# per batch; generous for a noisy shared machine).
WRITER_SLOWDOWN_MAX = 3.0


@pytest.mark.slow
def test_slow_consumer_gets_the_final_state_coalesced_and_does_not_slow_the_writer():
    # 500 nodes and the FULL view: each message is ~9 KB, so a client that does
    # not read fills its 64 KB window (BDP probing off: a fixed window) after a
    # few messages and the server's stream must coalesce.
    network = Network(
        nodes=tuple(Node(f"N{i:04d}", NodeType.STORE) for i in range(500)), skus=(Sku("PAD-1"), Sku("OIL-1"))
    )
    running = ServerThread(Engine(network))
    try:
        with grpc.insecure_channel(running.target, options=[("grpc.http2.bdp_probe", 0)]) as channel:
            stock = inventory_pb2_grpc.InventoryServiceStub(channel)

            def write_updates() -> float:
                started = time.perf_counter()
                for quantity in range(1, UPDATES + 1):
                    stock.UpdateStock(
                        inventory_pb2.UpdateStockRequest(
                            updates=[
                                inventory_pb2.StockUpdate(sku_id="PAD-1", node_id="N0000", kind=1, quantity=quantity)
                            ]
                        )
                    )
                return time.perf_counter() - started

            alone_seconds = write_updates()
            stream = availability_pb2_grpc.AvailabilityServiceStub(channel).WatchAvailability(
                pb.WatchAvailabilityRequest(sku_ids=["PAD-1"], view=pb.AVAILABILITY_VIEW_FULL)
            )
            assert next(stream).availability.items[0].node_available_quantities[0] == UPDATES
            watched_seconds = write_updates()  # nobody reads the stream meanwhile
            final_position = running.engine.log_position
            received, message = 0, None
            for message in stream:
                received += 1
                if message.version == final_position:
                    break
            stream.cancel()
        assert message is not None and message.version == final_position
        assert message.availability.items[0].node_available_quantities[0] == UPDATES
        assert message.availability.items[0].node_on_hand_quantities[0] == UPDATES
        assert received < UPDATES / 20, f"{received} messages for {UPDATES} updates: not coalesced"
        assert watched_seconds < WRITER_SLOWDOWN_MAX * alone_seconds, (watched_seconds, alone_seconds)
    finally:
        running.stop()


# ---- shutdown ------------------------------------------------------------------------


def test_graceful_shutdown_ends_open_watches_at_once():
    serving = Serving("--in-memory")
    try:
        with grpc.insecure_channel(serving.target) as channel:
            sku_id = (
                network_pb2_grpc.NetworkServiceStub(channel)
                .ListSkus(network_pb2.ListSkusRequest(page_size=1))
                .skus[0]
                .sku_id
            )
            watch = Watch(channel, pb.WatchAvailabilityRequest(sku_ids=[sku_id]))
            assert watch.next().full_answer
            started = time.monotonic()
            serving.process.send_signal(signal.SIGTERM)
            ended = watch.end(timeout=STOP_SECONDS_MAX)
            assert ended is not None and ended.code() == grpc.StatusCode.UNAVAILABLE
            assert "resume_after_version" in ended.details()
        assert serving.process.wait(STOP_SECONDS_MAX) == 0
        # The grace period is for unary RPCs: open watches must not hold the stop for it.
        assert time.monotonic() - started < server_module.SHUTDOWN_GRACE_SECONDS, serving.stderr_text()
    finally:
        if serving.process.poll() is None:
            serving.kill()


# ---- resume across a restart (real server processes) ------------------------------------


def first_sku(channel) -> tuple[str, str]:
    """The demo network's first SKU and the first node of its availability."""
    sku_id = (
        network_pb2_grpc.NetworkServiceStub(channel).ListSkus(network_pb2.ListSkusRequest(page_size=1)).skus[0].sku_id
    )
    answer = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
        pb.GetAvailabilityRequest(sku_ids=[sku_id])
    )
    return sku_id, answer.node_ids[0]


def write_until(channel, sku_id: str, node_id: str, quantity: int, position: int) -> int:
    """Sets the position's on hand to quantity, again and again, until the log is at least at `position`."""
    reached = 0
    while reached < position:
        reached = set_on_hand(channel, sku_id, node_id, quantity)
    return reached


def watch_once(target: str, **fields) -> Watch:
    channel = grpc.insecure_channel(target)
    watch = Watch(channel, pb.WatchAvailabilityRequest(**fields))
    watch.channel = channel
    return watch


@pytest.mark.slow
def test_resume_after_an_in_memory_restart_is_not_fooled_by_a_reused_version():
    # The restarted server's log starts again at 1: once it is back at the
    # client's version, that version names other state. The log id tells them apart.
    before = Serving("--in-memory")
    try:
        with grpc.insecure_channel(before.target) as channel:
            sku_id, node_id = first_sku(channel)
            watch = Watch(channel, pb.WatchAvailabilityRequest(sku_ids=[sku_id], node_ids=[node_id]))
            first = watch.next()
            version = write_until(channel, sku_id, node_id, 111, first.version + 3)
            last = watch.next()
            while last.version < version:
                last = watch.next()
            assert last.availability.items[0].node_available_quantities == [111]
            watch.cancel()
        assert before.stop() == 0
        after = Serving("--in-memory")
        try:
            with grpc.insecure_channel(after.target) as channel:
                assert write_until(channel, sku_id, node_id, 222, version) == version  # the same version, other state
                resumed = Watch(
                    channel,
                    pb.WatchAvailabilityRequest(
                        sku_ids=[sku_id],
                        node_ids=[node_id],
                        resume_after_version=last.version,
                        resume_log_id=last.log_id,
                    ),
                )
                full = resumed.next()
                assert full.full_answer and full.version == version
                assert full.log_id and full.log_id != last.log_id
                assert full.availability.items[0].node_available_quantities == [222]
                resumed.cancel()
                # An older client, without the log id, is taken at its word: nothing to send.
                unaware = Watch(
                    channel,
                    pb.WatchAvailabilityRequest(
                        sku_ids=[sku_id], node_ids=[node_id], resume_after_version=last.version
                    ),
                )
                unaware.assert_silent()
                unaware.cancel()
        finally:
            after.stop()
    finally:
        if before.process.poll() is None:
            before.kill()


@pytest.mark.slow
def test_resume_across_a_file_log_restart_keeps_the_log_id_until_the_log_is_wiped(tmp_path):
    data = tmp_path / "data"
    first_server = Serving("--data-dir", str(data))
    try:
        with grpc.insecure_channel(first_server.target) as channel:
            sku_id, node_id = first_sku(channel)
            watch = Watch(channel, pb.WatchAvailabilityRequest(sku_ids=[sku_id], node_ids=[node_id]))
            last = watch.next()
            watch.cancel()
    finally:
        assert first_server.stop() == 0
    restarted = Serving("--data-dir", str(data))
    try:
        with grpc.insecure_channel(restarted.target) as channel:
            resumed = Watch(
                channel,
                pb.WatchAvailabilityRequest(
                    sku_ids=[sku_id], node_ids=[node_id], resume_after_version=last.version, resume_log_id=last.log_id
                ),
            )
            resumed.assert_silent()  # same log, same position: nothing changed
            position = set_on_hand(channel, sku_id, node_id, 7)
            change = resumed.next()
            assert not change.full_answer and change.version == position == last.version + 1
            assert change.log_id == last.log_id
            resumed.cancel()
    finally:
        assert restarted.stop() == 0
    for path in data.iterdir():  # wipe the log: the next one is another
        path.unlink()
    wiped = Serving("--data-dir", str(data))
    try:
        with grpc.insecure_channel(wiped.target) as channel:
            full = Watch(
                channel,
                pb.WatchAvailabilityRequest(
                    sku_ids=[sku_id], node_ids=[node_id], resume_after_version=last.version, resume_log_id=last.log_id
                ),
            ).next()
            assert full.full_answer and full.log_id != last.log_id
    finally:
        assert wiped.stop() == 0
