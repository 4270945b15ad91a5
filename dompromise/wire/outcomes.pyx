# cython: language_level=3
"""ReserveInventoryResponse and UpdateStockResponse written as protobuf wire bytes from a write's Outcome.

The message path (service/reservation.py, service/inventory.py) builds the
response message field by field from the Outcome (reservations/book.py) and
serializes it. Here the same bytes are written in two passes over the Outcome:
the sizes of the nested messages, then the bytes into one bytes object. No
message is built.

The bytes are the generated classes' (tests/service/test_outcome_bytes.py
checks it with hypothesis): fields in field-number order, proto3 defaults
omitted (a 0, an empty string), a present Timestamp written even when empty,
every int64 and enum a varint of its two's complement (a negative one takes 10
bytes), as protobuf's serializer writes them. The fields (reservation.proto,
inventory.proto, google/protobuf/timestamp.proto):

  ReserveInventoryResponse  reservation = 1, line_results = 2, log_position = 3
  Reservation               reservation_id = 1, state = 2, lines = 3, expire_time = 4, create_time = 5,
                            order_id = 6, customer_id = 7
  ReservationLine           sku_id = 1, node_id = 2, quantity = 3, shipped_quantity = 4, backorder_by = 5
  ReservationLineResult     status = 1, reserved_quantity = 2, available_quantity = 3
  UpdateStockResponse       results = 1, applied_count = 2, log_position = 3, stale_count = 4
  StockUpdateResult         status = 1, on_hand_quantity = 2, available_quantity = 3
  Timestamp                 seconds = 1, nanos = 2

A reservation line holding attribute values (held_attributes, a map: its
entries' order is the serializer's own) is not written here: reserve_response
returns None and the caller serializes the message.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

from dompromise.wire.varint cimport put_varint
from dompromise.wire.varint cimport varint_size as _varint_size

# ItemStatus STALE (common.proto): UpdateStockResponse.stale_count counts them.
cdef enum:
    ITEM_STALE = 15

cdef enum:
    NANOS_PER_SECOND = 1_000_000_000


cdef inline Py_ssize_t _int_field_size(int64_t value) noexcept nogil:
    """A varint field of tag < 16 (one byte): nothing when 0 (proto3 omits it)."""
    return 0 if value == 0 else 1 + _varint_size(<uint64_t>value)


cdef inline Py_ssize_t _bytes_field_size(Py_ssize_t size) noexcept nogil:
    """A length-delimited field of tag < 16 holding `size` bytes (written even when empty: a present message)."""
    return 1 + _varint_size(<uint64_t>size) + size


cdef inline Py_ssize_t _text_field_size(Py_ssize_t size) noexcept nogil:
    """A string field: nothing when empty."""
    return 0 if size == 0 else _bytes_field_size(size)


cdef struct Out:
    uint8_t* data
    Py_ssize_t at


cdef inline void _varint(Out* out, uint64_t value) noexcept nogil:
    out.at = put_varint(out.data + out.at, value) - out.data


cdef inline void _int_field(Out* out, uint8_t tag, int64_t value) noexcept nogil:
    if value != 0:
        out.data[out.at] = tag
        out.at += 1
        _varint(out, <uint64_t>value)


cdef inline void _head(Out* out, uint8_t tag, Py_ssize_t size) noexcept nogil:
    out.data[out.at] = tag
    out.at += 1
    _varint(out, <uint64_t>size)


cdef inline void _text_field(Out* out, uint8_t tag, const char* text, Py_ssize_t size) noexcept nogil:
    if size != 0:
        _head(out, tag, size)
        memcpy(out.data + out.at, text, size)
        out.at += size


cdef struct Stamp:
    int64_t seconds
    int32_t nanos
    Py_ssize_t size


cdef inline Stamp _stamp(int64_t time_ns) noexcept nogil:
    """Timestamp.FromNanoseconds: seconds rounded down, nanos 0 to 999,999,999."""
    cdef Stamp stamp
    stamp.seconds = time_ns // NANOS_PER_SECOND
    cdef int64_t nanos = time_ns % NANOS_PER_SECOND
    if nanos < 0:  # C division truncates toward zero: floor it
        nanos += NANOS_PER_SECOND
        stamp.seconds -= 1
    stamp.nanos = <int32_t>nanos
    stamp.size = _int_field_size(stamp.seconds) + _int_field_size(stamp.nanos)
    return stamp


cdef inline void _stamp_field(Out* out, uint8_t tag, Stamp stamp) noexcept nogil:
    _head(out, tag, stamp.size)
    _int_field(out, 0x08, stamp.seconds)
    _int_field(out, 0x10, stamp.nanos)


cdef inline const char* _utf8(object text, Py_ssize_t* size) except NULL:
    return PyUnicode_AsUTF8AndSize(text, size)


cdef Py_ssize_t _results_size(tuple status, tuple quantity, tuple available) except -1:
    """What the per-item results (field 1 or 2, three varints each) take, tags included."""
    cdef Py_ssize_t i, size = 0, item
    for i in range(min(len(status), len(quantity), len(available))):
        item = (_int_field_size(<int64_t>status[i]) + _int_field_size(<int64_t>quantity[i])
                + _int_field_size(<int64_t>available[i]))
        size += _bytes_field_size(item)
    return size


cdef void _results(Out* out, uint8_t tag, tuple status, tuple quantity, tuple available) except *:
    cdef Py_ssize_t i
    cdef int64_t s, q, a
    for i in range(min(len(status), len(quantity), len(available))):
        s, q, a = status[i], quantity[i], available[i]
        _head(out, tag, _int_field_size(s) + _int_field_size(q) + _int_field_size(a))
        _int_field(out, 0x08, s)
        _int_field(out, 0x10, q)
        _int_field(out, 0x18, a)


cdef Py_ssize_t _line_size(tuple line) except -1:
    """A ReservationLine's body: (sku_id, node_id, quantity, shipped_quantity, backorder_by_ns)."""
    cdef Py_ssize_t sku_size, node_size
    cdef int64_t due_ns = line[4]
    _utf8(line[0], &sku_size)
    _utf8(line[1], &node_size)
    cdef Py_ssize_t size = (_text_field_size(sku_size) + _text_field_size(node_size)
                            + _int_field_size(<int64_t>line[2]) + _int_field_size(<int64_t>line[3]))
    if due_ns != 0:
        size += _bytes_field_size(_stamp(due_ns).size)
    return size


