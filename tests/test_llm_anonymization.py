"""Placeholders instead of personal data on the way to an external LLM (app/privacy/llm_guard.py), end
to end: real Flask app, real Redis (conftest), embedded Qdrant, the real ChatOpenAI client against the
local OpenAI-compatible server of tests/fake_openai.py, and the real Presidio engine.

Tenant alpha has `ai.provider: openai` and `privacy.anonymize_llm` as each test asks (default true).
"""
from __future__ import annotations

import json

import pytest

from app.factory import create_app
from app.security.principal import Principal
from tests.fake_openai import FakeOpenAI

NAME, PHONE, CEDULA = "María Gómez", "300 123 4567", "1.020.345.678"
# Routed to sales with low confidence: the optional LLM router is consulted too (and must see placeholders).
FIRST_MESSAGE = f"¿Cuánto vale el bótox? Soy {NAME}, cédula {CEDULA}, cel {PHONE}"
MASKED_FIRST = "¿Cuánto vale el bótox? Soy <PERSON_1>, cédula <CO_CEDULA_1>, cel <PHONE_NUMBER_1>"
REPLY = "Hola <PERSON_1>, te llamamos al <PHONE_NUMBER_1> [1]"
DOCUMENT = ("## Toxina botulínica (bótox)\n- Precio: $850.000 COP por tres zonas\n- Duración: 30 minutos\n"
            "- Resultados visibles entre 3 y 7 días")
TTL_S = 2 * 3600        # alpha's memory.ttl_hours

COMPANIES = """# Test tenants for LLM anonymization (written per test).
companies:
  - company_id: alpha
    company_name: Clínica Alpha
    redis_prefix: "alpha:"
    vectorstore_index: alpha_documents
    language: es
    timezone: America/Bogota
    industry: medicina estética
    services: Toxina botulínica, rellenos y limpieza facial
    sales_agent_name: Ana, de Alpha
    service_durations: {{toxina botulínica: 30, limpieza facial: 60}}
    memory: {{max_messages: 6, ttl_hours: 2}}
    limits: {{max_documents: 5, storage_limit_mb: 0.05}}
    allowed_origins: ["https://alpha.example"]
    chatwoot: {{account_id: 101}}
    ai: {{provider: openai, model: test-model}}
    privacy: {{anonymize_llm: {anonymize}}}

  - company_id: beta
    company_name: Spa Beta
    redis_prefix: "beta:"
    vectorstore_index: beta_documents
    language: es
    timezone: America/Mexico_City
    industry: spa
    services: Masajes y faciales
    sales_agent_name: Bea, de Beta
    service_durations: {{masaje relajante: 60, facial hidratante: 45}}
    allowed_origins: ["https://beta.example"]
    chatwoot: {{account_id: 102}}
"""


# -- fixtures: these override conftest's config_file and app -----------------------------------------
@pytest.fixture
def anonymize_llm() -> bool:
    return True


@pytest.fixture
def embeddings_model() -> str | None:
    return None          # the offline embedder: retrieval stays on this machine


@pytest.fixture
def config_file(tmp_path, anonymize_llm):
    path = tmp_path / "companies_config.yaml"
    path.write_text(COMPANIES.format(anonymize="true" if anonymize_llm else "false"), encoding="utf-8")
    return path


@pytest.fixture
def llm_server():
    server = FakeOpenAI()
    server.chat_reply = REPLY
    yield server
    server.close()


@pytest.fixture
def app(make_settings, redis_client, llm_server, embeddings_model):
    application = create_app(make_settings(openai_base_url=llm_server.url, openai_api_key="sk-test",
                                           llm_timeout_s=10.0, embeddings_model=embeddings_model))
    yield application
    application.extensions["misybot"].vectors.close()


@pytest.fixture
def key(client, issue_key):
    """A key of alpha with every permission, after alpha's knowledge base got one document."""
    api_key = issue_key("alpha")
    r = client.post("/documents", json={"title": "Precios", "content": DOCUMENT}, headers={"X-API-Key": api_key})
    assert r.status_code == 201, r.get_json()
    return api_key


# -- helpers ------------------------------------------------------------------------------------------
def chat(client, key, user_id, message):
    r = client.post(f"/conversations/{user_id}/test", json={"message": message}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def completions(server, since=0):
    return [r["body"] for r in server.requests[since:] if r["path"] == "/v1/chat/completions"]


def answer_call(server, since=0) -> dict:
    """The grounded-answer request of a turn (the router's optional request carries tools)."""
    calls = [b for b in completions(server, since) if "tools" not in b]
    assert len(calls) == 1, calls
    return calls[0]


def sent(server, since=0) -> str:
    """Everything this app sent to the model server since `since`, as one string."""
    return "\n".join(json.dumps(r["body"], ensure_ascii=False) for r in server.requests[since:])


def question(call: dict) -> str:
    return call["messages"][-1]["content"].split("Pregunta del cliente:", 1)[1].strip()


def pii_map_key(user_id):
    return f"{{alpha}}:pii_map:{user_id}"


def alpha_ctx(app):
    p = app.extensions["misybot"]
    return p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None))


