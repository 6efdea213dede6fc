"""One chat turn, the same ordered stages for every channel.

    resolve -> quota -> lock -> consent -> graph -> format -> persist -> handoff -> learning -> audit -> deliver

A channel adapter (test API, widget, Chatwoot, later the SDK stream) only parses its inbound event into
an `Inbound` and says how to `deliver` the reply; everything else happens here, once. Each stage is a
small function of the `Turn`; a stage that has nothing to do for this turn (the conversation is with a
person, the user revoked consent) returns without acting, so every turn runs every stage and the
trace (`Turn.trace`) shows it.
"""
from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import redis
from flask import g, has_request_context

from app.audit.analytics import record_gap
from app.audit.events import Event
from app.audit.tracing import current_trace_id, set_turn_attributes, stage_span, trace_provider, trace_search, turn_span
from app.channels.formatting import CHANNELS, format_for_channel
from app.conversations.history import USER_ID_PATTERN
from app.knowledge.index import VectorStoreUnavailable
from app.privacy.llm_guard import AnonymizingProvider, AnonymizingRouter
from app.privacy.pii import Placeholders, anonymize
from app.security.rate_limits import count_message, count_tokens, seconds_to_next_month, tokens_used
from app.tenancy.context import TenantContext
from graphs.llm import Passage, build_router, llm_turn_budget
from graphs.tenant.graph import run_turn
from graphs.tenant.state import TenantRuntime

log = logging.getLogger("misybot.chat")
MAX_MESSAGE_CHARS = 4000
# Questions worth learning from across tenants. Emergencies (health data), bookings (personal details)
# and requests for a person are never queued for the meta-agent.
LEARNING_ROUTES = ("sales", "support", "availability")


