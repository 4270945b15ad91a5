# cython: language_level=3
"""Reserve records applied from their log bytes: no LogRecord, no Command, no per-line Python object.

The records every replica applies most are one- and few-line reserves. Here
one is decoded straight from its bytes (the log's payload), its lines
interned and held through `Core.reserve_lines` (C arrays, the core's one
judge of a RESERVE), and the books kept as records.py keeps them: the
reservation added to the book, the answer remembered under its request_id
(the same JSON bytes book.encode_outcome writes), the capacity counts
brought up to date on their next read (engine.capacity). So a replica that
applies a record here holds what one that applied it through
RecordApplier.apply_record holds, byte for byte (tests/log/test_fast_apply.py).

A record is taken only when it is exactly what this path understands:
LogRecord fields log_time_ns, request_id, id_nonce and a Reserve of
sku_ids, node_ids, packed quantities, allow_partial, ttl_ns, order_id and
customer_id, in field order, canonically encoded (so its Reserve bytes are
what SerializeToString(deterministic=True) writes, and the request's
fingerprint is their hash), at most FAST_LINES_MAX lines, of SKUs without
attribute variants, with a request_id not seen before. Anything else, and
every record that would fail (log time backwards, a deadline past int64),
goes back to the caller (None / False), which applies it the general way.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t, uint8_t, uint64_t

from dompromise._core.state cimport Core, ReserveLines
from dompromise.wire.varint cimport Span, get_span, get_varint as _varint

import hashlib
import json

# Lines of a reserve this path takes (the stack arrays' size); wider ones go the general way.
cdef enum:
    FAST_LINES_MAX = 16

FAST_LINES = FAST_LINES_MAX

# LogRecord and Reserve field tags (field number << 3 | wire type), internal/v1/log.proto.
cdef enum:
    TAG_LOG_TIME_NS = (1 << 3) | 0
    TAG_REQUEST_ID = (2 << 3) | 2
    TAG_ID_NONCE = (3 << 3) | 1
    TAG_RESERVE = (11 << 3) | 2
    TAG_SKU_IDS = (1 << 3) | 2
    TAG_NODE_IDS = (2 << 3) | 2
    TAG_QUANTITIES = (3 << 3) | 2    # packed: proto3's encoding of a repeated int64
    TAG_ALLOW_PARTIAL = (4 << 3) | 0
    TAG_TTL_NS = (5 << 3) | 0
    TAG_ORDER_ID = (6 << 3) | 2
    TAG_CUSTOMER_ID = (7 << 3) | 2

# The core's numbers an answer carries (checked equal to _core's by the tests).
cdef enum:
    RESULT_OK = 1
    RESERVATION_HELD = 1

_json_text = json.encoder.encode_basestring_ascii  # a str as JSON, as book._ENCODER writes it
_blake2b = hashlib.blake2b


cdef struct Decoded:
    int64_t log_time_ns
    Span request_id
    uint64_t nonce
    Py_ssize_t fingerprinted   # where the Reserve field's tag is: the fingerprint hashes from here to the end
    Py_ssize_t count
    Py_ssize_t node_count
    Py_ssize_t quantity_count
    Span sku[FAST_LINES_MAX]
    Span node[FAST_LINES_MAX]
    int64_t quantity[FAST_LINES_MAX]
    bint partial
    int64_t ttl_ns
    Span order_id
    Span customer_id



cdef bint _decode_reserve(const uint8_t* data, Py_ssize_t at, Py_ssize_t end, Decoded* out) noexcept nogil:
    """The Reserve's fields, each in field order and canonical; False for anything else."""
    cdef uint64_t tag, value
    cdef uint64_t last = 0
    cdef Py_ssize_t packed_end
    cdef Span packed
    while at < end:
        if not _varint(data, end, &at, &tag):
            return False
        # Field numbers ascend; only the repeated strings come more than once.
        if tag < last or (tag == last and tag != TAG_SKU_IDS and tag != TAG_NODE_IDS):
            return False
        last = tag
        if tag == TAG_SKU_IDS:
            if out.count == FAST_LINES_MAX or not get_span(data, end, &at, &out.sku[out.count]):
                return False
            out.count += 1
        elif tag == TAG_NODE_IDS:
            if out.node_count == FAST_LINES_MAX or not get_span(data, end, &at, &out.node[out.node_count]):
                return False
            out.node_count += 1
        elif tag == TAG_QUANTITIES:
            if not get_span(data, end, &at, &packed) or packed.size == 0:
                return False
            packed_end = packed.start + packed.size
            at = packed.start
            while at < packed_end:
                if out.quantity_count == FAST_LINES_MAX or not _varint(data, packed_end, &at, &value):
                    return False
                out.quantity[out.quantity_count] = <int64_t>value
                out.quantity_count += 1
        elif tag == TAG_ALLOW_PARTIAL:
            if not _varint(data, end, &at, &value) or value != 1:
                return False
            out.partial = True
        elif tag == TAG_TTL_NS:
            if not _varint(data, end, &at, &value) or value == 0:
                return False
            out.ttl_ns = <int64_t>value
        elif tag == TAG_ORDER_ID:
            if not get_span(data, end, &at, &out.order_id) or out.order_id.size == 0:
                return False
        elif tag == TAG_CUSTOMER_ID:
            if not get_span(data, end, &at, &out.customer_id) or out.customer_id.size == 0:
                return False
        else:
            return False
    return out.count == out.node_count == out.quantity_count


