"""Every limit the service enforces, in one place.

Validation at the edge (service and config loading) checks these; the core
asserts what it is handed is already within them. The protos document the
same numbers; `tests/test_limits_documented.py` keeps the two in step.
"""

# Identifiers (node ids, SKU ids, tags, unit names): printable, no spaces.
ID_LENGTH_MAX = 128

# Quantities are int64 base units. Bounding each one far below 2**63 keeps
# every sum over a network (nodes * buckets) free of overflow.
QUANTITY_MAX = 10**15

# Network shape.
NODES_MAX = 10_000
SKUS_MAX = 5_000_000
TAGS_PER_NODE_MAX = 32
PACK_SIZES_PER_SKU_MAX = 8

# GetAvailability: SKUs per request, nodes named in a filter, and the size of
# the per-node breakdown (SKUs x selected nodes) one answer may carry.
AVAILABILITY_SKUS_MAX = 10_000
AVAILABILITY_FILTER_NODES_MAX = 1_000
AVAILABILITY_FILTER_TAGS_MAX = 32
AVAILABILITY_BREAKDOWN_CELLS_MAX = 1_000_000

# UpdateStock: items per request.
STOCK_UPDATES_MAX = 10_000

# NetworkService list pagination.
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 1_000

# gRPC message size, both directions, in bytes.
MESSAGE_BYTES_MAX = 32 * 1024 * 1024

# RPCs handled at once by one server process before new ones are shed.
CONCURRENT_RPCS_MAX = 1_000

# ReserveInventory: lines per request, and how long a hold may last.
RESERVATION_LINES_MAX = 10_000
# AllocateWave: orders per wave (their lines count against RESERVATION_LINES_MAX together).
WAVE_ORDERS_MAX = 1_000
RESERVATION_TTL_SECONDS_MIN = 1
RESERVATION_TTL_SECONDS_MAX = 7 * 24 * 3600
RESERVATION_TTL_SECONDS_DEFAULT = 15 * 60

# Idempotency keys (request_id) are remembered for this long in log time, and
# at most this many (the oldest are forgotten first).
IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600
IDEMPOTENCY_KEYS_MAX = 1_000_000
# ... and at most about this many bytes of remembered answers (a keyed
# 10,000-item stock update keeps a large one).
IDEMPOTENCY_BYTES_MAX = 256 * 1024 * 1024

# Commands the log writer groups into one write + fsync.
LOG_BATCH_COMMANDS_MAX = 4_096
# Commands waiting for the log writer before new writes are refused.
LOG_QUEUE_COMMANDS_MAX = 50_000
