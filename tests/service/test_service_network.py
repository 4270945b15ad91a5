"""NetworkService reads over a real socket."""

from __future__ import annotations

import grpc
import pytest
from test_service_availability import field_violations

from dompromise.v1 import common_pb2, network_pb2_grpc
from dompromise.v1 import network_pb2 as pb


@pytest.fixture
def stub(channel):
    return network_pb2_grpc.NetworkServiceStub(channel)


def test_get_node_carries_config(stub):
    node = stub.GetNode(pb.GetNodeRequest(node_id="DC-1")).node
    assert node.type == common_pb2.NODE_TYPE_DISTRIBUTION_CENTER
    assert node.status == common_pb2.NODE_STATUS_ENABLED
    assert node.timezone == "Europe/Paris"
    assert node.location.postal_code == "69007"
    assert list(node.tags) == ["national"]


def test_get_unknown_node_and_sku_are_not_found(stub):
    for call, request in ((stub.GetNode, pb.GetNodeRequest(node_id="X")), (stub.GetSku, pb.GetSkuRequest(sku_id="X"))):
        with pytest.raises(grpc.RpcError) as caught:
            call(request)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_get_with_empty_id_is_invalid(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetNode(pb.GetNodeRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"node_id"}


def test_get_sku_carries_units_and_packs(stub):
    sku = stub.GetSku(pb.GetSkuRequest(sku_id="CABLE-1")).sku
    assert sku.base_unit == common_pb2.BASE_UNIT_MILLIMETRE
    assert [(p.name, p.base_unit_count) for p in sku.pack_sizes] == [("metre", 1000)]


def test_list_nodes_pages_through_everything_once(stub):
    seen, token = [], ""
    while True:
        page = stub.ListNodes(pb.ListNodesRequest(page_size=2, page_token=token))
        assert page.total_size == 5
        seen += [n.node_id for n in page.nodes]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["DC-1", "WH-N", "ST-1", "ST-2", "SUP-1"]


def test_list_nodes_filters_by_type_and_tag(stub):
    stores = stub.ListNodes(pb.ListNodesRequest(type=common_pb2.NODE_TYPE_STORE))
    assert [n.node_id for n in stores.nodes] == ["ST-1", "ST-2"]
    north = stub.ListNodes(pb.ListNodesRequest(tag="north"))
    assert [n.node_id for n in north.nodes] == ["WH-N", "ST-1"]


def test_page_token_of_another_listing_is_rejected(stub):
    token = stub.ListNodes(pb.ListNodesRequest(page_size=1)).next_page_token
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListNodes(pb.ListNodesRequest(page_size=1, page_token=token, tag="north"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in field_violations(caught.value)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListSkus(pb.ListSkusRequest(page_token="garbage!"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_skus(stub):
    page = stub.ListSkus(pb.ListSkusRequest(page_size=3))
    assert [s.sku_id for s in page.skus] == ["PAD-1", "CABLE-1", "OIL-1"]
    assert page.total_size == 4
    rest = stub.ListSkus(pb.ListSkusRequest(page_size=3, page_token=page.next_page_token))
    assert [s.sku_id for s in rest.skus] == ["GREASE-1"]
    assert rest.next_page_token == ""


def test_hostile_page_tokens_are_invalid_argument(stub):
    import base64

    for payload in (b'{"o": 1e999, "s": "skus"}', b'{"o": true, "s": "skus"}', b"[" * 100_000):
        token = base64.urlsafe_b64encode(payload).decode()
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListSkus(pb.ListSkusRequest(page_token=token))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_ids_must_be_printable_without_spaces(stub):
    for bad in ("DC 1", "DC\x00", "tab\there"):
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetNode(pb.GetNodeRequest(node_id=bad))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_set_node_status_takes_effect_at_once(channel):
    from dompromise.v1 import availability_pb2, availability_pb2_grpc

    stub = network_pb2_grpc.NetworkServiceStub(channel)
    availability = availability_pb2_grpc.AvailabilityServiceStub(channel)

    def selling():
        return list(availability.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])).node_ids)

    assert "WH-N" in selling()
    changed = stub.SetNodeStatus(
        pb.SetNodeStatusRequest(node_id="WH-N", status=common_pb2.NODE_STATUS_DISABLED, request_id="close-wh")
    )
    assert changed.node.status == common_pb2.NODE_STATUS_DISABLED
    assert "WH-N" not in selling()
    assert stub.GetNode(pb.GetNodeRequest(node_id="WH-N")).node.status == common_pb2.NODE_STATUS_DISABLED
    stub.SetNodeStatus(pb.SetNodeStatusRequest(node_id="WH-N", status=common_pb2.NODE_STATUS_ENABLED))
    assert "WH-N" in selling()


def test_set_node_status_bad_input(channel):
    stub = network_pb2_grpc.NetworkServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.SetNodeStatus(pb.SetNodeStatusRequest(node_id="WH-N"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        stub.SetNodeStatus(pb.SetNodeStatusRequest(node_id="NOPE", status=1))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
