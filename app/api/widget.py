"""Browser widget API (the SDK in sdk/ speaks it). A publishable key (safe in a page) plus an allowed
Origin buys a short-lived session token bound to that origin and one visitor; no secret ever reaches the
browser. A 30-day visitor token, kept by the page, brings the same visitor back on a later visit.

Every call carries the publishable key in the query string (`?pk=pk_live_…`), so even a CORS preflight
(which has no body or credentials) can be answered for that tenant alone.

  GET  /v1/widget/config    public branding, and whether this page's origin may use the chat
  POST /v1/widget/session   a session (and visitor) for the page
  GET  /v1/widget/history   the visitor's conversation, for a page that was reloaded
  POST /v1/widget/messages  one message through the turn pipeline; `Idempotency-Key` makes retries safe
  GET  /v1/widget/events    Server-Sent Events: replies, streamed text, typing, handoff, bookings
"""
from __future__ import annotations

import logging
import re
import secrets
import time
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import ValidationError

from app.api.contract import WIDGET, api, json_body, responses
from app.api.errors import ApiError
from app.api.models import (
    PublishableKeyQuery,
    WidgetBranding,
    WidgetHistory,
    WidgetMessageIn,
    WidgetReply,
    WidgetSession,
    WidgetSessionIn,
)
from app.api.tokens import limit_by_ip
from app.channels import widget_bridge
from app.channels.widget_channel import user_id_for, widget_booking
from app.conversations.pipeline import Inbound, Turn, run_pipeline
from app.security.guard import bearer_token, require_tenant
from app.security.principal import CHAT, Principal
from app.security.tokens import TokenError
from graphs.llm import answer_sink

bp = Blueprint("widget", __name__)
log = logging.getLogger("misybot.widget")
VISITOR_TTL_S = 30 * 24 * 3600
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
EVENT_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")


def _platform():
    return current_app.extensions["misybot"]


def widget_tenant():
    """The tenant named by ?pk=, or None."""
    company_id = _platform().secrets.company_for_publishable(request.args.get("pk", ""))
    return _platform().registry.get(company_id) if company_id else None


def _page_origin() -> str:
    """The calling page's origin. Browsers leave Origin out only on same-origin GETs: then it is ours."""
    origin = request.headers.get("Origin")
    if origin is None:
        parts = urlsplit(request.host_url)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin.rstrip("/").lower()


def origin_allowed(config, origin: str) -> bool:
    """The company's allowed origins; in development also the service's own demo origins (README)."""
    return origin in config.allowed_origins or origin in _platform().settings.dev_widget_origins()


def _allowed_origin(config) -> str:
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    if not origin or not origin_allowed(config, origin):
        raise ApiError(403, "origin_not_allowed", "this page's origin is not allowed for this company")
    return origin


def _same_tenant():
    config = widget_tenant()
    if config is None or config.company_id != g.tenant.company_id:
        raise ApiError(403, "tenant_mismatch", "this session belongs to another company's widget")
    return config


def _returning_visitor(config, origin: str, visitor_token: str | None) -> str | None:
    """The visitor id a still-valid session token, or the page's 30-day visitor token, names; both must
    have been issued to this company and this origin."""
    for token, typ in ((bearer_token(), "widget"), (visitor_token, "widget_visitor")):
        if not token:
            continue
        try:
            claims = _platform().tokens.verify(token, typ)
        except TokenError:
            continue
        if claims["tenant_id"] == config.company_id and claims.get("origin") == origin and claims.get("visitor_id"):
            return claims["visitor_id"]
    return None


def _status(ctx, user_id: str) -> str:
    return "human" if ctx.conversations.status(user_id).handed_off else "bot"


@bp.get("/v1/widget/config")
@api.validate(query=PublishableKeyQuery, tags=["widget"], resp=responses(401, HTTP_200=WidgetBranding))
def widget_config():
    """The company's public look for its widget, and whether the calling page may open a session

    Public (any origin may read it): the SDK asks first, so a page that is not allowed says so clearly
    instead of failing on a CORS error.
    """
    config = widget_tenant()
    if config is None:
        raise ApiError(401, "invalid_publishable_key", "unknown publishable key")
    g.company_id = config.company_id
    return jsonify({"company_id": config.company_id, "company_name": config.company_name,
                    "agent_name": config.sales_agent_name, "greeting": config.branding.greeting_message,
                    "primary_color": config.branding.primary_color, "language": config.language,
                    "origin_allowed": origin_allowed(config, _page_origin())})


