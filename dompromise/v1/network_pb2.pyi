from dompromise.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CatalogItemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATALOG_ITEM_STATUS_UNSPECIFIED: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_CREATED: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_UPDATED: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_UNCHANGED: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_RETIRED: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_SKU_IN_USE: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_NOT_FOUND: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_MALFORMED: _ClassVar[CatalogItemStatus]
    CATALOG_ITEM_STATUS_ALREADY_RETIRED: _ClassVar[CatalogItemStatus]
CATALOG_ITEM_STATUS_UNSPECIFIED: CatalogItemStatus
CATALOG_ITEM_STATUS_CREATED: CatalogItemStatus
CATALOG_ITEM_STATUS_UPDATED: CatalogItemStatus
CATALOG_ITEM_STATUS_UNCHANGED: CatalogItemStatus
CATALOG_ITEM_STATUS_RETIRED: CatalogItemStatus
CATALOG_ITEM_STATUS_SKU_IN_USE: CatalogItemStatus
CATALOG_ITEM_STATUS_NOT_FOUND: CatalogItemStatus
CATALOG_ITEM_STATUS_MALFORMED: CatalogItemStatus
CATALOG_ITEM_STATUS_ALREADY_RETIRED: CatalogItemStatus

class Location(_message.Message):
    __slots__ = ("latitude_degrees", "longitude_degrees", "postal_code", "country_code")
    LATITUDE_DEGREES_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_DEGREES_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    latitude_degrees: float
    longitude_degrees: float
    postal_code: str
    country_code: str
    def __init__(self, latitude_degrees: _Optional[float] = ..., longitude_degrees: _Optional[float] = ..., postal_code: _Optional[str] = ..., country_code: _Optional[str] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("node_id", "type", "status", "name", "timezone", "location", "tags")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    type: _common_pb2.NodeType
    status: _common_pb2.NodeStatus
    name: str
    timezone: str
    location: Location
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, node_id: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.NodeType, str]] = ..., status: _Optional[_Union[_common_pb2.NodeStatus, str]] = ..., name: _Optional[str] = ..., timezone: _Optional[str] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class PackSize(_message.Message):
    __slots__ = ("name", "base_unit_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BASE_UNIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    base_unit_count: int
    def __init__(self, name: _Optional[str] = ..., base_unit_count: _Optional[int] = ...) -> None: ...

class Sku(_message.Message):
    __slots__ = ("sku_id", "description", "base_unit", "pack_sizes", "tracked_attribute_keys", "brand", "category", "tags")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BASE_UNIT_FIELD_NUMBER: _ClassVar[int]
    PACK_SIZES_FIELD_NUMBER: _ClassVar[int]
    TRACKED_ATTRIBUTE_KEYS_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    description: str
    base_unit: _common_pb2.BaseUnit
    pack_sizes: _containers.RepeatedCompositeFieldContainer[PackSize]
    tracked_attribute_keys: _containers.RepeatedScalarFieldContainer[str]
    brand: str
    category: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sku_id: _Optional[str] = ..., description: _Optional[str] = ..., base_unit: _Optional[_Union[_common_pb2.BaseUnit, str]] = ..., pack_sizes: _Optional[_Iterable[_Union[PackSize, _Mapping]]] = ..., tracked_attribute_keys: _Optional[_Iterable[str]] = ..., brand: _Optional[str] = ..., category: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class CatalogItemResult(_message.Message):
    __slots__ = ("sku_id", "status", "message", "reservation_ids", "supply_ids")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_IDS_FIELD_NUMBER: _ClassVar[int]
    SUPPLY_IDS_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    status: CatalogItemStatus
    message: str
    reservation_ids: _containers.RepeatedScalarFieldContainer[str]
    supply_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sku_id: _Optional[str] = ..., status: _Optional[_Union[CatalogItemStatus, str]] = ..., message: _Optional[str] = ..., reservation_ids: _Optional[_Iterable[str]] = ..., supply_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpsertSkusRequest(_message.Message):
    __slots__ = ("skus", "request_id")
    SKUS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedCompositeFieldContainer[Sku]
    request_id: str
    def __init__(self, skus: _Optional[_Iterable[_Union[Sku, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpsertSkusResponse(_message.Message):
    __slots__ = ("results", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CatalogItemResult]
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[CatalogItemResult, _Mapping]]] = ..., log_position: _Optional[int] = ...) -> None: ...

class RetireSkusRequest(_message.Message):
    __slots__ = ("sku_ids", "request_id")
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RetireSkusResponse(_message.Message):
    __slots__ = ("results", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CatalogItemResult]
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[CatalogItemResult, _Mapping]]] = ..., log_position: _Optional[int] = ...) -> None: ...

