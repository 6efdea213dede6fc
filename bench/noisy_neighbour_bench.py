"""Noisy neighbour: one company uploads a large document while another company's customers chat.

    .venv/bin/python bench/noisy_neighbour_bench.py [--mb 10] [--redis-url redis://127.0.0.1:6379/9]

The shipped companies on embedded Qdrant; benova uploads a generated Spanish document of --mb megabytes
through POST /documents (a job, stored by the ingestion worker) while medispa's customers send chat turns
(POST /conversations/<id>/test) and searches back to back, one after the other. Prints:
  - medispa's turn and search latency alone (baseline) and during the upload (p50/p95/max);
  - the upload's ingestion rate (chunks/s) with the chat alongside, and of a second upload of the same size
    with nothing else running, each against the embedder's own rate on the same chunks.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from app.knowledge.chunking import split_text  # noqa: E402
from bench._shipped import pct, shipped_app  # noqa: E402

ADMIN = "bench-admin-token-0123456789"
QUESTIONS = ["¿Cuánto cuesta la limpieza facial?", "¿Qué horario tienen?", "¿Dónde están ubicados?",
             "¿El peeling duele?"]
PARAGRAPH = ("La clínica ofrece tratamientos de rejuvenecimiento facial con protocolos personalizados. "
             "Cada sesión incluye valoración previa, limpieza profunda, aplicación del activo y recomendaciones "
             "de cuidado en casa durante la semana siguiente. Los resultados dependen del tipo de piel, la edad "
             "y la constancia del paciente; por eso el especialista ajusta la frecuencia en cada control. ")


def summary(name: str, values: list[float]) -> str:
    return (f"{name:28s} p50 {statistics.median(values):8.1f} ms  p95 {pct(values, 95):8.1f} ms  "
            f"max {max(values):8.1f} ms  (n={len(values)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = ap.parse_args()
    print("command:", " ".join(sys.argv), "| cpus:", os.cpu_count())
    redis.Redis.from_url(args.redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        app = shipped_app(Path(tmp), args.redis_url,
                          lambda text: text.replace("storage_limit_mb: 200", "storage_limit_mb: 2000"),
                          misybot_admin_token=ADMIN, audit_worker=False, max_upload_mb=max(10.0, args.mb + 1),
                          min_free_disk_mb=0, ingestion_worker=True)
        platform = app.extensions["misybot"]
        admin = {"Authorization": f"Bearer {ADMIN}"}
        c = app.test_client()
        up_key = c.post("/admin/companies/benova/api-keys", json={}, headers=admin).get_json()["api_key"]
        chat_key = c.post("/admin/companies/medispa/api-keys", json={}, headers=admin).get_json()["api_key"]
        document = "\n\n".join(f"## Protocolo {i}\n{PARAGRAPH}" for i in range(int(args.mb * 1024 * 1024 / 420)))
        chunks = split_text(document, platform.settings.chunk_tokens, platform.settings.chunk_overlap_tokens)
        print(f"document: {len(document.encode()) / 1e6:.1f} MB, {len(chunks)} chunks")

        def chat_turns(out: list[float], stop: threading.Event, limit: int | None = None, searches=None):
            client = app.test_client()
            i = 0
            while not stop.is_set() and (limit is None or i < limit):
                started = time.perf_counter()
                r = client.post(f"/conversations/nn-{i % 8}/test", json={"message": QUESTIONS[i % 4]},
                                headers={"X-API-Key": chat_key})
                assert r.status_code == 200, r.get_json()
                out.append((time.perf_counter() - started) * 1000)
                if searches is not None:
                    started = time.perf_counter()
                    r = client.post("/documents/search", json={"query": QUESTIONS[i % 4]},
                                    headers={"X-API-Key": chat_key})
                    assert r.status_code == 200
                    searches.append((time.perf_counter() - started) * 1000)
                i += 1

        base_turns: list[float] = []
        base_search: list[float] = []
        chat_turns(base_turns, threading.Event(), limit=40, searches=base_search)

        sample = chunks[: min(len(chunks), 800)]
        started = time.perf_counter()
        platform.embedder.embed_documents(sample)
        raw_rate = len(sample) / (time.perf_counter() - started)

        def upload(text: str) -> tuple[float, float]:
            """(ms to the 202, s until the job is done)"""
            started = time.perf_counter()
            r = c.post("/documents", json={"title": "Protocolos", "content": text}, headers={"X-API-Key": up_key})
            assert r.status_code == 202, r.get_json()          # a job: the ingestion worker stores it
            accepted_ms = (time.perf_counter() - started) * 1000
            while True:
                job = c.get(r.get_json()["status_url"], headers={"X-API-Key": up_key}).get_json()
                if job["status"] in ("done", "failed"):
                    break
                time.sleep(0.2)
            assert job["status"] == "done", job
            return accepted_ms, time.perf_counter() - started

        busy_turns: list[float] = []
        busy_search: list[float] = []
        stop = threading.Event()
        chatter = threading.Thread(target=chat_turns, args=(busy_turns, stop), kwargs={"searches": busy_search})
        chatter.start()
        accepted_ms, upload_s = upload(document)
        stop.set()
        chatter.join()
        # the same size again (another text, so not a duplicate) with nothing else running
        _, alone_s = upload(document.replace("Protocolo", "Programa"))
        print(f"upload answered 202 in {accepted_ms:.0f} ms")
        print(summary("medispa turn, alone", base_turns))
        print(summary("medispa turn, during upload", busy_turns))
        print(summary("medispa search, alone", base_search))
        print(summary("medispa search, during upload", busy_search))
        print(f"the embedder alone: {raw_rate:.1f} chunks/s")
        print(f"upload with chat alongside: {upload_s:.1f} s, {len(chunks) / upload_s:.1f} chunks/s "
              f"({len(chunks) / upload_s / raw_rate:.0%} of the embedder's rate)")
        print(f"upload alone: {alone_s:.1f} s, {len(chunks) / alone_s:.1f} chunks/s "
              f"({len(chunks) / alone_s / raw_rate:.0%} of the embedder's rate)")
        platform.vectors.close()


if __name__ == "__main__":
    main()
