# cython: language_level=3
"""PromiseDeliveryRequest read straight from its wire bytes, for the common request.

Decoding a request with protobuf and reading its ~20 fields through protobuf's Python API (a call per field, a
wrapper per line) cost ~19 us for one line, ~37 us for ten (Promiser.request_of, service/promise.py; parse and
request_of in benchmarks/grpc_ceiling.py --phases), ~3 and ~6 us here (its "read" phase; ~0.9 and ~2.1 us in a
tight loop). Here the bytes are walked once, in C, and checked as Promiser's _validate checks them:
`read_promise_request` returns a PromiseRequestRead, pure data of the request, or None for any request it does
not take. A PromiseRequestResolver, built per network by the Promiser, then does what request_of does with the
engine (SKUs known, units converted, the zone of a postal code from the Promiser's cache, the pickup node known,
as_of from the server's clock when absent) and returns the PromiseRequest request_of would, or None.

None is never an answer: the caller decodes the bytes and asks request_of, which answers exactly as it always
did, errors included. So both decline whatever is doubtful or rare, and everything request_of would refuse:
- a field this reader does not know (protobuf keeps unknown fields; no refusal would name them), a known field
  with another wire type, groups, field number 0, bytes cut short, a varint longer than ten bytes or not minimal;
- any string with a byte past ASCII (so its length in characters is its length in bytes, and it is valid UTF-8:
  protobuf refuses invalid UTF-8 in a proto3 string) or longer than STRING_LENGTH_MAX (the pipeline's guard);
- a line with required attributes, a channel view, any value _validate refuses (a number is taken only within
  its range as sent: protobuf truncates a longer varint to an int32, and such a value is declined, never
  truncated here);
- an unknown SKU, a unit a SKU lacks, a postal code whose zone is not in the Promiser's cache yet (or has none),
  an unknown zone or pickup node (request_of answers NOT_FOUND / INVALID_ARGUMENT, or fills the cache).

Protobuf's wire rules are kept: fields in any order; a later value of a singular field replaces an earlier one;
an embedded message given twice is merged (its fields read into the same place); delivery_methods packed or not.

wire imports nothing above it: the limits are restated here (LIMITS, checked equal to dompromise.limits by
tests/wire/test_promise_request_wire.py), and the resolver is handed the engine's look-ups, the enums and the
PromiseRequest type by the Promiser.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport int64_t, uint8_t, uint64_t

from dompromise.wire.varint cimport Span, get_span, get_varint as _varint

# Field tags (field number << 3 | wire type), protos/dompromise/v1/promise.proto and google/protobuf/timestamp.proto.
cdef enum:
    REQUEST_LINES = (1 << 3) | 2
    REQUEST_POSTAL_CODE = (2 << 3) | 2
    REQUEST_PICKUP_NODE_ID = (3 << 3) | 2
    REQUEST_DELIVERY_METHOD = (4 << 3) | 0          # one value
    REQUEST_DELIVERY_METHODS_PACKED = (4 << 3) | 2  # packed: proto3's own encoding of a repeated enum
    REQUEST_AS_OF_TIME = (5 << 3) | 2
    REQUEST_ZONE_ID = (6 << 3) | 2
    REQUEST_COUNTRY_CODE = (7 << 3) | 2
    REQUEST_CUSTOMER = (8 << 3) | 2
    REQUEST_FILL_POLICY = (9 << 3) | 0
    REQUEST_MIN_FILL_PERCENT = (10 << 3) | 0
    REQUEST_MAX_SHIPMENTS = (11 << 3) | 0
    REQUEST_SOURCING_MODE = (12 << 3) | 0
    REQUEST_DELIVER_AFTER_TIME = (13 << 3) | 2
    REQUEST_DELIVER_BEFORE_TIME = (14 << 3) | 2
    REQUEST_MAX_OPTIONS = (15 << 3) | 0
    REQUEST_STOCK_ON_HAND_ONLY = (16 << 3) | 0
    REQUEST_CHANNEL_VIEW_ID = (17 << 3) | 2
    REQUEST_SPLIT_LINES = (18 << 3) | 0
    LINE_SKU_ID = (1 << 3) | 2
    LINE_QUANTITY = (2 << 3) | 0
    LINE_UNIT = (3 << 3) | 2
    CUSTOMER_CUSTOMER_ID = (1 << 3) | 2
    CUSTOMER_TIER = (2 << 3) | 2
    CUSTOMER_SEGMENT = (3 << 3) | 2
    TIMESTAMP_SECONDS = (1 << 3) | 0
    TIMESTAMP_NANOS = (2 << 3) | 0

# dompromise/limits.py's, restated (wire imports nothing above it; a test checks them equal).
cdef enum:
    ID_LENGTH_MAX = 128
    POSTAL_CODE_LENGTH_MAX = 16
    COUNTRY_CODE_LENGTH_MAX = 2
    STRING_LENGTH_MAX = 1_024
    PROMISE_LINES_MAX = 5_000
    PROMISE_OPTIONS_MAX = 20
    NANOS_PER_SECOND = 1_000_000_000
    # SKU ids, and (SKU id, unit) pairs, a resolver remembers the engine knows (the client's text: bounded).
    SKUS_KEPT_MAX = 16_384
    # The numbers _validate takes (proto enums DeliveryMethod, FillPolicy, SourcingMode).
    METHOD_MAX = 3
    FILL_POLICY_MAX = 3
    SOURCING_MAX = 2
    MIN_FILL_PERCENT_MAX = 100

cdef int64_t QUANTITY_MAX = 1_000_000_000_000_000
cdef int64_t TIME_SECONDS_MAX = 7_258_118_400

LIMITS = {
    "ID_LENGTH_MAX": ID_LENGTH_MAX,
    "POSTAL_CODE_LENGTH_MAX": POSTAL_CODE_LENGTH_MAX,
    "COUNTRY_CODE_LENGTH_MAX": COUNTRY_CODE_LENGTH_MAX,
    "STRING_LENGTH_MAX": STRING_LENGTH_MAX,
    "PROMISE_LINES_MAX": PROMISE_LINES_MAX,
    "PROMISE_OPTIONS_MAX": PROMISE_OPTIONS_MAX,
    "QUANTITY_MAX": QUANTITY_MAX,
    "TIME_SECONDS_MAX": TIME_SECONDS_MAX,
}

SKUS_KEPT = SKUS_KEPT_MAX  # for the tests

# PromiseRequest's fields in order (promise/types.py): the resolver builds it positionally.
REQUEST_FIELDS = (
    "sku_ids",
    "quantities",
    "as_of_ns",
    "zone_id",
    "pickup_node_id",
    "methods",
    "fill_policy",
    "min_fill_percent",
    "max_shipments",
    "sourcing",
    "allow_future_supply",
    "deliver_after_ns",
    "deliver_before_ns",
    "max_options",
    "customer_tier",
    "channel_view_id",
    "customer_segment",
    "required_attributes",
    "split_lines",
)

_tuple_new = tuple.__new__  # a NamedTuple from its values, without its Python-level __new__


cdef struct Timestamp:
    bint present
    uint64_t seconds
    uint64_t nanos



cdef inline bint _string(const uint8_t* data, Py_ssize_t end, Py_ssize_t* at, Span* span) noexcept nogil:
    """Reads a string field's body (after its tag) into `span`: False when cut short, longer than
    STRING_LENGTH_MAX or with a byte past ASCII."""
    cdef uint64_t size
    cdef Py_ssize_t i
    if not _varint(data, end, at, &size) or size > <uint64_t>(end - at[0]) or size > STRING_LENGTH_MAX:
        return False
    span.start = at[0]
    span.size = <Py_ssize_t>size
    for i in range(span.start, span.start + span.size):
        if data[i] >= 0x80:
            return False
    at[0] += span.size
    return True


cdef bint _timestamp(const uint8_t* data, Span body, Timestamp* out) noexcept nogil:
    """A Timestamp's fields merged into `out` (a second occurrence of the field merges into the first)."""
    cdef Py_ssize_t at = body.start, end = body.start + body.size
    cdef uint64_t tag
    out.present = True
    while at < end:
        if not _varint(data, end, &at, &tag):
            return False
        if tag == TIMESTAMP_SECONDS:
            if not _varint(data, end, &at, &out.seconds):
                return False
        elif tag == TIMESTAMP_NANOS:
            if not _varint(data, end, &at, &out.nanos):
                return False
        else:
            return False
    return True


