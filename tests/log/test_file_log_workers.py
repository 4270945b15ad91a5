"""`dompromise serve --workers N` on the file log: worker 0 writes, the others follow its files (real processes).

Each test runs a real supervisor and real workers on one port (SO_REUSEPORT); a channel of its own
connection reaches one worker, named by `x-dompromise-worker` in every answer.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from processes import STOP_SECONDS_MAX, Serving, dompromise, socket_inodes, until

from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2, inventory_pb2_grpc

NODE = "DC-NAT"
# A channel of its own connection (grpc shares subchannels between channels by default).
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]
# Channels opened at most to find one that reaches a given worker.
CHANNELS_MAX = 64
INVENTORY = "dompromise.v1.InventoryService"

pytestmark = pytest.mark.slow


@pytest.fixture
def supervisors():
    """`serve --workers` parents; at the end whatever still runs is killed, workers first."""
    started: list[Serving] = []
    yield started
    for serving in started:
        pids = children(serving.process.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if serving.process.poll() is None:
            serving.process.kill()
            serving.process.wait(STOP_SECONDS_MAX)


def children(pid: int) -> set[int]:
    """Live child processes of `pid` (from /proc)."""
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(name))
    return found


def worker_pid(serving: Serving, index: int) -> int | None:
    """The pid of worker `index` (its command line says --worker-index), None while there is none."""
    for pid in children(serving.process.pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as source:
                argv = source.read().split(b"\0")
        except OSError:
            continue
        if b"--worker-index" in argv and argv[argv.index(b"--worker-index") + 1] == str(index).encode():
            return pid
    return None


def answering_worker(channel: grpc.Channel) -> int:
    _, call = health_pb2_grpc.HealthStub(channel).Check.with_call(health_pb2.HealthCheckRequest(), timeout=10)
    return int(dict(call.trailing_metadata())["x-dompromise-worker"])


def channels_to(target: str, count: int) -> dict[int, grpc.Channel]:
    """One channel (a connection of its own) to each of workers 0 .. count - 1."""
    found: dict[int, grpc.Channel] = {}
    for _ in range(CHANNELS_MAX):
        channel = grpc.insecure_channel(target, options=OWN_CONNECTION)
        worker = answering_worker(channel)
        if worker in found:
            channel.close()
        else:
            found[worker] = channel
        if len(found) == count:
            return found
    for channel in found.values():
        channel.close()
    raise AssertionError(f"{CHANNELS_MAX} connections reached only workers {sorted(found)}")


def demo_skus(count: int) -> list[str]:
    from dompromise.demo import network as demo

    return [sku.sku_id for sku in demo.demo_network().skus[:count]]


def set_on_hand(channel: grpc.Channel, sku: str, quantity: int) -> tuple[int, dict[str, str]]:
    """(the write's log position, its answer's trailing metadata)."""
    response, call = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock.with_call(
        inventory_pb2.UpdateStockRequest(
            updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id=NODE, kind=1, quantity=quantity)]
        ),
        timeout=10,
    )
    return response.log_position, dict(call.trailing_metadata())


def on_hand(channel: grpc.Channel, sku: str, metadata: tuple[tuple[str, str], ...] = ()) -> int:
    response = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
        availability_pb2.GetAvailabilityRequest(sku_ids=[sku], node_ids=[NODE], view=2), metadata=metadata, timeout=10
    )
    return response.items[0].node_on_hand_quantities[0]


def health_of(channel: grpc.Channel, service: str) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_writes_through_any_worker_are_read_on_every_other_with_min_position(tmp_path, supervisors):
    serving = Serving("--data-dir", str(tmp_path / "data"), "--workers", "3")
    supervisors.append(serving)
    channels = channels_to(serving.target, 3)
    try:
        skus = demo_skus(6)
        for round_number, (writer, reader) in enumerate([(1, 2), (2, 1), (0, 2), (1, 0)]):
            sku, quantity = skus[round_number], 100 + round_number
            position, metadata = set_on_hand(channels[writer], sku, quantity)
            assert metadata["x-dompromise-worker"] == str(writer)
            assert int(metadata["x-dompromise-position"]) == position > 0
            # The writing worker answers after it applied its write: read-your-writes on its own connection.
            assert on_hand(channels[writer], sku) == quantity
            # Another worker, asked for at least that position (and log id), has it too.
            log_id = metadata["x-dompromise-log-id"]
            wanted = (("x-dompromise-min-position", str(position)), ("x-dompromise-log-id", log_id))
            assert on_hand(channels[reader], sku, wanted) == quantity, (writer, reader)
        # Every worker answers with the same log id.
        ids = {set_on_hand(channel, skus[5], 7)[1]["x-dompromise-log-id"] for channel in channels.values()}
        assert len(ids) == 1
    finally:
        for channel in channels.values():
            channel.close()
    assert serving.stop() == 0
    assert not children(serving.process.pid)


def test_a_readers_watch_stream_sees_changes_written_through_another_worker(tmp_path, supervisors):
    serving = Serving("--data-dir", str(tmp_path / "data"), "--workers", "2")
    supervisors.append(serving)
    channels = channels_to(serving.target, 2)
    sku = demo_skus(1)[0]
    seen: list[int] = []
    first = threading.Event()
    changed = threading.Event()
    stream = availability_pb2_grpc.AvailabilityServiceStub(channels[1]).WatchAvailability(
        availability_pb2.WatchAvailabilityRequest(sku_ids=[sku], node_ids=[NODE], view=2), timeout=30
    )

    def watch() -> None:
        try:
            for answer in stream:
                if answer.availability.items:
                    seen.append(answer.availability.items[0].node_on_hand_quantities[0])
                    (changed if first.is_set() else first).set()
        except grpc.RpcError:
            pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert first.wait(10), "no first answer on the reader's watch"
        set_on_hand(channels[0], sku, 4321)
        assert changed.wait(10), f"the reader's watch saw no change: {seen}"
        assert seen[-1] == 4321
    finally:
        stream.cancel()
        watcher.join(10)
        for channel in channels.values():
            channel.close()
    assert serving.stop() == 0


def test_sigkill_the_writer_reads_go_on_writes_unavailable_then_back_and_nothing_lost(tmp_path, supervisors):
    serving = Serving("--data-dir", str(tmp_path / "data"), "--workers", "2")
    supervisors.append(serving)
    channels = channels_to(serving.target, 2)
    reader = channels[1]
    skus = demo_skus(12)
    accepted = {}
    try:
        for index, sku in enumerate(skus[:6]):
            set_on_hand(channels[index % 2], sku, 10 + index)
            accepted[sku] = 10 + index
        writer_pid = worker_pid(serving, 0)
        assert writer_pid is not None
        os.kill(writer_pid, signal.SIGKILL)
        # The reader notices at once (its link to the writer drops): writes refused, said by health.
        until(lambda: health_of(reader, INVENTORY) == health_pb2.HealthCheckResponse.NOT_SERVING, "NOT_SERVING")
        assert health_of(reader, "") == health_pb2.HealthCheckResponse.SERVING  # reads are served
        refused = 0
        for sku in skus[6:9]:
            assert on_hand(reader, sku) >= 0  # reads go on
            try:
                set_on_hand(reader, sku, 999)
                accepted[sku] = 999  # the writer may be back already
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                assert "writer" in error.details()
                refused += 1
        assert refused >= 1, "no write was refused while the writer was down"
        for sku, quantity in accepted.items():
            assert on_hand(reader, sku) == quantity
        # The supervisor restarts the writer; writes through the reader work again.
        serving_again = health_pb2.HealthCheckResponse.SERVING
        until(
            lambda: worker_pid(serving, 0) not in (None, writer_pid) and health_of(reader, INVENTORY) == serving_again,
            "the writer back",
        )
        for index, sku in enumerate(skus[9:]):
            set_on_hand(reader, sku, 50 + index)
            accepted[sku] = 50 + index
        # No accepted write lost, on the reader or on the new writer.
        fresh = channels_to(serving.target, 2)
        try:
            for sku, quantity in accepted.items():
                assert on_hand(reader, sku) == quantity, sku
                assert on_hand(fresh[0], sku) == quantity, sku
        finally:
            for channel in fresh.values():
                channel.close()
    finally:
        for channel in channels.values():
            channel.close()
    assert serving.stop() == 0
    assert not children(serving.process.pid)


def test_workers_refuse_the_memory_log():
    result = dompromise("serve", "--port", "0", "--in-memory", "--workers", "2")
    assert result.returncode == 2
    assert "--in-memory" in result.stderr


def test_readers_follow_rotation_and_compaction_and_a_killed_reader_catches_up(tmp_path, supervisors):
    # A snapshot (rotation, then compaction of the segments below it) every 5 records.
    data = tmp_path / "data"
    serving = Serving("--data-dir", str(data), "--workers", "2", "--snapshot-every", "5")
    supervisors.append(serving)
    channels = channels_to(serving.target, 2)
    skus = demo_skus(40)
    try:
        for index, sku in enumerate(skus[:30]):
            position, _ = set_on_hand(channels[index % 2], sku, 1000 + index)
            assert on_hand(channels[(index + 1) % 2], sku, (("x-dompromise-min-position", str(position)),)) == (
                1000 + index
            )
        segments = [name for name in os.listdir(data) if name.startswith("commands-")]
        assert len(segments) <= 3, segments  # compacted as it went
        reader_pid = worker_pid(serving, 1)
        assert reader_pid is not None
        os.kill(reader_pid, signal.SIGKILL)
        for index, sku in enumerate(skus[30:]):  # meanwhile new connections reach worker 0
            until(lambda sku=sku, index=index: _set_on_hand_once(serving.target, sku, 2000 + index), f"{sku} set")
        until(lambda: worker_pid(serving, 1) not in (None, reader_pid), "the reader restarted")
        fresh = until(lambda: _reaching(serving.target, 1), "a connection to the restarted reader")
        try:
            for index, sku in enumerate(skus):
                expected = 1000 + index if index < 30 else 2000 + index - 30
                assert on_hand(fresh, sku) == expected, sku
        finally:
            fresh.close()
    finally:
        for channel in channels.values():
            channel.close()
    assert serving.stop() == 0


def _reaching(target: str, worker: int) -> grpc.Channel | None:
    try:
        return channels_to(target, 2)[worker]
    except (AssertionError, grpc.RpcError):
        return None


def _set_on_hand_once(target: str, sku: str, quantity: int) -> bool:
    """One try on a new connection: one the kernel queued at the killed worker is reset."""
    with grpc.insecure_channel(target, options=OWN_CONNECTION) as channel:
        try:
            set_on_hand(channel, sku, quantity)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            return False
    return True


def test_writes_in_flight_through_a_reader_when_the_writer_dies_none_acknowledged_is_lost(tmp_path, supervisors):
    serving = Serving("--data-dir", str(tmp_path / "data"), "--workers", "2")
    supervisors.append(serving)
    channels = channels_to(serving.target, 2)
    reader = channels[1]
    skus = demo_skus(400)
    acknowledged: dict[str, int] = {}
    refused: list[str] = []
    killed = threading.Event()
    stop = threading.Event()

    def write_on() -> None:
        for index, sku in enumerate(skus):
            if stop.is_set():
                return
            try:
                set_on_hand(reader, sku, index + 1)
                acknowledged[sku] = index + 1
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                refused.append(error.details())
            if killed.is_set() and len(acknowledged) >= 60 and refused:
                return

    writer_pid = worker_pid(serving, 0)
    assert writer_pid is not None
    thread = threading.Thread(target=write_on)
    thread.start()
    try:
        until(lambda: len(acknowledged) >= 20, "writes acknowledged before the kill")
        os.kill(writer_pid, signal.SIGKILL)
        killed.set()
        thread.join(60)
        assert not thread.is_alive()
        assert refused, "no write was refused while the writer was down"
        assert all("writer" in reason for reason in refused), refused
        fresh = until(lambda: _reaching(serving.target, 0), "a connection to the restarted writer")
        try:
            for sku, quantity in acknowledged.items():
                assert on_hand(reader, sku) == quantity, sku
                assert on_hand(fresh, sku) == quantity, sku
        finally:
            fresh.close()
    finally:
        stop.set()
        thread.join(10)
        for channel in channels.values():
            channel.close()
    assert serving.stop() == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening_inodes(port: int) -> set[str]:
    """Socket inodes in LISTEN state on `port` (from /proc/net/tcp and tcp6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    inodes.add(fields[9])
    return inodes


def http_on_hand(port: int, sku: str, min_position: int | None = None) -> int:
    """On-hand at NODE over HTTP/JSON, on a connection of its own."""
    headers = {} if min_position is None else {"x-dompromise-min-position": str(min_position)}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "GET", f"/v1/availability?sku_ids={sku}&node_ids={NODE}&view=AVAILABILITY_VIEW_FULL", headers=headers
        )
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 200, (answer.status, body)
    finally:
        connection.close()
    items = json.loads(body)["items"]
    return int(items[0]["nodeOnHandQuantities"][0])


