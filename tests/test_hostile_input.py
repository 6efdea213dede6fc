"""Hostile input gets a 4xx with our error JSON, never a 5xx, and every response is strict JSON."""
from __future__ import annotations

import http.client
import json
import threading

import pytest
from werkzeug.serving import make_server

from app.api.errors import JsonErrorRequestHandler
from app.api.validation import MAX_JSON_DEPTH

LONE_SURROGATE = '"caf\\ud800e"'          # the JSON escape of a lone high surrogate, as a client sends it
DEEP = "[" * 100_000 + "]" * 100_000


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"{name} in a response")
    return json.loads(text, parse_constant=refuse)


def _refused(resp, status: int = 400, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    error = _strict(resp.get_data(as_text=True))["error"]
    assert error["message"] and (code is None or error["code"] == code), error
    return error


@pytest.fixture
def key(issue_key):
    return issue_key("alpha")


def _post(client, path, raw: str, headers=None):
    return client.post(path, data=raw.encode(), headers={"Content-Type": "application/json", **(headers or {})})


@pytest.mark.parametrize("path,template", [
    ("/documents", '{"content": %s}'),
    ("/documents", '{"content": "Promo de bótox", "title": %s}'),
    ("/documents", '{"content": "Promo de bótox", "metadata": {%s: 1}}'),
    ("/documents/search", '{"query": %s}'),
    ("/conversations/cliente-1/test", '{"message": %s}'),
])
def test_lone_surrogates_are_refused(client, key, path, template):
    error = _refused(_post(client, path, template % LONE_SURROGATE, {"X-API-Key": key}), 400, "invalid_json")
    assert "surrogate" in error["message"]
    assert client.get("/documents", headers={"X-API-Key": key}).get_json()["total"] == 0


def test_lone_surrogate_in_a_client_secret(client):
    body = '{"client_id": "cli_x", "client_secret": %s, "site_id": "s", "origin": "https://alpha.example"}'
    _refused(_post(client, "/v1/auth/token", body % LONE_SURROGATE), 400, "invalid_json")


@pytest.mark.parametrize("path", ["/documents", "/documents/search"])
def test_deep_nesting_is_refused(client, key, path):
    _refused(_post(client, path, DEEP, {"X-API-Key": key}), 400, "invalid_json")
    within_the_parser = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    _refused(_post(client, path, '{"query": "x", "content": %s}' % within_the_parser, {"X-API-Key": key}),
             400, "invalid_json")


@pytest.mark.parametrize("path", ["/webhook/chatwoot", "/webhook/chatwoot/alpha"])
def test_deep_nesting_at_the_chatwoot_webhook(client, path):
    _refused(_post(client, path, DEEP), 400, "invalid_json")
    _refused(_post(client, path, '{"event": "message_created", "content": %s}' % LONE_SURROGATE), 400, "invalid_json")


def test_normal_nesting_still_works(client, key):
    meta = {"a": {"b": {"c": [1, 2, {"d": "fin"}]}}}
    r = client.post("/documents", json={"content": "Promo de bótox", "metadata": meta}, headers={"X-API-Key": key})
    assert r.status_code == 201
    assert client.get(f"/documents/{r.get_json()['document_id']}", headers={"X-API-Key": key}).get_json()[
        "metadata"] == meta


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_numbers_are_refused_and_listings_stay_json(client, key, number):
    body = '{"content": "Precios de temporada", "metadata": {"descuento": %s}}' % number
    _refused(_post(client, "/documents", body, {"X-API-Key": key}), 400, "invalid_json")
    _refused(_post(client, "/documents/search", '{"query": "precios", "k": %s}' % number, {"X-API-Key": key}),
             400, "invalid_json")
    listing = client.get("/documents", headers={"X-API-Key": key})
    assert listing.status_code == 200 and _strict(listing.get_data(as_text=True))["total"] == 0


def test_responses_never_carry_nan(app):
    with app.app_context(), pytest.raises(ValueError):
        app.json.dumps({"score": float("nan")})


def test_an_oversized_header_is_our_json_431(client, key):
    _refused(client.get("/documents", headers={"X-API-Key": key, "X-Padding": "x" * 9000}), 431,
             "request_header_fields_too_large")
    many = {f"X-Pad-{i}": "y" * 4000 for i in range(10)}
    _refused(client.get("/health", headers=many), 431)


def test_the_dev_server_answers_malformed_requests_with_our_json(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=JsonErrorRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        conn.putrequest("GET", "/health")
        conn.putheader("X-Padding", "x" * 70_000)       # past http.server's 64 KB line limit: the app never runs
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 431 and resp.getheader("Content-Type") == "application/json"
        error = _strict(resp.read().decode())["error"]
        assert error["code"] == "request_header_fields_too_large" and error["message"]
    finally:
        server.shutdown()
        thread.join(5)
