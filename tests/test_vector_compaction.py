"""Embedded Qdrant keeps deleted points in memory: documents that come and go must not grow the process without
end (app/storage/qdrant_store.py, VectorStore.compact)."""
from __future__ import annotations

import zlib

from app.knowledge.index import KnowledgeIndex
from app.storage.qdrant_store import COMPACT_MIN_DEAD, VectorStore, connect_qdrant

DIM = 8


class HashEmbedder:
    """Small deterministic vectors: this test is about bookkeeping, not about meaning."""
    dimension = DIM

    def embed_documents(self, texts):
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text):
        h = zlib.crc32(text.encode())
        return [1.0 + ((h >> i) & 1) for i in range(DIM)]


def _slots(store: VectorStore, collection: str) -> int:
    """Points the local collection holds in memory, deleted ones included."""
    return len(store.client._client.collections[collection].ids)


def _add(index: KnowledgeIndex, doc: str, text: str) -> None:
    index.upsert(index.build_points(doc, doc, [text]))


def test_uploads_and_deletes_keep_the_embedded_collection_bounded(tmp_path):
    store = VectorStore(connect_qdrant(None, None, tmp_path))
    index = KnowledgeIndex(store, "acme_documents", "acme", "es", HashEmbedder(), dense_weight=0.2)
    index.ensure_collection()
    _add(index, "keeper", "Horario: lunes a viernes de 8 a 6. Parqueadero gratis para pacientes.")
    rounds = 3 * COMPACT_MIN_DEAD
    for i in range(rounds):               # an uploader that keeps only its latest document
        _add(index, f"doc{i}", f"Aviso {i}: promoción de temporada en limpieza facial número {i}.")
        if i:
            index.delete_document_points(f"doc{i - 1}", 1)
        assert _slots(store, index.collection) <= 2 * COMPACT_MIN_DEAD + 2, f"after {i + 1} uploads"

    # Nothing live was lost, nothing deleted came back, and search answers from the reloaded collection.
    assert index.count() == 2
    assert {p["payload"]["document_id"] for p in index.scroll(with_vectors=False)} == {"keeper", f"doc{rounds - 1}"}
    hits = index.search("parqueadero", 3)
    assert hits and hits[0].document_id == "keeper"
    assert {h.document_id for h in index.search("promoción limpieza facial", 5)} <= {"keeper", f"doc{rounds - 1}"}
    # Still writable after a reload, and what a restart loads is the same, with the same similarities.
    _add(index, "late", "Nuevo equipo láser desde diciembre.")
    ranked = sorted((h.document_id, round(h.score, 5)) for h in index.search("láser promoción", 5, mode="dense"))
    store.close()
    reopened = VectorStore(connect_qdrant(None, None, tmp_path))
    again = KnowledgeIndex(reopened, "acme_documents", "acme", "es", HashEmbedder(), dense_weight=0.2)
    assert {p["payload"]["document_id"] for p in again.scroll(with_vectors=False)} == {"keeper", "late",
                                                                                      f"doc{rounds - 1}"}
    assert sorted((h.document_id, round(h.score, 5)) for h in again.search("láser promoción", 5, mode="dense")) == ranked
    reopened.close()


def test_a_large_collection_is_not_reloaded_for_a_few_deletes(tmp_path):
    store = VectorStore(connect_qdrant(None, None, tmp_path))
    index = KnowledgeIndex(store, "big_documents", "big", "es", HashEmbedder())
    index.ensure_collection()
    index.upsert(index.build_points("many", "many", [f"fragmento {i}" for i in range(2 * COMPACT_MIN_DEAD)]))
    before = store.client._client.collections[index.collection]
    for i in range(COMPACT_MIN_DEAD):
        _add(index, f"d{i}", f"texto {i}")
        index.delete_document_points(f"d{i}", 1)
    # dead slots (COMPACT_MIN_DEAD) < live points: reloading now would cost more than it frees
    assert store.client._client.collections[index.collection] is before
    assert index.count() == 2 * COMPACT_MIN_DEAD
    store.close()
