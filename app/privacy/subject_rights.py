"""Data-subject rights for one end user of one tenant: export everything we hold about them, or erase it.

The work is a list of sections, one per store, each with `name`, `export(user_id)` (JSON-able) and
`erase(user_id)` (a receipt such as {"deleted_keys": 2}). Every erase is idempotent, so a retry after a
partial failure finishes the job and counts zero for what is already gone. Keys touched, all inside the
tenant's keyspace (another tenant's keys are never scanned):

  conversation        {prefix}conversation:{user_id}, {prefix}bot_status:{user_id}, member of {prefix}conversations
  bookings            {prefix}booking_draft:{user_id}, {prefix}bookings:user:{user_id}; pending requests whose
                      user_id matches are deleted, appointments keep their slot without the customer's data
  widget              {prefix}widget:ev:{visitor}, {prefix}widget:profile:{visitor}, {prefix}widget:reply:{visitor}:*
                      for a widget conversation (user id web-{visitor})
  consent             {prefix}consent:{user_id}, {prefix}consent_log:{user_id}
  pii_placeholders    {prefix}pii_map:{user_id}
  pending_learnings   the user's items in {prefix}meta_outbox
  chatwoot_replies    {prefix}cw:out:* hashes whose user_id field matches
  tenant_vectors      points of the tenant's own collection whose payload user_id matches
  global_learnings    the user's part of the global meta-agent's collection (by pseudonym)
  sessions_and_cache  last: any other key of the keyspace with the user_id as whole ':'-separated
                      segment(s) after the kind (migrated `session:{user_id}`, locks, drafts)

Erasure runs under the conversation's turn lock, so a chat turn cannot write new data half-way through.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import redis

from app.conversations.history import ConversationBusy
from app.knowledge.global_knowledge import MetaBusy
from app.knowledge.index import VectorStoreUnavailable
from app.privacy.consent import now_iso
from app.privacy.learning_outbox import OutboxBusy
from app.storage.redis_values import UnsupportedKeyType, read_value

log = logging.getLogger("misybot.privacy")

# Failures a retry can fix: a dependency that is down or busy. Anything else is a bug (500).
RETRYABLE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, VectorStoreUnavailable,
                    ConversationBusy, OutboxBusy, MetaBusy)

# Kinds the final sweep never touches: tenant-wide keys and ids that are not user ids. Without this a
# user literally named "pending" or "secrets" would take `bookings:pending` or `chatwoot:secrets` along.
NEVER_SWEPT = frozenset({"conversations", "bookings", "documents", "document", "usage", "apikey", "client", "hmac",
                         "pk", "chatwoot", "cw", "tenant", "meta_outbox"})
# Kinds whose next segment names a kind too (`lock:conversation:{id}`): ids start one segment later.
NAMED_SEGMENTS = {"lock": 2}


@dataclass(frozen=True)
class Section:
    name: str
    export: Callable[[str], Any]
    erase: Callable[[str], dict]




def _hashes(keyspace, kind: str, user_id: str) -> dict[str, dict]:
    """key -> hash for every `{prefix}{kind}:*` hash whose user_id field is this user."""
    r = keyspace.redis
    out = {}
    for key in keyspace.scan_keys(kind):
        try:
            if r.hget(key, "user_id") != user_id:
                continue
            record = r.hgetall(key)
        except redis.exceptions.ResponseError:
            continue            # not a hash (migrated data): the sweep judges it by its name
        if record:
            out[key] = record
    return out


# -- sections -----------------------------------------------------------------------------------------
def conversation_section(platform, ctx) -> Section:
    store, keys = ctx.conversations, ctx.keyspace

    def export(user_id: str) -> dict:
        status = store.status(user_id)
        return {"messages": store.history(user_id), "status": status.status, "handoff_reason": status.reason,
                "last_activity": keys.redis.zscore(keys.key("conversations"), user_id)}

    def erase(user_id: str) -> dict:
        pipe = keys.redis.pipeline(transaction=True)
        pipe.delete(keys.key("conversation", user_id), keys.key("bot_status", user_id))
        pipe.zrem(keys.key("conversations"), user_id)
        deleted, unindexed = pipe.execute()
        return {"deleted_keys": int(deleted), "index_entries": int(unindexed)}

    return Section("conversation", export, erase)


def bookings_section(platform, ctx) -> Section:
    """Appointments keep their slot in the agenda but lose the customer's name, phone and e-mail; pending
    requests and the chat draft are deleted (app/bookings/store.py)."""
    return Section("bookings", ctx.bookings.export_user, ctx.bookings.erase_user)


def widget_section(platform, ctx) -> Section:
    """What the visitor's page was sent (events), the details it passed to misy.init, stored answers."""
    return Section("widget", ctx.widget.export_user, lambda u: {"deleted_keys": ctx.widget.erase_user(u)})


def consent_section(platform, ctx) -> Section:
    store = ctx.consent
    return Section("consent", lambda u: {"consents": store.get(u), "history": store.history(u)},
                   lambda u: {"deleted_keys": store.erase(u)})


# Further stores register `factory(platform, tenant_ctx) -> Section` here; user_sections runs them before the sweep.
EXTRA_SECTIONS: list[Callable[[Any, Any], Section]] = []


def placeholders_section(platform, ctx) -> Section:
    store = ctx.placeholders
    # The decrypted mapping is the user's own data, so it is what they get.
    return Section("pii_placeholders", lambda u: {"mapping": store.load(u)},
                   lambda u: {"deleted_keys": store.delete(u)})


