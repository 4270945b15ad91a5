"""`dompromise serve --workers N` (with --redis URL, or on the file log): N worker processes serving one port.

The parent is a small supervisor; it holds no state and never imports gRPC.

- **The port.** It binds (never listens on) a socket with SO_REUSEPORT on
  host:port, choosing a free port once when asked for port 0, and holds it
  for its whole life: a restarting worker finds the port still free for it,
  and a process without SO_REUSEPORT (or of another user) cannot take it.
  Not listening, that socket never receives a connection.
- **The workers.** Each is `dompromise serve ... --port P --worker-index I`
  in an interpreter of its own (no fork of a process with gRPC threads): a
  full replica of the Redis log, listening on P with SO_REUSEPORT. The
  kernel spreads new connections over the workers that listen, by a hash of
  each connection's addresses; a connection stays with its worker.
- **The file log** (no --redis): worker 0 owns the data directory and writes
  the log; the others follow its files and forward writes to it
  (replica/follower.py). Worker 0 starts alone, the others once it serves.
  When it dies, the others go on answering reads (writes UNAVAILABLE) until
  its restart below.
- **HTTP** (--http-port): reserved the same way, once, and every worker
  serves it with SO_REUSEPORT too (port 0 becomes one free port for all).
- **Ready.** It prints `dompromise serving on host:P` once every worker said
  it serves.
- **Crashes.** A worker that exits while the supervisor is not stopping is
  restarted after WORKER_BACKOFF_SECONDS_MIN, doubling with each restart in
  the last WORKER_RESTART_WINDOW_SECONDS up to WORKER_BACKOFF_SECONDS_MAX.
  One restart more than WORKER_RESTARTS_MAX within that window is a crash
  loop: it stops the other workers and exits 1. A worker that exits before
  the first time all of them served stops everything too (exit 2: a bad
  config or an unreachable Redis would only loop).
- **SIGHUP** (serve --config: apply the edited config). The change is log
  commands in the shared log, so ONE worker applies it: the supervisor
  forwards SIGHUP to the lowest-numbered worker that serves; every worker
  switches when it applies those commands, at the same log position. Sent
  to all, each would diff and append the same change again. Without
  --config, or with no worker serving yet (a starting worker reads the config
  anyway), it is logged and dropped; it never stops the supervisor.
- **Stopping.** SIGTERM or SIGINT is forwarded to every worker (each drains:
  health NOT_SERVING, grace, stop); it exits once they all have, 0 when each
  exited 0. A worker still running STOP_SECONDS_MAX later, or any worker
  after a second SIGINT (Ctrl-C twice), gets SIGKILL; a repeated SIGTERM
  changes nothing (process managers repeat it).

Workers run in their own process group, so a terminal's Ctrl-C reaches the
supervisor only (which forwards it once), and they get SIGTERM when the
supervisor dies, even by SIGKILL (Linux PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import collections
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from types import FrameType
from typing import IO

from dompromise import limits

log = logging.getLogger("dompromise.replica.workers")

# Restart delay bounds, in seconds.
WORKER_BACKOFF_SECONDS_MIN = 0.1
WORKER_BACKOFF_SECONDS_MAX = 5.0
# How long stopping workers get before SIGKILL, in seconds (their drain grace is 5 s).
STOP_SECONDS_MAX = 20.0
# How often the loop looks at its workers when nothing else wakes it, in seconds.
POLL_SECONDS = 0.5
# The line a worker (and the supervisor) prints on stdout once it serves.
READY_PREFIX = "dompromise serving on "
# The supervisor's pid, in each worker's environment.
SUPERVISOR_PID_ENV = "DOMPROMISE_SUPERVISOR_PID"
# A worker's stdout lines are at most this long (longer ones are cut).
STDOUT_LINE_BYTES_MAX = 64 * 1024
PR_SET_PDEATHSIG = 1


def reserve_port(host: str, port: int) -> socket.socket:
    """A bound, never-listening SO_REUSEPORT socket on host:port (port 0: a free one)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    placeholder = socket.socket(family, kind, proto)
    try:
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        placeholder.bind(address)
    except OSError:
        placeholder.close()
        raise
    return placeholder


def follow_supervisor() -> None:
    """In a worker: SIGTERM when the supervisor dies; exit now if it already did."""
    supervisor = int(os.environ.get(SUPERVISOR_PID_ENV, "0"))
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
            log.warning(
                "PR_SET_PDEATHSIG failed (errno %d): this worker outlives a killed supervisor", ctypes.get_errno()
            )
    if supervisor and os.getppid() != supervisor:
        log.error("the supervisor (pid %d) is gone; exiting", supervisor)
        raise SystemExit(1)


class Worker:
    """One worker process and what the supervisor read from its stdout."""

    def __init__(self, index: int, process: subprocess.Popen[bytes]):
        self.index = index
        self.process = process
        self.ready = False
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stdout(self) -> IO[bytes]:
        assert self.process.stdout is not None, "workers start with stdout=PIPE"
        return self.process.stdout

    def read(self) -> bool:
        """Reads what the worker printed; False at end of file."""
        data = os.read(self.stdout.fileno(), 65536)
        if not data:
            return False
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            text = line.decode(errors="replace")
            if text.startswith(READY_PREFIX):
                self.ready = True
            else:
                print(text, flush=True)  # not ours to swallow
        if len(self._buffer) > STDOUT_LINE_BYTES_MAX:
            print(self._buffer.decode(errors="replace"), flush=True)
            self._buffer = b""
        return True


