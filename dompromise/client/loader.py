"""`dompromise load stock.csv`: stream a stock CSV to a running server (UploadStock).

The CSV is the serve --stock format (sku_id,node_id,on_hand_quantity[,unit]).
This side checks what it can without the network (columns, integers); the
server checks ids and units and answers per row. Every problem is printed as
path:line: field: message, as config files are.
"""

from __future__ import annotations

import _csv
import csv
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc

from dompromise import limits
from dompromise.client.channel import ChannelSecurity, open_channel
from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

REQUIRED = ("sku_id", "node_id", "on_hand_quantity")
OPTIONAL = ("unit",)
PROGRESS_EVERY_SECONDS = 0.5
PROBLEMS_PRINTED_MAX = 100


@dataclass
class Parsed:
    """The file's good rows, columnar, with the line each came from, and its bad lines."""

    sku_ids: list[str] = field(default_factory=list)
    node_ids: list[str] = field(default_factory=list)
    quantities: list[int] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, field, message)


def parse_csv(path: str) -> Parsed:
    """Reads the CSV; a missing or unknown column is one problem on line 1 and no rows."""
    parsed = Parsed()
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        header = next(reader, None)
        if header is None:
            parsed.problems.append((1, "header", "missing header row (" + ",".join(REQUIRED) + ")"))
            return parsed
        columns = {name: index for index, name in enumerate(header)}
        unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
        missing = [name for name in REQUIRED if name not in columns]
        if unknown or missing:
            parsed.problems.append((1, "header", f"unknown columns {unknown}, missing columns {missing}"))
            return parsed
        _read_rows(reader, columns, len(header), parsed)
    return parsed


def _read_rows(reader: _csv.Reader, columns: dict[str, int], width: int, parsed: Parsed) -> None:
    sku, node, quantity = (columns[name] for name in REQUIRED)
    unit = columns.get("unit")
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            if not any(record):
                continue
            if len(record) != width:
                parsed.problems.append((line, "row", f"expected {width} columns, got {len(record)}"))
                continue
            text = record[quantity].strip()
            if not (text.isascii() and text.isdigit()):  # ASCII digits only: no sign, never negative
                parsed.problems.append((line, "on_hand_quantity", f"{text!r} is not a whole number >= 0"))
                continue
            parsed.sku_ids.append(record[sku].strip())
            parsed.node_ids.append(record[node].strip())
            parsed.quantities.append(int(text))
            parsed.units.append(record[unit].strip() if unit is not None else "")
            parsed.lines.append(line)
    except csv.Error as error:
        parsed.problems.append((line + 1, "row", f"malformed CSV, stopped reading: {error}"))


def chunks(
    parsed: Parsed, all_or_nothing: bool, source_id: str, sequence: int
) -> Iterator[inventory_pb2.UploadStockRequest]:
    """UploadStockRequests of at most STOCK_UPDATES_MAX rows each, as columns."""
    step = limits.STOCK_UPDATES_MAX
    has_units = any(parsed.units)
    for begin in range(0, len(parsed.sku_ids), step):
        end = begin + step
        columns = inventory_pb2.StockColumns(
            sku_ids=parsed.sku_ids[begin:end],
            node_ids=parsed.node_ids[begin:end],
            quantities=parsed.quantities[begin:end],
        )
        if has_units:
            columns.units.extend(parsed.units[begin:end])
        if source_id:
            columns.source_id = source_id
            columns.sequences.extend([sequence] * len(columns.sku_ids))
        yield inventory_pb2.UploadStockRequest(columns=columns, all_or_nothing=all_or_nothing and begin == 0)


class Progress:
    """A one-line progress bar on stderr, redrawn at most twice a second."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.start = self.last = time.monotonic()

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < PROGRESS_EVERY_SECONDS):
            return
        self.last = now
        fraction = done / self.total if self.total else 1.0
        bar = "#" * int(30 * fraction)
        rate = done / max(now - self.start, 1e-9)
        end = "\n" if final else "\r"
        print(f"\r[{bar:<30}] {done:,}/{self.total:,} rows  {rate:,.0f} rows/s", end=end, file=sys.stderr)


def upload(
    target: str,
    parsed: Parsed,
    all_or_nothing: bool,
    source_id: str,
    sequence: int,
    progress: Progress,
    timeout_seconds: float,
    security: ChannelSecurity | None = None,
) -> inventory_pb2.UploadStockResponse:
    def counted() -> Iterator[inventory_pb2.UploadStockRequest]:
        sent = 0
        for chunk in chunks(parsed, all_or_nothing, source_id, sequence):
            yield chunk
            sent += len(chunk.columns.sku_ids)
            progress.update(sent)

    options = [("grpc.max_send_message_length", limits.MESSAGE_BYTES_MAX)]
    with open_channel(target, security, options) as channel:
        stub = inventory_pb2_grpc.InventoryServiceStub(channel)
        response: inventory_pb2.UploadStockResponse = stub.UploadStock(counted(), timeout=timeout_seconds)
    progress.update(len(parsed.sku_ids), final=True)
    return response


def run(
    path: str,
    target: str,
    all_or_nothing: bool,
    source_id: str,
    sequence: int,
    quiet: bool,
    timeout_seconds: float,
    security: ChannelSecurity | None = None,
) -> int:
    """0: every row applied (or stale); 1: some rows rejected; 2: nothing could be loaded."""
    started = time.monotonic()
    parsed = parse_csv(path)
    for line, name, message in parsed.problems[:PROBLEMS_PRINTED_MAX]:
        print(f"{path}:{line}: {name}: {message}", file=sys.stderr)
    if parsed.problems and (all_or_nothing or not parsed.sku_ids):
        print(f"dompromise load: {len(parsed.problems)} bad rows, nothing loaded", file=sys.stderr)
        return 2
    try:
        response = upload(
            target,
            parsed,
            all_or_nothing,
            source_id,
            sequence,
            Progress(len(parsed.sku_ids), not quiet),
            timeout_seconds,
            security,
        )
    except grpc.RpcError as error:
        print(f"dompromise load: {error.code().name}: {error.details()}", file=sys.stderr)
        return 2
    for problem in response.problems:
        print(f"{path}:{parsed.lines[problem.row]}: {problem.field}: {problem.description}", file=sys.stderr)
    rejected = response.rejected_count + len(parsed.problems)
    print(
        f"loaded {response.applied_count:,} rows ({response.stale_count:,} stale, {rejected:,} rejected) "
        f"in {time.monotonic() - started:.1f} s, log position {response.log_position}"
    )
    return 1 if rejected else 0
