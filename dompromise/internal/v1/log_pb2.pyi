from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LogRecord(_message.Message):
    __slots__ = ("log_time_ns", "request_id", "id_nonce", "update_on_hand", "reserve", "commit", "release", "extend", "tick", "ship", "cancel_lines", "return_stock", "set_node_status", "allocate_wave", "upsert_supply", "receive_supply", "set_safety_stock", "set_unavailable", "upsert_skus", "retire_skus", "change_network")
    LOG_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ID_NONCE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    EXTEND_FIELD_NUMBER: _ClassVar[int]
    TICK_FIELD_NUMBER: _ClassVar[int]
    SHIP_FIELD_NUMBER: _ClassVar[int]
    CANCEL_LINES_FIELD_NUMBER: _ClassVar[int]
    RETURN_STOCK_FIELD_NUMBER: _ClassVar[int]
    SET_NODE_STATUS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATE_WAVE_FIELD_NUMBER: _ClassVar[int]
    UPSERT_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    SET_SAFETY_STOCK_FIELD_NUMBER: _ClassVar[int]
    SET_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UPSERT_SKUS_FIELD_NUMBER: _ClassVar[int]
    RETIRE_SKUS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_NETWORK_FIELD_NUMBER: _ClassVar[int]
    log_time_ns: int
    request_id: str
    id_nonce: int
    update_on_hand: UpdateOnHand
    reserve: Reserve
    commit: Resolve
    release: Resolve
    extend: Extend
    tick: Tick
    ship: LineChange
    cancel_lines: LineChange
    return_stock: ReturnStock
    set_node_status: SetNodeStatus
    allocate_wave: AllocateWave
    upsert_supply: UpsertSupply
    receive_supply: ReceiveSupply
    set_safety_stock: SetSafetyStock
    set_unavailable: SetUnavailable
    upsert_skus: UpsertSkus
    retire_skus: RetireSkus
    change_network: ChangeNetwork
    def __init__(self, log_time_ns: _Optional[int] = ..., request_id: _Optional[str] = ..., id_nonce: _Optional[int] = ..., update_on_hand: _Optional[_Union[UpdateOnHand, _Mapping]] = ..., reserve: _Optional[_Union[Reserve, _Mapping]] = ..., commit: _Optional[_Union[Resolve, _Mapping]] = ..., release: _Optional[_Union[Resolve, _Mapping]] = ..., extend: _Optional[_Union[Extend, _Mapping]] = ..., tick: _Optional[_Union[Tick, _Mapping]] = ..., ship: _Optional[_Union[LineChange, _Mapping]] = ..., cancel_lines: _Optional[_Union[LineChange, _Mapping]] = ..., return_stock: _Optional[_Union[ReturnStock, _Mapping]] = ..., set_node_status: _Optional[_Union[SetNodeStatus, _Mapping]] = ..., allocate_wave: _Optional[_Union[AllocateWave, _Mapping]] = ..., upsert_supply: _Optional[_Union[UpsertSupply, _Mapping]] = ..., receive_supply: _Optional[_Union[ReceiveSupply, _Mapping]] = ..., set_safety_stock: _Optional[_Union[SetSafetyStock, _Mapping]] = ..., set_unavailable: _Optional[_Union[SetUnavailable, _Mapping]] = ..., upsert_skus: _Optional[_Union[UpsertSkus, _Mapping]] = ..., retire_skus: _Optional[_Union[RetireSkus, _Mapping]] = ..., change_network: _Optional[_Union[ChangeNetwork, _Mapping]] = ...) -> None: ...

class UpdateOnHand(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "ops", "quantities", "all_or_nothing", "source_ids", "sequences", "attributes")
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    ops: _containers.RepeatedScalarFieldContainer[int]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    all_or_nothing: bool
    source_ids: _containers.RepeatedScalarFieldContainer[str]
    sequences: _containers.RepeatedScalarFieldContainer[int]
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeSet]
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., ops: _Optional[_Iterable[int]] = ..., quantities: _Optional[_Iterable[int]] = ..., all_or_nothing: _Optional[bool] = ..., source_ids: _Optional[_Iterable[str]] = ..., sequences: _Optional[_Iterable[int]] = ..., attributes: _Optional[_Iterable[_Union[AttributeSet, _Mapping]]] = ...) -> None: ...

class AttributeSet(_message.Message):
    __slots__ = ("keys", "values")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class SetUnavailable(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "reasons", "quantities", "all_or_nothing", "attributes")
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    reasons: _containers.RepeatedScalarFieldContainer[int]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    all_or_nothing: bool
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeSet]
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., reasons: _Optional[_Iterable[int]] = ..., quantities: _Optional[_Iterable[int]] = ..., all_or_nothing: _Optional[bool] = ..., attributes: _Optional[_Iterable[_Union[AttributeSet, _Mapping]]] = ...) -> None: ...

