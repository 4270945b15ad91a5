# The protobuf varint, written once for every wire writer (availability.pyx, outcomes.pyx, promise.pyx cimport it).
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