def _session_body() -> WidgetSessionIn:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return WidgetSessionIn()
    try:
        return WidgetSessionIn.model_validate_json(raw)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        raise ApiError(400, "invalid_session_request", f"{where}: {problem['msg']}") from None


@bp.post("/v1/widget/session")
@api.validate(query=PublishableKeyQuery, tags=["widget"],
              resp=responses(400, 401, 403, 429, HTTP_200=WidgetSession))
def widget_session():
    """Start (or keep) a visitor's session, from a page of an allowed Origin

    Body (optional): `visitor_token` from an earlier visit keeps the visitor (and its conversation);
    `user` passes what the site knows of the visitor (name, email, phone: given to a person on handoff).
    A still-valid session token as `Authorization: Bearer` also keeps the visitor.
    """
    limit_by_ip()
    config = widget_tenant()
    if config is None:
        raise ApiError(401, "invalid_publishable_key", "unknown publishable key")
    g.company_id = config.company_id
    origin = _allowed_origin(config)
    body = _session_body()
    # The visitor id is always ours: a page (or anyone holding the public key) must not be able to name
    # another visitor and read that conversation.
    visitor = _returning_visitor(config, origin, body.visitor_token) or "v_" + secrets.token_hex(12)
    p = _platform()
    ttl = p.settings.widget_token_ttl_s
    token, _ = p.tokens.issue(tenant_id=config.company_id, site_id="widget", origin=origin,
                              permissions=[CHAT], ttl_s=ttl, typ="widget", visitor_id=visitor)
    visitor_token, _ = p.tokens.issue(tenant_id=config.company_id, site_id="widget", origin=origin,
                                      permissions=[], ttl_s=VISITOR_TTL_S, typ="widget_visitor", visitor_id=visitor)
    ctx = p.tenant_context(config, _widget_principal(config))
    if body.user is not None:
        ctx.widget.set_profile(visitor, body.user.model_dump(exclude_none=True), VISITOR_TTL_S)
    return jsonify({"token": token, "expires_in": ttl, "visitor_id": visitor, "visitor_token": visitor_token,
                    "company_id": config.company_id, "status": _status(ctx, user_id_for(visitor)),
                    "greeting": config.branding.greeting_message, "primary_color": config.branding.primary_color})


def _widget_principal(config) -> Principal:
    """The session being issued: the visitor's own context, to read its status and keep its details."""
    return Principal("widget", config.company_id, frozenset({CHAT}))


@bp.get("/v1/widget/history")
@require_tenant(CHAT, allowed=("widget",))
@api.validate(query=PublishableKeyQuery, security=WIDGET, tags=["widget"],
              resp=responses(401, 403, HTTP_200=WidgetHistory))
def widget_history():
    """The visitor's conversation so far (a reloaded page shows it)"""
    _same_tenant()
    user_id = user_id_for(g.token_claims["visitor_id"])
    messages = []
    for i, turn in enumerate(g.tenant.conversations.history(user_id)):
        role = "user" if turn["role"] == "user" else ("human" if turn.get("agent") == widget_bridge.PERSON else "bot")
        messages.append({"id": f"h{i}", "role": role, "text": turn["content"], "at": turn.get("ts")})
    return jsonify({"status": _status(g.tenant, user_id), "messages": messages})


@bp.post("/v1/widget/messages")
@require_tenant(CHAT, allowed=("widget",))
@api.validate(query=PublishableKeyQuery, json=WidgetMessageIn, security=WIDGET, tags=["widget"],
              resp=responses(400, 401, 403, 409, 429, 503, HTTP_200=WidgetReply))
