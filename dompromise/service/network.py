"""NetworkService: reads of nodes and SKUs, paged (AIP-158)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import grpc.aio

from dompromise import limits
from dompromise.errors import AlreadyExistsError, FailedPreconditionError, FieldViolation, NotFoundError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.inventory.search import SkuSearch, words_of
from dompromise.model.network import Node
from dompromise.replica.protocol import Replica
from dompromise.service.catalog import CatalogRpcs, NetworkParser
from dompromise.service.convert import node_message, sku_message
from dompromise.service.errors import map_errors
from dompromise.service.paging import page
from dompromise.service.validation import id_violation, raise_if_any
from dompromise.v1 import common_pb2, network_pb2, network_pb2_grpc

NODE_STATUSES = (common_pb2.NODE_STATUS_ENABLED, common_pb2.NODE_STATUS_DRAIN, common_pb2.NODE_STATUS_DISABLED)


class NetworkServicer(CatalogRpcs, network_pb2_grpc.NetworkServiceServicer):
    def __init__(
        self,
        engine: Engine,
        replica: Replica | None = None,
        parse_network: NetworkParser | None = None,
        search: SkuSearch | None = None,
    ) -> None:
        self._engine = engine
        self._replica = replica
        self._parse_network = parse_network
        # The catalog's search index (built here when not shared: the server keeps one for its hook).
        self.search = search if search is not None else SkuSearch(engine.network.skus, engine.sku)

    @map_errors
    async def SetNodeStatus(
        self,
        request: network_pb2.SetNodeStatusRequest,
        context: grpc.aio.ServicerContext[network_pb2.SetNodeStatusRequest, network_pb2.SetNodeStatusResponse],
    ) -> network_pb2.SetNodeStatusResponse:
        violations = id_violation(request.node_id, "node_id")
        if request.request_id:
            violations += id_violation(request.request_id, "request_id")
        if request.status not in NODE_STATUSES:
            violations.append(FieldViolation("status", "must be ENABLED, DRAIN or DISABLED"))
        raise_if_any(violations)
        if self._engine.node(request.node_id) is None:
            raise NotFoundError("node", request.node_id, "node_id")
        if self._replica is None:
            raise FailedPreconditionError("READ_ONLY", "this server takes no writes")
        outcome = await self._replica.submit(
            log_pb2.LogRecord(
                request_id=request.request_id,
                set_node_status=log_pb2.SetNodeStatus(node_ids=[request.node_id], statuses=[request.status]),
            )
        )
        if outcome.conflict:
            raise AlreadyExistsError(request.request_id)
        return network_pb2.SetNodeStatusResponse(
            node=self._node_message(request.node_id), log_position=outcome.log_position
        )

    def _node_message(self, node_id: str) -> network_pb2.Node:
        """The node as configured, with its status as the log has it now."""
        node = self._engine.node(node_id)
        assert node is not None, f"{node_id}: callers pass a node of the network"
        message = node_message(node)
        # The status numbers are the proto's (see service/convert.py on casting them).
        message.status = cast(common_pb2.NodeStatus, self._engine.node_statuses()[node_id])
        return message

    @map_errors
    async def GetNode(
        self,
        request: network_pb2.GetNodeRequest,
        context: grpc.aio.ServicerContext[network_pb2.GetNodeRequest, network_pb2.GetNodeResponse],
    ) -> network_pb2.GetNodeResponse:
        raise_if_any(id_violation(request.node_id, "node_id"))
        node = self._engine.node(request.node_id)
        if node is None:
            raise NotFoundError("node", request.node_id, "node_id")
        return network_pb2.GetNodeResponse(node=self._node_message(request.node_id))

    @map_errors
    async def ListNodes(
        self,
        request: network_pb2.ListNodesRequest,
        context: grpc.aio.ServicerContext[network_pb2.ListNodesRequest, network_pb2.ListNodesResponse],
    ) -> network_pb2.ListNodesResponse:
        nodes: Sequence[Node] = self._engine.network.nodes
        if request.type:
            wanted_type = int(request.type)  # the model's numbers are the proto's (service/convert.py)
            nodes = [n for n in nodes if n.node_type == wanted_type]
        if request.tag:
            nodes = [n for n in nodes if request.tag in n.tags]
        scope = f"nodes:{request.type}:{request.tag}"
        start, stop, next_token = page(request.page_size, request.page_token, len(nodes), scope)
        return network_pb2.ListNodesResponse(
            nodes=[self._node_message(n.node_id) for n in nodes[start:stop]],
            next_page_token=next_token,
            total_size=len(nodes),
        )

    @map_errors
    async def GetSku(
        self,
        request: network_pb2.GetSkuRequest,
        context: grpc.aio.ServicerContext[network_pb2.GetSkuRequest, network_pb2.GetSkuResponse],
    ) -> network_pb2.GetSkuResponse:
        raise_if_any(id_violation(request.sku_id, "sku_id"))
        sku = self._engine.sku(request.sku_id)
        if sku is None:
            raise NotFoundError("sku", request.sku_id, "sku_id")
        return network_pb2.GetSkuResponse(sku=sku_message(sku))

    @map_errors
    async def ListSkus(
        self,
        request: network_pb2.ListSkusRequest,
        context: grpc.aio.ServicerContext[network_pb2.ListSkusRequest, network_pb2.ListSkusResponse],
    ) -> network_pb2.ListSkusResponse:
        skus = self._engine.network.skus
        start, stop, next_token = page(request.page_size, request.page_token, len(skus), "skus")
        return network_pb2.ListSkusResponse(
            skus=[sku_message(s) for s in skus[start:stop]], next_page_token=next_token, total_size=len(skus)
        )

    @map_errors
    async def SearchSkus(
        self,
        request: network_pb2.SearchSkusRequest,
        context: grpc.aio.ServicerContext[network_pb2.SearchSkusRequest, network_pb2.SearchSkusResponse],
    ) -> network_pb2.SearchSkusResponse:
        violations = []
        if len(request.query) > limits.SEARCH_QUERY_LENGTH_MAX:
            violations.append(FieldViolation("query", f"at most {limits.SEARCH_QUERY_LENGTH_MAX} characters"))
        elif not words_of(request.query):
            violations.append(FieldViolation("query", "needs a letter or a digit"))
        elif len(words_of(request.query)) > limits.SEARCH_QUERY_WORDS_MAX:
            violations.append(FieldViolation("query", f"at most {limits.SEARCH_QUERY_WORDS_MAX} words"))
        if not 0 <= request.page_size <= limits.SEARCH_RESULTS_MAX:
            violations.append(FieldViolation("page_size", f"must be 0 to {limits.SEARCH_RESULTS_MAX}"))
        raise_if_any(violations)
        answer = self.search.search(request.query, request.page_size or limits.SEARCH_RESULTS_MAX)
        return network_pb2.SearchSkusResponse(
            skus=[sku_message(sku) for sku in answer.skus], total_size=answer.total_count
        )
