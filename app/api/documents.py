"""Tenant API: a company's knowledge-base documents. Every route works only inside g.tenant."""
from __future__ import annotations

import logging
import re
import shutil

from flask import Blueprint, current_app, g, jsonify

from app.api.contract import TENANT, api, form_body, json_body, query_args, responses
from app.api.errors import STORAGE_FULL, ApiError
from app.api.models import (
    DocumentDeleted,
    DocumentDetail,
    DocumentIn,
    DocumentJob,
    DocumentList,
    DocumentQueued,
    DocumentUpload,
    DocumentUploaded,
    PageQuery,
    SearchIn,
    SearchResults,
)
from app.api.validation import paginated
from app.knowledge.parsing import UnreadableDocument, UnsupportedDocumentType, extract_text
from app.security.guard import require_tenant
from app.security.principal import DOCUMENTS_READ, DOCUMENTS_WRITE
from app.storage.embeddings import EmbeddingError
from app.workers.ingestion import enqueue

bp = Blueprint("documents", __name__)
log = logging.getLogger("misybot.documents")
TENANT_ERRORS = (401, 403, 429, 503)


def _too_large(size: int) -> ApiError:
    limit = current_app.extensions["misybot"].settings.max_upload_bytes
    return ApiError(413, "document_too_large", f"the document is {size} bytes; the limit is {limit} bytes")


def _refuse_when_disk_low() -> None:
    """Refuse an upload before anything is read or written while the disk under DATA_DIR has less than
    MIN_FREE_DISK_MB free. The embedded stores fail safely on a full disk (the 507 in app/api/errors.py),
    but a full disk also stops every other write (Redis refuses them all): uploads, the big writes, stop
    first. Only while a store is embedded: servers from REDIS_URL and QDRANT_URL have their own disks."""
    settings = current_app.extensions["misybot"].settings
    if not settings.min_free_disk_mb or (settings.redis_url and settings.qdrant_url):
        return
    free_mb = shutil.disk_usage(settings.data_dir).free / (1024 * 1024)
    if free_mb < settings.min_free_disk_mb:
        log.error("upload refused: %.1f MB free under the data dir, the margin is %s MB", free_mb,
                  settings.min_free_disk_mb)
        raise ApiError(507, STORAGE_FULL, "the server's storage is nearly full, so uploads are refused; "
                       "retry once space is freed", {"Retry-After": "60"})


@bp.post("/documents")
@require_tenant(DOCUMENTS_WRITE)
@api.validate(json=DocumentIn, form=DocumentUpload, security=TENANT, tags=["documents"],
              resp=responses(*TENANT_ERRORS, 409, 413, 415, 422, 507, HTTP_201=DocumentUploaded, HTTP_200=DocumentUploaded,
                             HTTP_202=DocumentQueued))
def upload_document():
    """Add a document (JSON text, or a file in multipart field `file`)

    The same content again answers 200 with `"duplicate": true`; nothing is stored twice. While the
    server's disk is (nearly) full it answers 507 `storage_full` and stores nothing.
    """
    _refuse_when_disk_low()
    limit = current_app.extensions["misybot"].settings.max_upload_bytes
    form = form_body(DocumentUpload)
    if form is not None:
        upload = form.file
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise _too_large(len(data))
        if not data:
            raise ApiError(400, "empty_document", "the uploaded file is empty")
        try:
            text = extract_text(upload.filename, data)
        except UnsupportedDocumentType as exc:
            raise ApiError(415, "unsupported_document_type", str(exc)) from None
        except UnreadableDocument as exc:
            raise ApiError(422, "unreadable_document", str(exc)) from None
        title, meta = form.title or upload.filename, form.metadata
        size, content_type, source = len(data), upload.mimetype or "application/octet-stream", upload.filename
    else:
        body = json_body(DocumentIn)
        size = len(body.content.encode())
        if size > limit:
            raise _too_large(size)
        title, meta = body.title or "Sin título", body.metadata
        text, content_type, source = body.content, "text/plain", None
    docs = g.tenant.documents
    if len(text.encode()) > current_app.extensions["misybot"].settings.ingest_async_bytes:
        # Large: answered now, stored by the ingestion worker. What can be refused at once still is.
        if not text.strip():
            raise ApiError(400, "empty_document", "the document has no text")
        existing = docs.get(docs.document_id_for(text.strip()))
        if existing is None:
            docs.check_quota(size)
            job_id = docs.jobs.create(text, title, size_bytes=size, content_type=content_type, source=source,
                                      metadata=meta or {})
            enqueue(current_app.extensions["misybot"], g.tenant.company_id, job_id)
            return jsonify({"job_id": job_id, "status": "queued", "status_url": f"/documents/jobs/{job_id}"}), 202
        record, created = existing, False
    else:
        record, created = docs.ingest(text, title, size_bytes=size, content_type=content_type, source=source,
                                      metadata=meta or {})
    out = {"document_id": record.document_id, "title": record.title, "chunks": record.chunks,
           "duplicate": not created}
    return jsonify(out), 201 if created else 200


