"""`dompromise load-catalog`: a catalog CSV streamed to a server through NetworkService.ImportSkus.

Columns (a header row names them; only `sku_id` is required):
sku_id, description, unit (each | mm | g | ml), brand, category,
tags (`;`-separated), packs (`name=count;...`), tracked_attributes (`;`-separated).
Rows go in batches of CATALOG_SKUS_MAX, each applied as one log command as it
arrives; a bad row (the file's own problems) stops the load before anything is
sent, naming file:line; the server's per-item refusals are printed after.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator

import grpc

from dompromise.client.loader import Progress
from dompromise.limits import CATALOG_SKUS_MAX
from dompromise.v1 import common_pb2, network_pb2, network_pb2_grpc

UNITS = {
    "": common_pb2.BASE_UNIT_UNSPECIFIED,
    "each": common_pb2.BASE_UNIT_EACH,
    "mm": common_pb2.BASE_UNIT_MILLIMETRE,
    "g": common_pb2.BASE_UNIT_GRAM,
    "ml": common_pb2.BASE_UNIT_MILLILITRE,
}
COLUMNS = ("sku_id", "description", "unit", "brand", "category", "tags", "packs", "tracked_attributes")


def read_catalog(path: str) -> tuple[list[network_pb2.Sku], list[str]]:
    """(SKUs, problems as `file:line: field: message`)."""
    skus: list[network_pb2.Sku] = []
    problems: list[str] = []
    with open(path, encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        unknown = [name for name in reader.fieldnames or () if name not in COLUMNS]
        if "sku_id" not in (reader.fieldnames or ()) or unknown:
            return [], [f"{path}:1: header: needs sku_id; unknown columns {unknown} (known: {', '.join(COLUMNS)})"]
        for row in reader:
            line = reader.line_num
            sku, problem = _sku(row)
            if problem:
                problems.append(f"{path}:{line}: {problem}")
            else:
                skus.append(sku)
    return skus, problems


def _sku(row: dict[str, str]) -> tuple[network_pb2.Sku, str]:
    unit = (row.get("unit") or "").strip()
    if unit not in UNITS:
        return network_pb2.Sku(), f"unit: unknown unit {unit!r} (each, mm, g or ml)"
    sku = network_pb2.Sku(
        sku_id=(row.get("sku_id") or "").strip(),
        description=row.get("description") or "",
        base_unit=UNITS[unit],
        brand=row.get("brand") or "",
        category=row.get("category") or "",
        tags=[tag for tag in (row.get("tags") or "").split(";") if tag],
        tracked_attribute_keys=[key for key in (row.get("tracked_attributes") or "").split(";") if key],
    )
    for pack in (row.get("packs") or "").split(";"):
        if not pack:
            continue
        name, _, count = pack.partition("=")
        if not count.isdigit():
            return sku, f"packs: {pack!r} is not name=count"
        sku.pack_sizes.append(network_pb2.PackSize(name=name, base_unit_count=int(count)))
    if not sku.sku_id:
        return sku, "sku_id: required"
    return sku, ""


def chunks(skus: list[network_pb2.Sku], progress: Progress) -> Iterator[network_pb2.ImportSkusRequest]:
    for start in range(0, len(skus), CATALOG_SKUS_MAX):
        yield network_pb2.ImportSkusRequest(skus=skus[start : start + CATALOG_SKUS_MAX])
        progress.update(min(start + CATALOG_SKUS_MAX, len(skus)))
    progress.update(len(skus), final=True)


def run(path: str, target: str, quiet: bool, timeout_seconds: float) -> int:
    try:
        skus, problems = read_catalog(path)
    except OSError as error:
        print(f"dompromise load-catalog: {error}", file=sys.stderr)
        return 2
    if problems:
        for problem in problems[:100]:
            print(problem, file=sys.stderr)
        print(f"dompromise load-catalog: {len(problems)} bad rows, nothing loaded", file=sys.stderr)
        return 1
    progress = Progress(len(skus), not quiet)
    with grpc.insecure_channel(target) as channel:
        stub = network_pb2_grpc.NetworkServiceStub(channel)
        try:
            answer = stub.ImportSkus(chunks(skus, progress), timeout=timeout_seconds)
        except grpc.RpcError as error:
            print(f"dompromise load-catalog: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    for item in answer.rejected:
        print(f"{item.sku_id}: {network_pb2.CatalogItemStatus.Name(item.status)} {item.message}", file=sys.stderr)
    print(
        f"{answer.sku_count:,} SKUs: {answer.created_count:,} created, {answer.updated_count:,} updated, "
        f"{answer.unchanged_count:,} unchanged, {answer.rejected_count:,} rejected; "
        f"log position {answer.log_position}"
    )
    return 1 if answer.rejected_count else 0
