"""Ingestion jobs: a large upload is answered 202 at once and stored by a worker (app/workers/ingestion.py),
which reports its progress here.

  {prefix}ingest_job:{job_id}   hash: status queued|running|retrying|done|failed, progress done/total chunks,
                                title, size_bytes, content_type, source, metadata, document_id, duplicate,
                                error_code, error_message, created_at, updated_at; `text` only until the job ends.
                                Kept JOB_TTL_S after it ends.
"""
from __future__ import annotations

import json
import secrets
import time

from app.storage.redis_store import TenantKeyspace

JOB_TTL_S = 7 * 24 * 3600
FINAL = ("done", "failed")


class IngestionJobs:
    def __init__(self, keyspace: TenantKeyspace):
        self.keys = keyspace

    def _key(self, job_id: str) -> str:
        return self.keys.key("ingest_job", job_id)

    def create(self, text: str, title: str, *, size_bytes: int, content_type: str, source: str | None,
               metadata: dict) -> str:
        job_id = "job_" + secrets.token_hex(10)
        now = time.time()
        self.keys.redis.hset(self._key(job_id), mapping={
            "job_id": job_id, "status": "queued", "title": title, "text": text, "size_bytes": size_bytes,
            "content_type": content_type, "source": source or "", "metadata": json.dumps(metadata, ensure_ascii=False),
            "done": 0, "total": 0, "created_at": now, "updated_at": now})
        self.keys.redis.expire(self._key(job_id), JOB_TTL_S)
        return job_id

    def input(self, job_id: str) -> dict | None:
        """What the worker needs to store the document; None when the job is gone or already ended."""
        h = self.keys.redis.hgetall(self._key(job_id))
        if not h or h.get("status") in FINAL or "text" not in h:
            return None
        return {"text": h["text"], "title": h["title"], "size_bytes": int(h["size_bytes"]),
                "content_type": h["content_type"], "source": h["source"] or None,
                "metadata": json.loads(h.get("metadata") or "{}")}

    def update(self, job_id: str, **fields) -> None:
        key = self._key(job_id)
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={**{k: v for k, v in fields.items() if v is not None}, "updated_at": time.time()})
        if fields.get("status") in FINAL:
            pipe.hdel(key, "text")              # the words live in the document now (or nowhere)
        pipe.expire(key, JOB_TTL_S)
        pipe.execute()

    def progress(self, job_id: str, done: int, total: int) -> None:
        self.keys.redis.hset(self._key(job_id), mapping={"done": done, "total": total, "updated_at": time.time()})

    def get(self, job_id: str) -> dict | None:
        h = self.keys.redis.hgetall(self._key(job_id))
        if not h:
            return None
        out = {"job_id": h["job_id"], "status": h["status"], "title": h.get("title"),
               "progress": {"done": int(h.get("done") or 0), "total": int(h.get("total") or 0)},
               "created_at": float(h["created_at"]), "updated_at": float(h["updated_at"])}
        if h.get("document_id"):
            out["document_id"] = h["document_id"]
            out["duplicate"] = h.get("duplicate") == "1"
        if h.get("error_code"):
            out["error"] = {"code": h["error_code"], "message": h.get("error_message", "")}
        return out
