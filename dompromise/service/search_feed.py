"""Keeps the catalog search (inventory/search.py) on the catalog the log says.

The catalog changes only through log records (UpsertSkus, RetireSkus; ImportSkus
and ApplyNetworkConfig write UpsertSkus), applied alike on every replica. An
apply listener hands the SKUs each batch names to `SkuSearch.on_skus_changed`,
which reads them back from the engine: an unchanged or refused SKU costs a
look-up, never a wrong answer. When a replica's state is replaced (a shared
replica's resync), the index is built afresh from the state now followed.
"""

from __future__ import annotations

import json
import logging

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.search import SkuSearch
from dompromise.replica.protocol import Replica

log = logging.getLogger(__name__)


def search_of(replica: Replica) -> SkuSearch:
    """A search over the replica's catalog that follows it (`follow_catalog`)."""
    search = SkuSearch(replica.engine.network.skus, lambda sku_id: replica.engine.sku(sku_id))
    follow_catalog(search, replica)
    return search


def follow_catalog(search: SkuSearch, replica: Replica) -> None:
    def on_applied(log_position: int, records: list[log_pb2.LogRecord]) -> None:
        changed = catalog_sku_ids(records)
        if changed:
            search.on_skus_changed(changed)

    def on_history(log_id: str) -> None:
        search.reset(replica.engine.network.skus)

    replica.add_apply_listener(on_applied)
    replica.add_history_listener(on_history)


def catalog_sku_ids(records: list[log_pb2.LogRecord]) -> list[str]:
    """The SKU ids the records may have added, changed or retired, each once."""
    sku_ids: dict[str, None] = {}
    for record in records:
        kind = record.WhichOneof("command")
        if kind == "upsert_skus":
            for text in record.upsert_skus.sku_documents:
                sku_id = _document_sku_id(text)
                if sku_id:
                    sku_ids[sku_id] = None
        elif kind == "retire_skus":
            sku_ids.update(dict.fromkeys(record.retire_skus.sku_ids))
    return list(sku_ids)


def _document_sku_id(text: str) -> str:
    """The sku_id of a SKU document; "" for a malformed one (the engine refused it too)."""
    try:
        value = json.loads(text)
    except ValueError:
        return ""
    sku_id = value.get("sku_id") if isinstance(value, dict) else None
    return sku_id if isinstance(sku_id, str) else ""
