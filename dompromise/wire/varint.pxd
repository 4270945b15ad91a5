# The protobuf varint, written once for every wire writer (availability.pyx, outcomes.pyx, promise.pyx cimport it)
# and read once for the readers of wire bytes (promise_request.pyx, inventory/_records.pyx), with the span of a
# length-delimited field's body.
from libc.stdint cimport uint8_t, uint64_t


cdef extern from *:
    """
    #define dompromise_wire_clzll(value) __builtin_clzll(value)
    """
    int _clzll "dompromise_wire_clzll"(uint64_t value) noexcept nogil


cdef inline Py_ssize_t varint_size(uint64_t value) noexcept nogil:
    """Bytes of `value` as a varint: 7 bits a byte, at least one (a negative int64 takes 10)."""
    return (70 - _clzll(value | 1)) // 7


cdef inline uint8_t* put_varint(uint8_t* out, uint64_t value) noexcept nogil:
    """Writes `value` as a varint at `out` (room for varint_size(value) bytes); returns the byte after it."""
    while value >= 0x80:
        out[0] = <uint8_t>(value | 0x80)
        out += 1
        value >>= 7
    out[0] = <uint8_t>value
    return out + 1


cdef inline bint get_varint(const uint8_t* data, Py_ssize_t end, Py_ssize_t* at, uint64_t* value) noexcept nogil:
    """Reads a varint at *at (moving it past); False when it runs past `end`, is longer than ten bytes or is not
    minimal (a final zero byte: a writer never makes one, and re-encoding would differ). Strict on purpose: its
    callers decline such bytes and leave them to protobuf."""
    cdef uint64_t result = 0
    cdef int shift = 0
    cdef Py_ssize_t i = at[0]
    cdef uint8_t byte
    while True:
        if i >= end or shift > 63:
            return False
        byte = data[i]
        i += 1
        result |= <uint64_t>(byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    if byte == 0 and shift > 0:
        return False
    if shift == 63 and byte > 1:
        return False
    at[0] = i
    value[0] = result
    return True


cdef struct Span:
    Py_ssize_t start
    Py_ssize_t size


cdef inline bint get_span(const uint8_t* data, Py_ssize_t end, Py_ssize_t* at, Span* span) noexcept nogil:
    """Reads a length-delimited field's body (after its tag) into `span`, moving *at past it; False when its length
    does not read (get_varint) or runs past `end`."""
    cdef uint64_t size
    if not get_varint(data, end, at, &size) or size > <uint64_t>(end - at[0]):
        return False
    span.start = at[0]
    span.size = <Py_ssize_t>size
    at[0] += span.size
    return True
