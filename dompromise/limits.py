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

# WatchAvailability: SKUs per stream (the node filters and the breakdown are
# bounded as for GetAvailability), and open streams per server process. Every
# stream also counts against CONCURRENT_RPCS_MAX for as long as it is open,
# so streams get at most half of it: watchers cannot starve unary RPCs.
WATCH_SKUS_MAX = 10_000
WATCH_STREAMS_MAX = 500
# A log's identity (log_id, resume_log_id): characters.
LOG_ID_LENGTH_MAX = 64

# Time-phased availability: buckets per request, their length, and the cells
# (SKUs x selected nodes x buckets) one answer may carry.
PHASING_BUCKETS_MAX = 366
PHASING_BUCKET_SECONDS_MIN = 60
PHASING_BUCKET_SECONDS_MAX = 366 * 24 * 3600
PHASING_CELLS_MAX = 1_000_000

# PromiseDelivery: lines per order (B2B orders have thousands), options per
# answer, how far ahead future supply is considered, and how long a promise
# token can be reserved from.
PROMISE_LINES_MAX = 5_000
PROMISE_OPTIONS_MAX = 20
PROMISE_OPTIONS_DEFAULT = 5
PROMISE_HORIZON_DAYS = 90
PROMISE_TOKEN_TTL_SECONDS = 15 * 60
# A promise token reserves once: the log remembers each reserved token until
# it expires plus this margin (the instances' clocks that refuse expired
# tokens may lag the log's), and at most this many tokens (past it, those
# expiring soonest are forgotten first).
PROMISE_TOKEN_CLOCK_MARGIN_SECONDS = 5 * 60
PROMISE_TOKENS_REMEMBERED_MAX = 1_000_000

# WatchReservationEvents: open streams per process, and events queued for a
# slow reader before its stream is ended (it resumes by version).
RESERVATION_EVENT_STREAMS_MAX = 200
RESERVATION_EVENTS_QUEUED_MAX = 10_000

# UpdateStock: items per request (and rows per UploadStock chunk).
STOCK_UPDATES_MAX = 10_000
# UploadStock: rows per upload, and the bad rows its answer lists.
UPLOAD_ROWS_MAX = 10_000_000
# An all_or_nothing upload is one log record (a crash applies all or none):
# at most this many rows, and this many bytes encoded (ids of 20 characters
# make ~50 bytes a row; the file log frames at most 64 MB a record).
UPLOAD_ATOMIC_ROWS_MAX = 100_000
UPLOAD_ATOMIC_RECORD_BYTES_MAX = 16 * 1024 * 1024
UPLOAD_PROBLEMS_LISTED_MAX = 100
# Distinct feed sources (StockUpdate.source_id) a network keeps sequence
# numbers for; each costs 8 bytes per (SKU, node) position.
FEED_SOURCES_MAX = 16

# Attributes (lot, country of origin, date code) splitting a position into
# variants: keys a network config may declare, attributes per position (and
# per required set), key and value lengths, and the variants one network
# holds. Every variant is a SKU row of the core, so it costs a position at
# every node (~84 bytes each): VARIANT_POSITIONS_MAX (variants x nodes) bounds
# that memory (~420 MB) whatever the number of nodes.
ATTRIBUTES_DECLARED_MAX = 16
ATTRIBUTES_PER_POSITION_MAX = 4
ATTRIBUTE_KEY_LENGTH_MAX = 64
ATTRIBUTE_VALUE_LENGTH_MAX = 128
VARIANTS_MAX = 100_000
VARIANT_POSITIONS_MAX = 5_000_000

# SetSafetyStock: rules per request, and the positions they may cover in all (a
# SKU rule covers one per node, a node rule one per SKU: the core re-derives
# each, in one command, while no other write applies).
SAFETY_STOCK_RULES_MAX = 10_000
SAFETY_STOCK_POSITIONS_MAX = 10_000_000

