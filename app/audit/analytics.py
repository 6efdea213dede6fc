"""What a tenant learns from its own traffic: usage figures per day and the questions its knowledge base could not
answer. Both live in the tenant's keyspace, so backup, migration and offboarding carry or remove them like the
rest of the tenant's data, and another tenant can never read them.

  {prefix}analytics:day:{YYYY-MM-DD}     hash, one per local day (the company's timezone), TTL 400 days:
                                         turns, conversations, resolution:{bot|handoff}, agent:{name},
                                         channel:{name}, hour:{0-23}
  {prefix}analytics:users:{YYYY-MM-DD}   set of the day's pseudonymous users (event field `user`), TTL 2 days:
                                         only there to count a user once a day into `conversations`
  {prefix}analytics:gaps                 sorted set of unanswered questions, anonymized, scored by time;
                                         at most MAX_GAPS, none older than GAP_RETENTION_S

Distinct users are counted with a short-lived set rolled up into the day's hash, not a HyperLogLog: HLL values
are binary strings, which the tenant backup (app/storage/redis_values.py, text values) cannot carry.

Gaps are grouped with the knowledge index's own lexical analyzer (folded, stemmed, glossary-expanded terms), not
the dense embedder: measured here, the offline all-MiniLM-L6-v2 took ~25 ms a question on 2 busy cores (2,000 gaps:
~50 s) and, being an English model, scored "¿hacen tatuajes?" as close to "¿tienen parqueadero?" (0.67) as to
"¿tienen servicio de tatuaje?" (0.73). The lexical terms separate those and group 2,000 gaps in ~0.2-0.4 s.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from math import sqrt
from zoneinfo import ZoneInfo

from app.audit.events import Event
from app.knowledge import glossary
from app.knowledge.lexical import analyze, fold
from app.privacy.pii import anonymize
from app.privacy.placeholder_syntax import PLACEHOLDER
from app.security.principal import Principal
from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import TenantConfig
from app.tenancy.context import TenantContext

log = logging.getLogger("misybot.analytics")

KIND = "analytics"
DAY_TTL_S = 400 * 86400
USERS_TTL_S = 2 * 86400             # a local day is at most 26 h long; the set only has to outlive it
MAX_DAYS = 400                      # what a report can look back over: the daily keys' lifetime
RESOLUTIONS = ("bot", "handoff")
COUNTED_OUTCOMES = ("ok", "handoff")     # a refused (quota) or failed turn answered nobody: not a conversation
_LABEL = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
OTHER = "other"

MAX_GAPS = 2000
GAP_RETENTION_S = 90 * 86400
MAX_GAP_CHARS = 500
GAP_THRESHOLD = 0.45                # cosine over analysed terms at which two questions are the same question
_EXPANSION_WEIGHT = 0.5             # glossary words tie "parqueadero" to "estacionamiento", without outweighing nouns
# The ways of asking, which say nothing about what was asked ("¿hacen…?", "¿cuánto cuesta…?").
# Nor do the words a customer introduces themself with ("soy <PERSON_1>, mi cel <PHONE_NUMBER_1>").
_ASKING_WORDS = """hacen hace haces ofrecen ofrece ofreces manejan maneja tienes tenes hay puedo puede pueden podria
podrian cuanto cuanta cuantos cuantas cuesta cuestan vale valen sale salen servicio servicios algun alguna
info informacion pregunta consulta necesito gustaria soy llamo nombre cel celular movil numero telefono whatsapp
correo email do does offer have any name phone number""".split()
# A phone number or id a detector missed must not be stored; no knowledge-gap question needs 7 digits in a row.
_LONG_NUMBER = re.compile(r"\d(?:[\s.\-]?\d){6,}")
_MASKED_NUMBER = "<NUMBER>"

_UPDATE_DAY = """
local added = 0
if ARGV[3] ~= '' then
  added = redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