class TurnRefused(Exception):
    """A turn that must not run; adapters answer it in their own way (HTTP 4xx, a Chatwoot note)."""
    status = 400
    code = "invalid_turn"
    details: dict[str, str] = {}

    def __init__(self, message: str, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidTurn(TurnRefused):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class QuotaExceeded(TurnRefused):
    status = 429
    code = "monthly_quota_exceeded"
    details = {"limit": "monthly_messages"}      # which of the plan's monthly limits (README, "Plans")


@dataclass(frozen=True)
class Inbound:
    """A customer message as a channel adapter parsed it."""
    user_id: str          # the end user within the tenant (never another tenant's: the context decides)
    text: str
    channel: str          # how the reply is formatted: one of app.channels.formatting.CHANNELS
    source: str           # which adapter took it: "api", "widget", "chatwoot"


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


@dataclass
class Turn:
    """What the stages share. Adapters read the result; observers read the trace."""
    platform: Any
    tenant: TenantContext
    inbound: Inbound
    deliver: Callable[["Turn"], None] | None = None
    resources: ExitStack = field(default_factory=ExitStack)
    keep_memory: bool = True          # False once the user revoked data_processing
    with_human: bool = False          # a person has the conversation: the bot stays quiet
    placeholders: Placeholders | None = None
    history: list[dict] = field(default_factory=list)      # read with the bot status, under the lock
    out: dict = field(default_factory=dict)     # the graph's output state
    reply: str = ""
    trace: list[tuple[str, float]] = field(default_factory=list)      # (stage, milliseconds)
    emitted: bool = False             # its event went out (emit_turn)

    @property
    def agent(self) -> str:
        return "human" if self.with_human else self.out.get("route", "")

    @property
    def handoff(self) -> bool:
        return self.with_human or bool(self.out.get("handoff"))

    def result(self) -> TurnResult:
        return TurnResult(self.reply, self.agent, self.tenant.company_id, self.out.get("sources", []),
                          self.handoff, self.out.get("booking"))


# -- the stages, in order -----------------------------------------------------------------------------
def resolve(turn: Turn) -> None:
    """The tenant came from the adapter's credential (the context); check the end user and the message."""
    msg = turn.inbound
    if not USER_ID_PATTERN.fullmatch(msg.user_id):
        raise InvalidTurn("invalid_user_id", "user_id must be 1-128 characters of letters, digits and ._:@+-")
    if msg.channel not in CHANNELS:
        raise InvalidTurn("invalid_channel", f"channel must be one of {', '.join(CHANNELS)}")
    if not msg.text.strip() or len(msg.text) > MAX_MESSAGE_CHARS:
        raise InvalidTurn("invalid_message", f"message must be 1-{MAX_MESSAGE_CHARS} characters")


class TokenQuotaExceeded(QuotaExceeded):
    code = "monthly_llm_token_limit_reached"
    details = {"limit": "monthly_llm_tokens"}


def count_quota(turn: Turn) -> None:
    """The plan's monthly limits that a chat turn spends: messages, and LLM tokens for a company on an LLM."""
    config = turn.tenant.config
    retry = {"Retry-After": str(seconds_to_next_month())}
    if config.ai.provider == "openai" and tokens_used(turn.tenant.keyspace) >= config.limits.monthly_llm_tokens:
        raise TokenQuotaExceeded("this company's monthly LLM token allowance is used up", retry)
    allowed, _ = count_message(turn.tenant.keyspace, config.limits.monthly_messages)
    if not allowed:
        raise QuotaExceeded("this company's monthly message quota is used up", retry)


def lock_conversation(turn: Turn) -> None:
    """One turn at a time per conversation; held until the turn is delivered."""
    store = turn.tenant.conversations
    turn.resources.enter_context(store.turn_lock(turn.inbound.user_id))
    # The history comes with the status (one Redis round trip); the graph stage uses it only with consent.
    status, turn.history = store.status_and_history(turn.inbound.user_id)
    turn.with_human = status.handed_off


def check_consent(turn: Turn) -> None:
    # A user who revoked data_processing is still answered, but nothing of the turn is kept as memory
    # and an external LLM only ever sees placeholders.
    turn.keep_memory = turn.tenant.consent.state(turn.inbound.user_id, "data_processing") != "revoked"


def run_graph(turn: Turn) -> None:
    if turn.with_human:
        return
    ctx, user_id = turn.tenant, turn.inbound.user_id
    config = ctx.config
    history = turn.history if turn.keep_memory else []
    provider, router_llm = _providers(turn)
    # Wrapped here, after the router was built from the bare provider (build_router checks its type).
    provider = trace_provider(provider, model=config.ai.model if config.ai.provider == "openai" else None)
    mask = None
    if turn.placeholders is not None and turn.platform.settings.use_openai_embeddings:
        mask = partial(anonymize, language=config.language, placeholders=turn.placeholders)
    runtime = TenantRuntime(tenant=config, user_id=user_id, search=_searcher(ctx, mask), provider=provider,
                            bookings=ctx.bookings, schedule=turn.platform.schedule_client(config),
                            router_llm=router_llm)
    with llm_turn_budget():          # the LLM router and the answer share one LLM_TIMEOUT_S
        turn.out = dict(run_turn(runtime, turn.inbound.text, history, turn.inbound.channel))
    if turn.out.get("llm_tokens"):
        count_tokens(ctx.keyspace, int(turn.out["llm_tokens"]))


def format_reply(turn: Turn) -> None:
    if turn.with_human:
        return
    config = turn.tenant.config
    turn.reply = format_for_channel(turn.out["answer"], turn.inbound.channel,
                                    language=turn.out.get("language", config.language),
                                    company_name=config.company_name, agent_name=config.sales_agent_name)


def persist(turn: Turn) -> None:
    if not turn.keep_memory:
        return
    ctx, user_id = turn.tenant, turn.inbound.user_id
    message = {"role": "user", "content": turn.inbound.text, "channel": turn.inbound.channel}
    if turn.with_human:
        ctx.conversations.append(user_id, message)        # kept for the person who has the conversation
        return
    ctx.conversations.append(user_id, message, {"role": "assistant", "content": turn.reply, "agent": turn.agent})
    if turn.placeholders is not None and turn.placeholders.values:
        ctx.placeholders.save(user_id, turn.placeholders.to_dict())


def hand_off(turn: Turn) -> None:
    if not turn.with_human and turn.out.get("handoff"):
        turn.tenant.conversations.hand_off(turn.inbound.user_id, turn.out.get("handoff_reason") or turn.agent)


def queue_learning(turn: Turn) -> None:
    ctx, out = turn.tenant, turn.out
    # A turn of a booking dialogue carries names, phones and dates of a real person: never learned from.
    if (turn.with_human or out.get("route") not in LEARNING_ROUTES or out.get("booking")
            or not ctx.config.privacy.share_learnings
            or not ctx.consent.allows(turn.inbound.user_id, "global_learning")):
        return
    # Still the customer's own words: they stay in the tenant's keyspace until the meta worker
    # anonymizes them (app/workers/meta.py).
    ctx.outbox.push(turn.inbound.user_id, turn.inbound.text, bool(out.get("sources")), out["route"],
                    out.get("language", ctx.config.language))


def audit(turn: Turn) -> None:
    """The observability hook of every turn: a log record without customer text, then the platform's
    observers (metrics, tests). The audit trail will hang off this stage."""
    record = {"company_id": turn.tenant.company_id, "source": turn.inbound.source, "channel": turn.inbound.channel,
              "agent": turn.agent, "handoff": turn.handoff, "with_human": turn.with_human,
              "route_reasons": turn.out.get("route_reasons", []),
              "stages_ms": {name: ms for name, ms in turn.trace}}
    log.info("chat turn", extra=record)
    for observer in turn.platform.turn_observers:
        observer(turn)
    emit_turn(turn, "handoff" if turn.handoff else "ok")


def deliver(turn: Turn) -> None:
    if turn.deliver is not None:
        turn.deliver(turn)


STAGES: tuple[Callable[[Turn], None], ...] = (resolve, count_quota, lock_conversation, check_consent, run_graph,
                                              format_reply, persist, hand_off, queue_learning, audit, deliver)
STAGE_NAMES = tuple(stage.__name__ for stage in STAGES)


def run_pipeline(platform, tenant: TenantContext, inbound: Inbound,
                 deliver_reply: Callable[[Turn], None] | None = None) -> TurnResult:
    """Run one customer message through every stage. Raises TurnRefused before anything is stored."""
    turn = Turn(platform, tenant, inbound, deliver_reply)
    try:
        # The turn span outside the resources: releasing the conversation lock is part of the turn.
        with turn_span(tenant.company_id, inbound.channel, inbound.source) as span, turn.resources:
            for stage in STAGES:
                started = time.perf_counter()
                with stage_span(stage.__name__):
                    stage(turn)
                turn.trace.append((stage.__name__, round((time.perf_counter() - started) * 1000, 2)))
            set_turn_attributes(span, agent=turn.agent, handoff=turn.handoff, emergency=turn.agent == "emergency",
                                route_reasons=turn.out.get("route_reasons"))
    except TurnRefused as exc:
        emit_turn(turn, "refused", exc.code)
        raise
    except Exception:
        emit_turn(turn, "error", "internal_error")
        raise
    _note_knowledge_gap(turn)
    return turn.result()


def _note_knowledge_gap(turn: Turn) -> None:
    """A question the knowledge base could not answer, anonymized, for GET /insights/knowledge-gaps. After delivery:
    Presidio takes ~15 ms, and only unanswered questions pay it."""
    out = turn.out
    if turn.with_human or turn.agent not in GROUNDED_AGENTS or out.get("sources") or out.get("booking"):
        return
    try:
        record_gap(turn.tenant, turn.inbound.text, out.get("language", turn.tenant.config.language))
    except redis.exceptions.RedisError as exc:      # the customer already has the answer; an insight may be lost
        log.warning("knowledge gap not recorded: %s", type(exc).__name__)


GROUNDED_AGENTS = ("sales", "support")


def emit_turn(turn: Turn, outcome: str, error_code: str | None = None) -> None:
    """The turn's event for the audit trail, metrics and analytics (app/audit/events.py): no customer text, the end
    user as a keyed pseudonym. Once per turn: a failure after the audit stage does not count it twice."""
    if turn.emitted:
        return
    turn.emitted = True
    ctx, out, config = turn.tenant, turn.out, turn.tenant.config
    llm = None
    if out.get("provider") == "openai" or (config.ai.provider == "openai" and out.get("llm_fallback")):
        llm = {"provider": config.ai.provider, "model": config.ai.model, "tokens": int(out.get("llm_tokens") or 0),
               "fallback_reason": out.get("llm_fallback")}
    booking = out.get("booking") or {}
    stages = dict(turn.trace)
    fields = {"user": turn.platform.pseudonyms.user(ctx.company_id, turn.inbound.user_id),
              "channel": turn.inbound.channel, "source": turn.inbound.source, "agent": turn.agent,
              "route_reasons": list(out.get("route_reasons", [])), "stages_ms": stages,
              "duration_ms": round(sum(stages.values()), 2), "handoff": turn.handoff, "emergency": turn.agent == "emergency",
              "grounded": bool(out.get("sources")) if turn.agent in GROUNDED_AGENTS else None, "llm": llm,
              "booking_status": booking.get("status"), "error_code": error_code}
    turn.platform.events.emit(Event("turn", ctx.company_id, outcome, request_id=_request_id(),
                                    trace_id=current_trace_id(), fields=fields))


def _request_id() -> str | None:
    # The pipeline also runs in workers, outside any request.
    return getattr(g, "request_id", None) if has_request_context() else None


# -- what the graph stage binds to the tenant -----------------------------------------------------------
def _searcher(tenant: TenantContext, mask=None):
    """Search the tenant's knowledge; `mask` anonymizes the query first when it would go to an external
    embeddings endpoint. Hybrid search answers from its lexical side when the embedder fails, so the
    turn still answers from the passages its words find."""
    def search(query: str, k: int) -> list[Passage]:
        try:
            hits = tenant.documents.search(mask(query) if mask else query, k)
        except VectorStoreUnavailable as exc:
            # The customer still gets an honest answer (and the offer of a person) instead of an error.
            log.error("knowledge search failed during a chat turn: %s", exc)
            return []
        if hits.degraded:
            log.warning("chat turn searched without the embedder: %s", hits.degraded,
                        extra={"company_id": tenant.company_id})
        return [Passage(h.document_id, h.title, h.content, h.score) for h in hits]
    return trace_search(search)


def _providers(turn: Turn):
    """The tenant's chat provider and LLM router; behind placeholders when the customer's words must
    not reach an external LLM as written (sets turn.placeholders then)."""
    config = turn.tenant.config
    provider = turn.platform.chat_provider(config)
    router = build_router(config, provider)
    protect = config.privacy.anonymize_llm or not turn.keep_memory
    if not protect or provider.name == "retrieval":
        return provider, router          # nothing leaves the tenant
    turn.placeholders = Placeholders.from_dict(turn.tenant.placeholders.load(turn.inbound.user_id))
    router = AnonymizingRouter(router, turn.placeholders, config.language) if router else None
    return AnonymizingProvider(provider, turn.placeholders), router
