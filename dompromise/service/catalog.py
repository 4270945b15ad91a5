"""NetworkService's writes of the catalog and the network: UpsertSkus, RetireSkus,
ImportSkus, ApplyNetworkConfig. Each becomes log records (inventory/catalog.py
applies them), so every replica changes at the same position.

A mixin of NetworkServicer (network.py): checks, convert, submit, convert.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import cast

import grpc.aio

from dompromise import limits
from dompromise.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    LimitExceededError,
)
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.catalog import NETWORK_APPLIED, NETWORK_REFUSED_NODE_IN_USE
from dompromise.inventory.engine import CATALOG_STATUS, Engine
from dompromise.model import document, reconcile
from dompromise.model.network import BaseUnit, Network, Sku
from dompromise.replica.protocol import Replica
from dompromise.reservations.book import Outcome
from dompromise.service.errors import map_errors
from dompromise.service.validation import id_violation, id_violations, raise_if_any
from dompromise.v1 import network_pb2

# Turns a config text into a Network, raising InvalidArgumentError naming file:line (cli.py injects
# the config package's parser: the service layer does not import config).
NetworkParser = Callable[[str, str], Network]
REJECTED_LISTED_MAX = 100
_BASE_UNITS = frozenset(int(unit) for unit in BaseUnit)


def sku_of_message(message: network_pb2.Sku, field: str) -> tuple[Sku | None, list[FieldViolation]]:
    """The model SKU of a request's, or the violations naming its fields."""
    violations = id_violation(message.sku_id, f"{field}.sku_id")
    if message.base_unit and message.base_unit not in _BASE_UNITS:
        violations.append(FieldViolation(f"{field}.base_unit", "unknown base unit"))
    packs: dict[str, int] = {}
    if len(message.pack_sizes) > limits.PACK_SIZES_PER_SKU_MAX:
        violations.append(FieldViolation(f"{field}.pack_sizes", f"at most {limits.PACK_SIZES_PER_SKU_MAX}"))
    for i, pack in enumerate(message.pack_sizes):
        if not pack.name or pack.name in packs:
            violations.append(FieldViolation(f"{field}.pack_sizes[{i}].name", "must be set, each name once"))
        if not 0 < pack.base_unit_count <= limits.QUANTITY_MAX:
            violations.append(FieldViolation(f"{field}.pack_sizes[{i}].base_unit_count", "must be positive"))
        packs[pack.name] = pack.base_unit_count
    if len(message.tags) > limits.TAGS_PER_NODE_MAX:
        violations.append(FieldViolation(f"{field}.tags", f"at most {limits.TAGS_PER_NODE_MAX}"))
    violations += id_violations(list(message.tags), f"{field}.tags")
    if violations:
        return None, violations
    sku = Sku(
        sku_id=message.sku_id,
        description=message.description,
        base_unit=BaseUnit(message.base_unit or BaseUnit.EACH),
        pack_sizes=packs,
        tracked_attributes=tuple(message.tracked_attribute_keys),
        brand=message.brand,
        category=message.category,
        tags=tuple(message.tags),
    )
    return sku, []


def skus_of_request(skus: Sequence[network_pb2.Sku], field: str = "skus") -> list[Sku]:
    """Every SKU checked (INVALID_ARGUMENT naming each bad field, nothing applied), each id once."""
    if len(skus) > limits.CATALOG_SKUS_MAX:
        raise LimitExceededError(field, "CATALOG_SKUS_MAX", limits.CATALOG_SKUS_MAX, len(skus))
    models: list[Sku] = []
    violations: list[FieldViolation] = []
    first: dict[str, int] = {}
    for i, message in enumerate(skus):
        sku, problems = sku_of_message(message, f"{field}[{i}]")
        violations += problems
        if message.sku_id in first:
            violations.append(FieldViolation(f"{field}[{i}].sku_id", f"duplicate of {field}[{first[message.sku_id]}]"))
        first.setdefault(message.sku_id, i)
        if sku is not None:
            models.append(sku)
    raise_if_any(violations)
    return models


