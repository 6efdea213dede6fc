"""Data-subject export and erasure: real data made through the real APIs, then every key of the Redis db
checked afterwards; other users and tenants untouched; partial failure answered as such and finished
by a retry."""
import json

import pytest

from app.channels.chatwoot_webhook import set_chatwoot_secrets
from app.privacy import subject_rights
from app.privacy.learning_outbox import LearningOutbox
from app.privacy.placeholder_store import PlaceholderStore
from app.privacy.subject_rights import Section, owns_key
from app.security.principal import Principal
from app.storage.qdrant_store import VectorStore, connect_qdrant
from app.storage.redis_values import read_value

USER = "ana-2024"
LOOKALIKE = "ana-20245"        # contains USER as a substring: must never be matched by it
OTHER = "pedro-9"
PII = ("Laura Gómez", "laura.gomez@example.com", "+57 300 555 0101")
BUILTIN = {"pending_learnings", "consent", "conversation", "bookings", "pii_placeholders", "chatwoot_replies",
           "tenant_vectors", "sessions_and_cache"}
SHARED_INDEXES = {"{alpha}:conversations", "{alpha}:bookings:pending", "{alpha}:meta_outbox"}


def ctx_of(app, company_id="alpha"):
    p = app.extensions["misybot"]
    return p.tenant_context(p.registry.get(company_id), Principal("platform_admin", None))


