"""Several `dompromise serve --redis` processes over one real redis-server: one order, one state."""

from __future__ import annotations

import signal
import threading
import time

import grpc
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from processes import Serving, dompromise, until
from redis_server import free_port, needs_redis_server

from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    inventory_pb2,
    inventory_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

NODE = "DC-NAT"
HOUR = duration_pb2.Duration(seconds=3600)

pytestmark = needs_redis_server


def demo_skus(count: int) -> list[str]:
    from dompromise.demo import network as demo

    return [sku.sku_id for sku in demo.demo_network().skus[:count]]


def serve(instances: list, redis_url: str, *args: str) -> Serving:
    serving = Serving("--redis", redis_url, *args)
    instances.append(serving)
    return serving


def set_on_hand(target: str, sku: str, quantity: int, node: str = NODE) -> int:
    with grpc.insecure_channel(target) as channel:
        response = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
            inventory_pb2.UpdateStockRequest(
                updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id=node, kind=1, quantity=quantity)]
            )
        )
    return response.log_position


def availability(target: str, skus: list[str], nodes=(NODE,)) -> availability_pb2.GetAvailabilityResponse:
    with grpc.insecure_channel(target) as channel:
        return availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
            availability_pb2.GetAvailabilityRequest(
                sku_ids=skus, node_ids=list(nodes), view=availability_pb2.AVAILABILITY_VIEW_FULL
            ),
            timeout=10,
        )


def on_hand_at(target: str, sku: str) -> int:
    return availability(target, [sku]).items[0].node_on_hand_quantities[0]


def reserve_request(request_id: str, sku: str, quantity: int = 1) -> reservation_pb2.ReserveInventoryRequest:
    return reservation_pb2.ReserveInventoryRequest(
        request_id=request_id,
        customer_id="redis-test",
        ttl=HOUR,
        lines=[reservation_pb2.ReservationLine(sku_id=sku, node_id=NODE, quantity=quantity)],
    )


def held_reservations(target: str) -> set[str]:
    found, token = set(), ""
    with grpc.insecure_channel(target) as channel:
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        while True:
            page = stub.ListReservations(
                reservation_pb2.ListReservationsRequest(customer_id="redis-test", page_size=1000, page_token=token)
            )
            found |= {r.reservation_id for r in page.reservations if r.state == reservation_pb2.RESERVATION_STATE_HELD}
            token = page.next_page_token
            if not token:
                return found


def same_state(targets: list[str], skus: list[str]) -> bytes:
    """Waits until every instance is at one log position, then returns the common FULL view of `skus`."""
    from dompromise.demo import network as demo

    nodes = [node.node_id for node in demo.demo_network().nodes]

    def agreed():
        answers = [availability(t, skus, nodes) for t in targets]
        if len({a.log_position for a in answers}) != 1:
            return None
        return answers

    answers = until(agreed, "every instance at one log position")
    views = {a.SerializeToString(deterministic=True) for a in answers}
    assert len(views) == 1, "instances at one log position disagree on state"
    return views.pop()


