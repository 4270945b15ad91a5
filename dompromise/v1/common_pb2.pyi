from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ItemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_STATUS_UNSPECIFIED: _ClassVar[ItemStatus]
    ITEM_STATUS_OK: _ClassVar[ItemStatus]
    ITEM_STATUS_SKU_NOT_FOUND: _ClassVar[ItemStatus]
    ITEM_STATUS_NODE_NOT_FOUND: _ClassVar[ItemStatus]
    ITEM_STATUS_NEGATIVE_QUANTITY: _ClassVar[ItemStatus]
    ITEM_STATUS_QUANTITY_TOO_LARGE: _ClassVar[ItemStatus]
    ITEM_STATUS_NOT_APPLIED: _ClassVar[ItemStatus]
    ITEM_STATUS_INSUFFICIENT_STOCK: _ClassVar[ItemStatus]
    ITEM_STATUS_NODE_NOT_SELLABLE: _ClassVar[ItemStatus]
    ITEM_STATUS_PARTIALLY_FILLED: _ClassVar[ItemStatus]
    ITEM_STATUS_LINE_NOT_FOUND: _ClassVar[ItemStatus]
    ITEM_STATUS_EXCEEDS_OPEN_QUANTITY: _ClassVar[ItemStatus]
    ITEM_STATUS_MALFORMED: _ClassVar[ItemStatus]
    ITEM_STATUS_SUPPLY_NOT_FOUND: _ClassVar[ItemStatus]
    ITEM_STATUS_SUPPLY_CONFLICT: _ClassVar[ItemStatus]
    ITEM_STATUS_STALE: _ClassVar[ItemStatus]
    ITEM_STATUS_UNIT_NOT_FOUND: _ClassVar[ItemStatus]
    ITEM_STATUS_VARIANT_LIMIT_REACHED: _ClassVar[ItemStatus]

class UnavailableReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNAVAILABLE_REASON_UNSPECIFIED: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_DAMAGED: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_QUARANTINED: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_INSPECTION: _ClassVar[UnavailableReason]
    UNAVAILABLE_REASON_DISPLAY: _ClassVar[UnavailableReason]

class SupplyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUPPLY_KIND_UNSPECIFIED: _ClassVar[SupplyKind]
    SUPPLY_KIND_IN_TRANSIT: _ClassVar[SupplyKind]
    SUPPLY_KIND_PURCHASE_ORDER: _ClassVar[SupplyKind]
    SUPPLY_KIND_TRANSFER: _ClassVar[SupplyKind]

class NodeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_TYPE_UNSPECIFIED: _ClassVar[NodeType]
    NODE_TYPE_DISTRIBUTION_CENTER: _ClassVar[NodeType]
    NODE_TYPE_WAREHOUSE: _ClassVar[NodeType]
    NODE_TYPE_STORE: _ClassVar[NodeType]
    NODE_TYPE_SUPPLIER_DROP_SHIP: _ClassVar[NodeType]
    NODE_TYPE_THIRD_PARTY_LOGISTICS: _ClassVar[NodeType]

class NodeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_STATUS_UNSPECIFIED: _ClassVar[NodeStatus]
    NODE_STATUS_ENABLED: _ClassVar[NodeStatus]
    NODE_STATUS_DRAIN: _ClassVar[NodeStatus]
    NODE_STATUS_DISABLED: _ClassVar[NodeStatus]

class BaseUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BASE_UNIT_UNSPECIFIED: _ClassVar[BaseUnit]
    BASE_UNIT_EACH: _ClassVar[BaseUnit]
    BASE_UNIT_MILLIMETRE: _ClassVar[BaseUnit]
    BASE_UNIT_GRAM: _ClassVar[BaseUnit]
    BASE_UNIT_MILLILITRE: _ClassVar[BaseUnit]
ITEM_STATUS_UNSPECIFIED: ItemStatus
ITEM_STATUS_OK: ItemStatus
ITEM_STATUS_SKU_NOT_FOUND: ItemStatus
ITEM_STATUS_NODE_NOT_FOUND: ItemStatus
ITEM_STATUS_NEGATIVE_QUANTITY: ItemStatus
ITEM_STATUS_QUANTITY_TOO_LARGE: ItemStatus
ITEM_STATUS_NOT_APPLIED: ItemStatus
ITEM_STATUS_INSUFFICIENT_STOCK: ItemStatus
ITEM_STATUS_NODE_NOT_SELLABLE: ItemStatus
ITEM_STATUS_PARTIALLY_FILLED: ItemStatus
ITEM_STATUS_LINE_NOT_FOUND: ItemStatus
ITEM_STATUS_EXCEEDS_OPEN_QUANTITY: ItemStatus
ITEM_STATUS_MALFORMED: ItemStatus
ITEM_STATUS_SUPPLY_NOT_FOUND: ItemStatus
ITEM_STATUS_SUPPLY_CONFLICT: ItemStatus
ITEM_STATUS_STALE: ItemStatus
ITEM_STATUS_UNIT_NOT_FOUND: ItemStatus
ITEM_STATUS_VARIANT_LIMIT_REACHED: ItemStatus
UNAVAILABLE_REASON_UNSPECIFIED: UnavailableReason
UNAVAILABLE_REASON_DAMAGED: UnavailableReason
UNAVAILABLE_REASON_QUARANTINED: UnavailableReason
UNAVAILABLE_REASON_INSPECTION: UnavailableReason
UNAVAILABLE_REASON_DISPLAY: UnavailableReason
SUPPLY_KIND_UNSPECIFIED: SupplyKind
SUPPLY_KIND_IN_TRANSIT: SupplyKind
SUPPLY_KIND_PURCHASE_ORDER: SupplyKind
SUPPLY_KIND_TRANSFER: SupplyKind
NODE_TYPE_UNSPECIFIED: NodeType
NODE_TYPE_DISTRIBUTION_CENTER: NodeType
NODE_TYPE_WAREHOUSE: NodeType
NODE_TYPE_STORE: NodeType
NODE_TYPE_SUPPLIER_DROP_SHIP: NodeType
NODE_TYPE_THIRD_PARTY_LOGISTICS: NodeType
NODE_STATUS_UNSPECIFIED: NodeStatus
NODE_STATUS_ENABLED: NodeStatus
NODE_STATUS_DRAIN: NodeStatus
NODE_STATUS_DISABLED: NodeStatus
BASE_UNIT_UNSPECIFIED: BaseUnit
BASE_UNIT_EACH: BaseUnit
BASE_UNIT_MILLIMETRE: BaseUnit
BASE_UNIT_GRAM: BaseUnit
BASE_UNIT_MILLILITRE: BaseUnit
