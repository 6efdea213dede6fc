"""The tenant graph: router -> sales | support | schedule | availability | emergency | human.

One compiled graph serves every tenant; the tenant is bound per invoke through the runtime context
(TenantRuntime), which carries that tenant's settings, retriever and stores and nothing else.
"""
from __future__ import annotations

import logging
import threading

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from graphs.llm import LLM_ERRORS
from graphs.tenant.agents.appointments import booking_change, continues
from graphs.tenant.agents.availability import availability
from graphs.tenant.agents.emergency import emergency
from graphs.tenant.agents.grounded import with_facts_first
from graphs.tenant.agents.human import human
from graphs.tenant.agents.sales import sales
from graphs.tenant.agents.schedule import schedule
from graphs.tenant.agents.support import support
from graphs.tenant.booking_slots import extract_name, extract_service, extract_when
from graphs.tenant.intents import INTENTS
from graphs.tenant.language import detect_language
from graphs.tenant.router import route_message
from graphs.tenant.state import TenantRuntime, TurnState

log = logging.getLogger("misybot.router")
LLM_REFINE_BELOW = 0.6
# The booking agents answer a question about the business first (graphs/tenant/agents/grounded.py).
AGENTS = {"sales": sales, "support": support, "schedule": with_facts_first(schedule, "schedule"),
          "availability": with_facts_first(availability, "availability"),
          "emergency": emergency, "human": human}


def router(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    ctx = runtime.context
    draft = ctx.bookings.draft(ctx.user_id)
    awaiting = draft.get("awaiting")
    message = state["message"]
    continues_booking = bool(awaiting) and bool(
        extract_when(message) or extract_name(message, expecting_name=awaiting == "name")
        or extract_service(message, list(ctx.tenant.service_durations), ctx.tenant.language)
        or continues(draft, message))
    # "quiero cancelar mi cita" / "can I move my appointment?" is the schedule agent's, whatever the classifier says
    change = not continues_booking and booking_change(message) is not None
    route = route_message(message, continues_booking=continues_booking or change)
    agent, reasons = route.agent, list(route.reasons)
    if change and "booking_in_progress" in reasons:
        # a change asked afresh, not a step of a booking under way: a question about the rules for it ("¿puedo cancelar
        # 3 horas antes sin que me cobren?") is answered from the documents too (grounded.with_facts_first)
        reasons[reasons.index("booking_in_progress")] = "booking_change"
    if ctx.router_llm is not None and agent != "emergency" and route.confidence < LLM_REFINE_BELOW:
        # When the classifier is unsure, an LLM may refine the choice: it can raise an emergency, and
        # it is never asked once the rules found one.
        try:
            refined = ctx.router_llm(state["message"], state.get("history", []))
            if refined in INTENTS and refined != agent:
                reasons.append(f"llm:{refined}")
                agent = refined
        except LLM_ERRORS as exc:
            log.warning("router LLM failed, keeping the offline route: %s", type(exc).__name__)
    language = detect_language(state["message"], ctx.tenant.language)
    return {"route": agent, "route_reasons": reasons, "language": language}


def _build():
    g = StateGraph(TurnState, context_schema=TenantRuntime)
    g.add_node("router", router)
    for name, fn in AGENTS.items():
        g.add_node(name, fn)
        g.add_edge(name, END)
    g.add_edge(START, "router")
    g.add_conditional_edges("router", lambda s: s["route"], {n: n for n in AGENTS})
    return g.compile()


_graph = None
_lock = threading.Lock()


def tenant_graph():
    global _graph
    with _lock:
        if _graph is None:
            _graph = _build()
        return _graph


def run_turn(context: TenantRuntime, message: str, history: list[dict], channel: str) -> TurnState:
    if context is None or context.tenant is None:
        raise ValueError("a turn needs its tenant's runtime context")     # LangGraph does not check it
    return tenant_graph().invoke({"message": message, "history": history, "channel": channel},
                                 context=context)
