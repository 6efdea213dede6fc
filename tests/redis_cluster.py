"""A real three-master Redis Cluster on loopback ports, started for a test run and stopped after it.

    with RedisClusterProcess(tmp_dir) as cluster:
        cluster.url   # redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3

Each master is a `redis-server --cluster-enabled yes` in its own folder (nothing kept on disk); the slots are
assigned with `redis-cli --cluster create`, the way an operator builds one.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.cluster import ClusterNode, RedisCluster


def free_port() -> int:
    # A cluster node also listens on port + 10000 (the cluster bus): pick ports whose bus port is free too.
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class RedisClusterProcess:
    def __init__(self, folder: Path, masters: int = 3):
        self.folder = Path(folder)
        self.masters = masters
        self.ports: list[int] = []
        self.procs: list[subprocess.Popen] = []

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("redis-server") and shutil.which("redis-cli"))

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def __enter__(self) -> "RedisClusterProcess":
        for _ in range(self.masters):
            port = free_port()
            node_dir = self.folder / str(port)
            node_dir.mkdir(parents=True)
            self.procs.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--dir", str(node_dir), "--save", "", "--appendonly", "no",
                 "--cluster-node-timeout", "2000"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.ports.append(port)
        for port in self.ports:
            self._wait(lambda p=port: redis.Redis(port=p, socket_connect_timeout=0.2).ping())
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        self._wait(self._ready)
        return self

    def _ready(self) -> bool:
        for port in self.ports:
            if redis.Redis(port=port).cluster("info").get("cluster_state") != "ok":
                return False
        client = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in self.ports])
        try:
            return len(client.get_primaries()) == self.masters
        finally:
            client.close()

    @staticmethod
    def _wait(check, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if check() is not False:
                    return
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the Redis Cluster did not come up")
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
