"""Back up one tenant to a single archive, and restore it into another deployment.

The archive (.tar.gz) holds:
  manifest.json   format, company, counts and a sha256 of every other member
  company.json    the company's config block
  redis.jsonl     every key under the tenant's prefix, plus the platform's lookups of its credentials
                  (secrets stay encrypted: restore needs the same MISYBOT_MASTER_KEY)
  qdrant.jsonl    every point of its collection (those naming the company): id, dense and lexical
                  vectors, payload
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

from app.storage.redis_store import hash_tagged
from app.storage.redis_values import read_value, write_value
from app.tenancy.config import TenantConfig
from app.tenancy.config_file import append_company, locked, write_atomically
from app.tenancy.platform_keys import is_lookup

FORMAT = "misybot-tenant-backup/1"


class BackupError(ValueError):
    pass


def _tenant_redis_keys(ctx) -> list[str]:
    return sorted(ctx.keyspace.scan_keys()) + ctx.platform_keys.lookups()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> str:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


def export_tenant(platform, ctx, path: Path) -> dict:
    r = ctx.keyspace.redis
    keys = _tenant_redis_keys(ctx)
    values = ((k, read_value(r, k)) for k in keys)
    redis_lines = [json.dumps({"key": k, **v}, ensure_ascii=False) for k, v in values if v is not None]
    points = list(ctx.knowledge.scroll())
    members = {
        "company.json": json.dumps(ctx.config.model_dump(mode="json"), ensure_ascii=False, indent=2).encode(),
        "redis.jsonl": "\n".join(redis_lines).encode(),
        "qdrant.jsonl": "\n".join(json.dumps(p, ensure_ascii=False) for p in points).encode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        sums = {name: _add(tar, name, data) for name, data in members.items()}
        manifest = {"format": FORMAT, "company_id": ctx.company_id, "created_at": time.time(),
                    "redis_keys": len(redis_lines), "qdrant_points": len(points),
                    "collection": ctx.config.vectorstore_index, "sha256": sums}
        _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    tmp.replace(path)
    return manifest


def read_archive(path: Path) -> tuple[dict, dict[str, bytes]]:
    try:
        with tarfile.open(path, "r:gz") as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]  # a regular file always has a reader
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path} is not a readable backup archive: {exc}") from None
    try:
        manifest = json.loads(files["manifest.json"])
    except (KeyError, ValueError):
        raise BackupError("the archive has no valid manifest.json") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for name, digest in manifest["sha256"].items():
        if hashlib.sha256(files.get(name, b"")).hexdigest() != digest:
            raise BackupError(f"{name} does not match its checksum: the archive is damaged")
    return manifest, files


def _to_key_layout(config, rows) -> None:
    """An archive made before hash-tagged keys names them `benova:…`: they are restored as `{benova}:…`."""
    old, new = config.redis_prefix, hash_tagged(config.redis_prefix)
    for row in rows:
        if row["key"].startswith(old):
            row["key"] = new + row["key"][len(old):]


def _check_keys_belong(config, rows) -> None:
    """An archive may only write this tenant's keys: everything under its prefix, and platform lookups
    that point at this tenant (a tampered archive must not plant credentials for another company)."""
    prefix = hash_tagged(config.redis_prefix)
    for row in rows:
        key = row["key"]
        if key.startswith(prefix):
            continue
        lookup = is_lookup(key)
        owner = (row["value"].get("company_id") if isinstance(row["value"], dict) else row["value"]) if lookup else None
        if not lookup or owner != config.company_id:
            raise BackupError(f"the archive holds a key that is not this company's ({key[:60]}); refusing it")


def import_tenant(platform, path: Path) -> dict:
    """Restore into this deployment. Refuses, before writing anything, if any of the tenant's keys,
    its collection or a different config block already exist."""
    from app.security.principal import Principal

    manifest, files = read_archive(path)
    config = TenantConfig.model_validate(json.loads(files["company.json"]))
    redis_rows = [json.loads(line) for line in files["redis.jsonl"].decode().splitlines() if line]
    _to_key_layout(config, redis_rows)
    points = [json.loads(line) for line in files["qdrant.jsonl"].decode().splitlines() if line]
    ctx = platform.tenant_context(config, Principal("platform_admin", None))
    r = ctx.keyspace.redis
    existing = platform.registry.get(config.company_id)
    if existing is not None and existing != config:
        raise BackupError(f"company {config.company_id!r} exists here with a different configuration")
    _check_keys_belong(config, redis_rows)
    clashes = [row["key"] for row in redis_rows if r.exists(row["key"])]
    if clashes:
        raise BackupError(f"{len(clashes)} keys already exist here (e.g. {clashes[0]}); restore into a "
                          "deployment without this company")
    if ctx.knowledge.exists() and ctx.knowledge.count() > 0:
        raise BackupError(f"collection {config.vectorstore_index!r} already holds points here")

    path_ = platform.settings.companies_config_file
    previous_text = path_.read_text(encoding="utf-8") if path_.exists() else ""
    try:
        if existing is None:
            with locked(path_):
                append_company(path_, config.model_dump(mode="json"))
            platform.reload_config()
        for row in redis_rows:
            write_value(r, row["key"], row)
        ctx.knowledge.ensure_collection()
        ctx.knowledge.upsert_points(points)
    except BaseException:
        # All or nothing: what this import wrote goes (nothing here existed before, checked above).
        written = [row["key"] for row in redis_rows]
        for start in range(0, len(written), 500):
            r.delete(*written[start:start + 500])
        if ctx.knowledge.exists():
            ctx.knowledge.drop()
        if existing is None:
            write_atomically(path_, previous_text)
            platform.registry.reload()
        raise
    restored = {"company_id": config.company_id, "redis_keys": len(redis_rows), "qdrant_points": len(points),
                "collection_points": ctx.knowledge.count()}
    if restored["collection_points"] != manifest["qdrant_points"]:
        raise BackupError(f"restored {restored['collection_points']} points, the archive has {manifest['qdrant_points']}")
    return restored