# Channel views (the `views:` section of the network config): views per
# network, customer segments and protected allocations per view, entries of
# one per-SKU quantity map (safety stock, exposure cap, low-stock threshold)
# and SKUs one protected allocation names. A phasing horizon is at most the
# longest phasing a request may ask for.
VIEWS_MAX = 1_000
VIEW_SEGMENTS_MAX = 64
VIEW_PROTECTED_MAX = 100
VIEW_SKU_QUANTITIES_MAX = 100_000
VIEW_PROTECTED_SKUS_MAX = 10_000
VIEW_HORIZON_DAYS_MAX = 366

# Promise ranking (the `ranking:` blocks and node `priority` of the network
# config): a node's priority (lower is preferred), and each ranking weight.
NODE_PRIORITY_MAX = 1_000
RANKING_WEIGHT_MAX = 1_000_000

# NetworkService list pagination.
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 1_000

# gRPC message size, both directions, in bytes.
MESSAGE_BYTES_MAX = 32 * 1024 * 1024

# RPCs handled at once by one server process before new ones are shed.
CONCURRENT_RPCS_MAX = 1_000
# Load shedding (service/overload.py): unary and client-streaming RPCs in
# flight in one process before new ones are refused at once
# (RESOURCE_EXHAUSTED with RetryInfo), and tighter bounds for the heavy ones
# (a 10M-row upload, a wave of 1,000 orders, safety-stock rules over 10M
# positions): full RPC names -> calls of that method in flight.
INFLIGHT_RPCS_MAX = 512
INFLIGHT_PER_METHOD_MAX = {
    "/dompromise.v1.InventoryService/UploadStock": 4,
    "/dompromise.v1.InventoryService/SetSafetyStock": 4,
    "/dompromise.v1.ReservationService/AllocateWave": 8,
}

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

# Read-your-writes (x-dompromise-min-position): how long a request waits for
# the local replica to apply the position it asks for before UNAVAILABLE, in
# milliseconds (never past the call's deadline), and how many requests may
# wait at once per server before new ones are refused at once.
MIN_POSITION_WAIT_MS_MAX = 2_000
MIN_POSITION_WAITERS_MAX = 10_000

# The Redis snapshot lock (one snapshot writer at a time) expires after this
# many seconds: a writer that died frees it then. Longer than writing the
# largest snapshot takes (a writer still writing at expiry is warned, and
# never deletes a lock another writer took since).
REDIS_SNAPSHOT_LOCK_SECONDS = 60

# `serve --workers N`: worker processes on one port (each a full
# replica: N copies of the state in memory), and how often the supervisor
# restarts crashed workers (within a sliding window) before it gives up.
WORKERS_MAX = 32
WORKER_RESTARTS_MAX = 5
WORKER_RESTART_WINDOW_SECONDS = 60
# Instance registry in Redis: each instance heartbeats this often; an entry
# whose heartbeat is older than INSTANCE_EXPIRY_SECONDS is removed by the next
# heartbeat of any live instance (a crashed instance ages out).
INSTANCE_HEARTBEAT_SECONDS = 1.0
INSTANCE_EXPIRY_SECONDS = 30
# `serve --workers N` on the file log (replica/follower.py, replica/writer_link.py): records a reader's
# tail reads at a time; outcomes a reader keeps for forwarded writes whose answer comes after it applied
# them; bytes of the writer's frames a reader may leave unread before the writer drops its link.
FOLLOWER_READ_RECORDS_MAX = 4_096
FOLLOWER_KEPT_OUTCOMES_MAX = 8_192
WRITER_LINK_BUFFER_BYTES_MAX = 16 * 1024 * 1024