cdef bint _customer(const uint8_t* data, Span body, Span* tier) noexcept nogil:
    """A Customer's fields: its tier into `tier` (merged, as _timestamp); customer_id and segment checked only (a
    segment counts only with a channel view, which this reader declines)."""
    cdef Py_ssize_t at = body.start, end = body.start + body.size
    cdef uint64_t tag
    cdef Span ignored
    while at < end:
        if not _varint(data, end, &at, &tag):
            return False
        if tag == CUSTOMER_TIER:
            if not _string(data, end, &at, tier):
                return False
        elif tag == CUSTOMER_CUSTOMER_ID or tag == CUSTOMER_SEGMENT:
            if not _string(data, end, &at, &ignored):
                return False
        else:
            return False
    return True


cdef bint _line(const uint8_t* data, Span body, Span* sku_id, uint64_t* quantity, Span* unit) noexcept nogil:
    """An OrderLine's fields, checked as _validate checks them: an id of 1 to ID_LENGTH_MAX printable ASCII
    characters without spaces, a quantity of 1 to QUANTITY_MAX; required_attributes declined."""
    cdef Py_ssize_t at = body.start, end = body.start + body.size, i
    cdef uint64_t tag
    sku_id.start = sku_id.size = unit.start = unit.size = 0
    quantity[0] = 0
    while at < end:
        if not _varint(data, end, &at, &tag):
            return False
        if tag == LINE_SKU_ID:
            if not _string(data, end, &at, sku_id):
                return False
        elif tag == LINE_QUANTITY:
            if not _varint(data, end, &at, quantity):
                return False
        elif tag == LINE_UNIT:
            if not _string(data, end, &at, unit):
                return False
        else:
            return False
    if not 0 < sku_id.size <= ID_LENGTH_MAX or not 0 < quantity[0] <= <uint64_t>QUANTITY_MAX:
        return False
    for i in range(sku_id.start, sku_id.start + sku_id.size):
        if not 0x21 <= data[i] <= 0x7E:  # printable, not a space (str.isprintable() of ASCII)
            return False
    return True


