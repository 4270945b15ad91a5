"""The operating errors: one tree under DompromiseError, and the ones that reach a servicer mapped in one table."""

from __future__ import annotations

import pytest

from dompromise import errors
from dompromise.errors import DompromiseError, FieldViolation, LogError
from dompromise.log import LogCorruption as LogCorruptionFromLog
from dompromise.log.file import LogCorruption as LogCorruptionFromFile
from dompromise.log.redis.log import RedisLogError as RedisLogErrorFromRedis
from dompromise.promise.token import TokenError
from dompromise.replica.shared import LogGap as LogGapFromShared
from dompromise.service.errors import MAPPED_ERRORS, STATUS_BUILDERS, to_status


def test_the_log_errors_are_one_branch_of_the_tree_and_keep_their_old_names():
    assert LogCorruptionFromLog is LogCorruptionFromFile is errors.LogCorruption
    assert RedisLogErrorFromRedis is errors.RedisLogError
    assert LogGapFromShared is errors.LogGap
    for error_type in (errors.LogCorruption, errors.LogGap, errors.RedisLogError):
        assert issubclass(error_type, LogError)
    assert issubclass(LogError, DompromiseError)
    assert issubclass(TokenError, DompromiseError)


def test_only_errors_that_reach_a_servicer_have_a_status():
    assert MAPPED_ERRORS == tuple(STATUS_BUILDERS)
    # Start-up and the replica's own loops: never a servicer's (service/errors.py says why).
    assert not issubclass(LogError, MAPPED_ERRORS)
    assert not issubclass(TokenError, MAPPED_ERRORS)


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidArgumentError([FieldViolation("sku_ids[0]", "empty")]),
        errors.NotFoundError("node", "DC-9", "node_id"),
        errors.LimitExceededError("sku_ids", "SKUS_MAX", 10, 11),
        errors.OutOfRangeError("after_version", "VERSION_NOT_REACHED", "not reached"),
        errors.AbortedError("PROMISE_EXPIRED", "expired"),
        errors.UnavailableError("the log is full"),
        errors.PositionNotReachedError(9, 7, 50),
        errors.AlreadyExistsError("r-1"),
        errors.FailedPreconditionError("RESERVATION_COMMITTED", "committed"),
        errors.LogChangedError("a", "b"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_mapped_error_becomes_a_status_with_its_message(error):
    status = to_status(error)
    assert status.details == str(error)
    assert status.code.name != "UNKNOWN"
