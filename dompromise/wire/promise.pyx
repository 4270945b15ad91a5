# cython: language_level=3
"""PromiseDeliveryResponse as wire bytes, written straight from a promise answer.

Promiser.response builds the protobuf message field by field (a Python call
per field, a wrapper object per sub-message) and gRPC serializes it again;
this writes the same bytes in one pass over the answer's options and
candidates (promise/types.py), in field-number order as protobuf serializes
(fields at their default value left out, as proto3 does), and the holds of
each option's promise token as the JSON text TokenBatch signs.

promise_response_rows writes the single-node options (nearly all of them)
from the kernel's scan (its rows, filled and ready matrices), with no Option
objects at all, and signs each token here as TokenBatch.sign_json does
(the payload and its base64url in C, the HMAC from the key's hashed blocks).

Equal, byte for byte, to Promiser.response(...).SerializeToString() for the
same answer and tokens: tests/wire/test_promise_wire.py checks it on random
orders. No I/O, no clock; the only Python called back is the token signer
(its nonce and hash objects).
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove

from dompromise._core.promise cimport (
    INFO_FILLED_SUM, INFO_WIDTH, ROW_COLUMN, ROW_COST, ROW_DEPARTURE, ROW_EARLIEST, ROW_LATEST, ROW_ROUTE, ROW_WIDTH,
    PromiseScan,
)
from dompromise.wire.varint cimport put_varint
from dompromise.wire.varint cimport varint_size as _varint_size

from json.encoder import encode_basestring_ascii as _json_string

# Wire types (protobuf encoding): a varint, a 64-bit field, a length-delimited field.
cdef enum:
    WIRE_VARINT = 0
    WIRE_FIXED64 = 1
    WIRE_LENGTH = 2

# Field numbers, as in protos/dompromise/v1/promise.proto and google/protobuf/timestamp.proto.
cdef enum:
    RESPONSE_OPTIONS = 1
    RESPONSE_CANDIDATES = 2
    RESPONSE_ZONE_ID = 3
    RESPONSE_AS_OF_TIME = 4
    RESPONSE_LOG_POSITION = 5
    OPTION_METHOD = 1
    OPTION_SHIPMENTS = 2
    OPTION_PROMISE_TOKEN = 3
    OPTION_EARLIEST = 4
    OPTION_LATEST = 5
    OPTION_COST_MINOR = 6
    OPTION_CURRENCY = 7
    OPTION_FILL_PERCENT = 8
    OPTION_SHORT_LINES = 9
    OPTION_SCORE = 10
    SHIPMENT_NODE_ID = 1
    SHIPMENT_LINES = 2
    SHIPMENT_EARLIEST = 3
    SHIPMENT_LATEST = 4
    SHIPMENT_METHOD = 5
    SHIPMENT_CARRIER_SERVICE = 6
    SHIPMENT_VIA_NODE_ID = 7
    SHIPMENT_DEPARTURE = 8
    SHIPMENT_COST_MINOR = 9
    LINE_SKU_ID = 1
    LINE_QUANTITY = 2
    LINE_AVAILABLE_TIME = 3
    LINE_SOURCE_NODE_ID = 4
    SHORT_SKU_ID = 1
    SHORT_QUANTITY = 2
    CANDIDATE_NODE_ID = 1
    CANDIDATE_REASON = 2
    CANDIDATE_DETAIL = 3
    TIMESTAMP_SECONDS = 1
    TIMESTAMP_NANOS = 2

# The first allocation of a buffer: most answers fit (a one-line promise is ~1.5 KB), bigger ones grow it.
cdef Py_ssize_t BUFFER_BYTES_INITIAL = 4096
# A varint's bytes at most (a negative int64 is 10).
cdef Py_ssize_t VARINT_BYTES_MAX = 10
cdef int64_t NS_PER_SECOND = 1000000000
# A kernel row's departure when it has none (dompromise._core.transport NEVER).
cdef int64_t DEPARTURE_NEVER = 0x7FFFFFFFFFFFFFFF
# base64url's alphabet (RFC 4648 section 5): a token's payload and signature, unpadded.
cdef const char* BASE64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


cdef struct Buffer:
    char* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef int _open_buffers(Buffer* answer, Buffer* holds, Buffer* scratch) except -1:
    """An answer's three buffers (the answer, an option's holds, a token's scratch), empty; MemoryError if one
    cannot be had (none is left allocated then)."""
    answer.data = <char*>PyMem_Malloc(BUFFER_BYTES_INITIAL)
    holds.data = <char*>PyMem_Malloc(BUFFER_BYTES_INITIAL)
    scratch.data = <char*>PyMem_Malloc(BUFFER_BYTES_INITIAL)
    answer.size = holds.size = scratch.size = 0
    answer.capacity = holds.capacity = scratch.capacity = BUFFER_BYTES_INITIAL
    if answer.data == NULL or holds.data == NULL or scratch.data == NULL:
        _free_buffers(answer, holds, scratch)
        raise MemoryError()
    return 0


cdef void _free_buffers(Buffer* answer, Buffer* holds, Buffer* scratch) noexcept:
    PyMem_Free(answer.data)
    PyMem_Free(holds.data)
    PyMem_Free(scratch.data)


cdef int _reserve(Buffer* buffer, Py_ssize_t extra) except -1:
    """Room for `extra` more bytes."""
    cdef Py_ssize_t needed = buffer.size + extra
    cdef Py_ssize_t capacity = buffer.capacity
    cdef char* grown
    if needed <= capacity:
        return 0
    while capacity < needed:
        capacity *= 2
    grown = <char*>PyMem_Realloc(buffer.data, capacity)
    if grown == NULL:
        raise MemoryError()
    buffer.data = grown
    buffer.capacity = capacity
    return 0


cdef inline void _put_varint(Buffer* buffer, uint64_t value) noexcept nogil:
    """Writes a varint; the caller reserved VARINT_BYTES_MAX."""
    buffer.size = <char*>put_varint(<uint8_t*>(buffer.data + buffer.size), value) - buffer.data


cdef int _varint(Buffer* buffer, uint32_t field, uint64_t value) except -1:
    """A varint field, left out at 0 (proto3)."""
    if value == 0:
        return 0
    _reserve(buffer, 2 * VARINT_BYTES_MAX)
    _put_varint(buffer, (field << 3) | WIRE_VARINT)
    _put_varint(buffer, value)
    return 0


cdef int _double(Buffer* buffer, uint32_t field, double value) except -1:
    """A double field, left out when its bits are all 0 (0.0; -0.0 is written, as protobuf does)."""
    cdef uint64_t bits
    memcpy(&bits, &value, 8)
    if bits == 0:
        return 0
    _reserve(buffer, VARINT_BYTES_MAX + 8)
    _put_varint(buffer, (field << 3) | WIRE_FIXED64)
    memcpy(buffer.data + buffer.size, &value, 8)  # little-endian, as the wire (x86, arm64)
    buffer.size += 8
    return 0


cdef int _bytes(Buffer* buffer, uint32_t field, const char* data, Py_ssize_t size) except -1:
    _reserve(buffer, 2 * VARINT_BYTES_MAX + size)
    _put_varint(buffer, (field << 3) | WIRE_LENGTH)
    _put_varint(buffer, <uint64_t>size)
    memcpy(buffer.data + buffer.size, data, size)
    buffer.size += size
    return 0


cdef int _string(Buffer* buffer, uint32_t field, str text) except -1:
    """A string field (UTF-8), left out when empty."""
    cdef Py_ssize_t size
    cdef const char* data = PyUnicode_AsUTF8AndSize(text, &size)
    if size == 0:
        return 0
    return _bytes(buffer, field, data, size)


cdef int _timestamp(Buffer* buffer, uint32_t field, int64_t ns) except -1:
    """A google.protobuf.Timestamp, always present (possibly empty): seconds and nanos as divmod splits ns."""
    cdef int64_t seconds = ns // NS_PER_SECOND
    cdef int64_t nanos = ns % NS_PER_SECOND
    if nanos < 0:  # C truncates toward 0; divmod floors
        nanos += NS_PER_SECOND
        seconds -= 1
    cdef Py_ssize_t size = 0
    if seconds != 0:
        size += 1 + _varint_size(<uint64_t>seconds)
    if nanos != 0:
        size += 1 + _varint_size(<uint64_t>nanos)
    _reserve(buffer, 2 * VARINT_BYTES_MAX)
    _put_varint(buffer, (field << 3) | WIRE_LENGTH)
    _put_varint(buffer, <uint64_t>size)
    _varint(buffer, TIMESTAMP_SECONDS, <uint64_t>seconds)
    _varint(buffer, TIMESTAMP_NANOS, <uint64_t>nanos)
    return 0


cdef Py_ssize_t _open(Buffer* buffer, uint32_t field) except -1:
    """Starts a sub-message: its tag and one byte for its length (most are short); returns where the length is."""
    _reserve(buffer, VARINT_BYTES_MAX + 1)
    _put_varint(buffer, (field << 3) | WIRE_LENGTH)
    buffer.size += 1
    return buffer.size - 1


cdef int _close(Buffer* buffer, Py_ssize_t at) except -1:
    """Ends the sub-message opened at `at`: writes its length, moving its content when that takes more than a byte."""
    cdef Py_ssize_t length = buffer.size - at - 1
    cdef Py_ssize_t width = _varint_size(<uint64_t>length)
    cdef Py_ssize_t end
    if width == 1:
        buffer.data[at] = <char>length
        return 0
    _reserve(buffer, width - 1)
    memmove(buffer.data + at + width, buffer.data + at + 1, length)
    end = buffer.size + width - 1
    buffer.size = at
    _put_varint(buffer, <uint64_t>length)
    buffer.size = end
    return 0


# ---- the token's holds, as JSON ---------------------------------------------------------------


cdef int _json_text(Buffer* buffer, str text) except -1:
    """json.dumps(text) (ASCII, escaped): written directly when nothing needs escaping, else through json's own."""
    cdef Py_ssize_t size, i
    cdef const char* data = PyUnicode_AsUTF8AndSize(text, &size)
    cdef uint8_t c
    for i in range(size):
        c = <uint8_t>data[i]
        if c < 0x20 or c >= 0x7f or c == 0x22 or c == 0x5c:  # control, non-ASCII, '"', '\'
            escaped = <str>_json_string(text)
            data = PyUnicode_AsUTF8AndSize(escaped, &size)
            _reserve(buffer, size)
            memcpy(buffer.data + buffer.size, data, size)
            buffer.size += size
            return 0
    _reserve(buffer, size + 2)
    buffer.data[buffer.size] = b'"'
    memcpy(buffer.data + buffer.size + 1, data, size)
    buffer.data[buffer.size + size + 1] = b'"'
    buffer.size += size + 2
    return 0


