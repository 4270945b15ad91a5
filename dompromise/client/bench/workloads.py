"""What the load driver sends: request mixes built from the server's own catalogue.

The catalogue (SKUs, enabled nodes, stocked positions) is read from the
server through NetworkService and AvailabilityService, so the driver works
against any network, not only the demo one.

Operation kinds:
  availability  GetAvailability of random SKUs (basic view: every node's quantity)
  promise       PromiseDelivery of one random SKU to a node's postal code (those the
                server promises to, probed once before the run)
  reserve       ReserveInventory of one line, then CommitReservation or
                ReleaseReservation of the hold; every call has its own request_id.
                With --contended K: one line of one of K hot SKUs at one node, and the
                hold is kept (no commit or release) so units reserved can be checked
                against the stock afterwards.

An RPC the server answers with an error (UNIMPLEMENTED, RESOURCE_EXHAUSTED,
DEADLINE_EXCEEDED...) is counted under its status code name; nothing is faked.
A reserve the server answers OK without a hold (not enough stock) is a
business outcome, counted as `short`, not an error.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, TypeVar

from dompromise.client.channel import ChannelSecurity
from dompromise.errors import DompromiseError

if TYPE_CHECKING:  # at run time grpc and the stubs load where a request is built, not with this module
    import grpc
    import grpc.aio

KINDS = ("availability", "promise", "reserve")
_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
# Stocked positions are looked for in a sample of this many SKUs...
POSITION_SAMPLE_SKUS = 1_000
# ... and a position qualifies for the reserve kind with at least this much available.
POSITION_AVAILABLE_MIN = 20
# The catalogue read stops after this many SKUs (a network may have millions).
CATALOGUE_SKUS_MAX = 200_000
PAGE_SIZE = 1_000
SETUP_TIMEOUT_SECONDS = 30
# Holds of a contended run outlive any run, so the read-back counts every one.
CONTENDED_TTL_SECONDS = 3_600
# Destinations (node postal codes) probed with one PromiseDelivery each before a run.
PROMISE_DESTINATIONS_PROBED_MAX = 50


# The ReserveInventory method, called with request bytes written ahead (contended runs).
RESERVE_METHOD = "/dompromise.v1.ReservationService/ReserveInventory"
# ReserveInventoryRequest.request_id: field 1, length-delimited (tag byte (1 << 3) | 2).
_REQUEST_ID_TAG = b"\x0a"


class WorkloadError(DompromiseError):
    """The workload cannot run against this server (say why, plainly)."""


def parse_mix(text: str) -> dict[str, int]:
    """'availability=80,promise=15,reserve=5' (weights, any total) or a single 'reserve'."""
    mix: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            raise ValueError(f"unknown kind {name!r} in --mix (known: {', '.join(KINDS)})")
        try:
            value = int(weight) if weight else 100
        except ValueError:
            raise ValueError(f"weight of {name!r} must be an integer, not {weight!r}") from None
        if value < 0:
            raise ValueError(f"weight of {name!r} must be >= 0")
        mix[name] = mix.get(name, 0) + value
    if not mix or sum(mix.values()) == 0:
        raise ValueError("--mix needs at least one kind with a weight > 0")
    return {name: weight for name, weight in mix.items() if weight > 0}


@dataclass(frozen=True)
class Plan:
    """Everything a client process needs to build requests (picklable, sent to each process)."""

    target: str
    run_id: str
    mix: dict[str, int]
    sku_ids: list[str]
    destinations: list[str]  # postal codes to promise to
    positions: list[tuple[str, str]] = field(default_factory=list)  # (sku, node) with stock, for reserve
    hot_sku_ids: list[str] = field(default_factory=list)  # contended: the hot SKUs...
    hot_node_id: str = ""  # ... at this node
    availability_skus: int = 1
    quantity: int = 1
    commit_percent: int = 50
    ttl_seconds: int = 60
    timeout_seconds: float = 10.0
    security: ChannelSecurity = field(default_factory=ChannelSecurity)

    @property
    def contended(self) -> bool:
        return bool(self.hot_sku_ids)


# ---- the catalogue and the contended set-up (parent process, blocking gRPC) ---------------------


def read_catalogue(
    channel: grpc.Channel, seed: int, need_positions: bool
) -> tuple[list[str], list[str], list[str], list[tuple[str, str]]]:
    """SKU ids, enabled node ids, their postal codes, and stocked positions (if asked)."""
    from dompromise.v1 import availability_pb2, availability_pb2_grpc, common_pb2, network_pb2, network_pb2_grpc

    network = network_pb2_grpc.NetworkServiceStub(channel)
    sku_ids: list[str] = []
    token = ""
    while len(sku_ids) < CATALOGUE_SKUS_MAX:
        page: network_pb2.ListSkusResponse = network.ListSkus(
            network_pb2.ListSkusRequest(page_size=PAGE_SIZE, page_token=token), timeout=SETUP_TIMEOUT_SECONDS
        )
        sku_ids += [sku.sku_id for sku in page.skus]
        token = page.next_page_token
        if not token:
            break
    nodes: list[network_pb2.Node] = []
    token = ""
    while True:
        node_page: network_pb2.ListNodesResponse = network.ListNodes(
            network_pb2.ListNodesRequest(page_size=PAGE_SIZE, page_token=token), timeout=SETUP_TIMEOUT_SECONDS
        )
        nodes += list(node_page.nodes)
        token = node_page.next_page_token
        if not token:
            break
    enabled = [node for node in nodes if node.status == common_pb2.NODE_STATUS_ENABLED]
    if not sku_ids or not enabled:
        raise WorkloadError(f"the server has {len(sku_ids)} SKUs and {len(enabled)} enabled nodes: nothing to load")
    destinations = sorted({node.location.postal_code for node in enabled if node.location.postal_code}) or ["00000"]
    positions: list[tuple[str, str]] = []
    if need_positions:
        rng = random.Random(seed)
        sample = rng.sample(sku_ids, min(POSITION_SAMPLE_SKUS, len(sku_ids)))
        answer: availability_pb2.GetAvailabilityResponse = availability_pb2_grpc.AvailabilityServiceStub(
            channel
        ).GetAvailability(
            availability_pb2.GetAvailabilityRequest(sku_ids=sample, view=availability_pb2.AVAILABILITY_VIEW_BASIC),
            timeout=SETUP_TIMEOUT_SECONDS,
        )
        for item in answer.items:
            positions += [
                (item.sku_id, node_id)
                for node_id, available in zip(answer.node_ids, item.node_available_quantities)
                if available >= POSITION_AVAILABLE_MIN
            ]
        if not positions:
            raise WorkloadError(
                f"no position with >= {POSITION_AVAILABLE_MIN} available among {len(sample)} "
                "sampled SKUs: stock the network first (InventoryService.UpdateStock)"
            )
    return sku_ids, [node.node_id for node in enabled], destinations, positions


def promise_destinations(channel: grpc.Channel, sku_id: str, candidates: list[str]) -> tuple[list[str], dict[str, int]]:
    """The candidates the server promises to (one probe each), and what the probes answered.

    A postal code outside every delivery zone answers NOT_FOUND: loading it would measure
    errors, not promises. When none answers OK (no promise engine, no transport), every
    candidate is kept and the run reports what the server says.
    """
    import grpc

    from dompromise.v1 import promise_pb2, promise_pb2_grpc

    stub = promise_pb2_grpc.PromiseServiceStub(channel)
    usable: list[str] = []
    answers: Counter[str] = Counter()
    for postal_code in candidates[:PROMISE_DESTINATIONS_PROBED_MAX]:
        try:
            stub.PromiseDelivery(
                promise_pb2.PromiseDeliveryRequest(
                    lines=[promise_pb2.OrderLine(sku_id=sku_id, quantity=1)], postal_code=postal_code
                ),
                timeout=SETUP_TIMEOUT_SECONDS,
            )
        except grpc.RpcError as error:
            answers[error.code().name] += 1
            continue
        answers["OK"] += 1
        usable.append(postal_code)
    return (usable or candidates), dict(answers)


def position_buckets(channel: grpc.Channel, sku_ids: list[str], node_id: str) -> dict[str, dict[str, int]]:
    """Per SKU at one node: on hand, held, allocated, unavailable, safety stock and available."""
    from dompromise.v1 import availability_pb2, availability_pb2_grpc, common_pb2

    answer: availability_pb2.GetAvailabilityResponse = availability_pb2_grpc.AvailabilityServiceStub(
        channel
    ).GetAvailability(
        availability_pb2.GetAvailabilityRequest(
            sku_ids=sku_ids, node_ids=[node_id], view=availability_pb2.AVAILABILITY_VIEW_FULL
        ),
        timeout=SETUP_TIMEOUT_SECONDS,
    )
    if list(answer.node_ids) != [node_id]:
        raise WorkloadError(f"node {node_id} takes no new demand (not ENABLED): pick another with --node")
    buckets: dict[str, dict[str, int]] = {}
    for item in answer.items:
        if item.status != common_pb2.ITEM_STATUS_OK:
            raise WorkloadError(f"SKU {item.sku_id} not found on the server")
        buckets[item.sku_id] = {
            "on_hand": item.node_on_hand_quantities[0],
            "held": item.node_held_quantities[0],
            "allocated": item.node_allocated_quantities[0],
            "unavailable": item.node_unavailable_quantities[0],
            "safety_stock": item.node_safety_stock_quantities[0],
            "available": item.node_available_quantities[0],
        }
    return buckets


def set_available(channel: grpc.Channel, sku_ids: list[str], node_id: str, stock: int) -> dict[str, dict[str, int]]:
    """Sets on hand so that exactly `stock` units of each SKU are available at the node.

    On hand = what is already held, allocated, unavailable or kept as safety
    stock + `stock`: earlier holds stay, and the new ones compete for `stock`.
    Returns the buckets read back afterwards (available must equal `stock`).
    """
    from dompromise.v1 import common_pb2, inventory_pb2, inventory_pb2_grpc

    before = position_buckets(channel, sku_ids, node_id)
    updates = [
        inventory_pb2.StockUpdate(
            sku_id=sku,
            node_id=node_id,
            kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND,
            quantity=b["held"] + b["allocated"] + b["unavailable"] + b["safety_stock"] + stock,
        )
        for sku, b in before.items()
    ]
    answer: inventory_pb2.UpdateStockResponse = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
        inventory_pb2.UpdateStockRequest(updates=updates, all_or_nothing=True), timeout=SETUP_TIMEOUT_SECONDS
    )
    if any(result.status != common_pb2.ITEM_STATUS_OK for result in answer.results):
        raise WorkloadError(f"could not set the hot SKUs' stock: {answer.results}")
    after = position_buckets(channel, sku_ids, node_id)
    wrong = {sku: b["available"] for sku, b in after.items() if b["available"] != stock}
    if wrong:  # someone else wrote in between: the oversell count would be meaningless
        raise WorkloadError(f"available after setting stock {stock} is {wrong}")
    return after


# ---- requests written ahead as bytes ------------------------------------------------------------


def _varint(value: int) -> bytes:
    assert value >= 0, value
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def reserve_body(sku_id: str, node_id: str, quantity: int, ttl_seconds: int) -> bytes:
    """A one-line ReserveInventoryRequest without its request_id (fields 2 and 4), by the generated class."""
    from google.protobuf import duration_pb2

    from dompromise.v1 import reservation_pb2 as pb

    return pb.ReserveInventoryRequest(
        lines=[pb.ReservationLine(sku_id=sku_id, node_id=node_id, quantity=quantity)],
        ttl=duration_pb2.Duration(seconds=ttl_seconds),
    ).SerializeToString()


def reserve_request(request_id: bytes, body: bytes) -> bytes:
    """The request_id (field 1) before a reserve_body: the bytes the generated class writes, as protobuf
    writes fields in number order (tests/test_bench_cli.py checks this against SerializeToString)."""
    return _REQUEST_ID_TAG + _varint(len(request_id)) + request_id + body


# ---- what a client process runs (asyncio, grpc.aio) ----------------------------------------------


class TallyExport(TypedDict):
    """Tally.export(): what a client process sends the parent (plain data, histograms encoded)."""

    operations: dict[str, bytes]
    operations_ok: dict[str, int]
    operations_failed: dict[str, dict[str, int]]
    rpcs: dict[str, bytes]
    rpc_errors: dict[str, dict[str, int]]
    outcomes: dict[str, int]
    reserved_units: dict[str, int]
    send_lag: bytes
    finished_in_window: int
    cpu_seconds_in_window: float


class Tally:
    """One client process's counts and latency histograms, measured part only (plus reserved units)."""

    def __init__(self) -> None:
        from dompromise.client.bench.histogram import Latencies

        self._latencies = Latencies
        self.operations: dict[str, Latencies] = {}  # kind -> latency of the whole operation, OK ones
        self.operations_ok: Counter[str] = Counter()
        self.operations_failed: dict[str, Counter[str]] = {}  # kind -> status code name -> count
        self.rpcs: dict[str, Latencies] = {}  # method -> latency of OK calls
        self.rpc_errors: dict[str, Counter[str]] = {}  # method -> status code name -> count
        self.outcomes: Counter[str] = Counter()  # reserve: held / short / committed / released
        self.reserved_units: Counter[str] = Counter()  # sku -> units held, warm-up included (contended check)
        self.send_lag = Latencies()  # open loop: actual send time - intended send time
        self.finished_in_window = 0  # operations (any outcome) that ended inside the measured window
        self.cpu_seconds_in_window = 0.0  # the client process's own CPU time (time.process_time) in the window

    def rpc(self, method: str, seconds: float) -> None:
        histogram = self.rpcs.get(method)
        if histogram is None:
            histogram = self.rpcs[method] = self._latencies()
        histogram.record_seconds(seconds)

    def rpc_error(self, method: str, code: str) -> None:
        self.rpc_errors.setdefault(method, Counter())[code] += 1

    def operation(self, kind: str, seconds: float) -> None:
        histogram = self.operations.get(kind)
        if histogram is None:
            histogram = self.operations[kind] = self._latencies()
        histogram.record_seconds(seconds)
        self.operations_ok[kind] += 1

    def operation_failed(self, kind: str, code: str) -> None:
        self.operations_failed.setdefault(kind, Counter())[code] += 1

    def export(self) -> TallyExport:
        """Plain data for the parent: histograms encoded, counters as dicts."""
        return {
            "operations": {kind: h.encode() for kind, h in self.operations.items()},
            "operations_ok": dict(self.operations_ok),
            "operations_failed": {kind: dict(c) for kind, c in self.operations_failed.items()},
            "rpcs": {method: h.encode() for method, h in self.rpcs.items()},
            "rpc_errors": {method: dict(c) for method, c in self.rpc_errors.items()},
            "outcomes": dict(self.outcomes),
            "reserved_units": dict(self.reserved_units),
            "send_lag": self.send_lag.encode(),
            "finished_in_window": self.finished_in_window,
            "cpu_seconds_in_window": self.cpu_seconds_in_window,
        }


