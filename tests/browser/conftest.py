"""Browser tests of the website widget: the real service on a local port, the real SDK bundle
(sdk/dist/misy.js, served by the service), a real headless Chromium driven by Playwright.

  live         the service (function scope: a fresh app, Redis database and Qdrant per test) with alpha's
               knowledge documents, a publishable key and an API key
  browser      one headless Chromium for the session (/usr/bin/chromium; missing means FAIL, not skip)
  new_context  opens browser contexts (each a new visitor, its own localStorage) whose console errors,
               page errors and CSP violations are collected and asserted empty at teardown
  visitor      (page, problems) in one such context
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 10_000

PRICE_DOC = ("## Toxina botulínica (bótox)\n"
             "- Precio: $850.000 COP por tres zonas (frente, entrecejo y patas de gallo).\n"
             "- Duración del procedimiento: 30 minutos. El efecto dura de 4 a 6 meses.\n")
MARKUP_DOC = ("## Política <script>window.__pwned = 1</script> <img src=x onerror=\"window.__pwned=2\"> de parqueadero\n"
              "- Parqueadero gratuito para pacientes durante la cita, en el sótano del edificio.\n"
              "- El parqueadero abre de lunes a sábado, de 7:00 a 19:00.\n")


@dataclass
class Live:
    """The running service, the credentials the tests need, and an API client on the same app."""
    app: object
    port: int
    pk: str
    api_key: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def demo_url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/demo/alpha"

    def api(self):
        return self.app.test_client()

    def conversation(self, visitor_id: str) -> dict:
        r = self.api().get(f"/conversations/web-{visitor_id}", headers={"X-API-Key": self.api_key})
        assert r.status_code == 200, (r.status_code, r.get_json())
        return r.get_json()

    def release(self, visitor_id: str) -> dict:
        r = self.api().post(f"/conversations/web-{visitor_id}/release", headers={"X-API-Key": self.api_key})
        assert r.status_code == 200, (r.status_code, r.get_json())
        return r.get_json()


@pytest.fixture
def live(make_settings, redis_client, admin_headers):
    # Bind first (port 0: the OS picks a free one, no race), then build the app whose dev origin names it.
    server = make_server("127.0.0.1", 0, lambda environ, start: [], threaded=True)
    port = server.server_port
    application = create_app(make_settings(widget_dev_origins=f"http://127.0.0.1:{port}", widget_stream_s=20,
                                           port=port))
    server.app = application
    thread = threading.Thread(target=server.serve_forever, name=f"live-{port}", daemon=True)
    thread.start()
    try:
        c = application.test_client()
        creds = c.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers)
        assert creds.status_code in (200, 201), creds.get_json()
        key = c.post("/admin/companies/alpha/api-keys", json={}, headers=admin_headers)
        assert key.status_code == 201, key.get_json()
        api_key = key.get_json()["api_key"]
        for title, content in (("Toxina botulínica", PRICE_DOC), ("Política de parqueadero", MARKUP_DOC)):
            r = c.post("/documents", json={"content": content, "title": title}, headers={"X-API-Key": api_key})
            assert r.status_code == 201, r.get_json()
        yield Live(application, port, creds.get_json()["publishable_key"], api_key)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        application.extensions["misybot"].vectors.close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: the browser tests need it (`scripts/install.sh --dev` "
                    "installs Debian's chromium package)", pytrace=False)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            pytest.fail(f"Chromium at {CHROMIUM} would not start: {exc}", pytrace=False)
        yield chromium
        chromium.close()


class Problems:
    """Console errors, uncaught page errors and CSP violations seen by one page."""

    def __init__(self):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.csp: list[str] = []
        self.allowed: list[str] = []        # substrings of console errors a test expects (e.g. aborted requests)

    def expect_console_error(self, fragment: str) -> None:
        self.allowed.append(fragment)

    def on_console(self, msg) -> None:
        text = msg.text
        if "Content Security Policy" in text:
            self.csp.append(text)
        if msg.type == "error":
            where = (msg.location or {}).get("url", "")
            # The demo page has no icon; Chromium asks for one anyway. Not the widget's business.
            if where.endswith("/favicon.ico") and "404" in text:
                return
            self.console_errors.append(f"{text} ({where})" if where else text)

    def unexpected(self) -> list[str]:
        return [e for e in self.console_errors
                if "Content Security Policy" in e or not any(a in e for a in self.allowed)]

    def check(self) -> None:
        assert not self.csp, f"CSP violations: {self.csp}"
        assert not self.page_errors, f"uncaught page errors: {self.page_errors}"
        assert not self.unexpected(), f"console errors: {self.unexpected()}"


# Reported on the console (which Problems reads) as well, with the directive and what was blocked: an init
# script runs before the page's own scripts and is not subject to the page's CSP.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('Content Security Policy violation: ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline')
                + ' at ' + (e.sourceFile || '?') + ':' + e.lineNumber);
}, true);
"""


def _watch(context, problems: Problems):
    context.add_init_script(CSP_LISTENER)

    def on_page(page):
        page.on("console", problems.on_console)
        page.on("pageerror", lambda exc: problems.page_errors.append(f"{exc.name}: {exc.message}"))
        page.set_default_timeout(TIMEOUT_MS)
    context.on("page", on_page)


@pytest.fixture
def new_context(browser):
    """Opens browser contexts (each one a separate visitor: its own localStorage) that are watched
    for console errors, page errors and CSP violations; all are checked at teardown."""
    from playwright.sync_api import expect
    expect.set_options(timeout=TIMEOUT_MS)
    opened: list[tuple[object, Problems]] = []

    def make(**kwargs):
        context = browser.new_context(locale="es-CO", **kwargs)
        problems = Problems()
        _watch(context, problems)
        opened.append((context, problems))
        return context, problems

    yield make
    for context, _ in opened:
        context.close()
    for _, problems in opened:
        problems.check()


@pytest.fixture
def visitor(new_context):
    """(page, problems) for a new visitor."""
    context, problems = new_context()
    return context.new_page(), problems


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