cdef inline bint _time_ok(Timestamp* time) noexcept nogil:
    """validation.time_violations: nanos 0 to 10^9 - 1, after 1970 and before 2200."""
    return time.nanos < NANOS_PER_SECOND and 0 < time.seconds < <uint64_t>TIME_SECONDS_MAX


cdef inline int64_t _time_ns(Timestamp* time) noexcept nogil:
    return <int64_t>time.seconds * NANOS_PER_SECOND + <int64_t>time.nanos


cdef str _text(const uint8_t* data, Span span):
    """A checked span (ASCII) as a str."""
    if span.size == 0:
        return ""
    return PyUnicode_DecodeASCII(<const char*>data + span.start, span.size, NULL)


cdef class PromiseRequestRead:
    """A PromiseDeliveryRequest read from its bytes and checked as _validate checks it: its data as the
    PromiseRequest needs it (quantities in their lines' units), and the bytes (to decode them after all when the
    resolver declines)."""

    cdef readonly bytes data
    cdef readonly tuple sku_ids
    cdef readonly tuple quantities
    cdef readonly tuple units  # each line's unit ("": base units); None when no line names one
    cdef readonly str postal_code
    cdef readonly str country_code
    cdef readonly str zone_id
    cdef readonly str pickup_node_id
    cdef readonly str customer_tier
    cdef readonly int methods  # bit 1 << method of each method named; 0: none named (all)
    cdef readonly int fill_policy
    cdef readonly int sourcing_mode
    cdef readonly int min_fill_percent
    cdef readonly int max_shipments
    cdef readonly int max_options
    cdef readonly bint stock_on_hand_only
    cdef readonly bint split_lines
    cdef readonly bint has_as_of
    cdef readonly int64_t as_of_ns
    cdef readonly int64_t deliver_after_ns  # 0: not given
    cdef readonly int64_t deliver_before_ns


