"""The network and the catalog as canonical JSON: what log records and snapshots carry.

A replay must never read the config file, so a network change travels in the
log as a document, and a snapshot carries the network it was taken on. The
codec is generic over the model's frozen dataclasses: every field is written
(defaults included), keys sorted, so the same network is the same text on
every replica and in every release that keeps the field names. A field a
newer release adds is read back at its default from an older document.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import date
from typing import Any

from dompromise.model.network import BaseUnit, Network, Sku

# Resolved field types per dataclass (get_type_hints is slow; a network has thousands of objects).
_HINTS: dict[type, dict[str, Any]] = {}


def network_document(network: Network) -> str:
    """The network without its SKUs (those travel as catalog commands), as canonical JSON."""
    return _dumps(dataclasses.replace(network, skus=()))


def network_from_document(text: str, skus: tuple[Sku, ...] = ()) -> Network:
    """The network of network_document(), with `skus` as its catalog. Raises ValueError when malformed."""
    network: Network = _loads(Network, text)
    return dataclasses.replace(network, skus=skus)


def sku_document(sku: Sku) -> str:
    """_dumps(sku), byte for byte (a test keeps them equal), built directly: a catalog
    import builds 100k of these on the event loop (~6x the generic codec's speed)."""
    plain = {
        "base_unit": sku.base_unit.value,
        "brand": sku.brand,
        "category": sku.category,
        "description": sku.description,
        "pack_sizes": {str(name): size for name, size in sku.pack_sizes.items()},
        "sku_id": sku.sku_id,
        "tags": list(sku.tags),
        "tracked_attributes": list(sku.tracked_attributes),
    }
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def sku_from_document(text: str) -> Sku:
    """Raises ValueError when the text is no SKU document."""
    data = json.loads(text)
    sku = _plain_sku(data)
    if sku is None:
        sku = _typed_or_value_error(Sku, data)
    if not isinstance(sku, Sku) or not isinstance(sku.sku_id, str) or not sku.sku_id:
        raise ValueError("a SKU document needs a sku_id")
    return sku


def _dumps(value: object) -> str:
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _loads(kind: type, text: str) -> Any:
    return _typed_or_value_error(kind, json.loads(text))


def _typed_or_value_error(kind: type, data: Any) -> Any:
    try:
        return _typed(kind, data)
    except (TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"malformed {kind.__name__} document: {error}") from error


_SKU_TEXT_FIELDS = frozenset(("sku_id", "description", "brand", "category"))
_SKU_TEXTS_FIELDS = frozenset(("tracked_attributes", "tags"))


def _plain_sku(data: Any) -> Sku | None:
    """The Sku of a document whose every field has its plain JSON type, built directly
    (a catalog change decodes 100k of them while the log waits: ~8x the generic
    codec's speed); None for anything else, which the generic codec decides."""
    if type(data) is not dict:
        return None
    fields: dict[str, Any] = {}
    for name, value in data.items():
        if name in _SKU_TEXT_FIELDS:
            if type(value) is not str:
                return None
            fields[name] = value
        elif name in _SKU_TEXTS_FIELDS:
            if type(value) is not list or any(type(item) is not str for item in value):
                return None
            fields[name] = tuple(value)
        elif name == "base_unit":
            if type(value) is not int:
                return None
            fields[name] = BaseUnit(value)
        elif name == "pack_sizes":
            if type(value) is not dict or any(type(size) is not int for size in value.values()):
                return None
            fields[name] = value
        else:
            return None
    if "sku_id" not in fields:
        return None
    return Sku(**fields)


def _plain(value: object) -> object:
    """JSON-ready form: dataclasses as objects, enums as numbers, dates as ISO text, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _hints(kind: type) -> dict[str, Any]:
    hints = _HINTS.get(kind)
    if hints is None:
        hints = _HINTS[kind] = typing.get_type_hints(kind)
    return hints


def _typed(kind: Any, data: Any) -> Any:
    """The value of type `kind` that _plain turned into `data`."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        assert len(options) == 1, f"only X | None unions are in the model: {kind}"
        return _typed(options[0], data)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_typed(item, value) for value in data)
    if origin is dict:
        _, item = typing.get_args(kind)
        return {str(key): _typed(item, value) for key, value in data.items()}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = _hints(kind)
        known = {f.name for f in dataclasses.fields(kind)}
        return kind(**{name: _typed(hints[name], value) for name, value in data.items() if name in known})
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if kind is date:
        return date.fromisoformat(data)
    if kind is float:
        return float(data)
    if kind in (int, str, bool):
        if not isinstance(data, kind):
            raise TypeError(f"expected {kind.__name__}, found {type(data).__name__}")
        return data
    raise TypeError(f"no codec for {kind!r}")
