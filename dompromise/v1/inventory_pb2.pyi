import datetime

from dompromise.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StockUpdateKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOCK_UPDATE_KIND_UNSPECIFIED: _ClassVar[StockUpdateKind]
    STOCK_UPDATE_KIND_SET_ON_HAND: _ClassVar[StockUpdateKind]
    STOCK_UPDATE_KIND_ADJUST_ON_HAND: _ClassVar[StockUpdateKind]

class ReturnDisposition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETURN_DISPOSITION_UNSPECIFIED: _ClassVar[ReturnDisposition]
    RETURN_DISPOSITION_SELLABLE: _ClassVar[ReturnDisposition]
    RETURN_DISPOSITION_QUARANTINE: _ClassVar[ReturnDisposition]
STOCK_UPDATE_KIND_UNSPECIFIED: StockUpdateKind
STOCK_UPDATE_KIND_SET_ON_HAND: StockUpdateKind
STOCK_UPDATE_KIND_ADJUST_ON_HAND: StockUpdateKind
RETURN_DISPOSITION_UNSPECIFIED: ReturnDisposition
RETURN_DISPOSITION_SELLABLE: ReturnDisposition
RETURN_DISPOSITION_QUARANTINE: ReturnDisposition

class StockUpdate(_message.Message):
    __slots__ = ("sku_id", "node_id", "kind", "quantity", "source_id", "sequence", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    node_id: str
    kind: StockUpdateKind
    quantity: int
    source_id: str
    sequence: int
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, sku_id: _Optional[str] = ..., node_id: _Optional[str] = ..., kind: _Optional[_Union[StockUpdateKind, str]] = ..., quantity: _Optional[int] = ..., source_id: _Optional[str] = ..., sequence: _Optional[int] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpdateStockRequest(_message.Message):
    __slots__ = ("updates", "all_or_nothing", "request_id")
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[StockUpdate]
    all_or_nothing: bool
    request_id: str
    def __init__(self, updates: _Optional[_Iterable[_Union[StockUpdate, _Mapping]]] = ..., all_or_nothing: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class StockUpdateResult(_message.Message):
    __slots__ = ("status", "on_hand_quantity", "available_quantity")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.ItemStatus
    on_hand_quantity: int
    available_quantity: int
    def __init__(self, status: _Optional[_Union[_common_pb2.ItemStatus, str]] = ..., on_hand_quantity: _Optional[int] = ..., available_quantity: _Optional[int] = ...) -> None: ...

class UpdateStockResponse(_message.Message):
    __slots__ = ("results", "applied_count", "log_position", "stale_count")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    STALE_COUNT_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[StockUpdateResult]
    applied_count: int
    log_position: int
    stale_count: int
    def __init__(self, results: _Optional[_Iterable[_Union[StockUpdateResult, _Mapping]]] = ..., applied_count: _Optional[int] = ..., log_position: _Optional[int] = ..., stale_count: _Optional[int] = ...) -> None: ...

class UploadStockRequest(_message.Message):
    __slots__ = ("updates", "columns", "all_or_nothing")
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[StockUpdate]
    columns: StockColumns
    all_or_nothing: bool
    def __init__(self, updates: _Optional[_Iterable[_Union[StockUpdate, _Mapping]]] = ..., columns: _Optional[_Union[StockColumns, _Mapping]] = ..., all_or_nothing: _Optional[bool] = ...) -> None: ...

class StockColumns(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "quantities", "units", "source_id", "sequences")
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    units: _containers.RepeatedScalarFieldContainer[str]
    source_id: str
    sequences: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[int]] = ..., units: _Optional[_Iterable[str]] = ..., source_id: _Optional[str] = ..., sequences: _Optional[_Iterable[int]] = ...) -> None: ...

class UploadStockResponse(_message.Message):
    __slots__ = ("applied_count", "rejected_count", "stale_count", "row_count", "problems", "log_position")
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    STALE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    applied_count: int
    rejected_count: int
    stale_count: int
    row_count: int
    problems: _containers.RepeatedCompositeFieldContainer[RowProblem]
    log_position: int
    def __init__(self, applied_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., stale_count: _Optional[int] = ..., row_count: _Optional[int] = ..., problems: _Optional[_Iterable[_Union[RowProblem, _Mapping]]] = ..., log_position: _Optional[int] = ...) -> None: ...

class RowProblem(_message.Message):
    __slots__ = ("row", "field", "description")
    ROW_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    row: int
    field: str
    description: str
    def __init__(self, row: _Optional[int] = ..., field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ReturnedStock(_message.Message):
    __slots__ = ("sku_id", "node_id", "quantity", "disposition")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    node_id: str
    quantity: int
    disposition: ReturnDisposition
    def __init__(self, sku_id: _Optional[str] = ..., node_id: _Optional[str] = ..., quantity: _Optional[int] = ..., disposition: _Optional[_Union[ReturnDisposition, str]] = ...) -> None: ...

class ReturnStockRequest(_message.Message):
    __slots__ = ("request_id", "items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    items: _containers.RepeatedCompositeFieldContainer[ReturnedStock]
    def __init__(self, request_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ReturnedStock, _Mapping]]] = ...) -> None: ...

