"""Numbers shared by the core, the domain model and the protos stay equal."""

from __future__ import annotations

from dompromise import _core, limits
from dompromise.model import network as model
from dompromise.v1 import common_pb2, inventory_pb2


def test_item_status_numbers_match_proto():
    for name, number in _core.ITEM_STATUS.items():
        assert common_pb2.ItemStatus.Value(f"ITEM_STATUS_{name}") == number
    proto_names = {n for n in common_pb2.ItemStatus.keys() if n != "ITEM_STATUS_UNSPECIFIED"}
    assert proto_names == {f"ITEM_STATUS_{n}" for n in _core.ITEM_STATUS}


def test_on_hand_ops_match_stock_update_kind():
    for name, number in _core.ON_HAND_OP.items():
        assert inventory_pb2.StockUpdateKind.Value(f"STOCK_UPDATE_KIND_{name}_ON_HAND") == number


def test_node_status_matches_core_model_and_proto():
    for name, number in _core.NODE_STATUS.items():
        assert model.NodeStatus[name] == number
        assert common_pb2.NodeStatus.Value(f"NODE_STATUS_{name}") == number


def test_model_enums_match_proto():
    pairs = [(model.NodeType, common_pb2.NodeType, "NODE_TYPE_"), (model.BaseUnit, common_pb2.BaseUnit, "BASE_UNIT_")]
    for model_enum, proto_enum, prefix in pairs:
        for member in model_enum:
            assert proto_enum.Value(prefix + member.name) == member.value
        assert len(proto_enum.keys()) == len(model_enum) + 1  # + UNSPECIFIED


def test_core_quantity_max_is_the_limit():
    assert _core.QUANTITY_MAX == limits.QUANTITY_MAX
    assert _core.FEED_SOURCES_MAX == limits.FEED_SOURCES_MAX


def test_reservation_states_match_proto():
    from dompromise.v1 import reservation_pb2

    for name, number in _core.RESERVATION_STATE.items():
        assert reservation_pb2.ReservationState.Value(f"RESERVATION_STATE_{name}") == number
    assert len(reservation_pb2.ReservationState.keys()) == len(_core.RESERVATION_STATE) + 1


def test_return_dispositions_match_proto():
    for name, number in _core.RETURN_DISPOSITION.items():
        assert inventory_pb2.ReturnDisposition.Value(f"RETURN_DISPOSITION_{name}") == number


def test_unavailable_reasons_match_proto():
    for name, number in _core.UNAVAILABLE_REASON.items():
        assert common_pb2.UnavailableReason.Value(f"UNAVAILABLE_REASON_{name}") == number
    assert len(common_pb2.UnavailableReason.keys()) == len(_core.UNAVAILABLE_REASON) + 1


def test_candidate_reasons_match_proto():
    from dompromise.promise.types import Reason
    from dompromise.v1 import promise_pb2

    for reason in Reason:
        assert promise_pb2.CandidateReason.Value(f"CANDIDATE_REASON_{reason.name}") == reason.value
    assert len(promise_pb2.CandidateReason.keys()) == len(Reason) + 1