class Reserve(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "quantities", "allow_partial", "ttl_ns", "order_id", "customer_id", "backorder_by_ns", "channel_view_id", "customer_segment", "protected_quantities", "protected_percents", "channel_safety_stock_quantities", "required_attributes", "promise_token_key", "promise_token_expire_ns")
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    TTL_NS_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    BACKORDER_BY_NS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_VIEW_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SAFETY_STOCK_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    PROMISE_TOKEN_KEY_FIELD_NUMBER: _ClassVar[int]
    PROMISE_TOKEN_EXPIRE_NS_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    allow_partial: bool
    ttl_ns: int
    order_id: str
    customer_id: str
    backorder_by_ns: _containers.RepeatedScalarFieldContainer[int]
    channel_view_id: str
    customer_segment: str
    protected_quantities: _containers.RepeatedScalarFieldContainer[int]
    protected_percents: _containers.RepeatedScalarFieldContainer[int]
    channel_safety_stock_quantities: _containers.RepeatedScalarFieldContainer[int]
    required_attributes: _containers.RepeatedCompositeFieldContainer[AttributeSet]
    promise_token_key: bytes
    promise_token_expire_ns: int
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[int]] = ..., allow_partial: _Optional[bool] = ..., ttl_ns: _Optional[int] = ..., order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., backorder_by_ns: _Optional[_Iterable[int]] = ..., channel_view_id: _Optional[str] = ..., customer_segment: _Optional[str] = ..., protected_quantities: _Optional[_Iterable[int]] = ..., protected_percents: _Optional[_Iterable[int]] = ..., channel_safety_stock_quantities: _Optional[_Iterable[int]] = ..., required_attributes: _Optional[_Iterable[_Union[AttributeSet, _Mapping]]] = ..., promise_token_key: _Optional[bytes] = ..., promise_token_expire_ns: _Optional[int] = ...) -> None: ...

class Resolve(_message.Message):
    __slots__ = ("reservation_id", "order_id")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    order_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class Extend(_message.Message):
    __slots__ = ("reservation_id", "ttl_ns")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_NS_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    ttl_ns: int
    def __init__(self, reservation_id: _Optional[str] = ..., ttl_ns: _Optional[int] = ...) -> None: ...

class Tick(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LineChange(_message.Message):
    __slots__ = ("reservation_id", "line_numbers", "quantities")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    line_numbers: _containers.RepeatedScalarFieldContainer[int]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, reservation_id: _Optional[str] = ..., line_numbers: _Optional[_Iterable[int]] = ..., quantities: _Optional[_Iterable[int]] = ...) -> None: ...

class ReturnStock(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "quantities", "dispositions")
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    DISPOSITIONS_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    dispositions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[int]] = ..., dispositions: _Optional[_Iterable[int]] = ...) -> None: ...

class SetNodeStatus(_message.Message):
    __slots__ = ("node_ids", "statuses")
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    statuses: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, node_ids: _Optional[_Iterable[str]] = ..., statuses: _Optional[_Iterable[int]] = ...) -> None: ...

class AllocateWave(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[WaveOrder]
    def __init__(self, orders: _Optional[_Iterable[_Union[WaveOrder, _Mapping]]] = ...) -> None: ...

class WaveOrder(_message.Message):
    __slots__ = ("order_id", "customer_id", "priority", "need_by_ns", "sku_ids", "node_ids", "quantities", "allow_partial")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    NEED_BY_NS_FIELD_NUMBER: _ClassVar[int]
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    priority: int
    need_by_ns: int
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    allow_partial: bool
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., priority: _Optional[int] = ..., need_by_ns: _Optional[int] = ..., sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[int]] = ..., allow_partial: _Optional[bool] = ...) -> None: ...

class UpsertSupply(_message.Message):
    __slots__ = ("supply_ids", "sku_ids", "node_ids", "kinds", "quantities", "eta_ns", "all_or_nothing")
    SUPPLY_IDS_FIELD_NUMBER: _ClassVar[int]
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    ETA_NS_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    supply_ids: _containers.RepeatedScalarFieldContainer[str]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    kinds: _containers.RepeatedScalarFieldContainer[int]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    eta_ns: _containers.RepeatedScalarFieldContainer[int]
    all_or_nothing: bool
    def __init__(self, supply_ids: _Optional[_Iterable[str]] = ..., sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., kinds: _Optional[_Iterable[int]] = ..., quantities: _Optional[_Iterable[int]] = ..., eta_ns: _Optional[_Iterable[int]] = ..., all_or_nothing: _Optional[bool] = ...) -> None: ...

class SetSafetyStock(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "quantities", "all_or_nothing")
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    all_or_nothing: bool
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[int]] = ..., all_or_nothing: _Optional[bool] = ...) -> None: ...

class ReceiveSupply(_message.Message):
    __slots__ = ("supply_ids", "quantities", "dispositions", "all_or_nothing")
    SUPPLY_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    DISPOSITIONS_FIELD_NUMBER: _ClassVar[int]
    ALL_OR_NOTHING_FIELD_NUMBER: _ClassVar[int]
    supply_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[int]
    dispositions: _containers.RepeatedScalarFieldContainer[int]
    all_or_nothing: bool
    def __init__(self, supply_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[int]] = ..., dispositions: _Optional[_Iterable[int]] = ..., all_or_nothing: _Optional[bool] = ...) -> None: ...

class UpsertSkus(_message.Message):
    __slots__ = ("sku_documents",)
    SKU_DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    sku_documents: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sku_documents: _Optional[_Iterable[str]] = ...) -> None: ...

class RetireSkus(_message.Message):
    __slots__ = ("sku_ids",)
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ChangeNetwork(_message.Message):
    __slots__ = ("network_document", "source")
    NETWORK_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    network_document: str
    source: str
    def __init__(self, network_document: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...
