"""Schedule: collect a booking over several turns (service, preferred date and time, name).

With the tenant's scheduling service, the booking goes there and we repeat what it answered. Without
one, it is recorded as a pending request for the business to confirm. We never claim a slot is ours.
"""
from __future__ import annotations

import logging

from langgraph.runtime import Runtime

from graphs.tenant.agents.appointments import appointments, has_agenda
from graphs.tenant.booking_slots import extract_name, extract_service, extract_when
from graphs.tenant.state import ScheduleUnavailable, TenantRuntime, TurnState

log = logging.getLogger("misybot.schedule")

ASK = {
    "es": {"service": "¿Qué servicio te gustaría agendar? Por ejemplo: {options}.",
           "when": "¿Qué día y a qué hora te queda mejor?",
           "name": "¿A nombre de quién registro la solicitud?"},
    "en": {"service": "Which service would you like to book? For example: {options}.",
           "when": "Which day and time would suit you best?",
           "name": "What name should I put the request under?"},
}
DONE = {
    "es": ("Listo, registré tu solicitud de cita: {service}, {when}, a nombre de {name}. "
           "Aún no es una cita confirmada: el equipo de {company} revisará la agenda y te confirmará por este medio."),
    "en": ("Done, I've recorded your appointment request: {service}, {when}, under {name}. "
           "It isn't confirmed yet: the {company} team will check the schedule and confirm with you here."),
}
CONFIRMED = {
    "es": "Tu cita quedó {status_es} en la agenda de {company}: {service}, {start}, a nombre de {name}.",
    "en": "Your appointment is {status} in {company}'s schedule: {service}, {start}, under {name}.",
}
STATUS_ES = {"confirmed": "confirmada", "pending": "pendiente de confirmación"}


def _services(runtime: Runtime[TenantRuntime]) -> list[str]:
    return list(runtime.context.tenant.service_durations)


def collect_booking(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    ctx = runtime.context
    lang = state.get("language", ctx.tenant.language)
    draft = ctx.bookings.draft(ctx.user_id)
    message = state["message"]
    found = {"service": extract_service(message, _services(runtime), ctx.tenant.language),
             "when": extract_when(message),
             "name": extract_name(message, expecting_name=draft.get("awaiting") == "name")}
    # A new date/time replaces the old one ("mejor el sábado"); service and name stay once given.
    updates = {k: v for k, v in found.items() if v and (k == "when" or not draft.get(k))}
    draft = ctx.bookings.update_draft(ctx.user_id, **updates)
    missing = [f for f in ("service", "when", "name") if not draft.get(f)]
    if missing:
        field = missing[0]
        ctx.bookings.update_draft(ctx.user_id, awaiting=field)
        options = ", ".join(_services(runtime)[:4]) or ctx.tenant.services[:80]
        return {"answer": ASK[lang][field].format(options=options), "sources": [], "handoff": False,
                "booking": {k: draft.get(k) for k in ("service", "when", "name")} | {"status": "collecting"}}
    if ctx.schedule is not None:
        try:
            result = ctx.schedule.book(draft["service"], draft["when"], draft["name"], ctx.user_id)
            ctx.bookings.clear_draft(ctx.user_id)
            status = result.get("status", "pending")
            text = CONFIRMED[lang].format(status=status, status_es=STATUS_ES.get(status, status),
                                          company=ctx.tenant.company_name, service=draft["service"],
                                          start=result.get("start") or draft["when"], name=draft["name"])
            return {"answer": text, "sources": [], "handoff": False,
                    "booking": {"service": draft["service"], "when": draft["when"], "name": draft["name"],
                                "status": status, "booking_id": result.get("booking_id")}}
        except ScheduleUnavailable as exc:     # the service is down: keep the request rather than lose it
            log.warning("schedule service failed, recording a pending request: %s", exc)
    record = ctx.bookings.submit(ctx.user_id, state.get("channel", "api"), draft)
    text = DONE[lang].format(service=draft["service"], when=draft["when"], name=draft["name"],
                             company=ctx.tenant.company_name)
    return {"answer": text, "sources": [], "handoff": False,
            "booking": {"service": draft["service"], "when": draft["when"], "name": draft["name"],
                        "status": "pending", "booking_id": record["booking_id"]}}


def schedule(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    """The company's own agenda when it has a catalog; else its scheduling service; else a pending request."""
    if has_agenda(runtime):
        return appointments(state, runtime)
    return collect_booking(state, runtime)
