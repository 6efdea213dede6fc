"""The ingestion worker: stores the large uploads that POST /documents answered 202 for, on the same job
mechanism as the Chatwoot worker (app/workers/jobs.py): a durable stream, retries with backoff, a dead
worker's jobs taken over within seconds.

Storing stays all-or-nothing (DocumentService.ingest): a job that fails for good leaves no document and no
chunks; one interrupted by a crash is run again, and the same text gets the same document and chunk ids,
so nothing is stored twice. The embedding itself waits its turn on the shared model (one batch at a time,
after any waiting chat query: app/storage/embeddings.py FairGate).
"""
from __future__ import annotations

import json
import logging

import redis

from app.audit.events import Event
from app.knowledge.documents import DocumentError, IngestionBusy
from app.knowledge.index import VectorStoreUnavailable
from app.security.principal import Principal
from app.storage.embeddings import EmbeddingError
from app.tenancy.config import PLATFORM_REDIS_PREFIX
from app.workers.jobs import StreamWorker

log = logging.getLogger("misybot.ingestion")
STREAM = f"{PLATFORM_REDIS_PREFIX}{{ingest}}:jobs"     # one hash tag with RETRY and DEAD (Cluster)


def enqueue(platform, company_id: str, job_id: str) -> None:
    """Only ids cross the platform-wide stream; the text stays in the tenant's keyspace."""
    platform.redis.xadd(STREAM, {"company_id": company_id, "payload": json.dumps({"job_id": job_id}), "attempt": 0},
                        maxlen=100_000, approximate=True)


class IngestionWorker(StreamWorker):
    NAME = "ingestion"
    STREAM, GROUP = STREAM, "workers"
    RETRY, DEAD = f"{PLATFORM_REDIS_PREFIX}{{ingest}}:retry", f"{PLATFORM_REDIS_PREFIX}{{ingest}}:dead"
    ALIVE = f"{PLATFORM_REDIS_PREFIX}ingest:alive:"
    MAX_ATTEMPTS = 6
    TRANSIENT = (redis.exceptions.RedisError, OSError, EmbeddingError, VectorStoreUnavailable, IngestionBusy)

    def lane_key(self, fields: dict) -> str | None:
        return fields.get("company_id")          # one company's uploads in turn; companies side by side

    def process(self, company_id: str, payload: dict) -> None:
        config = self.company(company_id)
        if config is None:
            return                               # offboarded since: nothing to store
        ctx = self.platform.tenant_context(config, Principal("platform_admin", None))
        jobs, job_id = ctx.documents.jobs, payload["job_id"]
        job = jobs.input(job_id)
        if job is None:
            return                               # ended already (a retry after it went through) or expired
        jobs.update(job_id, status="running")
        try:
            record, created = ctx.documents.ingest(
                job["text"], job["title"], size_bytes=job["size_bytes"], content_type=job["content_type"],
                source=job["source"], metadata=job["metadata"],
                progress=lambda done, total: jobs.progress(job_id, done, total))
        except DocumentError as exc:             # over the quota meanwhile, no text: a retry cannot help
            jobs.update(job_id, status="failed", error_code=exc.code, error_message=exc.message)
            return
        except self.TRANSIENT as exc:
            jobs.update(job_id, status="retrying", error_code="temporarily_unavailable",
                        error_message=f"{type(exc).__name__}; retrying")
            raise
        jobs.update(job_id, status="done", document_id=record.document_id, duplicate=0 if created else 1,
                    done=record.chunks, total=record.chunks, error_code="", error_message="")

    def _retry_or_bury(self, fields: dict, exc: Exception) -> str:
        outcome = super()._retry_or_bury(fields, exc)
        if outcome == "dead":                    # gave up: say so on the job, nothing was stored
            self._fail(fields, exc)
        return outcome

    def _fail(self, fields: dict, exc: Exception) -> None:
        config = self.company(fields["company_id"])
        if config is None:
            return
        ctx = self.platform.tenant_context(config, Principal("platform_admin", None))
        ctx.documents.jobs.update(json.loads(fields["payload"])["job_id"], status="failed",
                                  error_code="ingestion_failed", error_message=f"gave up: {type(exc).__name__}")

    def _event(self, company_id: str, outcome: str, attempts: int, exc: Exception | None) -> None:
        self.platform.events.emit(Event("ingestion_job", company_id, outcome, actor="ingestion",
                                        fields={"attempts": attempts, "error": type(exc).__name__ if exc else None}))
