"""Tenant API: a company's knowledge-base documents. Every route works only inside g.tenant."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify, request

from app.api.errors import ApiError
from app.api.validation import int_arg, json_object, optional_str, paginated, required_text
from app.knowledge.documents import MAX_TITLE
from app.knowledge.parsing import UnreadableDocument, UnsupportedDocumentType, extract_text
from app.security.guard import require_tenant
from app.security.principal import DOCUMENTS_READ, DOCUMENTS_WRITE

bp = Blueprint("documents", __name__)

MAX_METADATA_BYTES = 8 * 1024
MAX_QUERY_CHARS = 2000


def _metadata(value) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError(400, "invalid_parameter", "metadata must be a JSON object") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_parameter", "metadata must be a JSON object")
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise ApiError(400, "invalid_parameter", f"metadata must be at most {MAX_METADATA_BYTES} bytes")
    return value


def _too_large(size: int) -> ApiError:
    limit = current_app.extensions["misybot"].settings.max_upload_bytes
    return ApiError(413, "document_too_large", f"the document is {size} bytes; the limit is {limit} bytes")


@bp.post("/documents")
@require_tenant(DOCUMENTS_WRITE)
def upload_document():
    limit = current_app.extensions["misybot"].settings.max_upload_bytes
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ApiError(400, "missing_file", "send the document in a multipart field named 'file'")
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
        title = optional_str(request.form, "title", MAX_TITLE) or upload.filename
        meta = _metadata(request.form.get("metadata"))
        size, content_type, source = len(data), upload.mimetype or "application/octet-stream", upload.filename
    else:
        body = json_object()
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ApiError(400, "empty_document", "'content' must be a non-empty string")
        size = len(content.encode())
        if size > limit:
            raise _too_large(size)
        title = optional_str(body, "title", MAX_TITLE) or "Sin título"
        meta = _metadata(body.get("metadata"))
        text, content_type, source = content, "text/plain", None
    record, created = g.tenant.documents.ingest(text, title, size_bytes=size, content_type=content_type,
                                                source=source, metadata=meta)
    out = {"document_id": record.document_id, "title": record.title, "chunks": record.chunks,
           "duplicate": not created}
    return jsonify(out), 201 if created else 200


@bp.get("/documents")
@require_tenant(DOCUMENTS_READ)
def list_documents():
    def page_of_documents(page, per_page):
        records, total = g.tenant.documents.list(page, per_page)
        return [r.public() for r in records], total
    return jsonify(paginated("documents", page_of_documents))


def _not_found():
    return ApiError(404, "document_not_found", "no such document")


@bp.get("/documents/<document_id>")
@require_tenant(DOCUMENTS_READ)
def get_document(document_id: str):
    record = g.tenant.documents.get(document_id)
    if record is None:
        raise _not_found()
    return jsonify({**record.public(), "preview": record.preview})


@bp.delete("/documents/<document_id>")
@require_tenant(DOCUMENTS_WRITE)
def delete_document(document_id: str):
    if not g.tenant.documents.delete(document_id):
        raise _not_found()
    return jsonify({"document_id": document_id, "deleted": True})


@bp.post("/documents/search")
@require_tenant(DOCUMENTS_READ)
def search_documents():
    settings = current_app.extensions["misybot"].settings
    body = json_object()
    query = required_text(body, "query", MAX_QUERY_CHARS, "invalid_query")
    k = int_arg("k", settings.search_default_k, 1, settings.search_max_k, source=body)
    mode = body.get("mode", "hybrid")
    if mode not in ("hybrid", "dense", "lexical"):
        raise ApiError(400, "invalid_parameter", "mode must be one of hybrid, dense, lexical")
    hits = g.tenant.documents.search(query, k, mode)
    results = [{"document_id": h.document_id, "title": h.title, "content": h.content,
                "score": round(h.score, 6), "chunk_index": h.chunk_index} for h in hits]
    return jsonify({"results": results, "results_count": len(results)})
