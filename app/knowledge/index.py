"""One tenant's Qdrant collection: dense + lexical vectors per chunk, hybrid search with RRF.

Every read, export and delete is limited to points whose payload names this company, so a point that
reached the wrong collection (a bad migration, a tampered restore) is never served, exported or erased
on another tenant's behalf. Backup, migration and erasure exchange points as plain, JSON-able dicts:
  {"id": int | str, "dense": [float] | None, "lexical": {"indices", "values"} | None, "payload": {...}}
"""
from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator, Literal, Sequence

from qdrant_client import models

from app.knowledge import lexical
from app.knowledge import rerank as reranker
from app.knowledge.rerank import RERANK_POOL
from app.storage.embeddings import Embedder, EmbeddingError
from app.storage.qdrant_store import VectorStore, VectorStoreUnavailable  # noqa: F401 (re-exported)

log = logging.getLogger("misybot.knowledge")
DENSE, LEXICAL = "dense", "lexical"
PROGRESS_SLICE = 128            # chunks embedded between two progress reports of an ingestion job
SearchMode = Literal["hybrid", "dense", "lexical"]
LEXICAL_ONLY = "lexical_only"        # SearchHits.degraded: hybrid search answered without its dense side


class _Tally:
    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> int:
        with self._lock:
            self.value += 1
            return self.value


# Hybrid searches of this process that answered lexical-only because the query could not be embedded
# (also on each warning's `degraded_searches`), for a metric to read.
degraded_searches = _Tally()
_POINT_NS = uuid.UUID("6f1f6a0e-5b7c-4c1e-9d55-8d0c1b6b7a11")
# Weighted reciprocal-rank fusion as Qdrant computes it: 1 / ((rank + 1) / weight + RRF_K - 1).
# A small k keeps rank differences meaningful. Measured (bench/retrieval_bench.py): with the offline
# English-trained MiniLM, dense retrieval on Spanish chat is far weaker than lexical, and any larger
# dense weight or k=60 lowered hit@3; at weight 0.2 the top dense hit ranks like lexical rank 5, so it
# fills gaps without displacing good lexical hits. A real multilingual endpoint gets equal weight.
RRF_K = 2
OFFLINE_DENSE_WEIGHT = 0.2


@dataclass(frozen=True)
class ChunkHit:
    document_id: str
    title: str
    content: str
    chunk_index: int
    score: float


class SearchHits(list):
    """The hits, best first, and how the search was degraded: None, or LEXICAL_ONLY when hybrid search could
    not embed the query and ranked by its lexical side alone (the caller says so in its response)."""

    def __init__(self, hits=(), degraded: str | None = None):
        super().__init__(hits)
        self.degraded = degraded


def point_id(company_id: str, document_id: str, chunk_index: int) -> str:
    """Deterministic, so re-ingesting the same document overwrites instead of duplicating."""
    return str(uuid.uuid5(_POINT_NS, f"{company_id}:{document_id}:{chunk_index}"))


def embedding_text(title: str, chunk: str) -> str:
    # The title carries the topic ("Cuidados posteriores") that a chunk from the middle lacks.
    return f"{title}\n{chunk}" if title else chunk


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def _portable(record) -> dict:
    vectors = record.vector if isinstance(record.vector, dict) else {DENSE: record.vector}
    sparse = vectors.get(LEXICAL)
    return {"id": record.id, "dense": list(vectors[DENSE]) if vectors.get(DENSE) is not None else None,
            "lexical": {"indices": list(sparse.indices), "values": list(sparse.values)} if sparse else None,
            "payload": record.payload}


def _struct(point: dict) -> models.PointStruct:
    vector = {DENSE: point["dense"]} if point.get("dense") is not None else {}
    if point.get("lexical"):
        vector[LEXICAL] = models.SparseVector(**point["lexical"])
    return models.PointStruct(id=point["id"], vector=vector, payload=point["payload"])


