"""Structured JSON logs. Every line written during a request carries its request_id and company_id."""
from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid

from flask import Flask, current_app, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from app.audit.events import request_events
from app.audit.tracing import TraceContextFilter, current_trace_id

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


_SECRET = re.compile(r"(msk_|cs_|pk_live_|sk-)[A-Za-z0-9_\-]{8,}|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"
                     r"|(?i:bearer)\s+\S+")


# Personal data that could slip into a log line through an exception message or a URL: e-mail addresses
# and runs of 6+ digits (phones, ID and card numbers). Cheap regexes, because this runs on every line;
# we never log customer text on purpose (chat turns log route, channel and latency only).
# A digit run inside an identifier (a hex event id, a key id) is not a phone number: only free-standing runs count.
_PII = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?<![A-Za-z0-9_])\+?\d(?:[\d .\-]{4,}\d)(?![A-Za-z0-9_])")


def _mask_pii(text: str) -> str:
    return _PII.sub(lambda m: "[pii]" if sum(c.isdigit() for c in m.group()) >= 6 or "@" in m.group() else m.group(),
                    text)


class RedactSecrets(logging.Filter):
    """Defence in depth: whatever a log line says, credentials, tokens, e-mails and long numbers are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _mask_pii(_SECRET.sub("[redacted]", message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(g, "request_id", None)
            record.company_id = getattr(g, "company_id", None)
        else:
            record.request_id = getattr(record, "request_id", None)
            record.company_id = getattr(record, "company_id", None)
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                                       rename_fields={"asctime": "ts", "levelname": "level"}))
    handler.addFilter(RequestContextFilter())
    handler.addFilter(TraceContextFilter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == "misybot":
            root.removeHandler(h)
    handler.set_name("misybot")      # so a second create_app replaces it instead of doubling every line
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)    # we write our own access line
    for noisy in ("httpx", "httpx2", "openai", "sentence_transformers", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def init_request_logging(app: Flask) -> None:
    access = logging.getLogger("misybot.access")

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.company_id = None
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        # Which process answered (several under gunicorn): the name of its Chatwoot consumer. Read per response,
        # since gunicorn may import this module in the master before forking.
        response.headers["X-Misybot-Worker"] = f"w{os.getpid()}"
        verdict = getattr(g, "rate_limit", None)
        if verdict is not None:
            for k, v in verdict.headers().items():
                response.headers.setdefault(k, v)
        started = getattr(g, "started", None)
        # The route's pattern, not the path: a path can name a user ("/conversations/+573001234567").
        route = request.url_rule.rule if request.url_rule else "(unmatched)"
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        access.info("request", extra={"method": request.method, "path": route, "status": response.status_code,
                                      "duration_ms": duration_ms})
        _emit_request_events(response, route, duration_ms)
        return response


def _error_code(response) -> str | None:
    if response.status_code < 400 or not response.is_json:
        return None
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def _emit_request_events(response, route: str, duration_ms: float | None) -> None:
    platform = current_app.extensions.get("misybot")
    hub = getattr(platform, "events", None)
    if hub is None:
        return
    principal = getattr(g, "principal", None)
    for event in request_events(principal, getattr(g, "company_id", None) or getattr(principal, "company_id", None),
                                request.method, route, response.status_code, duration_ms, _error_code(response),
                                getattr(g, "request_id", None), current_trace_id()):
        hub.emit(event)
