"""Upload, list, read, search, delete, duplicates and every bad input, through the HTTP API."""
import io
import json

import pytest

from app.factory import create_app
from tests.docs_factory import docx_bytes, pdf_bytes

BOTOX = ("# Toxina botulínica\n\nLa aplicación de bótox cuesta $850.000 COP por tres zonas y dura 30 minutos. "
         "El efecto dura entre 4 y 6 meses.")
LASER = ("# Depilación láser\n\nLa depilación láser de axilas cuesta $90.000 COP por sesión. "
         "Se recomiendan 6 sesiones separadas por 4 semanas.")


@pytest.fixture
def key(issue_key):
    return issue_key("alpha")


def _h(key):
    return {"X-API-Key": key}


def _upload(client, key, content, title=None, **extra):
    body = {"content": content, **extra}
    if title:
        body["title"] = title
    return client.post("/documents", json=body, headers=_h(key))


def _chunks(app, company="alpha"):
    p = app.extensions["misybot"]
    from app.security.principal import Principal
    return p.tenant_context(p.registry.get(company), Principal("platform_admin", None)).knowledge.count()


def test_upload_list_get_search_delete(client, app, key):
    r1 = _upload(client, key, BOTOX, "Bótox", metadata={"categoria": "inyectables"})
    assert r1.status_code == 201
    doc = r1.get_json()
    assert doc["title"] == "Bótox" and doc["chunks"] >= 1 and len(doc["document_id"]) == 32
    r2 = _upload(client, key, LASER)
    assert r2.status_code == 201

    listing = client.get("/documents", headers=_h(key)).get_json()
    assert listing["total"] == 2
    assert {d["document_id"] for d in listing["documents"]} == {doc["document_id"], r2.get_json()["document_id"]}

    one = client.get(f"/documents/{doc['document_id']}", headers=_h(key)).get_json()
    assert one["metadata"] == {"categoria": "inyectables"} and "850.000" in one["preview"]

    found = client.post("/documents/search", json={"query": "cuanto vale el botox?", "k": 2}, headers=_h(key))
    assert found.status_code == 200
    body = found.get_json()
    assert body["results_count"] == len(body["results"]) >= 1
    assert body["results"][0]["document_id"] == doc["document_id"]
    assert "850.000" in body["results"][0]["content"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)

    laser = client.post("/documents/search", json={"query": "depilacion de axilas precio"}, headers=_h(key))
    assert laser.get_json()["results"][0]["document_id"] == r2.get_json()["document_id"]

    chunks_before = _chunks(app)
    deleted = client.delete(f"/documents/{doc['document_id']}", headers=_h(key))
    assert deleted.status_code == 200 and deleted.get_json()["deleted"] is True
    assert _chunks(app) == chunks_before - doc["chunks"]
    assert client.get(f"/documents/{doc['document_id']}", headers=_h(key)).status_code == 404
    assert client.delete(f"/documents/{doc['document_id']}", headers=_h(key)).status_code == 404
    after = client.post("/documents/search", json={"query": "botox 850.000"}, headers=_h(key)).get_json()
    assert doc["document_id"] not in {r["document_id"] for r in after["results"]}


def test_duplicate_upload_returns_same_document_and_no_new_chunks(client, app, key):
    first = _upload(client, key, BOTOX, "Bótox")
    chunks = _chunks(app)
    second = _upload(client, key, BOTOX, "Otro título")
    assert first.status_code == 201 and second.status_code == 200
    assert second.get_json()["document_id"] == first.get_json()["document_id"]
    assert second.get_json()["duplicate"] is True
    assert _chunks(app) == chunks
    assert client.get("/documents", headers=_h(key)).get_json()["total"] == 1


def test_long_document_is_chunked_and_every_chunk_deleted(client, app, key):
    sections = [f"## Tratamiento {i}\n\nEl tratamiento número {i} cuesta {i * 1000} pesos y dura {i} minutos. "
                + "Recomendaciones generales de cuidado posterior para la piel. " * 12 for i in range(1, 9)]
    r = _upload(client, key, "\n\n".join(sections), "Catálogo")
    assert r.status_code == 201 and r.get_json()["chunks"] > 4
    assert _chunks(app) == r.get_json()["chunks"]
    client.delete(f"/documents/{r.get_json()['document_id']}", headers=_h(key))
    assert _chunks(app) == 0


