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

class AvailabilityView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AVAILABILITY_VIEW_UNSPECIFIED: _ClassVar[AvailabilityView]
    AVAILABILITY_VIEW_BASIC: _ClassVar[AvailabilityView]
    AVAILABILITY_VIEW_FULL: _ClassVar[AvailabilityView]
    AVAILABILITY_VIEW_TOTALS: _ClassVar[AvailabilityView]
AVAILABILITY_VIEW_UNSPECIFIED: AvailabilityView
AVAILABILITY_VIEW_BASIC: AvailabilityView
AVAILABILITY_VIEW_FULL: AvailabilityView
AVAILABILITY_VIEW_TOTALS: AvailabilityView

class GetAvailabilityRequest(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "node_tags", "view", "phasing", "channel_view_id", "customer_segment", "unit", "required_attributes", "with_variants")
    class RequiredAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_TAGS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    PHASING_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_VIEW_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WITH_VARIANTS_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    node_tags: _containers.RepeatedScalarFieldContainer[str]
    view: AvailabilityView
    phasing: TimePhasing
    channel_view_id: str
    customer_segment: str
    unit: str
    required_attributes: _containers.ScalarMap[str, str]
    with_variants: bool
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., node_tags: _Optional[_Iterable[str]] = ..., view: _Optional[_Union[AvailabilityView, str]] = ..., phasing: _Optional[_Union[TimePhasing, _Mapping]] = ..., channel_view_id: _Optional[str] = ..., customer_segment: _Optional[str] = ..., unit: _Optional[str] = ..., required_attributes: _Optional[_Mapping[str, str]] = ..., with_variants: _Optional[bool] = ...) -> None: ...

class TimePhasing(_message.Message):
    __slots__ = ("start_time", "bucket_duration", "bucket_count", "supply_kinds", "wanted_quantity")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    BUCKET_DURATION_FIELD_NUMBER: _ClassVar[int]
    BUCKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUPPLY_KINDS_FIELD_NUMBER: _ClassVar[int]
    WANTED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    bucket_duration: _duration_pb2.Duration
    bucket_count: int
    supply_kinds: _containers.RepeatedScalarFieldContainer[_common_pb2.SupplyKind]
    wanted_quantity: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., bucket_count: _Optional[int] = ..., supply_kinds: _Optional[_Iterable[_Union[_common_pb2.SupplyKind, str]]] = ..., wanted_quantity: _Optional[int] = ...) -> None: ...

class GetAvailabilityResponse(_message.Message):
    __slots__ = ("node_ids", "items", "log_position", "bucket_end_times")
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LOG_POSITION_FIELD_NUMBER: _ClassVar[int]
    BUCKET_END_TIMES_FIELD_NUMBER: _ClassVar[int]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    items: _containers.RepeatedCompositeFieldContainer[SkuAvailability]
    log_position: int
    bucket_end_times: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    def __init__(self, node_ids: _Optional[_Iterable[str]] = ..., items: _Optional[_Iterable[_Union[SkuAvailability, _Mapping]]] = ..., log_position: _Optional[int] = ..., bucket_end_times: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ...) -> None: ...

