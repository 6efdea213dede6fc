"""Move a single-tenant deployment's data into one company of the multi-tenant layout.

Redis: every key `conversation:*`, `document:*`, `bot_status:*` (and the other kinds in LEGACY_KINDS)
is copied to `{redis_prefix}<same key>`, with its type and remaining TTL.
Qdrant: every point of the legacy collection is copied into the company's collection with the same id,
`company_id` in its payload, a dense vector (the legacy one when its size matches our embedder,
re-embedded otherwise) and our lexical vector; its documents are registered so they list and search.

Safe to run again and to resume after a crash: each copy is skipped when the target already holds
the same content (checksums), and nothing of the source is deleted until every copied key and point
has been verified by count and checksum. A dry run reads and reports, and writes nothing.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from app.knowledge import lexical
from app.knowledge.index import embedding_text
from app.security.principal import Principal
from app.storage.redis_store import hash_tagged
from app.storage.redis_values import checksum, read_value, write_value

LEGACY_KINDS = ("conversation", "document", "bot_status", "booking", "session", "consent")
_CONTENT_FIELDS = ("page_content", "content", "text", "chunk")


@dataclass
class MigrationReport:
    company_id: str
    dry_run: bool
    config_created: bool = False
    config_block_added: bool = False
    redis: dict = field(default_factory=lambda: defaultdict(int))
    qdrant: dict = field(default_factory=lambda: defaultdict(int))
    conflicts: list = field(default_factory=list)
    source_deleted: bool = False

    def as_dict(self) -> dict:
        return {"company_id": self.company_id, "dry_run": self.dry_run, "config_created": self.config_created,
                "config_block_added": self.config_block_added, "redis": dict(self.redis),
                "qdrant": dict(self.qdrant), "conflicts": self.conflicts[:50],
                "conflict_count": len(self.conflicts), "source_deleted": self.source_deleted}


def _legacy_keys(r, kinds) -> list[str]:
    keys = []
    for kind in kinds:
        keys.extend(r.scan_iter(match=f"{kind}:*", count=1000))
    return sorted(set(keys))


def migrate_redis(r, prefix: str, kinds, report: MigrationReport) -> list[str]:
    """Copy legacy keys under the prefix. Returns the source keys whose copy is verified."""
    sources = _legacy_keys(r, kinds)
    report.redis["found"] = len(sources)
    verified = []
    for key in sources:
        src = read_value(r, key)
        if src is None:
            continue
        target = hash_tagged(prefix) + key    # a data move, not request input: legacy ids are kept verbatim
        tgt = read_value(r, target)
        if tgt is not None and checksum(tgt) == checksum(src):
            report.redis["already_copied"] += 1
        elif tgt is not None:
            report.conflicts.append({"key": key, "target": target, "reason": "target holds different data"})
            continue
        elif report.dry_run:
            report.redis["to_copy"] += 1
            continue
        else:
            write_value(r, target, src)
            report.redis["copied"] += 1
        if not report.dry_run and checksum(read_value(r, target)) == checksum(src):
            verified.append(key)
    report.redis["verified"] = len(verified)
    return verified


def _content(payload: dict) -> str:
    for f in _CONTENT_FIELDS:
        if isinstance(payload.get(f), str) and payload[f].strip():
            return payload[f]
    return ""


def _legacy_meta(payload: dict) -> dict:
    meta = payload.get("metadata")
    return meta if isinstance(meta, dict) else payload


def _same_point(expected: tuple[str, list[float]], payload: dict, dense) -> bool:
    """Content by checksum; the vector within float tolerance (Qdrant re-normalises cosine vectors)."""
    digest, vec = expected
    if hashlib.sha256((payload or {}).get("content", "").encode()).hexdigest() != digest or dense is None:
        return False
    a, b = np.asarray(vec, dtype="float32"), np.asarray(dense, dtype="float32")
    a, b = a / (np.linalg.norm(a) or 1.0), b / (np.linalg.norm(b) or 1.0)
    return a.shape == b.shape and bool(np.allclose(a, b, atol=1e-4))


def migrate_qdrant(ctx, legacy_collection: str, report: MigrationReport) -> bool:
    """Copy legacy points into the tenant collection. Returns True when every point is verified."""
    index = ctx.knowledge
    legacy = index.legacy(legacy_collection)
    if not legacy.exists():
        report.qdrant["legacy_collection"] = "absent"
        return True
    dim = index.embedder.dimension
    if not report.dry_run:
        index.ensure_collection()
    docs: dict[str, dict] = {}
    expected: dict = {}
    for batch in legacy.pages():
        report.qdrant["found"] += len(batch)
        rows = []
        for p in batch:
            payload = p["payload"]
            meta = _legacy_meta(payload)
            content = _content(payload)
            legacy_doc = str(meta.get("document_id") or meta.get("doc_id") or meta.get("source") or content[:64])
            document_id = hashlib.sha256(f"{ctx.company_id}\x00legacy\x00{legacy_doc}".encode()).hexdigest()[:32]
            title = str(meta.get("title") or meta.get("source") or "Documento migrado")[:300]
            d = docs.setdefault(document_id, {"title": title, "chunks": 0, "bytes": 0, "legacy": legacy_doc,
                                              "preview": content[:500]})
            d["chunks"] += 1
            d["bytes"] += len(content.encode())
            rows.append({"id": p["id"], "dense": p["dense"] if p["dense"] and len(p["dense"]) == dim else None,
                         "text": embedding_text(title, content), "payload": {
                             **{k: v for k, v in payload.items() if k != "company_id"},
                             "company_id": ctx.company_id, "document_id": document_id,
                             "legacy_document_id": legacy_doc, "title": title,
                             "chunk_index": int(meta.get("chunk_index", 0) or 0), "content": content}})
        missing = [row for row in rows if row["dense"] is None]
        if missing:       # another embedding model wrote these: embed the text again with ours
            for row, vec in zip(missing, index.embedder.embed_documents([row["text"] for row in missing]), strict=True):
                row["dense"] = vec
            report.qdrant["re_embedded"] += len(missing)
        points = []
        for row in rows:
            idx, vals = lexical.document_vector(row["text"], ctx.config.language)
            points.append({"id": row["id"], "dense": row["dense"], "lexical": {"indices": idx, "values": vals},
                           "payload": row["payload"]})
            expected[row["id"]] = (hashlib.sha256(row["payload"]["content"].encode()).hexdigest(), row["dense"])
        if not report.dry_run and points:
            index.upsert_points(points)
            report.qdrant["copied"] += len(points)
    if report.dry_run:
        report.qdrant["documents"] = len(docs)
        return False
    _register_documents(ctx, docs, report)
    # Verify: every expected point is there with the same vector and content.
    ok = 0
    ids = list(expected)
    for start in range(0, len(ids), 256):
        for p in index.get_points(ids[start:start + 256]):
            if _same_point(expected[p["id"]], p["payload"], p["dense"]):
                ok += 1
    report.qdrant["verified"] = ok
    return ok == len(expected)


def _register_documents(ctx, docs: dict, report: MigrationReport) -> None:
    """Make migrated documents list and search like uploaded ones (skip those already registered)."""
    r, keys = ctx.keyspace.redis, ctx.keyspace
    now = time.time()
    for document_id, d in docs.items():
        if ctx.documents.get(document_id) is not None:
            continue
        pipe = r.pipeline(transaction=True)
        pipe.hset(keys.key("document", document_id), mapping={
            "document_id": document_id, "title": d["title"], "chunks": d["chunks"], "size_bytes": d["bytes"],
            "content_type": "text/plain", "source": f"migrated:{d['legacy']}"[:300], "metadata": "{}",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now)), "preview": d["preview"],
            "status": "ready"})
        pipe.zadd(keys.key("documents"), {document_id: now})
        pipe.hincrby(keys.key("usage", "documents"), "count", 1)
        pipe.hincrby(keys.key("usage", "documents"), "bytes", d["bytes"])
        pipe.execute()
        report.qdrant["documents_registered"] += 1


def migrate(platform, company_id: str, legacy_collection: str = "documents", kinds=LEGACY_KINDS,
            dry_run: bool = False, delete_source: bool = True) -> MigrationReport:
    report = MigrationReport(company_id, dry_run)
    config = platform.registry.get(company_id)
    owners = {c.vectorstore_index: c.company_id for c in platform.registry.snapshot.companies.values()}
    if legacy_collection in owners:
        raise ValueError(f"collection {legacy_collection!r} belongs to company {owners[legacy_collection]!r}; "
                         "a legacy collection must not be any company's")
    ctx = platform.tenant_context(config, Principal("platform_admin", None))
    r = platform.redis
    state_key = ctx.platform_keys.migration
    if not dry_run:
        r.hset(state_key, mapping={"started_at": time.time(), "phase": "copying"})
    verified_keys = migrate_redis(r, config.redis_prefix, kinds, report)
    qdrant_ok = migrate_qdrant(ctx, legacy_collection, report)
    if dry_run:
        return report
    redis_ok = report.redis["verified"] == report.redis["found"] and not report.conflicts
    if delete_source and redis_ok and qdrant_ok:
        r.hset(state_key, "phase", "deleting_source")
        for start in range(0, len(verified_keys), 500):
            report.redis["source_deleted"] += r.delete(*verified_keys[start:start + 500])
        legacy = ctx.knowledge.legacy(legacy_collection)
        if legacy.exists():
            legacy.drop()
            report.qdrant["legacy_collection"] = "deleted"
        report.source_deleted = True
    r.hset(state_key, mapping={"phase": "done" if report.source_deleted else "copied_not_deleted",
                               "finished_at": time.time(), "report": json.dumps(report.as_dict())})
    return report
