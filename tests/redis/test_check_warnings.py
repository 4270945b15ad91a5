"""`dompromise check`'s judgement on documents as cluster_status makes them: what warns, what fails."""

from __future__ import annotations

from dompromise.log.redis.registry import problems, warnings

NS = 1_000_000_000


def status(instances, newest_snapshot=None, first_age_seconds=10.0):
    return {
        "redis": "redis://x",
        "prefix": "dompromise",
        "stream": {
            "exists": True,
            "head_position": 5,
            "head_log_time_ns": 1_000 * NS,
            "first_entry": {"position": 1, "log_time_ns": int((1_000 - first_age_seconds) * NS)},
        },
        "newest_snapshot": newest_snapshot,
        "instances": instances,
    }


def instance(instance_id, worker, age_seconds, host="box"):
    return {
        "instance_id": instance_id,
        "host": host,
        "pid": 1,
        "worker": worker,
        "heartbeat_age_seconds": age_seconds,
        "lag_records": 0,
        "writable": True,
    }


def test_a_young_log_without_a_snapshot_warns_and_an_old_one_fails():
    young = status([instance("a", None, 0.5)], first_age_seconds=10)
    assert problems(young, 1000, 5.0, 86_400.0) == []
    assert any("no snapshot in Redis yet" in line for line in warnings(young, 5.0))
    old = status([instance("a", None, 0.5)], first_age_seconds=90_000)
    assert any("no snapshot in Redis" in line for line in problems(old, 1000, 5.0, 86_400.0))


def test_a_restarted_workers_old_entry_warns_but_a_silent_slot_fails():
    snapshot = {"position": 5, "records_behind": 0, "age_seconds": 0.0}
    replaced = status([instance("old", 1, 12.0), instance("new", 1, 0.3), instance("w0", 0, 0.2)], snapshot)
    assert problems(replaced, 1000, 5.0, 86_400.0) == []
    assert warnings(replaced, 5.0) == ["instance old: a worker the supervisor restarted (its slot serves again)"]
    silent = status([instance("old", 1, 12.0), instance("w0", 0, 0.2)], snapshot)
    assert any("instance old" in line for line in problems(silent, 1000, 5.0, 86_400.0))
