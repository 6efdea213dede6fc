"""REDIS_URL=redis+sentinel://…: the service follows a Sentinel failover without a restart. A real master, a replica
and a Sentinel on loopback ports, started here; the master is killed and the replica promoted while a client
made by connect_redis keeps writing."""
from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from app.storage.redis_store import TenantKeyspace, connect_redis
from tests.redis_cluster import free_port


def _server(folder: Path, port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             "--save", "", "--appendonly", "no", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _until(check, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
            if value:
                return value
        except redis.exceptions.RedisError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def sentinel_setup():
    folder = Path(tempfile.mkdtemp(prefix="misybot-sentinel-"))
    master_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    procs = [_server(folder, master_port)]
    _until(lambda: redis.Redis(port=master_port).ping())
    (folder / "replica").mkdir()
    procs.append(_server(folder / "replica", replica_port, "--replicaof", "127.0.0.1", str(master_port)))
    _until(lambda: redis.Redis(port=replica_port).info("replication").get("master_link_status") == "up")
    conf = folder / "sentinel.conf"
    conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\nsentinel monitor misy 127.0.0.1 {master_port} 1\n"
                    "sentinel down-after-milliseconds misy 1000\nsentinel failover-timeout misy 5000\n"
                    "sentinel parallel-syncs misy 1\n")
    procs.append(subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    _until(lambda: redis.Redis(port=sentinel_port).sentinel_master("misy")["num-slaves"] >= 1)
    yield {"url": f"redis+sentinel://127.0.0.1:{sentinel_port}/misy", "master": procs[0],
           "replica_port": replica_port, "master_port": master_port}
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def test_the_service_follows_a_sentinel_failover(sentinel_setup, tmp_path):
    client = connect_redis(sentinel_setup["url"], tmp_path)
    keys = TenantKeyspace(client, "benova:")
    client.rpush(keys.key("conversation", "ana"), "antes")
    assert client.connection_pool.get_master_address()[1] == sentinel_setup["master_port"]
    # the replica has it before the master goes away (WAIT: acknowledged by one replica)
    assert client.wait(1, 5000) == 1

    sentinel_setup["master"].kill()
    sentinel_setup["master"].wait(timeout=10)
    # Writes fail while no master is known, then go to the promoted replica: the same client, no restart.
    _until(lambda: client.rpush(keys.key("conversation", "ana"), "después"), timeout_s=40)
    assert client.connection_pool.get_master_address()[1] == sentinel_setup["replica_port"]
    assert client.lrange(keys.key("conversation", "ana"), 0, -1)[0] == "antes"
    assert client.lrange(keys.key("conversation", "ana"), 0, -1)[-1] == "después"