class SkuAvailability(_message.Message):
    __slots__ = ("sku_id", "status", "base_unit", "available_quantity", "node_available_quantities", "node_on_hand_quantities", "node_held_quantities", "node_allocated_quantities", "node_unavailable_quantities", "node_safety_stock_quantities", "phased_available_quantities", "node_phased_available_quantities", "earliest_time", "earliest_node_id", "unit", "low_stock", "node_damaged_quantities", "node_quarantined_quantities", "node_inspection_quantities", "node_display_quantities", "variants")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BASE_UNIT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    NODE_AVAILABLE_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_ON_HAND_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_HELD_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_ALLOCATED_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_UNAVAILABLE_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_SAFETY_STOCK_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    PHASED_AVAILABLE_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_PHASED_AVAILABLE_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_TIME_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    LOW_STOCK_FIELD_NUMBER: _ClassVar[int]
    NODE_DAMAGED_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_QUARANTINED_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_INSPECTION_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    NODE_DISPLAY_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    status: _common_pb2.ItemStatus
    base_unit: _common_pb2.BaseUnit
    available_quantity: int
    node_available_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_on_hand_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_held_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_allocated_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_unavailable_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_safety_stock_quantities: _containers.RepeatedScalarFieldContainer[int]
    phased_available_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_phased_available_quantities: _containers.RepeatedScalarFieldContainer[int]
    earliest_time: _timestamp_pb2.Timestamp
    earliest_node_id: str
    unit: str
    low_stock: bool
    node_damaged_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_quarantined_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_inspection_quantities: _containers.RepeatedScalarFieldContainer[int]
    node_display_quantities: _containers.RepeatedScalarFieldContainer[int]
    variants: _containers.RepeatedCompositeFieldContainer[VariantAvailability]
    def __init__(self, sku_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ItemStatus, str]] = ..., base_unit: _Optional[_Union[_common_pb2.BaseUnit, str]] = ..., available_quantity: _Optional[int] = ..., node_available_quantities: _Optional[_Iterable[int]] = ..., node_on_hand_quantities: _Optional[_Iterable[int]] = ..., node_held_quantities: _Optional[_Iterable[int]] = ..., node_allocated_quantities: _Optional[_Iterable[int]] = ..., node_unavailable_quantities: _Optional[_Iterable[int]] = ..., node_safety_stock_quantities: _Optional[_Iterable[int]] = ..., phased_available_quantities: _Optional[_Iterable[int]] = ..., node_phased_available_quantities: _Optional[_Iterable[int]] = ..., earliest_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., earliest_node_id: _Optional[str] = ..., unit: _Optional[str] = ..., low_stock: _Optional[bool] = ..., node_damaged_quantities: _Optional[_Iterable[int]] = ..., node_quarantined_quantities: _Optional[_Iterable[int]] = ..., node_inspection_quantities: _Optional[_Iterable[int]] = ..., node_display_quantities: _Optional[_Iterable[int]] = ..., variants: _Optional[_Iterable[_Union[VariantAvailability, _Mapping]]] = ...) -> None: ...

class VariantAvailability(_message.Message):
    __slots__ = ("attributes", "available_quantity", "node_available_quantities")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    NODE_AVAILABLE_QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.ScalarMap[str, str]
    available_quantity: int
    node_available_quantities: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, attributes: _Optional[_Mapping[str, str]] = ..., available_quantity: _Optional[int] = ..., node_available_quantities: _Optional[_Iterable[int]] = ...) -> None: ...

class WatchAvailabilityRequest(_message.Message):
    __slots__ = ("sku_ids", "node_ids", "resume_after_version", "node_tags", "view", "resume_log_id", "required_attributes", "with_variants")
    class RequiredAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_IDS_FIELD_NUMBER: _ClassVar[int]
    NODE_IDS_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    NODE_TAGS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    RESUME_LOG_ID_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    WITH_VARIANTS_FIELD_NUMBER: _ClassVar[int]
    sku_ids: _containers.RepeatedScalarFieldContainer[str]
    node_ids: _containers.RepeatedScalarFieldContainer[str]
    resume_after_version: int
    node_tags: _containers.RepeatedScalarFieldContainer[str]
    view: AvailabilityView
    resume_log_id: str
    required_attributes: _containers.ScalarMap[str, str]
    with_variants: bool
    def __init__(self, sku_ids: _Optional[_Iterable[str]] = ..., node_ids: _Optional[_Iterable[str]] = ..., resume_after_version: _Optional[int] = ..., node_tags: _Optional[_Iterable[str]] = ..., view: _Optional[_Union[AvailabilityView, str]] = ..., resume_log_id: _Optional[str] = ..., required_attributes: _Optional[_Mapping[str, str]] = ..., with_variants: _Optional[bool] = ...) -> None: ...

class WatchAvailabilityResponse(_message.Message):
    __slots__ = ("version", "availability", "full_answer", "log_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    FULL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    version: int
    availability: GetAvailabilityResponse
    full_answer: bool
    log_id: str
    def __init__(self, version: _Optional[int] = ..., availability: _Optional[_Union[GetAvailabilityResponse, _Mapping]] = ..., full_answer: _Optional[bool] = ..., log_id: _Optional[str] = ...) -> None: ...
