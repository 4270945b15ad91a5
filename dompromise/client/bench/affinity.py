"""CPU affinity of a process tree, and its CPU time: a server under test on its own core (Linux).

A benchmark on a small machine measures whatever shares a core with the server: pinning the server
(every process and thread of it) to one CPU and the client processes to another makes the figure the
server's. `pinned(pid, cpus)` pins a process, its children and every thread of them, and restores what
each had before, always: a PostgreSQL serving other work must not be left on one core. New children
inherit their parent's affinity, so pinning a postmaster pins the backends it forks later.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TypedDict

PROC = "/proc"
# /proc/<pid>/stat fields (1-based, after the parenthesized command): ppid, utime, stime, cutime, cstime.
_STAT_PPID = 4
_STAT_UTIME = 14
_STAT_CSTIME = 17
# Processes of one tree pinned or measured at most: a bound on the /proc walk (PostgreSQL: max_connections + a few).
TREE_PROCESSES_MAX = 4_096


class TreeAffinity(TypedDict):
    """What a tree runs on: its root, how many processes and threads, and the union of their CPUs."""

    root_pid: int
    processes: int
    threads: int
    cpus: list[int]


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat split into fields, numbered as in proc(5) from 1 (the command may hold spaces)."""
    with open(f"{PROC}/{pid}/stat") as file:
        text = file.read()
    head, _, tail = text.rpartition(")")
    return [head.split(" ", 1)[0], head.split("(", 1)[1], *tail.split()]


def _children_by_parent() -> dict[int, list[int]]:
    """Every process's children, from one walk of /proc (no psutil here)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(name))[_STAT_PPID - 1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(name))
    return children


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`."""
    return _children_by_parent().get(pid, [])


def tree(pid: int) -> list[int]:
    """`pid` and its descendants, parents first (one walk of /proc: a window edge must be sampled quickly)."""
    children = _children_by_parent()
    found = [pid]
    index = 0
    while index < len(found):
        found += children.get(found[index], [])
        index += 1
        assert len(found) <= TREE_PROCESSES_MAX, f"more than {TREE_PROCESSES_MAX} processes under {pid}"
    return found


def threads_of(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"{PROC}/{pid}/task")]
    except OSError:
        return []


def pin(pid: int, cpus: set[int]) -> dict[int, set[int]]:
    """Pins every thread of `pid`'s tree to `cpus`; returns each thread's affinity before."""
    saved: dict[int, set[int]] = {}
    for process in tree(pid):
        for thread in threads_of(process):
            try:
                before = os.sched_getaffinity(thread)
                os.sched_setaffinity(thread, cpus)
            except (ProcessLookupError, FileNotFoundError):  # ended meanwhile
                continue
            saved[thread] = before
    return saved


def restore(pid: int, saved: dict[int, set[int]]) -> int:
    """Gives each thread of `pid`'s tree its affinity from `saved`; one started since gets the root's.
    Returns the threads restored."""
    root = saved.get(pid)
    restored = 0
    for process in tree(pid) if os.path.exists(f"{PROC}/{pid}") else []:
        for thread in threads_of(process):
            before = saved.get(thread, root)
            if before is None:
                continue
            with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                os.sched_setaffinity(thread, before)
                restored += 1
    return restored


@contextlib.contextmanager
def pinned(pid: int, cpus: set[int]) -> Iterator[dict[int, set[int]]]:
    """`pid`'s tree on `cpus` inside the block, as before afterwards (whatever happens inside)."""
    saved: dict[int, set[int]] = {}
    try:
        saved = pin(pid, cpus)
        yield saved
    finally:
        restore(pid, saved)


def affinity_of(pid: int) -> TreeAffinity:
    """Where `pid`'s tree may run now (to record in a result, and to check a pin took)."""
    processes = tree(pid)
    cpus: set[int] = set()
    threads = 0
    for process in processes:
        for thread in threads_of(process):
            with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                cpus |= os.sched_getaffinity(thread)
                threads += 1
    return {"root_pid": pid, "processes": len(processes), "threads": threads, "cpus": sorted(cpus)}


def cpu_seconds_of(pid: int) -> float:
    """CPU time (user + system) of `pid`'s tree so far, children that ended and were reaped included."""
    ticks = 0
    for process in tree(pid):
        try:
            fields = _stat_fields(process)
        except OSError:
            continue
        # utime, stime and the reaped children's cutime, cstime: a live child is counted by itself, once.
        ticks += sum(int(value) for value in fields[_STAT_UTIME - 1 : _STAT_CSTIME])
    return ticks / os.sysconf("SC_CLK_TCK")