cdef bint _decode(const uint8_t* data, Py_ssize_t end, Decoded* out) noexcept nogil:
    """A LogRecord of log_time_ns, request_id, id_nonce and a Reserve, fields ascending; False otherwise."""
    cdef Py_ssize_t at = 0, tag_at
    cdef uint64_t tag, value, last = 0
    cdef Span reserve
    cdef int i
    out.log_time_ns = 0
    out.request_id.start = out.request_id.size = 0
    out.nonce = 0
    out.fingerprinted = -1
    out.count = out.node_count = out.quantity_count = 0
    out.partial = False
    out.ttl_ns = 0
    out.order_id.start = out.order_id.size = 0
    out.customer_id.start = out.customer_id.size = 0
    while at < end:
        tag_at = at
        if not _varint(data, end, &at, &tag) or tag <= last:
            return False
        last = tag
        if tag == TAG_LOG_TIME_NS:
            if not _varint(data, end, &at, &value):
                return False
            out.log_time_ns = <int64_t>value
        elif tag == TAG_REQUEST_ID:
            if not get_span(data, end, &at, &out.request_id):
                return False
        elif tag == TAG_ID_NONCE:
            if end - at < 8:
                return False
            value = 0
            for i in range(8):
                value |= <uint64_t>data[at + i] << (8 * i)
            out.nonce = value
            at += 8
        elif tag == TAG_RESERVE:
            if not get_span(data, end, &at, &reserve):
                return False
            out.fingerprinted = tag_at
            if not _decode_reserve(data, reserve.start, reserve.start + reserve.size, out):
                return False
        else:
            return False
    return out.fingerprinted >= 0


cdef inline str _text(const uint8_t* data, Span span):
    """A field's UTF-8 as str (UnicodeDecodeError when it is not UTF-8, as the parser refuses it)."""
    return PyUnicode_DecodeUTF8(<const char*>data + span.start, span.size, NULL)


