"""Each C enum of the core reaches Python as an IntEnum and as a dict of the same names and numbers."""

from __future__ import annotations

import enum

import pytest

from dompromise import _core
from dompromise.model import network

VIEWS: list[tuple[type[enum.IntEnum], dict[str, int]]] = [
    (_core.ItemStatus, _core.ITEM_STATUS),
    (_core.CommandKind, _core.COMMAND_KIND),
    (_core.UnavailableReason, _core.UNAVAILABLE_REASON),
    (_core.SafetyStockScope, _core.SAFETY_STOCK_SCOPE),
    (_core.SupplyKind, _core.SUPPLY_KIND),
    (_core.ReturnDisposition, _core.RETURN_DISPOSITION),
    (_core.ReservationState, _core.RESERVATION_STATE),
    (_core.CommandResult, _core.COMMAND_RESULT),
    (_core.OnHandOp, _core.ON_HAND_OP),
    (_core.NodeStatus, _core.NODE_STATUS),
]


@pytest.mark.parametrize(("view", "table"), VIEWS, ids=[view.__name__ for view, _ in VIEWS])
def test_the_int_enum_and_the_dict_agree(view, table):
    assert {member.name: member.value for member in view} == table
    # The dicts keep plain ints, as before the IntEnums: no caller sees a new type.
    assert {type(number) for number in table.values()} == {int}


def test_commands_accept_members_as_numbers():
    core = _core.Core(1, 1)
    command = _core.Command(_core.CommandKind.UPDATE_ON_HAND, 1, [0], [0], [3], [_core.OnHandOp.SET])
    core.apply(command)
    assert command.status.tolist() == [_core.ItemStatus.OK]
    assert int(core.bucket_array("on_hand")[0, 0]) == 3


def test_node_status_is_the_models():
    assert {member.name: member.value for member in _core.NodeStatus} == {
        member.name: member.value for member in network.NodeStatus
    }
