"""Human: hand the conversation to a person when the user asks for one."""
from langgraph.runtime import Runtime

from graphs.tenant.state import TenantRuntime, TurnState

MESSAGES = {
    "es": "Claro, te comunico con una persona del equipo de {company}. Te responderán por este mismo chat en breve.",
    "en": "Of course, I'm connecting you with someone from the {company} team. They'll reply here shortly.",
}


def human(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    lang = state.get("language", runtime.context.tenant.language)
    return {"answer": MESSAGES.get(lang, MESSAGES["es"]).format(company=runtime.context.tenant.company_name),
            "sources": [], "handoff": True, "handoff_reason": "requested_by_user"}
