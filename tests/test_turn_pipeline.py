"""The one turn pipeline: every channel (test API, widget, Chatwoot) runs every stage, in order, and the
stages do what they say on their own (quota, lock, consent, handoff, learning)."""
import pytest

from app.channels.chatwoot_webhook import RETRY
from app.conversations.pipeline import STAGE_NAMES, Inbound, InvalidTurn, QuotaExceeded, run_pipeline
from app.factory import create_app
from app.security.principal import Principal
from app.security.rate_limits import month_key
from app.workers.chatwoot import QUOTA_NOTE, ChatwootWorker
from tests.chatwoot_fake import message_event, signed
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ORIGIN = "https://alpha.example"
SECRET = "whsec-alpha-0123456789"
QUOTA = 4


@pytest.fixture
def env(cw, make_settings, redis_client, config_file):
    """alpha with a Chatwoot inbox on the local stand-in and a small monthly quota."""
    text = config_file.read_text().replace(
        "    chatwoot: {account_id: 101}",
        f"    chatwoot: {{account_id: 101, base_url: '{cw.url}'}}")
    text = text.replace("limits: {max_documents: 5, storage_limit_mb: 0.05}",
                        f"limits: {{max_documents: 5, storage_limit_mb: 0.05, monthly_messages: {QUOTA}}}")
    config_file.write_text(text)
    app = create_app(make_settings())
    c = app.test_client()
    assert c.put("/admin/companies/alpha/chatwoot", headers=ADMIN, json={
        "api_token": "token-alpha", "webhook_secret": SECRET}).status_code == 200
    creds = c.post("/admin/companies/alpha/credentials", json={}, headers=ADMIN).get_json()
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    c.post("/documents", json={"content": "## Bótox\n- Precio: $850.000 COP por tres zonas"},
           headers={"X-API-Key": key})
    turns = []
    app.extensions["misybot"].turn_observers.append(turns.append)
    yield app, c, key, creds, turns
    app.extensions["misybot"].vectors.close()


def _used(app) -> int:
    return int(app.extensions["misybot"].redis.get(f"{{alpha}}:usage:messages:{month_key()}") or 0)


def _via_api(c, key, text="¿cuánto vale el bótox?"):
    return c.post("/conversations/u-api/test", json={"message": text, "channel": "web"}, headers={"X-API-Key": key})


def _via_widget(c, creds, text="¿cuánto vale el bótox?"):
    pk = creds["publishable_key"]
    token = c.post(f"/v1/widget/session?pk={pk}", json={}, headers={"Origin": ORIGIN}).get_json()["token"]
    return c.post(f"/v1/widget/messages?pk={pk}", json={"message": text},
                  headers={"Origin": ORIGIN, "Authorization": f"Bearer {token}"})


def _via_chatwoot(c, app, msg_id, text="¿cuánto vale el bótox?"):
    raw, headers = signed(SECRET, message_event(msg_id, content=text))
    assert c.post("/webhook/chatwoot", data=raw, headers=headers).get_json()["status"] == "queued"
    ChatwootWorker(app.extensions["misybot"]).run_once()


def test_every_channel_runs_every_stage_in_order_and_counts_the_quota(env, cw):
    app, c, key, creds, turns = env
    assert _via_api(c, key).status_code == 200
    assert _via_widget(c, creds).status_code == 200
    _via_chatwoot(c, app, 5001)
    assert [t.inbound.source for t in turns] == ["api", "widget", "chatwoot"]
    for turn in turns:
        assert tuple(name for name, _ in turn.trace) == STAGE_NAMES
        assert turn.agent == "sales" and "850.000" in turn.reply
    # The Chatwoot reply went out through the deliver stage, formatted for WhatsApp.
    sent = cw.messages(101, 5)
    assert len(sent) == 1 and "850.000" in sent[0]["content"] and "**" not in sent[0]["content"]
    assert _used(app) == 3                       # one message per channel, Chatwoot included


