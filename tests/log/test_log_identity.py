"""Every log has an identity (log_id): positions mean something only within one log."""

from __future__ import annotations

import os

import pytest

from dompromise.log import FileLog, LogCorruption, MemoryLog
from dompromise.log.file import LOG_ID_FILE


def test_memory_logs_are_each_another_log():
    first, second = MemoryLog(), MemoryLog()
    assert len(first.log_id) == 16 and first.log_id != second.log_id


def test_file_log_keeps_its_id_across_opens_and_a_new_directory_gets_another(tmp_path):
    log = FileLog(str(tmp_path / "a"))
    log.write([b"one"])
    log.sync()
    log_id = log.log_id
    log.close()
    reopened = FileLog(str(tmp_path / "a"))
    assert reopened.log_id == log_id and reopened.last_position == 1
    reopened.close()
    other = FileLog(str(tmp_path / "b"))
    assert other.log_id != log_id
    other.close()


def test_file_log_from_before_identities_gets_one_and_keeps_it(tmp_path):
    log = FileLog(str(tmp_path))
    log.write([b"one"])
    log.sync()
    log.close()
    os.remove(tmp_path / LOG_ID_FILE)
    given = FileLog(str(tmp_path))
    assert given.last_position == 1 and len(given.log_id) == 16
    given.close()
    assert FileLog(str(tmp_path)).log_id == given.log_id


def test_file_log_refuses_a_damaged_id(tmp_path):
    FileLog(str(tmp_path)).close()
    (tmp_path / LOG_ID_FILE).write_text("not an id\n")
    with pytest.raises(LogCorruption, match="log id"):
        FileLog(str(tmp_path))
