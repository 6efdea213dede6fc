"""The global collection (`misybot_global_knowledge`): anonymized learnings shared across tenants.

One point is one consolidated learning (a question customers ask, in anonymized words):
  text          the anonymized question that represents it
  industry      industry category (graphs/meta/industries.py)
  count / answered / unanswered, first_seen / last_seen
  sources       pseudonyms of the tenants it came from ("t_…"); never a company id
  contributors  pseudonyms of the end users it came from ("u_…"), so an erasure can remove their part;
                keyed hashes that mean nothing without the platform's pseudonym key
  author        the contributor whose words `text` is
  terms         topic word -> sources that used it (insights only share words used by 2+ tenants)
  status        pending | validated | rejected, and status_by: auto | admin

Writers (the meta worker, admin status changes, erasure) hold one Redis lock, so a merge is never
lost to a concurrent update.
"""
from __future__ import annotations

import builtins
import time
import uuid
from contextlib import contextmanager

import redis
from qdrant_client import models

from app.knowledge import lexical
from app.knowledge.index import RRF_K
from app.privacy.placeholder_syntax import PLACEHOLDER
from app.storage.qdrant_store import VectorStore
from app.tenancy.config import GLOBAL_COLLECTION, PLATFORM_REDIS_PREFIX
from graphs.meta.learning import Learning

DENSE, LEXICAL = "dense", "lexical"
STATUSES = ("pending", "validated", "rejected")
WRITE_LOCK = f"{PLATFORM_REDIS_PREFIX}lock:meta:global"
MAX_CONTRIBUTORS = 1000


class MetaBusy(RuntimeError):
    pass


def topic_words(text: str) -> list[str]:
    """Unstemmed content words (accents folded), the vocabulary of an insight."""

    text = PLACEHOLDER.sub(" ", text)        # "<PERSON_1>" is not a topic
    return sorted({w for w in lexical._TOKEN.findall(lexical.fold(text))
                   if len(w) >= 4 and w not in lexical.STOPWORDS and not w.isdigit()})


