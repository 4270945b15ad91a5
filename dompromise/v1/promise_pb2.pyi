import datetime

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
DELIVERY_METHOD_UNSPECIFIED: DeliveryMethod
DELIVERY_METHOD_SHIP: DeliveryMethod
DELIVERY_METHOD_PICKUP: DeliveryMethod
DELIVERY_METHOD_DROP_SHIP: DeliveryMethod

class OrderLine(_message.Message):
    __slots__ = ("sku_id", "quantity")
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku_id: str
    quantity: int
    def __init__(self, sku_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class PromiseDeliveryRequest(_message.Message):
    __slots__ = ("lines", "postal_code", "pickup_node_id", "delivery_methods", "as_of_time")
    LINES_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    PICKUP_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHODS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    postal_code: str
    pickup_node_id: str
    delivery_methods: _containers.RepeatedScalarFieldContainer[DeliveryMethod]
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., postal_code: _Optional[str] = ..., pickup_node_id: _Optional[str] = ..., delivery_methods: _Optional[_Iterable[_Union[DeliveryMethod, str]]] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PlannedShipment(_message.Message):
    __slots__ = ("node_id", "lines", "earliest_delivery_time", "latest_delivery_time")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_DELIVERY_TIME_FIELD_NUMBER: _ClassVar[int]
    LATEST_DELIVERY_TIME_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    earliest_delivery_time: _timestamp_pb2.Timestamp
    latest_delivery_time: _timestamp_pb2.Timestamp
    def __init__(self, node_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., earliest_delivery_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_delivery_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeliveryOption(_message.Message):
    __slots__ = ("method", "shipments", "promise_token")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SHIPMENTS_FIELD_NUMBER: _ClassVar[int]
    PROMISE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    method: DeliveryMethod
    shipments: _containers.RepeatedCompositeFieldContainer[PlannedShipment]
    promise_token: str
    def __init__(self, method: _Optional[_Union[DeliveryMethod, str]] = ..., shipments: _Optional[_Iterable[_Union[PlannedShipment, _Mapping]]] = ..., promise_token: _Optional[str] = ...) -> None: ...

class PromiseDeliveryResponse(_message.Message):
    __slots__ = ("options",)
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedCompositeFieldContainer[DeliveryOption]
    def __init__(self, options: _Optional[_Iterable[_Union[DeliveryOption, _Mapping]]] = ...) -> None: ...