cdef int _json_int(Buffer* buffer, int64_t value) except -1:
    """repr(value), as json writes an int."""
    cdef char digits[24]
    cdef Py_ssize_t n = 0
    cdef uint64_t magnitude = <uint64_t>value if value >= 0 else <uint64_t>0 - <uint64_t>value
    _reserve(buffer, 21)
    if value < 0:
        buffer.data[buffer.size] = b'-'
        buffer.size += 1
    while True:
        digits[n] = <char>(48 + magnitude % 10)
        magnitude //= 10
        n += 1
        if magnitude == 0:
            break
    while n > 0:
        n -= 1
        buffer.data[buffer.size] = digits[n]
        buffer.size += 1
    return 0


cdef int _hold(Buffer* holds, str sku_id, str node_id, int64_t quantity, int64_t backorder_by_ns) except -1:
    """One hold, [sku_id, node_id, quantity, backorder_by_ns], after a comma unless it is the first."""
    if holds.size:
        _append(holds, b",", 1)
    _append(holds, b"[", 1)
    _json_text(holds, sku_id)
    _append(holds, b",", 1)
    _json_text(holds, node_id)
    _append(holds, b",", 1)
    _json_int(holds, quantity)
    _append(holds, b",", 1)
    _json_int(holds, backorder_by_ns)
    _append(holds, b"]", 1)
    return 0


