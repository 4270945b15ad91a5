"""WatchReservationEvents across a lost history: real redis-server, two `dompromise serve --redis` processes.

Redis is restored from an older copy of its AOF (test_log_epoch.py does the same for WatchAvailability): the
positions of the lost records are reused under a new log id. A reservation-event stream open through the loss
goes on with events under the new id; a client resuming with a version of the lost history (and its log id)
starts from now instead of getting events of another history as if they followed it.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time

import grpc
from processes import until
from redis_server import needs_redis_server
from test_log_epoch import AOF_DIRECTORY, ARRIVAL_SECONDS_MAX, write
from test_redis_instances import NODE, demo_skus, serve

from dompromise.service.consistency import LOG_ID_KEY
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    common_pb2,
    network_pb2,
    network_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

pytestmark = needs_redis_server
NODE_GONE = reservation_pb2.RESERVATION_EVENT_TYPE_NODE_UNAVAILABLE


class Events:
    """A WatchReservationEvents stream read by a thread into a queue of messages."""

    def __init__(self, target: str, **fields):
        self.channel = grpc.insecure_channel(target)
        self.call = reservation_pb2_grpc.ReservationServiceStub(self.channel).WatchReservationEvents(
            reservation_pb2.WatchReservationEventsRequest(**fields)
        )
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.3)  # the server registers the stream before the writes it should see

    def _read(self) -> None:
        try:
            for message in self.call:
                self.messages.put(message)
        except grpc.RpcError as error:
            self.messages.put(error)

    def next(self, timeout: float = ARRIVAL_SECONDS_MAX) -> reservation_pb2.WatchReservationEventsResponse:
        message = self.messages.get(timeout=timeout)
        assert not isinstance(message, grpc.RpcError), message
        return message

    def nothing_for(self, seconds: float) -> bool:
        try:
            self.messages.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.call.cancel()
        self.channel.close()


def answered_log_id(target: str, sku: str) -> str:
    """The log id an instance answers a read with ("" while it cannot answer); NODE may be drained."""
    try:
        with grpc.insecure_channel(target) as channel:
            _, call = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability.with_call(
                availability_pb2.GetAvailabilityRequest(sku_ids=[sku]), timeout=10
            )
        return dict(call.trailing_metadata())[LOG_ID_KEY]
    except grpc.RpcError:
        return ""


def hold(target: str, sku: str) -> str:
    with grpc.insecure_channel(target) as channel:
        return (
            reservation_pb2_grpc.ReservationServiceStub(channel)
            .ReserveInventory(
                reservation_pb2.ReserveInventoryRequest(
                    request_id=f"hold-{time.time_ns()}",
                    lines=[reservation_pb2.ReservationLine(sku_id=sku, node_id=NODE, quantity=1)],
                ),
                timeout=10,
            )
            .reservation.reservation_id
        )


def set_status(target: str, status: int) -> None:
    """Sets NODE's status, retried while the instance refuses writes (its tail reconnecting to Redis)."""

    def attempt() -> bool:
        try:
            with grpc.insecure_channel(target) as channel:
                network_pb2_grpc.NetworkServiceStub(channel).SetNodeStatus(
                    network_pb2.SetNodeStatusRequest(
                        node_id=NODE, status=status, request_id=f"status-{time.time_ns()}"
                    ),
                    timeout=10,
                )
            return True
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            time.sleep(0.05)
            return False

    until(attempt, "the instance writes again")


def test_reservation_events_never_cross_a_lost_history(redis_server, instances):
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    _, old_id = write(first.target, sku, 100)
    held = hold(first.target, sku)
    until(lambda: answered_log_id(second.target, sku) == old_id, "B serves the log")
    backup = os.path.join(redis_server.directory, "backup")
    shutil.copytree(os.path.join(redis_server.directory, AOF_DIRECTORY), backup)
    events = Events(second.target)
    try:
        set_status(first.target, common_pb2.NODE_STATUS_DRAIN)  # acknowledged, then lost with the restore
        lost = events.next()
        assert lost.log_id == old_id and [(e.type, e.reservation_id, e.log_id) for e in lost.events] == [
            (NODE_GONE, held, old_id)
        ]

        redis_server.kill()
        shutil.rmtree(os.path.join(redis_server.directory, AOF_DIRECTORY))
        shutil.copytree(backup, os.path.join(redis_server.directory, AOF_DIRECTORY))
        redis_server.start()
        new_id = until(
            lambda: (
                (answered_log_id(first.target, sku) == answered_log_id(second.target, sku) != old_id)
                and answered_log_id(first.target, sku)
            ),
            "both instances on a new log id",
        )

        # The hold is from before the backup: draining again (in the new history) flags it, under the new id.
        set_status(first.target, common_pb2.NODE_STATUS_DRAIN)
        again = events.next()
        assert again.log_id == new_id and [(e.type, e.reservation_id, e.log_id) for e in again.events] == [
            (NODE_GONE, held, new_id)
        ]
    finally:
        events.close()

    # A client resuming from the lost event, with its log id: from now, nothing of the new history replayed
    # as if it followed its version; the next event comes under the new id.
    resumed = Events(second.target, resume_after_version=lost.events[0].version, resume_log_id=old_id)
    try:
        assert resumed.nothing_for(1.0)
        set_status(first.target, common_pb2.NODE_STATUS_ENABLED)
        set_status(first.target, common_pb2.NODE_STATUS_DISABLED)
        fresh = resumed.next()
        assert fresh.log_id == new_id and fresh.events[0].reservation_id == held
    finally:
        resumed.close()
