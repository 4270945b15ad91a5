"""`dompromise lookup` as a person at a parts counter uses it, against a real server process:
partial and case-insensitive part numbers and description words, delivery options to a postal
code with the winning node and why a quantity cannot be met, disabled nodes under --all-nodes."""

from __future__ import annotations

import collections

import grpc
import pytest
from processes import STOP_SECONDS_MAX, Serving, dompromise

from dompromise.demo import network as demo
from dompromise.v1 import common_pb2, network_pb2, network_pb2_grpc


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    serving = Serving("--data-dir", str(tmp_path_factory.mktemp("data")))
    yield serving
    if serving.process.poll() is None:
        serving.process.kill()
        serving.process.wait(STOP_SECONDS_MAX)


def lookup(server: Serving, *args: str):
    return dompromise("lookup", *args, "--target", server.target)


def unique_number() -> tuple[str, str]:
    """(the number part of a demo part number no other part number has, its SKU's id)."""
    skus = demo.demo_network().skus
    numbers = collections.Counter(sku.sku_id.rsplit("-", 1)[-1] for sku in skus)
    sku = next(s for s in skus if numbers[s.sku_id.rsplit("-", 1)[-1]] == 1)
    return sku.sku_id.rsplit("-", 1)[-1], sku.sku_id


def test_a_part_number_in_lower_case_is_found(server):
    sku_id = demo.demo_network().skus[0].sku_id
    result = lookup(server, sku_id.lower())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(sku_id), result.stdout
    assert "available:" in result.stdout


def test_part_of_a_part_number_naming_one_sku_is_looked_up(server):
    number, sku_id = unique_number()
    result = lookup(server, number)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(sku_id) and "available:" in result.stdout


def test_description_words_naming_several_skus_list_the_matches(server):
    result = lookup(server, "STARTER batt")
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith("STARTER batt: ") and "matches" in first, result.stdout
    listed = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.startswith("  ") and "-" in line]
    catalog = {sku.sku_id: sku for sku in demo.demo_network().skus}
    assert listed and all("starter battery" in catalog[sku_id].description.lower() for sku_id in listed), listed
    assert "available:" not in result.stdout


def test_nothing_matching_says_not_found(server):
    result = lookup(server, "zzqqxx")
    assert result.returncode == 1
    assert "zzqqxx: not found" in result.stdout


def test_delivery_options_with_edts_and_the_winning_node(server):
    sku_id = demo.demo_network().skus[0].sku_id
    result = lookup(server, sku_id, "--deliver-to", "69003", "--country", "fr", "--quantity", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    assert f"{sku_id}: delivery of 2 to 69003 FR" in text, text
    options = [line for line in text.splitlines() if line.strip().startswith("1. ")]
    assert options and "EDT " in options[0] and " from " in options[0], text
    winner = next(line for line in text.splitlines() if "winning node:" in line).split(":", 1)[1].strip()
    node_ids = {node.node_id for node in demo.demo_network().nodes}
    assert winner in node_ids, winner
    assert f"from {winner}" in options[0]


def test_a_quantity_that_cannot_be_met_says_why_per_node(server):
    sku_id = demo.demo_network().skus[0].sku_id
    result = lookup(server, sku_id, "--deliver-to", "69003", "--country", "FR", "--quantity", "900000000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no delivery option: 900,000,000 cannot be met" in result.stdout, result.stdout
    reasons = result.stdout.split("why other nodes lost:", 1)[1]
    assert "DC-NAT" in reasons and "short" in reasons, reasons


def test_an_unknown_postal_code_is_an_error_naming_it(server):
    sku_id = demo.demo_network().skus[0].sku_id
    result = lookup(server, sku_id, "--deliver-to", "XX-0000", "--country", "ZZ")
    assert result.returncode == 2
    assert "NOT_FOUND" in result.stderr and "postal" in result.stderr


def test_all_nodes_shows_a_disabled_node_marked(server):
    sku_id = demo.demo_network().skus[0].sku_id
    with grpc.insecure_channel(server.target) as channel:
        network_pb2_grpc.NetworkServiceStub(channel).SetNodeStatus(
            network_pb2.SetNodeStatusRequest(node_id="ST-LILLE", status=common_pb2.NODE_STATUS_DISABLED), timeout=10
        )
    plain = lookup(server, sku_id)
    assert "ST-LILLE" not in plain.stdout
    result = lookup(server, sku_id, "--all-nodes")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "ST-LILLE" in line)
    assert "[DISABLED]" in row and " - " in row, row
    enabled = next(line for line in result.stdout.splitlines() if line.strip().startswith("DC-NAT"))
    assert "DISABLED" not in enabled
