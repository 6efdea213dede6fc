"""One JSON error shape for everything: {"error": {"code", "message"}} with the right status."""
from __future__ import annotations

import json
import logging
import re

import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestHeaderFieldsTooLarge
from werkzeug.serving import WSGIRequestHandler

from app.conversations.history import ConversationBusy
from app.knowledge.documents import DocumentError, IngestionBusy
from app.knowledge.global_knowledge import MetaBusy
from app.knowledge.index import VectorStoreUnavailable
from app.privacy.learning_outbox import OutboxBusy
from app.storage.embeddings import EmbeddingError
from app.storage.qdrant_store import VectorStoreFull

log = logging.getLogger("misybot.errors")

# Below gunicorn's own limits (8190 bytes a line, 100 lines), so the app answers first with our JSON.
MAX_HEADER_LINE_BYTES = 8000
MAX_HEADERS_BYTES = 32 * 1024
STORAGE_FULL = "storage_full"       # 507: the disk under the stores is full; nothing of the request was kept


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **details):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}
        self.details = details


def error_response(status: int, code: str, message: str, headers: dict | None = None, **details):
    """details: extra fields of the error object, e.g. {"limit": "monthly_bookings"} on a 429."""
    resp = jsonify({"error": {"code": code, "message": message, **details}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def storage_full_response():
    return error_response(507, STORAGE_FULL, "the server's storage is full, so this request was refused; "
                          "retry once space is freed", {"Retry-After": "60"})


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def refuse_oversized_headers() -> None:
    sizes = [len(name) + len(value) + 2 for name, value in request.headers.items()]
    if any(size > MAX_HEADER_LINE_BYTES for size in sizes) or sum(sizes) > MAX_HEADERS_BYTES:
        raise RequestHeaderFieldsTooLarge(f"each header line must be at most {MAX_HEADER_LINE_BYTES} bytes and "
                                          f"all of them at most {MAX_HEADERS_BYTES}")


class JsonErrorRequestHandler(WSGIRequestHandler):
    """For werkzeug's development server (`app.run(request_handler=...)`): the requests it refuses before
    the app runs (a header line over 64 KB, over 100 headers, a bad request line) get our JSON error, not
    http.server's HTML page."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        phrase = self.responses.get(code, ("error",))[0]
        body = {"error": {"code": _snake(phrase), "message": explain or message or phrase}}
        self.error_content_type = "application/json"
        self.error_message_format = json.dumps(body).replace("%", "%%")
        super().send_error(code, message, explain)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(e: ApiError):
        return error_response(e.status, e.code, e.message, e.headers, **e.details)

    @app.errorhandler(DocumentError)
    def _doc(e: DocumentError):
        return error_response(e.status, e.code, e.message)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if e.code == 413:       # past the request limit werkzeug stops reading: same code as our own check
            return error_response(413, "document_too_large", "the request body is too large")
        return error_response(e.code or 500, _snake(e.name), e.description or e.name)

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    def _redis(e):
        log.error("redis unavailable: %s", type(e).__name__)
        return error_response(503, "redis_unavailable", "the data store is unavailable; retry shortly",
                              {"Retry-After": "5"})

    @app.errorhandler(VectorStoreUnavailable)
    def _qdrant(e):
        log.error("vector store unavailable: %s", e)
        return error_response(503, "vector_store_unavailable",
                              "the knowledge store is unavailable; retry shortly", {"Retry-After": "5"})

    @app.errorhandler(VectorStoreFull)
    def _qdrant_full(e):
        log.error("vector store disk full: %s", e)
        return storage_full_response()

    @app.errorhandler(redis.exceptions.ResponseError)
    def _redis_refused(e):
        # MISCONF: Redis cannot write its append-only file or snapshot (a full disk, in practice) and
        # refuses every write until it can; reads still work. It also arrives inside a Lua script's error.
        if "MISCONF" in str(e):
            log.error("redis refuses writes: %s", e)
            return storage_full_response()
        return _unexpected(e)

    @app.errorhandler(EmbeddingError)
    def _embed(e):
        log.error("embedder unavailable: %s", e)
        return error_response(503, "embedder_unavailable", "the embedding model is unavailable; retry shortly",
                              {"Retry-After": "5"})

    @app.errorhandler(ConversationBusy)
    def _conv_busy(e):
        return error_response(503, "conversation_busy", str(e), {"Retry-After": "2"})

    @app.errorhandler(MetaBusy)
    @app.errorhandler(OutboxBusy)
    def _meta_busy(e):
        return error_response(503, "meta_busy", str(e), {"Retry-After": "5"})

    @app.errorhandler(IngestionBusy)
    def _busy(e):
        return error_response(503, "ingestion_busy", str(e), {"Retry-After": "10"})

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "something went wrong on our side")
