import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeliveryMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_METHOD_UNSPECIFIED: _ClassVar[DeliveryMethod]
    DELIVERY_METHOD_SHIP: _ClassVar[DeliveryMethod]
    DELIVERY_METHOD_PICKUP: _ClassVar[DeliveryMethod]
    DELIVERY_METHOD_DROP_SHIP: _ClassVar[DeliveryMethod]

class FillPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILL_POLICY_UNSPECIFIED: _ClassVar[FillPolicy]
    FILL_POLICY_FILL_OR_KILL: _ClassVar[FillPolicy]
    FILL_POLICY_SHIP_COMPLETE: _ClassVar[FillPolicy]
    FILL_POLICY_PARTIAL: _ClassVar[FillPolicy]

class SourcingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCING_MODE_UNSPECIFIED: _ClassVar[SourcingMode]
    SOURCING_MODE_ORDER_LEVEL: _ClassVar[SourcingMode]
    SOURCING_MODE_LINE_LEVEL: _ClassVar[SourcingMode]

class CandidateReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANDIDATE_REASON_UNSPECIFIED: _ClassVar[CandidateReason]
    CANDIDATE_REASON_USED: _ClassVar[CandidateReason]
    CANDIDATE_REASON_NODE_NOT_SELLABLE: _ClassVar[CandidateReason]
    CANDIDATE_REASON_SHORT: _ClassVar[CandidateReason]
    CANDIDATE_REASON_NO_LANE: _ClassVar[CandidateReason]
    CANDIDATE_REASON_NO_DELIVERY: _ClassVar[CandidateReason]
    CANDIDATE_REASON_OUTRANKED: _ClassVar[CandidateReason]
    CANDIDATE_REASON_TOO_LATE: _ClassVar[CandidateReason]
    CANDIDATE_REASON_CAPACITY: _ClassVar[CandidateReason]
DELIVERY_METHOD_UNSPECIFIED: DeliveryMethod
DELIVERY_METHOD_SHIP: DeliveryMethod
DELIVERY_METHOD_PICKUP: DeliveryMethod
DELIVERY_METHOD_DROP_SHIP: DeliveryMethod
FILL_POLICY_UNSPECIFIED: FillPolicy
FILL_POLICY_FILL_OR_KILL: FillPolicy
FILL_POLICY_SHIP_COMPLETE: FillPolicy
FILL_POLICY_PARTIAL: FillPolicy
SOURCING_MODE_UNSPECIFIED: SourcingMode
SOURCING_MODE_ORDER_LEVEL: SourcingMode
SOURCING_MODE_LINE_LEVEL: SourcingMode
CANDIDATE_REASON_UNSPECIFIED: CandidateReason
CANDIDATE_REASON_USED: CandidateReason
CANDIDATE_REASON_NODE_NOT_SELLABLE: CandidateReason
CANDIDATE_REASON_SHORT: CandidateReason
CANDIDATE_REASON_NO_LANE: CandidateReason
CANDIDATE_REASON_NO_DELIVERY: CandidateReason
CANDIDATE_REASON_OUTRANKED: CandidateReason
CANDIDATE_REASON_TOO_LATE: CandidateReason
CANDIDATE_REASON_CAPACITY: CandidateReason

