"""The website widget in a real browser: the demo page served by the running service, the built SDK
(sdk/dist/misy.js) under the page's strict CSP, and real turns through the pipeline (issue 14).

Selectors are the SDK's documented hooks ([data-misy=…], sdk/README.md); Playwright's CSS locators
pierce the widget's open shadow root (#misy-widget). Every test also fails on console errors, uncaught
page errors and CSP violations (tests/browser/conftest.py).
"""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS

PRICE_QUESTION = "¿cuánto cuesta el bótox?"

# Truthy (performance.now(), ms since navigation start) once the widget can be used: the launcher is on
# screen and the config + session have loaded.
USABLE = """() => {
  const session = window.misy && window.misy.getSession();
  const host = document.getElementById('misy-widget');
  const launcher = host && host.shadowRoot && host.shadowRoot.querySelector('[data-misy=launcher]');
  const shown = launcher && launcher.getBoundingClientRect().width > 0 && getComputedStyle(launcher).visibility !== 'hidden';
  return session && shown ? performance.now() : null;
}"""


def w(page, name: str, extra: str = ""):
    """A widget element by its data-misy hook."""
    return page.locator(f"[data-misy={name}]{extra}")


def bot_messages(page):
    return w(page, "msg", "[data-role=bot]")


def user_messages(page):
    return w(page, "msg", "[data-role=user]")


def open_demo(page, url: str) -> float:
    """Loads the demo page and waits until the widget is usable; returns that time in ms."""
    page.goto(url)
    return page.wait_for_function(USABLE, timeout=TIMEOUT_MS).json_value()


def ask(page, text: str) -> None:
    w(page, "input").fill(text)
    w(page, "send").click()


def session(page) -> dict:
    s = page.evaluate("() => window.misy.getSession()")
    assert s and s["visitorId"].startswith("v_"), s
    return s


