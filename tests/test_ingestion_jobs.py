"""Large uploads as jobs: POST /documents answers 202 with a job, the ingestion worker stores the document
(all-or-nothing, quotas as before) and GET /documents/jobs/<id> reports its progress; a worker killed
mid-job is replaced and the document is stored once; jobs are a tenant's own."""
from __future__ import annotations

import pytest

from app.workers.ingestion import STREAM, IngestionWorker
from tests.conftest import FIXTURES

PARAGRAPH = ("La clínica ofrece tratamientos de rejuvenecimiento facial con protocolos personalizados y "
             "controles cada mes. ")


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "companies_config.yaml"
    path.write_text((FIXTURES / "companies_test.yaml").read_text().replace(
        "    sales_agent_name: Bea, de Beta\n",
        "    sales_agent_name: Bea, de Beta\n    limits: {max_documents: 3, storage_limit_mb: 0.2}\n"))
    return path


@pytest.fixture
def app(make_settings, redis_client):
    from app.factory import create_app
    application = create_app(make_settings(ingest_async_bytes=2000))
    yield application
    application.extensions["misybot"].vectors.close()


def big(marker: str, paragraphs: int = 60) -> str:
    body = "\n\n".join(f"## Protocolo {i}\n{PARAGRAPH}" for i in range(paragraphs))
    return f"## Tarifa {marker}\n- Precio del protocolo {marker}: $420.000 COP\n\n{body}"


def test_a_large_upload_is_a_job_the_worker_stores_with_its_progress(app, client, issue_key):
    key = issue_key("alpha")
    h = {"X-API-Key": key}
    r = client.post("/documents", json={"title": "Protocolos", "content": big("zafiro")}, headers=h)
    assert r.status_code == 202, r.get_json()
    job = r.get_json()
    assert job["status"] == "queued" and job["status_url"] == f"/documents/jobs/{job['job_id']}"
    queued = client.get(job["status_url"], headers=h).get_json()
    assert queued["status"] == "queued" and queued["progress"] == {"done": 0, "total": 0}
    assert client.get("/documents", headers=h).get_json()["documents"] == []       # nothing half-visible
    worker = IngestionWorker(app.extensions["misybot"], consumer="w-test")
    assert worker.run_once() == 1
    done = client.get(job["status_url"], headers=h).get_json()
    assert done["status"] == "done" and done["duplicate"] is False
    assert done["progress"]["done"] == done["progress"]["total"] > 1
    docs = client.get("/documents", headers=h).get_json()["documents"]
    assert [d["document_id"] for d in docs] == [done["document_id"]]
    hits = client.post("/documents/search", json={"query": "precio protocolo zafiro"}, headers=h).get_json()["results"]
    assert "$420.000" in hits[0]["content"]
    # the same text again: a duplicate at once, no second job
    again = client.post("/documents", json={"title": "Protocolos", "content": big("zafiro")}, headers=h)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    # small documents are still stored before the answer
    small = client.post("/documents", json={"content": "## Horario\n- Lunes a viernes de 8 a 18"}, headers=h)
    assert small.status_code == 201
    # a job is its company's own
    other = issue_key("beta")
    assert client.get(job["status_url"], headers={"X-API-Key": other}).status_code == 404
    assert client.get("/documents/jobs/job_nope", headers=h).status_code == 404


def test_a_job_over_the_quota_is_refused_at_once_or_fails_without_storing(app, client, issue_key, redis_client):
    h = {"X-API-Key": issue_key("beta")}           # beta here: 3 documents, 0.2 MB
    too_big = client.post("/documents", json={"content": big("rubí", 2000)}, headers=h)
    assert too_big.status_code == 409 and too_big.get_json()["error"]["code"] == "storage_quota_exceeded"
    assert redis_client.xlen(STREAM) == 0
    r = client.post("/documents", json={"content": big("ópalo", 40)}, headers=h)
    assert r.status_code == 202
    # meanwhile the company filled its storage with small uploads
    for i in range(3):
        assert client.post("/documents", json={"content": f"## Nota {i}\n- horario {i}"}, headers=h).status_code == 201
    IngestionWorker(app.extensions["misybot"], consumer="w-test").run_once()
    failed = client.get(r.get_json()["status_url"], headers=h).get_json()
    assert failed["status"] == "failed" and failed["error"]["code"] in ("storage_quota_exceeded",
                                                                         "document_quota_exceeded")
    titles = [d["title"] for d in client.get("/documents", headers=h).get_json()["documents"]]
    assert not any("ópalo" in t for t in titles)


def test_a_worker_killed_mid_job_is_replaced_and_the_document_is_stored_once(app, client, issue_key, redis_client):
    h = {"X-API-Key": issue_key("alpha")}
    r = client.post("/documents", json={"content": big("topacio")}, headers=h)
    platform = app.extensions["misybot"]
    dead = IngestionWorker(platform, consumer="w-dead")
    redis_client.xreadgroup(dead.GROUP, "w-dead", {STREAM: ">"}, count=10)      # took it, then died
    alive = IngestionWorker(platform, consumer="w-alive")
    assert alive.run_once() == 1
    assert client.get(r.get_json()["status_url"], headers=h).get_json()["status"] == "done"
    assert alive.run_once() == 0
    assert len(client.get("/documents", headers=h).get_json()["documents"]) == 1


def test_one_companys_uploads_do_not_queue_another_companys_behind_them(app, client, issue_key):
    """Companies' ingestion jobs run side by side (a lane per company); one company's jobs run in turn."""
    import time
    ha, hb = {"X-API-Key": issue_key("alpha")}, {"X-API-Key": issue_key("beta")}
    alpha = [client.post("/documents", json={"content": big(f"alfa{i}")}, headers=ha).get_json()["status_url"]
             for i in range(3)]
    beta = client.post("/documents", json={"content": big("beta", 40)}, headers=hb).get_json()["status_url"]
    def status(url, headers):          # a 429 from the company's rate limit while polling: ask again
        return client.get(url, headers=headers).get_json().get("status")

    worker = IngestionWorker(app.extensions["misybot"], consumer="w-lanes", lanes=2)
    worker.start()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and status(beta, hb) != "done":
            time.sleep(0.25)
        alpha_at_beta_done = [status(u, ha) for u in alpha]
        while time.time() < deadline and any(status(u, ha) != "done" for u in alpha):
            time.sleep(0.25)
    finally:
        worker.stop()
    assert status(beta, hb) == "done"
    assert alpha_at_beta_done.count("done") < 3        # beta did not wait for all of alpha's uploads
    assert [status(u, ha) for u in alpha] == ["done"] * 3
