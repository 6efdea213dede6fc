"""Shared by sales and support: retrieve from this tenant's knowledge and answer grounded on it."""
from __future__ import annotations

import re

from langgraph.runtime import Runtime

from app.knowledge import lexical
from graphs.llm import AnswerRequest
from graphs.tenant.state import TenantRuntime, TurnState

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
            "llm_fallback": answer.fallback_reason}
