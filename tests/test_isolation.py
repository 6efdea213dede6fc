"""Company B can neither list, read, search nor delete company A's documents, by any route or parameter."""
import io

import pytest

SECRET = ("# Tarifa confidencial Alpha\n\nEl tratamiento Zafiro de Alpha cuesta exactamente $777.777 COP "
          "e incluye tres sesiones de radiofrecuencia.")


@pytest.fixture
def keys(issue_key):
    return {"alpha": issue_key("alpha"), "beta": issue_key("beta")}


@pytest.fixture
def alpha_doc(client, keys):
    r = client.post("/documents", json={"content": SECRET, "title": "Tarifas"}, headers={"X-API-Key": keys["alpha"]})
    assert r.status_code == 201
    return r.get_json()["document_id"]


def _b(keys, **extra):
    return {"X-API-Key": keys["beta"], **extra}


def test_beta_sees_nothing_of_alpha(client, keys, alpha_doc):
    assert client.get("/documents", headers=_b(keys)).get_json()["total"] == 0
    assert client.get(f"/documents/{alpha_doc}", headers=_b(keys)).status_code == 404
    hits = client.post("/documents/search", json={"query": "tratamiento Zafiro 777.777", "k": 20},
                       headers=_b(keys)).get_json()
    assert hits["results_count"] == 0
    for mode in ("dense", "lexical", "hybrid"):
        res = client.post("/documents/search", json={"query": "Zafiro", "mode": mode}, headers=_b(keys)).get_json()
        assert all("Zafiro" not in r["content"] for r in res["results"])


def test_beta_cannot_delete_alpha_document(client, keys, alpha_doc):
    r = client.delete(f"/documents/{alpha_doc}", headers=_b(keys))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "document_not_found"
    assert client.get(f"/documents/{alpha_doc}", headers={"X-API-Key": keys["alpha"]}).status_code == 200


@pytest.mark.parametrize("header", ["X-Company-ID", "X-Tenant-ID"])
def test_naming_another_tenant_in_a_header_is_403(client, keys, alpha_doc, header):
    for method, path, kw in [("get", "/documents", {}), ("get", f"/documents/{alpha_doc}", {}),
                             ("delete", f"/documents/{alpha_doc}", {}),
                             ("post", "/documents/search", {"json": {"query": "Zafiro"}}),
                             ("post", "/documents", {"json": {"content": "intruso"}})]:
        r = getattr(client, method)(path, headers=_b(keys, **{header: "alpha"}), **kw)
        assert r.status_code == 403, (method, path)
        assert r.get_json()["error"]["code"] == "tenant_mismatch"
    assert client.get(f"/documents/{alpha_doc}", headers={"X-API-Key": keys["alpha"]}).status_code == 200


def test_naming_another_tenant_in_query_or_body_is_403(client, keys, alpha_doc):
    assert client.get("/documents?company_id=alpha", headers=_b(keys)).status_code == 403
    assert client.get("/documents?company_id=beta&company_id=alpha", headers=_b(keys)).status_code == 403
    assert client.post("/documents/search", json={"query": "Zafiro", "company_id": "alpha"},
                       headers=_b(keys)).status_code == 403
    assert client.post("/documents", json={"content": "intruso", "company_id": "alpha"},
                       headers=_b(keys)).status_code == 403
    r = client.post("/documents", data={"file": (io.BytesIO(b"intruso"), "x.txt"), "company_id": "alpha"},
                    headers=_b(keys), content_type="multipart/form-data")
    assert r.status_code == 403
    # nothing was written to either tenant
    assert client.get("/documents", headers=_b(keys)).get_json()["total"] == 0
    assert client.get("/documents", headers={"X-API-Key": keys["alpha"]}).get_json()["total"] == 1


def test_naming_your_own_tenant_is_fine(client, keys):
    r = client.get("/documents?company_id=beta", headers=_b(keys, **{"X-Company-ID": "beta"}))
    assert r.status_code == 200


