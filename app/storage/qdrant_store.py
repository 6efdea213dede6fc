"""Qdrant: a server from QDRANT_URL (+ QDRANT_API_KEY), or qdrant-client's embedded local mode."""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from qdrant_client import QdrantClient
from qdrant_client.local.qdrant_local import QdrantLocal


class VectorStoreUnavailable(RuntimeError):
    """Qdrant failed or is unreachable (a 503 for the caller)."""


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
        which a retry may fix."""
        try:
            with self as client:
                return fn(client)
        except VectorStoreUnavailable:
            raise
        except Exception as exc:
            raise VectorStoreUnavailable(f"vector store error: {type(exc).__name__}") from exc

    def close(self) -> None:
        with self:
            self.client.close()
