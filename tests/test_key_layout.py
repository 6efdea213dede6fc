"""The move to hash-tagged keys (app/tenancy/key_layout.py, scripts/migrate_key_layout.py): a store from before is
refused until it ran; the run moves every tenant key and the platform queues with their values, TTLs and stream
groups, leaves other keys alone, is idempotent, and never overwrites a key that exists under both names."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.factory import create_app
from app.security.principal import Principal
from app.storage.redis_store import KEY_LAYOUT, STORE_MARKER, StoreLayoutError, TenantKeyspace, hash_tagged
from app.tenancy.key_layout import migrate_key_layout
from tests.conftest import ROOT

PREFIXES = {"alpha": "alpha:", "beta": "beta:"}


def seed_old_layout(r) -> None:
    """What a store of the earlier version holds (written the way that version wrote it)."""
    r.set(STORE_MARKER, "0123456789abcdef")                       # a marker without the layout
    r.rpush("alpha:conversation:ana", json.dumps({"role": "user", "content": "hola"}),
            json.dumps({"role": "assistant", "content": "¡Hola! ¿En qué te ayudo?"}))
    r.expire("alpha:conversation:ana", 3600)
    r.zadd("alpha:conversations", {"ana": 1.0})
    r.hset("alpha:document:doc1", mapping={"title": "Precios", "status": "ready"})
    r.set("beta:usage:messages:202612", 7)
    r.xgroup_create("misybot:chatwoot:jobs", "workers", id="0", mkstream=True)
    r.xadd("misybot:chatwoot:jobs", {"company_id": "alpha", "payload": "{}", "attempt": 0})
    r.zadd("misybot:chatwoot:retry", {"job": 1.0})
    r.zadd("misybot:webhooks:due", {"alpha:|evt_0123456789abcdef01234567": 1.0})
    r.zadd("misybot:audit:chain", {"rec": 1})
    r.set("misybot:audit:mac_key", "k")
    r.set("misybot:apikey:abc", "alpha")
    r.hset("misybot:jwks", "kid1", "{}")
    r.set("misybot:jwks:current", "kid1")
    r.set("misybot:tat:revoked_before:alpha", 1700000000)
    r.set("unrelated:key", "stays")


def test_an_old_store_is_refused_then_migrated_in_place_and_served(make_settings, redis_client):
    seed_old_layout(redis_client)
    with pytest.raises(StoreLayoutError, match="migrate_key_layout"):
        create_app(make_settings())

    report = migrate_key_layout(redis_client, PREFIXES)
    assert report.conflicts == [] and report.by_owner == {"alpha": 4, "beta": 1, "platform": 6}
    r = redis_client
    assert not r.exists("alpha:conversation:ana", "alpha:document:doc1", "misybot:chatwoot:jobs", "misybot:audit:chain")
    assert 0 < r.ttl("{alpha}:conversation:ana") <= 3600
    assert r.hget("{alpha}:document:doc1", "title") == "Precios" and r.get("{beta}:usage:messages:202612") == "7"
    assert [g["name"] for g in r.xinfo_groups("misybot:{chatwoot}:jobs")] == ["workers"]    # the group went along
    assert r.xlen("misybot:{chatwoot}:jobs") == 1 and r.zcard("misybot:{chatwoot}:retry") == 1
    assert r.zcard("misybot:{webhooks}:due") == 1 and r.zcard("misybot:{audit}:chain") == 1
    assert r.get("misybot:{jwks}:current") == "kid1" and r.get("misybot:tat:{alpha}:revoked_before") == "1700000000"
    # not the layout's business: the audit chain's signing key, credential lookups, other applications' keys
    assert r.get("misybot:audit:mac_key") == "k" and r.get("misybot:apikey:abc") == "alpha"
    assert r.get("unrelated:key") == "stays"
    assert r.get(STORE_MARKER) == KEY_LAYOUT + "0123456789abcdef"

    app = create_app(make_settings())          # starts now, and reads the moved history through the keyspace
    try:
        platform = app.extensions["misybot"]
        ctx = platform.tenant_context(platform.registry.get("alpha"), Principal("platform_admin", None))
        assert [t["content"] for t in ctx.conversations.history("ana")][0] == "hola"
    finally:
        app.extensions["misybot"].vectors.close()

    again = migrate_key_layout(redis_client, PREFIXES)           # idempotent
    assert again.moved == 0 and again.conflicts == []


def test_a_key_under_both_names_is_reported_and_never_overwritten(redis_client):
    redis_client.set(STORE_MARKER, "0123456789abcdef")
    redis_client.set("alpha:session:ana", "old")
    redis_client.set("{alpha}:session:ana", "new")
    report = migrate_key_layout(redis_client, PREFIXES)
    assert report.conflicts == ["alpha:session:ana"]
    assert redis_client.get("{alpha}:session:ana") == "new" and redis_client.get("alpha:session:ana") == "old"
    assert not redis_client.get(STORE_MARKER).startswith(KEY_LAYOUT)       # still refused: a person must look


def test_the_script_dry_run_changes_nothing(make_settings, redis_client, redis_url, config_file, tmp_path):
    seed_old_layout(redis_client)
    env = {**os.environ, "REDIS_URL": redis_url, "COMPANIES_CONFIG_FILE": str(config_file),
           "DATA_DIR": str(tmp_path / "data"), "ENVIRONMENT": "test"}
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "migrate_key_layout.py"), "--dry-run", "--json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["moved"] == 11
    assert redis_client.exists("alpha:conversation:ana") and not redis_client.exists("{alpha}:conversation:ana")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "migrate_key_layout.py"), "--json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert TenantKeyspace(redis_client, "alpha:").key("conversation", "ana") == hash_tagged("alpha:") + "conversation:ana"
    assert redis_client.exists("{alpha}:conversation:ana") and not redis_client.exists("alpha:conversation:ana")
