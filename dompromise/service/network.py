"""NetworkService: reads of nodes and SKUs, paged (AIP-158)."""

from __future__ import annotations

import base64
import json

from dompromise import limits
from dompromise.engine import Engine
from dompromise.errors import FieldViolation, InvalidArgumentError, NotFoundError
from dompromise.service.convert import node_message, sku_message
from dompromise.service.errors import map_errors
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
        start, stop, next_token = _page(request.page_size, request.page_token, len(nodes), scope)
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
        start, stop, next_token = _page(request.page_size, request.page_token, len(skus), "skus")
        return network_pb2.ListSkusResponse(
            skus=[sku_message(s) for s in skus[start:stop]], next_page_token=next_token, total_size=len(skus)
        )


def _page(page_size: int, page_token: str, total: int, scope: str) -> tuple[int, int, str]:
    """Start and stop of the page, and the token of the next one ('' on the last).

    The token carries the offset and the listing's scope (its filter), so a
    token from one listing cannot silently page another.
    """
    if page_size < 0:
        raise InvalidArgumentError([FieldViolation("page_size", "must be >= 0")])
    size = min(page_size or limits.PAGE_SIZE_DEFAULT, limits.PAGE_SIZE_MAX)
    start = _decode_token(page_token, scope) if page_token else 0
    stop = min(start + size, total)
    next_token = _encode_token(stop, scope) if stop < total else ""
    return start, stop, next_token


def _encode_token(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": scope}).encode()).decode()


def _decode_token(token: str, scope: str) -> int:
    try:
        fields = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, token_scope = int(fields["o"]), fields["s"]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgumentError([FieldViolation("page_token", "not a token this service issued")]) from None
    if token_scope != scope or offset < 0:
        raise InvalidArgumentError([FieldViolation("page_token", "token belongs to another listing")])
    return offset
