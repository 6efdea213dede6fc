"""The browser SDK's files and, in development, a demo page per company.

  GET /sdk/misy.js, /sdk/misy.esm.js, /sdk/misy.d.ts   the latest build (cached one hour, revalidated by ETag)
  GET /sdk/<version>/misy.js …                          one version, cached for a year (immutable): the URL
                                                        to put in a page together with its integrity hash
  GET /sdk/integrity.json                               version, URLs and SRI hashes of the build
  GET /demo/<company_id>                                development only: a page that embeds the snippet
                                                        with the company's publishable key, under a strict CSP

The files are built from sdk/ by scripts/install.sh (`npm ci && npm run build`).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, Field
from spectree import Response as Documented

from app.api.contract import api, query_args
from app.api.errors import ApiError
from app.api.models import ErrorResponse
from app.security.principal import Principal
from app.tenancy.platform_keys import record_ids

bp = Blueprint("sdk", __name__)
SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"
FILES = {"misy.js": "application/javascript", "misy.esm.js": "application/javascript",
         "misy.d.ts": "text/plain"}
LATEST_MAX_AGE_S = 3600
VERSIONED_MAX_AGE_S = 365 * 24 * 3600
FILE_RESPONSES = Documented("HTTP_200", "HTTP_304", HTTP_404=ErrorResponse)
DEMO_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def sdk_version() -> str:
    return json.loads((SDK_DIR / "package.json").read_text())["version"]


VERSION = sdk_version()


class DemoQuery(BaseModel):
    lang: Literal["es", "en"] | None = Field(None, description="the page's language (default: the company's)")


@lru_cache(maxsize=8)
def _integrity(path: str, mtime_ns: int) -> str:
    digest = hashlib.sha384(Path(path).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def integrity(name: str) -> str:
    """The SRI hash of a built file (recomputed when the file changes)."""
    path = _built(name)
    return _integrity(str(path), path.stat().st_mtime_ns)


def _built(name: str) -> Path:
    path = SDK_DIR / "dist" / name
    if name not in FILES or not path.is_file():
        raise ApiError(404, "sdk_not_built" if name in FILES else "not_found",
                       "the SDK is not built here: run scripts/install.sh" if name in FILES else "no such file")
    return path


def _serve(name: str, max_age: int, immutable: bool):
    # The bytes, not send_file's passthrough stream: the contract layer reads every response (and the
    # bundle is small, ~45 KB).
    data = _built(name).read_bytes()
    response = Response(data, mimetype=FILES[name])
    response.set_etag(integrity(name))
    response.make_conditional(request)
    response.headers["Cache-Control"] = f"public, max-age={max_age}" + (", immutable" if immutable else "")
    # The bundle is loaded cross-origin with crossorigin="anonymous" (SRI needs CORS).
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/sdk/<any('misy.js', 'misy.esm.js', 'misy.d.ts', 'integrity.json'):name>")
@api.validate(tags=["sdk"], resp=FILE_RESPONSES)
def latest(name: str):
    """The SDK's latest build (misy.js, misy.esm.js, misy.d.ts) or integrity.json (versions and SRI hashes)"""
    if name == "integrity.json":
        version = VERSION
        return {"version": version, "snippet": snippet(request.host_url.rstrip("/"), version, "pk_live_…"),
                "files": {n: {"url": f"/sdk/{version}/{n}", "integrity": integrity(n)} for n in FILES}}
    return _serve(name, LATEST_MAX_AGE_S, immutable=False)


@bp.get(f"/sdk/<any('{VERSION}'):version>/<any('misy.js', 'misy.esm.js', 'misy.d.ts'):name>")
@api.validate(tags=["sdk"], resp=FILE_RESPONSES)
def versioned(version: str, name: str):
    """One version of the SDK, cached for a year: the URL for a page's script tag, with its integrity hash"""
    return _serve(name, VERSIONED_MAX_AGE_S, immutable=True)


@bp.get("/demo/<company_id>")
@api.validate(query=DemoQuery, tags=["sdk"], resp=Documented("HTTP_200", HTTP_400=ErrorResponse, HTTP_404=ErrorResponse))
def demo(company_id: str):
    """A company's website as a visitor sees it, with the widget (development only)"""
    platform = current_app.extensions["misybot"]
    if platform.settings.environment == "production":
        raise ApiError(404, "not_found", "the demo pages exist in development only")
    config = platform.registry.get(company_id)
    if config is None:
        raise ApiError(404, "unknown_company", "no such company")
    ctx = platform.tenant_context(config, Principal("platform_admin", None))
    keys = record_ids(ctx.keyspace, "pk")
    pk = keys[0] if keys else platform.secrets.issue_publishable(config.company_id, ctx.keyspace)
    version = VERSION
    language = query_args(DemoQuery).lang or config.language
    base = request.host_url.rstrip("/")
    name = html.escape(config.company_name)
    page = f"""<!doctype html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · demo</title>
</head>
<body>
<header><h1>{name}</h1></header>
<main>
<p>{html.escape(config.branding.greeting_message)}</p>
<p>This page embeds Misybot's widget exactly as a company's website would:</p>
<pre>{html.escape(snippet(base, version, pk))}</pre>
</main>
{snippet(base, version, pk, language)}
</body>
</html>
"""
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DEMO_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def snippet(base: str, version: str, pk: str, language: str | None = None) -> str:
    """The one tag a company puts on its site."""
    lang = f' data-language="{language}"' if language else ""
    return (f'<script src="{base}/sdk/{version}/misy.js" integrity="{integrity("misy.js")}" '
            f'crossorigin="anonymous" data-public-key="{html.escape(pk)}"{lang} async></script>')
