"""Availability: real free slots from the tenant's scheduling service; without one, we say we cannot
see the live agenda and start collecting a booking request instead of inventing slots."""
from __future__ import annotations

import logging

from langgraph.runtime import Runtime

from graphs.tenant.agents.appointments import appointments, has_agenda
from graphs.tenant.agents.schedule import _services, collect_booking
from graphs.tenant.booking_slots import extract_service, extract_when
from graphs.tenant.state import ScheduleUnavailable, TenantRuntime, TurnState

log = logging.getLogger("misybot.availability")

NO_AGENDA = {
    "es": "No tengo acceso a la agenda en tiempo real, así que no puedo prometerte un horario. "
          "Te ayudo a dejar tu solicitud y el equipo te confirma la disponibilidad. ",
    "en": "I can't see the live schedule, so I can't promise a time. "
          "I can take your request and the team will confirm availability. ",
}
SLOTS = {"es": "Estos son los horarios disponibles que me muestra la agenda{service}: {slots}. ¿Cuál prefieres?",
         "en": "These are the open times in the schedule{service}: {slots}. Which one works for you?"}
NONE_FREE = {"es": "La agenda no muestra horarios libres para eso. ¿Quieres probar otro día?",
             "en": "The schedule shows no open times for that. Would you like to try another day?"}


def availability(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    ctx = runtime.context
    lang = state.get("language", ctx.tenant.language)
    if has_agenda(runtime):
        return appointments(state, runtime)          # real free slots from the company's own agenda
    if ctx.schedule is not None:
        service = extract_service(state["message"], _services(runtime), ctx.tenant.language)
        try:
            slots = ctx.schedule.availability(service, extract_when(state["message"]))
            if not slots:
                return {"answer": NONE_FREE[lang], "sources": [], "handoff": False}
            label = f" ({service})" if service else ""
            return {"answer": SLOTS[lang].format(service=label, slots=", ".join(slots)), "sources": [],
                    "handoff": False}
        except ScheduleUnavailable as exc:
            log.warning("schedule service failed: %s", exc)
    out = collect_booking(state, runtime)
    out["answer"] = NO_AGENDA[lang] + out["answer"]
    return out
