"""One JSON error shape for everything: {"error": {"code", "message"}} with the right status."""
from __future__ import annotations

import logging
import re

import redis
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from app.conversations.history import ConversationBusy
from app.knowledge.documents import DocumentError, IngestionBusy
from app.knowledge.index import VectorStoreUnavailable
from app.privacy.learning_outbox import OutboxBusy
from app.storage.embeddings import EmbeddingError
from graphs.meta.knowledge import MetaBusy

log = logging.getLogger("misybot.errors")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(e: ApiError):
        return error_response(e.status, e.code, e.message, e.headers)

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