if added == 1 then redis.call('HINCRBY', KEYS[1], 'conversations', 1) end
for i = 4, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return added
"""


def _label(value) -> str:
    """Agent and channel names become hash fields: bounded, whatever an event carries."""
    return value if isinstance(value, str) and _LABEL.match(value) else OTHER


def _day_key(keys: TenantKeyspace, day: date) -> str:
    return keys.key(KIND, "day", day.isoformat())


def _users_key(keys: TenantKeyspace, day: date) -> str:
    return keys.key(KIND, "users", day.isoformat())


def _gaps_key(keys: TenantKeyspace) -> str:
    return keys.key(KIND, "gaps")


@dataclass(frozen=True)
class _Tenant:
    config: TenantConfig
    keys: TenantKeyspace
    zone: ZoneInfo


class TenantAnalytics:
    """An EventHub subscriber: each answered chat turn counts into its tenant's day, in one Redis round trip
    (one script: the day's hash and the day's user set must move together, and only a user new that day adds
    a conversation). Events of other kinds, without a known company, or refused/failed turns are ignored;
    a field that is missing or odd counts as "other" rather than raising.

    The end user is only ever the event's keyed pseudonym, kept two days to count them once a day; the figures
    that remain are counts, so nothing here needs erasing when a user asks to be forgotten."""

    def __init__(self, platform) -> None:
        self.platform = platform
        self._tenants: dict[str, _Tenant] = {}
        self._lock = threading.Lock()
        self._script = platform.redis.register_script(_UPDATE_DAY)

    def _tenant(self, company_id: str) -> _Tenant | None:
        config = self.platform.registry.get(company_id)
        if config is None:                  # offboarded, or never a company: nothing to count into
            self._tenants.pop(company_id, None)
            return None
        cached = self._tenants.get(company_id)
        if cached is not None and cached.config is config:
            return cached
        # A reload gives a new config object (the timezone or prefix may have changed): open the tenant again.
        ctx = self.platform.tenant_context(config, Principal("platform_admin", None))
        tenant = _Tenant(config, ctx.keyspace, ZoneInfo(config.timezone))
        with self._lock:
            self._tenants[company_id] = tenant
        return tenant

    def __call__(self, event: Event) -> None:
        if event.kind != "turn" or not isinstance(event.company_id, str) or event.outcome not in COUNTED_OUTCOMES:
            return
        tenant = self._tenant(event.company_id)
        if tenant is None:
            return
        local = _local_time(event.at, tenant.zone)
        if local is None:
            return
        fields = event.fields if isinstance(event.fields, dict) else {}
        handed_off = fields.get("handoff") is True or event.outcome == "handoff"
        user = fields.get("user")
        user = user if isinstance(user, str) and 0 < len(user) <= 128 else ""
        counters = ["turns", f"resolution:{'handoff' if handed_off else 'bot'}", f"agent:{_label(fields.get('agent'))}",
                    f"channel:{_label(fields.get('channel'))}", f"hour:{local.hour}"]
        day = local.date()
        self._script(keys=[_day_key(tenant.keys, day), _users_key(tenant.keys, day)],
                     args=[DAY_TTL_S, USERS_TTL_S, user, *counters])


def _local_time(at, zone: ZoneInfo) -> datetime | None:
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(at, zone)
    except (OverflowError, OSError, ValueError):        # a timestamp no calendar has
        return None


# -- reading the figures ------------------------------------------------------------------------------
def _window(config: TenantConfig, days: int, now: float | None) -> list[date]:
    today = datetime.fromtimestamp(time.time() if now is None else now, ZoneInfo(config.timezone)).date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def usage(ctx: TenantContext, days: int = 30, now: float | None = None) -> dict:
    """The tenant's figures over the last `days` local days (today included), shaped for charts."""
    window = _window(ctx.config, max(1, min(days, MAX_DAYS)), now)
    pipe = ctx.keyspace.redis.pipeline(transaction=False)
    for day in window:
        pipe.hgetall(_day_key(ctx.keyspace, day))
    per_day: list[dict[str, str]] = pipe.execute()
    totals: Counter[str] = Counter()
    for counts in per_day:
        totals.update({name: int(value) for name, value in counts.items()})

    def dimension(prefix: str) -> dict[str, int]:
        return {name[len(prefix):]: n for name, n in sorted(totals.items()) if name.startswith(prefix) and n}

    hours = dimension("hour:")
    return {
        "days": len(window), "timezone": ctx.config.timezone, "from": window[0].isoformat(), "to": window[-1].isoformat(),
        "turns": totals["turns"],
        "conversations_per_day": [{"date": day.isoformat(), "count": int(counts.get("conversations", 0))}
                                  for day, counts in zip(window, per_day, strict=True)],
        "resolution": {r: totals[f"resolution:{r}"] for r in RESOLUTIONS},
        "agents": dimension("agent:"),
        "busiest_hours": [{"hour": h, "count": hours.get(str(h), 0)} for h in range(24)],
        "channels": dimension("channel:"),
    }