cdef void _line(Out* out, tuple line, Py_ssize_t size) except *:
    cdef Py_ssize_t sku_size, node_size
    cdef const char* sku = _utf8(line[0], &sku_size)
    cdef const char* node = _utf8(line[1], &node_size)
    cdef int64_t due_ns = line[4]
    _head(out, 0x1A, size)  # Reservation.lines = 3
    _text_field(out, 0x0A, sku, sku_size)
    _text_field(out, 0x12, node, node_size)
    _int_field(out, 0x18, <int64_t>line[2])
    _int_field(out, 0x20, <int64_t>line[3])
    if due_ns != 0:
        _stamp_field(out, 0x2A, _stamp(due_ns))


cdef Py_ssize_t _reservation_size(object view, tuple lines, list line_sizes) except -1:
    cdef Py_ssize_t id_size, order_size, customer_size, size, line_size
    _utf8(view.reservation_id, &id_size)
    _utf8(view.order_id, &order_size)
    _utf8(view.customer_id, &customer_size)
    size = (_text_field_size(id_size) + _int_field_size(<int64_t>view.state)
            + _bytes_field_size(_stamp(view.expire_ns).size) + _bytes_field_size(_stamp(view.create_ns).size)
            + _text_field_size(order_size) + _text_field_size(customer_size))
    for line in lines:
        line_size = _line_size(line)
        line_sizes.append(line_size)
        size += _bytes_field_size(line_size)
    return size


cdef void _reservation(Out* out, object view, tuple lines, list line_sizes, Py_ssize_t size) except *:
    cdef Py_ssize_t id_size, order_size, customer_size, i
    cdef const char* reservation_id = _utf8(view.reservation_id, &id_size)
    cdef const char* order_id = _utf8(view.order_id, &order_size)
    cdef const char* customer_id = _utf8(view.customer_id, &customer_size)
    _head(out, 0x0A, size)  # ReserveInventoryResponse.reservation = 1
    _text_field(out, 0x0A, reservation_id, id_size)
    _int_field(out, 0x10, <int64_t>view.state)
    for i in range(len(lines)):
        _line(out, <tuple>lines[i], <Py_ssize_t>line_sizes[i])
    _stamp_field(out, 0x22, _stamp(view.expire_ns))
    _stamp_field(out, 0x2A, _stamp(view.create_ns))
    _text_field(out, 0x32, order_id, order_size)
    _text_field(out, 0x3A, customer_id, customer_size)


def reserve_response(outcome):
    """ReserveInventoryResponse(reservation, line_results, log_position) of a reserve's Outcome, as bytes;
    None when a line holds attribute values (the caller serializes the message)."""
    view = outcome.reservation
    cdef tuple status = outcome.item_status, quantity = outcome.item_quantity, available = outcome.item_available
    cdef int64_t log_position = outcome.log_position
    cdef Py_ssize_t reservation_size = 0, size
    cdef list line_sizes = []
    cdef tuple lines = ()
    if view is not None:
        if any(view.line_attributes):
            return None
        lines = view.lines
        reservation_size = _reservation_size(view, lines, line_sizes)
        size = _bytes_field_size(reservation_size)
    else:
        size = 0
    size += _results_size(status, quantity, available) + _int_field_size(log_position)
    cdef bytes written = PyBytes_FromStringAndSize(NULL, size)
    cdef Out out
    out.data = <uint8_t*>PyBytes_AS_STRING(written)
    out.at = 0
    if view is not None:
        _reservation(&out, view, lines, line_sizes, reservation_size)
    _results(&out, 0x12, status, quantity, available)
    _int_field(&out, 0x18, log_position)
    assert out.at == size, "the sizes and the bytes written agree"
    return written


def update_stock_response(outcome):
    """UpdateStockResponse(results, applied_count, log_position, stale_count) of a stock update's Outcome."""
    cdef tuple status = outcome.item_status, quantity = outcome.item_quantity, available = outcome.item_available
    cdef int64_t applied_count = outcome.applied_count, log_position = outcome.log_position, stale_count = 0
    cdef Py_ssize_t i
    for i in range(len(status)):
        if <int64_t>status[i] == ITEM_STALE:
            stale_count += 1
    cdef Py_ssize_t size = (_results_size(status, quantity, available) + _int_field_size(applied_count)
                            + _int_field_size(log_position) + _int_field_size(stale_count))
    cdef bytes written = PyBytes_FromStringAndSize(NULL, size)
    cdef Out out
    out.data = <uint8_t*>PyBytes_AS_STRING(written)
    out.at = 0
    _results(&out, 0x0A, status, quantity, available)
    _int_field(&out, 0x10, applied_count)
    _int_field(&out, 0x18, log_position)
    _int_field(&out, 0x20, stale_count)
    assert out.at == size, "the sizes and the bytes written agree"
    return written