# ---- the messages -----------------------------------------------------------------------------


cdef int _shipment(Buffer* buffer, Buffer* holds, object shipment, int64_t as_of_ns) except -1:
    """A PlannedShipment, and the holds of its lines: at the line's source node when consolidated, else at the
    shipping node; a line ready after as_of is a backorder due when it is ready."""
    cdef str node_id = shipment.node_id
    cdef str source_node_id
    cdef int64_t quantity, ready_ns, source_ready_ns
    cdef Py_ssize_t at = _open(buffer, OPTION_SHIPMENTS)
    cdef Py_ssize_t line_at
    _string(buffer, SHIPMENT_NODE_ID, node_id)
    for line in shipment.lines:
        line_at = _open(buffer, SHIPMENT_LINES)
        sku_id = <str>line.sku_id
        quantity = line.quantity
        ready_ns = line.ready_ns
        source_node_id = line.source_node_id
        _string(buffer, LINE_SKU_ID, sku_id)
        _varint(buffer, LINE_QUANTITY, <uint64_t>quantity)
        if ready_ns > as_of_ns:
            _timestamp(buffer, LINE_AVAILABLE_TIME, ready_ns)
        _string(buffer, LINE_SOURCE_NODE_ID, source_node_id)
        _close(buffer, line_at)
        if source_node_id:
            source_ready_ns = line.source_ready_ns
            _hold(holds, sku_id, source_node_id, quantity, source_ready_ns if source_ready_ns > as_of_ns else 0)
        else:
            _hold(holds, sku_id, node_id, quantity, ready_ns if ready_ns > as_of_ns else 0)
    _timestamp(buffer, SHIPMENT_EARLIEST, shipment.earliest_ns)
    _timestamp(buffer, SHIPMENT_LATEST, shipment.latest_ns)
    _varint(buffer, SHIPMENT_METHOD, <uint64_t><int64_t>shipment.method)
    _string(buffer, SHIPMENT_CARRIER_SERVICE, shipment.service)
    _string(buffer, SHIPMENT_VIA_NODE_ID, shipment.via_node_id)
    departure_ns = shipment.departure_ns
    if departure_ns is not None:
        _timestamp(buffer, SHIPMENT_DEPARTURE, departure_ns)
    _varint(buffer, SHIPMENT_COST_MINOR, <uint64_t><int64_t>shipment.cost_minor)
    return _close(buffer, at)