def stored_mapping(app, user_id) -> dict:
    return alpha_ctx(app).placeholders.load(user_id)


# -- anonymize_llm: true --------------------------------------------------------------------------------
def test_the_llm_sees_placeholders_and_the_customer_sees_the_values(client, key, llm_server):
    out = chat(client, key, "ana-1", FIRST_MESSAGE)

    assert out["agent"] in ("sales", "support") and out["sources"], out
    everything = sent(llm_server)
    for value in (NAME, PHONE, CEDULA, "María", "Gómez", "3001234567"):
        assert value not in everything, value
    call = answer_call(llm_server)
    assert question(call) == MASKED_FIRST
    router_calls = [b for b in completions(llm_server) if "tools" in b]
    assert router_calls and "<PERSON_1>" in router_calls[0]["messages"][-1]["content"]
    assert "$850.000 COP" in call["messages"][-1]["content"]          # the passages go unchanged

    assert out["bot_response"] == f"Hola {NAME}, te llamamos al {PHONE} [1]"
    # The tenant's own memory keeps what the customer wrote and what the customer was shown.
    history = client.get("/conversations/ana-1", headers={"X-API-Key": key}).get_json()["messages"]
    assert [t["content"] for t in history] == [FIRST_MESSAGE, out["bot_response"]]


def test_a_second_turn_reuses_the_conversations_placeholders(app, client, key, llm_server, redis_client):
    chat(client, key, "ana-2", FIRST_MESSAGE)
    raw = redis_client.get(pii_map_key("ana-2"))
    assert raw, "the mapping is stored"
    for value in (NAME, PHONE, CEDULA, "María", "Gómez", "<PERSON_1>"):
        assert value not in raw, value                      # encrypted at rest
    assert 0 < redis_client.ttl(pii_map_key("ana-2")) <= TTL_S
    assert stored_mapping(app, "ana-2") == {"<PERSON_1>": NAME, "<PHONE_NUMBER_1>": PHONE, "<CO_CEDULA_1>": CEDULA}

    before = len(llm_server.requests)
    llm_server.chat_reply = "Claro, <PERSON_1>: para <PERSON_2> también son $850.000 COP [1]"
    out = chat(client, key, "ana-2", f"Mi hermana Laura Pérez también pregunta: ¿cuánto cuesta el bótox para "
                                     f"ella? Soy {NAME}")

    everything = sent(llm_server, before)
    for value in (NAME, PHONE, CEDULA, "Laura Pérez", "Laura"):
        assert value not in everything, value
    call = answer_call(llm_server, before)
    assert question(call) == ("Mi hermana <PERSON_2> también pregunta: ¿cuánto cuesta el bótox para ella? "
                              "Soy <PERSON_1>")
    # The previous turn reaches the model in the same placeholders.
    earlier = [m["content"] for m in call["messages"][1:-1]]
    assert earlier[0] == MASKED_FIRST
    assert earlier[1] == "Hola <PERSON_1>, te llamamos al <PHONE_NUMBER_1> [1]"
    assert out["bot_response"] == f"Claro, {NAME}: para Laura Pérez también son $850.000 COP [1]"

    assert stored_mapping(app, "ana-2") == {"<PERSON_1>": NAME, "<PHONE_NUMBER_1>": PHONE,
                                            "<CO_CEDULA_1>": CEDULA, "<PERSON_2>": "Laura Pérez"}
    raw = redis_client.get(pii_map_key("ana-2"))
    assert "Laura" not in raw and 0 < redis_client.ttl(pii_map_key("ana-2")) <= TTL_S


def test_the_mapping_is_read_back_from_redis(app, client, key, llm_server):
    """Not rebuilt from the history: a conversation with no history still gets its stored numbers."""
    alpha_ctx(app).placeholders.save("ana-3", {"<PERSON_1>": "Laura Pérez", "<PERSON_2>": NAME})
    llm_server.chat_reply = "Hola <PERSON_2> [1]"
    out = chat(client, key, "ana-3", f"Hola, soy {NAME}, ¿cuánto vale el bótox?")
    assert question(answer_call(llm_server)) == "Hola, soy <PERSON_2>, ¿cuánto vale el bótox?"
    assert out["bot_response"] == f"Hola {NAME} [1]"


