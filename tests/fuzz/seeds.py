"""The request corpus: the issue's crashing requests as bytes, in tests/fuzz/corpus/requests/.

Each file is `<Service>.<Method>--<case>--<STATUS>.bin`: the request bytes as a client sent them and the
status the server must answer. For a client-streaming method the file holds the stream's messages, each
after its length (4 bytes, big-endian). tests/fuzz/test_fuzz_requests.py replays every file on every run,
against the same server the fuzzer uses; a request the fuzzer finds worth keeping goes here too.

`python tests/fuzz/seeds.py` rewrites the issue's seeds (the files are checked in; they never change unless
this script does).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from google.protobuf.message import Message

from dompromise import limits
from dompromise.v1 import availability_pb2, inventory_pb2, promise_pb2, reservation_pb2

REQUESTS = Path(__file__).resolve().parent / "corpus" / "requests"
UNDECODABLE = b"\xff\xff\xff\xff\x0f"  # a truncated varint: no message of any type decodes it


def frames(messages: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(message)) + message for message in messages)


def unframe(data: bytes) -> list[bytes]:
    messages, at = [], 0
    while at < len(data):
        (length,) = struct.unpack_from(">I", data, at)
        messages.append(data[at + 4 : at + 4 + length])
        at += 4 + length
    assert at == len(data), "a truncated frame"
    return messages


def _phasing(count: int, bucket_seconds: int, start_seconds: int = 0) -> bytes:
    request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
    request.phasing.bucket_count = count
    request.phasing.bucket_duration.seconds = bucket_seconds
    if start_seconds:
        request.phasing.start_time.seconds = start_seconds
    return request.SerializeToString()


def _encoded(message: Message) -> bytes:
    return message.SerializeToString()


def seeds() -> dict[str, bytes]:
    """File name -> bytes of each of the issue's cases."""
    upload_first = inventory_pb2.UploadStockRequest(
        all_or_nothing=True, columns=inventory_pb2.StockColumns(sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[777])
    )
    promise = promise_pb2.PromiseDeliveryRequest(lines=[promise_pb2.OrderLine(sku_id="PAD-1", quantity=1)])
    long_postal = promise_pb2.PromiseDeliveryRequest()
    long_postal.CopyFrom(promise)
    long_postal.postal_code = "9" * 10_000
    days = 86_400
    return {
        "AvailabilityService.GetAvailability--undecodable--INVALID_ARGUMENT.bin": UNDECODABLE,
        "AvailabilityService.GetAvailability--phasing-366-buckets-of-366-days--INVALID_ARGUMENT.bin": _phasing(
            limits.PHASING_BUCKETS_MAX, 366 * days
        ),
        "AvailabilityService.GetAvailability--phasing-start-year-9999--INVALID_ARGUMENT.bin": _phasing(
            1, days, 253_402_300_799
        ),
        "AvailabilityService.GetAvailability--phasing-after-2200--INVALID_ARGUMENT.bin": _phasing(
            1, days, limits.TIME_SECONDS_MAX
        ),
        "AvailabilityService.WatchAvailability--undecodable--INVALID_ARGUMENT.bin": UNDECODABLE,
        "PromiseService.PromiseDelivery--postal-code-10kb--INVALID_ARGUMENT.bin": _encoded(long_postal),
        "PromiseService.PromiseDelivery--cut-mid-field--INVALID_ARGUMENT.bin": _encoded(promise)[:-1],
        "InventoryService.UploadStock--bad-bytes-after-an-all-or-nothing-chunk--INVALID_ARGUMENT.bin": frames(
            [_encoded(upload_first), b"\x0a\xff\xff"]
        ),
        "ReservationService.ReserveInventory--undecodable--INVALID_ARGUMENT.bin": UNDECODABLE,
        "ReservationService.ReserveInventory--request-id-10kb--INVALID_ARGUMENT.bin": _encoded(
            reservation_pb2.ReserveInventoryRequest(
                request_id="k" * 10_000, lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", quantity=1)]
            )
        ),
        "ReservationService.ReserveInventory--promise-token-forged--INVALID_ARGUMENT.bin": _encoded(
            reservation_pb2.ReserveInventoryRequest(request_id="forged", promise_token="v1.e30.AAAA")
        ),
        "ReservationService.GetReservation--id-of-no-history--NOT_FOUND.bin": _encoded(
            reservation_pb2.GetReservationRequest(reservation_id="R999-0123456789abcdef")
        ),
    }


def main() -> int:
    REQUESTS.mkdir(parents=True, exist_ok=True)
    for name, data in seeds().items():
        (REQUESTS / name).write_bytes(data)
    print(f"{len(seeds())} seeds in {REQUESTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
