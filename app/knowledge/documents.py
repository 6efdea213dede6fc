"""A tenant's documents: ingest (dedupe, quota, all-or-nothing), list, read, delete, search.

Redis holds each document's record and the tenant's index of ready documents; Qdrant holds the
chunks. A document is listed and searchable only once every chunk is stored (status "ready").
"""
from __future__ import annotations

import builtins
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import redis

from app.knowledge.chunking import split_text
from app.knowledge.index import KnowledgeIndex, SearchHits, SearchMode, VectorStoreUnavailable
from app.knowledge.ingest_jobs import IngestionJobs
from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import Limits

log = logging.getLogger("misybot.documents")
DOCUMENT_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_TITLE = 300
PREVIEW_CHARS = 500


class DocumentError(Exception):
    """A client-side problem with an upload; `code` and `status` go straight into the JSON error."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class IngestionBusy(RuntimeError):
    """Another upload of this tenant holds the ingestion lock for too long (503, retry)."""


@dataclass(frozen=True)
class DocumentRecord:
    document_id: str
    title: str
    chunks: int
    size_bytes: int
    content_type: str
    source: str | None
    metadata: dict
    created_at: str
    preview: str

    def public(self) -> dict:
        return {"document_id": self.document_id, "title": self.title, "chunks": self.chunks,
                "size_bytes": self.size_bytes, "content_type": self.content_type, "source": self.source,
                "metadata": self.metadata, "created_at": self.created_at}


def _record_from_hash(h: dict) -> DocumentRecord:
    return DocumentRecord(h["document_id"], h["title"], int(h["chunks"]), int(h["size_bytes"]),
                          h.get("content_type", "text/plain"), h.get("source") or None,
                          json.loads(h.get("metadata") or "{}"), h["created_at"], h.get("preview", ""))


class DocumentService:
    def __init__(self, company_id: str, keyspace: TenantKeyspace, index: KnowledgeIndex, limits: Limits,
                 chunk_tokens: int = 200, overlap_tokens: int = 30):
        self.company_id = company_id
        self.keys = keyspace
        self.jobs = IngestionJobs(keyspace)        # large uploads, stored by a worker (app/workers/ingestion.py)
        self.index = index
        self.limits = limits
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens

    # -- keys -------------------------------------------------------------------------------------
    def _doc_key(self, document_id: str) -> str:
        return self.keys.key("document", document_id)

    @property
    def _ready_index(self) -> str:
        return self.keys.key("documents")          # zset: document_id -> created_at (unix time)

    @property
    def _usage_key(self) -> str:
        return self.keys.key("usage", "documents")  # hash: count, bytes

    def document_id_for(self, text: str) -> str:
        # Per-tenant ids: the same text in two tenants gives two unrelated ids.
        return hashlib.sha256(f"{self.company_id}\x00{text}".encode()).hexdigest()[:32]

    def _write_lock(self):
        """One writer per tenant at a time, across processes: quota checks and publishing stay exact."""
        # A 30 s lease renewed while the upload is stored: a process that dies (or a release refused by a full
        # disk) frees the company's uploads in seconds, not after the longest an upload could take.
        return self.keys.exclusive("documents", timeout_s=30, wait_s=60, renew=True, busy=IngestionBusy(
            "another upload for this company is still being stored; retry shortly"))

    # -- reads ------------------------------------------------------------------------------------
    def get(self, document_id: str) -> DocumentRecord | None:
        if not DOCUMENT_ID_PATTERN.match(document_id or ""):
            return None
        try:
            h = self.keys.redis.hgetall(self._doc_key(document_id))
        except redis.exceptions.ResponseError:
            return None        # a key of another shape (e.g. a migrated legacy value) is not our record
        if not h or h.get("status") != "ready":
            return None
        return _record_from_hash(h)

    def list(self, page: int, per_page: int) -> tuple[list[DocumentRecord], int]:
        r = self.keys.redis
        total = r.zcard(self._ready_index)
        start = (page - 1) * per_page
        ids = r.zrevrange(self._ready_index, start, start + per_page - 1)
        pipe = r.pipeline(transaction=False)
        for doc_id in ids:
            pipe.hgetall(self._doc_key(doc_id))
        records = [_record_from_hash(h) for h in pipe.execute() if h and h.get("status") == "ready"]
        return records, total

    def usage(self) -> dict:
        h = self.keys.redis.hgetall(self._usage_key)
        return {"documents": int(h.get("count", 0)), "storage_bytes": int(h.get("bytes", 0))}

    # -- writes -----------------------------------------------------------------------------------
    def check_quota(self, size_bytes: int) -> None:
        """Refuse (409) what would go over the company's document count or storage."""
        used = self.usage()
        if used["documents"] + 1 > self.limits.max_documents:
            raise DocumentError(409, "document_quota_exceeded",
                                f"this company already has {used['documents']} of "
                                f"{self.limits.max_documents} documents")
        limit_bytes = int(self.limits.storage_limit_mb * 1024 * 1024)
        if used["storage_bytes"] + size_bytes > limit_bytes:
            raise DocumentError(409, "storage_quota_exceeded",
                                f"this upload ({size_bytes} bytes) would exceed the storage limit of "
                                f"{self.limits.storage_limit_mb} MB ({used['storage_bytes']} bytes used)")

    def ingest(self, text: str, title: str, *, size_bytes: int, content_type: str = "text/plain",
               source: str | None = None, metadata: dict | None = None,
               progress: Callable[[int, int], None] | None = None) -> tuple[DocumentRecord, bool]:
        """Store a document all-or-nothing. Returns (record, created); created is False for a duplicate."""
        text = text.strip()
        if not text:
            raise DocumentError(400, "empty_document", "the document has no text")
        title = (title or "").strip()[:MAX_TITLE] or "Sin título"
        document_id = self.document_id_for(text)
        existing = self.get(document_id)
        if existing:
            return existing, False
        self.check_quota(size_bytes)             # fail fast, before the expensive embedding

        chunks = split_text(text, self.chunk_tokens, self.overlap_tokens)
        if not chunks:
            raise DocumentError(400, "empty_document", "the document has no text")
        points = self.index.build_points(document_id, title, chunks, progress=progress)   # embeds; writes nothing

        with self._write_lock():
            existing = self.get(document_id)      # the same text may have landed while we embedded
            if existing:
                return existing, False
            self.check_quota(size_bytes)
            now = time.time()
            record = {
                "document_id": document_id, "title": title, "chunks": len(chunks),
                "size_bytes": size_bytes, "content_type": content_type, "source": source or "",
                "metadata": json.dumps(metadata or {}, ensure_ascii=False),
                "created_at": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
                "preview": text[:PREVIEW_CHARS], "status": "ingesting",
            }
            doc_key = self._doc_key(document_id)
            self.keys.redis.hset(doc_key, mapping=record)
            try:
                self.index.ensure_collection()
                self.index.upsert(points)
            except BaseException:      # whatever stopped the write (even a worker timeout), undo it first
                self._undo(document_id, len(chunks))
                raise
            # Publish: status, listing and usage change together.
            pipe = self.keys.redis.pipeline(transaction=True)
            pipe.hset(doc_key, "status", "ready")
            pipe.zadd(self._ready_index, {document_id: now})
            pipe.hincrby(self._usage_key, "count", 1)
            pipe.hincrby(self._usage_key, "bytes", size_bytes)
            try:
                pipe.execute()
            except redis.exceptions.ResponseError:
                # Refused by Redis (MISCONF when its disk is full): none of the transaction applied, so the
                # chunks go too. A lost connection is left alone: the transaction may have applied.
                self._undo(document_id, len(chunks))
                raise
            record["status"] = "ready"
            return _record_from_hash(record), True

    def _undo(self, document_id: str, chunks: int) -> None:
        """Remove what a failed ingestion wrote. The record always goes; if Qdrant is down too, any
        chunks it did accept stay invisible (search only returns listed documents) and a retry of the
        same text overwrites them, since chunk ids are derived from the document id."""
        try:
            self.index.delete_document_points(document_id, chunks)
        except VectorStoreUnavailable as exc:
            log.warning("could not remove the chunks of a failed ingestion: %s", exc,
                        extra={"company_id": self.company_id, "document_id": document_id})
        try:
            self.keys.redis.delete(self._doc_key(document_id))
        except redis.exceptions.RedisError as exc:
            # Redis refusing writes too (down, or its disk full): the record stays "ingesting", which is
            # never listed or served, and a retry of the same text overwrites it. The caller gets the
            # error that stopped the ingestion, not this one.
            log.warning("could not remove the record of a failed ingestion: %s", exc,
                        extra={"company_id": self.company_id, "document_id": document_id})

    def delete(self, document_id: str) -> bool:
        if not DOCUMENT_ID_PATTERN.match(document_id or ""):
            return False
        with self._write_lock():
            try:
                h = self.keys.redis.hgetall(self._doc_key(document_id))
            except redis.exceptions.ResponseError:
                return False
            if h.get("status") == "deleting":
                # An earlier delete unlisted it but could not reach Qdrant: finish the job.
                self.index.delete_document_points(document_id, int(h.get("chunks", 0)))
                self.keys.redis.delete(self._doc_key(document_id))
                return True
            record = self.get(document_id)
            if record is None:
                return False
            # Unlist first: from here on the document is invisible even if the chunk delete fails.
            pipe = self.keys.redis.pipeline(transaction=True)
            pipe.zrem(self._ready_index, document_id)
            pipe.hset(self._doc_key(document_id), "status", "deleting")
            pipe.hincrby(self._usage_key, "count", -1)
            pipe.hincrby(self._usage_key, "bytes", -record.size_bytes)
            pipe.execute()
            self.index.delete_document_points(document_id, record.chunks)
            self.keys.redis.delete(self._doc_key(document_id))
        return True

    # -- search -----------------------------------------------------------------------------------
    def search(self, query: str, k: int, mode: SearchMode = "hybrid", expand_query: bool = True) -> SearchHits:
        """The index's hits of listed documents; `degraded` says when hybrid search answered lexical-only."""
        hits = self.index.search(query, k, mode, expand_query)
        if not hits:
            return hits
        # Only chunks of documents that are fully stored and still listed are answers.
        doc_ids = builtins.list({h.document_id for h in hits})
        scores = self.keys.redis.zmscore(self._ready_index, doc_ids)
        ready = {d for d, s in zip(doc_ids, scores, strict=True) if s is not None}
        return SearchHits([h for h in hits if h.document_id in ready], hits.degraded)
