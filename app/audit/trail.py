"""The per-tenant audit trail: every event with a company_id becomes a record in that tenant's own hash chain.

A record is {seq, at, kind, outcome, request_id, trace_id, actor, company_id, prev, hash} plus the event's fields
that the kind's allow-list names (ALLOWED). `prev` is the hash of the record before it (GENESIS for the first)
and `hash` = sha256 of the canonical JSON (sorted keys, no spaces) of the record without `hash`. Before a record
is kept, a cheap guard drops every field the allow-list does not name and every string over 200 characters, so
no caller can leak customer text into the trail by adding a field.

Storage, in the tenant's keyspace (`{prefix}` = its hash-tagged redis_prefix, `{benova}:`; events without a tenant
use `misybot:{audit}:`):

  {prefix}audit:chain              zset  score = seq, member = the record's canonical JSON (hash included)
  {prefix}audit:head               hash  seq, hash, mac: the newest record, signed
  {prefix}audit:checkpoint         hash  seq, hash, at, mac: the newest record retention removed, signed
  {prefix}audit:at                 zset  score = at (epoch s), member = seq: the time index
  {prefix}audit:ix:{field}:{value} zset  score = at, member = seq, for kind, outcome, agent, channel, user
  {prefix}audit:trim_guard         string with a 1 h TTL: one retention pass per tenant an hour, any process
  {prefix}audit:tmp:{uuid}         a query's intersection of indexes, deleted after it (60 s TTL at most)
  misybot:audit:mac_key            the HMAC key of heads and checkpoints, encrypted by the vault

Why a zset and not a stream: tenant backup, restore and migration copy zsets and hashes
(app/storage/redis_values.py) but not streams, and a zset reads by seq (ZRANGEBYSCORE) for verification.
The time and field indexes make `GET /audit` a range read on one zset (or the intersection of a few), so a page
and its total never scan the whole trail.

Appending is a compare-and-set: the writer reads the head, builds and hashes the next records, and one Lua step
adds them only if the head is still the one it read (else it reads again). Redis Lua has no SHA-256, so the hash
cannot be computed inside the script; the CAS keeps the chain linear across threads and processes all the same.
The head carries an HMAC, so removing the newest records (which leaves a consistent shorter chain) is detected.

Retention removes a prefix of the chain (records older than the tenant's audit.retention_days), after checking
that prefix against the current checkpoint, and replaces the checkpoint with the last removed record's seq and
hash, HMAC-signed with a key only the vault can open: verification starts from the checkpoint, and a forged one
fails. Limits: whoever holds both Redis and the master key can rewrite history; deleting a tenant's whole trail
(every audit key) is not detected from Redis alone.

Never blocking or failing the caller: `__call__` only guards the event and puts the record on a bounded deque; a
background thread drains it to Redis, keeps records buffered while Redis is down (retrying with backoff) and,
when the buffer is full, drops the oldest and counts them in `dropped`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import random
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import redis

from app.security.principal import Principal
from app.security.vault import Vault
from app.tenancy.config import PLATFORM_REDIS_PREFIX, AuditConfig

log = logging.getLogger("misybot.audit")

GENESIS = "0" * 64                  # the `prev` of a chain's first record
MAX_TEXT = 200                      # longer strings are dropped: identifiers are short, customer text is not
MAX_LIST = 32
BATCH = 500                         # records per append (one CAS)
PAGE = 1000                         # records per read while verifying or trimming
TRIM_EVERY_S = 3600
MAX_BACKOFF_S = 30.0
CAS_ATTEMPTS = 200
PLATFORM_CHAIN = "platform"         # the chain of events that have no (known) tenant
MAC_KEY = f"{PLATFORM_REDIS_PREFIX}audit:mac_key"
_MAC_VERSION = "misybot-audit-v1"

STAGES = ("resolve", "count_quota", "lock_conversation", "check_consent", "run_graph", "format_reply", "persist",
          "hand_off", "queue_learning", "audit")
COMMON = ("kind", "outcome", "request_id", "trace_id", "actor", "company_id")
# Per kind, the event fields a record keeps: None = a scalar or a list of scalars; a set = a flat object with
# those keys only (scalar values). Anything else is dropped before the record exists.
_Shape = frozenset[str] | None
ALLOWED: dict[str, dict[str, _Shape]] = {
    "request": dict.fromkeys(("method", "route", "status", "duration_ms", "error_code")),
    "security_refusal": dict.fromkeys(("method", "route", "status", "error_code", "reason")),
    "admin_action": dict.fromkeys(("method", "route", "status", "target_company")),
    "turn": {**dict.fromkeys(("user", "channel", "source", "agent", "route_reasons", "duration_ms", "handoff",
                              "emergency", "grounded", "booking_status", "error_code")),
             "stages_ms": frozenset(STAGES),
             "llm": frozenset({"provider", "model", "tokens", "fallback_reason"})},
    "chatwoot_delivery": dict.fromkeys(("attempts", "error")),
    "booking": dict.fromkeys(("event", "channel")),
}
INDEXED = ("kind", "outcome", "agent", "channel", "user")
_KIND = re.compile(r"^[a-z_]{1,40}$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DROP = object()


# -- the guard and the record ------------------------------------------------------------------------------------
def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _DROP       # NaN is not JSON
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            return _DROP
        if not value.isascii():
            try:
                value.encode()          # a lone surrogate would fail the hash later, in the drain thread
            except UnicodeEncodeError:
                return _DROP
        return value
    return _DROP


def _shaped(value: Any, shape: _Shape) -> Any:
    if shape is not None:
        if not isinstance(value, dict):
            return _DROP
        kept = {k: _scalar(v) for k, v in value.items() if k in shape}
        return {k: v for k, v in kept.items() if v is not _DROP}
    if isinstance(value, (list, tuple)):
        items = [_scalar(v) for v in value[:MAX_LIST]]
        return [v for v in items if v is not _DROP]
    return _scalar(value)


def clean_fields(kind: str, fields: Any) -> dict[str, Any]:
    """The event fields a record of this kind may keep (see ALLOWED); everything else is dropped."""
    allowed = ALLOWED.get(kind, {})
    if not isinstance(fields, dict):
        return {}
    out = {}
    for name, shape in allowed.items():
        if name in fields:
            value = _shaped(fields[name], shape)
            if value is not _DROP:
                out[name] = value
    return out


def _text(value: Any) -> str | None:
    cleaned = _scalar(value) if isinstance(value, str) else None
    return None if cleaned is _DROP else cleaned


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def audit_record(event: Any) -> tuple[dict[str, Any], float] | None:
    """(record without seq/prev/hash, its time rounded to ms) for an Event, or None when it has no valid kind."""
    kind = getattr(event, "kind", None)
    if not isinstance(kind, str) or not _KIND.match(kind):
        return None
    at = getattr(event, "at", None)
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        at = time.time()
    at = round(at * 1000) / 1000
    record: dict[str, Any] = {"at": iso_utc(at), "kind": kind}
    for name in COMMON[1:]:
        record[name] = _text(getattr(event, name, None))
    record.update(clean_fields(kind, getattr(event, "fields", None)))
    return record, at


def canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"}).encode()).hexdigest()


def index_part(value: str) -> str:
    """A filter value as a key part: itself when plainly safe, else a digest (no key ever holds raw input)."""
    if _SAFE_PART.match(value):
        return value
    return "h_" + hashlib.blake2b(value.encode(errors="replace"), digest_size=10).hexdigest()


# -- signing heads and checkpoints -------------------------------------------------------------------------------
class AuditSigner:
    """HMAC-SHA256 under a random platform key kept encrypted by the vault (the Pseudonyms pattern): Redis alone
    cannot forge a head or checkpoint, and rotating the master key (rotate_encryption) keeps every signature."""

    def __init__(self, vault: Vault):
        self.vault = vault
        self._key: bytes | None = None

    def key(self, client: redis.Redis) -> bytes:
        if self._key is None:
            client.set(MAC_KEY, self.vault.encrypt(secrets.token_hex(32)), nx=True)    # first process wins
            self._key = bytes.fromhex(self.vault.decrypt(client.get(MAC_KEY)))
        return self._key

    def sign(self, client: redis.Redis, what: str, chain_id: str, seq: int, digest: str, at: str = "") -> str:
        # `what` separates heads from checkpoints: a signed head must never pass as a checkpoint.
        message = "\x1f".join([_MAC_VERSION, what, chain_id, str(seq), digest, at])
        return hmac.new(self.key(client), message.encode(), hashlib.sha256).hexdigest()

    def check(self, client: redis.Redis, mac: str | None, *args: Any) -> bool:
        return bool(mac) and hmac.compare_digest(mac or "", self.sign(client, *args))

    def rotate_encryption(self, client: redis.Redis) -> int:
        """Re-encrypt the stored key under the first master key (scripts/rotate_credentials.py master-key)."""
        token = client.get(MAC_KEY)
        if not token:
            return 0
        client.set(MAC_KEY, self.vault.rotate(token))
        return 1


# -- one chain in Redis ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainKeys:
    chain_id: str                               # the company_id, or PLATFORM_CHAIN
    key: Callable[..., str]                     # TenantKeyspace.key, or the platform's equivalent

    @property
    def chain(self) -> str:
        return self.key("audit", "chain")

    @property
    def head(self) -> str:
        return self.key("audit", "head")

    @property
    def checkpoint(self) -> str:
        return self.key("audit", "checkpoint")

    @property
    def at(self) -> str:
        return self.key("audit", "at")

    @property
    def trim_guard(self) -> str:
        return self.key("audit", "trim_guard")

    def index(self, field: str, value: str) -> str:
        return self.key("audit", "ix", field, index_part(value))

    def temporary(self) -> str:
        return self.key("audit", "tmp", uuid.uuid4().hex)

    def indexes_of(self, record: dict[str, Any]) -> list[str]:
        return [self.index(f, record[f]) for f in INDEXED if isinstance(record.get(f), str) and record[f]]


def platform_key(kind: str, *parts: str) -> str:
    """Keys of the platform chain (events refused before a tenant was known), under misybot:{audit}: (one hash
    tag, as a tenant's chain has its prefix: the chain's scripts and transactions touch several of its keys)."""
    return f"{PLATFORM_REDIS_PREFIX}{{{kind}}}:" + ":".join(parts)


@dataclass(frozen=True)
class AuditFilter:
    since: float | None = None                  # inclusive, epoch seconds
    until: float | None = None                  # exclusive
    kind: str | None = None
    outcome: str | None = None
    agent: str | None = None
    channel: str | None = None
    user: str | None = None

    def indexed(self) -> list[tuple[str, str]]:
        return [(f, getattr(self, f)) for f in INDEXED if getattr(self, f)]


def scan_zset(client: redis.Redis, key: str, low: str, high: str, page: int) -> Iterator[tuple[str, float]]:
    """(member, score) with low <= score <= high in score order, a page at a time. Each page starts at the last
    score seen and skips the members of that score already returned: a LIMIT offset would walk every earlier
    member again, which is quadratic over a long trail."""
    cursor, skip, cursor_score = low, 0, None
    while True:
        rows = client.zrangebyscore(key, cursor, high, start=skip, num=page, withscores=True)
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1][1]
        same = sum(1 for _, score in rows if score == last)
        skip = skip + same if last == cursor_score else same
        cursor, cursor_score = repr(last), last


class AuditReader:
    """Reads one chain: a page newest first, or everything in a range oldest first. Only records of the chain
    whose keys it was given are ever read; the API gives it the keys of the caller's own tenant."""

    def __init__(self, client: redis.Redis, keys: ChainKeys):
        self.redis = client
        self.keys = keys

    @contextmanager
    def _source(self, flt: AuditFilter) -> Iterator[tuple[str, bool]]:
        """(zset, is_temporary): the zset (score = at, member = seq) of exactly the records the field filters
        select. Several filters intersect their indexes into a temporary key."""
        wanted = [self.keys.index(f, v) for f, v in flt.indexed()]
        if len(wanted) <= 1:
            yield (wanted[0] if wanted else self.keys.at), False
            return
        tmp = self.keys.temporary()
        pipe = self.redis.pipeline(transaction=True)
        pipe.zinterstore(tmp, wanted, aggregate="MIN")    # every index scores a record by its `at`
        pipe.expire(tmp, 60)                                 # a crashed reader leaves nothing for long
        pipe.execute()
        try:
            yield tmp, True
        finally:
            self.redis.delete(tmp)

    @staticmethod
    def _bounds(flt: AuditFilter) -> tuple[str, str]:
        low = "-inf" if flt.since is None else f"{flt.since:.3f}"
        high = "+inf" if flt.until is None else f"({flt.until:.3f}"
        return low, high

    def records(self, seqs: list[str]) -> list[dict[str, Any]]:
        pipe = self.redis.pipeline(transaction=False)
        for seq in seqs:
            pipe.zrangebyscore(self.keys.chain, seq, seq, start=0, num=1)
        out = []
        for found in pipe.execute() if seqs else []:
            if found:                   # trimmed meanwhile: skipped
                try:
                    out.append(json.loads(found[0]))
                except ValueError:
                    continue
        return out

    def page(self, flt: AuditFilter, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        """Newest first: (records of the page, total matching)."""
        low, high = self._bounds(flt)
        with self._source(flt) as (source, _):
            total = self.redis.zcount(source, low, high)
            seqs = self.redis.zrevrangebyscore(source, high, low, start=(page - 1) * per_page, num=per_page)
        return self.records(seqs), total

    def export(self, flt: AuditFilter, chunk: int = 500) -> Iterator[dict[str, Any]]:
        """Oldest first, so a reader can follow the chain links; the range ends where the export started."""
        if flt.until is None:
            flt = replace(flt, until=time.time() + 1)
        low, high = self._bounds(flt)
        with self._source(flt) as (source, temporary):
            seqs: list[str] = []
            for seq, _at in scan_zset(self.redis, source, low, high, chunk):
                seqs.append(seq)
                if len(seqs) == chunk:
                    if temporary:
                        self.redis.expire(source, 60)     # a slow client keeps its intersection alive
                    yield from self.records(seqs)
                    seqs = []
            yield from self.records(seqs)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class TrimResult:
    removed: int
    checkpoint_seq: int | None = None
    problem: str | None = None


class ChainBroken(Exception):
    def __init__(self, seq: int, problem: str):
        super().__init__(problem)
        self.seq, self.problem = seq, problem


class ChainContention(RuntimeError):
    """Another writer kept moving the head for CAS_ATTEMPTS tries (the records stay buffered)."""


# KEYS: chain, head, at, index keys…  ARGV: expected head seq, expected head hash, new seq, new hash, new mac,
# JSON [[member, seq, at, [KEYS positions of its indexes]], …]. 0 when the head moved (the caller rebuilds).
_APPEND = """
local seq = redis.call('HGET', KEYS[2], 'seq') or '0'
local hash = redis.call('HGET', KEYS[2], 'hash') or ''
if seq ~= ARGV[1] or hash ~= ARGV[2] then return 0 end
for _, e in ipairs(cjson.decode(ARGV[6])) do
  redis.call('ZADD', KEYS[1], e[2], e[1])
  redis.call('ZADD', KEYS[3], e[3], e[2])
  for _, i in ipairs(e[4]) do redis.call('ZADD', KEYS[i], e[3], e[2]) end
end
redis.call('HSET', KEYS[2], 'seq', ARGV[3], 'hash', ARGV[4], 'mac', ARGV[5])
return 1
"""

# KEYS: chain, checkpoint, at, index keys…  ARGV: expected checkpoint seq, first seq, last seq, last hash, last at,
# mac, JSON [[seq, [KEYS positions]], …]. 0 when the checkpoint or the chain's first record moved.
_TRIM = """
local cp = redis.call('HGET', KEYS[2], 'seq') or '0'
if cp ~= ARGV[1] then return 0 end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 or tonumber(first[2]) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3])
for _, e in ipairs(cjson.decode(ARGV[7])) do
  redis.call('ZREM', KEYS[3], e[1])
  for _, i in ipairs(e[2]) do redis.call('ZREM', KEYS[i], e[1]) end
end
redis.call('HSET', KEYS[2], 'seq', ARGV[3], 'hash', ARGV[4], 'at', ARGV[5], 'mac', ARGV[6])
return 1
"""


class AuditChain(AuditReader):
    """One chain's writes and checks: append (CAS on the head), retention trim, verification."""

    def __init__(self, client: redis.Redis, keys: ChainKeys, signer: AuditSigner):
        super().__init__(client, keys)
        self.signer = signer

    # -- append -----------------------------------------------------------------------------------------------
    def append(self, items: list[tuple[dict[str, Any], float]]) -> None:
        """Add (record, at) pairs in order, linked after the current head, from any number of processes."""
        script = self.redis.register_script(_APPEND)
        for _ in range(CAS_ATTEMPTS):
            head_seq, head_hash = self.redis.hmget(self.keys.head, "seq", "hash")
            seq, prev = int(head_seq or 0), head_hash or GENESIS
            positions: dict[str, int] = {}
            entries = []
            for record, at in items:
                seq += 1
                full = {**record, "seq": seq, "prev": prev}
                full["hash"] = prev = record_hash(full)
                ixs = [positions.setdefault(k, len(positions) + 4) for k in self.keys.indexes_of(full)]
                entries.append([canonical(full), str(seq), f"{at:.3f}", ixs])
            mac = self.signer.sign(self.redis, "head", self.keys.chain_id, seq, prev)
            keys = [self.keys.chain, self.keys.head, self.keys.at, *positions]
            args = [head_seq or "0", head_hash or "", seq, prev, mac, json.dumps(entries, ensure_ascii=False)]
            if script(keys=keys, args=args) == 1:
                return
            time.sleep(random.uniform(0, 0.005))      # another writer moved the head: rebuild on the new one
        raise ChainContention(f"audit head of {self.keys.chain_id} kept moving")

    # -- reading the chain in order ---------------------------------------------------------------------------
    def _snapshot(self) -> tuple[dict, dict, float | None]:
        pipe = self.redis.pipeline(transaction=True)     # appends and trims are atomic: this is one state
        pipe.hgetall(self.keys.head)
        pipe.hgetall(self.keys.checkpoint)
        pipe.zrange(self.keys.chain, -1, -1, withscores=True)
        head, cp, last = pipe.execute()
        return head, cp, last[0][1] if last else None

    def _check_checkpoint(self, cp: dict) -> tuple[int, str]:
        """(seq, hash) the chain continues from: the signed checkpoint, or the genesis."""
        if not cp:
            return 0, GENESIS
        try:
            seq = int(cp.get("seq", ""))
        except ValueError:
            raise ChainBroken(0, "the checkpoint is malformed") from None
        if not self.signer.check(self.redis, cp.get("mac"), "checkpoint", self.keys.chain_id, seq,
                                 cp.get("hash", ""), cp.get("at", "")):
            raise ChainBroken(seq, f"the retention checkpoint (seq {seq}) has an invalid signature: forged or altered")
        return seq, cp["hash"]

    def _check_record(self, score: int, member: str, expected: int, prev: str, first_seq: int) -> dict[str, Any]:
        if score < expected:
            raise ChainBroken(score, f"seq {score} appears twice, or before the checkpoint: a record was inserted")
        if score > expected:
            missing = f"{expected}" if score == expected + 1 else f"{expected}..{score - 1}"
            raise ChainBroken(expected, f"record(s) {missing} are missing: removed from the chain")
        try:
            record = json.loads(member)
        except ValueError:
            raise ChainBroken(score, f"record {score} is not valid JSON: edited") from None
        if not isinstance(record, dict) or record.get("seq") != score:
            found = record.get("seq") if isinstance(record, dict) else None
            raise ChainBroken(score, f"position {score} holds the record with seq {found}: records were reordered")
        if record.get("hash") != record_hash(record):
            raise ChainBroken(score, f"record {score} was edited: its content does not match its hash")
        if record.get("prev") != prev:
            if score == first_seq:
                raise ChainBroken(score, f"record {score} does not follow the checkpoint it should continue")
            raise ChainBroken(score - 1, f"record {score - 1} was altered and re-hashed: record {score} chained "
                                         f"to a different hash")
        return record

    # -- verify -----------------------------------------------------------------------------------------------
    def verify(self) -> VerifyResult:
        result, checkpoint = self._verify_once()
        if not result.ok and self.redis.hgetall(self.keys.checkpoint) != checkpoint:
            result, _ = self._verify_once()       # a retention pass ran while we read: check the new state
        return result

    def _verify_once(self) -> tuple[VerifyResult, dict]:
        head, cp, last = self._snapshot()
        checked = 0
        try:
            seq, prev = self._check_checkpoint(cp)
            head_seq = self._check_head(head, cp, last)
            if head_seq is None:
                return VerifyResult(True, 0), cp
            first_seq = expected = seq + 1
            # From -inf: a record below the checkpoint is as much a problem as one out of place.
            for member, score in scan_zset(self.redis, self.keys.chain, "-inf", str(head_seq), PAGE):
                record = self._check_record(int(score), member, expected, prev, first_seq)
                prev, expected = record["hash"], expected + 1
                checked += 1
            if expected <= head_seq:
                missing = f"{expected}" if expected == head_seq else f"{expected}..{head_seq}"
                raise ChainBroken(expected, f"record(s) {missing} are missing from the end of the chain")
            if prev != head.get("hash"):
                raise ChainBroken(head_seq, f"record {head_seq} does not match the signed head")
        except ChainBroken as broken:
            return VerifyResult(False, checked, broken.seq, broken.problem), cp
        return VerifyResult(True, checked), cp

    def _check_head(self, head: dict, cp: dict, last: float | None) -> int | None:
        """The signed head's seq; None for a chain that never had a record."""
        if not head:
            if last is not None or cp:
                raise ChainBroken(1, "the chain has records but no head: the head was deleted")
            return None
        try:
            head_seq = int(head.get("seq", ""))
        except ValueError:
            raise ChainBroken(0, "the chain head is malformed") from None
        if not self.signer.check(self.redis, head.get("mac"), "head", self.keys.chain_id, head_seq,
                                 head.get("hash", "")):
            raise ChainBroken(head_seq, f"the chain head (seq {head_seq}) has an invalid signature: forged or altered")
        if last is not None and last > head_seq:
            raise ChainBroken(head_seq + 1, f"records after seq {head_seq} were added outside the audit trail")
        return head_seq

    # -- retention --------------------------------------------------------------------------------------------
    def trim(self, cutoff: float) -> TrimResult:
        """Remove records older than `cutoff` (epoch s) from the start of the chain, checking each against the
        chain first (a broken prefix is kept as evidence), and sign the new checkpoint."""
        script = self.redis.register_script(_TRIM)
        removed, checkpoint = 0, None
        for _ in range(CAS_ATTEMPTS):
            cp = self.redis.hgetall(self.keys.checkpoint)
            try:
                seq, prev = self._check_checkpoint(cp)
                rows = self.redis.zrange(self.keys.chain, 0, PAGE - 1, withscores=True)
                old = self._old_prefix(rows, seq + 1, prev, cutoff)
            except ChainBroken as broken:
                log.error("audit chain of %s fails verification at seq %s; retention skipped", self.keys.chain_id,
                          broken.seq)
                return TrimResult(removed, checkpoint, broken.problem)
            if not old:
                return TrimResult(removed, checkpoint)
            last = old[-1]
            mac = self.signer.sign(self.redis, "checkpoint", self.keys.chain_id, last["seq"], last["hash"], last["at"])
            positions: dict[str, int] = {}
            entries = [[str(r["seq"]), [positions.setdefault(k, len(positions) + 4) for k in self.keys.indexes_of(r)]]
                       for r in old]
            keys = [self.keys.chain, self.keys.checkpoint, self.keys.at, *positions]
            args = [cp.get("seq", "0"), old[0]["seq"], last["seq"], last["hash"], last["at"], mac, json.dumps(entries)]
            if script(keys=keys, args=args) == 1:
                removed, checkpoint = removed + len(old), last["seq"]
                if len(old) < len(rows) or len(rows) < PAGE:
                    return TrimResult(removed, checkpoint)
            else:
                time.sleep(random.uniform(0, 0.005))   # another process trimmed meanwhile
        return TrimResult(removed, checkpoint)

    def _old_prefix(self, rows: list, first_seq: int, prev: str, cutoff: float) -> list[dict[str, Any]]:
        old = []
        expected = first_seq
        for member, score in rows:
            record = self._check_record(int(score), member, expected, prev, first_seq)
            if parse_iso(record["at"]) >= cutoff:
                break
            old.append(record)
            prev, expected = record["hash"], expected + 1
        return old


# -- the subscriber ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pending:
    company_id: str | None
    record: dict[str, Any]
    at: float


class AuditTrail:
    """The EventHub subscriber: `platform.events.subscribe(trail)`, then `trail.start()`; `trail.stop()` at
    shutdown (it flushes what it can). `written` and `dropped` are the counters the metrics export.

    buffer_size: records held in memory (default settings.audit_buffer_size); batch_size: records per append;
    interval_s: how often the drain thread writes what is buffered (a full batch wakes it at once)."""

    def __init__(self, platform, redis_client: redis.Redis | None = None, buffer_size: int | None = None,
                 batch_size: int = BATCH, interval_s: float = 1.0):
        self.platform = platform
        # Its own client may be given (tests point one at a dead port); keys always come from the tenant's
        # keyspace. The client must use decode_responses=True, like the platform's.
        self.redis = redis_client if redis_client is not None else platform.redis
        self.capacity = buffer_size or platform.settings.audit_buffer_size
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.signer = AuditSigner(platform.vault)
        self.written = 0
        self.dropped = 0
        self.invalid = 0                # events without a valid kind, or that broke the guard
        self.failures = 0               # drain or trim errors other than Redis being down
        self._queue: deque[_Pending] = deque()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()     # new records, a flush or stop
        self._kick = threading.Event()     # a flush or stop only: new records must not cut a backoff short
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sweep = -math.inf

    # -- the subscriber: the request thread ---------------------------------------------------------------------
    def __call__(self, event: Any) -> None:
        try:
            built = audit_record(event)
        except Exception:           # the guard must never fail a customer's request, whatever the event holds
            built = None
        if built is None:
            self.invalid += 1
            return
        record, at = built
        with self._lock:
            if len(self._queue) >= self.capacity:
                self._queue.popleft()        # the oldest goes: the newest say most about the present
                self.dropped += 1
            self._queue.append(_Pending(record["company_id"], record, at))
            full_batch = len(self._queue) >= self.batch_size
        if full_batch:        # otherwise the thread writes every interval_s: one chain append per batch, not per turn
            self._wake.set()

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="audit-trail", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._kick.set()
        if self._thread:
            self._thread.join(5)
            self._thread = None
        self.flush(flush_timeout_s)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Write what is buffered; True when nothing is left. With the thread running, waits for it."""
        deadline = time.monotonic() + timeout_s
        running = self._thread is not None and self._thread.is_alive()
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            if running:
                self._wake.set()
                self._kick.set()
                time.sleep(0.01)
                continue
            try:
                self.drain_once()
            except (redis.exceptions.RedisError, ChainContention):
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            except Exception:                     # a bug: the records stay buffered, the caller goes on
                self.failures += 1
                log.exception("audit trail flush failed")
                return False
        return self.pending() == 0

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + self._in_flight

    def _loop(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            try:
                while self.drain_once() and not self._stop.is_set():
                    pass
                self._sweep_retention()
                backoff = 0.0
                continue
            except (redis.exceptions.RedisError, ChainContention) as exc:
                log.warning("audit trail cannot write (%s); %d records buffered", type(exc).__name__, self.pending())
            except Exception:                     # a bug must not kill the thread: records stay buffered
                self.failures += 1
                log.exception("audit trail drain failed")
            backoff = min(MAX_BACKOFF_S, max(0.5, backoff * 2))
            self._kick.wait(backoff)              # only flush() or stop() cut it short
            self._kick.clear()

    # -- draining ----------------------------------------------------------------------------------------------
    def drain_once(self) -> int:
        """Write up to batch_size buffered records; returns how many. Raises when Redis fails (they stay queued)."""
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            self._in_flight = len(batch)
        groups: dict[str | None, list[_Pending]] = {}
        for item in batch:
            groups.setdefault(item.company_id, []).append(item)
        pending = list(groups.values())
        done = 0
        try:
            while pending:
                items = pending[0]
                self.chain(items[0].company_id).append([(i.record, i.at) for i in items])
                pending.pop(0)
                done += len(items)
                self.written += len(items)
        finally:
            self._requeue([i for items in pending for i in items])
        return done

    def _requeue(self, items: list[_Pending]) -> None:
        """Put unwritten records back in front; past capacity the oldest go (and are counted)."""
        with self._lock:
            self._in_flight = 0
            room = max(0, self.capacity - len(self._queue))
            if len(items) > room:
                self.dropped += len(items) - room
                items = items[len(items) - room:]
            self._queue.extendleft(reversed(items))

    # -- chains ------------------------------------------------------------------------------------------------
    def _config(self, company_id: str | None):
        return self.platform.registry.get(company_id) if company_id else None

    def chain(self, company_id: str | None) -> AuditChain:
        """A tenant's chain (its own keyspace), or the platform chain for None or a company not in the registry."""
        config = self._config(company_id)
        if config is None:
            return AuditChain(self.redis, ChainKeys(PLATFORM_CHAIN, platform_key), self.signer)
        keyspace = self.platform.tenant_context(config, Principal("platform_admin", None)).keyspace
        return AuditChain(self.redis, ChainKeys(config.company_id, keyspace.key), self.signer)

    def _known(self, company_id: str | None) -> AuditChain:
        if company_id is not None and self._config(company_id) is None:
            raise LookupError(f"no company {company_id!r}")
        return self.chain(company_id)

    def verify(self, company_id: str | None) -> VerifyResult:
        """Check a company's chain (None: the platform chain) from its checkpoint to its signed head."""
        return self._known(company_id).verify()

    def trim(self, company_id: str | None, now: float | datetime | None = None) -> TrimResult:
        """Apply the company's audit.retention_days (the platform chain: the default) as of `now`."""
        config = self._config(company_id)
        days = config.audit.retention_days if config is not None else AuditConfig().retention_days
        current = now.timestamp() if isinstance(now, datetime) else (time.time() if now is None else now)
        return self._known(company_id).trim(current - days * 86400)

    def _sweep_retention(self) -> None:
        """At most once an hour per process, and per tenant once an hour across processes (the trim guard)."""
        if time.monotonic() - self._last_sweep < TRIM_EVERY_S:
            return
        self._last_sweep = time.monotonic()
        for company_id in [*self.platform.registry.company_ids(), None]:
            if self._stop.is_set():
                return
            chain = self.chain(company_id)
            if self.redis.set(chain.keys.trim_guard, "1", nx=True, ex=TRIM_EVERY_S):
                self.trim(company_id)

    def rotate_encryption(self) -> int:
        return self.signer.rotate_encryption(self.redis)
