"""The link between the file log's writer and its readers under `serve --workers N` (replica/follower.py).

Worker 0 owns the data directory and its log; it listens on a unix socket in
that directory, `writer.sock` (mode 0600: whoever may read the data may
write through it, nobody else). Each reader keeps one connection to it.

Frames both ways: `u32 little-endian body length | u8 kind | body`.

    writer -> reader  HELLO     log id (ascii) | i64 last position     once, on connect
    writer -> reader  HEAD      i64 last position                      after every batch the writer applied
    reader -> writer  APPEND    u32 request | LogRecord bytes          a write that reached the reader
    writer -> reader  APPENDED  u32 request | i64 position | i64 log time ns
    writer -> reader  REFUSED   u32 request | utf-8 reason             (UnavailableError on the writer)

HEAD wakes the readers' tails at once (no polling latency): the writer sends
it after the batch's fdatasync and the synced mark, so the tail finds the
records durable. An APPEND is submitted to the writer's own replica like any
write (group commit with the others); the answer is its position, and the
reader answers its caller once its own tail applied that position (so the
outcome is the state machine's on the reader too, and read-your-writes holds
on the connection). Nothing here is an authorization: the reader checked the
caller's key before the write reached its replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Callable

from google.protobuf.message import DecodeError

from dompromise import limits
from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.replica.local import LocalReplica

log = logging.getLogger(__name__)

SOCKET_NAME = "writer.sock"
HEADER = struct.Struct("<IB")
REQUEST = struct.Struct("<I")
POSITION = struct.Struct("<q")
APPENDED_BODY = struct.Struct("<Iqq")
HELLO, HEAD, APPEND, APPENDED, REFUSED = 1, 2, 3, 4, 5
# A frame body larger than this ends the connection (a record is at most a message; HELLO is tiny).
FRAME_BYTES_MAX = limits.MESSAGE_BYTES_MAX + 64
# Reconnect backoff bounds, in seconds.
CONNECT_BACKOFF_SECONDS_MIN = 0.02
CONNECT_BACKOFF_SECONDS_MAX = 0.5
# The longest path a unix socket address holds (Linux sun_path, less its terminating zero).
SOCKET_PATH_BYTES_MAX = 107


def socket_path(directory: str) -> str:
    """The writer's socket in `directory`; OSError naming the problem if the path is too long for one."""
    path = os.path.join(os.path.abspath(directory), SOCKET_NAME)
    if len(os.fsencode(path)) > SOCKET_PATH_BYTES_MAX:
        raise OSError(
            f"--data-dir {directory}: {path} is longer than a unix socket path may be "
            f"({SOCKET_PATH_BYTES_MAX} bytes): use a shorter data directory path for --workers"
        )
    return path


def _frame(kind: int, body: bytes) -> bytes:
    return HEADER.pack(len(body), kind) + body


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    length, kind = HEADER.unpack(await reader.readexactly(HEADER.size))
    if length > FRAME_BYTES_MAX:
        raise ConnectionError(f"frame of {length} bytes over {FRAME_BYTES_MAX}")
    return kind, await reader.readexactly(length)


class WriterEndpoint:
    """The writer's side: takes readers' writes into its replica and tells them the head after each batch."""

    def __init__(self, replica: LocalReplica, directory: str):
        self._replica = replica
        self.path = socket_path(directory)
        self._server: asyncio.Server | None = None
        self._readers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        replica.add_apply_listener(self._on_applied)

    async def start(self) -> None:
        # The data directory's lock is ours: a socket file left there is a dead writer's.
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)
        os.chmod(self.path, 0o600)
        log.info("writer: readers' writes taken on %s", self.path)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._readers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)

    def _on_applied(self, log_position: int, records: list[log_pb2.LogRecord]) -> None:
        if not self._readers:
            return
        head = _frame(HEAD, POSITION.pack(log_position))
        for writer in list(self._readers):
            self._send(writer, head)

    def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if writer.is_closing():
            self._readers.discard(writer)
            return
        if writer.transport.get_write_buffer_size() > limits.WRITER_LINK_BUFFER_BYTES_MAX:
            log.warning("writer: a reader is %d bytes behind; dropping its link", limits.WRITER_LINK_BUFFER_BYTES_MAX)
            self._readers.discard(writer)
            writer.close()
            return
        writer.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None, "a connection is served in a task"
        self._tasks.add(task)
        try:
            log_id = self._replica.log_id.encode()
            writer.write(_frame(HELLO, POSITION.pack(self._replica.log_position) + log_id))
            self._readers.add(writer)
            while True:
                kind, body = await _read_frame(reader)
                if kind != APPEND:
                    raise ConnectionError(f"unexpected frame kind {kind}")
                (request,) = REQUEST.unpack_from(body)
                record = log_pb2.LogRecord.FromString(body[REQUEST.size :])
                appending = asyncio.create_task(self._append(writer, request, record))
                self._tasks.add(appending)
                appending.add_done_callback(self._tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, DecodeError) as error:
            log.debug("writer: a reader's link ended: %r", error)
        finally:
            self._readers.discard(writer)
            writer.close()
            self._tasks.discard(task)

    async def _append(self, writer: asyncio.StreamWriter, request: int, record: log_pb2.LogRecord) -> None:
        try:
            outcome = await self._replica.submit(record)
        except UnavailableError as error:
            self._send(writer, _frame(REFUSED, REQUEST.pack(request) + str(error).encode()))
            return
        self._send(writer, _frame(APPENDED, APPENDED_BODY.pack(request, outcome.log_position, outcome.log_time_ns)))


