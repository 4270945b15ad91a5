import datetime

from dompromise.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReservationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATE_UNSPECIFIED: _ClassVar[ReservationState]
    RESERVATION_STATE_HELD: _ClassVar[ReservationState]
    RESERVATION_STATE_COMMITTED: _ClassVar[ReservationState]
    RESERVATION_STATE_RELEASED: _ClassVar[ReservationState]
    RESERVATION_STATE_EXPIRED: _ClassVar[ReservationState]
    RESERVATION_STATE_SHIPPED: _ClassVar[ReservationState]

class ReservationEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_EVENT_TYPE_UNSPECIFIED: _ClassVar[ReservationEventType]
    RESERVATION_EVENT_TYPE_AT_RISK: _ClassVar[ReservationEventType]
    RESERVATION_EVENT_TYPE_BACK_ON_TRACK: _ClassVar[ReservationEventType]
    RESERVATION_EVENT_TYPE_NODE_UNAVAILABLE: _ClassVar[ReservationEventType]
RESERVATION_STATE_UNSPECIFIED: ReservationState
RESERVATION_STATE_HELD: ReservationState
RESERVATION_STATE_COMMITTED: ReservationState
RESERVATION_STATE_RELEASED: ReservationState
RESERVATION_STATE_EXPIRED: ReservationState
RESERVATION_STATE_SHIPPED: ReservationState
RESERVATION_EVENT_TYPE_UNSPECIFIED: ReservationEventType
RESERVATION_EVENT_TYPE_AT_RISK: ReservationEventType
RESERVATION_EVENT_TYPE_BACK_ON_TRACK: ReservationEventType
RESERVATION_EVENT_TYPE_NODE_UNAVAILABLE: ReservationEventType

class ReservationLine(_message.Message):
    __slots__ = ("sku_id", "node_id", "quantity", "shipped_quantity", "backorder_by", "unit", "required_attributes", "held_attributes")
    class RequiredAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HeldAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SHIPPED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    BACKORDER_BY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    HELD_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    node_id: str
    quantity: int
    shipped_quantity: int
    backorder_by: _timestamp_pb2.Timestamp
    unit: str
    required_attributes: _containers.ScalarMap[str, str]
    held_attributes: _containers.ScalarMap[str, str]
    def __init__(self, sku_id: _Optional[str] = ..., node_id: _Optional[str] = ..., quantity: _Optional[int] = ..., shipped_quantity: _Optional[int] = ..., backorder_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unit: _Optional[str] = ..., required_attributes: _Optional[_Mapping[str, str]] = ..., held_attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class LineQuantity(_message.Message):
    __slots__ = ("line_number", "quantity")
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    line_number: int
    quantity: int
    def __init__(self, line_number: _Optional[int] = ..., quantity: _Optional[int] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("reservation_id", "state", "lines", "expire_time", "create_time", "order_id", "customer_id")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    state: ReservationState
    lines: _containers.RepeatedCompositeFieldContainer[ReservationLine]
    expire_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    order_id: str
    customer_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., state: _Optional[_Union[ReservationState, str]] = ..., lines: _Optional[_Iterable[_Union[ReservationLine, _Mapping]]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., order_id: _Optional[str] = ..., customer_id: _Optional[str] = ...) -> None: ...

class ReserveInventoryRequest(_message.Message):
    __slots__ = ("request_id", "lines", "promise_token", "ttl", "allow_partial", "order_id", "customer_id", "channel_view_id", "customer_segment")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    PROMISE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_VIEW_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReservationLine]
    promise_token: str
    ttl: _duration_pb2.Duration
    allow_partial: bool
    order_id: str
    customer_id: str
    channel_view_id: str
    customer_segment: str
    def __init__(self, request_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReservationLine, _Mapping]]] = ..., promise_token: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., allow_partial: _Optional[bool] = ..., order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., channel_view_id: _Optional[str] = ..., customer_segment: _Optional[str] = ...) -> None: ...

class ReservationLineResult(_message.Message):
    __slots__ = ("status", "reserved_quantity", "available_quantity")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESERVED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.ItemStatus
    reserved_quantity: int
    available_quantity: int
    def __init__(self, status: _Optional[_Union[_common_pb2.ItemStatus, str]] = ..., reserved_quantity: _Optional[int] = ..., available_quantity: _Optional[int] = ...) -> None: ...

class ReserveInventoryResponse(_message.Message):
    __slots__ = ("reservation", "line_results", "log_position")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LINE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    line_results: _containers.RepeatedCompositeFieldContainer[ReservationLineResult]
    log_position: int
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., line_results: _Optional[_Iterable[_Union[ReservationLineResult, _Mapping]]] = ..., log_position: _Optional[int] = ...) -> None: ...

