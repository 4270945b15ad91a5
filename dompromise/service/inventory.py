"""InventoryService: stock feeds into the core, one command per batch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol, cast

import grpc.aio

from dompromise import limits
from dompromise.errors import AlreadyExistsError, FieldViolation, LimitExceededError, NotFoundError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ON_HAND_ADJUST, ON_HAND_SET, SAFETY_STOCK_CLEAR
from dompromise.replica.protocol import Replica
from dompromise.reservations.book import Outcome
from dompromise.service.convert import attribute_set
from dompromise.service.errors import map_errors
from dompromise.service.upload import Upload
from dompromise.service.validation import (
    VIOLATIONS_LISTED_MAX,
    check_count,
    id_violation,
    id_violations,
    raise_if_any,
    time_violations,
    timestamp_ns,
)
from dompromise.v1 import common_pb2, inventory_pb2, inventory_pb2_grpc
from dompromise.wire import outcomes

SET = inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND
ADJUST = inventory_pb2.STOCK_UPDATE_KIND_ADJUST_ON_HAND
# The proto's StockUpdateKind numbers are the core's on-hand ops (tested).
assert (SET, ADJUST) == (ON_HAND_SET, ON_HAND_ADJUST)
RETURN_DISPOSITIONS = (inventory_pb2.RETURN_DISPOSITION_SELLABLE, inventory_pb2.RETURN_DISPOSITION_QUARANTINE)
STALE = common_pb2.ITEM_STATUS_STALE
UNAVAILABLE_REASONS = frozenset(reason for reason in common_pb2.UnavailableReason.values() if reason)
SUPPLY_KINDS = (
    common_pb2.SUPPLY_KIND_IN_TRANSIT,
    common_pb2.SUPPLY_KIND_PURCHASE_ORDER,
    common_pb2.SUPPLY_KIND_TRANSFER,
)


SERVICE_NAME = inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name


def add_to_server(servicer: InventoryServicer, server: grpc.aio.Server) -> None:
    """Registers the service as the generated code does, then UpdateStock again, answered by UpdateStockBytes
    (wire/outcomes.pyx writes the bytes; no response serializer). A method registered later replaces the
    earlier handler."""
    inventory_pb2_grpc.add_InventoryServiceServicer_to_server(servicer, server)
    written: grpc.RpcMethodHandler[Any, bytes] = grpc.unary_unary_rpc_method_handler(
        servicer.UpdateStockBytes,
        request_deserializer=inventory_pb2.UpdateStockRequest.FromString,
        response_serializer=None,
    )
    server.add_registered_method_handlers(SERVICE_NAME, {"UpdateStock": written})


class _Attributed(Protocol):
    """An item of a request that may carry attribute values (StockUpdate, UnavailableStock)."""

    @property
    def sku_id(self) -> str: ...
    @property
    def attributes(self) -> Mapping[str, str]: ...


class InventoryServicer(inventory_pb2_grpc.InventoryServiceServicer):
    def __init__(self, replica: Replica) -> None:
        self._replica = replica

    @map_errors
    async def UpdateStock(
        self,
        request: inventory_pb2.UpdateStockRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.UpdateStockRequest, inventory_pb2.UpdateStockResponse],
    ) -> inventory_pb2.UpdateStockResponse:
        return _update_stock_response(await self._update_stock(request))

    @map_errors
    async def UpdateStockBytes(
        self,
        request: inventory_pb2.UpdateStockRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.UpdateStockRequest, bytes],
    ) -> bytes:
        """UpdateStock answered as the response's wire bytes, written by wire/outcomes.pyx (byte-equal to the
        message's: tests/service/test_outcome_bytes.py), for a handler whose response_serializer is None."""
        return outcomes.update_stock_response(await self._update_stock(request))

    async def _update_stock(self, request: inventory_pb2.UpdateStockRequest) -> Outcome:
        """Validates a batch of stock updates, logs it and returns its outcome (both UpdateStock methods)."""
        updates = request.updates
        check_count(updates, "updates", "STOCK_UPDATES_MAX", minimum=1)
        sku_ids = [u.sku_id for u in updates]
        node_ids = [u.node_id for u in updates]
        kinds = [u.kind for u in updates]
        quantities = [u.quantity for u in updates]
        violations = _id_violations(sku_ids, node_ids) + _quantity_violations(kinds, quantities)
        if request.request_id:
            violations += id_violation(request.request_id, "request_id")
        sources = [u.source_id for u in updates]
        sequenced = any(sources)
        if sequenced:
            violations += self._source_violations(updates, sources)
        attributed = any(len(u.attributes) for u in updates)
        if attributed:
            violations += self._attribute_violations(updates, "updates")
        raise_if_any(violations)
        record = log_pb2.LogRecord(
            request_id=request.request_id,
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=sku_ids,
                node_ids=node_ids,
                ops=kinds,
                quantities=quantities,
                all_or_nothing=request.all_or_nothing,
            ),
        )
        if sequenced:
            record.update_on_hand.source_ids.extend(sources)
            record.update_on_hand.sequences.extend(u.sequence for u in updates)
        if attributed:
            record.update_on_hand.attributes.extend(attribute_set(u.attributes) for u in updates)
        outcome = await self._replica.submit(record)
        if outcome.conflict:
            raise AlreadyExistsError(request.request_id)
        return outcome

    def _source_violations(
        self, updates: Sequence[inventory_pb2.StockUpdate], sources: Sequence[str]
    ) -> list[FieldViolation]:
        """Source ids well formed, sequences >= 0, and room for the new sources (FEED_SOURCES_MAX)."""
        violations: list[FieldViolation] = []
        for position, update in enumerate(updates):
            if update.source_id:
                violations += id_violation(update.source_id, f"updates[{position}].source_id")
                if update.sequence < 0:
                    violations.append(FieldViolation(f"updates[{position}].sequence", "must be >= 0"))
            if len(violations) >= VIOLATIONS_LISTED_MAX:
                return violations
        engine = self._replica.engine
        new = {s for s in sources if s and not engine.feed_source_known(s)}
        if len(new) > engine.feed_sources_free():
            raise LimitExceededError(
                "updates.source_id",
                "FEED_SOURCES_MAX",
                limits.FEED_SOURCES_MAX,
                limits.FEED_SOURCES_MAX - engine.feed_sources_free() + len(new),
            )
        return violations

    def _attribute_violations(self, items: Sequence[_Attributed], field: str) -> list[FieldViolation]:
        """Each item's attributes (declared keys for its SKU, lengths), and room for the
        variants they would create (RESOURCE_EXHAUSTED past the network's limit)."""
        engine = self._replica.engine
        violations: list[FieldViolation] = []
        for position, item in enumerate(items):
            if len(item.attributes):
                violations += engine.attribute_violations(
                    item.sku_id, item.attributes, f"{field}[{position}].attributes"
                )
            if len(violations) >= VIOLATIONS_LISTED_MAX:
                return violations
        new = engine.new_variant_count([i.sku_id for i in items], [i.attributes for i in items])
        if new > engine.variants_free():
            limit = engine.variant_count + engine.variants_free()
            raise LimitExceededError(f"{field}.attributes", "VARIANTS_MAX", limit, engine.variant_count + new)
        return violations

    @map_errors
    async def SetUnavailable(
        self,
        request: inventory_pb2.SetUnavailableRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.SetUnavailableRequest, inventory_pb2.SetUnavailableResponse],
    ) -> inventory_pb2.SetUnavailableResponse:
        items = request.items
        check_count(items, "items", "STOCK_UPDATES_MAX", minimum=1)
        violations = id_violation(request.request_id, "request_id") if request.request_id else []
        for position, item in enumerate(items):
            violations += id_violation(item.sku_id, f"items[{position}].sku_id")
            violations += id_violation(item.node_id, f"items[{position}].node_id")
            if item.reason not in UNAVAILABLE_REASONS:
                violations.append(
                    FieldViolation(f"items[{position}].reason", "must be DAMAGED, QUARANTINED, INSPECTION or DISPLAY")
                )
            if not 0 <= item.quantity <= limits.QUANTITY_MAX:
                violations.append(FieldViolation(f"items[{position}].quantity", f"must be 0 to {limits.QUANTITY_MAX}"))
            if len(violations) >= VIOLATIONS_LISTED_MAX:
                break
        attributed = any(len(item.attributes) for item in items)
        if attributed:
            violations += self._attribute_violations(items, "items")
        raise_if_any(violations)
        body = log_pb2.SetUnavailable(
            sku_ids=[i.sku_id for i in items],
            node_ids=[i.node_id for i in items],
            reasons=[i.reason for i in items],
            quantities=[i.quantity for i in items],
            all_or_nothing=request.all_or_nothing,
        )
        if attributed:
            body.attributes.extend(attribute_set(item.attributes) for item in items)
        outcome = await self._replica.submit(log_pb2.LogRecord(request_id=request.request_id, set_unavailable=body))
        if outcome.conflict:
            raise AlreadyExistsError(request.request_id)
        response = inventory_pb2.SetUnavailableResponse(
            applied_count=outcome.applied_count, log_position=outcome.log_position
        )
        _add_results(response, outcome)
        return response

    @map_errors
    async def ReturnStock(
        self,
        request: inventory_pb2.ReturnStockRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.ReturnStockRequest, inventory_pb2.ReturnStockResponse],
    ) -> inventory_pb2.ReturnStockResponse:
        items = request.items
        check_count(items, "items", "STOCK_UPDATES_MAX", minimum=1)
        violations = id_violation(request.request_id, "request_id") if request.request_id else []
        for position, item in enumerate(items):
            violations += id_violation(item.sku_id, f"items[{position}].sku_id")
            violations += id_violation(item.node_id, f"items[{position}].node_id")
            if not 0 < item.quantity <= limits.QUANTITY_MAX:
                violations.append(FieldViolation(f"items[{position}].quantity", f"must be 1 to {limits.QUANTITY_MAX}"))
            if item.disposition not in RETURN_DISPOSITIONS:
                violations.append(FieldViolation(f"items[{position}].disposition", "must be SELLABLE or QUARANTINE"))
            if len(violations) >= VIOLATIONS_LISTED_MAX:
                break
        raise_if_any(violations)
        record = log_pb2.LogRecord(
            request_id=request.request_id,
            return_stock=log_pb2.ReturnStock(
                sku_ids=[i.sku_id for i in items],
                node_ids=[i.node_id for i in items],
                quantities=[i.quantity for i in items],
                dispositions=[i.disposition for i in items],
            ),
        )
        outcome = await self._replica.submit(record)
        if outcome.conflict:
            raise AlreadyExistsError(request.request_id)
        response = inventory_pb2.ReturnStockResponse(
            applied_count=outcome.applied_count, log_position=outcome.log_position
        )
        add = response.results.add
        for status, available in zip(outcome.item_status, outcome.item_available):
            add(status=status, available_quantity=available)
        return response

    @map_errors
    async def UpsertSupply(
        self,
        request: inventory_pb2.UpsertSupplyRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.UpsertSupplyRequest, inventory_pb2.UpsertSupplyResponse],
    ) -> inventory_pb2.UpsertSupplyResponse:
        supplies = request.supplies
        check_count(supplies, "supplies", "STOCK_UPDATES_MAX", minimum=1)
        raise_if_any(self._supply_violations(request))
        record = log_pb2.LogRecord(
            request_id=request.request_id,
            upsert_supply=log_pb2.UpsertSupply(
                supply_ids=[s.supply_id for s in supplies],
                sku_ids=[s.sku_id for s in supplies],
                node_ids=[s.node_id for s in supplies],
                kinds=[s.kind for s in supplies],
                quantities=[s.quantity for s in supplies],
                eta_ns=[timestamp_ns(s.eta) for s in supplies],
                all_or_nothing=request.all_or_nothing,
            ),
        )
        outcome = await self._replica.submit(record)
        if outcome.conflict:
            raise AlreadyExistsError(request.request_id)
        response = inventory_pb2.UpsertSupplyResponse(
            applied_count=outcome.applied_count, log_position=outcome.log_position
        )
        _add_results(response, outcome)
        return response

    def _supply_violations(self, request: inventory_pb2.UpsertSupplyRequest) -> list[FieldViolation]:
        """Ids, kinds, quantities; an ETA in the past only for a supply that exists (it is overdue)."""
        violations = id_violation(request.request_id, "request_id") if request.request_id else []
        now_ns, seen = self._replica.now_ns(), set()
        for position, supply in enumerate(request.supplies):
            field = f"supplies[{position}]"
            for name in ("supply_id", "sku_id", "node_id"):
                violations += id_violation(getattr(supply, name), f"{field}.{name}")
            if supply.supply_id in seen:
                violations.append(FieldViolation(f"{field}.supply_id", "named twice in one request"))
            seen.add(supply.supply_id)
            if supply.kind not in SUPPLY_KINDS:
                violations.append(FieldViolation(f"{field}.kind", "must be IN_TRANSIT, PURCHASE_ORDER or TRANSFER"))
            if not 0 <= supply.quantity <= limits.QUANTITY_MAX:
                violations.append(FieldViolation(f"{field}.quantity", f"must be 0 to {limits.QUANTITY_MAX}"))
            if not supply.HasField("eta"):
                violations.append(FieldViolation(f"{field}.eta", "required, after 1970"))
            elif time_violations(supply.eta, f"{field}.eta"):
                violations += time_violations(supply.eta, f"{field}.eta")
            elif timestamp_ns(supply.eta) < now_ns and self._replica.engine.supply(supply.supply_id) is None:
                violations.append(
                    FieldViolation(f"{field}.eta", "is in the past (only an existing supply may be overdue)")
                )
            if len(violations) >= VIOLATIONS_LISTED_MAX:
                break
        return violations

    @map_errors
    async def ReceiveSupply(
        self,
        request: inventory_pb2.ReceiveSupplyRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.ReceiveSupplyRequest, inventory_pb2.ReceiveSupplyResponse],
    ) -> inventory_pb2.ReceiveSupplyResponse:
        receipts = request.receipts
        check_count(receipts, "receipts", "STOCK_UPDATES_MAX", minimum=1)
        violations = id_violation(request.request_id, "request_id") if request.request_id else []
        for position, receipt in enumerate(receipts):
            violations += id_violation(receipt.supply_id, f"receipts[{position}].supply_id")
            if not 0 < receipt.quantity <= limits.QUANTITY_MAX:
                violations.append(
                    FieldViolation(f"receipts[{position}].quantity", f"must be 1 to {limits.QUANTITY_MAX}")
                )
            if receipt.disposition not in RETURN_DISPOSITIONS + (inventory_pb2.RETURN_DISPOSITION_UNSPECIFIED,):
                violations.append(FieldViolation(f"receipts[{position}].disposition", "must be SELLABLE or QUARANTINE"))
            if len(violations) >= VIOLATIONS_LISTED_MAX:
                break
        raise_if_any(violations)
        record = log_pb2.LogRecord(
            request_id=request.request_id,
            receive_supply=log_pb2.ReceiveSupply(
                supply_ids=[r.supply_id for r in receipts],
                quantities=[r.quantity for r in receipts],
                dispositions=[r.disposition or inventory_pb2.RETURN_DISPOSITION_SELLABLE for r in receipts],
                all_or_nothing=request.all_or_nothing,
            ),
        )
        outcome = await self._replica.submit(record)
        if outcome.conflict:
            raise AlreadyExistsError(request.request_id)
        response = inventory_pb2.ReceiveSupplyResponse(
            applied_count=outcome.applied_count, log_position=outcome.log_position
        )
        _add_results(response, outcome)
        return response

    @map_errors
    async def GetSupply(
        self,
        request: inventory_pb2.GetSupplyRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.GetSupplyRequest, inventory_pb2.GetSupplyResponse],
    ) -> inventory_pb2.GetSupplyResponse:
        raise_if_any(id_violation(request.supply_id, "supply_id"))
        supply = self._replica.engine.supply(request.supply_id)
        if supply is None:
            raise NotFoundError("supply", request.supply_id, "supply_id")
        message = inventory_pb2.Supply(
            supply_id=supply.supply_id,
            sku_id=supply.sku_id,
            node_id=supply.node_id,
            # The kind UpsertSupply took from the proto, kept as its number (service/convert.py: why a cast).
            kind=cast(common_pb2.SupplyKind, supply.kind),
            quantity=supply.quantity,
            received_quantity=supply.received_quantity,
        )
        message.eta.FromNanoseconds(supply.eta_ns)
        return inventory_pb2.GetSupplyResponse(supply=message)

    @map_errors
    async def SetSafetyStock(
        self,
        request: inventory_pb2.SetSafetyStockRequest,
        context: grpc.aio.ServicerContext[inventory_pb2.SetSafetyStockRequest, inventory_pb2.SetSafetyStockResponse],
    ) -> inventory_pb2.SetSafetyStockResponse:
        rules = request.rules
        check_count(rules, "rules", "SAFETY_STOCK_RULES_MAX", minimum=1)
        raise_if_any(self._safety_stock_violations(request))
        record = log_pb2.LogRecord(
            request_id=request.request_id,
            set_safety_stock=log_pb2.SetSafetyStock(
                sku_ids=[r.sku_id for r in rules],
                node_ids=[r.node_id for r in rules],
                quantities=[SAFETY_STOCK_CLEAR if r.clear else r.quantity for r in rules],
                all_or_nothing=request.all_or_nothing,
            ),
        )
        outcome = await self._replica.submit(record)
        if outcome.conflict:
            raise AlreadyExistsError(request.request_id)
        response = inventory_pb2.SetSafetyStockResponse(
            applied_count=outcome.applied_count, log_position=outcome.log_position
        )
        add = response.results.add
        for status, available in zip(outcome.item_status, outcome.item_available):
            add(status=status, available_quantity=available)
        return response

    def _safety_stock_violations(self, request: inventory_pb2.SetSafetyStockRequest) -> list[FieldViolation]:
        """Ids, quantities, clear; RESOURCE_EXHAUSTED past SAFETY_STOCK_POSITIONS_MAX covered positions."""
        violations = id_violation(request.request_id, "request_id") if request.request_id else []
        network = self._replica.engine.network
        covered = 0
        for position, rule in enumerate(request.rules):
            field = f"rules[{position}]"
            if not rule.sku_id and not rule.node_id:
                violations.append(FieldViolation(field, "set sku_id, node_id or both"))
            for name in ("sku_id", "node_id"):
                if getattr(rule, name):
                    violations += id_violation(getattr(rule, name), f"{field}.{name}")
            if rule.clear and rule.quantity:
                violations.append(FieldViolation(f"{field}.quantity", "must be 0 with clear"))
            elif not 0 <= rule.quantity <= limits.QUANTITY_MAX:
                violations.append(FieldViolation(f"{field}.quantity", f"must be 0 to {limits.QUANTITY_MAX}"))
            # A SKU rule covers the SKU at every node, a node rule every SKU at the node.
            covered += (
                1
                if rule.sku_id and rule.node_id
                else len(network.nodes)
                if rule.sku_id
                else len(network.skus) + self._replica.engine.variant_count
            )  # a variant is a SKU row
            if len(violations) >= VIOLATIONS_LISTED_MAX:
                break
        if covered > limits.SAFETY_STOCK_POSITIONS_MAX:
            raise LimitExceededError("rules", "SAFETY_STOCK_POSITIONS_MAX", limits.SAFETY_STOCK_POSITIONS_MAX, covered)
        return violations

    @map_errors
    async def UploadStock(
        self,
        request_iterator: AsyncIterator[inventory_pb2.UploadStockRequest],
        context: grpc.aio.ServicerContext[inventory_pb2.UploadStockRequest, inventory_pb2.UploadStockResponse],
    ) -> inventory_pb2.UploadStockResponse:
        return await Upload(self._replica).run(request_iterator)


