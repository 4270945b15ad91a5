"""Command logs: the ordered, durable source of truth every replica applies.

A log numbers records 1, 2, 3, ... in append order. `write` hands records to
the log; `sync` makes everything written durable. The replica answers a
writer only after `sync` returned for its record.
"""

from dompromise.errors import LogCorruption
from dompromise.log.file import FileLog
from dompromise.log.memory import MemoryLog

__all__ = ["FileLog", "LogCorruption", "MemoryLog"]