# -- knowledge gaps -----------------------------------------------------------------------------------
def _scrub(text: str, language: str) -> str:
    # The whole message is anonymized before it is cut: a cut could split a phone number past recognition.
    return _LONG_NUMBER.sub(_MASKED_NUMBER, anonymize(text, language)).strip()[:MAX_GAP_CHARS]


def record_gap(ctx: TenantContext, text: str, language: str | None = None, *, at: float | None = None) -> bool:
    """Keep a question the knowledge base could not answer, for GET /insights/knowledge-gaps.

    The text is anonymized first (Presidio, typed placeholders such as <PERSON_1>, and any long number left
    masked), and it is stored without the user, the conversation or the channel. So the stored question is
    neither personal data nor linkable to anyone: a user's erasure request has nothing to find here, and no
    erase-by-user exists for it. Bounded: the newest MAX_GAPS questions of the last 90 days.
    Returns whether anything was stored; never raises for a bad question (it runs in the turn's thread).
    """
    if not isinstance(text, str) or not text.strip():
        return False
    language = language or ctx.config.language
    try:
        clean = _scrub(text, language)
    except Exception as exc:        # no anonymization, no storing: the raw text must never land here
        log.error("knowledge gap not recorded: anonymization failed (%s)", type(exc).__name__)
        return False
    if not _terms(clean, language):
        return False                # only placeholders or greetings: nothing the knowledge base could add
    now = time.time()
    member = json.dumps({"id": secrets.token_hex(6), "text": clean, "language": language}, ensure_ascii=False)
    key = _gaps_key(ctx.keyspace)
    pipe = ctx.keyspace.redis.pipeline(transaction=True)
    pipe.zadd(key, {member: now if at is None else at})
    pipe.zremrangebyscore(key, "-inf", f"({now - GAP_RETENTION_S}")
    pipe.zremrangebyrank(key, 0, -MAX_GAPS - 1)
    pipe.expire(key, GAP_RETENTION_S)
    pipe.execute()
    return True


# -- grouping the gaps: which questions are the same question --------------------------------------------
@lru_cache(maxsize=4)
def _asking_stems(language: str) -> frozenset[str]:
    return frozenset(analyze(" ".join(_ASKING_WORDS), language))


def _terms(text: str, language: str) -> dict[str, float]:
    """A question as unit-length weights of its analysed terms (the lexical analyzer of the knowledge index):
    its own words 1.0, the glossary's related words less, placeholders and the ways of asking nothing."""
    return dict(_cached_terms(text, language))