class CommitReservationRequest(_message.Message):
    __slots__ = ("request_id", "reservation_id", "order_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reservation_id: str
    order_id: str
    def __init__(self, request_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class CommitReservationResponse(_message.Message):
    __slots__ = ("reservation", "log_position")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    log_position: int
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., log_position: _Optional[int] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ("request_id", "reservation_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reservation_id: str
    def __init__(self, request_id: _Optional[str] = ..., reservation_id: _Optional[str] = ...) -> None: ...

class ReleaseReservationResponse(_message.Message):
    __slots__ = ("reservation", "log_position")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    log_position: int
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., log_position: _Optional[int] = ...) -> None: ...

class ExtendReservationRequest(_message.Message):
    __slots__ = ("request_id", "reservation_id", "ttl")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reservation_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, request_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ExtendReservationResponse(_message.Message):
    __slots__ = ("reservation", "log_position")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    log_position: int
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., log_position: _Optional[int] = ...) -> None: ...

class GetReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class GetReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class ListReservationsRequest(_message.Message):
    __slots__ = ("order_id", "customer_id", "page_size", "page_token")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    page_size: int
    page_token: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReservationsResponse(_message.Message):
    __slots__ = ("reservations", "next_page_token", "total_size")
    RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    reservations: _containers.RepeatedCompositeFieldContainer[Reservation]
    next_page_token: str
    total_size: int
    def __init__(self, reservations: _Optional[_Iterable[_Union[Reservation, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ShipReservationRequest(_message.Message):
    __slots__ = ("request_id", "reservation_id", "lines")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reservation_id: str
    lines: _containers.RepeatedCompositeFieldContainer[LineQuantity]
    def __init__(self, request_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[LineQuantity, _Mapping]]] = ...) -> None: ...

class ShipReservationResponse(_message.Message):
    __slots__ = ("reservation", "log_position")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    log_position: int
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., log_position: _Optional[int] = ...) -> None: ...

class CancelReservationLinesRequest(_message.Message):
    __slots__ = ("request_id", "reservation_id", "lines")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reservation_id: str
    lines: _containers.RepeatedCompositeFieldContainer[LineQuantity]
    def __init__(self, request_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[LineQuantity, _Mapping]]] = ...) -> None: ...

class CancelReservationLinesResponse(_message.Message):
    __slots__ = ("reservation", "log_position")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    log_position: int
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., log_position: _Optional[int] = ...) -> None: ...

class WaveOrder(_message.Message):
    __slots__ = ("order_id", "customer_id", "priority", "need_by_time", "lines", "allow_partial")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    NEED_BY_TIME_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    priority: int
    need_by_time: _timestamp_pb2.Timestamp
    lines: _containers.RepeatedCompositeFieldContainer[ReservationLine]
    allow_partial: bool
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., priority: _Optional[int] = ..., need_by_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[ReservationLine, _Mapping]]] = ..., allow_partial: _Optional[bool] = ...) -> None: ...

class AllocateWaveRequest(_message.Message):
    __slots__ = ("request_id", "orders")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    orders: _containers.RepeatedCompositeFieldContainer[WaveOrder]
    def __init__(self, request_id: _Optional[str] = ..., orders: _Optional[_Iterable[_Union[WaveOrder, _Mapping]]] = ...) -> None: ...

class WaveOrderResult(_message.Message):
    __slots__ = ("order_id", "allocation_rank", "reservation", "line_results")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_RANK_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LINE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    allocation_rank: int
    reservation: Reservation
    line_results: _containers.RepeatedCompositeFieldContainer[ReservationLineResult]
    def __init__(self, order_id: _Optional[str] = ..., allocation_rank: _Optional[int] = ..., reservation: _Optional[_Union[Reservation, _Mapping]] = ..., line_results: _Optional[_Iterable[_Union[ReservationLineResult, _Mapping]]] = ...) -> None: ...

class AllocateWaveResponse(_message.Message):
    __slots__ = ("results", "log_position")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[WaveOrderResult]
    log_position: int
    def __init__(self, results: _Optional[_Iterable[_Union[WaveOrderResult, _Mapping]]] = ..., log_position: _Optional[int] = ...) -> None: ...

class ReservationEvent(_message.Message):
    __slots__ = ("version", "type", "reservation_id", "order_id", "customer_id", "line_number", "sku_id", "node_id", "quantity", "backorder_by", "expected_available_time", "log_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    BACKORDER_BY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_AVAILABLE_TIME_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    version: int
    type: ReservationEventType
    reservation_id: str
    order_id: str
    customer_id: str
    line_number: int
    sku_id: str
    node_id: str
    quantity: int
    backorder_by: _timestamp_pb2.Timestamp
    expected_available_time: _timestamp_pb2.Timestamp
    log_id: str
    def __init__(self, version: _Optional[int] = ..., type: _Optional[_Union[ReservationEventType, str]] = ..., reservation_id: _Optional[str] = ..., order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., line_number: _Optional[int] = ..., sku_id: _Optional[str] = ..., node_id: _Optional[str] = ..., quantity: _Optional[int] = ..., backorder_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expected_available_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., log_id: _Optional[str] = ...) -> None: ...

class WatchReservationEventsRequest(_message.Message):
    __slots__ = ("order_id", "customer_id", "resume_after_version", "resume_log_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    RESUME_LOG_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    resume_after_version: int
    resume_log_id: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., resume_after_version: _Optional[int] = ..., resume_log_id: _Optional[str] = ...) -> None: ...

class WatchReservationEventsResponse(_message.Message):
    __slots__ = ("events", "log_id")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ReservationEvent]
    log_id: str
    def __init__(self, events: _Optional[_Iterable[_Union[ReservationEvent, _Mapping]]] = ..., log_id: _Optional[str] = ...) -> None: ...