def read_promise_request(bytes data not None):
    """The request `data` encodes, checked, or None when it is not a common request (see the module doc)."""
    cdef const uint8_t* buf = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(data), at = 0, packed_end
    cdef uint64_t tag, value
    cdef Span body, sku_id, unit
    cdef Span postal_code, country_code, zone_id, pickup_node_id, tier
    cdef Timestamp as_of, after, before
    cdef uint64_t quantity, fill_policy = 0, sourcing_mode = 0, min_fill_percent = 0, max_shipments = 0
    cdef uint64_t max_options = 0, stock_on_hand_only = 0, split_lines = 0
    cdef int methods = 0
    cdef Py_ssize_t line_count = 0
    cdef bint any_unit = False
    cdef list sku_ids = [], quantities = [], units = []
    postal_code.start = country_code.start = zone_id.start = pickup_node_id.start = tier.start = 0
    postal_code.size = country_code.size = zone_id.size = pickup_node_id.size = tier.size = 0
    as_of.present = after.present = before.present = False
    as_of.seconds = as_of.nanos = after.seconds = after.nanos = before.seconds = before.nanos = 0
    while at < end:
        if not _varint(buf, end, &at, &tag):
            return None
        if tag == REQUEST_LINES:
            line_count += 1
            if line_count > PROMISE_LINES_MAX:
                return None
            if not get_span(buf, end, &at, &body) or not _line(buf, body, &sku_id, &quantity, &unit):
                return None
            sku_ids.append(_text(buf, sku_id))
            quantities.append(<int64_t>quantity)
            units.append(_text(buf, unit))
            any_unit = any_unit or unit.size > 0
        elif tag == REQUEST_POSTAL_CODE:
            if not _string(buf, end, &at, &postal_code):
                return None
        elif tag == REQUEST_ZONE_ID:
            if not _string(buf, end, &at, &zone_id):
                return None
        elif tag == REQUEST_COUNTRY_CODE:
            if not _string(buf, end, &at, &country_code):
                return None
        elif tag == REQUEST_PICKUP_NODE_ID:
            if not _string(buf, end, &at, &pickup_node_id):
                return None
        elif tag == REQUEST_DELIVERY_METHOD:
            if not _varint(buf, end, &at, &value) or not 0 < value <= METHOD_MAX:
                return None
            methods |= 1 << value
        elif tag == REQUEST_DELIVERY_METHODS_PACKED:
            if not get_span(buf, end, &at, &body):
                return None
            at, packed_end = body.start, body.start + body.size
            while at < packed_end:
                if not _varint(buf, packed_end, &at, &value) or not 0 < value <= METHOD_MAX:
                    return None
                methods |= 1 << value
        elif tag == REQUEST_AS_OF_TIME:
            if not get_span(buf, end, &at, &body) or not _timestamp(buf, body, &as_of):
                return None
        elif tag == REQUEST_DELIVER_AFTER_TIME:
            if not get_span(buf, end, &at, &body) or not _timestamp(buf, body, &after):
                return None
        elif tag == REQUEST_DELIVER_BEFORE_TIME:
            if not get_span(buf, end, &at, &body) or not _timestamp(buf, body, &before):
                return None
        elif tag == REQUEST_CUSTOMER:
            if not get_span(buf, end, &at, &body) or not _customer(buf, body, &tier):
                return None
        elif tag == REQUEST_FILL_POLICY:
            if not _varint(buf, end, &at, &fill_policy):
                return None
        elif tag == REQUEST_SOURCING_MODE:
            if not _varint(buf, end, &at, &sourcing_mode):
                return None
        elif tag == REQUEST_MIN_FILL_PERCENT:
            if not _varint(buf, end, &at, &min_fill_percent):
                return None
        elif tag == REQUEST_MAX_SHIPMENTS:
            if not _varint(buf, end, &at, &max_shipments):
                return None
        elif tag == REQUEST_MAX_OPTIONS:
            if not _varint(buf, end, &at, &max_options):
                return None
        elif tag == REQUEST_STOCK_ON_HAND_ONLY:
            if not _varint(buf, end, &at, &stock_on_hand_only):
                return None
        elif tag == REQUEST_SPLIT_LINES:
            if not _varint(buf, end, &at, &split_lines):
                return None
        elif tag == REQUEST_CHANNEL_VIEW_ID:
            # An empty view id is no view; any other is declined (the view and segment are checked by the engine).
            if not _string(buf, end, &at, &body) or body.size != 0:
                return None
        else:
            return None
    # What _validate refuses, and the values taken only as sent (a bool 0 or 1, numbers within their ranges).
    if line_count == 0:
        return None
    if postal_code.size == 0 and zone_id.size == 0 and pickup_node_id.size == 0:
        return None
    if postal_code.size > POSTAL_CODE_LENGTH_MAX or country_code.size > COUNTRY_CODE_LENGTH_MAX:
        return None
    if postal_code.size != 0 and zone_id.size != 0:
        return None
    if fill_policy > FILL_POLICY_MAX or sourcing_mode > SOURCING_MAX or min_fill_percent > MIN_FILL_PERCENT_MAX:
        return None
    if max_shipments > PROMISE_OPTIONS_MAX or max_options > PROMISE_OPTIONS_MAX:
        return None
    if stock_on_hand_only > 1 or split_lines > 1:
        return None
    if (as_of.present and not _time_ok(&as_of)) or (after.present and not _time_ok(&after)):
        return None
    if before.present and not _time_ok(&before):
        return None
    if before.present and after.present and _time_ns(&before) < _time_ns(&after):
        return None
    if before.present and as_of.present and _time_ns(&before) < _time_ns(&as_of):
        return None
    cdef PromiseRequestRead read = PromiseRequestRead.__new__(PromiseRequestRead)
    read.data = data
    read.sku_ids = tuple(sku_ids)
    read.quantities = tuple(quantities)
    read.units = tuple(units) if any_unit else None
    read.postal_code = _text(buf, postal_code)
    read.country_code = _text(buf, country_code)
    read.zone_id = _text(buf, zone_id)
    read.pickup_node_id = _text(buf, pickup_node_id)
    read.customer_tier = _text(buf, tier)
    read.methods = methods
    read.fill_policy = <int>fill_policy
    read.sourcing_mode = <int>sourcing_mode
    read.min_fill_percent = <int>min_fill_percent
    read.max_shipments = <int>max_shipments
    read.max_options = <int>max_options
    read.stock_on_hand_only = stock_on_hand_only == 1
    read.split_lines = split_lines == 1
    read.has_as_of = as_of.present
    read.as_of_ns = _time_ns(&as_of) if as_of.present else 0
    read.deliver_after_ns = _time_ns(&after) if after.present else 0
    read.deliver_before_ns = _time_ns(&before) if before.present else 0
    return read