def say(client, key, user, text):
    r = client.post(f"/conversations/{user}/test", json={"message": text}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def consent(client, key, user, consent_type, granted=True):
    r = client.post("/privacy/consent", json={"user_id": user, "consent_type": consent_type, "granted": granted},
                    headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()


def plant_vector(ctx, user, doc):
    ctx.knowledge.ensure_collection()
    ctx.knowledge.upsert(ctx.knowledge.build_points(doc, "nota", [f"nota de la conversación de {user}"],
                                                    extra_payload={"user_id": user}))


def vector_count(ctx, user):
    return ctx.knowledge.count(user)


def snapshot(r) -> dict:
    """key -> {"type", "value"} of the whole test db (TTL left out: it ticks)."""
    out = {}
    for k in r.scan_iter(count=1000):
        v = read_value(r, k)
        if v is not None:
            out[k] = {"type": v["type"], "value": v["value"]}
    return out


def text_of(key, value) -> str:
    return key + "\n" + json.dumps(value, ensure_ascii=False)


@pytest.fixture
def keys(issue_key):
    return {"chat": issue_key("alpha", ["chat"]), "admin": issue_key("alpha", ["admin"]),
            "beta_chat": issue_key("beta", ["chat"]), "beta_admin": issue_key("beta", ["admin"])}


@pytest.fixture
def world(app, client, keys, redis_client):
    """USER's data in every store of alpha; OTHER, LOOKALIKE and beta's USER beside it."""
    ctx, beta = ctx_of(app), ctx_of(app, "beta")
    vault = app.extensions["misybot"].vault
    chat = keys["chat"]
    # through the real chat API: history, a submitted booking request, a draft, then a handoff
    assert say(client, chat, USER, "quiero agendar una limpieza facial")["agent"] == "schedule"
    say(client, chat, USER, "el viernes a las 4")
    done = say(client, chat, USER, "a nombre de Laura Gómez")
    assert done["booking"]["status"] == "pending" and done["booking"]["name"] == "Laura Gómez"
    say(client, chat, USER, "quiero agendar un bótox")
    assert say(client, chat, USER, "quiero hablar con una persona")["handoff"] is True
    say(client, chat, OTHER, "quiero agendar un bótox")
    say(client, chat, OTHER, "el lunes a las 10")
    assert say(client, chat, OTHER, "a nombre de Pedro Pérez")["booking"]["status"] == "pending"
    r = client.post(f"/conversations/{USER}/test", json={"message": "hola"}, headers={"X-API-Key": keys["beta_chat"]})
    assert r.status_code == 200
    for user, k in ((USER, chat), (OTHER, chat), (USER, keys["beta_chat"])):
        consent(client, k, user, "marketing")
        consent(client, k, user, "global_learning")
    # stores written by other parts of the service
    PlaceholderStore(ctx.keyspace, vault, 3600).save(USER, {"<PERSON_1>": "Laura Gómez", "<EMAIL_1>": PII[1],
                                                            "<PHONE_1>": PII[2]})
    PlaceholderStore(ctx.keyspace, vault, 3600).save(OTHER, {"<PERSON_1>": "Pedro Pérez"})
    outbox = LearningOutbox(ctx.keyspace)
    outbox.push(USER, f"mi correo es {PII[1]}, ¿me envían la cotización?", False, "sales", "es")
    outbox.push(OTHER, "¿tienen parqueadero?", True, "support", "es")
    outbox.push(USER, "¿cuánto dura la limpieza facial?", True, "sales", "es")
    LearningOutbox(beta.keyspace).push(USER, "hola", True, "sales", "es")
    r = redis_client
    r.set(f"{{alpha}}:session:{USER}", json.dumps({"name": "Laura Gómez", "email": PII[1]}, ensure_ascii=False))
    r.set(f"{{alpha}}:lock:draft:{USER}", "tok-1", ex=600)
    r.set(f"{{alpha}}:session:{LOOKALIKE}", json.dumps({"name": "Ana Lookalike"}))
    r.set(f"{{alpha}}:session:{OTHER}", json.dumps({"name": "Pedro Pérez"}))
    r.set(f"{{beta}}:session:{USER}", json.dumps({"name": "Laura Gómez"}, ensure_ascii=False))
    r.hset("{alpha}:cw:out:message_created:555", mapping={"status": "sent", "reply": "Hola Laura Gómez, ya te ayudo",
                                                        "handoff": "", "lang": "es", "user_id": USER})
    r.hset("{alpha}:cw:out:message_created:556", mapping={"status": "sent", "reply": "Hola", "handoff": "",
                                                        "user_id": LOOKALIKE})
    r.hset("{beta}:cw:out:message_created:555", mapping={"status": "sent", "reply": "Hola", "user_id": USER})
    plant_vector(ctx, USER, "mem-ana")
    plant_vector(ctx, OTHER, "mem-pedro")
    plant_vector(beta, USER, "mem-ana-beta")
    return ctx


def test_export_returns_everything_held_about_the_user(client, keys, world):
    r = client.get(f"/privacy/users/{USER}/export", headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["user_id"] == USER and out["company_id"] == "alpha" and out["exported_at"]
    s = out["sections"]
    assert BUILTIN <= set(s)
    conv = s["conversation"]
    assert conv["status"] == "handoff" and conv["last_activity"] and conv["messages"]
    assert conv["messages"][-2]["content"] == "quiero hablar con una persona"
    (booking,) = s["bookings"]["bookings"]
    assert (booking["customer"]["name"], booking["service_name"], booking["customer"]["user_id"]) == (
        "Laura Gómez", "limpieza facial", USER)
    assert s["bookings"]["draft"]["service"] == "toxina botulínica"
    assert set(s["consent"]["consents"]) == {"marketing", "global_learning"} and len(s["consent"]["history"]) == 2
    assert s["pii_placeholders"]["mapping"] == {"<PERSON_1>": "Laura Gómez", "<EMAIL_1>": PII[1], "<PHONE_1>": PII[2]}
    learnings = s["pending_learnings"]
    assert len(learnings) >= 2 and {i["user_id"] for i in learnings} == {USER}
    assert any(PII[1] in i["question"] for i in learnings)
    (reply,) = s["chatwoot_replies"]
    assert reply["key"] == "{alpha}:cw:out:message_created:555" and reply["record"]["reply"].startswith("Hola Laura")
    swept = {k["key"]: k for k in s["sessions_and_cache"]}
    assert set(swept) == {f"{{alpha}}:session:{USER}", f"{{alpha}}:lock:draft:{USER}"}
    assert json.loads(swept[f"{{alpha}}:session:{USER}"]["value"])["name"] == "Laura Gómez"
    assert swept[f"{{alpha}}:lock:draft:{USER}"]["type"] == "string" and swept[f"{{alpha}}:lock:draft:{USER}"]["ttl_ms"] > 0
    (point,) = s["tenant_vectors"]
    assert point["payload"]["user_id"] == USER and point["payload"]["company_id"] == "alpha"
    # nothing of anyone else
    everything = json.dumps(out, ensure_ascii=False)
    assert OTHER not in everything and "Pedro" not in everything and LOOKALIKE not in everything


def test_erasure_leaves_nothing_of_the_user_and_everything_of_the_others(app, client, keys, world, redis_client):
    before = snapshot(redis_client)
    # keys of other users (by name or value) and of the other tenant; the shared indexes are checked apart
    others = {k for k, v in before.items() if k not in SHARED_INDEXES and not k.startswith("misybot:") and (
        k.startswith("{beta}:") or any(m in text_of(k, v["value"]) for m in (OTHER, LOOKALIKE, "Pedro Pérez")))}
    assert f"{{alpha}}:session:{LOOKALIKE}" in others and f"{{beta}}:session:{USER}" in others
    other_booking = next(k for k in others if k.startswith("{alpha}:booking:"))
    beta = ctx_of(app, "beta")

    # another tenant's admin erasing "the same" user erases only in its own tenant
    r = client.delete(f"/privacy/users/{USER}", headers={"X-API-Key": keys["beta_admin"]})
    assert r.status_code == 200 and r.get_json()["receipts"]["tenant_vectors"] == {"deleted_points": 1}
    assert all(redis_client.exists(k) for k in before if k.startswith("{alpha}:"))
    assert vector_count(world, USER) == 1
    assert not any(k.startswith("{beta}:") and USER in text_of(k, v["value"]) for k, v in snapshot(redis_client).items())
    before = snapshot(redis_client)
    others = {k for k in others if not k.startswith("{beta}:")} | {k for k in before if k.startswith("{beta}:")}

    r = client.delete(f"/privacy/users/{USER}", headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["user_id"] == USER and body["erased_at"] and set(body) == {"user_id", "erased_at", "receipts"}
    rc = body["receipts"]
    assert BUILTIN <= set(rc)
    assert rc["conversation"] == {"deleted_keys": 2, "index_entries": 1}             # history + bot_status
    assert rc["bookings"] == {"anonymized_bookings": 0, "deleted_requests": 1, "deleted_keys": 2}   # + draft, index
    assert rc["consent"] == {"deleted_keys": 2}
    assert rc["pii_placeholders"] == {"deleted_keys": 1}
    assert rc["pending_learnings"]["deleted_items"] >= 2
    assert rc["chatwoot_replies"] == {"deleted_keys": 1}
    assert rc["sessions_and_cache"] == {"deleted_keys": 2}
    assert rc["tenant_vectors"] == {"deleted_points": 1}

    after = snapshot(redis_client)
    for k in others:            # other users and tenants: exactly as they were
        assert after.get(k) == before[k], k
    for k, v in after.items():  # everything else: no trace of the user, by name or by value
        if k in others:
            continue
        text = text_of(k, v["value"])
        for needle in (USER, *PII, "Laura"):
            assert needle not in text, (k, needle)
    assert redis_client.zrange("{alpha}:conversations", 0, -1) == [OTHER]
    assert redis_client.zrange("{alpha}:bookings:pending", 0, -1) == [other_booking.rsplit(":", 1)[1]]
    assert [i["user_id"] for i in LearningOutbox(world.keyspace).for_user(OTHER)] == [OTHER]
    assert LearningOutbox(world.keyspace).size() == 1
    assert vector_count(world, USER) == 0 and vector_count(world, OTHER) == 1 and vector_count(beta, USER) == 0
    # the business's own view agrees
    admin = {"X-API-Key": keys["admin"]}
    assert client.get(f"/conversations/{USER}", headers=admin).status_code == 404
    assert client.get(f"/privacy/consent/{USER}", headers=admin).get_json()["consents"] == {}
    pending = client.get("/bookings?status=pending", headers=admin).get_json()["bookings"]
    assert [b["customer"]["name"] for b in pending] == ["Pedro Pérez"]

    again = client.delete(f"/privacy/users/{USER}", headers=admin)
    assert again.status_code == 200
    for name, receipt in again.get_json()["receipts"].items():
        assert all(v == 0 for v in receipt.values()), (name, receipt)
    export = client.get(f"/privacy/users/{USER}/export", headers=admin).get_json()["sections"]
    assert export["conversation"]["messages"] == [] and export["bookings"] == {"draft": None, "bookings": []}
    assert all(not export[n] for n in ("pending_learnings", "chatwoot_replies", "sessions_and_cache",
                                       "tenant_vectors"))


def test_who_may_export_and_erase(client, keys, issue_key, admin_headers):
    for method in ("get", "delete"):
        url = f"/privacy/users/{USER}" + ("/export" if method == "get" else "")
        call = getattr(client, method)
        assert call(url).status_code == 401
        r = call(url, headers={"X-API-Key": keys["chat"]})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "insufficient_permissions"
        writer = issue_key("alpha", ["documents:write", "documents:read", "chat"])
        assert call(url, headers={"X-API-Key": writer}).status_code == 403
        r = call(url, headers={"X-API-Key": keys["admin"], "X-Company-ID": "beta"})
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "tenant_mismatch"
        bad = {"get": "bad%20user!", "delete": "ana%0A"}[method]
        r = call(f"/privacy/users/{bad}" + ("/export" if method == "get" else ""), headers={"X-API-Key": keys["admin"]})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_user_id"
    # a widget session is never enough
    creds = client.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers).get_json()
    w = client.post(f"/v1/widget/session?pk={creds['publishable_key']}", json={},
                    headers={"Origin": "https://alpha.example"}).get_json()
    h = {"Authorization": f"Bearer {w['token']}", "Origin": "https://alpha.example"}
    assert client.delete(f"/privacy/users/web-{w['visitor_id']}", headers=h).status_code in (401, 403)
    assert client.get(f"/privacy/users/web-{w['visitor_id']}/export", headers=h).status_code in (401, 403)
    # the platform admin token is not a tenant key either
    assert client.delete(f"/privacy/users/{USER}", headers=admin_headers).status_code == 401


def test_a_vector_store_failure_is_reported_and_a_retry_finishes(app, client, keys, redis_client):
    p = app.extensions["misybot"]
    ctx = ctx_of(app)
    say(client, keys["chat"], USER, "quiero agendar una limpieza facial")
    consent(client, keys["chat"], USER, "marketing")
    redis_client.set(f"{{alpha}}:session:{USER}", "Laura Gómez")
    plant_vector(ctx, USER, "mem-ana")
    plant_vector(ctx, OTHER, "mem-pedro")

    p.vectors.close()                                   # Qdrant goes away
    r = client.delete(f"/privacy/users/{USER}", headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 503 and r.headers["Retry-After"]
    body = r.get_json()
    assert body["error"]["code"] == "erasure_incomplete" and body["error"]["failed_sections"] == [
        "global_learnings", "tenant_vectors"]
    assert body["failed"]["tenant_vectors"] == {"error": "VectorStoreUnavailable", "retryable": True}
    assert "tenant_vectors" not in body["receipts"] and body["receipts"]["conversation"]["deleted_keys"] == 1
    assert body["receipts"]["bookings"]["deleted_keys"] == 1 and body["receipts"]["consent"]["deleted_keys"] == 2
    assert not any(USER in k for k in redis_client.scan_iter())     # the rest went anyway
    export = client.get(f"/privacy/users/{USER}/export", headers={"X-API-Key": keys["admin"]})
    assert export.status_code == 503 and export.get_json()["error"]["code"] == "vector_store_unavailable"

    p.vectors = VectorStore(connect_qdrant(None, None, p.settings.data_dir))     # ... and comes back
    p.global_knowledge._store = p.vectors
    ctx = ctx_of(app)
    assert vector_count(ctx, USER) == 1
    retry = client.delete(f"/privacy/users/{USER}", headers={"X-API-Key": keys["admin"]})
    assert retry.status_code == 200, retry.get_json()
    assert retry.get_json()["receipts"]["tenant_vectors"] == {"deleted_points": 1}
    assert retry.get_json()["receipts"]["conversation"] == {"deleted_keys": 0, "index_entries": 0}
    assert vector_count(ctx, USER) == 0 and vector_count(ctx, OTHER) == 1


def test_no_collection_means_zero_points(app, client, keys):
    assert not ctx_of(app).knowledge.exists()
    r = client.delete(f"/privacy/users/{USER}", headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 200 and r.get_json()["receipts"]["tenant_vectors"] == {"deleted_points": 0}
    assert client.get(f"/privacy/users/{USER}/export", headers={"X-API-Key": keys["admin"]}).get_json()[
        "sections"]["tenant_vectors"] == []


def test_registered_sections_run_and_a_broken_one_does_not_stop_the_rest(app, client, keys, redis_client):
    held = {USER: ["a learning in the global store"]}

    def extra_section(platform, ctx):
        return Section("extra_store", lambda u: held.get(u, []),
                       lambda u: {"deleted_points": len(held.pop(u, []))})

    def broken_section(platform, ctx):
        def erase(u):
            raise KeyError("a bug")
        return Section("broken", lambda u: None, erase)

    redis_client.set(f"{{alpha}}:session:{USER}", "x")
    subject_rights.EXTRA_SECTIONS.append(extra_section)
    try:
        admin = {"X-API-Key": keys["admin"]}
        names = [s.name for s in subject_rights.user_sections(app.extensions["misybot"], ctx_of(app))]
        assert names[0] == "pending_learnings" and names[-2:] == ["extra_store", "sessions_and_cache"]
        exported = client.get(f"/privacy/users/{USER}/export", headers=admin).get_json()["sections"]
        assert exported["extra_store"] == ["a learning in the global store"]
        assert client.delete(f"/privacy/users/{USER}", headers=admin).get_json()["receipts"][
            "extra_store"] == {"deleted_points": 1}
        subject_rights.EXTRA_SECTIONS.append(broken_section)
        redis_client.set(f"{{alpha}}:session:{USER}", "x")
        r = client.delete(f"/privacy/users/{USER}", headers=admin)
        assert r.status_code == 500 and "Retry-After" not in r.headers
        assert r.get_json()["error"]["code"] == "erasure_incomplete"
        assert r.get_json()["failed"] == {"broken": {"error": "KeyError", "retryable": False}}
        assert r.get_json()["receipts"]["sessions_and_cache"] == {"deleted_keys": 1}
    finally:
        for f in (extra_section, broken_section):
            if f in subject_rights.EXTRA_SECTIONS:
                subject_rights.EXTRA_SECTIONS.remove(f)


@pytest.mark.parametrize("key,user,owned", [
    ("alpha:session:ana", "ana", True),
    ("alpha:session:anabel", "ana", False),
    ("alpha:session:xana", "ana", False),
    ("alpha:draft:ana:step", "ana", True),
    ("alpha:ana", "ana", False),                              # the kind itself is never an id
    ("alpha:lock:conversation:ana", "ana", True),
    ("alpha:lock:conversation:bob", "conversation", False),   # a lock's kind is not an id either
    ("alpha:session:whatsapp:+573001112233", "whatsapp:+573001112233", True),
    ("alpha:session:whatsapp:+5730011122334", "whatsapp:+573001112233", False),
    ("alpha:session:whatsapp", "whatsapp:+573001112233", False),
    ("alpha:bookings:pending", "pending", False),
    ("alpha:chatwoot:secrets", "secrets", False),
    ("alpha:usage:messages:202611", "messages", False),
    ("alpha:document:doc1", "doc1", False),
    ("alpha:cw:out:message_created:555", "555", False),
    ("beta:session:ana", "ana", False),
])
def test_owns_key_matches_whole_segments_only(key, user, owned):
    assert owns_key(key, "alpha:", user) is owned


def test_generic_user_ids_never_take_tenant_keys_along(app, client, keys, redis_client):
    """Users literally named like the tenant's own structures lose only their own keys."""
    chat = keys["chat"]
    say(client, chat, OTHER, "quiero agendar un bótox")
    say(client, chat, OTHER, "el lunes a las 10")
    say(client, chat, OTHER, "a nombre de Pedro Pérez")
    set_chatwoot_secrets(app.extensions["misybot"], ctx_of(app).keyspace, api_token="tok", webhook_secret="s")
    assert client.post("/documents", json={"content": "# Horarios\n\nAbrimos a las 8."},
                       headers={"X-API-Key": keys["admin"]}).status_code == 201
    generic = ("pending", "secrets", "documents", "messages", "conversation", "meta", "meta_outbox", "out")
    for user in generic:
        redis_client.set(f"{{alpha}}:session:{user}", "x")
    before = snapshot(redis_client)
    for user in generic:
        assert client.delete(f"/privacy/users/{user}", headers={"X-API-Key": keys["admin"]}).status_code == 200
    after = snapshot(redis_client)
    gone = {k for k in before if k not in after}
    assert gone == {f"{{alpha}}:session:{u}" for u in generic}
    assert all(after[k] == before[k] for k in after if not k.startswith(("misybot:rl:", "misybot:meta:")))
