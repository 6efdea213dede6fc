"""The app factory: builds the Flask service from Settings and wires every part of it."""
from __future__ import annotations

import logging
import os
from typing import Callable

import redis
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.api import (
    admin,
    bookings,
    contract,
    conversations,
    documents,
    health,
    insights,
    meta,
    privacy,
    sdk,
    tokens,
    webhooks,
    widget,
)
from app.api import audit as audit_api
from app.api import metrics as metrics_api
from app.api.errors import error_response, register_error_handlers
from app.audit.analytics import TenantAnalytics
from app.audit.events import Deferred, Event
from app.audit.logs import configure_logging, init_request_logging
from app.audit.metrics import Metrics
from app.audit.tracing import init_tracing
from app.audit.trail import AuditTrail
from app.conversations.pipeline import TurnRefused
from app.platform import Platform
from app.privacy.pii import engine as pii_engine
from app.settings import Settings
from app.storage.embeddings import EmbeddingError
from app.storage.redis_store import mark_store
from app.tenancy.onboarding import seed_tenant_catalogs, seed_tenant_documents
from app.workers.chatwoot import ChatwootWorker
from app.workers.ingestion import IngestionWorker
from app.workers.meta import MetaWorker
from app.workers.webhooks import WebhookDeliverer
from graphs.tenant import emergency_model
from graphs.tenant.router import classifier

log = logging.getLogger("misybot.startup")


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> Flask:
    """The app factory. Tests pass Settings pointing at a temp DATA_DIR (and may share a Platform)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    init_tracing(app, settings)          # first: its request span opens before, and closes after, everything else
    # A little over the document limit so multipart overhead fits; werkzeug answers 413 past it.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 1024 * 1024
    platform = platform or Platform.from_settings(settings)
    app.extensions["misybot"] = platform
    try:
        app.extensions["misybot_store_marker"] = mark_store(platform.redis)
    except redis.exceptions.RedisError as exc:          # Redis down at start: /health reports it meanwhile
        log.warning("cannot mark the store at start-up: %s", type(exc).__name__)

    _warm_up(platform, settings)
    if settings.chatwoot_worker:
        # Slow work runs off the request path; with several processes each runs a worker in the same
        # consumer group, so every job is taken by exactly one of them.
        worker = ChatwootWorker(platform, consumer=f"w{os.getpid()}", lanes=settings.chatwoot_worker_threads)
        worker.start()
        platform.background.append(worker)
    if settings.ingestion_worker:
        ingestion = IngestionWorker(platform, consumer=f"w{os.getpid()}",
                                    lanes=settings.ingestion_worker_threads)
        ingestion.start()
        platform.background.append(ingestion)
    if settings.booking_webhook_worker:
        deliverer = WebhookDeliverer(platform.redis, platform.webhook_target)
        deliverer.start()
        platform.background.append(deliverer)
    if settings.meta_worker:
        meta_worker = MetaWorker(platform.meta_pipeline(), settings.meta_interval_s)
        meta_worker.start()
        platform.background.append(meta_worker)

    init_request_logging(app)
    # Another process may have onboarded, offboarded or reloaded: pick up its config version first.
    app.before_request(platform.sync_config)
    register_error_handlers(app)
    contract.init_app(app)
    app.register_error_handler(TurnRefused, lambda e: error_response(e.status, e.code, e.message, e.headers,
                                                                                 **e.details))
    trail = AuditTrail(platform)
    analytics: Callable[[Event], None] = TenantAnalytics(platform)
    if settings.audit_worker:          # writers off the request thread (tests drain the trail and count in-line)
        analytics = Deferred(analytics, name="analytics-events")   # a Redis round trip per turn
        for writer in (trail, analytics):
            writer.start()
            platform.background.append(writer)
    platform.audit = trail
    platform.events.subscribe(trail)
    platform.events.subscribe(analytics)
    Metrics(platform, audit=trail).init_app(app)
    for bp in (health.bp, documents.bp, conversations.bp, bookings.bp, metrics_api.bp, audit_api.bp, admin.bp, tokens.bp,
               insights.bp, widget.bp, sdk.bp, webhooks.bp, privacy.bp, meta.bp):
        app.register_blueprint(bp)
    app.after_request(widget.add_cors_headers)
    if settings.trusted_proxy_count:
        # Only behind proxies we run do we believe X-Forwarded-For, and only that many hops of it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_count, x_proto=1)  # type: ignore[method-assign]
    return app


def _warm_up(platform: Platform, settings: Settings) -> None:
    """Load the embedder now rather than on the first request, and seed empty knowledge bases.
    Neither may stop the service from starting: a dependency that is down shows in /health."""
    try:
        platform.embedder.embed_query("warm-up")
    except EmbeddingError as exc:
        log.warning("embedder not ready at start-up: %s", exc)
        return
    pii_engine()              # the spaCy models for PII detection: seconds on the first load
    classifier()              # the router's intent model: trained here, not inside the first customer's turn
    emergency_model.model(settings.data_dir / "models")   # and its second opinion on emergencies (cached)
    if settings.seed_tenant_documents:
        seed_tenant_catalogs(platform, settings.tenants_dir)
        try:
            seed_tenant_documents(platform, settings.tenants_dir)
        except Exception:     # a seed document must never keep the service down; the log says which
            log.exception("seeding tenant documents failed; the service starts without them")