cdef int _option(Buffer* buffer, Buffer* holds, Buffer* scratch, object option, int64_t as_of_ns, str currency,
                 object sign, _Signer signer) except -1:
    cdef Py_ssize_t at = _open(buffer, RESPONSE_OPTIONS)
    cdef Py_ssize_t short_at
    holds.size = 0
    _varint(buffer, OPTION_METHOD, <uint64_t><int64_t>option.method)
    for shipment in option.shipments:
        _shipment(buffer, holds, shipment, as_of_ns)
    if signer is not None:
        _token(buffer, holds, scratch, signer)
    else:
        token = <str>sign(PyBytes_FromStringAndSize(holds.data, holds.size).decode("ascii"))
        _string(buffer, OPTION_PROMISE_TOKEN, token)
    _timestamp(buffer, OPTION_EARLIEST, option.earliest_ns)
    _timestamp(buffer, OPTION_LATEST, option.latest_ns)
    _varint(buffer, OPTION_COST_MINOR, <uint64_t><int64_t>option.cost_minor)
    _string(buffer, OPTION_CURRENCY, currency)
    _double(buffer, OPTION_FILL_PERCENT, option.fill_percent)
    for sku_id, quantity in option.short_lines:
        short_at = _open(buffer, OPTION_SHORT_LINES)
        _string(buffer, SHORT_SKU_ID, sku_id)
        _varint(buffer, SHORT_QUANTITY, <uint64_t><int64_t>quantity)
        _close(buffer, short_at)
    _double(buffer, OPTION_SCORE, option.score)
    return _close(buffer, at)