class GlobalKnowledge:
    def __init__(self, store: VectorStore, embedder, redis_client, dense_weight: float = 1.0):
        self._store = store
        self.embedder = embedder
        self.redis = redis_client
        self.dense_weight = dense_weight
        self.collection = GLOBAL_COLLECTION

    def _call(self, fn):
        return self._store.call(fn)

    @contextmanager
    def writing(self, wait_s: float = 30.0):
        lock = self.redis.lock(WRITE_LOCK, timeout=120, blocking_timeout=wait_s)
        if not lock.acquire():
            raise MetaBusy("the global knowledge store is busy; retry shortly")
        try:
            yield
        finally:
            try:
                lock.release()
            except redis.exceptions.RedisError:
                pass      # expired meanwhile or Redis gone: the lock times out by itself; keep the real error

    def ensure(self) -> None:
        dim = self.embedder.dimension

        def run(client):
            if not client.collection_exists(self.collection):
                client.create_collection(
                    self.collection,
                    vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                    sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)})
        self._call(run)

    # -- reading ------------------------------------------------------------------------------------
    @staticmethod
    def _filter(industry: str | None = None, statuses=None, contributor: str | None = None):
        must = []
        if industry:
            must.append(models.FieldCondition(key="industry", match=models.MatchValue(value=industry)))
        if statuses:
            must.append(models.FieldCondition(key="status", match=models.MatchAny(any=list(statuses))))
        if contributor:
            must.append(models.FieldCondition(key="contributors", match=models.MatchValue(value=contributor)))
        return models.Filter(must=must) if must else None

    def candidates(self, text: str, language: str, industry: str, limit: int = 5) -> list[Learning]:
        """Nearest learnings of the same industry, by meaning and by words."""
        dense = self.embedder.embed_query(text)
        idx, vals = lexical.query_vector(text, language)
        flt = self._filter(industry)

        def run(client):
            if not client.collection_exists(self.collection):
                return []
            found = {}
            res = client.query_points(self.collection, query=dense, using=DENSE, query_filter=flt, limit=limit,
                                      with_payload=True)
            for p in res.points:
                found[str(p.id)] = Learning(str(p.id), p.payload, float(p.score))
            if idx:
                res = client.query_points(self.collection, query=models.SparseVector(indices=idx, values=vals),
                                          using=LEXICAL, query_filter=flt, limit=limit, with_payload=True)
                for p in res.points:
                    found.setdefault(str(p.id), Learning(str(p.id), p.payload, 0.0))
            return list(found.values())
        return self._call(run)

    def search(self, query: str, k: int, industry: str | None = None, statuses=None,
               language: str = "es") -> list[Learning]:
        dense = self.embedder.embed_query(query)
        idx, vals = lexical.query_vector(query, language)
        flt = self._filter(industry, statuses)

        def run(client):
            if not client.collection_exists(self.collection):
                return []
            prefetch = [models.Prefetch(query=dense, using=DENSE, filter=flt, limit=max(20, 4 * k))]
            if idx:
                prefetch.append(models.Prefetch(query=models.SparseVector(indices=idx, values=vals), using=LEXICAL,
                                                filter=flt, limit=max(20, 4 * k)))
            res = client.query_points(self.collection, prefetch=prefetch,
                                      query=models.RrfQuery(rrf=models.Rrf(k=RRF_K,
                                                                           weights=[self.dense_weight, 1.0][:len(prefetch)])),
                                      limit=k, with_payload=True)
            return [Learning(str(p.id), p.payload, float(p.score)) for p in res.points]
        return self._call(run)

    def list(self, industry: str | None = None, statuses=None, contributor: str | None = None,
             limit: int = 10_000) -> list[Learning]:
        flt = self._filter(industry, statuses, contributor)

        def run(client):
            if not client.collection_exists(self.collection):
                return []
            out, offset = [], None
            while len(out) < limit:
                points, offset = client.scroll(self.collection, scroll_filter=flt, limit=256, offset=offset,
                                               with_payload=True)
                out += [Learning(str(p.id), p.payload) for p in points]
                if offset is None:
                    break
            return out[:limit]
        return self._call(run)

    def get(self, learning_id: str) -> Learning | None:
        def run(client):
            if not client.collection_exists(self.collection):
                return []
            return client.retrieve(self.collection, ids=[learning_id], with_payload=True)
        try:
            uuid.UUID(learning_id)
        except ValueError:
            return None
        points = self._call(run)
        return Learning(str(points[0].id), points[0].payload) if points else None

    # -- writing (callers hold `writing()`) ----------------------------------------------------------
    def _vectors(self, text: str, language: str) -> dict:
        idx, vals = lexical.document_vector(text, language)
        return {DENSE: self.embedder.embed_query(text), LEXICAL: models.SparseVector(indices=idx, values=vals)}

    def insert(self, text: str, industry: str, language: str, answered: bool, source: str, contributor: str,
               status: str = "pending") -> Learning:
        now = time.time()
        payload = {"text": text, "kind": "question", "industry": industry, "language": language, "count": 1,
                   "answered": int(answered), "unanswered": int(not answered), "sources": [source],
                   "contributors": [contributor], "author": contributor,
                   "terms": {w: [source] for w in topic_words(text)}, "status": status, "status_by": "auto",
                   "first_seen": now, "last_seen": now}
        point_id = str(uuid.uuid4())
        self.ensure()
        self._call(lambda c: c.upsert(self.collection, points=[models.PointStruct(
            id=point_id, vector=self._vectors(text, language), payload=payload)], wait=True))
        return Learning(point_id, payload)

    def merge(self, learning: Learning, text: str, answered: bool, source: str, contributor: str) -> dict:
        p = dict(learning.payload)
        p["count"] += 1
        p["answered" if answered else "unanswered"] += 1
        p["sources"] = sorted(set(p.get("sources", [])) | {source})
        contributors = list(p.get("contributors", []))
        if contributor not in contributors and len(contributors) < MAX_CONTRIBUTORS:
            contributors.append(contributor)
        p["contributors"] = contributors
        terms = {w: list(s) for w, s in p.get("terms", {}).items()}
        for w in topic_words(text):
            terms[w] = sorted(set(terms.get(w, [])) | {source})
        p["terms"] = terms
        p["last_seen"] = time.time()
        return p

    def save_payload(self, learning_id: str, payload: dict) -> None:
        self._call(lambda c: c.overwrite_payload(self.collection, payload=payload, points=[learning_id], wait=True))

    def delete(self, ids: builtins.list[str]) -> None:
        if ids:
            self._call(lambda c: c.delete(self.collection, points_selector=models.PointIdsList(points=ids),
                                          wait=True))
            self._store.compact(self.collection)

    def erase_contributor(self, contributor: str) -> dict:
        """Remove one end user's part: a learning in their words, or theirs alone, is deleted; from
        the others they are removed as a contributor (their one count goes with them)."""
        deleted, updated = [], 0
        with self.writing():
            for item in self.list(contributor=contributor):
                p = dict(item.payload)
                others = [c for c in p.get("contributors", []) if c != contributor]
                if p.get("author") == contributor or not others:
                    deleted.append(item.id)
                    continue
                p["contributors"] = others
                p["count"] = max(1, p["count"] - 1)
                self.save_payload(item.id, p)
                updated += 1
            self.delete(deleted)
        return {"deleted_points": len(deleted), "updated_points": updated}
