"""PromiseDelivery written as wire bytes (dompromise/wire/promise.pyx) is its message, serialized, byte for byte.

Promiser.response_bytes against Promiser.response(...).SerializeToString() on the same answer, with tokens signed
by a fixed key, a fixed nonce and a fixed clock: random orders on the demo network and on the small scenario
network with random stock and future supply, then named cases (backorders, splits, pickup, zones, consolidation,
partial fills), and over a real server, where PromiseDelivery is served from the bytes.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import sys
from pathlib import Path

import grpc
import pytest
from conftest import ServerThread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dompromise import limits
from dompromise.demo import network as demo
from dompromise.errors import DompromiseError, NotFoundError
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.promise.answer import RowAnswer
from dompromise.promise.token import TokenSigner, random_nonce
from dompromise.promise.types import Candidate, Method, Option, PlannedLine, Shipment
from dompromise.replica.bootstrap import stock_records as demo_stock_records
from dompromise.replica.local import Replica
from dompromise.service import promise as service_promise
from dompromise.service.promise import Promiser
from dompromise.v1 import promise_pb2, promise_pb2_grpc
from dompromise.wire.promise import promise_response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "promise"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))
from scenario_network import NODES, SKUS, paris, stock_records, stocked_engine  # noqa: E402
from test_service_availability import field_violations  # noqa: E402

KEY = b"k" * 32
NONCE = "0123456789abcdef"
NOW_NS = paris(2026, 11, 24, 10, 0)  # Tuesday morning in Paris, inside the demo and scenario calendars
HOUR_NS = 3_600 * 10**9


def pinned_promiser(engine: Engine) -> Promiser:
    """Tokens from a fixed key, nonce and clock: two answers to one request are equal."""
    return Promiser(engine, TokenSigner(KEY, nonce=lambda: NONCE), lambda: NOW_NS)


@functools.cache
def demo_promiser() -> Promiser:
    network = demo.demo_network()
    replica = Replica(Engine(network), MemoryLog())
    replica.bootstrap(list(demo_stock_records(demo.demo_stock(network))))
    return pinned_promiser(replica.engine)


def both(promiser: Promiser, message: promise_pb2.PromiseDeliveryRequest) -> tuple[bytes, bytes]:
    """(the message path's bytes, the wire path's) for one request. The wire path as PromiseDeliveryBytes
    takes it (promise_rows: the options written from the kernel's rows when they all are) must write the same
    bytes as the encoder of the built answer: both are checked, the tokens included (a pinned nonce and
    clock), so the compiled signer of the rows' tokens signs what TokenBatch.sign_json signs."""
    request = promiser.request_of(message)
    answer = promiser.promise(request)
    written = promiser.response_bytes(request, answer)
    from_rows = promiser.response_bytes(request, promiser.promise_rows(request))
    assert from_rows == written
    return promiser.response(request, answer).SerializeToString(), written


def request(lines, as_of_ns: int = NOW_NS, **fields) -> promise_pb2.PromiseDeliveryRequest:
    message = promise_pb2.PromiseDeliveryRequest(
        lines=[promise_pb2.OrderLine(sku_id=sku, quantity=quantity) for sku, quantity in lines], **fields
    )
    message.as_of_time.FromNanoseconds(as_of_ns)
    return message


def assert_same(promiser: Promiser, message: promise_pb2.PromiseDeliveryRequest) -> promise_pb2.PromiseDeliveryResponse:
    expected, written = both(promiser, message)
    assert written == expected
    return promise_pb2.PromiseDeliveryResponse.FromString(written)


# ---- random orders ----------------------------------------------------------------------------

options = st.fixed_dictionaries(
    {
        "fill_policy": st.sampled_from([0, 1, 2, 3]),
        "sourcing_mode": st.sampled_from([0, 1, 2]),
        "max_shipments": st.integers(0, 3),
        "min_fill_percent": st.integers(0, 100),
        "max_options": st.integers(0, 6),
        "delivery_methods": st.lists(st.sampled_from([1, 2, 3]), max_size=2),
        "stock_on_hand_only": st.booleans(),
        "split_lines": st.booleans(),
        "customer": st.builds(promise_pb2.Customer, tier=st.sampled_from(["", "gold"])),
    }
)


@functools.cache
def demo_choices() -> tuple[list[str], list[str], list[str]]:
    network = demo_promiser().engine.network
    assert network.transport is not None
    zones = [zone.zone_id for zone in network.transport.zones]
    return [sku.sku_id for sku in network.skus], zones, [node.node_id for node in network.nodes]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), options, st.integers(0, 10 * 24))
