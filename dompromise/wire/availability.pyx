# cython: language_level=3
"""GetAvailabilityResponse written as protobuf wire bytes straight from the core's arrays.

The message path (service/availability.py) gathers numpy arrays, turns them into
lists, builds one SkuAvailability per SKU and serializes it: for 100 SKUs x 200
nodes most of a millisecond. `AvailabilityWriter.write` writes the same bytes in
one pass over the requested ids: check the id, look it up, read the SKU's row of
the core, write the item. No numpy array, list or message per call.

The bytes are the generated classes' (tests/wire/test_wire_availability.py
checks it with hypothesis): fields in field-number order, proto3 defaults
omitted (a 0 quantity, an empty id, an empty repeated field), repeated int64
packed, every int64 a varint of its two's complement (a negative one takes 10
bytes), as protobuf's serializer writes them. The fields (availability.proto):

  GetAvailabilityResponse   node_ids = 1 (encoded once by the caller), items = 2, log_position = 3
  SkuAvailability           sku_id = 1, status = 2, base_unit = 3, available_quantity = 4,
                            node_available_quantities = 5; FULL view: node_on_hand, held,
                            allocated, unavailable, safety_stock quantities = 6 to 10,
                            node_damaged, quarantined, inspection, display quantities = 17 to 20

Phasing, channel views, units and variants are not written here: the service
answers those through the message path.
"""

cimport cython
cimport numpy as cnp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcpy

from dompromise._core.state cimport ITEM_OK, ITEM_SKU_NOT_FOUND, UNAVAILABLE_REASON_COUNT, Core
from dompromise.wire.varint cimport put_varint as _put_varint
from dompromise.wire.varint cimport varint_size as _varint_size

cnp.import_array()

cdef extern from *:
    """
    #define dompromise_wire_prefetch(address) __builtin_prefetch(address)
    """
    void _prefetch "dompromise_wire_prefetch"(const void* address) noexcept nogil

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    Py_ssize_t PyUnicode_GET_LENGTH(object text)
    bint PyUnicode_IS_ASCII(object text)
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) noexcept nogil
    bint Py_UNICODE_ISPRINTABLE(Py_UCS4 character) noexcept nogil

# Wire types and the tags written (field number << 3 | wire type).
cdef enum:
    VARINT = 0
    LENGTH_DELIMITED = 2
    TAG_ITEMS = (2 << 3) | LENGTH_DELIMITED
    TAG_LOG_POSITION = (3 << 3) | VARINT
    TAG_SKU_ID = (1 << 3) | LENGTH_DELIMITED
    TAG_STATUS = (2 << 3) | VARINT
    TAG_BASE_UNIT = (3 << 3) | VARINT
    TAG_AVAILABLE_QUANTITY = (4 << 3) | VARINT
    # One column per bucket, in BUCKETS order (on hand, held, allocated, unavailable,
    # safety stock), then available: fields 6 to 10, then 5.
    BUCKET_COLUMNS = 5
    # Fields 17 to 20: damaged, quarantined, inspection, display (UnavailableReason order).
    FIRST_REASON_FIELD = 17
    # Packed columns of a FULL item: available, the buckets, the reasons.
    COLUMNS_MAX = 1 + BUCKET_COLUMNS + UNAVAILABLE_REASON_COUNT
    # A varint's bytes at most (a negative int64), and the first value taking three.
    VARINT_BYTES_MAX = 10
    TWO_BYTE_VARINT_END = 1 << 14
    # Cells of the available column checked together for one-byte varints.
    SMALL_RUN = 8

# The buffer a writer keeps between calls: one 100-SKU x 200-node answer (~25 KB) fits many
# times over; a larger one (up to MESSAGE_BYTES_MAX) is freed after its call.
BUFFER_KEPT_BYTES_MAX = 1 << 20
cdef Py_ssize_t _BUFFER_KEPT_BYTES_MAX = BUFFER_KEPT_BYTES_MAX
cdef Py_ssize_t _BUFFER_INITIAL_BYTES = 4096


# ---- wire primitives -----------------------------------------------------------------------

cdef inline Py_ssize_t _tag_size(int tag) noexcept nogil:
    return _varint_size(<uint64_t>tag)


cdef inline Py_ssize_t _delimited_size(int tag, Py_ssize_t length) noexcept nogil:
    """A length-delimited field's bytes: tag, length, content."""
    return _tag_size(tag) + _varint_size(<uint64_t>length) + length


