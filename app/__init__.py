"""Misybot: a multi-tenant AI customer-service backend."""
from __future__ import annotations

from flask import Flask

from app.settings import Settings


def create_app(settings: Settings | None = None, platform=None) -> Flask:
    """The app factory. Tests pass Settings pointing at a temp DATA_DIR (and may share a Platform)."""
    from app.api import admin, conversations, documents, health, meta, privacy, tokens, webhooks, widget
    from app.api.errors import register_error_handlers
    from app.audit.logs import configure_logging, init_request_logging
    from app.platform import Platform

    settings = settings or Settings()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    # A little over the document limit so multipart overhead fits; werkzeug answers 413 past it.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 1024 * 1024
    app.json.ensure_ascii = False
    app.extensions["misybot"] = platform or Platform.from_settings(settings)

    _warm_up(app.extensions["misybot"], settings)
    if settings.chatwoot_worker:
        from app.channels.chatwoot_webhook import ChatwootWorker

        # Slow work runs off the request path; with several processes each runs a worker in the same
        # consumer group, so every job is taken by exactly one of them.
        import os

        worker = ChatwootWorker(app.extensions["misybot"], consumer=f"w{os.getpid()}")
        worker.start()
        app.extensions["misybot"].background.append(worker)
    if settings.meta_worker:
        from graphs.meta.pipeline import MetaWorker

        meta_worker = MetaWorker(app.extensions["misybot"].meta_pipeline(), settings.meta_interval_s)
        meta_worker.start()
        app.extensions["misybot"].background.append(meta_worker)

    init_request_logging(app)
    # Another process may have onboarded, offboarded or reloaded: pick up its config version first.
    app.before_request(app.extensions["misybot"].sync_config)
    register_error_handlers(app)
    for bp in (health.bp, documents.bp, conversations.bp, admin.bp, tokens.bp, widget.bp, webhooks.bp, privacy.bp,
               meta.bp):
        app.register_blueprint(bp)
    app.after_request(widget.add_cors_headers)
    if settings.trusted_proxy_count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only behind proxies we run do we believe X-Forwarded-For, and only that many hops of it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_count, x_proto=1)
    return app


def _warm_up(platform, settings: Settings) -> None:
    """Load the embedder now rather than on the first request, and seed empty knowledge bases.
    Neither may stop the service from starting: a dependency that is down shows in /health."""
    import logging

    log = logging.getLogger("misybot.startup")
    try:
        platform.embedder.embed_query("warm-up")
    except Exception as exc:
        log.warning("embedder not ready at start-up: %s", exc)
        return
    from app.privacy.pii import engine

    engine()              # the spaCy models for PII detection: seconds on the first load
    if settings.seed_tenant_documents:
        from app.tenancy.onboarding import seed_tenant_documents

        try:
            seed_tenant_documents(platform, settings.tenants_dir)
        except Exception:
            log.exception("seeding tenant documents failed; the service starts without them")
