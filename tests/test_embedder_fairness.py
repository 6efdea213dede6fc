"""One shared model, many tenants: a query never waits behind bulk ingestion (only behind the batch in
hand), and two tenants' ingestions take turns. Timings are in bench/noisy_neighbour_bench.py."""
from __future__ import annotations

import threading
import time

from app.storage.embeddings import FairGate, build_embedder


def _run(gate: FairGate, kind: str, name: str, order: list, started: threading.Event | None = None):
    with getattr(gate, kind)():
        order.append(name)
        if started:
            started.set()
        time.sleep(0.05)


def test_a_waiting_query_goes_before_waiting_bulk_work_and_bulk_work_takes_turns():
    gate, order = FairGate(), []
    holding = threading.Event()
    first = threading.Thread(target=_run, args=(gate, "bulk", "A1", order, holding))
    first.start()
    holding.wait(5)
    waiters = [threading.Thread(target=_run, args=(gate, "bulk", "B1", order))]
    waiters[0].start()
    time.sleep(0.01)                       # B1 queued before A2 and the query
    waiters.append(threading.Thread(target=_run, args=(gate, "bulk", "A2", order)))
    waiters[-1].start()
    time.sleep(0.01)
    waiters.append(threading.Thread(target=_run, args=(gate, "query", "Q", order)))
    waiters[-1].start()
    for t in [first, *waiters]:
        t.join(5)
    assert order == ["A1", "Q", "B1", "A2"]


def test_a_query_is_answered_between_the_batches_of_a_large_ingestion(make_settings):
    embedder = build_embedder(make_settings())
    texts = [f"párrafo {i} sobre tratamientos faciales y precios de la clínica" for i in range(embedder.BULK_BATCH * 12)]
    log: list[str] = []
    real_encode = embedder._encode

    def encode(model, batch):
        log.append("query" if len(batch) == 1 and batch[0].startswith("¿") else f"bulk:{len(batch)}")
        return real_encode(model, batch)

    embedder._encode = encode
    try:
        ingest = threading.Thread(target=embedder.embed_documents, args=(texts,))
        ingest.start()
        while not log:
            time.sleep(0.001)
        vector = embedder.embed_query("¿cuánto cuesta el bótox?")
        ingest.join(60)
    finally:
        del embedder._encode
    assert len(vector) == embedder.dimension
    assert log.count("query") == 1 and log.count(f"bulk:{embedder.BULK_BATCH}") == 12
    assert 0 < log.index("query") < len(log) - 1      # answered while the ingestion was still going


def test_bulk_work_is_never_starved_by_a_stream_of_queries():
    """At 200 customers a query is always waiting: bulk work still gets every (QUERY_BURST+1)-th turn."""
    gate, order = FairGate(), []
    stop = threading.Event()

    def queries(name):
        while not stop.is_set():
            with gate.query():
                order.append(name)
                time.sleep(0.002)

    askers = [threading.Thread(target=queries, args=(f"q{i}",)) for i in range(4)]
    for t in askers:
        t.start()
    time.sleep(0.05)
    bulk_done = []
    for i in range(3):
        with gate.bulk():
            order.append(f"B{i}")
            bulk_done.append(i)
    stop.set()
    for t in askers:
        t.join(5)
    assert bulk_done == [0, 1, 2]
    for i in range(1, 3):                       # between two batches, at most QUERY_BURST queries
        between = order[order.index(f"B{i - 1}") + 1:order.index(f"B{i}")]
        assert len(between) <= FairGate.QUERY_BURST
