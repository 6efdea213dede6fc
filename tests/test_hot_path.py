"""The fast paths of an offline chat turn give the same results as the slow ones (bench/hot_path_bench.py has
the timings): the direct query forward equals sentence-transformers, the query-vector cache is exact and
bounded, the analysis caches change no reranking, and a turn answers the same with the cache warm."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from app.knowledge import lexical, rerank
from app.settings import Settings
from app.storage.embeddings import OfflineEmbedder, QueryVectorCache, build_embedder
from tests.test_offline_answers import FAQ, PRICES

QUESTIONS = ["¿cuánto cuesta el bótox?", "hola", "how much is laser hair removal for the armpits?",
             "  espacios   y\ttabs\n", "¿Cuánto dura la limpieza facial? 💆‍♀️", "x" * 3000, "",
             "me quedó morado después del relleno, es normal??"]


@pytest.fixture(scope="module")
def embedder() -> OfflineEmbedder:
    emb = build_embedder(Settings(embeddings_model=None, openai_base_url=None, openai_api_key=None))
    assert isinstance(emb, OfflineEmbedder)
    emb.embed_query("warm")
    return emb


def test_direct_query_forward_equals_sentence_transformers(embedder):
    model = embedder._load()
    assert embedder._query is not None and embedder._query._traced is not None    # the fast path is on
    for text in QUESTIONS:
        direct = np.asarray(embedder.embed_query(text))
        reference = model.encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        assert direct.shape == reference.shape == (embedder.dimension,)
        assert float(np.dot(direct, reference)) > 0.9999, text
        assert np.abs(direct - reference).max() < 1e-4, text
    # a batch of documents still goes through sentence-transformers, and agrees with the query path
    docs = embedder.embed_documents(QUESTIONS[:3])
    for text, vec in zip(QUESTIONS[:3], docs, strict=True):
        assert float(np.dot(vec, embedder.embed_query(text))) > 0.9999


def test_the_query_cache_never_returns_another_texts_vector_and_is_bounded(embedder):
    cache = QueryVectorCache(maxsize=3)
    texts = ["precio del bótox", "precio del botox", "Precio del bótox", "precio del bótox ", "horario"]
    vectors = {t: embedder.embed_query(t) for t in texts}
    for t in texts:
        cache.put(t, vectors[t])
    assert len(cache) == 3                                  # bounded: the two oldest went
    assert cache.get(texts[0]) is None and cache.get(texts[1]) is None
    for t in texts[2:]:
        got = cache.get(t)
        assert got is not None and np.allclose(got, vectors[t], atol=1e-7)     # exactly its own text's
    # a caller that changes the list it got does not change what the next caller gets
    got = cache.get("horario")
    got[0] = 42.0
    assert cache.get("horario")[0] == pytest.approx(vectors["horario"][0])
    # the least recently *used* goes first
    cache.get(texts[2])
    cache.put("nuevo", vectors["horario"])
    assert cache.get(texts[3]) is None and cache.get(texts[2]) is not None
    zero = QueryVectorCache(maxsize=0)
    zero.put("a", vectors["horario"])
    assert zero.get("a") is None and len(zero) == 0


def test_cached_query_counts_hits_and_skips_the_model(embedder, monkeypatch):
    embedder.clear_query_cache()
    calls = []
    real = embedder.embed_query
    monkeypatch.setattr(embedder, "embed_query", lambda text: calls.append(text) or real(text))
    first = embedder.embed_query_cached("¿tienen parqueadero?")
    hits, misses = embedder.query_cache_stats()
    second = embedder.embed_query_cached("¿tienen parqueadero?")
    other = embedder.embed_query_cached("¿tienen parqueadero? ")
    assert calls == ["¿tienen parqueadero?", "¿tienen parqueadero? "]      # the exact text is the key
    assert second == first and embedder.query_cache_stats() == (hits + 1, misses + 1)
    assert other == pytest.approx(first, abs=1e-5)       # same tokens (the tokenizer drops the space), own entry


def test_concurrent_cached_queries_get_their_own_vectors(embedder):
    embedder.clear_query_cache()
    texts = [f"¿cuánto cuesta la sesión número {i}?" for i in range(6)]
    expected = {t: embedder.embed_query(t) for t in texts}
    errors = []

    def ask(t):
        for _ in range(5):
            if not np.allclose(embedder.embed_query_cached(t), expected[t], atol=1e-6):
                errors.append(t)

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors


def _reference_terms(analyzer, text):
    """The reranker's analysis as it was before its cache: every query term sharing a stem prefix."""
    terms = set(rerank._analyze(text, analyzer.language))
    terms |= {q for q in analyzer._query if q not in terms and any(
        len(d) >= rerank._PREFIX and (d.startswith(q) or q.startswith(d)) for d in terms)}
    if analyzer._types or analyzer._phrases:
        folded = lexical.fold(text)
        terms |= {a.term for a in analyzer._types if a.shows.search(folded)}
        terms |= {t for t, rx in analyzer._phrases if rx.search(folded)}
    return frozenset(terms)


