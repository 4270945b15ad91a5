"""Hypothesis over every RPC's request decoding and validation, through a real server on port 0.

Each example is a malformed request (tests/fuzz/malformed.py: random bytes, damaged encodings, structured
random messages from the descriptors) to one RPC. None may answer UNKNOWN or INTERNAL, and the server may log
no ERROR and no traceback. Bounded: FUZZ_EXAMPLES examples, well under a minute in CI; failures found are kept
in tests/fuzz/corpus/hypothesis/ (hypothesis's example database, replayed first on every run; written only with
FUZZ_SAVE=1, read-only otherwise so CI never dirties the tree). The request corpus, tests/fuzz/corpus/requests/
(seeds.py: the issue's crashing requests as bytes, each with the status it must get), replays on every run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import grpc
import pytest
from conftest import ServerThread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase
from malformed import SERVER_FAULTS, LogCounter, Method, methods, request_bytes, send
from seeds import REQUESTS, seeds, unframe

CORPUS = Path(__file__).resolve().parent / "corpus"
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "400"))
_database = DirectoryBasedExampleDatabase(str(CORPUS / "hypothesis"))
DATABASE = _database if os.environ.get("FUZZ_SAVE") == "1" else ReadOnlyDatabase(_database)
METHODS = methods()
KEPT = sorted(REQUESTS.glob("*.bin"))


class HypothesisDraw:
    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def integer(self, low: int, high: int) -> int:
        return self._data.draw(st.integers(low, high))

    def choice(self, values: tuple[object, ...]) -> object:
        return self._data.draw(st.sampled_from(values))

    def data(self, size_max: int) -> bytes:
        return self._data.draw(st.binary(max_size=size_max))


@pytest.fixture(scope="module")
def fuzzed():
    from conftest import stocked_replica  # noqa: PLC0415

    counter = LogCounter()
    root = logging.getLogger()
    root.addHandler(counter)
    server = ServerThread(stocked_replica())
    with grpc.insecure_channel(server.target) as channel:
        yield channel, counter
    server.stop()
    root.removeHandler(counter)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=DATABASE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_no_malformed_request_gets_unknown_or_internal_or_an_error_log(fuzzed, data):
    channel, counter = fuzzed
    method = data.draw(st.sampled_from(METHODS), label="method")
    draw = HypothesisDraw(data)
    payloads = [request_bytes(method, draw) for _ in range(draw.integer(1, 2) if method.client_streaming else 1)]
    code = send(channel, method, payloads)
    assert code not in SERVER_FAULTS, (method.path, code, payloads)
    assert counter.tracebacks == 0, counter.errors
    assert counter.levels["ERROR"] == 0, counter.errors


def kept_request(path: Path) -> tuple[Method, list[bytes], grpc.StatusCode]:
    """A corpus file's method, request message(s) and expected status (seeds.py names the format)."""
    method_name, _, status = path.stem.split("--")
    (method,) = [m for m in METHODS if m.path == f"/dompromise.v1.{method_name.replace('.', '/')}"]
    data = path.read_bytes()
    return method, unframe(data) if method.client_streaming else [data], grpc.StatusCode[status]


@pytest.mark.parametrize("path", KEPT, ids=[path.stem.split("--")[1] for path in KEPT])
def test_kept_request_gets_its_status(fuzzed, path):
    channel, counter = fuzzed
    method, payloads, expected = kept_request(path)
    assert send(channel, method, payloads) == expected, path.name
    assert counter.tracebacks == 0, counter.errors
    assert counter.levels["ERROR"] == 0, counter.errors


def test_the_issues_seeds_are_in_the_corpus():
    """Every case seeds.py writes is checked in, byte for byte (run `python tests/fuzz/seeds.py` after a change)."""
    for name, data in seeds().items():
        assert (REQUESTS / name).read_bytes() == data, name