def _update_stock_response(outcome: Outcome) -> inventory_pb2.UpdateStockResponse:
    response = inventory_pb2.UpdateStockResponse(
        applied_count=outcome.applied_count,
        log_position=outcome.log_position,
        stale_count=outcome.item_status.count(STALE),
    )
    _add_results(response, outcome)
    return response


def _add_results(
    response: inventory_pb2.UpdateStockResponse
    | inventory_pb2.SetUnavailableResponse
    | inventory_pb2.UpsertSupplyResponse
    | inventory_pb2.ReceiveSupplyResponse,
    outcome: Outcome,
) -> None:
    add = response.results.add
    for status, on_hand, available in zip(outcome.item_status, outcome.item_quantity, outcome.item_available):
        add(status=status, on_hand_quantity=on_hand, available_quantity=available)


def _id_violations(sku_ids: Sequence[str], node_ids: Sequence[str]) -> list[FieldViolation]:
    violations = [_rename(v, "sku_id") for v in id_violations(sku_ids, "updates")]
    violations += [_rename(v, "node_id") for v in id_violations(node_ids, "updates")]
    return violations


def _rename(violation: FieldViolation, leaf: str) -> FieldViolation:
    return FieldViolation(f"{violation.field}.{leaf}", violation.description)


def _quantity_violations(kinds: Sequence[int], quantities: Sequence[int]) -> list[FieldViolation]:
    """An absolute set below zero, a delta beyond QUANTITY_MAX, or no kind, is malformed input."""
    violations: list[FieldViolation] = []
    for position, (kind, quantity) in enumerate(zip(kinds, quantities)):
        if kind not in (SET, ADJUST):
            violations.append(FieldViolation(f"updates[{position}].kind", "must be SET_ON_HAND or ADJUST_ON_HAND"))
        elif kind == SET and quantity < 0:
            violations.append(FieldViolation(f"updates[{position}].quantity", "an absolute on-hand set must be >= 0"))
        elif abs(quantity) > limits.QUANTITY_MAX:
            violations.append(
                FieldViolation(f"updates[{position}].quantity", f"|quantity| must be <= {limits.QUANTITY_MAX}")
            )
        if len(violations) >= VIOLATIONS_LISTED_MAX:
            break
    return violations