def test_every_worker_serves_the_http_port_and_reads_there_see_writes_made_anywhere(tmp_path, supervisors):
    port = free_port()
    serving = Serving("--data-dir", str(tmp_path / "data"), "--workers", "2", "--http-port", str(port))
    supervisors.append(serving)
    # Both workers listen on the one HTTP port (SO_REUSEPORT), each with a socket of its own.
    listening = listening_inodes(port)
    for index in (0, 1):
        pid = worker_pid(serving, index)
        assert pid is not None
        assert socket_inodes(pid) & listening, f"worker {index} does not listen on the HTTP port"
    channels = channels_to(serving.target, 2)
    try:
        sku = demo_skus(1)[0]
        position, _ = set_on_hand(channels[1], sku, 41)  # through the reader: forwarded to the writer
        # Any connection, whichever worker takes it, answers at least that position when asked to.
        for _ in range(8):
            assert http_on_hand(port, sku, position) == 41
        # A killed reader: new HTTP connections go to the worker still listening.
        reader = worker_pid(serving, 1)
        assert reader is not None
        os.kill(reader, signal.SIGKILL)
        # Until the supervisor reaped it: a dying process drops its memory (and its command line) first, and its
        # sockets only once its last thread exited; a connection queued on its listening socket meanwhile is
        # reset (docs/operations.md).
        until(lambda: not os.path.exists(f"/proc/{reader}"), "the killed reader to be reaped")
        for _ in range(8):
            assert http_on_hand(port, sku) == 41
    finally:
        for channel in channels.values():
            channel.close()
    assert serving.stop() == 0