@lru_cache(maxsize=8192)
def _cached_terms(text: str, language: str) -> tuple[tuple[str, float], ...]:
    # The same stored questions are analysed on every report: only new ones cost anything.
    plain = PLACEHOLDER.sub(" ", text).replace(_MASKED_NUMBER, " ")
    asking = _asking_stems(language)
    weights = {t: _EXPANSION_WEIGHT for t in analyze(glossary.expand(fold(plain)), language) if t not in asking}
    weights.update(dict.fromkeys((t for t in analyze(plain, language) if t not in asking), 1.0))
    norm = sqrt(sum(w * w for w in weights.values()))
    return tuple((t, w / norm) for t, w in sorted(weights.items())) if norm else ()


@dataclass
class _Group:
    """Questions asked the same way (one analysed form), later a cluster of such forms."""
    vector: dict[str, float]             # the sum of the members' unit vectors: a centroid, up to scale
    count: int = 0
    last: float = 0.0
    texts: Counter[str] = field(default_factory=Counter)
    norm: float = 1.0

    def add(self, other: "_Group") -> None:
        for term, weight in other.vector.items():
            self.vector[term] = self.vector.get(term, 0.0) + weight * other.count
        self.norm = sqrt(sum(w * w for w in self.vector.values()))
        self.count += other.count
        self.last = max(self.last, other.last)
        self.texts.update(other.texts)


def _forms(rows: list[tuple[str, float]]) -> list[_Group]:
    """The stored gaps, one group per analysed form, the most asked (then the latest) first."""
    forms: dict[frozenset, _Group] = {}
    for raw, at in rows:
        try:
            item = json.loads(raw)
            text, language = str(item["text"]), str(item.get("language") or "es")
        except (ValueError, KeyError, TypeError):
            continue
        vector = _terms(text, language)
        if not vector:
            continue
        form = forms.setdefault(frozenset(vector.items()), _Group(vector))
        form.count += 1
        form.last = max(form.last, at)
        form.texts[text] += 1
    return sorted(forms.values(), key=lambda f: (-f.count, -f.last))


def cluster(forms: list[_Group], threshold: float = GAP_THRESHOLD) -> list[_Group]:
    """Greedy clustering: each form joins the cluster whose centroid is nearest by cosine, if at least
    `threshold`, else starts one. An inverted index (term -> clusters) keeps it linear in practice."""
    clusters: list[_Group] = []
    by_term: dict[str, set[int]] = {}
    for form in forms:
        dots: dict[int, float] = {}
        for term, weight in form.vector.items():
            for c in by_term.get(term, ()):
                dots[c] = dots.get(c, 0.0) + weight * clusters[c].vector[term]
        best = max(dots, key=lambda c: dots[c] / clusters[c].norm, default=None)
        if best is None or dots[best] / clusters[best].norm < threshold:
            best = len(clusters)
            clusters.append(_Group({}))
        clusters[best].add(form)
        for term in form.vector:
            by_term.setdefault(term, set()).add(best)
    return sorted(clusters, key=lambda c: (-c.count, -c.last))


def _personal_marks(text: str) -> int:
    return len(PLACEHOLDER.findall(text)) + text.count(_MASKED_NUMBER)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def knowledge_gaps(ctx: TenantContext, days: int = 30, limit: int = 20, now: float | None = None,
                   threshold: float = GAP_THRESHOLD) -> dict:
    """The unanswered questions of the last `days` days, grouped by similarity, the most asked first. Each
    group: its most asked wording (the one with fewest placeholders on a tie), how often and when last."""
    now = time.time() if now is None else now
    since = now - min(days, GAP_RETENTION_S // 86400) * 86400
    rows = ctx.keyspace.redis.zrangebyscore(_gaps_key(ctx.keyspace), since, "+inf", withscores=True)
    groups = []
    for c in cluster(_forms(rows), threshold)[:limit]:
        ranked = sorted(c.texts, key=lambda t: (-c.texts[t], _personal_marks(t), len(t), t))
        groups.append({"question": ranked[0], "count": c.count, "last_asked": _iso(c.last), "examples": ranked[1:4]})
    return {"days": days, "gaps": len(rows), "groups": groups}