class CatalogRpcs:
    """The catalog and network writes of NetworkServicer."""

    _engine: Engine
    _replica: Replica | None
    _parse_network: NetworkParser | None

    def _writer(self) -> Replica:
        if self._replica is None:
            raise FailedPreconditionError("READ_ONLY", "this server takes no writes")
        return self._replica

    async def _submit(self, record: log_pb2.LogRecord) -> Outcome:
        outcome = await self._writer().submit(record)
        if outcome.conflict:
            raise AlreadyExistsError(record.request_id)
        return outcome

    def _results(self, sku_ids: Sequence[str], outcome: Outcome) -> list[network_pb2.CatalogItemResult]:
        results = []
        for sku_id, status in zip(sku_ids, outcome.item_status):
            result = network_pb2.CatalogItemResult(sku_id=sku_id, status=cast(network_pb2.CatalogItemStatus, status))
            if status == CATALOG_STATUS["SKU_IN_USE"]:
                reservations, supplies = self._engine.sku_dependents(sku_id)
                result.reservation_ids.extend(reservations)
                result.supply_ids.extend(supplies)
                result.message = "open holds, allocations or supply depend on this SKU"
            elif status == CATALOG_STATUS["MALFORMED"]:
                result.message = "not a valid SKU"
            results.append(result)
        return results

    @map_errors
    async def UpsertSkus(
        self,
        request: network_pb2.UpsertSkusRequest,
        context: grpc.aio.ServicerContext[network_pb2.UpsertSkusRequest, network_pb2.UpsertSkusResponse],
    ) -> network_pb2.UpsertSkusResponse:
        if request.request_id:
            raise_if_any(id_violation(request.request_id, "request_id"))
        skus = skus_of_request(request.skus)
        upsert = log_pb2.UpsertSkus(sku_documents=[document.sku_document(sku) for sku in skus])
        outcome = await self._submit(log_pb2.LogRecord(request_id=request.request_id, upsert_skus=upsert))
        results = self._results([sku.sku_id for sku in skus], outcome)
        return network_pb2.UpsertSkusResponse(results=results, log_position=outcome.log_position)

    @map_errors
    async def RetireSkus(
        self,
        request: network_pb2.RetireSkusRequest,
        context: grpc.aio.ServicerContext[network_pb2.RetireSkusRequest, network_pb2.RetireSkusResponse],
    ) -> network_pb2.RetireSkusResponse:
        if len(request.sku_ids) > limits.CATALOG_SKUS_MAX:
            raise LimitExceededError("sku_ids", "CATALOG_SKUS_MAX", limits.CATALOG_SKUS_MAX, len(request.sku_ids))
        violations = id_violations(list(request.sku_ids), "sku_ids")
        if request.request_id:
            violations += id_violation(request.request_id, "request_id")
        if len(set(request.sku_ids)) != len(request.sku_ids):
            violations.append(FieldViolation("sku_ids", "each id once"))
        raise_if_any(violations)
        record = log_pb2.LogRecord(
            request_id=request.request_id, retire_skus=log_pb2.RetireSkus(sku_ids=request.sku_ids)
        )
        outcome = await self._submit(record)
        results = self._results(list(request.sku_ids), outcome)
        return network_pb2.RetireSkusResponse(results=results, log_position=outcome.log_position)

    @map_errors
    async def ImportSkus(
        self,
        request_iterator: AsyncIterator[network_pb2.ImportSkusRequest],
        context: grpc.aio.ServicerContext[network_pb2.ImportSkusRequest, network_pb2.ImportSkusResponse],
    ) -> network_pb2.ImportSkusResponse:
        response = network_pb2.ImportSkusResponse()
        counted = {
            CATALOG_STATUS["CREATED"]: "created_count",
            CATALOG_STATUS["UPDATED"]: "updated_count",
            CATALOG_STATUS["UNCHANGED"]: "unchanged_count",
        }
        chunk = 0
        async for message in request_iterator:
            skus = skus_of_request(message.skus, f"chunk {chunk}: skus")
            upsert = log_pb2.UpsertSkus(sku_documents=[document.sku_document(sku) for sku in skus])
            outcome = await self._submit(log_pb2.LogRecord(upsert_skus=upsert))
            response.sku_count += len(skus)
            response.log_position = outcome.log_position
            for result in self._results([sku.sku_id for sku in skus], outcome):
                name = counted.get(result.status)
                if name is not None:
                    setattr(response, name, getattr(response, name) + 1)
                    continue
                response.rejected_count += 1
                if len(response.rejected) < REJECTED_LISTED_MAX:
                    response.rejected.append(result)
            chunk += 1
        return response

    @map_errors
    async def ApplyNetworkConfig(
        self,
        request: network_pb2.ApplyNetworkConfigRequest,
        context: grpc.aio.ServicerContext[
            network_pb2.ApplyNetworkConfigRequest, network_pb2.ApplyNetworkConfigResponse
        ],
    ) -> network_pb2.ApplyNetworkConfigResponse:
        if self._parse_network is None:
            raise FailedPreconditionError("NO_CONFIG_PARSER", "this server does not take network configs")
        size = len(request.config_text.encode())
        if size > limits.NETWORK_DOCUMENT_BYTES_MAX:
            raise LimitExceededError(
                "config_text", "NETWORK_DOCUMENT_BYTES_MAX", limits.NETWORK_DOCUMENT_BYTES_MAX, size
            )
        configured = self._parse_network(request.config_text, request.source or "request")
        return await apply_network(self._engine, self._writer(), configured, request.source, request.validate_only)