@pytest.mark.parametrize("query", ["cuanto cuesta el blanqueamiento dental?", "se puede ir al gym despues de la "
                                   "mesoterapia?", "how long does the radiofrequency last", "una hora de masaje"])
def test_analysis_caches_change_no_term(query):
    model = rerank.QueryModel(query, "es")
    texts = [line for doc in (PRICES, FAQ) for s in rerank.sections(doc) for line in (s.heading, *s.lines)]
    texts += ["Blanqueamiento", "blanqueo dental", "Radiofrecuencias", "Ejercicio intenso: 24 horas", "Ñandú €"]
    for text in texts:
        assert model.terms(text) == _reference_terms(model.terms, text), text
        assert lexical.analyze(text, "es") == list(lexical._analyze(text, "es"))


def test_fold_fast_path_matches_unicode_folding():
    import unicodedata

    for text in ("Depilación LÁSER", "ABC def 123 $850.000", "", "ñandú", "naïve Café", "\t\n"):
        slow = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
        assert lexical.fold(text) == slow


@pytest.fixture
def chat(client, issue_key):
    k = issue_key("alpha", ["chat", "documents:write"])
    for title, doc in (("Tarifas", PRICES), ("Dudas frecuentes", FAQ)):
        r = client.post("/documents", json={"title": title, "content": doc}, headers={"X-API-Key": k})
        assert r.status_code == 201, r.get_json()

    def say(text, user):
        r = client.post(f"/conversations/{user}/test", json={"message": text, "channel": "web"},
                        headers={"X-API-Key": k})
        assert r.status_code == 200, r.get_json()
        return r.get_json()
    return say


def test_a_turns_answer_is_unchanged_by_the_cache(chat, app):
    embedder = app.extensions["misybot"].embedder
    questions = ["cuanto vale la microdermoabrasion y cuanto dura la sesion?",
                 "despues de la mesoterapia puedo ir al gimnasio?", "la radiofrecuencia sirve para el cuello?"]
    embedder.clear_query_cache()
    cold = [chat(q, f"u-cold-{i}") for i, q in enumerate(questions)]
    hits, _ = embedder.query_cache_stats()
    warm = [chat(q, f"u-warm-{i}") for i, q in enumerate(questions)]
    assert embedder.query_cache_stats()[0] == hits + len(questions)       # every warm turn was served by it
    for a, b in zip(cold, warm, strict=True):
        assert a["bot_response"] == b["bot_response"] and a["sources"] == b["sources"] and a["agent"] == b["agent"]
    assert "$210.000" in warm[0]["bot_response"] and "24 horas" in warm[1]["bot_response"]


def test_status_and_history_in_one_round_trip_read_as_the_two_calls(redis_client):
    from app.conversations.history import ConversationStore
    from app.storage.redis_store import TenantKeyspace
    from app.tenancy.config import MemoryConfig

    store = ConversationStore(TenantKeyspace(redis_client, "hotpath:"), MemoryConfig())
    store.append("u1", {"role": "user", "content": "hola"}, {"role": "assistant", "content": "¡hola!"})
    store.hand_off("u1", "emergency")
    redis_client.set("hotpath:bot_status:u2", "1")               # a legacy flag, not our handoff record
    redis_client.set("hotpath:conversation:u2", "not a list")      # a migrated key of another shape
    for user in ("u1", "u2", "nobody"):
        status, history = store.status_and_history(user)
        assert status == store.status(user) and history == store.history(user)
    assert store.status_and_history("u1")[0].handed_off and len(store.status_and_history("u1")[1]) == 2