class WriterLink:
    """A reader's side: one connection to the writer, kept up (reconnecting with backoff) while it runs.

    `on_head(position)` is called (on the event loop) with each position the
    writer reports, HELLO's included; `on_connected(up)` when the link comes
    up or goes down; `adopt_log(log_id)` when the writer's HELLO names
    another log than `log_id()` (a `log repair` while the writer was down):
    True once this worker follows that log, False to refuse the link for now.
    """

    def __init__(
        self,
        directory: str,
        on_head: Callable[[int], None],
        on_connected: Callable[[bool], None],
        log_id: Callable[[], str],
        adopt_log: Callable[[str], bool],
    ):
        self.path = socket_path(directory)
        self._on_head = on_head
        self._on_connected = on_connected
        self._log_id = log_id
        self._adopt_log = adopt_log
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[tuple[int, int]]] = {}
        self._requests = 0
        self.connected = False
        self.connects = 0  # links made, ever (the first one included)

    async def run(self) -> None:
        """Connects, serves the link until it drops, again; ends only by cancellation."""
        backoff = CONNECT_BACKOFF_SECONDS_MIN
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
            except OSError:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, CONNECT_BACKOFF_SECONDS_MAX)
                continue
            connects = self.connects
            try:
                await self._follow(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
                log.debug("reader: the writer's link ended: %r", error)
            finally:
                self._down(writer)
            if self.connects > connects:  # it served: come back at once; else (refused at HELLO) back off
                backoff = CONNECT_BACKOFF_SECONDS_MIN
            else:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, CONNECT_BACKOFF_SECONDS_MAX)

    async def _follow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        kind, body = await _read_frame(reader)
        if kind != HELLO:
            raise ConnectionError(f"the writer said {kind} before HELLO")
        (head,) = POSITION.unpack_from(body)
        writer_log_id = body[POSITION.size :].decode()
        if writer_log_id != self._log_id() and not self._adopt_log(writer_log_id):
            raise ConnectionError(f"the writer serves log {writer_log_id}, this worker cannot follow it yet")
        self._writer = writer
        self.connected = True
        self.connects += 1
        self._on_connected(True)
        self._on_head(head)
        while True:
            kind, body = await _read_frame(reader)
            if kind == HEAD:
                self._on_head(POSITION.unpack(body)[0])
            elif kind == APPENDED:
                request, position, time_ns = APPENDED_BODY.unpack(body)
                self._answer(request, (position, time_ns), None)
            elif kind == REFUSED:
                (request,) = REQUEST.unpack_from(body)
                reason = body[REQUEST.size :].decode(errors="replace")
                self._answer(request, None, UnavailableError(f"the writer refused the write: {reason}"))
            else:
                raise ConnectionError(f"unexpected frame kind {kind}")

    def _answer(self, request: int, result: tuple[int, int] | None, error: Exception | None) -> None:
        future = self._pending.pop(request, None)
        if future is None or future.done():  # its caller gave up
            return
        if error is not None:
            future.set_exception(error)
        else:
            assert result is not None, "an answer is a position or a refusal"
            future.set_result(result)

    def _down(self, writer: asyncio.StreamWriter) -> None:
        writer.close()
        was_connected, self.connected, self._writer = self.connected, False, None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(
                    UnavailableError(
                        "the writer went away before it answered: the write may or may not be in the log; "
                        "retry with the same request_id"
                    )
                )
        if was_connected:
            self._on_connected(False)

    async def append(self, record: log_pb2.LogRecord) -> tuple[int, int]:
        """(position, log time ns) the writer gave the record once it is durable; UnavailableError while the
        writer is down, refused the write, or went away before answering."""
        if self._writer is None:
            raise UnavailableError(
                "the writer (worker 0, which owns the file log) is down: writes refused until the "
                "supervisor restarted it; reads go on"
            )
        if len(self._pending) >= limits.LOG_QUEUE_COMMANDS_MAX:
            raise UnavailableError("too many writes wait for the writer; retry with backoff")
        self._requests = (self._requests + 1) % 2**32
        request = self._requests
        future: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        try:
            self._writer.write(_frame(APPEND, REQUEST.pack(request) + record.SerializeToString()))
            await self._writer.drain()  # the socket's flow control bounds what waits in our buffer
            return await future
        except (ConnectionError, OSError) as error:
            raise UnavailableError(f"the link to the writer broke: {error}; retry with the same request_id") from None
        finally:
            self._pending.pop(request, None)
