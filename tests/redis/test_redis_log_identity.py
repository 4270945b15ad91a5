"""The Redis log's identity (log_id in the head hash): shared by every instance, new when Redis starts empty."""

from __future__ import annotations

from conftest import small_network
from redis_server import needs_redis_server

from dompromise.inventory.engine import network_fingerprint
from dompromise.log.redis.log import RedisLog

pytestmark = needs_redis_server


def claimed(url: str, prefix: str = "dompromise") -> RedisLog:
    log = RedisLog(url, prefix)
    log.claim(network_fingerprint(small_network()))
    return log


def test_every_instance_of_one_log_has_its_id_and_another_log_another(redis_server):
    first, second = claimed(redis_server.url), claimed(redis_server.url)
    assert len(first.log_id) == 16 and first.log_id == second.log_id
    assert claimed(redis_server.url, "elsewhere").log_id != first.log_id
    first.client.flushall()  # Redis wiped: the positions start again, so does the identity
    assert claimed(redis_server.url).log_id != first.log_id