cdef int _candidate(Buffer* buffer, object candidate) except -1:
    cdef Py_ssize_t at = _open(buffer, RESPONSE_CANDIDATES)
    _string(buffer, CANDIDATE_NODE_ID, candidate.node_id)
    _varint(buffer, CANDIDATE_REASON, <uint64_t><int64_t>candidate.reason)
    _string(buffer, CANDIDATE_DETAIL, candidate.detail)
    return _close(buffer, at)


def promise_response(
    options, candidates, str zone_id, int64_t as_of_ns, int64_t log_position, str currency, sign, tokens=None
):
    """The serialized PromiseDeliveryResponse of a promise answer.

    options, candidates: the answer's (promise/types.py Option and Candidate); zone_id: the request's ("" for
    a pickup); as_of_ns: the promise's as-of; currency: every option's; sign(holds_json) -> the option's
    promise token, given the JSON text of its holds' rows without the brackets around them (see
    TokenBatch.sign_json); not called when there are no options. tokens: instead of sign, the answer's
    TokenBatch (pads, nonce(), tail), whose tokens are then signed here, as sign_json signs them.
    """
    cdef Buffer buffer, holds, scratch
    cdef _Signer signer = _signer_of(tokens) if tokens is not None else None
    _open_buffers(&buffer, &holds, &scratch)
    try:
        for option in options:
            _option(&buffer, &holds, &scratch, option, as_of_ns, currency, sign, signer)
        for candidate in candidates:
            _candidate(&buffer, candidate)
        _string(&buffer, RESPONSE_ZONE_ID, zone_id)
        _timestamp(&buffer, RESPONSE_AS_OF_TIME, as_of_ns)
        _varint(&buffer, RESPONSE_LOG_POSITION, <uint64_t>log_position)
        return PyBytes_FromStringAndSize(buffer.data, buffer.size)
    finally:
        _free_buffers(&buffer, &holds, &scratch)


# ---- options straight from the kernel's rows ---------------------------------------------------