def test_random_orders_on_the_demo_network_are_the_message_bytes(data, fields, hours):
    sku_ids, zones, nodes = demo_choices()
    lines = data.draw(st.lists(st.tuples(st.sampled_from(sku_ids), st.integers(1, 40)), min_size=1, max_size=12))
    destination = data.draw(
        st.one_of(
            st.fixed_dictionaries({"zone_id": st.sampled_from(zones)}),
            st.fixed_dictionaries({"postal_code": st.sampled_from(["59000", "69007", "75011", "13001"])}),
            st.fixed_dictionaries({"pickup_node_id": st.sampled_from(nodes)}),
        )
    )
    message = request(lines, NOW_NS + hours * HOUR_NS, **destination, **fields)
    try:
        assert_same(demo_promiser(), message)
    except DompromiseError:
        pass  # a refused request (no zone for that postal code...): the same refusal serves both paths


stock = st.dictionaries(st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES)), st.integers(0, 30), max_size=12)
supplies = st.lists(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES), st.integers(1, 30), st.integers(1, 40 * 24)), max_size=4
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stock,
    supplies,
    st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 25)), min_size=1, max_size=5),
    options,
    st.sampled_from([{"zone_id": "Z59"}, {"zone_id": "Z69"}, {"postal_code": "69003"}, {"pickup_node_id": "ST"}]),
)
def test_random_stock_and_supply_on_a_small_network_are_the_message_bytes(stock_, supplies_, lines, fields, where):
    rows = [
        (f"PO-{i}", sku, node, quantity, NOW_NS + hours * HOUR_NS)
        for i, (sku, node, quantity, hours) in enumerate(supplies_)
    ]
    promiser = pinned_promiser(stocked_engine({key: value for key, value in stock_.items() if value}, rows))
    assert_same(promiser, request(lines, **where, **fields))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), options, st.integers(1, 3))
def test_orders_asked_again_sign_their_tokens_as_the_message_path(data, base, kept):
    """The order's part of a token's payload is kept per order (Promiser._batch): asked again at a later clock,
    with one option, the lines or the destination changed, or after the kept ones were dropped
    (ORDER_TAILS_KEPT), every token is still the message path's (each signed from scratch), its expiry the
    clock's of that answer."""
    clock = [NOW_NS]
    promiser = Promiser(stocked_engine(SMALL_STOCK, ()), TokenSigner(KEY, nonce=lambda: NONCE), lambda: clock[0])
    original = service_promise.ORDER_TAILS_KEPT
    service_promise.ORDER_TAILS_KEPT = kept
    try:
        for _ in range(data.draw(st.integers(2, 10))):
            lines = data.draw(st.sampled_from([[("PAD", 2)], [("PAD", 3)], [("PAD", 2), ("OIL", 1)]]))
            where = data.draw(st.sampled_from([{"zone_id": "Z59"}, {"zone_id": "Z69"}, {"pickup_node_id": "ST"}]))
            # The base options with at most one field drawn again: asks that differ in that field alone.
            fields = dict(base)
            changed = data.draw(st.sampled_from([None, *sorted(base)]))
            if changed is not None:
                fields[changed] = data.draw(options)[changed]
            clock[0] = NOW_NS + data.draw(st.integers(0, 10**12))
            answer = assert_same(promiser, request(lines, **where, **fields))
            for option in answer.options:
                content = TokenSigner(KEY).verify(option.promise_token)
                assert content.expire_ns == clock[0] + limits.PROMISE_TOKEN_TTL_SECONDS * 10**9
            assert len(promiser._order_tails) <= kept
    finally:
        service_promise.ORDER_TAILS_KEPT = original


def test_an_order_of_more_lines_than_kept_is_signed_from_scratch_and_not_kept(monkeypatch):
    """An order of more than ORDER_TAIL_LINES_MAX lines has its part of the payload written each time, not kept
    (a cache of big orders would hold megabytes): its tokens are still the message path's."""
    monkeypatch.setattr(service_promise, "ORDER_TAIL_LINES_MAX", 1)
    promiser = Promiser(stocked_engine(SMALL_STOCK, ()), TokenSigner(KEY, nonce=lambda: NONCE), lambda: NOW_NS)
    for _ in range(2):
        answer = assert_same(promiser, request([("PAD", 2), ("OIL", 1)], zone_id="Z59"))
        assert answer.options, "the test needs tokens to compare"
    assert promiser._order_tails == {}
    assert_same(promiser, request([("PAD", 2)], zone_id="Z59"))
    assert len(promiser._order_tails) == 1