# Transport network (the `transport:` section of the network config).
CALENDARS_MAX = 1_000
HOLIDAYS_PER_CALENDAR_MAX = 1_000
ZONES_MAX = 10_000
# Postal-code prefixes, ranges and region names of one zone, together.
ZONE_MATCHERS_MAX = 1_000
POSTAL_CODE_LENGTH_MAX = 16
LANES_MAX = 20_000
# Timetable departures of one lane in one week (days x times, summed over entries),
# and of all lanes together (a daily pickup counts as one departure a working day).
# Every one is expanded over TRANSPORT_WINDOW_DAYS, so the total bounds memory:
# 100,000 a week is about 5.7M departures, 160 MB of tables.
DEPARTURES_PER_WEEK_MAX = 200
DEPARTURES_PER_WEEK_TOTAL_MAX = 100_000
# Order cut-offs of one node (one per carrier service).
CUTOFFS_PER_NODE_MAX = 64
# Dated cut-offs of one node, and dated capacities of one node (each list): the seasonal overrides.
DATED_RULES_PER_NODE_MAX = 1_000
# Processing lead time: working time from accepting an order to goods at the dock.
PROCESSING_MINUTES_MAX = 14 * 24 * 60
TRANSIT_HOURS_MAX = 30 * 24
TRANSIT_WORKING_DAYS_MAX = 30
TRANSIT_SPREAD_HOURS_MAX = 14 * 24
# A timetable arrival's day offset, in working days of the destination calendar.
ARRIVAL_DAY_OFFSET_MAX = 14
DAILY_CAPACITY_ORDERS_MAX = 10**9
# Cost of one shipment on a lane, in minor currency units (cents).
COST_MINOR_MAX = 10**12
# Precomputed transport tables: departures and calendars are expanded for this
# many days from a base date, and an EDT more than TRANSPORT_HORIZON_DAYS after
# its ready time is "no delivery". Ready times later than the window minus the
# horizon trigger a rebuild at a new base date, so answers never depend on it.
TRANSPORT_WINDOW_DAYS = 400
TRANSPORT_HORIZON_DAYS = 90

# Catalog search (NetworkService.SearchSkus, GET /v1/skus:search, the counter page): matches per answer,
# query length in characters, and words per query (the index does one range scan per word).
SEARCH_RESULTS_MAX = 20
SEARCH_QUERY_LENGTH_MAX = 256
SEARCH_QUERY_WORDS_MAX = 8

# HTTP/JSON (serve --http-port): a request body, in bytes (the gRPC message limit), and a request line (the
# URL of a GET with its query parameters: big batches are POSTed).
HTTP_BODY_BYTES_MAX = MESSAGE_BYTES_MAX
HTTP_REQUEST_LINE_BYTES_MAX = 65_536

# Bad requests: what an error message repeats of a client's value (characters;
# longer values are cut, their length said), and the WARNING lines one method
# logs for bad requests per second (the rest are counted in the next line).
ECHOED_VALUE_LENGTH_MAX = 64
BAD_REQUEST_LOG_LINES_PER_SECOND_MAX = 5
# An error answer's message, and each description in its details
# (characters): longer ones are cut, so the trailers that carry them stay
# within a default client's 8 KB of metadata whatever a request held.
ERROR_MESSAGE_LENGTH_MAX = 512
ERROR_DESCRIPTION_LENGTH_MAX = 160

# Times a request may name (google.protobuf.Timestamp): after the epoch and
# before 2200-01-01T00:00:00Z, in seconds. int64 nanoseconds end in 2262; a
# bound well before it keeps sums of a time and a duration (phasing buckets,
# hold expiries) free of overflow.
TIME_SECONDS_MAX = 7_258_118_400

# Any string field of any request, in characters: the bound for fields with
# no tighter limit of their own (promise tokens, page tokens, free text), so
# that no request string is unbounded.
STRING_LENGTH_MAX = 1_024
# PromiseDeliveryRequest.country_code: ISO 3166-1 alpha-2.
COUNTRY_CODE_LENGTH_MAX = 2

# ---- the catalog and the network as data (issue 14) ----
# SKUs per UpsertSkus / RetireSkus request, per ImportSkus stream message, and per catalog log record.
CATALOG_SKUS_MAX = 1_000
# Bytes of one network document (NetworkService.ApplyNetworkConfig's YAML or JSON text).
NETWORK_DOCUMENT_BYTES_MAX = 16 * 1024 * 1024

# API keys already found valid, remembered by the exact text presented (service/auth.py KeyRing): a call with
# one skips the SHA-256 and the comparison with every entry (~3% of a single-SKU read's server CPU). Only keys
# found valid are kept, so an unknown key always takes the constant-time path; a reload forgets them all. The
# same bound holds the whole `authorization` values that presented them (KeyRing.by_header: not parsed again).
ACCEPTED_KEYS_REMEMBERED_MAX = 1_024