def test_two_instances_race_for_the_last_units(redis_server, instances):
    """Clients on two instances race for k units, many rounds: exactly k win in total each round."""
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    clients, units, rounds = 12, 5, 10
    skus = demo_skus(rounds)
    channels = [grpc.insecure_channel((first, second)[i % 2].target) for i in range(clients)]
    stubs = [reservation_pb2_grpc.ReservationServiceStub(c) for c in channels]
    try:
        for round_number, sku in enumerate(skus):
            set_on_hand(first.target, sku, units)
            until(lambda sku=sku: on_hand_at(second.target, sku) == units, "B sees the stock A set")
            barrier = threading.Barrier(clients)
            winners, answered = [], []

            def race(index, barrier=barrier, round_number=round_number, sku=sku, winners=winners, answered=answered):
                barrier.wait()
                response = stubs[index].ReserveInventory(
                    reserve_request(f"race-{round_number}-{index}", sku), timeout=10
                )
                answered.append(index)
                if response.HasField("reservation"):
                    winners.append(response.reservation.reservation_id)

            threads = [threading.Thread(target=race, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert len(answered) == clients
            assert len(winners) == units, f"round {round_number}: {len(winners)} winners for {units} units"
            assert len(set(winners)) == units
        same_state([first.target, second.target], skus)
    finally:
        for channel in channels:
            channel.close()


def test_a_write_on_one_instance_is_visible_on_the_other(redis_server, instances):
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    lags = []
    for quantity in range(1000, 1050):
        started = time.perf_counter()
        position = set_on_hand(first.target, sku, quantity)
        until(
            lambda position=position: availability(second.target, [sku]).log_position >= position,
            "B reaches A's write",
            5,
        )
        lags.append(time.perf_counter() - started)
        assert on_hand_at(second.target, sku) == quantity
    lags.sort()
    print(
        f"write on A -> visible on B (incl. the write and polling RPCs): median {lags[len(lags) // 2] * 1e3:.1f} ms, "
        f"max {lags[-1] * 1e3:.1f} ms"
    )


def test_a_late_instance_catches_up_from_a_snapshot_and_agrees(redis_server, instances):
    first = serve(instances, redis_server.url, "--snapshot-every", "40")
    second = serve(instances, redis_server.url, "--snapshot-every", "40")
    skus = demo_skus(30)
    for index, sku in enumerate(skus):
        set_on_hand((first, second)[index % 2].target, sku, 100 + index)
    with grpc.insecure_channel(first.target) as a, grpc.insecure_channel(second.target) as b:
        stubs = [reservation_pb2_grpc.ReservationServiceStub(c) for c in (a, b)]
        for index in range(120):
            stubs[index % 2].ReserveInventory(reserve_request(f"late-{index}", skus[index % len(skus)], 1 + index % 3))
    import redis

    client = redis.Redis(port=redis_server.port)
    snapshots = client.zrange("dompromise:snapshots", 0, -1)
    assert snapshots, "no snapshot was stored"
    first_entry = client.xrange("dompromise:log", count=1)[0][0]
    client.close()
    assert int(first_entry.split(b"-")[0]) > 1, "the stream was never trimmed below the snapshots"
    late = serve(instances, redis_server.url)
    assert "loaded Redis snapshot" in late.stderr_text()
    targets = [first.target, second.target, late.target]
    same_state(targets, demo_skus(3000))
    assert held_reservations(first.target) == held_reservations(late.target)


def test_redis_down_refuses_writes_serves_reads_and_recovers(redis_server, instances):
    serving = serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    set_on_hand(serving.target, sku, 77)
    redis_server.kill()
    with grpc.insecure_channel(serving.target) as channel:
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)

        def refused():
            try:
                reservations.ReserveInventory(reserve_request("down-1", sku), timeout=5)
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                return True
            return False

        until(refused, "a write refused with UNAVAILABLE", 10)
        assert on_hand_at(serving.target, sku) == 77  # reads go on from the local replica
        write_service = health_pb2.HealthCheckRequest(service="dompromise.v1.ReservationService")
        until(
            lambda: health.Check(write_service).status == health_pb2.HealthCheckResponse.NOT_SERVING,
            "ReservationService NOT_SERVING while Redis is down",
            5,
        )
        assert health.Check(health_pb2.HealthCheckRequest(service="")).status == health_pb2.HealthCheckResponse.SERVING

        redis_server.start()

        def accepted():
            try:
                return reservations.ReserveInventory(reserve_request("down-2", sku), timeout=5)
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                return None

        response = until(accepted, "writes accepted again after Redis returned")
        assert response.HasField("reservation")
        until(
            lambda: health.Check(write_service).status == health_pb2.HealthCheckResponse.SERVING,
            "ReservationService SERVING again",
            5,
        )
    assert availability(serving.target, [sku]).items[0].node_held_quantities[0] >= 1


def test_redis_sigkilled_under_load_loses_and_doubles_no_acknowledged_reservation(redis_server, instances):
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    set_on_hand(first.target, sku, 10**9)
    acknowledged: dict[str, str] = {}
    refused = [0]
    stop = threading.Event()

    def client(number: int) -> None:
        target = (first, second)[number % 2].target
        with grpc.insecure_channel(target) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            for sent in range(100_000):
                if stop.is_set():
                    return
                request_id = f"kill-{number}-{sent}"
                try:
                    response = stub.ReserveInventory(reserve_request(request_id, sku), timeout=5)
                except grpc.RpcError as error:
                    assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                    refused[0] += 1
                    time.sleep(0.01)
                    continue
                acknowledged[request_id] = response.reservation.reservation_id

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    before_kill = len(acknowledged)
    redis_server.kill()
    time.sleep(0.5)
    redis_server.start()
    until(lambda: len(acknowledged) > before_kill + 20, "reservations acknowledged again after the restart")
    stop.set()
    for thread in threads:
        thread.join(30)
    assert before_kill > 50, "the load did not get going"
    assert refused[0] > 0, "Redis was killed yet no write was refused"
    state = same_state([first.target, second.target], [sku])
    assert state
    for target in (first.target, second.target):
        found = held_reservations(target)
        # Every acknowledged hold is there; refused writes may or may not be (their outcome is unknown).
        assert set(acknowledged.values()) <= found
        assert len(found) - len(acknowledged) <= refused[0]
        # Held stock is exactly the sum of the holds: nothing doubled.
        assert availability(target, [sku]).items[0].node_held_quantities[0] == len(found)
    # A retry of an acknowledged request returns its first result, on either instance.
    some_request, some_reservation = next(iter(acknowledged.items()))
    with grpc.insecure_channel(second.target) as channel:
        retried = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
            reserve_request(some_request, sku)
        )
    assert retried.reservation.reservation_id == some_reservation


def test_an_instance_the_stream_was_trimmed_past_resyncs_from_a_snapshot(redis_server, instances):
    first = serve(instances, redis_server.url, "--snapshot-every", "20")
    second = serve(instances, redis_server.url, "--snapshot-every", "20")
    skus = demo_skus(100)
    set_on_hand(first.target, skus[0], 1)
    until(lambda: on_hand_at(second.target, skus[0]) == 1, "B follows A")
    second.process.send_signal(signal.SIGSTOP)
    try:
        for index, sku in enumerate(skus):
            set_on_hand(first.target, sku, 500 + index)
        import redis

        client = redis.Redis(port=redis_server.port)
        try:
            until(lambda: len(client.zrange("dompromise:snapshots", 0, -1)) == 2, "two snapshots stored", 10)
            first_position = int(client.xrange("dompromise:log", count=1)[0][0].split(b"-")[0])
        finally:
            client.close()
        assert first_position > 10, "the stream was not trimmed past the stopped instance"
    finally:
        second.process.send_signal(signal.SIGCONT)
    same_state([first.target, second.target], skus)
    assert "resync" in second.stderr_text()


def test_serve_refuses_to_start_without_redis():
    result = dompromise("serve", "--port", "0", "--redis", f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