@pytest.mark.parametrize(
    "first, second",
    [
        ({"max_options": 1}, {"max_options": 3}),
        ({"min_fill_percent": 0}, {"min_fill_percent": 40}),
        ({"max_shipments": 1}, {"max_shipments": 2}),
        ({"fill_policy": 0}, {"fill_policy": 3}),
        ({"sourcing_mode": 0}, {"sourcing_mode": 2}),
        ({"delivery_methods": []}, {"delivery_methods": [1, 2, 3]}),
        ({"stock_on_hand_only": False}, {"stock_on_hand_only": True}),
        ({"split_lines": False}, {"split_lines": True}),
        ({}, {"customer": promise_pb2.Customer(tier="gold")}),
        ({"zone_id": "Z59"}, {"pickup_node_id": "DC"}),
        ({"zone_id": "Z59"}, {"zone_id": "Z69"}),
        ({"lines": [("PAD", 2)]}, {"lines": [("PAD", 3)]}),
        ({"lines": [("PAD", 2)]}, {"lines": [("OIL", 2)]}),
        ({"lines": [("PAD", 2), ("OIL", 1)]}, {"lines": [("OIL", 1), ("PAD", 2)]}),
    ],
)
def test_an_order_asked_again_with_one_field_changed_gets_that_fields_tokens(first, second):
    """The order's part of a token's payload is kept per order (Promiser._batch): two asks of the same lines
    that differ in one field each sign that field's tokens (the message path's, signed from scratch)."""
    promiser = small_promiser()
    for fields in (first, second, first):
        fields = {"zone_id": "Z59"} | fields
        answer = assert_same(promiser, request(fields.pop("lines", [("PAD", 2)]), **fields))
        assert answer.options


# ---- named cases ------------------------------------------------------------------------------

SMALL_STOCK = {("PAD", "WH"): 10, ("PAD", "DC"): 40, ("OIL", "DC"): 20, ("BULB", "SUP"): 50, ("DISC", "ST"): 3}


def small_promiser(supplies=()) -> Promiser:
    return pinned_promiser(stocked_engine(SMALL_STOCK, supplies))


def test_a_zone_order_from_stock_on_hand():
    answer = assert_same(small_promiser(), request([("PAD", 2)], zone_id="Z59", max_options=3))
    assert answer.options and answer.zone_id == "Z59"
    assert all(option.promise_token.startswith("v1.") for option in answer.options)


def test_a_postal_code_resolves_to_its_zone():
    assert assert_same(small_promiser(), request([("OIL", 1)], postal_code="69003")).zone_id == "Z69"


def test_postal_codes_resolve_the_same_when_asked_again():
    """The zone of a postal code is remembered, its absence too: NOT_FOUND every time."""
    promiser = small_promiser()
    for _ in range(3):
        assert assert_same(promiser, request([("OIL", 1)], postal_code="59800")).zone_id == "Z59"
        with pytest.raises(NotFoundError):
            promiser.request_of(request([("OIL", 1)], postal_code="99999"))


def test_a_backorder_from_future_supply_has_available_times():
    eta_ns = NOW_NS + 50 * HOUR_NS
    promiser = small_promiser([("PO-1", "RARE", "DC", 10, eta_ns)])
    answer = assert_same(promiser, request([("RARE", 4)], zone_id="Z59"))
    line = answer.options[0].shipments[0].lines[0]
    assert line.HasField("available_time") and line.available_time.ToNanoseconds() == eta_ns
    hold = promiser.signer.verify(answer.options[0].promise_token).holds[0]
    assert (hold.sku_id, hold.node_id, hold.quantity, hold.backorder_by_ns) == ("RARE", "DC", 4, eta_ns)


def test_a_split_over_two_nodes():
    message = request([("PAD", 2), ("BULB", 3)], zone_id="Z59", max_shipments=2, fill_policy=1)
    answer = assert_same(small_promiser(), message)
    assert any(len(option.shipments) == 2 for option in answer.options)


def test_partial_fills_list_short_lines():
    message = request([("PAD", 60)], zone_id="Z59", fill_policy=3, min_fill_percent=10)
    answer = assert_same(small_promiser(), message)
    assert answer.options and all(option.short_lines for option in answer.options)
    assert all(0 < option.fill_percent < 100 for option in answer.options)


def test_pickup_at_a_store():
    answer = assert_same(small_promiser(), request([("DISC", 2)], pickup_node_id="ST"))
    assert answer.options and answer.options[0].method == promise_pb2.DELIVERY_METHOD_PICKUP
    assert answer.zone_id == ""