cdef class ReserveRecords:
    """Applies reserve records from their bytes to one engine's state (its parts, as RecordApplier holds them)."""

    cdef Core core
    cdef dict sku_index
    cdef dict node_index
    cdef list sku_ids
    cdef list node_ids
    cdef object book
    cdef object variants
    cdef object outcome_type
    cdef object view_type

    def __init__(self, Core core, dict sku_index, dict node_index, list sku_ids, list node_ids, book, variants,
                 outcome_type, view_type):
        self.core = core
        self.sku_index = sku_index
        self.node_index = node_index
        self.sku_ids = sku_ids
        self.node_ids = node_ids
        self.book = book
        self.variants = variants
        self.outcome_type = outcome_type
        self.view_type = view_type

    def replay(self, bytes payload, int64_t log_position, int64_t log_time_ns=-1):
        """Applies the record at `log_position` if it is one this path takes; False when it is not
        (nothing changed: the caller applies it the general way). No answer is built. `log_time_ns`
        >= 0: the record's time, in place of the payload's (a Redis entry carries it beside the payload)."""
        return self._apply(payload, log_position, False, log_time_ns) is not None

    def apply(self, bytes payload, int64_t log_position, int64_t log_time_ns=-1):
        """As replay, returning the record's Outcome (the writer's answer), or None when not taken."""
        return self._apply(payload, log_position, True, log_time_ns)

    cdef object _apply(self, bytes payload, int64_t log_position, bint want_outcome, int64_t time_override):
        cdef Decoded decoded
        cdef const uint8_t* data = <const uint8_t*>PyBytes_AS_STRING(payload)
        cdef Core core = self.core
        cdef Py_ssize_t i, count
        cdef int32_t sku[FAST_LINES_MAX]
        cdef int32_t node[FAST_LINES_MAX]
        cdef int64_t zeros[FAST_LINES_MAX]
        cdef int8_t status[FAST_LINES_MAX]
        cdef int64_t filled[FAST_LINES_MAX]
        cdef int64_t available_after[FAST_LINES_MAX]
        cdef ReserveLines lines
        assert log_position == core.log_position + 1, "log records apply in order, once"
        if not _decode(data, PyBytes_GET_SIZE(payload), &decoded):
            return None
        if time_override >= 0:
            decoded.log_time_ns = time_override
        time_ns = decoded.log_time_ns
        if (decoded.log_time_ns < 0 or decoded.log_time_ns < core.log_time_ns
                or decoded.ttl_ns > INT64_MAX - decoded.log_time_ns):
            return None  # the general way refuses it, and says why
        count = decoded.count
        try:
            key = _text(data, decoded.request_id)
            order_id = _text(data, decoded.order_id)
            customer_id = _text(data, decoded.customer_id)
            sku_texts = [_text(data, decoded.sku[i]) for i in range(count)]
            node_texts = [_text(data, decoded.node[i]) for i in range(count)]
        except UnicodeDecodeError:
            return None
        book = self.book
        sku_get, node_get = self.sku_index.get, self.node_index.get
        with_variants = self.variants.count > 0
        for i in range(count):
            value = sku_get(sku_texts[i])
            sku[i] = -1 if value is None else <int32_t>value
            if with_variants and sku[i] >= 0 and self.variants.has_variants(sku[i]):
                return None
            value = node_get(node_texts[i])
            node[i] = -1 if value is None else <int32_t>value
            zeros[i] = 0
        book.forget_before(time_ns)
        book.forget_tokens_before(time_ns)
        fingerprint = None
        if key:
            fingerprint = _blake2b(payload[decoded.fingerprinted:], digest_size=16).digest()
            if book.seen(key, fingerprint) is not None:
                return None  # a retry: the general way answers with the first outcome
        lines.count = count
        lines.sku = sku
        lines.node = node
        lines.quantity = decoded.quantity
        lines.due_ns = zeros
        lines.floor = zeros
        lines.all_or_nothing = not decoded.partial
        lines.deadline_ns = decoded.log_time_ns + decoded.ttl_ns
        lines.status = status
        lines.filled = filled
        lines.available_after = available_after
        core.reserve_lines(&lines, decoded.log_time_ns)
        reservation_id = None
        if lines.result == RESULT_OK:
            reservation_id = book.add(lines.reservation, log_position, time_ns, order_id, customer_id, -1,
                                      decoded.nonce)
        if key:
            book.remember_encoded(key, fingerprint, time_ns, self._encoded(
                &lines, log_position, time_ns, reservation_id, order_id, customer_id))
        if not want_outcome:
            return True
        return self._outcome(&lines, log_position, time_ns, reservation_id, order_id, customer_id)

    cdef list _held_lines(self, ReserveLines* lines):
        """The new reservation's lines as its view lists them: (sku id, node id, quantity, 0, 0) of each filled one."""
        cdef Py_ssize_t i
        return [(self.sku_ids[lines.sku[i]], self.node_ids[lines.node[i]], lines.filled[i], 0, 0)
                for i in range(lines.count) if lines.filled[i] > 0]

    cdef bytes _encoded(self, ReserveLines* lines, int64_t log_position, object time_ns, object reservation_id,
                        str order_id, str customer_id):
        """book.encode_outcome of this record's Outcome: the same bytes, written without building it."""
        cdef Py_ssize_t i
        text = _json_text
        if reservation_id is None:
            reservation = "null"
        else:
            held = ",".join([f"[{text(s)},{text(n)},{q},0,0]" for s, n, q, _, _ in self._held_lines(lines)])
            reservation = (
                f'{{"reservation_id":{text(reservation_id)},"state":{RESERVATION_HELD},'
                f'"expire_ns":{lines.deadline_ns},"create_ns":{time_ns},'
                f'"order_id":{text(order_id)},"customer_id":{text(customer_id)},'
                f'"lines":[{held}],"line_attributes":[]}}'
            )
        status = ",".join([str(lines.status[i]) for i in range(lines.count)])
        filled = ",".join([str(lines.filled[i]) for i in range(lines.count)])
        available = ",".join([str(lines.available_after[i]) for i in range(lines.count)])
        return (
            f'{{"log_position":{log_position},"log_time_ns":{time_ns},'
            f'"result":{lines.result},"item_status":[{status}],'
            f'"item_quantity":[{filled}],"item_available":[{available}],'
            f'"applied_count":{lines.applied_count},"reservation":{reservation},'
            f'"conflict":false,"parts":[]}}'
        ).encode()

    cdef object _outcome(self, ReserveLines* lines, int64_t log_position, object time_ns, object reservation_id,
                         str order_id, str customer_id):
        cdef Py_ssize_t i
        view = None
        if reservation_id is not None:
            view = self.view_type(reservation_id, RESERVATION_HELD, lines.deadline_ns, time_ns, order_id,
                                  customer_id, tuple(self._held_lines(lines)), ())
        return self.outcome_type(
            log_position=log_position,
            log_time_ns=time_ns,
            result=lines.result,
            item_status=tuple([lines.status[i] for i in range(lines.count)]),
            item_quantity=tuple([lines.filled[i] for i in range(lines.count)]),
            item_available=tuple([lines.available_after[i] for i in range(lines.count)]),
            applied_count=lines.applied_count,
            reservation=view,
        )
