"""Our OpenAI-compatible embeddings client against a local server that speaks the protocol."""
import pytest

from app.factory import create_app
from app.storage.embeddings import EmbeddingError, OpenAICompatibleEmbedder
from tests.fake_openai import DIM, FakeOpenAI, embed


@pytest.fixture
def fake():
    server = FakeOpenAI()
    yield server
    server.close()


def test_client_batches_orders_by_index_and_sends_the_key(fake):
    emb = OpenAICompatibleEmbedder("text-embedding-3-small", fake.url, "sk-test", batch_size=2)
    texts = ["uno", "dos tres", "cuatro", "cinco seis siete"]
    vecs = emb.embed_documents(texts)
    assert vecs == [pytest.approx(embed(t)) for t in texts]
    assert emb.dimension == DIM
    assert len(fake.requests) == 3           # 2 batches of 2, then the dimension probe
    assert [len(r["body"]["input"]) for r in fake.requests] == [2, 2, 1]
    assert fake.requests[0]["auth"] == "Bearer sk-test"
    assert fake.requests[0]["body"]["model"] == "text-embedding-3-small"


def test_server_errors_become_embedding_errors(fake):
    fake.fail_with = 500
    emb = OpenAICompatibleEmbedder("m", fake.url, "sk-test", timeout_s=2)
    with pytest.raises(EmbeddingError):
        emb.embed_query("hola")


def test_service_uses_the_endpoint_for_the_dense_side(fake, make_settings, redis_client):
    app = create_app(make_settings(embeddings_model="text-embedding-3-small", openai_base_url=fake.url,
                                   openai_api_key="sk-test"))
    try:
        c = app.test_client()
        admin = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
        key = c.post("/admin/companies/alpha/api-keys", json={}, headers=admin).get_json()["api_key"]
        h = {"X-API-Key": key}
        assert c.post("/documents", json={"content": "Masaje relajante de piedras calientes"}, headers=h).status_code == 201
        assert c.post("/documents", json={"content": "Blanqueamiento dental con luz LED"}, headers=h).status_code == 201
        assert app.extensions["misybot"].dense_weight == 1.0
        hits = c.post("/documents/search", json={"query": "piedras calientes", "mode": "dense"}, headers=h).get_json()
        assert "piedras" in hits["results"][0]["content"]
        assert any(r["path"] == "/v1/embeddings" for r in fake.requests)
        # the endpoint failing gives a clear 503, and nothing half-stored
        fake.fail_with = 503
        r = c.post("/documents", json={"content": "Documento nuevo"}, headers=h)
        assert r.status_code == 503 and r.get_json()["error"]["code"] == "embedder_unavailable"
        assert c.get("/documents", headers=h).get_json()["total"] == 2
        fake.fail_with = None
        assert c.post("/documents", json={"content": "Documento nuevo"}, headers=h).status_code == 201
    finally:
        app.extensions["misybot"].vectors.close()