def learnings_section(platform, ctx) -> Section:
    outbox = ctx.outbox
    return Section("pending_learnings", outbox.for_user, lambda u: {"deleted_items": outbox.drop_user(u)})


def global_learnings_section(platform, ctx) -> Section:
    """Learnings in the global collection built from the user's questions, found by their pseudonym:
    one in their words (or theirs alone) is deleted, elsewhere their contribution is removed."""
    kb = platform.global_knowledge

    def pseudonym(user_id: str) -> str:
        return platform.pseudonyms.user(ctx.company_id, user_id)

    def export(user_id: str) -> list[dict]:
        me = pseudonym(user_id)
        return [{"text": i.payload["text"] if i.payload.get("author") == me else None,
                 "industry": i.payload["industry"], "status": i.payload["status"]}
                for i in kb.list(contributor=me)]
    return Section("global_learnings", export, lambda u: kb.erase_contributor(pseudonym(u)))


def chatwoot_section(platform, ctx) -> Section:
    keys = ctx.keyspace

    def erase(user_id: str) -> dict:
        found = _hashes(keys, "cw:out", user_id)
        return {"deleted_keys": int(keys.redis.delete(*found)) if found else 0}

    return Section("chatwoot_replies", lambda u: [{"key": k, "record": v} for k, v in
                                                  sorted(_hashes(keys, "cw:out", u).items())], erase)


def vectors_section(platform, ctx) -> Section:
    """Through the tenant's KnowledgeIndex, so only points that name this company are exported or erased."""
    index = ctx.knowledge

    def export(user_id: str) -> list[dict]:
        return [{"id": str(p["id"]), "payload": p["payload"]} for p in index.scroll(user_id, with_vectors=False)]

    return Section("tenant_vectors", export, lambda u: {"deleted_points": index.delete_for_user(u)})


def owns_key(key: str, prefix: str, user_id: str) -> bool:
    """Whether a key of the keyspace names this user: its id as whole ':'-separated segment(s) after the
    kind, never a substring (user "ana" does not own `session:anabel`)."""
    if not key.startswith(prefix):
        return False
    segments = key[len(prefix):].split(":")
    if segments[0] in NEVER_SWEPT:
        return False
    wanted = user_id.split(":")
    n = len(wanted)
    return any(segments[i:i + n] == wanted for i in range(NAMED_SEGMENTS.get(segments[0], 1), len(segments) - n + 1))


def sweep_section(platform, ctx) -> Section:
    keys = ctx.keyspace

    def matching(user_id: str, skip: set[str]) -> list[str]:
        skip = skip | {keys.key("lock", "conversation", user_id)}    # held by this erasure; ephemeral
        return sorted(k for k in keys.scan_keys() if k not in skip and owns_key(k, keys.prefix, user_id))

    def export(user_id: str) -> list[dict]:
        # Keys the sections above already export are not listed twice.
        owned = {keys.key(kind, user_id) for kind in ("conversation", "bot_status", "booking_draft", "consent",
                                                       "consent_log", "pii_map")}
        out = []
        for key in matching(user_id, owned):
            try:
                value = read_value(keys.redis, key)
            except UnsupportedKeyType:
                value = {"type": keys.redis.type(key), "value": None, "ttl_ms": None}
            if value is not None:
                out.append({"key": key, **value})
        return out

    def erase(user_id: str) -> dict:
        # What a failed section above left behind goes too: this is the last line.
        found = matching(user_id, set())
        deleted = 0
        for start in range(0, len(found), 500):
            deleted += int(keys.redis.delete(*found[start:start + 500]))
        return {"deleted_keys": deleted}

    return Section("sessions_and_cache", export, erase)


BUILTIN_SECTIONS = (learnings_section, global_learnings_section, consent_section, conversation_section,
                    bookings_section, widget_section, placeholders_section, chatwoot_section, vectors_section)


def user_sections(platform, tenant_ctx) -> list[Section]:
    """Pending learnings go first, so nothing of the user can still leave for the global collection while
    the rest is erased; the keyspace sweep goes last."""
    sections = [build(platform, tenant_ctx) for build in BUILTIN_SECTIONS]
    sections += [build(platform, tenant_ctx) for build in EXTRA_SECTIONS]
    sections.append(sweep_section(platform, tenant_ctx))
    return sections


def export_user(platform, tenant_ctx, user_id: str) -> dict:
    """Everything held about the user; a dependency error propagates (a partial export would mislead)."""
    return {"user_id": user_id, "company_id": tenant_ctx.company_id, "exported_at": now_iso(),
            "sections": {s.name: s.export(user_id) for s in user_sections(platform, tenant_ctx)}}


def erase_user(platform, tenant_ctx, user_id: str) -> dict:
    """Run every section even when one fails, and say which failed: `complete` is False until a retry
    (every section is idempotent) has finished them all."""
    receipts: dict[str, dict] = {}
    failed: dict[str, dict] = {}
    with tenant_ctx.conversations.turn_lock(user_id):
        for section in user_sections(platform, tenant_ctx):
            try:
                receipts[section.name] = section.erase(user_id)
            except RETRYABLE_ERRORS as exc:
                log.error("erasure section failed: %s: %s", section.name, type(exc).__name__)
                failed[section.name] = {"error": type(exc).__name__, "retryable": True}
            except Exception as exc:
                log.exception("erasure section failed: %s", section.name)
                failed[section.name] = {"error": type(exc).__name__, "retryable": False}
    return {"user_id": user_id, "erased_at": now_iso(), "receipts": receipts, "failed": failed,
            "complete": not failed}