class KnowledgeIndex:
    def __init__(self, store: VectorStore, collection: str, company_id: str, language: str,
                 embedder: Embedder, dense_weight: float = 1.0):
        self._store = store
        self.dense_weight = dense_weight
        self.collection = collection
        self.company_id = company_id
        self.language = language
        self.embedder = embedder

    def _call(self, fn):
        return self._store.call(fn)

    def ensure_collection(self) -> None:
        dim = self.embedder.dimension

        def run(client):
            if client.collection_exists(self.collection):
                params = client.get_collection(self.collection).config.params
                vectors = params.vectors if isinstance(params.vectors, dict) else {}
                size = vectors[DENSE].size if DENSE in vectors else None
                if size != dim:
                    raise VectorStoreUnavailable(
                        f"collection {self.collection} has dense size {size}, the embedder gives {dim}")
                return
            try:
                client.create_collection(
                    self.collection,
                    vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                    sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)})
            except Exception:
                # Local mode adds the collection in memory before it writes meta.json: on a full disk it
                # would take points that the next start cannot find. Take it out of memory again.
                if self._store.embedded and client.collection_exists(self.collection):
                    with contextlib.suppress(Exception):
                        client.delete_collection(self.collection)
                raise
        self._call(run)

    def exists(self) -> bool:
        return self._call(lambda c: c.collection_exists(self.collection))

    def _own(self, *conditions: models.FieldCondition) -> models.Filter:
        return models.Filter(must=[_match("company_id", self.company_id), *conditions])

    def count(self, user_id: str | None = None) -> int:
        """This company's points (of one end user, when given)."""
        flt = self._own(*([_match("user_id", user_id)] if user_id is not None else []))

        def run(client):
            if not client.collection_exists(self.collection):
                return 0
            return client.count(self.collection, count_filter=flt, exact=True).count
        return self._call(run)

    def scroll(self, user_id: str | None = None, with_vectors: bool = True, batch: int = 256) -> Iterator[dict]:
        """Every point of this company (of one end user, when given), a page at a time: the lock of the
        embedded store is held per page, never across the caller's work."""
        flt = self._own(*([_match("user_id", user_id)] if user_id is not None else []))
        offset = None
        while True:
            def run(client, offset=offset):
                if not client.collection_exists(self.collection):
                    return [], None
                return client.scroll(self.collection, scroll_filter=flt, limit=batch, offset=offset,
                                     with_payload=True, with_vectors=with_vectors)
            records, offset = self._call(run)
            yield from map(_portable, records)
            if offset is None:
                return

    def get_points(self, ids: Sequence) -> list[dict]:
        """The points with these ids that are this company's."""
        def run(client):
            if not ids or not client.collection_exists(self.collection):
                return []
            return client.retrieve(self.collection, ids=list(ids), with_payload=True, with_vectors=True)
        return [_portable(r) for r in self._call(run) if (r.payload or {}).get("company_id") == self.company_id]

    def upsert_points(self, points: Iterable[dict], batch: int = 256) -> None:
        """Store portable points (a restore, a migration). Refuses, before writing, any point whose
        payload names another company."""
        points = list(points)
        foreign = [p["id"] for p in points if (p.get("payload") or {}).get("company_id") != self.company_id]
        if foreign:
            raise ValueError(f"{len(foreign)} points are not {self.company_id!r}'s (e.g. id {foreign[0]!r})")
        self.upsert([_struct(p) for p in points], batch)

    def delete_for_user(self, user_id: str) -> int:
        """Erase every point of this company that belongs to one end user. Returns how many went."""
        flt = self._own(_match("user_id", user_id))

        def run(client):
            if not client.collection_exists(self.collection):
                return 0
            n = client.count(self.collection, count_filter=flt, exact=True).count
            if n:
                client.delete(self.collection, points_selector=models.FilterSelector(filter=flt), wait=True)
            return n
        n = self._call(run)
        if n:
            self._store.compact(self.collection)
        return n

    def legacy(self, collection: str) -> "LegacyCollection":
        """A single-tenant deployment's collection on the same store, for the migration into this one."""
        if collection == self.collection:
            raise ValueError("the legacy collection cannot be the tenant's own collection")
        return LegacyCollection(self._store, collection)

    def build_points(self, document_id: str, title: str, chunks: Sequence[str], extra_payload: dict | None = None,
                     progress: Callable[[int, int], None] | None = None) -> list[models.PointStruct]:
        """Embed outside any lock or write, so a failure here has stored nothing. `progress(done, total)` is
        told as the chunks are embedded (a slice at a time)."""
        texts = [embedding_text(title, c) for c in chunks]
        if progress is None:
            dense = self.embedder.embed_documents(texts)
        else:
            dense = []
            for start in range(0, len(texts), PROGRESS_SLICE):
                dense.extend(self.embedder.embed_documents(texts[start:start + PROGRESS_SLICE]))
                progress(len(dense), len(texts))
        points = []
        for i, (chunk, text, vec) in enumerate(zip(chunks, texts, dense, strict=True)):
            idx, vals = lexical.document_vector(text, self.language)
            payload = {"company_id": self.company_id, "document_id": document_id, "title": title,
                       "chunk_index": i, "content": chunk, **(extra_payload or {})}
            points.append(models.PointStruct(
                id=point_id(self.company_id, document_id, i),
                vector={DENSE: vec, LEXICAL: models.SparseVector(indices=idx, values=vals)},
                payload=payload))
        return points

    def upsert(self, points: Sequence[models.PointStruct], batch: int = 256) -> None:
        # One store call per batch: the embedded store serves one call at a time, so other tenants' searches
        # get in between the batches of a large document instead of waiting for all of it.
        for start in range(0, len(points), batch):
            part = list(points[start:start + batch])
            self._call(lambda client, part=part: client.upsert(self.collection, points=part, wait=True))

    def delete_document_points(self, document_id: str, chunks: int) -> None:
        """Every chunk of a document: by the ids we derive, and by payload for chunks that came in
        with other ids (migrated from a single-tenant collection)."""
        ids = [point_id(self.company_id, document_id, i) for i in range(chunks)]
        by_payload = self._own(_match("document_id", document_id))

        def run(client):
            if not client.collection_exists(self.collection):
                return
            if ids:
                client.delete(self.collection, points_selector=models.PointIdsList(points=ids), wait=True)
            client.delete(self.collection, points_selector=models.FilterSelector(filter=by_payload), wait=True)
        self._call(run)
        self._store.compact(self.collection)      # embedded mode keeps deleted points in memory until then

    def drop(self) -> None:
        self._call(lambda c: c.delete_collection(self.collection))

    def search(self, query: str, k: int, mode: SearchMode = "hybrid", expand_query: bool = True,
               rerank: bool = True) -> SearchHits:
        """The k best chunks. Hybrid mode fuses dense and lexical ranks (RRF), then, with `rerank`,
        reorders the fused top RERANK_POOL by their structure (app/knowledge/rerank.py).

        When the query cannot be embedded (the endpoint is down, slow or talks nonsense), hybrid mode
        still answers from its lexical side and marks the hits LEXICAL_ONLY: the words of a question find
        most answers (bench/retrieval_bench.py), and an answer beats an error. Dense mode has nothing
        to fall back to and raises EmbeddingError."""
        dense_vec, degraded = None, None
        if mode != "lexical":
            try:
                # The offline model's query cache when it has one (an endpoint's vectors are not cached:
                # its failures must show as degraded searches, and its model may change behind its name).
                embed = getattr(self.embedder, "embed_query_cached", self.embedder.embed_query)
                dense_vec = embed(query)
            except EmbeddingError as exc:
                if mode == "dense":
                    raise
                degraded = LEXICAL_ONLY
                log.warning("hybrid search answered lexical-only: %s", exc,
                            extra={"company_id": self.company_id, "degraded_searches": degraded_searches.add()})
        idx, vals = lexical.query_vector(query, self.language, expand=expand_query)
        sparse_vec = models.SparseVector(indices=idx, values=vals)
        pool = max(4 * k, 20)
        reranking = rerank and mode == "hybrid"
        limit = max(k, RERANK_POOL) if reranking else k

        def run(client):
            if not client.collection_exists(self.collection):
                return []
            if mode == "dense":
                res = client.query_points(self.collection, query=dense_vec, using=DENSE, limit=k,
                                          with_payload=True)
            elif mode == "lexical" or dense_vec is None:
                if not idx:
                    return []
                # A degraded hybrid search takes the pool it would have fused, for the reranker.
                res = client.query_points(self.collection, query=sparse_vec, using=LEXICAL,
                                          limit=k if mode == "lexical" else limit, with_payload=True)
            else:
                prefetch = [models.Prefetch(query=dense_vec, using=DENSE, limit=pool)]
                if idx:
                    prefetch.append(models.Prefetch(query=sparse_vec, using=LEXICAL, limit=pool))
                weights = [self.dense_weight, 1.0][:len(prefetch)]
                res = client.query_points(self.collection, prefetch=prefetch,
                                          query=models.RrfQuery(rrf=models.Rrf(k=RRF_K, weights=weights)),
                                          limit=limit, with_payload=True)
            return res.points
        points = self._call(run)
        hits = []
        for p in points:
            pl = p.payload or {}
            if pl.get("company_id") != self.company_id:
                continue      # defence in depth: a point that is not this tenant's is never returned
            hits.append(ChunkHit(pl.get("document_id", ""), pl.get("title", ""), pl.get("content", ""),
                                 int(pl.get("chunk_index", 0)), float(p.score)))
        if reranking and hits:
            scores = reranker.score_candidates(query, hits, self.language)
            order = sorted(range(len(hits)), key=lambda i: (-scores[i], i))[:k]
            hits = [replace(hits[i], score=round(scores[i], 6)) for i in order]
        return SearchHits(hits[:k], degraded)


class LegacyCollection:
    """The collection of a single-tenant deployment. It belongs to no company, so it has no company
    check: the migration reads it whole into one tenant, after refusing any company's collection."""

    def __init__(self, store: VectorStore, name: str):
        self._store = store
        self.name = name

    def exists(self) -> bool:
        return self._store.call(lambda c: c.collection_exists(self.name))

    def pages(self, batch: int = 256) -> Iterator[list[dict]]:
        """Pages of {"id", "dense", "payload"}; dense is the unnamed vector, the one named "dense", or the
        only named one, and None when there is no list-shaped vector."""
        offset = None
        while True:
            records, offset = self._store.call(lambda c, offset=offset: c.scroll(
                self.name, limit=batch, offset=offset, with_payload=True, with_vectors=True))
            page = []
            for r in records:
                vec = r.vector
                if isinstance(vec, dict):
                    vec = vec.get(DENSE, next(iter(vec.values())) if len(vec) == 1 else None)
                page.append({"id": r.id, "dense": vec if isinstance(vec, list) else None,
                             "payload": r.payload or {}})
            yield page
            if offset is None:
                return

    def drop(self) -> None:
        self._store.call(lambda c: c.delete_collection(self.name))