cdef inline uint8_t* _put_delimited_head(uint8_t* out, int tag, Py_ssize_t length) noexcept nogil:
    out = _put_varint(out, <uint64_t>tag)
    return _put_varint(out, <uint64_t>length)


cdef inline uint8_t* _put_varint_field(uint8_t* out, int tag, int64_t value) noexcept nogil:
    """A scalar varint field; nothing for 0 (proto3's default)."""
    if value == 0:
        return out
    out = _put_varint(out, <uint64_t>tag)
    return _put_varint(out, <uint64_t>value)


cdef inline Py_ssize_t _varint_field_size(int tag, int64_t value) noexcept nogil:
    return 0 if value == 0 else _tag_size(tag) + _varint_size(<uint64_t>value)


cdef inline uint8_t* _put_varint_spilling(uint8_t* out, uint64_t value) noexcept nogil:
    """put_varint with no loop for a value under 2**14 (most quantities: one or two bytes); it writes the
    second byte even when the varint has one, so `out` needs room for one byte more than the varint.
    The compiler branches on whether there are two: measured faster than advancing `out` by arithmetic on
    the value, which ties every store's address to the load before it."""
    cdef uint64_t high
    if value >= TWO_BYTE_VARINT_END:
        return _put_varint(out, value)
    high = value >> 7
    out[0] = <uint8_t>((value & 0x7F) | (<uint64_t>(high != 0) << 7))
    out[1] = <uint8_t>high
    return out + 1 + (high != 0)


cdef uint8_t* _put_available(uint8_t* out, const int64_t* row, const int32_t* node, Py_ssize_t node_total,
                             int64_t* total) noexcept nogil:
    """The available column's varints (room for VARINT_BYTES_MAX a value, and one byte more); adds the values
    to `total`. Most cells of a wide answer are a store's few units: eight under 128 are eight bytes, written
    without a branch per value."""
    cdef Py_ssize_t j = 0, k
    cdef int64_t sum = 0
    cdef int64_t value[SMALL_RUN]
    cdef uint64_t any_bits
    while j + SMALL_RUN <= node_total:
        any_bits = 0
        for k in range(SMALL_RUN):
            value[k] = row[node[j + k]]
            sum += value[k]
            any_bits |= <uint64_t>value[k]
        if any_bits < 0x80:
            for k in range(SMALL_RUN):
                out[k] = <uint8_t>value[k]
            out += SMALL_RUN
        else:
            for k in range(SMALL_RUN):
                out = _put_varint_spilling(out, <uint64_t>value[k])
        j += SMALL_RUN
    while j < node_total:
        sum += row[node[j]]
        out = _put_varint_spilling(out, <uint64_t>row[node[j]])
        j += 1
    total[0] += sum
    return out


cdef inline int _packed_tag(int field) noexcept nogil:
    return (field << 3) | LENGTH_DELIMITED


# ---- ids -----------------------------------------------------------------------------------

cdef bint _plain_id(str text, Py_ssize_t length_max):
    """What service/validation.py id_violations accepts: 1 to length_max characters, printable
    (str.isprintable), no space. ASCII ids (most) are checked byte by byte."""
    cdef Py_ssize_t length = PyUnicode_GET_LENGTH(text), i
    cdef Py_UCS4 character
    if length == 0 or length > length_max:
        return False
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef const uint8_t* ascii
    if PyUnicode_IS_ASCII(text):
        ascii = <const uint8_t*>data
        for i in range(length):
            if ascii[i] <= 0x20 or ascii[i] >= 0x7F:  # controls, space, DEL
                return False
        return True
    for i in range(length):
        character = PyUnicode_READ(kind, data, i)
        if character == 0x20 or not Py_UNICODE_ISPRINTABLE(character):
            return False
    return True


cdef const void* _array_data(object array, int type_number, str name) except NULL:
    """A 1-D C-contiguous array's data, after checking its dtype."""
    if not cnp.PyArray_Check(array):
        raise TypeError(f"{name} must be a numpy array")
    cdef cnp.ndarray checked = <cnp.ndarray>array
    if (cnp.PyArray_TYPE(checked) != type_number or cnp.PyArray_NDIM(checked) != 1
            or not cnp.PyArray_IS_C_CONTIGUOUS(checked)):
        raise TypeError(f"{name} must be a 1-D C-contiguous array of numpy type {type_number}")
    return cnp.PyArray_DATA(checked)


