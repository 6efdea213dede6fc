"""Shared by sales and support: retrieve from this tenant's knowledge and answer grounded on it. The
booking agents use it too, to answer a question about the business before they start a booking."""
from __future__ import annotations

import re
from collections.abc import Callable

from langgraph.runtime import Runtime

from app.knowledge import lexical
from graphs.llm import AnswerRequest
from graphs.tenant.state import TenantRuntime, TurnState

Agent = Callable[[TurnState, Runtime[TenantRuntime]], dict]

SEARCH_K = 5
# Words that ask *about* something without naming it: "¿y cuánto cuesta?", "how long does it last?"
_ASKING_WORDS = set(lexical.analyze(
    "cuanto cuesta cuestan vale valen sale salen precio precios dura duran demora tarda tiempo sesiones "
    "incluye cuando cual como eso ese esa esto ahi mas "
    "how much cost price long last take does it that this include when which", "es"))
_FOLLOW_UP_START = re.compile(r"^\s*(y|e|and|pero|but|entonces|so)\b", re.IGNORECASE)


def search_query(state: TurnState, language: str) -> str:
    """A follow-up ("¿y cuánto cuesta?", "how long does it last?") borrows the topic of the previous
    user message; a message that names its own topic ("¿dónde quedan?") stands alone."""
    message = state["message"]
    terms = set(lexical.analyze(message, language))
    if _FOLLOW_UP_START.match(message) or not (terms - _ASKING_WORDS):
        previous = [t["content"] for t in state.get("history", []) if t.get("role") == "user"]
        if previous:
            return f"{previous[-1]} {message}"
    return message


def grounded_answer(state: TurnState, runtime: Runtime[TenantRuntime], agent: str) -> dict:
    return _answer(state, runtime, agent)[0]


def _answer(state: TurnState, runtime: Runtime[TenantRuntime], agent: str) -> tuple[dict, bool]:
    """The agent's output, and whether the documents held an answer."""
    ctx = runtime.context
    tenant = ctx.tenant
    query = search_query(state, tenant.language)
    passages = list(ctx.search(query, SEARCH_K))
    answer = ctx.provider.answer(AnswerRequest(
        question=state["message"], search_query=query, passages=passages, agent=agent,
        language=state.get("language", tenant.language), tenant_language=tenant.language,
        company_name=tenant.company_name, agent_name=tenant.sales_agent_name, persona=tenant.persona,
        history=state.get("history", [])))
    return {"answer": answer.text,
            "sources": [{"document_id": p.document_id, "title": p.title} for p in answer.sources],
            "handoff": False, "provider": answer.provider, "llm_tokens": answer.tokens,
            "llm_fallback": answer.fallback_reason}, answer.grounded


# A question, by its marks or by how it opens: "¿atienden el sábado?", "tienen convenio con isapres",
# "do you open on sundays", "can I give my package to a friend".
_QUESTION = re.compile(
    r"[?¿]|^\W*(que|cuanto|cuantos|cuantas|como|cuando|donde|cual|cuales|quien|tienen|teneis|tenes|hay|"
    r"se puede|puedo|podria|aceptan|hacen|atienden|abren|dan|cobran|what|how|when|where|which|who|do|does|is|"
    r"are|can|could|will|any)\b", re.IGNORECASE)


def asks_about_the_business(state: TurnState) -> bool:
    """A question that opens a conversation with a booking agent ("¿atienden el sábado en la tarde?",
    "cuántas veces puedo cambiar la cita?", "¿puedo cancelar 3 horas antes sin que me cobren?") rather than a step
    of a booking already under way (the router's `booking_in_progress`)."""
    if "booking_in_progress" in state.get("route_reasons", []):
        return False
    return bool(_QUESTION.search(lexical.fold(state["message"])))


# Where the booking stands when nothing was booked, changed or refused this turn: collecting details, offering free
# times ("quiero brackets saliendo a las 6, ¿se puede?"), finding no booking to change ("¿puedo cancelar 3 horas antes
# sin que me cobren?") or asking which one. Only then is the question answered first; any other status stands alone.
UNDECIDED = frozenset({None, "collecting", "offering", "none", "choosing_booking"})


def with_facts_first(agent: Agent, name: str) -> Agent:
    """The booking agents answer a question about the business before they book: a customer who asks
    "¿atienden el sábado en la tarde?" or "is there a minimum age for botox?" gets the hours or the rule
    from the tenant's own documents, then the booking's next step (the agenda's free times, or what it
    still needs). Only when the documents hold an answer, and never once a booking was made, changed or refused
    this turn."""
    def node(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
        out = agent(state, runtime)
        booking = out.get("booking") or {}
        if out.get("handoff") or booking.get("status") not in UNDECIDED or not asks_about_the_business(state):
            return out
        facts, grounded = _answer(state, runtime, name)
        if not grounded:
            return out
        return {**out, **{k: v for k, v in facts.items() if k not in ("answer", "sources", "handoff")},
                "answer": f"{facts['answer']}\n\n{out['answer']}", "sources": facts["sources"] + out["sources"]}
    node.__name__ = name
    return node