def test_mappings_are_per_conversation(app, client, key, llm_server, redis_client):
    chat(client, key, "ana-4", FIRST_MESSAGE)
    before = len(llm_server.requests)
    llm_server.chat_reply = "Hola <PERSON_1> [1]"
    out = chat(client, key, "luis-5", "Hola, me llamo Luis Ortega, ¿cuánto vale el bótox?")
    assert question(answer_call(llm_server, before)) == "Hola, me llamo <PERSON_1>, ¿cuánto vale el bótox?"
    assert out["bot_response"] == "Hola Luis Ortega [1]"
    assert stored_mapping(app, "luis-5") == {"<PERSON_1>": "Luis Ortega"}
    assert stored_mapping(app, "ana-4")["<PERSON_1>"] == NAME


def test_restored_values_in_the_history_are_masked_again(client, key, llm_server):
    llm_server.chat_reply = "Anotado: <CO_CEDULA_1> [1]"
    out = chat(client, key, "ana-6", FIRST_MESSAGE)
    assert out["bot_response"] == f"Anotado: {CEDULA} [1]"
    before = len(llm_server.requests)
    chat(client, key, "ana-6", "¿y cuánto dura el efecto del bótox?")
    assert CEDULA not in sent(llm_server, before)


@pytest.mark.parametrize("embeddings_model", ["test-embeddings"])
def test_with_external_embeddings_the_search_query_is_masked_too(client, key, llm_server):
    before = len(llm_server.requests)
    out = chat(client, key, "ana-7", FIRST_MESSAGE)
    assert out["bot_response"] == f"Hola {NAME}, te llamamos al {PHONE} [1]"
    everything = sent(llm_server, before)
    assert NAME not in everything and PHONE not in everything and CEDULA not in everything


# -- anonymize_llm: false -------------------------------------------------------------------------------
@pytest.mark.parametrize("anonymize_llm", [False])
def test_a_user_who_revoked_data_processing_still_gets_placeholders(client, key, issue_key, llm_server):
    chat_key = issue_key("alpha", ["chat"])
    r = client.post("/privacy/consent", json={"user_id": "rosa-1", "consent_type": "data_processing",
                                              "granted": False}, headers={"X-API-Key": chat_key})
    assert r.status_code == 200 and r.get_json()["consent"]["status"] == "revoked", r.get_json()

    out = chat(client, chat_key, "rosa-1", FIRST_MESSAGE)
    everything = sent(llm_server)
    for value in (NAME, PHONE, CEDULA):
        assert value not in everything, value
    call = answer_call(llm_server)
    assert "<PERSON_1>" in question(call) and "<PHONE_NUMBER_1>" in question(call)
    assert len(call["messages"]) == 2                        # system + this question: no history is used
    assert out["bot_response"] == f"Hola {NAME}, te llamamos al {PHONE} [1]"
    assert client.get("/conversations/rosa-1", headers={"X-API-Key": chat_key}).status_code == 404

    # A second turn: still masked, still nothing kept as memory.
    before = len(llm_server.requests)
    chat(client, chat_key, "rosa-1", f"Hola, soy {NAME}, ¿cuánto vale el bótox?")
    assert NAME not in sent(llm_server, before)
    assert client.get("/conversations/rosa-1", headers={"X-API-Key": chat_key}).status_code == 404


@pytest.mark.parametrize("anonymize_llm", [False])
def test_without_the_switch_the_llm_gets_the_text_as_written(app, client, key, llm_server, redis_client):
    assert app.extensions["misybot"].registry.get("alpha").privacy.anonymize_llm is False
    llm_server.chat_reply = "Con gusto te ayudo [1]"
    out = chat(client, key, "pedro-1", FIRST_MESSAGE)
    call = answer_call(llm_server)
    assert question(call) == FIRST_MESSAGE
    assert "<PERSON_" not in sent(llm_server)
    assert out["bot_response"] == "Con gusto te ayudo [1]"
    assert redis_client.get(pii_map_key("pedro-1")) is None          # nothing to map back
    assert client.get("/conversations/pedro-1", headers={"X-API-Key": key}).status_code == 200


def test_a_placeholder_the_model_made_up_never_reaches_the_customer(client, key, llm_server):
    # a real small model (SmolLM2 in `pytest -m llm`) answered "Hola, soy <PERSON_2>, …" when only <PERSON_1> existed
    llm_server.chat_reply = "Hola <PERSON_2>, el bótox cuesta $850.000 COP [1]"
    out = chat(client, key, "ana-9", FIRST_MESSAGE)
    assert "PERSON_2" not in out["bot_response"] and "<" not in out["bot_response"]
    assert "$850.000 COP" in out["bot_response"]          # the retrieval-only answer, from the passages
    assert NAME not in out["bot_response"]                # and no value was guessed for the unknown one