def test_a_chatwoot_message_past_the_quota_is_not_answered_and_a_person_is_told(env, cw):
    app, c, key, creds, turns = env
    for _ in range(QUOTA):
        assert _via_api(c, key).status_code == 200
    r = _via_api(c, key)
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "monthly_quota_exceeded"
    assert int(r.headers["Retry-After"]) > 0
    assert _via_widget(c, creds).status_code == 429
    _via_chatwoot(c, app, 5002)
    assert cw.messages(101, 5, private=False) == []                   # no bot answer
    assert [m["content"] for m in cw.messages(101, 5, private=True)] == [QUOTA_NOTE]
    assert cw.toggles(101, 5) == ["open"]
    assert _used(app) == QUOTA and len(turns) == QUOTA
    # A refused turn stores nothing.
    ctx = app.extensions["misybot"].tenant_context(app.extensions["misybot"].registry.get("alpha"),
                                                    Principal("platform_admin", None))
    assert not ctx.conversations.exists("cw-101-5")


def _ctx(app):
    p = app.extensions["misybot"]
    return p, p.tenant_context(p.registry.get("alpha"), Principal("api_key", "alpha", frozenset({"chat"})))


def test_resolve_refuses_a_bad_user_channel_or_message_before_counting(env):
    app = env[0]
    p, ctx = _ctx(app)
    for inbound, code in [(Inbound("bad id!", "hola", "web", "api"), "invalid_user_id"),
                          (Inbound("u1", "hola", "telegram", "api"), "invalid_channel"),
                          (Inbound("u1", "   ", "web", "api"), "invalid_message"),
                          (Inbound("u1", "x" * 4001, "web", "api"), "invalid_message")]:
        with pytest.raises(InvalidTurn) as err:
            run_pipeline(p, ctx, inbound)
        assert err.value.code == code
    assert _used(app) == 0


def test_a_conversation_with_a_person_keeps_the_message_and_the_bot_stays_quiet(env):
    app, _, _, _, turns = env
    p, ctx = _ctx(app)
    ctx.conversations.hand_off("u2", "human_takeover")
    delivered = []
    result = run_pipeline(p, ctx, Inbound("u2", "¿me atienden?", "web", "api"), delivered.append)
    assert result.bot_response == "" and result.agent == "human" and result.handoff
    assert [m["content"] for m in ctx.conversations.history("u2")] == ["¿me atienden?"]
    assert delivered and delivered[0].reply == ""          # deliver still runs; it has nothing to send
    assert tuple(n for n, _ in turns[-1].trace) == STAGE_NAMES and _used(app) == 1


def test_revoked_processing_consent_keeps_nothing_and_an_emergency_hands_off(env):
    app = env[0]
    p, ctx = _ctx(app)
    ctx.consent.record("u3", "data_processing", False, "web")
    out = run_pipeline(p, ctx, Inbound("u3", "¿cuánto vale el bótox?", "web", "api"))
    assert "850.000" in out.bot_response and not ctx.conversations.exists("u3")
    out = run_pipeline(p, ctx, Inbound("u4", "me puse bótox ayer y ahora veo borroso y no puedo tragar", "web", "api"))
    assert out.agent == "emergency" and out.handoff
    assert ctx.conversations.status("u4").handed_off


def test_quota_is_counted_once_per_message_even_when_delivery_is_retried(env, cw):
    app, c, *_ = env
    cw.fail_next = 1                  # Chatwoot answers 500 to the first post: the job is retried
    _via_chatwoot(c, app, 5003)
    assert cw.messages(101, 5) == [] and _used(app) == 1
    r = app.extensions["misybot"].redis
    for job in r.zrange(RETRY, 0, -1):
        r.zadd(RETRY, {job: 0})       # due now
    ChatwootWorker(app.extensions["misybot"]).run_once()
    assert len(cw.messages(101, 5)) == 1 and _used(app) == 1
    ctx = _ctx(app)[1]
    assert len(ctx.conversations.history("cw-101-5")) == 2     # the turn ran once


def test_quota_exceeded_is_a_turn_refusal_with_retry_after():
    exc = QuotaExceeded("used up", {"Retry-After": "10"})
    assert exc.status == 429 and exc.code == "monthly_quota_exceeded" and exc.headers["Retry-After"] == "10"


def test_the_test_api_refuses_a_bad_user_id_through_the_pipeline(env):
    app, c, key, *_ = env
    r = c.post("/conversations/bad%20id!/test", json={"message": "hola"}, headers={"X-API-Key": key})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_user_id"
    assert _used(app) == 0