class OrderLine(_message.Message):
    __slots__ = ("sku_id", "quantity", "unit", "required_attributes")
    class RequiredAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    quantity: int
    unit: str
    required_attributes: _containers.ScalarMap[str, str]
    def __init__(self, sku_id: _Optional[str] = ..., quantity: _Optional[int] = ..., unit: _Optional[str] = ..., required_attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Customer(_message.Message):
    __slots__ = ("customer_id", "tier", "segment")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tier: str
    segment: str
    def __init__(self, customer_id: _Optional[str] = ..., tier: _Optional[str] = ..., segment: _Optional[str] = ...) -> None: ...

class PromiseDeliveryRequest(_message.Message):
    __slots__ = ("lines", "postal_code", "pickup_node_id", "delivery_methods", "as_of_time", "zone_id", "country_code", "customer", "fill_policy", "min_fill_percent", "max_shipments", "sourcing_mode", "deliver_after_time", "deliver_before_time", "max_options", "stock_on_hand_only", "channel_view_id", "split_lines")
    LINES_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    PICKUP_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHODS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    FILL_POLICY_FIELD_NUMBER: _ClassVar[int]
    MIN_FILL_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_SHIPMENTS_FIELD_NUMBER: _ClassVar[int]
    SOURCING_MODE_FIELD_NUMBER: _ClassVar[int]
    DELIVER_AFTER_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVER_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    MAX_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    STOCK_ON_HAND_ONLY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_VIEW_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    postal_code: str
    pickup_node_id: str
    delivery_methods: _containers.RepeatedScalarFieldContainer[DeliveryMethod]
    as_of_time: _timestamp_pb2.Timestamp
    zone_id: str
    country_code: str
    customer: Customer
    fill_policy: FillPolicy
    min_fill_percent: int
    max_shipments: int
    sourcing_mode: SourcingMode
    deliver_after_time: _timestamp_pb2.Timestamp
    deliver_before_time: _timestamp_pb2.Timestamp
    max_options: int
    stock_on_hand_only: bool
    channel_view_id: str
    split_lines: bool
    def __init__(self, lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., postal_code: _Optional[str] = ..., pickup_node_id: _Optional[str] = ..., delivery_methods: _Optional[_Iterable[_Union[DeliveryMethod, str]]] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., zone_id: _Optional[str] = ..., country_code: _Optional[str] = ..., customer: _Optional[_Union[Customer, _Mapping]] = ..., fill_policy: _Optional[_Union[FillPolicy, str]] = ..., min_fill_percent: _Optional[int] = ..., max_shipments: _Optional[int] = ..., sourcing_mode: _Optional[_Union[SourcingMode, str]] = ..., deliver_after_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deliver_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_options: _Optional[int] = ..., stock_on_hand_only: _Optional[bool] = ..., channel_view_id: _Optional[str] = ..., split_lines: _Optional[bool] = ...) -> None: ...

class PlannedLine(_message.Message):
    __slots__ = ("sku_id", "quantity", "available_time", "source_node_id")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    quantity: int
    available_time: _timestamp_pb2.Timestamp
    source_node_id: str
    def __init__(self, sku_id: _Optional[str] = ..., quantity: _Optional[int] = ..., available_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source_node_id: _Optional[str] = ...) -> None: ...

class PlannedShipment(_message.Message):
    __slots__ = ("node_id", "lines", "earliest_delivery_time", "latest_delivery_time", "method", "carrier_service", "via_node_id", "departure_time", "cost_minor")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_DELIVERY_TIME_FIELD_NUMBER: _ClassVar[int]
    LATEST_DELIVERY_TIME_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    CARRIER_SERVICE_FIELD_NUMBER: _ClassVar[int]
    VIA_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTURE_TIME_FIELD_NUMBER: _ClassVar[int]
    COST_MINOR_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    lines: _containers.RepeatedCompositeFieldContainer[PlannedLine]
    earliest_delivery_time: _timestamp_pb2.Timestamp
    latest_delivery_time: _timestamp_pb2.Timestamp
    method: DeliveryMethod
    carrier_service: str
    via_node_id: str
    departure_time: _timestamp_pb2.Timestamp
    cost_minor: int
    def __init__(self, node_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[PlannedLine, _Mapping]]] = ..., earliest_delivery_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_delivery_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., method: _Optional[_Union[DeliveryMethod, str]] = ..., carrier_service: _Optional[str] = ..., via_node_id: _Optional[str] = ..., departure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cost_minor: _Optional[int] = ...) -> None: ...

class ShortLine(_message.Message):
    __slots__ = ("sku_id", "quantity")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    quantity: int
    def __init__(self, sku_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class DeliveryOption(_message.Message):
    __slots__ = ("method", "shipments", "promise_token", "earliest_delivery_time", "latest_delivery_time", "cost_minor", "currency", "fill_percent", "short_lines", "score")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SHIPMENTS_FIELD_NUMBER: _ClassVar[int]
    PROMISE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_DELIVERY_TIME_FIELD_NUMBER: _ClassVar[int]
    LATEST_DELIVERY_TIME_FIELD_NUMBER: _ClassVar[int]
    COST_MINOR_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    FILL_PERCENT_FIELD_NUMBER: _ClassVar[int]
    SHORT_LINES_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    method: DeliveryMethod
    shipments: _containers.RepeatedCompositeFieldContainer[PlannedShipment]
    promise_token: str
    earliest_delivery_time: _timestamp_pb2.Timestamp
    latest_delivery_time: _timestamp_pb2.Timestamp
    cost_minor: int
    currency: str
    fill_percent: float
    short_lines: _containers.RepeatedCompositeFieldContainer[ShortLine]
    score: float
    def __init__(self, method: _Optional[_Union[DeliveryMethod, str]] = ..., shipments: _Optional[_Iterable[_Union[PlannedShipment, _Mapping]]] = ..., promise_token: _Optional[str] = ..., earliest_delivery_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_delivery_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cost_minor: _Optional[int] = ..., currency: _Optional[str] = ..., fill_percent: _Optional[float] = ..., short_lines: _Optional[_Iterable[_Union[ShortLine, _Mapping]]] = ..., score: _Optional[float] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("node_id", "reason", "detail")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    reason: CandidateReason
    detail: str
    def __init__(self, node_id: _Optional[str] = ..., reason: _Optional[_Union[CandidateReason, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class PromiseDeliveryResponse(_message.Message):
    __slots__ = ("options", "candidates", "zone_id", "as_of_time", "log_position")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedCompositeFieldContainer[DeliveryOption]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    zone_id: str
    as_of_time: _timestamp_pb2.Timestamp
    log_position: int
    def __init__(self, options: _Optional[_Iterable[_Union[DeliveryOption, _Mapping]]] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., zone_id: _Optional[str] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., log_position: _Optional[int] = ...) -> None: ...