class Supervisor:
    """Starts, watches, restarts and stops the workers (see the module doc)."""

    def __init__(
        self,
        argv: list[str],
        count: int,
        host: str,
        port: int,
        reload: bool = False,
        staged: bool = False,
        http: tuple[str, int] | None = None,
    ):
        assert 1 <= count <= limits.WORKERS_MAX, count
        self.argv = list(argv)
        self.http = http  # (host, port) of --http-port, shared by the workers like the gRPC port
        self.reload = reload  # the workers apply their --config again on SIGHUP
        self.count = count
        self.host = host
        self.port = port
        self.workers: list[Worker | None] = [None] * count
        self.restart_at: dict[int, float] = {}  # index -> monotonic time of its pending restart
        self.restarts: collections.deque[float] = collections.deque()  # monotonic times, in the window
        self.slot_restarts = [0] * count  # restarts of each worker slot, ever (a worker's metrics report its own)
        self.all_ready_once = False
        # The file log: worker 0 (its writer) starts alone and the others once it serves (they read what it wrote).
        self.first_alone = staged
        self.stopping_since: float | None = None
        self.exit_code = 0
        self._signals: list[int] = []
        self._killed = False
        self._selector = selectors.DefaultSelector()

    # ---- life cycle ------------------------------------------------------------

    def run(self) -> int:
        try:
            placeholder = reserve_port(self.host, self.port)
        except OSError as error:
            print(f"dompromise: cannot serve on {self.host}:{self.port}: {error}", file=sys.stderr)
            return 2
        self.port = placeholder.getsockname()[1]
        http_placeholder = None
        if self.http is not None:
            try:
                http_placeholder = reserve_port(*self.http)
            except OSError as error:
                placeholder.close()
                print(f"dompromise: cannot serve HTTP on {self.http[0]}:{self.http[1]}: {error}", file=sys.stderr)
                return 2
            self.http = (self.http[0], http_placeholder.getsockname()[1])
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in handled}
        self._selector.register(wake_read, selectors.EVENT_READ, None)
        try:
            log.info(
                "supervisor pid %d: %d workers on %s:%d (SO_REUSEPORT)", os.getpid(), self.count, self.host, self.port
            )
            for index in range(1 if self.first_alone else self.count):
                self._start(index)
            self._loop(wake_read)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(previous_wakeup)
            self._selector.close()
            os.close(wake_read)
            os.close(wake_write)
            placeholder.close()
            if http_placeholder is not None:
                http_placeholder.close()
            for worker in self.workers:  # only on a bug here: never leave workers behind
                if worker is not None and worker.process.poll() is None:
                    worker.process.kill()
                    worker.process.wait()
        return self.exit_code

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals.append(signum)

    def _loop(self, wake_read: int) -> None:
        while True:
            timeout = POLL_SECONDS
            if self.restart_at:
                timeout = max(0.0, min(timeout, min(self.restart_at.values()) - time.monotonic()))
            for key, _ in self._selector.select(timeout):
                if key.data is None:
                    try:
                        os.read(wake_read, 4096)
                    except BlockingIOError:
                        pass
                else:
                    self._read(key.data)
            self._handle_signals()
            self._reap()
            if self.stopping_since is None:
                self._start_the_others()
                self._restart_due()
                self._announce_ready()
            elif all(worker is None for worker in self.workers):
                log.info("supervisor: every worker stopped; exiting with %d", self.exit_code)
                return
            elif time.monotonic() - self.stopping_since > STOP_SECONDS_MAX:
                self._kill_all(f"still running {STOP_SECONDS_MAX:g}s after the stop")

    # ---- workers -----------------------------------------------------------------

    def _start(self, index: int) -> None:
        command = [
            sys.executable,
            "-m",
            "dompromise",
            *self.argv,
            "--port",
            str(self.port),
            "--worker-index",
            str(index),
            "--worker-restarts",
            str(self.slot_restarts[index]),
            *([] if self.http is None else ["--http-port", str(self.http[1])]),
        ]
        environment = dict(os.environ, **{SUPERVISOR_PID_ENV: str(os.getpid())})
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=environment, process_group=0
        )
        worker = Worker(index, process)
        os.set_blocking(worker.stdout.fileno(), False)
        self.workers[index] = worker
        self._selector.register(worker.stdout, selectors.EVENT_READ, worker)
        log.info("supervisor: worker %d started (pid %d)", index, process.pid)

    def _start_the_others(self) -> None:
        """Staged start: the other workers, once worker 0 serves."""
        first = self.workers[0]
        if not self.first_alone or first is None or not first.ready:
            return
        self.first_alone = False
        for index in range(1, self.count):
            self._start(index)

    def _read(self, worker: Worker) -> None:
        was_ready = worker.ready
        try:
            more = worker.read()
        except BlockingIOError:
            return
        if not more:
            self._selector.unregister(worker.stdout)
        if worker.ready and not was_ready:
            log.info("supervisor: worker %d (pid %d) serves", worker.index, worker.pid)

    def _reap(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker is None or worker.process.poll() is None:
                continue
            code = worker.process.returncode
            try:
                self._selector.unregister(worker.stdout)
            except KeyError:
                pass  # its end of file came first
            worker.stdout.close()
            self.workers[index] = None
            if self.stopping_since is not None:
                log.info("supervisor: worker %d (pid %d) stopped with %s", index, worker.pid, _describe(code))
                if code != 0:
                    self.exit_code = self.exit_code or 1
                continue
            if not self.all_ready_once:
                log.error(
                    "supervisor: worker %d (pid %d) exited with %s before every worker served; stopping",
                    index,
                    worker.pid,
                    _describe(code),
                )
                self._stop(2)
                continue
            self._schedule_restart(index, worker, code)

    def _schedule_restart(self, index: int, worker: Worker, code: int) -> None:
        now = time.monotonic()
        while self.restarts and now - self.restarts[0] > limits.WORKER_RESTART_WINDOW_SECONDS:
            self.restarts.popleft()
        if len(self.restarts) >= limits.WORKER_RESTARTS_MAX:
            log.error(
                "supervisor: worker %d (pid %d) exited with %s; %d restarts within %ds already: crash loop, giving up",
                index,
                worker.pid,
                _describe(code),
                len(self.restarts),
                limits.WORKER_RESTART_WINDOW_SECONDS,
            )
            self._stop(1)
            return
        delay = min(WORKER_BACKOFF_SECONDS_MAX, WORKER_BACKOFF_SECONDS_MIN * 2 ** len(self.restarts))
        self.restarts.append(now)
        self.slot_restarts[index] += 1
        self.restart_at[index] = now + delay
        log.warning(
            "supervisor: worker %d (pid %d) exited with %s; restarting it in %.1fs",
            index,
            worker.pid,
            _describe(code),
            delay,
        )

    def _restart_due(self) -> None:
        now = time.monotonic()
        for index, when in list(self.restart_at.items()):
            if when <= now:
                del self.restart_at[index]
                self._start(index)

    def _announce_ready(self) -> None:
        if self.all_ready_once or not all(worker is not None and worker.ready for worker in self.workers):
            return
        self.all_ready_once = True
        log.info("supervisor: all %d workers serve on port %d", self.count, self.port)
        print(f"{READY_PREFIX}{self.host}:{self.port}", flush=True)

    # ---- stopping ------------------------------------------------------------------

    def _handle_signals(self) -> None:
        signals, self._signals = self._signals, []
        for signum in signals:
            if signum == signal.SIGCHLD:
                continue  # woke us: _reap looks
            if signum == signal.SIGHUP:
                self._forward_reload()
                continue
            if self.stopping_since is None:
                log.info("supervisor: %s: stopping the workers", signal.Signals(signum).name)
                self._stop(0, signum)
            elif signum == signal.SIGINT:  # Ctrl-C again: do not wait
                self._kill_all("a second SIGINT")

    def _forward_reload(self) -> None:
        """SIGHUP to one serving worker (see the module doc: the change is one set of log commands)."""
        if not self.reload:
            log.warning("supervisor: SIGHUP ignored: the workers have no --config to read again")
            return
        if self.stopping_since is not None:
            return
        serving = [w for w in self.workers if w is not None and w.ready and w.process.poll() is None]
        if not serving:
            log.warning("supervisor: SIGHUP not forwarded: no worker serves yet (a starting one reads the config)")
            return
        worker = serving[0]
        log.info(
            "supervisor: SIGHUP forwarded to worker %d (pid %d), which applies the config", worker.index, worker.pid
        )
        worker.process.send_signal(signal.SIGHUP)

    def _stop(self, exit_code: int, signum: int = signal.SIGTERM) -> None:
        self.exit_code = self.exit_code or exit_code
        self.stopping_since = time.monotonic()
        self.restart_at.clear()
        for worker in self.workers:
            if worker is not None and worker.process.poll() is None:
                worker.process.send_signal(signum)

    def _kill_all(self, why: str) -> None:
        if self._killed:
            return
        self._killed = True
        for worker in self.workers:
            if worker is not None and worker.process.poll() is None:
                log.error("supervisor: SIGKILL to worker %d (pid %d): %s", worker.index, worker.pid, why)
                worker.process.kill()
                self.exit_code = self.exit_code or 1


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def run(
    argv: list[str],
    count: int,
    host: str,
    port: int,
    reload: bool = False,
    staged: bool = False,
    http: tuple[str, int] | None = None,
) -> int:
    """Supervises `count` workers of `dompromise <argv>` on host:port until they stop; the exit code.
    reload: the workers were given --config (SIGHUP is forwarded to one of them).
    staged: worker 0 starts alone, the others once it serves (the file log: it writes what they read).
    http: --http-port's (host, port), shared by every worker like the gRPC port."""
    return Supervisor(argv, count, host, port, reload, staged, http).run()