cdef class PromiseRequestResolver:
    """A read request resolved against one network, as Promiser.request_of resolves a message: the PromiseRequest,
    or None for a request request_of would refuse or that needs what only it does (see the module doc).

    Built by the Promiser for each network it builds (service/promise.py), with its look-ups: `sku(sku_id)` and
    `node(node_id)` (None: unknown), `unit_size(sku_id, unit)` (base units per unit, 0: none such), the zone ids,
    the Promiser's dict of zones by (postal code, country code) (a missing key: not looked up yet; None: no zone),
    its clock, and the enums: `methods` the frozenset of Methods per bit set (index 0: every method),
    `fill_policies` and `sourcings` by number (0: the default).

    The SKUs found known, and the unit sizes found, are remembered (a Python call per line cost ~0.3 us, more than
    the rest of the line): a resolver lives as long as its network and catalog (the Promiser builds another when
    either changes), so what the engine answered stays true for it."""

    cdef object _request_type
    cdef object _sku
    cdef object _unit_size
    cdef frozenset _zone_ids
    cdef dict _zones_by_postal_code
    cdef object _node
    cdef object _clock_ns
    cdef tuple _methods
    cdef tuple _fill_policies
    cdef tuple _sourcings
    cdef object _max_options_default
    cdef dict _known_skus  # sku_id -> True: sku(sku_id) is not None
    cdef dict _unit_sizes  # (sku_id, unit) -> unit_size(sku_id, unit), when 1 to QUANTITY_MAX

    def __init__(
        self,
        request_type,
        sku,
        unit_size,
        frozenset zone_ids not None,
        dict zones_by_postal_code not None,
        node,
        clock_ns,
        tuple methods not None,
        tuple fill_policies not None,
        tuple sourcings not None,
        int max_options_default,
    ):
        if tuple(request_type._fields) != REQUEST_FIELDS:
            raise ValueError(f"the request type's fields are not {REQUEST_FIELDS}")
        if len(methods) != 1 << METHOD_MAX or len(fill_policies) != FILL_POLICY_MAX + 1:
            raise ValueError("a frozenset of methods per bit set (8), a fill policy per number (0 to 3)")
        if len(sourcings) != SOURCING_MAX + 1:
            raise ValueError("a sourcing mode per number (0 to 2)")
        self._request_type = request_type
        self._sku = sku
        self._unit_size = unit_size
        self._zone_ids = zone_ids
        self._zones_by_postal_code = zones_by_postal_code
        self._node = node
        self._clock_ns = clock_ns
        self._methods = methods
        self._fill_policies = fill_policies
        self._sourcings = sourcings
        self._max_options_default = max_options_default
        self._known_skus = {}
        self._unit_sizes = {}

    def resolve(self, PromiseRequestRead read not None):
        cdef dict known = self._known_skus
        cdef object zone
        cdef PyObject* found
        cdef str sku_id
        for sku_id in read.sku_ids:
            if PyDict_GetItem(known, sku_id) == NULL:
                if self._sku(sku_id) is None:
                    return None  # NOT_FOUND naming the line
                if len(known) >= SKUS_KEPT_MAX:
                    known.clear()
                known[sku_id] = True
        quantities = read.quantities if read.units is None else self._base_quantities(read)
        if quantities is None:
            return None
        if read.zone_id:
            if read.zone_id not in self._zone_ids:
                return None  # NOT_FOUND
            zone = read.zone_id
        elif read.postal_code:
            found = PyDict_GetItem(self._zones_by_postal_code, (read.postal_code, read.country_code))
            if found == NULL or type(<object>found) is not str or not <object>found:
                return None  # not looked up yet, or no zone (NOT_FOUND)
            zone = <object>found
        else:
            zone = None
        if read.pickup_node_id and self._node(read.pickup_node_id) is None:
            return None  # NOT_FOUND
        return _tuple_new(
            self._request_type,
            (
                read.sku_ids,
                quantities,
                read.as_of_ns if read.has_as_of else self._clock_ns(),
                zone,
                read.pickup_node_id or None,
                self._methods[read.methods >> 1],
                self._fill_policies[read.fill_policy],
                read.min_fill_percent or 1,
                read.max_shipments or 1,
                self._sourcings[read.sourcing_mode],
                not read.stock_on_hand_only,
                read.deliver_after_ns,
                read.deliver_before_ns,
                read.max_options or self._max_options_default,
                read.customer_tier,
                "",  # no channel view (declined)
                "",  # a segment counts only with a view
                (),  # no required attributes (declined)
                read.split_lines,
            ),
        )

    cdef tuple _base_quantities(self, PromiseRequestRead read):
        """validation.base_quantities: each line in base units; None for a unit its SKU lacks or more than
        QUANTITY_MAX base units (INVALID_ARGUMENT)."""
        cdef list quantities = []
        cdef dict sizes = self._unit_sizes
        cdef Py_ssize_t i
        cdef int64_t quantity
        cdef object size
        cdef PyObject* found
        for i in range(len(read.sku_ids)):
            quantity = read.quantities[i]
            unit = read.units[i]
            if unit:
                key = (read.sku_ids[i], unit)
                found = PyDict_GetItem(sizes, key)
                if found != NULL:
                    size = <object>found
                else:
                    size = self._unit_size(read.sku_ids[i], unit)
                    if type(size) is not int or not 0 < size <= QUANTITY_MAX:
                        return None  # no such unit (INVALID_ARGUMENT), or a size no quantity fits
                    if len(sizes) >= SKUS_KEPT_MAX:
                        sizes.clear()
                    sizes[key] = size
                if quantity > QUANTITY_MAX // <int64_t>size:
                    return None  # more than QUANTITY_MAX base units (INVALID_ARGUMENT)
                quantity *= <int64_t>size
            quantities.append(quantity)
        return tuple(quantities)
