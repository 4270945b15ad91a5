"""The command line as a person uses it: real processes, real sockets, SIGTERM."""

from __future__ import annotations

import pytest
from processes import STOP_SECONDS_MAX, Serving, dompromise


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    serving = Serving("--data-dir", str(tmp_path_factory.mktemp("data")))
    yield serving
    if serving.process.poll() is None:
        serving.process.kill()
        serving.process.wait(STOP_SECONDS_MAX)


def first_demo_skus(count: int) -> list[str]:
    from dompromise.demo import network as demo

    network = demo.demo_network()
    return [sku.sku_id for sku in network.skus[:count]]


def test_health_reports_serving(demo_server):
    result = dompromise("health", "--target", demo_server.target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SERVING"


def test_lookup_prints_a_table_per_sku(demo_server):
    skus = first_demo_skus(2)
    result = dompromise("lookup", *skus, "--target", demo_server.target)
    assert result.returncode == 0, result.stderr
    for sku in skus:
        assert sku in result.stdout
    assert "available:" in result.stdout
    assert "DC-NAT" in result.stdout


def test_lookup_of_unknown_sku_says_so_and_exits_1(demo_server):
    result = dompromise("lookup", "NO-SUCH-PART", "--target", demo_server.target)
    assert result.returncode == 1
    assert "NO-SUCH-PART: not found" in result.stdout


def test_lookup_with_unknown_node_filter_is_an_error(demo_server):
    result = dompromise("lookup", first_demo_skus(1)[0], "--node", "NOWHERE", "--target", demo_server.target)
    assert result.returncode == 2
    assert "NOT_FOUND" in result.stderr


def test_lookup_without_a_server_fails_clearly():
    result = dompromise("lookup", "X", "--target", "127.0.0.1:1", "--timeout", "1")
    assert result.returncode == 2
    assert "UNAVAILABLE" in result.stderr or "DEADLINE_EXCEEDED" in result.stderr


def test_sigterm_stops_cleanly(tmp_path):
    serving = Serving("--data-dir", str(tmp_path / "data"))
    assert dompromise("health", "--target", serving.target).returncode == 0
    assert serving.stop() == 0
    assert "stopped" in serving.stderr_text()


def test_serve_with_config_and_stock(tmp_path):
    assert dompromise("demo-config", str(tmp_path)).returncode == 0
    serving = Serving(
        "--config",
        str(tmp_path / "network.yaml"),
        "--stock",
        str(tmp_path / "stock.csv"),
        "--data-dir",
        str(tmp_path / "data"),
    )
    try:
        result = dompromise("lookup", first_demo_skus(1)[0], "--target", serving.target)
        assert result.returncode == 0, result.stderr
    finally:
        assert serving.stop() == 0


def test_bad_config_refuses_to_start_naming_file_line_field(tmp_path):
    config = tmp_path / "network.yaml"
    config.write_text("version: 1\nnodes:\n  - id: DC-1\n    type: spaceship\nskus:\n  - id: PAD-1\n")
    result = dompromise("serve", "--port", "0", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert f"{config}:4:" in result.stderr
    assert "nodes[0].type" in result.stderr


def test_bad_stock_file_refuses_to_start(tmp_path):
    assert dompromise("demo-config", str(tmp_path)).returncode == 0
    stock = tmp_path / "bad.csv"
    sku = first_demo_skus(1)[0]
    stock.write_text(f"sku_id,node_id,on_hand_quantity\n{sku},DC-NAT,-5\n")
    result = dompromise(
        "serve",
        "--port",
        "0",
        "--config",
        str(tmp_path / "network.yaml"),
        "--stock",
        str(stock),
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert result.returncode == 2
    assert f"{stock}:2:" in result.stderr


def test_missing_config_file_refuses_to_start(tmp_path):
    result = dompromise("serve", "--port", "0", "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr


def test_port_in_use_is_reported(demo_server, tmp_path):
    port = demo_server.target.rsplit(":", 1)[1]
    result = dompromise("serve", "--port", port, "--data-dir", str(tmp_path / "d"), timeout=30)
    assert result.returncode == 2
    assert "cannot serve" in result.stderr


def test_restart_keeps_state_and_does_not_load_the_stock_twice(tmp_path):
    import grpc

    from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

    sku = first_demo_skus(1)[0]
    data = str(tmp_path / "data")
    for restart in range(3):
        serving = Serving("--data-dir", data)
        try:
            with grpc.insecure_channel(serving.target) as channel:
                response = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
                    inventory_pb2.UpdateStockRequest(
                        updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id="DC-NAT", kind=2, quantity=1)]
                    )
                )
        finally:
            exit_code = serving.stop()
        # Position 1 states every node's status, the demo stock is 2-3 (13,131 rows in records
        # of 10,000), then one delta per run.
        assert response.results[0].status == 1
        assert response.log_position == 3 + restart + 1
        assert exit_code == 0


def test_sigterm_at_once_after_ready_is_still_graceful(tmp_path):
    serving = Serving("--data-dir", str(tmp_path / "data"))
    assert serving.stop() == 0


def test_load_streams_a_csv_and_reports_bad_rows_by_line(demo_server, tmp_path):
    skus = first_demo_skus(3)
    path = tmp_path / "stock.csv"
    path.write_text(
        "sku_id,node_id,on_hand_quantity\n"
        f"{skus[0]},DC-NAT,1234\n"
        f"{skus[1]},DC-NAT,-5\n"
        f"NO-SUCH-SKU,DC-NAT,1\n"
        f"{skus[2]},DC-NAT,77\n"
    )
    result = dompromise("load", str(path), "--target", demo_server.target, "--quiet")
    assert result.returncode == 1, result.stderr
    assert f"{path}:3: on_hand_quantity:" in result.stderr
    assert f"{path}:4: sku_id: unknown SKU 'NO-SUCH-SKU'" in result.stderr
    assert "loaded 2 rows" in result.stdout
    lookup = dompromise("lookup", skus[0], "--target", demo_server.target, "--node", "DC-NAT")
    assert "1,234" in lookup.stdout


def test_load_all_or_nothing_loads_nothing_from_a_bad_file(demo_server, tmp_path):
    sku = first_demo_skus(1)[0]
    path = tmp_path / "stock.csv"
    path.write_text(f"sku_id,node_id,on_hand_quantity\n{sku},DC-NAT,999999\n{sku},NOWHERE,1\n")
    result = dompromise("load", str(path), "--target", demo_server.target, "--all-or-nothing", "--quiet")
    assert result.returncode == 2
    assert "rows[1].node_id" in result.stderr
    assert "999,999" not in dompromise("lookup", sku, "--target", demo_server.target).stdout


def test_a_promise_token_survives_a_restart_with_a_token_key_file(tmp_path):
    import grpc

    from dompromise.v1 import promise_pb2, promise_pb2_grpc, reservation_pb2, reservation_pb2_grpc

    key = tmp_path / "token.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef\n")
    data = str(tmp_path / "data")
    sku = first_demo_skus(1)[0]
    first = Serving("--data-dir", data, "--token-key-file", str(key))
    try:
        with grpc.insecure_channel(first.target) as channel:
            answer = promise_pb2_grpc.PromiseServiceStub(channel).PromiseDelivery(
                promise_pb2.PromiseDeliveryRequest(
                    lines=[promise_pb2.OrderLine(sku_id=sku, quantity=1)], postal_code="59000", country_code="FR"
                )
            )
    finally:
        assert first.stop() == 0
    token = answer.options[0].promise_token
    second = Serving("--data-dir", data, "--token-key-file", str(key))
    try:
        with grpc.insecure_channel(second.target) as channel:
            held = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
                reservation_pb2.ReserveInventoryRequest(request_id="after-restart", promise_token=token)
            )
    finally:
        assert second.stop() == 0
    assert held.reservation.reservation_id and held.reservation.lines[0].sku_id == sku


def test_a_short_token_key_refuses_to_start(tmp_path):
    key = tmp_path / "short.key"
    key.write_bytes(b"too short")
    result = dompromise("serve", "--in-memory", "--port", "0", "--token-key-file", str(key))
    assert result.returncode == 2
    assert "--token-key-file" in result.stderr and "32" in result.stderr
