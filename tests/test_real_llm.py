"""Opt-in (`pytest -m llm`): the chat path against a real OpenAI-compatible server, llama.cpp with a tiny
model (tests/llama_server.py). Tiny models answer badly; these tests check the protocol and our guards,
not the quality of the prose."""
import pytest
from langchain_openai import ChatOpenAI

from app.factory import create_app
from graphs.answer_guard import unsupported_figures
from graphs.llm import AnswerRequest, OpenAIChatProvider, Passage
from tests.conftest import ADMIN_TOKEN
from tests.llama_server import MODEL_NAME, LlamaServer, available

pytestmark = pytest.mark.llm
PRICES = "## Bótox\n- Precio: $850.000 COP por tres zonas\n- Duración: 30 minutos"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def llama():
    reason = available()
    if reason:
        pytest.fail(f"the opt-in LLM tests need a local llama.cpp server: {reason}")
    server = LlamaServer()
    yield server
    server.close()


@pytest.fixture
def llm_app(make_settings, redis_client, llama, config_file):
    config_file.write_text(config_file.read_text().replace(
        "    chatwoot: {account_id: 101}",
        f"    chatwoot: {{account_id: 101}}\n    ai: {{provider: openai, model: {MODEL_NAME}}}\n"
        "    privacy: {anonymize_llm: true}"))
    app = create_app(make_settings(openai_base_url=llama.url, openai_api_key="sk-local", llm_timeout_s=60.0))
    yield app
    app.extensions["misybot"].vectors.close()


def _ask(app, user, text):
    c = app.test_client()
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    c.post("/documents", json={"content": PRICES, "title": "Precios"}, headers={"X-API-Key": key})
    r = c.post(f"/conversations/{user}/test", json={"message": text}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_turn_through_the_real_server_answers_only_with_figures_from_the_passages(llm_app):
    out = _ask(llm_app, "u1", "¿cuánto vale el bótox y cuánto dura?")
    assert out["bot_response"] and out["agent"] == "sales" and out["sources"]
    # Whatever the model wrote, what reached the customer states no price or duration of its own.
    assert unsupported_figures(out["bot_response"], [PRICES], "¿cuánto vale el bótox y cuánto dura?") == []


def test_placeholders_go_to_the_model_and_the_customer_gets_their_own_words_back(llm_app):
    out = _ask(llm_app, "u2", "Hola, soy Valentina Restrepo, ¿cuánto vale el bótox?")
    assert "<PERSON_" not in out["bot_response"] and "PERSON_1" not in out["bot_response"]


def test_the_provider_against_the_real_server_grounds_or_falls_back_with_a_reason(llama):
    chat = ChatOpenAI(model=MODEL_NAME, base_url=llama.url, api_key="sk-local", timeout=60, max_retries=0,
                      temperature=0.2)
    provider = OpenAIChatProvider(MODEL_NAME, None, None, chat_model=chat)
    req = AnswerRequest("¿cuánto vale el bótox?", "¿cuánto vale el bótox?", [Passage("d1", "Precios", PRICES, 1.0)],
                        "sales", "es", "es", "Clínica Alpha", "Ana", "cercana")
    ans = provider.answer(req)
    if ans.provider == "openai":
        assert ans.sources and unsupported_figures(ans.text, [PRICES], req.question) == []
    else:
        assert ans.fallback_reason and "$850.000" in ans.text


def test_a_timeout_falls_back_to_the_offline_answer(llama):
    chat = ChatOpenAI(model=MODEL_NAME, base_url=llama.url, api_key="sk-local", timeout=0.01, max_retries=0)
    req = AnswerRequest("¿cuánto vale el bótox?", "¿cuánto vale el bótox?", [Passage("d1", "Precios", PRICES, 1.0)],
                        "sales", "es", "es", "Clínica Alpha", "Ana", "cercana")
    ans = OpenAIChatProvider(MODEL_NAME, None, None, chat_model=chat).answer(req)
    assert ans.provider == "retrieval" and "Timeout" in (ans.fallback_reason or "") and "$850.000" in ans.text


def test_the_server_streams_tokens(llama):
    """The protocol streams; no channel consumes a token stream yet (the SDK's event stream will)."""
    chat = ChatOpenAI(model=MODEL_NAME, base_url=llama.url, api_key="sk-local", timeout=60, max_retries=0,
                      max_tokens=24)
    chunks = [c.content for c in chat.stream("Di hola en una frase.")]
    assert len([c for c in chunks if c]) > 1
