"""SearchSkus follows the catalog as the log changes it: a SKU upserted is found, one changed is
found by its new words only, one retired is found no more, over gRPC against a real server process."""

from __future__ import annotations

import grpc
import pytest
from processes import STOP_SECONDS_MAX, Serving

from dompromise.v1 import network_pb2, network_pb2_grpc


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    serving = Serving("--data-dir", str(tmp_path_factory.mktemp("data")))
    channel = grpc.insecure_channel(serving.target)
    yield network_pb2_grpc.NetworkServiceStub(channel)
    channel.close()
    if serving.process.poll() is None:
        serving.process.kill()
        serving.process.wait(STOP_SECONDS_MAX)


def found(network, query: str) -> list[str]:
    answer = network.SearchSkus(network_pb2.SearchSkusRequest(query=query), timeout=10)
    return [sku.sku_id for sku in answer.skus]


def upsert(network, *skus: network_pb2.Sku) -> None:
    network.UpsertSkus(network_pb2.UpsertSkusRequest(skus=skus), timeout=10)


def test_an_upserted_sku_is_found_by_part_number_and_words(network):
    assert found(network, "wiper zebra") == []
    upsert(network, network_pb2.Sku(sku_id="WIP-ZBR-00001", description="Wiper blade, zebra pattern", brand="Acme"))
    assert found(network, "wip-zbr") == ["WIP-ZBR-00001"]
    assert found(network, "ZEBRA wip") == ["WIP-ZBR-00001"]
    assert found(network, "acme") == ["WIP-ZBR-00001"]


def test_a_changed_sku_is_found_by_its_new_words_only(network):
    upsert(network, network_pb2.Sku(sku_id="WIP-ZBR-00002", description="Wiper arm, quagga"))
    assert found(network, "quagga") == ["WIP-ZBR-00002"]
    upsert(network, network_pb2.Sku(sku_id="WIP-ZBR-00002", description="Wiper arm, okapi"))
    assert found(network, "quagga") == []
    assert found(network, "okapi") == ["WIP-ZBR-00002"]


def test_a_retired_sku_is_found_no_more_and_again_once_re_added(network):
    upsert(network, network_pb2.Sku(sku_id="WIP-ZBR-00003", description="Wiper motor, narwhal"))
    assert found(network, "narwhal") == ["WIP-ZBR-00003"]
    network.RetireSkus(network_pb2.RetireSkusRequest(sku_ids=["WIP-ZBR-00003"]), timeout=10)
    assert found(network, "narwhal") == []
    assert "WIP-ZBR-00003" not in found(network, "wip-zbr")
    upsert(network, network_pb2.Sku(sku_id="WIP-ZBR-00003", description="Wiper motor, narwhal"))
    assert found(network, "narwhal") == ["WIP-ZBR-00003"]


def test_the_count_of_matches_follows_too(network):
    before = network.SearchSkus(network_pb2.SearchSkusRequest(query="wiper"), timeout=10).total_size
    upsert(network, network_pb2.Sku(sku_id="WIP-ZBR-00004", description="Wiper linkage"))
    after = network.SearchSkus(network_pb2.SearchSkusRequest(query="wiper"), timeout=10).total_size
    assert after == before + 1