def test_a_visitor_asks_for_a_price_and_gets_it(live, visitor, artifacts):
    page, _ = visitor
    started = time.monotonic()
    usable_ms = open_demo(page, live.demo_url())
    print(f"\nwidget usable {usable_ms:.0f} ms after navigation start "
          f"({(time.monotonic() - started) * 1000:.0f} ms wall clock incl. page.goto)")
    assert usable_ms < 5000

    launcher = w(page, "launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(w(page, "panel")).to_be_hidden()
    launcher.click()
    expect(w(page, "panel")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(bot_messages(page).first).to_contain_text("¿En qué te puedo ayudar?")      # the greeting

    ask(page, PRICE_QUESTION)
    expect(user_messages(page).last).to_contain_text(PRICE_QUESTION)
    answer = bot_messages(page).last
    expect(answer).to_contain_text("850.000")
    expect(user_messages(page).last).to_have_attribute("data-state", "sent")
    expect(bot_messages(page)).to_have_count(2)             # greeting + the answer, shown once (POST + SSE)
    expect(w(page, "typing")).to_be_hidden()
    expect(w(page, "notice")).to_be_hidden()
    page.screenshot(path=str(artifacts / "widget-open.png"))


def test_a_reload_shows_the_history_and_a_new_visitor_sees_none_of_it(live, new_context):
    context, _ = new_context()
    page = context.new_page()
    open_demo(page, live.demo_url())
    w(page, "launcher").click()
    ask(page, PRICE_QUESTION)
    expect(bot_messages(page).last).to_contain_text("850.000")
    first = session(page)

    page.reload()
    page.wait_for_function(USABLE, timeout=TIMEOUT_MS)
    assert session(page)["visitorId"] == first["visitorId"]
    w(page, "launcher").click()
    expect(user_messages(page)).to_have_count(1)
    expect(user_messages(page).first).to_contain_text(PRICE_QUESTION)
    expect(bot_messages(page)).to_have_count(1)             # the answer from history; no greeting on top
    expect(bot_messages(page).first).to_contain_text("850.000")

    other_context, _ = new_context()
    other = other_context.new_page()
    open_demo(other, live.demo_url())
    assert session(other)["visitorId"] != first["visitorId"]
    w(other, "launcher").click()
    expect(bot_messages(other)).to_have_count(1)
    expect(bot_messages(other).first).to_contain_text("¿En qué te puedo ayudar?")
    expect(user_messages(other)).to_have_count(0)
    expect(w(other, "log")).not_to_contain_text("850.000")
    expect(w(other, "log")).not_to_contain_text(PRICE_QUESTION)


def test_a_page_on_an_origin_that_is_not_allowed_gets_no_session_and_says_why(live, visitor):
    page, _ = visitor
    widget_calls: list[tuple[str, str]] = []
    page.on("request", lambda r: "/v1/widget/" in r.url and widget_calls.append((r.method, r.url)))
    sessions: list[int] = []
    page.on("response", lambda r: "/v1/widget/session" in r.url and sessions.append(r.status))

    page.goto(live.demo_url(host="localhost"))
    notice = w(page, "notice")
    w(page, "launcher").click()
    expect(notice).to_be_visible()
    expect(notice).to_have_text("Este sitio no está autorizado para usar el chat de Clínica Alpha.")
    text = notice.inner_text()
    assert "{" not in text and "origin_not_allowed" not in text and "error" not in text.lower()
    expect(w(page, "input")).to_be_disabled()
    expect(w(page, "send")).to_be_disabled()
    assert page.evaluate("() => window.misy.getSession()") is None
    assert not [s for s in sessions if s == 200], sessions
    assert not any(method == "POST" and "/v1/widget/session" in url for method, url in widget_calls), widget_calls
    assert [m for m, u in widget_calls] == ["GET"] and "/v1/widget/config" in widget_calls[0][1], widget_calls


def test_a_reply_with_markup_is_shown_as_text(live, visitor):
    page, _ = visitor
    open_demo(page, live.demo_url())
    w(page, "launcher").click()
    ask(page, "¿tienen parqueadero?")
    answer = bot_messages(page).last
    expect(answer).to_contain_text("Parqueadero gratuito")
    expect(answer).to_contain_text("<script>window.__pwned = 1</script>")
    expect(answer).to_contain_text('<img src=x onerror="window.__pwned=2">')
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    counts = page.evaluate("""() => {
      const log = document.getElementById('misy-widget').shadowRoot.querySelector('[data-misy=log]');
      return {script: log.querySelectorAll('script').length, img: log.querySelectorAll('img').length,
              handlers: Array.from(log.querySelectorAll('*')).filter(
                el => el.getAttributeNames().some(n => n.startsWith('on'))).length};
    }""")
    assert counts == {"script": 0, "img": 0, "handlers": 0}, counts
    assert page.evaluate("() => typeof window.__pwned") == "undefined"


def test_a_message_sent_while_the_network_is_down_is_delivered_once(live, visitor):
    page, problems = visitor
    problems.expect_console_error("net::ERR_FAILED")             # the aborted requests, by design
    open_demo(page, live.demo_url())
    visitor_id = session(page)["visitorId"]
    w(page, "launcher").click()

    mode = {"now": "offline", "lost": 0, "aborted": 0}

    def network(route):
        if mode["now"] == "lose_response":
            # The request reaches the server (the turn runs) but the answer never reaches the page.
            route.fetch()
            mode["lost"] += 1
            mode["now"] = "offline"
        else:
            mode["aborted"] += 1
        route.abort()

    page.route("**/v1/widget/messages*", network)
    text = "¿cuánto dura el efecto del bótox?"
    ask(page, text)
    mine = user_messages(page).last
    expect(mine).to_contain_text(text)
    expect(mine).to_have_attribute("data-state", re.compile("^(queued|failed)$"))
    expect(w(page, "notice")).to_contain_text("Sin conexión")
    assert mode["aborted"] >= 1
    assert live.api().get(f"/conversations/web-{visitor_id}", headers={"X-API-Key": live.api_key}).status_code == 404

    # Next attempt: processed by the server, but its response is lost; the SDK must retry with the
    # same Idempotency-Key and get the same answer, not a second turn.
    mode["now"] = "lose_response"
    page.wait_for_event("requestfailed", predicate=lambda r: "/v1/widget/messages" in r.url and mode["lost"] == 1,
                        timeout=TIMEOUT_MS)
    expect(mine).to_have_attribute("data-state", re.compile("^(queued|failed)$"))
    page.unroute("**/v1/widget/messages*", network)

    expect(mine).to_have_attribute("data-state", "sent")
    expect(bot_messages(page).last).to_contain_text("4 a 6 meses")
    expect(w(page, "notice")).to_be_hidden()
    expect(user_messages(page)).to_have_count(1)
    expect(bot_messages(page)).to_have_count(2)             # greeting + one answer, not two

    history = live.conversation(visitor_id)["messages"]
    assert [m["content"] for m in history if m["role"] == "user"] == [text], history
    assert len([m for m in history if m["role"] != "user"]) == 1, history




def test_a_handoff_and_its_release_reach_the_open_page(live, visitor):
    page, _ = visitor
    open_demo(page, live.demo_url())
    visitor_id = session(page)["visitorId"]
    w(page, "launcher").click()
    status = w(page, "status")
    expect(status).to_have_attribute("data-status", "bot")
    expect(status).to_have_text("Asistente virtual")

    ask(page, "quiero hablar con una persona")
    expect(bot_messages(page).last).to_contain_text("te comunico con una persona")
    expect(status).to_have_attribute("data-status", "human")
    expect(status).to_have_text("Te atiende una persona")
    assert live.conversation(visitor_id)["status"] != "active"

    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    assert live.release(visitor_id)["released"] is True
    expect(status).to_have_attribute("data-status", "bot")          # through the SSE stream
    expect(status).to_have_text("Asistente virtual")
    expect(w(page, "system").last).to_have_text("El asistente virtual vuelve a atenderte.")
    assert navigations == []
    assert page.evaluate("() => window.misy.getSession().status") == "bot"


def test_the_widget_works_with_the_keyboard_alone(live, visitor):
    page, _ = visitor
    open_demo(page, live.demo_url())
    launcher, panel, field = w(page, "launcher"), w(page, "panel"), w(page, "input")
    expect(w(page, "log")).to_have_attribute("aria-live", "polite")
    expect(w(page, "log")).to_have_attribute("role", "log")

    page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(field).to_be_focused()

    page.keyboard.type(PRICE_QUESTION)
    page.keyboard.press("Enter")
    expect(user_messages(page).last).to_contain_text(PRICE_QUESTION)
    expect(bot_messages(page).last).to_contain_text("850.000")
    expect(field).to_have_value("")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")                 # and it opens again from there
    expect(panel).to_be_visible()
    expect(field).to_be_focused()


def test_a_booking_still_being_collected_shows_no_appointment_card(live, visitor):
    page, _ = visitor
    open_demo(page, live.demo_url())
    w(page, "launcher").click()
    ask(page, "quiero agendar una cita")
    expect(bot_messages(page).last).to_contain_text("¿Qué servicio te gustaría agendar?")
    # the reply carries booking {"status": "collecting", "service": null, ...}: nothing is booked yet
    expect(w(page, "booking")).to_have_count(0)
    expect(w(page, "log")).not_to_contain_text("Cita confirmada")