def encode_strings(int field_number, strings):
    """The entries of a repeated string field (each: tag, length, UTF-8), as a message holds them:
    GetAvailabilityResponse.node_ids is encode_strings(1, ids). An empty string is written too
    (a repeated field keeps every element)."""
    if not 1 <= field_number < (1 << 29):
        raise ValueError("field number out of range")
    cdef int tag = _packed_tag(field_number)
    cdef Py_ssize_t size = 0, length
    cdef const char* utf8
    cdef list texts = list(strings)
    for text in texts:
        if not isinstance(text, str):
            raise TypeError("strings must be str")
        PyUnicode_AsUTF8AndSize(text, &length)
        size += _delimited_size(tag, length)
    cdef bytes encoded = PyBytes_FromStringAndSize(NULL, size)
    cdef uint8_t* out = <uint8_t*>PyBytes_AS_STRING(encoded)
    for text in texts:
        utf8 = PyUnicode_AsUTF8AndSize(text, &length)
        out = _put_delimited_head(out, tag, length)
        memcpy(out, utf8, length)
        out += length
    return encoded


# ---- the writer ------------------------------------------------------------------------------

cdef struct _Columns:
    # The core's tables a FULL item reads, by position (sku * node_count + node).
    const int64_t* available
    const int64_t* buckets[BUCKET_COLUMNS]
    const int32_t* reason_row
    const int64_t* reason_quantity