@bp.get("/documents/jobs/<job_id>")
@require_tenant(DOCUMENTS_READ)
@api.validate(security=TENANT, tags=["documents"], resp=responses(*TENANT_ERRORS, 404, HTTP_200=DocumentJob))
def document_job(job_id: str):
    """The progress of a large upload: queued, running (chunks embedded of the total), retrying, done (with
    its document_id) or failed (with the reason; nothing was stored)"""
    job = g.tenant.documents.jobs.get(job_id) if re.fullmatch(r"job_[0-9a-f]{20}", job_id) else None
    if job is None:
        raise ApiError(404, "job_not_found", "no such ingestion job")
    return jsonify(job)


@bp.get("/documents")
@require_tenant(DOCUMENTS_READ)
@api.validate(query=PageQuery, security=TENANT, tags=["documents"], resp=responses(*TENANT_ERRORS, HTTP_200=DocumentList))
def list_documents():
    """List the company's documents, newest first"""
    def page_of_documents(page, per_page):
        records, total = g.tenant.documents.list(page, per_page)
        return [r.public() for r in records], total
    q = query_args(PageQuery)
    return jsonify(paginated("documents", page_of_documents, q.page, q.per_page))


def _not_found():
    return ApiError(404, "document_not_found", "no such document")


@bp.get("/documents/<document_id>")
@require_tenant(DOCUMENTS_READ)
@api.validate(security=TENANT, tags=["documents"], resp=responses(*TENANT_ERRORS, 404, HTTP_200=DocumentDetail))
def get_document(document_id: str):
    """One document, with a preview of its text"""
    record = g.tenant.documents.get(document_id)
    if record is None:
        raise _not_found()
    return jsonify({**record.public(), "preview": record.preview})


@bp.delete("/documents/<document_id>")
@require_tenant(DOCUMENTS_WRITE)
@api.validate(security=TENANT, tags=["documents"], resp=responses(*TENANT_ERRORS, 404, HTTP_200=DocumentDeleted))
def delete_document(document_id: str):
    """Delete a document and all its chunks"""
    if not g.tenant.documents.delete(document_id):
        raise _not_found()
    return jsonify({"document_id": document_id, "deleted": True})


@bp.post("/documents/search")
@require_tenant(DOCUMENTS_READ)
@api.validate(json=SearchIn, security=TENANT, tags=["documents"], resp=responses(*TENANT_ERRORS, HTTP_200=SearchResults))
def search_documents():
    """Search the company's documents, best first

    When the embedding model is unavailable, hybrid search answers from its lexical side alone and says
    so with `"degraded": "lexical_only"`; dense search answers 503 `embedder_unavailable`.
    """
    settings = current_app.extensions["misybot"].settings
    body = json_body(SearchIn)
    k = settings.search_default_k if body.k is None else body.k
    if k > settings.search_max_k:
        raise ApiError(400, "invalid_parameter", f"k must be an integer between 1 and {settings.search_max_k}")
    try:
        hits = g.tenant.documents.search(body.query, k, body.mode)
    except EmbeddingError:
        # Hybrid mode falls back to its lexical side; dense mode has nothing to fall back to.
        raise ApiError(503, "embedder_unavailable", "dense search needs the embedding model, which is "
                       "unavailable; retry shortly, or search in mode hybrid or lexical",
                       {"Retry-After": "5"}) from None
    results = [{"document_id": h.document_id, "title": h.title, "content": h.content,
                "score": round(h.score, 6), "chunk_index": h.chunk_index} for h in hits]
    out = {"results": results, "results_count": len(results)}
    if hits.degraded:
        out["degraded"] = hits.degraded
    return jsonify(out)