def test_nothing_in_stock_answers_candidates_only():
    answer = assert_same(small_promiser(), request([("RARE", 1)], zone_id="Z59", stock_on_hand_only=True))
    assert not answer.options and len(answer.candidates) == len(NODES)


def test_the_demo_garage_order_of_ten_lines():
    lines = [("BRK-DSC-10627", 2), ("FLT-AIR-12011", 1), ("IGN-PLG-10867", 4), ("WIP-BLD-10837", 2)]
    message = request(lines, postal_code="59000", country_code="FR", max_options=6)
    answer = assert_same(demo_promiser(), message)
    assert answer.options[0].fill_percent == 100.0
    # Consolidated options (built in Python) ranked among kernel rows: the encoder writes both kinds in one answer.
    rows = demo_promiser().promise_rows(demo_promiser().request_of(message))
    assert isinstance(rows, RowAnswer)
    assert {type(entry) for entry in rows.kept} == {int, Option}


def test_the_usual_order_is_written_from_the_kernels_rows():
    """A one-node order (every option a kernel row): no Option built, the same bytes, tokens
    that verify with the holds the message path's tokens carry; with no option at all, candidates only."""
    promiser = small_promiser()
    message = request([("PAD", 2)], zone_id="Z59", max_options=3)
    request_ = promiser.request_of(message)
    rows = promiser.promise_rows(request_)
    assert rows.kept and all(isinstance(entry, int) for entry in rows.kept)
    expected = promiser.response(request_, promiser.promise(request_))
    written = promise_pb2.PromiseDeliveryResponse.FromString(promiser.response_bytes(request_, rows))
    assert written.SerializeToString() == expected.SerializeToString()
    holds = [promiser.signer.verify(option.promise_token).holds for option in written.options]
    assert holds == [promiser.signer.verify(option.promise_token).holds for option in expected.options]
    assert holds[0][0].node_id == written.options[0].shipments[0].node_id
    none = promiser.request_of(request([("RARE", 1)], zone_id="Z59", stock_on_hand_only=True))
    empty = promiser.promise_rows(none)
    assert empty.kept == []
    assert promiser.response_bytes(none, empty) == promiser.response(none, promiser.promise(none)).SerializeToString()


