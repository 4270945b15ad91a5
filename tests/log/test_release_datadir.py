"""The data directory this release wrote (tests/data/datadir-v1, made by scripts/make_release_datadir.py) opens
with the current code and answers what it answered then. Later releases keep this test: an upgrade must read
its predecessor's data directory (docs/operations.md, "Upgrades")."""

from __future__ import annotations

import json
import pathlib
import shutil

import grpc
from processes import Serving, dompromise

from dompromise.log.frames import SEGMENT_FORMAT_VERSION
from dompromise.log.snapshot import FORMAT_VERSION
from dompromise.v1 import availability_pb2, availability_pb2_grpc, reservation_pb2, reservation_pb2_grpc

RELEASE_DIR = pathlib.Path(__file__).resolve().parent.parent / "data" / "datadir-v1"


def test_the_checked_in_data_dir_verifies_offline():
    result = dompromise("log", "verify", str(RELEASE_DIR))
    assert result.returncode == 0, result.stdout
    assert "snapshot-00000000000000000006.npz: ok" in result.stdout


def test_this_release_reads_the_formats_the_checked_in_dir_was_written_in():
    expected = json.loads((RELEASE_DIR / "expected.json").read_text())
    assert SEGMENT_FORMAT_VERSION >= expected["segment_format_version"]
    assert FORMAT_VERSION >= expected["snapshot_format_version"]


def test_the_checked_in_data_dir_serves_its_reservations_and_stock(tmp_path):
    expected = json.loads((RELEASE_DIR / "expected.json").read_text())
    data = tmp_path / "data"
    shutil.copytree(RELEASE_DIR, data)  # serving writes (a lock, a snapshot on stop): never into the checked-in copy
    server = Serving("--config", str(data / "network.yaml"), "--data-dir", str(data))
    try:
        with grpc.insecure_channel(server.target) as channel:
            reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
            for request_id, reservation_id in expected["reservation_ids"].items():
                found = reservations.GetReservation(
                    reservation_pb2.GetReservationRequest(reservation_id=reservation_id)
                ).reservation
                state = reservation_pb2.ReservationState.Name(found.state)
                assert state == f"RESERVATION_STATE_{expected['states'][request_id]}", request_id
                assert found.order_id == expected["order_ids"].get(request_id, found.order_id)
            availability = availability_pb2_grpc.AvailabilityServiceStub(channel)
            for key, (on_hand, held, allocated) in expected["positions"].items():
                sku, node = key.split("@")
                item = availability.GetAvailability(
                    availability_pb2.GetAvailabilityRequest(
                        sku_ids=[sku], node_ids=[node], view=availability_pb2.AVAILABILITY_VIEW_FULL
                    )
                ).items[0]
                figures = (
                    item.node_on_hand_quantities[0],
                    item.node_held_quantities[0],
                    item.node_allocated_quantities[0],
                )
                assert figures == (on_hand, held, allocated), key
    finally:
        assert server.stop() == 0