class ImportSkusRequest(_message.Message):
    __slots__ = ("skus",)
    SKUS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedCompositeFieldContainer[Sku]
    def __init__(self, skus: _Optional[_Iterable[_Union[Sku, _Mapping]]] = ...) -> None: ...

class ImportSkusResponse(_message.Message):
    __slots__ = ("sku_count", "created_count", "updated_count", "unchanged_count", "rejected_count", "rejected", "log_position")
    SKU_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    sku_count: int
    created_count: int
    updated_count: int
    unchanged_count: int
    rejected_count: int
    rejected: _containers.RepeatedCompositeFieldContainer[CatalogItemResult]
    log_position: int
    def __init__(self, sku_count: _Optional[int] = ..., created_count: _Optional[int] = ..., updated_count: _Optional[int] = ..., unchanged_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[CatalogItemResult, _Mapping]]] = ..., log_position: _Optional[int] = ...) -> None: ...

class ApplyNetworkConfigRequest(_message.Message):
    __slots__ = ("config_text", "source", "validate_only")
    CONFIG_TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    config_text: str
    source: str
    validate_only: bool
    def __init__(self, config_text: _Optional[str] = ..., source: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ApplyNetworkConfigResponse(_message.Message):
    __slots__ = ("network_changed", "skus_upserted_count", "log_position", "node_count")
    NETWORK_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SKUS_UPSERTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    NODE_COUNT_FIELD_NUMBER: _ClassVar[int]
    network_changed: bool
    skus_upserted_count: int
    log_position: int
    node_count: int
    def __init__(self, network_changed: _Optional[bool] = ..., skus_upserted_count: _Optional[int] = ..., log_position: _Optional[int] = ..., node_count: _Optional[int] = ...) -> None: ...

class GetNodeRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class GetNodeResponse(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: Node
    def __init__(self, node: _Optional[_Union[Node, _Mapping]] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "type", "tag")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    type: _common_pb2.NodeType
    tag: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., type: _Optional[_Union[_common_pb2.NodeType, str]] = ..., tag: _Optional[str] = ...) -> None: ...

class ListNodesResponse(_message.Message):
    __slots__ = ("nodes", "next_page_token", "total_size")
    NODES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    next_page_token: str
    total_size: int
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetSkuRequest(_message.Message):
    __slots__ = ("sku_id",)
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    def __init__(self, sku_id: _Optional[str] = ...) -> None: ...

class GetSkuResponse(_message.Message):
    __slots__ = ("sku",)
    SKU_FIELD_NUMBER: _ClassVar[int]
    sku: Sku
    def __init__(self, sku: _Optional[_Union[Sku, _Mapping]] = ...) -> None: ...

class ListSkusRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSkusResponse(_message.Message):
    __slots__ = ("skus", "next_page_token", "total_size")
    SKUS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedCompositeFieldContainer[Sku]
    next_page_token: str
    total_size: int
    def __init__(self, skus: _Optional[_Iterable[_Union[Sku, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class SetNodeStatusRequest(_message.Message):
    __slots__ = ("node_id", "status", "request_id")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    status: _common_pb2.NodeStatus
    request_id: str
    def __init__(self, node_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.NodeStatus, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetNodeStatusResponse(_message.Message):
    __slots__ = ("node", "log_position")
    NODE_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    node: Node
    log_position: int
    def __init__(self, node: _Optional[_Union[Node, _Mapping]] = ..., log_position: _Optional[int] = ...) -> None: ...

class SearchSkusRequest(_message.Message):
    __slots__ = ("query", "page_size")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    query: str
    page_size: int
    def __init__(self, query: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class SearchSkusResponse(_message.Message):
    __slots__ = ("skus", "total_size")
    SKUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedCompositeFieldContainer[Sku]
    total_size: int
    def __init__(self, skus: _Optional[_Iterable[_Union[Sku, _Mapping]]] = ..., total_size: _Optional[int] = ...) -> None: ...
