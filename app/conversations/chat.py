"""One chat turn, as a readable pipeline: lock the conversation -> bot on/off -> memory -> the tenant's
graph -> format for the channel -> persist -> hand off if needed."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from app.channels.formatting import CHANNELS, format_for_channel
from app.knowledge.index import VectorStoreUnavailable
from app.storage.embeddings import EmbeddingError
from graphs.llm import Passage, build_router
from graphs.tenant.graph import run_turn
from graphs.tenant.state import TenantRuntime

log = logging.getLogger("misybot.chat")
MAX_MESSAGE_CHARS = 4000


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


def _searcher(tenant_ctx):
    def search(query: str, k: int) -> list[Passage]:
        try:
            hits = tenant_ctx.documents.search(query, k)
        except (VectorStoreUnavailable, EmbeddingError) as exc:
            # The customer still gets an honest answer (and the offer of a person) instead of an error.
            log.error("knowledge search failed during a chat turn: %s", exc)
            return []
        return [Passage(h.document_id, h.title, h.content, h.score) for h in hits]
    return search


def chat_turn(platform, tenant_ctx, user_id: str, message: str, channel: str) -> TurnResult:
    assert channel in CHANNELS
    config = tenant_ctx.config
    store = tenant_ctx.conversations
    with store.turn_lock(user_id):
        if store.status(user_id).handed_off:
            # A person has the conversation: keep the message for them, the bot stays quiet.
            store.append(user_id, {"role": "user", "content": message, "channel": channel})
            return TurnResult("", "human", config.company_id, [], True)
        history = store.history(user_id)
        provider = platform.chat_provider(config)
        runtime = TenantRuntime(tenant=config, user_id=user_id, search=_searcher(tenant_ctx), provider=provider,
                                bookings=tenant_ctx.bookings, schedule=platform.schedule_client(config),
                                router_llm=build_router(config, provider))
        started = time.perf_counter()
        out = run_turn(runtime, message, history, channel)
        text = format_for_channel(out["answer"], channel, language=out.get("language", config.language),
                                  company_name=config.company_name, agent_name=config.sales_agent_name)
        if out.get("handoff"):
            store.hand_off(user_id, out.get("handoff_reason") or out["route"])
        store.append(user_id, {"role": "user", "content": message, "channel": channel},
                     {"role": "assistant", "content": text, "agent": out["route"]})
        log.info("chat turn", extra={"agent": out["route"], "channel": channel, "handoff": bool(out.get("handoff")),
                                     "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                                     "route_reasons": out.get("route_reasons", [])})
        return TurnResult(text, out["route"], config.company_id, out.get("sources", []), bool(out.get("handoff")),
                          out.get("booking"))