async def apply_network(
    engine: Engine, replica: Replica, configured: Network, source: str, validate_only: bool = False
) -> network_pb2.ApplyNetworkConfigResponse:
    """Logs the difference between a validated network and the running one (ChangeNetwork, then
    UpsertSkus); refused whole, nothing applied, when a node it leaves out holds open reservations.
    Shared by ApplyNetworkConfig and SIGHUP (cli.py)."""
    network_text = reconcile.network_change(engine.network, configured)
    if network_text is not None:
        _, closed = reconcile.merged_nodes(engine.network, configured)
        in_use = {node_id: engine.node_dependents(node_id) for node_id in closed}
        refuse_in_use({node_id: ids for node_id, ids in in_use.items() if ids})
    upserts = reconcile.catalog_upserts(configured.skus, engine.sku, engine.is_retired)
    response = network_pb2.ApplyNetworkConfigResponse(
        network_changed=network_text is not None,
        skus_upserted_count=len(upserts),
        log_position=engine.log_position,
        node_count=len(engine.network.nodes),
    )
    if validate_only:
        return response
    if network_text is not None:
        change = log_pb2.ChangeNetwork(network_document=network_text, source=source)
        outcome = await replica.submit(log_pb2.LogRecord(change_network=change))
        if outcome.result == NETWORK_REFUSED_NODE_IN_USE:  # a hold taken between the check and the record
            refuse_in_use({"(a node left out)": ["a reservation placed meanwhile"]})
        if outcome.result != NETWORK_APPLIED:
            raise InvalidArgumentError([FieldViolation("config_text", "the network document was refused")])
        response.log_position = outcome.log_position
    for start in range(0, len(upserts), limits.CATALOG_SKUS_MAX):
        upsert = log_pb2.UpsertSkus(sku_documents=upserts[start : start + limits.CATALOG_SKUS_MAX])
        outcome = await replica.submit(log_pb2.LogRecord(upsert_skus=upsert))
        response.log_position = outcome.log_position
    response.node_count = len(engine.network.nodes)
    return response


def refuse_in_use(in_use: dict[str, list[str]]) -> None:
    if in_use:
        named = "; ".join(f"{node_id}: {', '.join(ids)}" for node_id, ids in in_use.items())
        raise FailedPreconditionError(
            "NODE_IN_USE", f"nodes the config leaves out hold open reservations ({named}): nothing applied"
        )
