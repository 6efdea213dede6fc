"""The meta worker: moves consented questions from each tenant's outbox into the global collection.

For every item of `{prefix}meta_outbox` (app/privacy/learning_outbox.py), oldest first:
  1. the user's `global_learning` consent is checked again: a revocation since the turn wins;
  2. the question is anonymized (Presidio, typed placeholders);
  3. the consolidation graph screens it for PII a second time (flagged -> dropped), then merges it into
     a matching learning or inserts a new pending one, under the tenant's and user's pseudonyms.
Only the anonymized text, the industry category and pseudonyms ever reach the global collection.
One worker at a time (a Redis lock); items leave the outbox only after they were handled.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from typing import Callable

import redis

from app.knowledge.global_knowledge import GlobalKnowledge, MetaBusy
from app.knowledge.index import VectorStoreUnavailable
from app.privacy.learning_outbox import OutboxBusy
from app.privacy.pii import anonymize, detect_pii
from app.privacy.pseudonyms import Pseudonyms
from app.tenancy.config import TenantConfig
from app.tenancy.context import TenantContext
from graphs.meta.graph import MetaRuntime, consolidate
from graphs.meta.industries import industry_category

log = logging.getLogger("misybot.meta")
BATCH = 10                # items leave the outbox per batch; a failure mid-batch repeats at most this many
MAX_PER_RUN = 500         # per tenant and run, so one busy tenant cannot starve the others


_SENTENCE = re.compile(r"[^.!?\n]*[.!?]+|[^.!?\n]+")


def question_part(text: str) -> str:
    """Keep what is asked ("¿tienen parqueadero?") and drop the rest of the message ("Soy <PERSON_1>,
    cel <PHONE_NUMBER_1>."): the learning is the question, and less text means less to leak."""
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    asked = [s for s in sentences if s.endswith("?") or s.startswith("¿")]
    return " ".join(asked) if asked else text.strip()


class MetaPipeline:
    def __init__(self, registry, open_tenant: Callable[[TenantConfig], TenantContext], knowledge: GlobalKnowledge,
                 pseudonyms: Pseudonyms, chat_model=None):
        self.registry = registry
        self.open_tenant = open_tenant      # the platform's TenantContext for a worker principal
        self.knowledge = knowledge
        self.pseudonyms = pseudonyms
        self.runtime = MetaRuntime(knowledge=knowledge, detect=detect_pii, chat_model=chat_model)

    def run_once(self) -> Counter:
        """Drain every tenant's outbox once. Returns counts: inserted, merged, dropped_pii,
        dropped_no_consent."""
        totals: Counter = Counter()
        try:
            with self.knowledge.writing(wait_s=1.0):
                for company_id in self.registry.company_ids():
                    config = self.registry.get(company_id)
                    if config is not None:
                        totals += self._tenant(config)
        except (MetaBusy, OutboxBusy):
            pass                    # another process is on it
        return totals

    def _tenant(self, config) -> Counter:
        ctx = self.open_tenant(config)
        outbox, consent = ctx.outbox, ctx.consent
        counts: Counter = Counter()
        industry = industry_category(config.industry)
        source = self.pseudonyms.tenant(config.company_id)

        def handle(items: list[dict]) -> None:
            for item in items:
                user_id = item.get("user_id", "")
                if not config.privacy.share_learnings or not consent.allows(user_id, "global_learning"):
                    counts["dropped_no_consent"] += 1
                    continue
                language = item.get("language") or config.language
                text = question_part(anonymize(item.get("question", ""), language))
                out = consolidate(self.runtime, {
                    "text": text, "language": language, "industry": industry,
                    "answered": bool(item.get("answered")), "source": source,
                    "contributor": self.pseudonyms.user(config.company_id, user_id)})
                counts[out.get("outcome", "dropped_pii")] += 1

        done = 0
        while done < MAX_PER_RUN:
            n = outbox.drain(BATCH, handle)
            if not n:
                break
            done += n
        if counts:
            log.info("meta learnings processed", extra={"company_id": config.company_id, **counts})
        return counts


class MetaWorker:
    """A background thread running the pipeline every `interval_s` seconds."""

    def __init__(self, pipeline: MetaPipeline, interval_s: float = 30.0):
        self.pipeline = pipeline
        self.failures: Counter[str] = Counter()      # unexpected errors by type
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="meta-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.pipeline.run_once()
            except (redis.exceptions.RedisError, VectorStoreUnavailable) as exc:   # down: try next round
                log.error("meta worker error: %s", type(exc).__name__)
            except Exception as exc:         # a bug must not kill the thread: log it once, count it
                log.exception("meta worker failed unexpectedly")
                self.failures[type(exc).__name__] += 1
