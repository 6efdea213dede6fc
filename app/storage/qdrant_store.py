"""Qdrant: a server from QDRANT_URL (+ QDRANT_API_KEY), or qdrant-client's embedded local mode."""
from __future__ import annotations

import contextlib
import errno
import sqlite3
import threading
from pathlib import Path

from qdrant_client import QdrantClient
from qdrant_client.local.qdrant_local import QdrantLocal


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

    def close(self) -> None:
        with self:
            self.client.close()