def test_status_endpoints_are_per_company(client, keys, alpha_doc):
    for path in ("/company/alpha/status", "/health/company/alpha"):
        assert client.get(path, headers=_b(keys)).status_code == 403
        own = client.get(path, headers={"X-API-Key": keys["alpha"]})
        assert own.status_code == 200 and own.get_json()["documents"] == 1


def test_unknown_missing_and_revoked_keys_are_401(client, keys, admin_headers):
    assert client.get("/documents").status_code == 401
    assert client.get("/documents", headers={"X-API-Key": "msk_forged"}).status_code == 401
    assert client.get("/documents", headers={"X-API-Key": "x" * 5000}).status_code == 401
    key_id = client.get("/admin/companies/beta/api-keys", headers=admin_headers).get_json()["keys"][0]["key_id"]
    assert client.delete(f"/admin/companies/beta/api-keys/{key_id}", headers=admin_headers).status_code == 200
    r = client.get("/documents", headers=_b(keys))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_credentials"


def test_permissions_are_enforced(client, issue_key):
    reader = issue_key("alpha", ["documents:read"])
    writer = issue_key("alpha", ["documents:write"])
    chat_only = issue_key("alpha", ["chat"])
    assert client.post("/documents", json={"content": "hola"}, headers={"X-API-Key": reader}).status_code == 403
    assert client.post("/documents", json={"content": "hola"}, headers={"X-API-Key": writer}).status_code == 201
    assert client.get("/documents", headers={"X-API-Key": writer}).status_code == 403
    assert client.get("/documents", headers={"X-API-Key": reader}).status_code == 200
    assert client.post("/documents/search", json={"query": "hola"}, headers={"X-API-Key": chat_only}).status_code == 403


def test_api_keys_are_stored_only_as_hashes(client, redis_client, keys):
    dump = []
    for k in redis_client.scan_iter("*"):
        if redis_client.type(k) == "hash":
            dump.extend(redis_client.hgetall(k).values())
        dump.append(k)
    blob = "\n".join(dump)
    assert keys["alpha"] not in blob and keys["beta"] not in blob


def test_every_redis_key_is_in_a_tenant_prefix_or_the_platform_namespace(client, redis_client, keys, alpha_doc):
    client.post("/documents", json={"content": "Masajes de Beta a $1,350"}, headers=_b(keys))
    allowed = ("{alpha}:", "{beta}:", "misybot:")
    all_keys = list(redis_client.scan_iter("*"))
    assert all_keys and all(k.startswith(allowed) for k in all_keys), all_keys
    assert any(k.startswith("{alpha}:document:") for k in all_keys)
    assert any(k.startswith("{beta}:document:") for k in all_keys)


def test_each_tenant_has_its_own_collection(app, client, keys, alpha_doc):
    client.post("/documents", json={"content": "Masajes de Beta a $1,350"}, headers=_b(keys))
    with app.extensions["misybot"].vectors as qc:
        names = {c.name for c in qc.get_collections().collections}
        assert {"alpha_documents", "beta_documents"} <= names
        alpha_points = qc.scroll("alpha_documents", limit=100, with_payload=True)[0]
        beta_points = qc.scroll("beta_documents", limit=100, with_payload=True)[0]
    assert alpha_points and all(p.payload["company_id"] == "alpha" for p in alpha_points)
    assert beta_points and all(p.payload["company_id"] == "beta" for p in beta_points)


def test_the_same_text_in_two_tenants_gives_unrelated_ids(client, keys):
    a = client.post("/documents", json={"content": "Texto común"}, headers={"X-API-Key": keys["alpha"]}).get_json()
    b = client.post("/documents", json={"content": "Texto común"}, headers=_b(keys)).get_json()
    assert a["document_id"] != b["document_id"]
    assert client.delete(f"/documents/{a['document_id']}", headers=_b(keys)).status_code == 404