@pytest.mark.parametrize("filename,data,needle", [
    ("precios.txt", "Limpieza facial: $180.000 COP".encode(), "180.000"),
    ("precios.md", "# Peeling\n\nPeeling químico $250.000 COP".encode(), "250.000"),
    ("horario.html", b"<html><body><p>Abrimos de 8:00 a 18:00</p><script>x()</script></body></html>", "8:00 a 18:00"),
    ("lista.pdf", pdf_bytes("Hilos tensores 2400000 COP"), "2400000"),
    ("politicas.docx", docx_bytes(["Cancelaciones con 24 horas de aviso."]), "24 horas"),
])
def test_multipart_upload_of_each_type(client, key, filename, data, needle):
    r = client.post("/documents", data={"file": (io.BytesIO(data), filename)}, headers=_h(key),
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    doc = r.get_json()
    assert doc["title"] == filename
    hits = client.post("/documents/search", json={"query": needle}, headers=_h(key)).get_json()["results"]
    assert any(needle in h["content"] for h in hits)


def _error(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"]["code"] == code and body["error"]["message"]
    return body


def _nothing_stored(client, app, key):
    assert client.get("/documents", headers=_h(key)).get_json()["total"] == 0
    assert _chunks(app) == 0


@pytest.mark.parametrize("kwargs,status,code", [
    (dict(json={"content": ""}), 400, "empty_document"),
    (dict(json={"content": "   \n "}), 400, "empty_document"),
    (dict(json={"title": "sin contenido"}), 400, "empty_document"),
    (dict(json={"content": 42}), 400, "empty_document"),
    (dict(json=["not", "an", "object"]), 400, "invalid_json"),
    (dict(data="{not json", content_type="application/json"), 400, "invalid_json"),
    (dict(data="texto plano", content_type="text/plain"), 415, "unsupported_media_type"),
    (dict(json={"content": "hola", "metadata": "no es objeto"}), 400, "invalid_parameter"),
    (dict(json={"content": "hola", "metadata": {"x": "y" * 9000}}), 400, "invalid_parameter"),
    (dict(json={"content": "hola", "title": ["lista"]}), 400, "invalid_parameter"),
    (dict(data={}, content_type="multipart/form-data"), 400, "missing_file"),
    (dict(data={"file": (io.BytesIO(b""), "vacio.txt")}, content_type="multipart/form-data"), 400, "empty_document"),
    (dict(data={"file": (io.BytesIO(b"MZ\x90\x00"), "programa.exe")}, content_type="multipart/form-data"),
     415, "unsupported_document_type"),
    (dict(data={"file": (io.BytesIO(b"%PDF-1.4 garbage"), "roto.pdf")}, content_type="multipart/form-data"),
     422, "unreadable_document"),
    (dict(data={"file": (io.BytesIO(b"not a zip"), "roto.docx")}, content_type="multipart/form-data"),
     422, "unreadable_document"),
    (dict(data={"file": (io.BytesIO(b"\x00\x00binary"), "binario.txt")}, content_type="multipart/form-data"),
     422, "unreadable_document"),
    (dict(data={"file": (io.BytesIO(b"   \n\n  "), "blanco.md")}, content_type="multipart/form-data"),
     400, "empty_document"),
])
def test_bad_uploads_get_clear_errors_and_store_nothing(client, app, key, kwargs, status, code):
    _error(client.post("/documents", headers=_h(key), **kwargs), status, code)
    _nothing_stored(client, app, key)


def test_oversize_upload_is_413(make_settings, redis_client):
    app = create_app(make_settings(max_upload_mb=0.01))    # ~10 KB
    try:
        c = app.test_client()
        key = c.post("/admin/companies/alpha/api-keys", json={},
                     headers={"Authorization": "Bearer test-admin-token-0123456789abcdef"}).get_json()["api_key"]
        big = "Precio del masaje relajante. " * 1000
        _error(c.post("/documents", json={"content": big}, headers=_h(key)), 413, "document_too_large")
        _error(c.post("/documents", data={"file": (io.BytesIO(big.encode()), "grande.txt")}, headers=_h(key),
                      content_type="multipart/form-data"), 413, "document_too_large")
        # Past the request limit werkzeug itself stops reading: still a JSON 413.
        huge = c.post("/documents", data={"file": (io.BytesIO(b"x" * 2_000_000), "enorme.txt")}, headers=_h(key),
                      content_type="multipart/form-data")
        assert huge.status_code == 413 and huge.get_json()["error"]["code"]
        assert c.get("/documents", headers=_h(key)).get_json()["total"] == 0
    finally:
        app.extensions["misybot"].vectors.close()


def test_document_quota(client, app, key):
    # alpha allows 5 documents (tests/fixtures/companies_test.yaml)
    for i in range(5):
        assert _upload(client, key, f"Documento número {i}: horario de atención {i}").status_code == 201
    chunks = _chunks(app)
    _error(_upload(client, key, "Documento sexto que no cabe"), 409, "document_quota_exceeded")
    assert client.get("/documents", headers=_h(key)).get_json()["total"] == 5
    assert _chunks(app) == chunks
    # a duplicate of an existing document is not a new document: still fine at the limit
    assert _upload(client, key, "Documento número 0: horario de atención 0").status_code == 200


def test_storage_quota(client, app, key):
    # alpha allows 0.05 MB (52,428 bytes); three uploads of ~20 KB: the third would pass the limit
    block = ("Información de tratamientos estéticos y cuidados. " * 500)[:20_000]
    assert _upload(client, key, "A " + block).status_code == 201
    assert _upload(client, key, "B " + block).status_code == 201
    chunks = _chunks(app)
    _error(_upload(client, key, "C " + block), 409, "storage_quota_exceeded")
    assert client.get("/documents", headers=_h(key)).get_json()["total"] == 2
    assert _chunks(app) == chunks


@pytest.mark.parametrize("body,code", [
    ({}, "invalid_query"), ({"query": ""}, "invalid_query"), ({"query": 5}, "invalid_query"),
    ({"query": "x" * 2001}, "invalid_query"), ({"query": "botox", "k": 0}, "invalid_parameter"),
    ({"query": "botox", "k": 1000}, "invalid_parameter"), ({"query": "botox", "k": "tres"}, "invalid_parameter"),
    ({"query": "botox", "k": True}, "invalid_parameter"), ({"query": "botox", "mode": "magic"}, "invalid_parameter"),
])
def test_bad_searches(client, key, body, code):
    _error(client.post("/documents/search", json=body, headers=_h(key)), 400, code)


@pytest.mark.parametrize("qs", ["page=0", "page=abc", "per_page=0", "per_page=101", "page=-1"])
def test_bad_pagination(client, key, qs):
    _error(client.get(f"/documents?{qs}", headers=_h(key)), 400, "invalid_parameter")


def test_pagination(client, key):
    ids = [_upload(client, key, f"Documento {i} sobre promociones del mes {i}").get_json()["document_id"]
           for i in range(5)]
    page1 = client.get("/documents?per_page=2&page=1", headers=_h(key)).get_json()
    page3 = client.get("/documents?per_page=2&page=3", headers=_h(key)).get_json()
    assert page1["total"] == 5 and len(page1["documents"]) == 2 and page1["has_more"] is True
    assert len(page3["documents"]) == 1 and page3["has_more"] is False
    seen = [d["document_id"] for p in (1, 2, 3)
            for d in client.get(f"/documents?per_page=2&page={p}", headers=_h(key)).get_json()["documents"]]
    assert sorted(seen) == sorted(ids)


def test_search_on_empty_knowledge_base(client, key):
    body = client.post("/documents/search", json={"query": "precio"}, headers=_h(key)).get_json()
    assert body == {"results": [], "results_count": 0}


def test_unknown_routes_and_methods_are_json(client, key):
    _error(client.get("/nope", headers=_h(key)), 404, "not_found")
    _error(client.put("/documents", headers=_h(key)), 405, "method_not_allowed")
    _error(client.get("/documents/not-a-real-id", headers=_h(key)), 404, "document_not_found")


def test_concurrent_uploads_respect_the_quota_exactly(app, key):
    from concurrent.futures import ThreadPoolExecutor

    c = app.test_client()
    for i in range(3):
        assert _upload(c, key, f"Documento base {i} de precios").status_code == 201

    def upload(i):
        return app.test_client().post("/documents", json={"content": f"Carrera {i}: horario especial {i}"},
                                      headers=_h(key)).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(upload, range(4)))
    assert statuses == [201, 201, 409, 409]          # alpha allows 5 documents
    listing = c.get("/documents?per_page=100", headers=_h(key)).get_json()
    assert listing["total"] == 5 and len(listing["documents"]) == 5
    assert _chunks(app) == 5


def test_a_delete_interrupted_by_qdrant_is_finished_by_the_next_one(client, app, key, monkeypatch):
    from app.knowledge.index import KnowledgeIndex, VectorStoreUnavailable

    doc = _upload(client, key, BOTOX).get_json()
    real = KnowledgeIndex.delete_document_points

    def down(self, *a):
        raise VectorStoreUnavailable("down")

    monkeypatch.setattr(KnowledgeIndex, "delete_document_points", down)
    assert client.delete(f"/documents/{doc['document_id']}", headers=_h(key)).status_code == 503
    assert client.get(f"/documents/{doc['document_id']}", headers=_h(key)).status_code == 404   # already unlisted
    monkeypatch.setattr(KnowledgeIndex, "delete_document_points", real)
    assert client.delete(f"/documents/{doc['document_id']}", headers=_h(key)).status_code == 200
    assert _chunks(app) == 0
