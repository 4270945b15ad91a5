"""Load and validate the stock CSV against a network.

Stock CSV (UTF-8, optional BOM)::

    sku_id,node_id,on_hand_quantity,unit
    BRK-PAD-0001,DC-NAT,120,
    BRK-PAD-0001,WH-NORTH,2,carton

The header names the columns, in any order; ``unit`` is optional. A
non-empty unit is the SKU's base unit spelling or one of its pack names,
and the quantity is multiplied by the pack size. Quantities are plain ASCII
integers in [0, QUANTITY_MAX] after conversion; a (sku, node) pair may
appear once per file; blank lines are skipped. Problems are reported like
the network config's (`path:line: field: message`, all at once);
`docs/config.md` ("Stock CSV") has an example.
"""

from __future__ import annotations

import _csv
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from dompromise.config.problems import Problems, checked, read_utf8
from dompromise.limits import QUANTITY_MAX
from dompromise.model.network import BASE_UNIT_SPELLINGS, Network, Sku, StockRow

# ASCII only: int() would also accept "1_000", " 7 " and non-ASCII digits.
_QUANTITY_PATTERN = re.compile(r"[+-]?[0-9]+")
# More digits than this cannot be <= QUANTITY_MAX, and int() refuses very
# long digit strings anyway.
_QUANTITY_DIGITS_MAX = len(str(QUANTITY_MAX))

_STOCK_COLUMNS_REQUIRED = ("sku_id", "node_id", "on_hand_quantity")
_STOCK_COLUMN_UNIT = "unit"


@dataclass(frozen=True)
class _StockColumns:
    """Where each column of the stock CSV is, from its header row."""

    sku_id: int
    node_id: int
    on_hand_quantity: int
    unit: int | None
    count: int


class _UnreadableCsv(Exception):
    """Malformed CSV quoting: the rest of the file cannot be trusted."""


def load_stock_csv(path: str | Path, network: Network) -> list[StockRow]:
    """Read and validate a stock CSV file against `network`."""
    path_text = str(path)
    text = read_utf8(Path(path), path_text)
    return parse_stock_csv(text, network, path_text)


def parse_stock_csv(text: str, network: Network, path: str = "<string>") -> list[StockRow]:
    """Validate stock CSV text against `network`: every row, or a ConfigError."""
    text = text.removeprefix("\ufeff")  # spreadsheet exports often start with a BOM
    problems = Problems(path)
    rows = problems.read_all(lambda: _read_readable_stock_rows(text, network, problems))
    problems.raise_if_any()
    assert rows is not None
    return rows


def _read_readable_stock_rows(text: str, network: Network, problems: Problems) -> list[StockRow]:
    """The rows; none once the CSV quoting goes wrong (reported where it did)."""
    try:
        return _read_stock_rows(text, network, problems)
    except _UnreadableCsv:
        return []


def _read_stock_rows(text: str, network: Network, problems: Problems) -> list[StockRow]:
    # strict: a stray quote is an error rather than silently glued text.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header, header_line = _next_record(reader, problems)
    if header is None:
        problems.add(1, "header", "missing header row (" + ",".join(_STOCK_COLUMNS_REQUIRED) + ")")
        return []
    columns = _read_stock_header(header, header_line, problems)
    if columns is None:
        return []
    skus_by_id = {sku.sku_id: sku for sku in network.skus}
    node_ids = {node.node_id for node in network.nodes}
    first_lines: dict[tuple[str, str], int] = {}
    rows: list[StockRow] = []
    while True:
        record, line = _next_record(reader, problems)
        if record is None:
            return rows
        row = _read_stock_record(record, line, columns, skus_by_id, node_ids, problems)
        if row is None:
            continue
        key = (row.sku_id, row.node_id)
        if key in first_lines:
            problems.add(
                line,
                "row",
                f"duplicate row for sku {row.sku_id!r} at node {row.node_id!r} (first on line {first_lines[key]})",
            )
            continue
        first_lines[key] = line
        rows.append(row)


def _next_record(reader: _csv.Reader, problems: Problems) -> tuple[list[str] | None, int]:
    """The next non-blank record and the line it starts on, or (None, 0) at the end."""
    while True:
        start_line = reader.line_num + 1
        try:
            record = next(reader, None)
        except csv.Error as error:
            problems.add(start_line, "row", f"malformed CSV: {error}")
            raise _UnreadableCsv() from None
        if record is None:
            return None, 0
        if any(cell.strip() for cell in record):
            return record, start_line