@cython.final
cdef class AvailabilityWriter:
    """Writes GetAvailabilityResponse bytes from a core; keeps its buffer between calls.

    Not for concurrent use: `write` holds the GIL from start to end (it calls no Python code
    that could release it), so calls from several threads take turns.
    """

    cdef uint8_t* _buffer
    cdef Py_ssize_t _capacity
    cdef Py_ssize_t _length
    # One item's packed columns, written before the item's head (whose lengths they give).
    cdef uint8_t* _scratch
    cdef Py_ssize_t _scratch_capacity

    def __cinit__(self):
        self._buffer = NULL
        self._capacity = 0
        self._length = 0
        self._scratch = NULL
        self._scratch_capacity = 0

    def __dealloc__(self):
        PyMem_Free(self._buffer)
        PyMem_Free(self._scratch)

    @property
    def capacity(self):
        """Bytes of the buffer kept for the next call (at most BUFFER_KEPT_BYTES_MAX)."""
        return self._capacity

    cdef uint8_t* _reserve(self, Py_ssize_t size) except NULL:
        """Room for `size` more bytes; returns where they go."""
        cdef Py_ssize_t wanted = self._length + size, capacity
        cdef uint8_t* grown
        if wanted > self._capacity or self._buffer == NULL:
            capacity = max(wanted, 2 * self._capacity, _BUFFER_INITIAL_BYTES)
            grown = <uint8_t*>PyMem_Malloc(capacity)
            if grown == NULL:
                raise MemoryError()
            if self._length:
                memcpy(grown, self._buffer, self._length)
            PyMem_Free(self._buffer)
            self._buffer, self._capacity = grown, capacity
        return self._buffer + self._length

    cdef uint8_t* _reserve_scratch(self, Py_ssize_t size) except NULL:
        """The scratch area, `size` bytes at least (its content is not kept)."""
        cdef uint8_t* grown
        if size > self._scratch_capacity or self._scratch == NULL:
            grown = <uint8_t*>PyMem_Malloc(max(size, _BUFFER_INITIAL_BYTES))
            if grown == NULL:
                raise MemoryError()
            PyMem_Free(self._scratch)
            self._scratch, self._scratch_capacity = grown, max(size, _BUFFER_INITIAL_BYTES)
        return self._scratch

    cdef void _release_if_large(self) noexcept:
        if self._capacity > _BUFFER_KEPT_BYTES_MAX:
            PyMem_Free(self._buffer)
            self._buffer, self._capacity = NULL, 0
        if self._scratch_capacity > _BUFFER_KEPT_BYTES_MAX:
            PyMem_Free(self._scratch)
            self._scratch, self._scratch_capacity = NULL, 0

    def write(self, Core core not None, dict sku_index not None, sku_ids, nodes, bytes node_ids_field not None,
              base_units, has_variants, bint with_cells, bint with_buckets, Py_ssize_t id_length_max):
        """The answer to a plain GetAvailability of `sku_ids` over `nodes`, or None.

        sku_index maps an id to its core row (an unknown id: SKU_NOT_FOUND). nodes: int32, the
        breakdown's columns. node_ids_field: encode_strings(1, the columns' ids), b"" for
        totals. base_units: int32 by row. has_variants: bool by row (True: a SKU whose figures
        sum several rows, which this does not write), or None when no SKU has any.
        with_cells: node_available_quantities (BASIC); with_buckets too: the FULL view's columns.
        id_length_max > 0 checks each id as the service does.

        None, having written nothing that counts, when an id is not plainly valid (empty,
        longer than id_length_max, unprintable or with a space) or a SKU has variants: the
        service's message path answers then, and says what is wrong.
        """
        cdef const int32_t* node = <const int32_t*>_array_data(nodes, cnp.NPY_INT32, "nodes")
        cdef const int32_t* base_unit = <const int32_t*>_array_data(base_units, cnp.NPY_INT32, "base_units")
        cdef const uint8_t* variants = NULL
        cdef Py_ssize_t variant_rows = 0
        if has_variants is not None:
            variants = <const uint8_t*>_array_data(has_variants, cnp.NPY_BOOL, "has_variants")
            variant_rows = cnp.PyArray_SIZE(<cnp.ndarray>has_variants)
        cdef Py_ssize_t node_total = cnp.PyArray_SIZE(<cnp.ndarray>nodes), j
        cdef Py_ssize_t base_unit_rows = cnp.PyArray_SIZE(<cnp.ndarray>base_units)
        # The smallest and largest index, then one test: no branch per node (a loop compilers vectorize).
        cdef int32_t lowest = 0, highest = 0
        for j in range(node_total):
            lowest = min(lowest, node[j])
            highest = max(highest, node[j])
        if node_total and (lowest < 0 or highest >= core.node_count):
            raise ValueError("node index out of range")
        if not with_cells and (node_ids_field or with_buckets):
            raise ValueError("totals only: no node ids, no buckets")
        cdef _Columns columns = _columns_of(core)
        cdef Py_ssize_t row, length, i
        cdef const char* utf8
        cdef uint8_t* out
        self._length = 0
        try:
            out = self._reserve(PyBytes_GET_SIZE(node_ids_field))
            memcpy(out, PyBytes_AS_STRING(node_ids_field), PyBytes_GET_SIZE(node_ids_field))
            self._length += PyBytes_GET_SIZE(node_ids_field)
            # By index: iterating a protobuf repeated field ends in an IndexError, formatted (~0.3 us a call).
            for i in range(len(sku_ids)):
                sku_id = sku_ids[i]
                if not isinstance(sku_id, str):
                    raise TypeError("sku_ids must be str")
                if id_length_max > 0 and not _plain_id(<str>sku_id, id_length_max):
                    return None
                found = sku_index.get(sku_id)
                row = -1 if found is None else <Py_ssize_t>found
                if row >= core.sku_count or row >= base_unit_rows:
                    raise ValueError("SKU row out of range")
                if row >= 0 and row < variant_rows and variants[row]:
                    return None
                utf8 = PyUnicode_AsUTF8AndSize(sku_id, &length)
                if row < 0:
                    self._write_not_found(<const uint8_t*>utf8, length)
                else:
                    self._write_found(core, columns, <const uint8_t*>utf8, length, row, base_unit[row], node,
                                      node_total, with_cells, with_buckets)
            out = self._reserve(_varint_field_size(TAG_LOG_POSITION, core.log_position))
            self._length = _put_varint_field(out, TAG_LOG_POSITION, core.log_position) - self._buffer
            return PyBytes_FromStringAndSize(<char*>self._buffer, self._length)
        finally:
            self._length = 0
            self._release_if_large()

    cdef int _write_not_found(self, const uint8_t* sku_id, Py_ssize_t length) except -1:
        cdef Py_ssize_t size = (_delimited_size(TAG_SKU_ID, length) if length else 0) + _varint_field_size(
            TAG_STATUS, ITEM_SKU_NOT_FOUND)
        cdef uint8_t* out = self._reserve(_delimited_size(TAG_ITEMS, size))
        out = _put_delimited_head(out, TAG_ITEMS, size)
        out = _put_string(out, sku_id, length)
        out = _put_varint_field(out, TAG_STATUS, ITEM_SKU_NOT_FOUND)
        self._length = out - self._buffer
        return 0

    cdef int _write_found(self, Core core, _Columns columns, const uint8_t* sku_id, Py_ssize_t length,
                          Py_ssize_t row, int32_t base_unit, const int32_t* node, Py_ssize_t node_total,
                          bint with_cells, bint with_buckets) except -1:
        """One found SKU's item. Its packed columns are written once, to the scratch area, in the pass that
        sums the total (the item's head, which comes first, needs both); then the head and a copy of them."""
        cdef Py_ssize_t start = row * core.node_count, j, c
        cdef int64_t total = 0, value
        cdef Py_ssize_t packed[COLUMNS_MAX]
        cdef int column_count = 0
        if with_cells and node_total:
            column_count = COLUMNS_MAX if with_buckets else 1
        # A random SKU's row is cache misses: ask for all its lines at once, not one after another.
        for j in range(0, node_total, 8):
            _prefetch(&columns.available[start + node[j]])
        cdef uint8_t* scratch = self._reserve_scratch(column_count * node_total * VARINT_BYTES_MAX + 1)
        cdef uint8_t* put = scratch
        if column_count:  # the total and the available column in one pass
            put = _put_available(put, columns.available + start, node, node_total, &total)
            packed[0] = put - scratch
        else:
            for j in range(node_total):
                total += columns.available[start + node[j]]
        cdef uint8_t* column_start
        for c in range(1, column_count):
            column_start = put
            put = _put_column(put, columns, c, start, node, node_total)
            packed[c] = put - column_start
        cdef Py_ssize_t size = (_delimited_size(TAG_SKU_ID, length) if length else 0) + _varint_field_size(
            TAG_STATUS, ITEM_OK) + _varint_field_size(TAG_BASE_UNIT, base_unit) + _varint_field_size(
            TAG_AVAILABLE_QUANTITY, total)
        for c in range(column_count):
            size += _delimited_size(_packed_tag(_field_of_column(c)), packed[c])
        cdef uint8_t* out = self._reserve(_delimited_size(TAG_ITEMS, size))
        out = _put_delimited_head(out, TAG_ITEMS, size)
        out = _put_string(out, sku_id, length)
        out = _put_varint_field(out, TAG_STATUS, ITEM_OK)
        out = _put_varint_field(out, TAG_BASE_UNIT, base_unit)
        out = _put_varint_field(out, TAG_AVAILABLE_QUANTITY, total)
        column_start = scratch
        for c in range(column_count):
            out = _put_delimited_head(out, _packed_tag(_field_of_column(c)), packed[c])
            memcpy(out, column_start, packed[c])
            out += packed[c]
            column_start += packed[c]
        self._length = out - self._buffer
        return 0