def widget_message():
    """The visitor's message; the answer is formatted for the web

    Send an `Idempotency-Key` (the SDK makes one per message): a retry after a lost answer gets the same
    answer, and the message is never run twice. While the turn runs the page's event stream gets
    `typing`, the answer's text as it is written (`delta`, when an LLM answers), then the `message`.
    """
    config = _same_tenant()
    _allowed_origin(config)            # the token's origin was already checked against the request's
    message = json_body(WidgetMessageIn).message
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 8-100 letters, digits, _ or -")
    visitor = g.token_claims["visitor_id"]
    widget = g.tenant.widget
    if key is None:
        key = "m_" + secrets.token_hex(8)
    else:
        prior = widget.claim_message(visitor, key)
        if prior == "pending":
            raise ApiError(409, "message_in_progress", "this message is still being answered",
                           {"Retry-After": "1"})
        if isinstance(prior, dict):
            return jsonify(prior)
    try:
        reply = _run_turn(g.tenant, visitor, key, message)
    except BaseException:
        widget.forget_message(visitor, key)      # refused or failed: nothing was answered, a retry runs it
        raise
    widget.store_reply(visitor, key, reply)
    return jsonify(reply)


def _run_turn(ctx, visitor: str, key: str, message: str) -> dict:
    widget, user_id = ctx.widget, user_id_for(visitor)
    reply: dict = {}

    def deliver(turn: Turn) -> None:
        if turn.with_human:            # the person who has it reads it where they answer (Chatwoot)
            widget_bridge.forward(_platform().redis, ctx.config, user_id, message)
        result = turn.result()
        reply.update(result.public(), id="r_" + secrets.token_hex(8), reply_to=key,
                     status="human" if result.handoff else "bot")
        if result.booking and result.booking.get("booking_id"):
            # The same shape as the stream's booking events, so the page shows one card for both.
            reply["booking"] = {**result.booking, **{k: v for k, v in widget_booking(result.booking).items() if v}}
        if result.bot_response:
            widget.publish(visitor, "message", {"id": reply["id"], "role": "bot", "text": result.bot_response,
                                                "agent": result.agent, "reply_to": key, "sources": result.sources,
                                                "at": time.time()})

    with_person = ctx.conversations.status(user_id).handed_off
    if not with_person:
        widget.publish(visitor, "typing", {"on": True})
    sink = answer_sink.set(lambda text: widget.publish(visitor, "delta", {"reply_to": key, "text": text}))
    try:
        run_pipeline(_platform(), ctx, Inbound(user_id, message, "web", source="widget"), deliver)
    finally:
        answer_sink.reset(sink)
        if not with_person:
            try:
                widget.publish(visitor, "typing", {"on": False})
            except redis.exceptions.RedisError:
                log.warning("could not clear the widget's typing state")
    return reply


@bp.get("/v1/widget/events")
@require_tenant(CHAT, allowed=("widget",))
@api.validate(query=PublishableKeyQuery, security=WIDGET, tags=["widget"], resp=responses(401, 403))
def widget_events():
    """The visitor's events as Server-Sent Events

    `message`, `delta`, `typing`, `handoff`, `booking`, `error`; each with an `id`. The stream ends after a
    few minutes; reconnect with `Last-Event-ID` and nothing is missed or repeated. Read it with fetch()
    (an EventSource cannot send the Authorization header).
    """
    _same_tenant()
    visitor = g.token_claims["visitor_id"]
    widget = g.tenant.widget
    after = request.headers.get("Last-Event-ID", "")
    if not EVENT_ID.fullmatch(after):
        after = widget.last_id(visitor)
    duration = _platform().settings.widget_stream_s

    def stream():
        yield "retry: 2000\n\n"
        try:
            for event in widget.follow(visitor, after, duration):
                yield event.sse() if event is not None else ": keep-alive\n\n"
        except redis.exceptions.RedisError as exc:
            log.warning("widget event stream ended: %s", type(exc).__name__)
            yield "event: error\ndata: {\"code\": \"service_unavailable\", \"message\": \"reconnecting\"}\n\n"

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})


def add_cors_headers(response):
    """Per-tenant CORS: only that tenant's allowed origins get CORS headers, on widget routes only. The
    public branding (/v1/widget/config) may be read from any page."""
    if not request.path.startswith("/v1/widget/"):
        return response
    if request.path == "/v1/widget/config":
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    return tenant_cors(response, "GET, POST, OPTIONS")


def tenant_cors(response, methods: str):
    """CORS headers for the page's origin when it is one of the ?pk= tenant's allowed origins."""
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    config = widget_tenant() if origin else None
    if config is not None and origin_allowed(config, origin):
        response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID"
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
    return response