def _read_stock_header(header: list[str], line: int, problems: Problems) -> _StockColumns | None:
    """The column positions, or None when the header is unusable."""
    before = problems.count()
    allowed = _STOCK_COLUMNS_REQUIRED + (_STOCK_COLUMN_UNIT,)
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name not in allowed:
            problems.add(line, "header", f"unknown column {name!r} (expected: {', '.join(allowed)})")
        elif name in positions:
            problems.add(line, "header", f"column {name!r} appears twice")
        else:
            positions[name] = index
    for name in _STOCK_COLUMNS_REQUIRED:
        if name not in positions:
            problems.add(line, "header", f"missing column {name!r}")
    if problems.count() > before:
        return None
    return _StockColumns(
        sku_id=positions["sku_id"],
        node_id=positions["node_id"],
        on_hand_quantity=positions["on_hand_quantity"],
        unit=positions.get(_STOCK_COLUMN_UNIT),
        count=len(header),
    )


def _read_stock_record(
    record: list[str],
    line: int,
    columns: _StockColumns,
    skus_by_id: dict[str, Sku],
    node_ids: set[str],
    problems: Problems,
) -> StockRow | None:
    if len(record) != columns.count:
        problems.add(line, "row", f"expected {columns.count} columns, got {len(record)}")
        return None
    before = problems.count()
    sku_id = record[columns.sku_id]
    sku = skus_by_id.get(sku_id)
    if sku is None:
        problems.add(line, "sku_id", f"unknown sku {sku_id!r}")
    node_id = record[columns.node_id]
    if node_id not in node_ids:
        problems.add(line, "node_id", f"unknown node {node_id!r}")
    quantity = _read_quantity(record[columns.on_hand_quantity], line, problems)
    unit = record[columns.unit] if columns.unit is not None else ""
    if sku is not None and unit:
        pack_size = _unit_size(sku, unit, line, problems)
        if pack_size is not None and quantity is not None:
            quantity = _convert_quantity(quantity, pack_size, unit, sku, line, problems)
    if problems.count() > before:
        return None
    return StockRow(sku_id=sku_id, node_id=node_id, on_hand_quantity=checked(quantity))


def _read_quantity(text: str, line: int, problems: Problems) -> int | None:
    field = "on_hand_quantity"
    if not _QUANTITY_PATTERN.fullmatch(text):
        problems.add(line, field, f"{text!r} is not an integer")
        return None
    digits = text.lstrip("+-").lstrip("0")
    if text.startswith("-") and digits:
        problems.add(line, field, f"{text} is negative")
        return None
    # Checked on the digit count first: int() refuses very long digit strings.
    if len(digits) > _QUANTITY_DIGITS_MAX or int(digits or "0") > QUANTITY_MAX:
        problems.add(line, field, f"{text} is more than QUANTITY_MAX ({QUANTITY_MAX})")
        return None
    return int(digits or "0")


def _unit_size(sku: Sku, unit: str, line: int, problems: Problems) -> int | None:
    """Base units per `unit` for this SKU: 1 for its base unit, else its pack size."""
    if unit == BASE_UNIT_SPELLINGS[sku.base_unit]:
        return 1
    if unit in sku.pack_sizes:
        return sku.pack_sizes[unit]
    known = [BASE_UNIT_SPELLINGS[sku.base_unit], *sku.pack_sizes]
    problems.add(
        line,
        "unit",
        f"unknown unit {unit!r} for sku {sku.sku_id!r} (expected one of: {', '.join(known)})",
    )
    return None


def _convert_quantity(quantity: int, pack_size: int, unit: str, sku: Sku, line: int, problems: Problems) -> int | None:
    base_quantity = quantity * pack_size
    if base_quantity > QUANTITY_MAX:
        base_unit = BASE_UNIT_SPELLINGS[sku.base_unit]
        problems.add(
            line,
            "on_hand_quantity",
            f"{quantity} {unit} is {base_quantity} {base_unit}, more than QUANTITY_MAX ({QUANTITY_MAX})",
        )
        return None
    return base_quantity