def test_long_messages_and_escaped_ids_are_encoded_as_protobuf_and_json_do():
    """Sub-messages over 127 bytes (two-byte lengths), negative and zero fields, an id json must escape."""
    odd = 'N"\\é-' + "x" * 200
    line = PlannedLine(odd, 3, -5 * 10**9 - 1, source_node_id="SRC", source_ready_ns=10**19 // 10)
    shipment = Shipment(odd, Method.SHIP, "s" * 300, (line,) * 3, 0, -1, None, -7, via_node_id="HUB")
    option = Option(Method.DROP_SHIP, (shipment,), -0.0, 10**18, 2**62, 0, -1.5, ((odd, 2), ("B", 0)))
    candidates = (Candidate(odd, 3, "d" * 1000), Candidate("", 0, ""))
    signed: list[str] = []

    def sign(holds_json: str) -> str:
        signed.append(holds_json)
        return "t" * 130

    written = promise_response((option, option), candidates, odd, -(10**9), -3, "é", sign)
    expected = promise_pb2.PromiseDeliveryResponse(zone_id=odd, log_position=-3)
    expected.as_of_time.seconds = -1
    for _ in range(2):
        added = expected.options.add(method=3, promise_token="t" * 130, currency="é", fill_percent=-0.0, score=-1.5)
        added.earliest_delivery_time.seconds = 10**9
        added.latest_delivery_time.FromNanoseconds(2**62)
        added.short_lines.add(sku_id=odd, quantity=2)
        added.short_lines.add(sku_id="B")
        planned = added.shipments.add(
            node_id=odd, method=1, carrier_service="s" * 300, via_node_id="HUB", cost_minor=-7
        )
        planned.earliest_delivery_time.seconds = 0
        planned.latest_delivery_time.FromNanoseconds(-1)
        for _ in range(3):
            planned.lines.add(sku_id=odd, quantity=3, source_node_id="SRC")
    for candidate in candidates:
        expected.candidates.add(node_id=candidate.node_id, reason=candidate.reason, detail=candidate.detail)
    assert written == expected.SerializeToString()
    json_odd = json.dumps(odd)
    assert json_odd.startswith('"N\\"\\\\\\u00e9-')
    assert signed == [",".join([f'[{json_odd},"SRC",3,{10**18}]'] * 3)] * 2


# ---- over gRPC --------------------------------------------------------------------------------


@pytest.fixture
def served():
    replica = Replica(Engine(stocked_engine(SMALL_STOCK).network), MemoryLog())
    replica.bootstrap(stock_records(SMALL_STOCK))
    running = ServerThread(replica, token_key=KEY)
    try:
        with grpc.insecure_channel(running.target) as channel:
            yield running, promise_pb2_grpc.PromiseServiceStub(channel)
    finally:
        running.stop()


def test_the_server_answers_promise_delivery_from_the_bytes(served):
    """Served by PromiseDeliveryBytes: the answer is the servicer's message (tokens aside, their nonce is
    random), its tokens verify, and the position rides in the trailing metadata as for any answer."""
    running, stub = served
    message = request([("PAD", 2), ("OIL", 1)], zone_id="Z59", max_shipments=2)
    answer, call = stub.PromiseDelivery.with_call(message, timeout=10)
    servicer = running.built.servicers["dompromise.v1.PromiseService"]
    expected = servicer._promiser.response(*_promised(servicer._promiser, message))
    assert answer.options and len(answer.options) == len(expected.options)
    signer = TokenSigner(KEY)
    for got, want in zip(answer.options, expected.options):
        assert signer.verify(got.promise_token).holds == signer.verify(want.promise_token).holds
        got.ClearField("promise_token")
        want.ClearField("promise_token")
    assert answer == expected
    metadata = dict(call.trailing_metadata())
    assert metadata["x-dompromise-position"] == str(answer.log_position)


def test_the_server_refuses_bad_requests_as_before(served):
    _, stub = served
    with pytest.raises(grpc.RpcError) as missing:
        stub.PromiseDelivery(request([("NOPE", 1)], zone_id="Z59"), timeout=10)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as bad:
        stub.PromiseDelivery(request([("PAD", 0)]), timeout=10)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(field_violations(bad.value)) == ["lines[0].quantity", "postal_code"]


def _promised(promiser: Promiser, message: promise_pb2.PromiseDeliveryRequest):
    request_ = promiser.request_of(message)
    return request_, promiser.promise(request_)


# ---- the tokens' payload ---------------------------------------------------------------------

ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=12)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(ids, ids, st.integers(0, 10**12), st.integers(0, 2**62)), max_size=4),
    st.lists(st.tuples(ids, st.integers(1, 10**9)), max_size=5),
    ids,
    ids,
    st.integers(0, 2**62),
    st.integers(0, 2**62),
    st.dictionaries(ids, st.one_of(st.integers(), st.booleans(), ids, st.lists(st.integers(), max_size=3))),
)
def test_a_token_payload_is_the_documents_compact_json(
    holds, order, zone_id, pickup_node_id, expire_ns, position, options
):
    """The payload written piecewise (the batch's tail once, each option's holds by the encoder or sign()) is
    json.dumps of the whole document, as tokens always were."""
    signer = TokenSigner(KEY, nonce=lambda: NONCE)
    skus, quantities = [sku for sku, _ in order], [quantity for _, quantity in order]
    token = signer.batch(expire_ns, position, skus, quantities, zone_id, pickup_node_id, options).sign(holds)
    document = {
        "h": [list(hold) for hold in holds],
        "n": NONCE,
        "e": expire_ns,
        "p": position,
        "o": [skus, quantities],
        "z": zone_id,
        "c": pickup_node_id,
        "q": options,
    }
    payload = token.split(".")[1]
    assert (
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        == json.dumps(document, separators=(",", ":")).encode()
    )
    content = signer.verify(token)
    assert [[h.sku_id, h.node_id, h.quantity, h.backorder_by_ns] for h in content.holds] == document["h"]


def test_nonces_are_distinct_and_a_forked_child_draws_its_own():
    drawn = [random_nonce() for _ in range(3 * 64)]
    assert len(set(drawn)) == len(drawn) and all(len(nonce) == 16 for nonce in drawn)
    int("".join(drawn), 16)  # hex
    random_nonce()  # the pool holds nonces (a fresh draw leaves 63): the child must not hand out the same
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next nonce, then out without running anything of pytest's
        os.write(write_end, random_nonce().encode())
        os._exit(0)
    os.close(write_end)
    assert os.waitpid(child, 0)[1] == 0
    with os.fdopen(read_end, "rb") as pipe:
        childs = pipe.read().decode()
    assert len(childs) == 16 and childs != random_nonce()