class ReturnStockResponse(_message.Message):
    __slots__ = ("results", "applied_count", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[StockUpdateResult]
    applied_count: int
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[StockUpdateResult, _Mapping]]] = ..., applied_count: _Optional[int] = ..., log_position: _Optional[int] = ...) -> None: ...

class Supply(_message.Message):
    __slots__ = ("supply_id", "sku_id", "node_id", "kind", "quantity", "eta", "received_quantity")
    SUPPLY_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    supply_id: str
    sku_id: str
    node_id: str
    kind: _common_pb2.SupplyKind
    quantity: int
    eta: _timestamp_pb2.Timestamp
    received_quantity: int
    def __init__(self, supply_id: _Optional[str] = ..., sku_id: _Optional[str] = ..., node_id: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.SupplyKind, str]] = ..., quantity: _Optional[int] = ..., eta: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., received_quantity: _Optional[int] = ...) -> None: ...

class UpsertSupplyRequest(_message.Message):
    __slots__ = ("supplies", "all_or_nothing", "request_id")
    SUPPLIES_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    supplies: _containers.RepeatedCompositeFieldContainer[Supply]
    all_or_nothing: bool
    request_id: str
    def __init__(self, supplies: _Optional[_Iterable[_Union[Supply, _Mapping]]] = ..., all_or_nothing: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpsertSupplyResponse(_message.Message):
    __slots__ = ("results", "applied_count", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[StockUpdateResult]
    applied_count: int
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[StockUpdateResult, _Mapping]]] = ..., applied_count: _Optional[int] = ..., log_position: _Optional[int] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("supply_id", "quantity", "disposition")
    SUPPLY_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    supply_id: str
    quantity: int
    disposition: ReturnDisposition
    def __init__(self, supply_id: _Optional[str] = ..., quantity: _Optional[int] = ..., disposition: _Optional[_Union[ReturnDisposition, str]] = ...) -> None: ...

class ReceiveSupplyRequest(_message.Message):
    __slots__ = ("receipts", "all_or_nothing", "request_id")
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    receipts: _containers.RepeatedCompositeFieldContainer[Receipt]
    all_or_nothing: bool
    request_id: str
    def __init__(self, receipts: _Optional[_Iterable[_Union[Receipt, _Mapping]]] = ..., all_or_nothing: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReceiveSupplyResponse(_message.Message):
    __slots__ = ("results", "applied_count", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[StockUpdateResult]
    applied_count: int
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[StockUpdateResult, _Mapping]]] = ..., applied_count: _Optional[int] = ..., log_position: _Optional[int] = ...) -> None: ...

class GetSupplyRequest(_message.Message):
    __slots__ = ("supply_id",)
    SUPPLY_ID_FIELD_NUMBER: _ClassVar[int]
    supply_id: str
    def __init__(self, supply_id: _Optional[str] = ...) -> None: ...

class SafetyStockRule(_message.Message):
    __slots__ = ("sku_id", "node_id", "quantity", "clear")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    node_id: str
    quantity: int
    clear: bool
    def __init__(self, sku_id: _Optional[str] = ..., node_id: _Optional[str] = ..., quantity: _Optional[int] = ..., clear: _Optional[bool] = ...) -> None: ...

class SetSafetyStockRequest(_message.Message):
    __slots__ = ("rules", "all_or_nothing", "request_id")
    RULES_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[SafetyStockRule]
    all_or_nothing: bool
    request_id: str
    def __init__(self, rules: _Optional[_Iterable[_Union[SafetyStockRule, _Mapping]]] = ..., all_or_nothing: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class SafetyStockResult(_message.Message):
    __slots__ = ("status", "available_quantity")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.ItemStatus
    available_quantity: int
    def __init__(self, status: _Optional[_Union[_common_pb2.ItemStatus, str]] = ..., available_quantity: _Optional[int] = ...) -> None: ...

class SetSafetyStockResponse(_message.Message):
    __slots__ = ("results", "applied_count", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SafetyStockResult]
    applied_count: int
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[SafetyStockResult, _Mapping]]] = ..., applied_count: _Optional[int] = ..., log_position: _Optional[int] = ...) -> None: ...

class UnavailableStock(_message.Message):
    __slots__ = ("sku_id", "node_id", "reason", "quantity", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    node_id: str
    reason: _common_pb2.UnavailableReason
    quantity: int
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, sku_id: _Optional[str] = ..., node_id: _Optional[str] = ..., reason: _Optional[_Union[_common_pb2.UnavailableReason, str]] = ..., quantity: _Optional[int] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SetUnavailableRequest(_message.Message):
    __slots__ = ("items", "all_or_nothing", "request_id")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[UnavailableStock]
    all_or_nothing: bool
    request_id: str
    def __init__(self, items: _Optional[_Iterable[_Union[UnavailableStock, _Mapping]]] = ..., all_or_nothing: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetUnavailableResponse(_message.Message):
    __slots__ = ("results", "applied_count", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[StockUpdateResult]
    applied_count: int
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[StockUpdateResult, _Mapping]]] = ..., applied_count: _Optional[int] = ..., log_position: _Optional[int] = ...) -> None: ...

class GetSupplyResponse(_message.Message):
    __slots__ = ("supply",)
    SUPPLY_FIELD_NUMBER: _ClassVar[int]
    supply: Supply
    def __init__(self, supply: _Optional[_Union[Supply, _Mapping]] = ...) -> None: ...
