"""One chat turn, as a readable pipeline: lock the conversation -> bot on/off -> memory -> the tenant's
graph -> format for the channel -> persist -> hand off if needed."""
from __future__ import annotations

import logging
import time
from functools import partial
from dataclasses import dataclass

from app.channels.formatting import CHANNELS, format_for_channel
from app.knowledge.index import VectorStoreUnavailable
from app.privacy.consent import ConsentStore
from app.privacy.learning_outbox import LearningOutbox
from app.privacy.llm_guard import AnonymizingProvider, AnonymizingRouter
from app.privacy.pii import Placeholders, anonymize
from app.privacy.placeholder_store import PlaceholderStore
from app.storage.embeddings import EmbeddingError
from graphs.llm import Passage, build_router
from graphs.tenant.graph import run_turn
from graphs.tenant.state import TenantRuntime

log = logging.getLogger("misybot.chat")
MAX_MESSAGE_CHARS = 4000
# Questions worth learning from across tenants. Emergencies (health data), bookings (personal details)
# and requests for a person are never queued for the meta-agent.
LEARNING_ROUTES = ("sales", "support", "availability")


@dataclass(frozen=True)
class TurnResult:
    bot_response: str
    agent: str
    company_id: str
    sources: list[dict]
    handoff: bool
    booking: dict | None = None

    def public(self) -> dict:
        out = {"bot_response": self.bot_response, "agent": self.agent, "company_id": self.company_id,
               "sources": self.sources, "handoff": self.handoff}
        if self.booking:
            out["booking"] = self.booking
        return out


def _searcher(tenant_ctx, mask=None):
    """Search the tenant's knowledge; `mask` anonymizes the query first when it would go to an external
    embeddings endpoint."""
    def search(query: str, k: int) -> list[Passage]:
        try:
            hits = tenant_ctx.documents.search(mask(query) if mask else query, k)
        except (VectorStoreUnavailable, EmbeddingError) as exc:
            # The customer still gets an honest answer (and the offer of a person) instead of an error.
            log.error("knowledge search failed during a chat turn: %s", exc)
            return []
        return [Passage(h.document_id, h.title, h.content, h.score) for h in hits]
    return search


def _providers(platform, tenant_ctx, mappings: PlaceholderStore, user_id: str, protect: bool):
    """The tenant's chat provider and LLM router; behind placeholders when the customer's words must
    not reach an external LLM as written. Returns (provider, router, placeholders or None)."""
    config = tenant_ctx.config
    provider = platform.chat_provider(config)
    router = build_router(config, provider)
    if not protect or provider.name == "retrieval":
        return provider, router, None          # nothing leaves the tenant
    placeholders = Placeholders.from_dict(mappings.load(user_id))
    router = AnonymizingRouter(router, placeholders, config.language) if router else None
    return AnonymizingProvider(provider, placeholders), router, placeholders


def chat_turn(platform, tenant_ctx, user_id: str, message: str, channel: str) -> TurnResult:
    assert channel in CHANNELS
    config = tenant_ctx.config
    store = tenant_ctx.conversations
    consent = ConsentStore(tenant_ctx.keyspace)
    # A user who revoked data_processing is still answered, but nothing of the turn is kept as memory
    # and an external LLM only ever sees placeholders.
    keep_memory = consent.state(user_id, "data_processing") != "revoked"
    with store.turn_lock(user_id):
        if store.status(user_id).handed_off:
            # A person has the conversation: keep the message for them, the bot stays quiet.
            if keep_memory:
                store.append(user_id, {"role": "user", "content": message, "channel": channel})
            return TurnResult("", "human", config.company_id, [], True)
        history = store.history(user_id) if keep_memory else []
        mappings = PlaceholderStore(tenant_ctx.keyspace, platform.vault, config.memory.ttl_hours * 3600)
        provider, router_llm, placeholders = _providers(platform, tenant_ctx, mappings, user_id,
                                                        config.privacy.anonymize_llm or not keep_memory)
        mask = None
        if placeholders is not None and platform.settings.use_openai_embeddings:
            mask = partial(anonymize, language=config.language, placeholders=placeholders)
        runtime = TenantRuntime(tenant=config, user_id=user_id, search=_searcher(tenant_ctx, mask), provider=provider,
                                bookings=tenant_ctx.bookings, schedule=platform.schedule_client(config),
                                router_llm=router_llm)
        started = time.perf_counter()
        out = run_turn(runtime, message, history, channel)
        text = format_for_channel(out["answer"], channel, language=out.get("language", config.language),
                                  company_name=config.company_name, agent_name=config.sales_agent_name)
        if out.get("handoff"):
            store.hand_off(user_id, out.get("handoff_reason") or out["route"])
        if keep_memory:
            store.append(user_id, {"role": "user", "content": message, "channel": channel},
                         {"role": "assistant", "content": text, "agent": out["route"]})
        if placeholders is not None and placeholders.values and keep_memory:
            mappings.save(user_id, placeholders.to_dict())
        if (out["route"] in LEARNING_ROUTES and config.privacy.share_learnings
                and consent.allows(user_id, "global_learning")):
            # Still the customer's own words: they stay in the tenant's keyspace until the meta worker
            # anonymizes them (graphs/meta/pipeline.py).
            LearningOutbox(tenant_ctx.keyspace).push(user_id, message, bool(out.get("sources")), out["route"],
                                                     out.get("language", config.language))
        log.info("chat turn", extra={"agent": out["route"], "channel": channel, "handoff": bool(out.get("handoff")),
                                     "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                                     "route_reasons": out.get("route_reasons", [])})
        return TurnResult(text, out["route"], config.company_id, out.get("sources", []), bool(out.get("handoff")),
                          out.get("booking"))
