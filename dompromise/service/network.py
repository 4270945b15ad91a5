"""NetworkService: reads of nodes and SKUs, paged (AIP-158)."""

from __future__ import annotations

from dompromise.engine import Engine
from dompromise.errors import NotFoundError
from dompromise.service.convert import node_message, sku_message
from dompromise.service.errors import map_errors
from dompromise.service.paging import page
from dompromise.service.validation import id_violation, raise_if_any
from dompromise.v1 import network_pb2, network_pb2_grpc


class NetworkServicer(network_pb2_grpc.NetworkServiceServicer):
    def __init__(self, engine: Engine):
        self._engine = engine

    @map_errors
    async def GetNode(self, request, context):
        raise_if_any(id_violation(request.node_id, "node_id"))
        node = self._engine.node(request.node_id)
        if node is None:
            raise NotFoundError("node", request.node_id, "node_id")
        return network_pb2.GetNodeResponse(node=node_message(node))

    @map_errors
    async def ListNodes(self, request, context):
        nodes = self._engine.network.nodes
        if request.type:
            nodes = [n for n in nodes if n.node_type == request.type]
        if request.tag:
            nodes = [n for n in nodes if request.tag in n.tags]
        scope = f"nodes:{request.type}:{request.tag}"
        start, stop, next_token = page(request.page_size, request.page_token, len(nodes), scope)
        return network_pb2.ListNodesResponse(
            nodes=[node_message(n) for n in nodes[start:stop]], next_page_token=next_token, total_size=len(nodes)
        )

    @map_errors
    async def GetSku(self, request, context):
        raise_if_any(id_violation(request.sku_id, "sku_id"))
        sku = self._engine.sku(request.sku_id)
        if sku is None:
            raise NotFoundError("sku", request.sku_id, "sku_id")
        return network_pb2.GetSkuResponse(sku=sku_message(sku))

    @map_errors
    async def ListSkus(self, request, context):
        skus = self._engine.network.skus
        start, stop, next_token = page(request.page_size, request.page_token, len(skus), "skus")
        return network_pb2.ListSkusResponse(
            skus=[sku_message(s) for s in skus[start:stop]], next_page_token=next_token, total_size=len(skus)
        )