cdef int _base64url(Buffer* buffer, const uint8_t* data, Py_ssize_t size) except -1:
    """base64.urlsafe_b64encode(data) without its '=' padding, appended."""
    cdef Py_ssize_t i = 0
    cdef uint32_t triple
    cdef char* out
    _reserve(buffer, (size + 2) // 3 * 4)
    out = buffer.data + buffer.size
    while i + 3 <= size:
        triple = (<uint32_t>data[i] << 16) | (<uint32_t>data[i + 1] << 8) | data[i + 2]
        out[0] = BASE64URL[(triple >> 18) & 63]
        out[1] = BASE64URL[(triple >> 12) & 63]
        out[2] = BASE64URL[(triple >> 6) & 63]
        out[3] = BASE64URL[triple & 63]
        out += 4
        i += 3
    if size - i == 1:
        triple = <uint32_t>data[i] << 16
        out[0] = BASE64URL[(triple >> 18) & 63]
        out[1] = BASE64URL[(triple >> 12) & 63]
        out += 2
    elif size - i == 2:
        triple = (<uint32_t>data[i] << 16) | (<uint32_t>data[i + 1] << 8)
        out[0] = BASE64URL[(triple >> 18) & 63]
        out[1] = BASE64URL[(triple >> 12) & 63]
        out[2] = BASE64URL[(triple >> 6) & 63]
        out += 3
    buffer.size = out - buffer.data
    return 0


cdef int _append(Buffer* buffer, const char* data, Py_ssize_t size) except -1:
    _reserve(buffer, size)
    memcpy(buffer.data + buffer.size, data, size)
    buffer.size += size
    return 0


cdef class _Signer:
    """What an answer's tokens are signed with, read once per answer from its TokenBatch (token.py): the key's
    padded blocks hashed (HmacPads inner and outer, SHA-256 objects copied per token), the nonce callable, and
    the payload's tail (bytes: what follows the nonce, its closing quote first)."""
    cdef object inner
    cdef object outer
    cdef object nonce
    cdef bytes tail


cdef _Signer _signer_of(object tokens):
    cdef _Signer signer = _Signer.__new__(_Signer)
    pads = tokens.pads
    signer.inner = pads.inner
    signer.outer = pads.outer
    signer.nonce = tokens.nonce
    signer.tail = <bytes?>tokens.tail
    return signer


cdef int _token(Buffer* buffer, Buffer* holds, Buffer* scratch, _Signer signer) except -1:
    """An option's promise_token field, signed here as TokenBatch.sign_json signs it (the same text):
    v1.<base64url of {"h":[holds],"n":"<nonce>"<tail>>.<base64url of its HMAC-SHA256>."""
    cdef bytes nonce = (<str>signer.nonce()).encode("ascii")
    cdef bytes tail = signer.tail
    cdef Py_ssize_t payload_at, size
    scratch.size = 0
    _append(scratch, b'{"h":[', 6)
    _append(scratch, holds.data, holds.size)
    _append(scratch, b'],"n":"', 7)
    _append(scratch, nonce, len(nonce))
    _append(scratch, tail, len(tail))
    size = scratch.size  # the JSON; its base64url follows it in the scratch buffer
    _reserve(scratch, 3 + (size + 2) // 3 * 4)  # before reading scratch.data: growing it may move it
    _append(scratch, b"v1.", 3)
    payload_at = scratch.size
    _base64url(scratch, <const uint8_t*>scratch.data, size)
    # HmacPads.digest(payload), its calls made from here (no Python frame).
    inner = signer.inner.copy()
    inner.update(PyBytes_FromStringAndSize(scratch.data + payload_at, scratch.size - payload_at))
    outer = signer.outer.copy()
    outer.update(inner.digest())
    signature = <bytes>outer.digest()
    _append(scratch, b".", 1)
    _base64url(scratch, <const uint8_t*><const char*>signature, len(signature))
    return _bytes(buffer, OPTION_PROMISE_TOKEN, scratch.data + size, scratch.size - size)


cdef int _row_option(Buffer* buffer, Buffer* holds, Buffer* scratch, PromiseScan scan, Py_ssize_t row,
                     list sku_ids, list node_ids, object routes, int64_t as_of_ns, str currency,
                     _Signer signer) except -1:
    """The Option AnswerBuilder._row_options builds of a kernel row (one shipment of what its node fills, no
    source nodes), written as _option writes that Option."""
    cdef const int64_t* values = scan._rows_ptr + row * ROW_WIDTH
    cdef Py_ssize_t column = values[ROW_COLUMN], route_index = values[ROW_ROUTE], i, short_at, line_at
    cdef Py_ssize_t lines = scan._lines, columns = scan._columns
    cdef int64_t method = scan._routes._method[route_index]
    cdef int64_t filled, ready_ns, wanted, filled_sum = scan._info_ptr[column * INFO_WIDTH + INFO_FILLED_SUM]
    cdef str node_id = <str>node_ids[scan._column_node[column]]
    route = routes[route_index]
    cdef Py_ssize_t at = _open(buffer, RESPONSE_OPTIONS)
    cdef Py_ssize_t shipment_at
    holds.size = 0
    _varint(buffer, OPTION_METHOD, <uint64_t>method)
    shipment_at = _open(buffer, OPTION_SHIPMENTS)
    _string(buffer, SHIPMENT_NODE_ID, node_id)
    for i in range(lines):
        filled = scan._filled_ptr[i * columns + column]
        if filled <= 0:
            continue
        ready_ns = scan._ready_ptr[i * columns + column]
        sku_id = <str>sku_ids[i]
        line_at = _open(buffer, SHIPMENT_LINES)
        _string(buffer, LINE_SKU_ID, sku_id)
        _varint(buffer, LINE_QUANTITY, <uint64_t>filled)
        if ready_ns > as_of_ns:
            _timestamp(buffer, LINE_AVAILABLE_TIME, ready_ns)
        _close(buffer, line_at)
        _hold(holds, sku_id, node_id, filled, ready_ns if ready_ns > as_of_ns else 0)
    _timestamp(buffer, SHIPMENT_EARLIEST, values[ROW_EARLIEST])
    _timestamp(buffer, SHIPMENT_LATEST, values[ROW_LATEST])
    _varint(buffer, SHIPMENT_METHOD, <uint64_t>method)
    _string(buffer, SHIPMENT_CARRIER_SERVICE, route.service)
    _string(buffer, SHIPMENT_VIA_NODE_ID, route.via_node_id)
    if values[ROW_DEPARTURE] != DEPARTURE_NEVER:
        _timestamp(buffer, SHIPMENT_DEPARTURE, values[ROW_DEPARTURE])
    _varint(buffer, SHIPMENT_COST_MINOR, <uint64_t>values[ROW_COST])
    _close(buffer, shipment_at)
    _token(buffer, holds, scratch, signer)
    _timestamp(buffer, OPTION_EARLIEST, values[ROW_EARLIEST])
    _timestamp(buffer, OPTION_LATEST, values[ROW_LATEST])
    _varint(buffer, OPTION_COST_MINOR, <uint64_t>values[ROW_COST])
    _string(buffer, OPTION_CURRENCY, currency)
    _double(buffer, OPTION_FILL_PERCENT, 100.0 * <double>filled_sum / <double>scan._wanted_sum)
    if filled_sum != scan._wanted_sum:
        for i in range(lines):
            filled = scan._filled_ptr[i * columns + column]
            if filled < 0:
                filled = 0
            wanted = scan._wanted_ptr[i]
            if filled < wanted:
                short_at = _open(buffer, OPTION_SHORT_LINES)
                _string(buffer, SHORT_SKU_ID, <str>sku_ids[i])
                _varint(buffer, SHORT_QUANTITY, <uint64_t>(wanted - filled))
                _close(buffer, short_at)
    _double(buffer, OPTION_SCORE, scan._score_ptr[row])
    return _close(buffer, at)


def promise_response_rows(
    PromiseScan scan not None, list kept not None, list sku_ids not None, list node_ids not None,
    routes not None, candidates, str zone_id, int64_t as_of_ns, int64_t log_position, str currency, tokens
):
    """promise_response of an answer whose kernel rows are read from the scan's arrays (no Option objects).

    kept: the options in rank order, each a row index of the scan (single-node, as AnswerBuilder._row_options
    builds it) or an Option made in Python (written as promise_response writes it); sku_ids: the order's
    (summed) lines, the scan's; node_ids: the network's, by node index; routes: the destination's (service
    and via_node_id of each, by the kernel's route index); tokens: the answer's TokenBatch (pads, nonce(),
    tail), used only when something is kept."""
    cdef Buffer buffer, holds, scratch
    cdef Py_ssize_t row
    cdef _Signer signer = None
    if len(sku_ids) != scan._lines:
        raise ValueError(f"{len(sku_ids)} SKU ids for {scan._lines} lines")
    if len(routes) != scan._routes.route_count or len(node_ids) != scan._routes.node_count:
        raise ValueError("routes and node_ids must be the scan's route table's")
    for entry in kept:
        if isinstance(entry, int) and not 0 <= <Py_ssize_t>entry < scan.row_count:
            raise IndexError(f"row {entry} is not one of the scan's {scan.row_count}")
    if kept:
        signer = _signer_of(tokens)
    _open_buffers(&buffer, &holds, &scratch)
    try:
        for entry in kept:
            if isinstance(entry, int):
                row = entry
                _row_option(&buffer, &holds, &scratch, scan, row, sku_ids, node_ids, routes, as_of_ns, currency,
                            signer)
            else:
                _option(&buffer, &holds, &scratch, entry, as_of_ns, currency, None, signer)
        for candidate in candidates:
            _candidate(&buffer, candidate)
        _string(&buffer, RESPONSE_ZONE_ID, zone_id)
        _timestamp(&buffer, RESPONSE_AS_OF_TIME, as_of_ns)
        _varint(&buffer, RESPONSE_LOG_POSITION, <uint64_t>log_position)
        return PyBytes_FromStringAndSize(buffer.data, buffer.size)
    finally:
        _free_buffers(&buffer, &holds, &scratch)
