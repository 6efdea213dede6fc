"""GET /metrics: the Prometheus scrape (app/audit/metrics.py), for the metrics token or the platform admin."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from app.api.contract import ADMIN, api, responses
from app.api.errors import ApiError
from app.audit.metrics import EXTENSION
from app.security.guard import bearer_token, platform_admin_principal

bp = Blueprint("metrics", __name__)


def _metrics_token_matches() -> bool:
    configured = current_app.extensions["misybot"].settings.metrics_token
    presented = bearer_token()
    if configured is None or not presented:
        return False
    return hmac.compare_digest(presented.encode(), configured.get_secret_value().encode())


def _authorize() -> None:
    # No g.principal on purpose: a scrape every few seconds is not a request worth an audit record.
    if _metrics_token_matches() or platform_admin_principal() is not None:
        return
    if bearer_token() or request.headers.get("X-Admin-Token"):
        raise ApiError(401, "invalid_credentials", "the metrics token or the platform admin token is required")
    raise ApiError(401, "missing_credentials", "send the metrics token (or the platform admin token) as a Bearer token")


@bp.get("/metrics")
# The contract names the admin token; METRICS_TOKEN is another bearer token of the same kind (see the docstring).
@api.validate(security=ADMIN, tags=["observability"], resp=responses(401, 503, HTTP_200=None))
def metrics():
    """Prometheus metrics (text exposition format; OpenMetrics when the Accept header asks for it)

    Send `Authorization: Bearer <METRICS_TOKEN>` or the platform admin token. 503 `metrics_disabled` when this
    server does not collect metrics.
    """
    _authorize()
    collector = current_app.extensions.get(EXTENSION)
    if collector is None:
        raise ApiError(503, "metrics_disabled", "this server does not collect metrics")
    body, content_type = collector.scrape(request.headers.get("Accept"))
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
