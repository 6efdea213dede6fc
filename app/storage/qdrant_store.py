"""Qdrant: a server from QDRANT_URL (+ QDRANT_API_KEY), or qdrant-client's embedded local mode."""
from __future__ import annotations

import contextlib
import errno
import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client.local.local_collection import LocalCollection
from qdrant_client.local.qdrant_local import QdrantLocal

log = logging.getLogger("misybot.qdrant")
# Local mode never frees a deleted point: its slot (dense row, sparse vector, payload, id) stays in memory, and in
# every search's arrays, until the collection is loaded again from disk, where only live points are. A collection
# is reloaded once it holds at least this many dead slots and at least as many dead as live ones, so memory stays
# within about twice the live points however many documents come and go, at an amortised O(1) cost per delete.
COMPACT_MIN_DEAD = 64


class VectorStoreUnavailable(RuntimeError):
    """Qdrant failed or is unreachable (a 503 for the caller)."""


class VectorStoreFull(VectorStoreUnavailable):
    """The embedded Qdrant could not write: the disk under DATA_DIR is full (a 507 for the caller). Still
    'unavailable' for the workers that retry: freeing space fixes it."""


_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def disk_full(exc: BaseException | None) -> bool:
    """Whether a full disk is behind exc: an OSError with ENOSPC/EDQUOT, or SQLite's SQLITE_FULL (local
    mode keeps points in SQLite), anywhere in its chain of causes."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and (getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL"
                                               or "disk is full" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class QdrantLockedError(RuntimeError):
    """The embedded Qdrant folder is open in another process (local mode is single-process)."""


def connect_qdrant(qdrant_url: str | None, api_key: str | None, data_dir: Path) -> QdrantClient:
    if qdrant_url:
        return QdrantClient(url=qdrant_url, api_key=api_key, timeout=10, check_compatibility=False)
    path = data_dir / "qdrant"
    path.mkdir(parents=True, exist_ok=True)
    try:
        return QdrantClient(path=str(path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise QdrantLockedError(f"the embedded Qdrant at {path} is in use by another process") from None
        raise


def is_embedded(client: QdrantClient) -> bool:
    return isinstance(client._client, QdrantLocal)


class VectorStore:
    """The Qdrant client plus the lock local mode needs: qdrant-client's embedded engine is plain
    Python dicts and SQLite, not safe for concurrent requests from Flask's threads."""

    def __init__(self, client: QdrantClient):
        self.client = client
        self.embedded = is_embedded(client)
        self._lock = threading.RLock() if self.embedded else contextlib.nullcontext()

    def __enter__(self) -> QdrantClient:
        self._lock.__enter__()
        return self.client

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)

    def call(self, fn):
        """Run fn(client) under the lock; any failure (network, server 5xx, local mode) is 'unavailable',
        which a retry may fix; a full disk under the embedded store is 'full' (VectorStoreFull)."""
        try:
            with self as client:
                return fn(client)
        except VectorStoreUnavailable:
            raise
        except Exception as exc:
            if disk_full(exc):
                raise VectorStoreFull(f"vector store cannot write, the disk is full: {type(exc).__name__}") from exc
            raise VectorStoreUnavailable(f"vector store error: {type(exc).__name__}") from exc

    def compact(self, collection: str, min_dead: int = COMPACT_MIN_DEAD) -> bool:
        """Embedded mode: load `collection` again from its on-disk copy (as a restart would) when it keeps
        enough deleted points in memory (COMPACT_MIN_DEAD). Returns whether it did; never raises (the delete
        that called it has already happened)."""
        if not self.embedded:
            return False
        with self as client:
            local = client._client
            if not isinstance(local, QdrantLocal):
                return False
            old = local.collections.get(collection)
            if not isinstance(old, LocalCollection) or old.storage is None:
                return False
            dead = int(np.count_nonzero(old.deleted))
            if dead < max(min_dead, len(old.ids) - dead):
                return False
            try:
                fresh = LocalCollection(old.config, local._collection_path(collection),
                                        force_disable_check_same_thread=local.force_disable_check_same_thread)
            except Exception as exc:        # keep serving from memory; the next delete tries again
                log.warning("could not compact collection %s: %s", collection, type(exc).__name__)
                return False
            fresh.text_indexes = old.text_indexes
            for name, rows in fresh.vectors.items():      # loading makes float64 rows; upserts keep float32
                fresh.vectors[name] = rows.astype(np.float32, copy=False)
            local.collections[collection] = fresh
            old.close()
            return True

    def close(self) -> None:
        with self:
            self.client.close()