cdef inline uint8_t* _put_string(uint8_t* out, const uint8_t* text, Py_ssize_t length) noexcept nogil:
    """A string field (sku_id); nothing for "" (proto3's default)."""
    if length == 0:
        return out
    out = _put_delimited_head(out, TAG_SKU_ID, length)
    memcpy(out, text, length)
    return out + length


cdef _Columns _columns_of(Core core):
    cdef _Columns columns
    columns.available = &core.available[0]
    columns.buckets[0] = &core.on_hand[0]
    columns.buckets[1] = &core.held[0]
    columns.buckets[2] = &core.allocated[0]
    columns.buckets[3] = &core.unavailable[0]
    columns.buckets[4] = &core.safety_stock[0]
    columns.reason_row = &core.reason_row[0]
    # Empty until a position first gets a reason: then no reason_row points into it.
    columns.reason_quantity = &core.reason_quantity[0] if core.reason_quantity.shape[0] else NULL
    return columns


cdef inline int _field_of_column(int column) noexcept nogil:
    """Column 0: node_available_quantities (5); 1 to 5: the buckets (6 to 10); then the reasons (17 to 20)."""
    if column <= BUCKET_COLUMNS:
        return 5 + column
    return FIRST_REASON_FIELD + column - 1 - BUCKET_COLUMNS


cdef inline int64_t _cell(_Columns columns, int column, Py_ssize_t position) noexcept nogil:
    cdef int32_t reason_row
    if column == 0:
        return columns.available[position]
    if column <= BUCKET_COLUMNS:
        return columns.buckets[column - 1][position]
    reason_row = columns.reason_row[position]
    if reason_row < 0:
        return 0
    return columns.reason_quantity[<Py_ssize_t>reason_row * UNAVAILABLE_REASON_COUNT + column - 1 - BUCKET_COLUMNS]


cdef uint8_t* _put_column(uint8_t* out, _Columns columns, int column, Py_ssize_t start, const int32_t* node,
                          Py_ssize_t node_total) noexcept nogil:
    """One packed column's values (room for VARINT_BYTES_MAX a value, and one byte more)."""
    cdef Py_ssize_t j
    for j in range(node_total):
        out = _put_varint_spilling(out, <uint64_t>_cell(columns, column, start + node[j]))
    return out
