"""Emergency: an immediate safety message, a flag for a human, and the bot stops for the conversation."""
from langgraph.runtime import Runtime

from graphs.tenant.state import TenantRuntime, TurnState

MESSAGES = {
    "es": ("⚠️ Lo que describes puede ser una urgencia. Si tienes dificultad para respirar, dolor en el pecho, "
           "desmayo o un sangrado que no para, llama ya a la línea de emergencias de tu país (123 en Colombia, "
           "131 en Chile, 911 en México y Argentina, 112 en España) o acude al servicio de urgencias más cercano. "
           "No esperes nuestra respuesta para buscar ayuda.\n\n"
           "Ya avisé a una persona de {company} para que te contacte de inmediato."),
    "en": ("⚠️ What you describe may be an emergency. If you have trouble breathing, chest pain, fainting or "
           "bleeding that won't stop, call your local emergency number now (911 in the US and Mexico, 112 in "
           "Europe) or go to the nearest emergency room. Don't wait for our reply to get help.\n\n"
           "I've alerted someone at {company} to contact you right away."),
}


def emergency(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    lang = state.get("language", runtime.context.tenant.language)
    text = MESSAGES.get(lang, MESSAGES["es"]).format(company=runtime.context.tenant.company_name)
    return {"answer": text, "sources": [], "handoff": True, "handoff_reason": "emergency"}