class _Failed(Exception):
    """An RPC of the operation failed with this gRPC status code name (raised and caught in Workload)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Workload:
    """Builds and sends one operation at a time on a grpc.aio channel; records into a Tally."""

    def __init__(self, channel: grpc.aio.Channel, plan: Plan, process_number: int, seed: int, tally: Tally) -> None:
        from dompromise.v1 import (
            availability_pb2_grpc,
            promise_pb2_grpc,
            reservation_pb2,
            reservation_pb2_grpc,
        )

        self.plan = plan
        self.tally = tally
        self._rng = random.Random(seed * 1_000_003 + process_number)
        self._prefix = f"bench-{plan.run_id}-{process_number}-"
        self._sequence = 0
        self._kinds = list(plan.mix)
        self._weights = [plan.mix[kind] for kind in self._kinds]
        self._availability = availability_pb2_grpc.AvailabilityServiceStub(channel)
        self._promise = promise_pb2_grpc.PromiseServiceStub(channel)
        self._reservation = reservation_pb2_grpc.ReservationServiceStub(channel)
        self._perform = {
            "availability": self._get_availability,
            "promise": self._promise_delivery,
            "reserve": self._reserve_contended if plan.contended else self._reserve,
        }
        # Contended: a hot SKU's request written ahead but for its request_id, sent and answered as bytes
        # parsed by the generated class (the answer's hold is counted against the stock).
        self._hot_bodies = [
            reserve_body(sku, plan.hot_node_id, plan.quantity, plan.ttl_seconds) for sku in plan.hot_sku_ids
        ]
        self._reserve_bytes: grpc.aio.UnaryUnaryMultiCallable[bytes, reservation_pb2.ReserveInventoryResponse]
        self._reserve_bytes = channel.unary_unary(
            RESERVE_METHOD,
            request_serializer=None,
            response_deserializer=reservation_pb2.ReserveInventoryResponse.FromString,
        )

    def next_kind(self) -> str:
        if len(self._kinds) == 1:
            return self._kinds[0]
        return self._rng.choices(self._kinds, self._weights)[0]

    async def perform(self, kind: str, intended_start: float, measured: bool) -> bool:
        """One operation; its latency counts from `intended_start` (time.monotonic)."""
        try:
            await self._perform[kind](measured)
        except _Failed as failure:
            if measured:
                self.tally.operation_failed(kind, failure.code)
            return False
        if measured:
            self.tally.operation(kind, time.monotonic() - intended_start)
        return True

    async def _call(
        self,
        method: str,
        stub_method: grpc.aio.UnaryUnaryMultiCallable[_Request, _Response],
        request: _Request,
        measured: bool,
    ) -> _Response:
        import grpc

        started = time.monotonic()
        try:
            response = await stub_method(request, timeout=self.plan.timeout_seconds)
        except grpc.aio.AioRpcError as error:
            if measured:
                self.tally.rpc_error(method, error.code().name)
            raise _Failed(error.code().name) from None
        if measured:
            self.tally.rpc(method, time.monotonic() - started)
        return response

    def _request_id(self, suffix: str = "") -> str:
        self._sequence += 1
        return f"{self._prefix}{self._sequence}{suffix}"

    async def _get_availability(self, measured: bool) -> None:
        from dompromise.v1 import availability_pb2

        skus = self.plan.sku_ids
        count = self.plan.availability_skus
        chosen = [skus[self._rng.randrange(len(skus))]] if count == 1 else self._rng.sample(skus, min(count, len(skus)))
        await self._call(
            "GetAvailability",
            self._availability.GetAvailability,
            availability_pb2.GetAvailabilityRequest(sku_ids=chosen),
            measured,
        )

    async def _promise_delivery(self, measured: bool) -> None:
        from dompromise.v1 import promise_pb2

        plan = self.plan
        postal_code = plan.destinations[self._rng.randrange(len(plan.destinations))]
        request = promise_pb2.PromiseDeliveryRequest(
            lines=[
                promise_pb2.OrderLine(
                    sku_id=plan.sku_ids[self._rng.randrange(len(plan.sku_ids))], quantity=plan.quantity
                )
            ],
            postal_code=postal_code,
        )
        await self._call("PromiseDelivery", self._promise.PromiseDelivery, request, measured)

    async def _reserve_contended(self, measured: bool) -> None:
        """One line of a hot SKU; the hold is kept and its units counted (warm-up included)."""
        index = self._rng.randrange(len(self._hot_bodies))
        self._sequence += 1
        request = reserve_request(f"{self._prefix}{self._sequence}".encode(), self._hot_bodies[index])
        answer = await self._call("ReserveInventory", self._reserve_bytes, request, measured)
        held = answer.HasField("reservation")
        if held:
            self.tally.reserved_units[self.plan.hot_sku_ids[index]] += sum(
                line.reserved_quantity for line in answer.line_results
            )
        if measured:
            self.tally.outcomes["held" if held else "short"] += 1

    async def _reserve(self, measured: bool) -> None:
        from google.protobuf import duration_pb2

        from dompromise.v1 import reservation_pb2 as pb

        plan = self.plan
        if plan.contended:
            sku, node = plan.hot_sku_ids[self._rng.randrange(len(plan.hot_sku_ids))], plan.hot_node_id
        else:
            sku, node = plan.positions[self._rng.randrange(len(plan.positions))]
        request_id = self._request_id()
        request = pb.ReserveInventoryRequest(
            request_id=request_id,
            lines=[pb.ReservationLine(sku_id=sku, node_id=node, quantity=plan.quantity)],
            ttl=duration_pb2.Duration(seconds=plan.ttl_seconds),
        )
        answer: pb.ReserveInventoryResponse = await self._call(
            "ReserveInventory", self._reservation.ReserveInventory, request, measured
        )
        held = answer.HasField("reservation")
        if held and plan.contended:
            # Warm-up included: every unit held counts against the stock.
            self.tally.reserved_units[sku] += sum(line.reserved_quantity for line in answer.line_results)
        if measured:
            self.tally.outcomes["held" if held else "short"] += 1
        if not held or plan.contended:
            return
        reservation_id = answer.reservation.reservation_id
        if self._rng.randrange(100) < plan.commit_percent:
            await self._call(
                "CommitReservation",
                self._reservation.CommitReservation,
                pb.CommitReservationRequest(
                    request_id=request_id + "-commit", reservation_id=reservation_id, order_id=request_id
                ),
                measured,
            )
            outcome = "committed"
        else:
            await self._call(
                "ReleaseReservation",
                self._reservation.ReleaseReservation,
                pb.ReleaseReservationRequest(request_id=request_id + "-release", reservation_id=reservation_id),
                measured,
            )
            outcome = "released"
        if measured:
            self.tally.outcomes[outcome] += 1
