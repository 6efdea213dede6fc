"""Appointments over chat, against the company's own agenda (its catalog in the booking engine).

Over as many turns as it takes: which service (and professional, if the customer names one), when, then
real free slots nearest to what was asked (at most 4), then the name and phone if missing; then the booking
is written and confirmed in one message with date, time, place and price. The customer can also move or
cancel their own upcoming booking. Nothing is claimed that the engine did not write: a slot taken meanwhile
is said so, with the next free ones.

What has been collected lives in the conversation's booking draft (a Redis hash of strings):
  intent (book|reschedule|cancel), service_id, professional_id, win_start, win_end, wish, exact, offers (JSON),
  chosen ("epoch|professional_id"), name, phone, target (the booking being moved or cancelled), awaiting.
"""
from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from typing import Any

from langgraph.runtime import Runtime

from app.bookings.dates import When, parse_when
from graphs.tenant.booking_slots import extract_name, extract_service
from graphs.tenant.emergency import normalize
from graphs.tenant.state import BookingRefused, TenantRuntime, TurnState

MAX_OFFERS = 4
SEARCH_DAYS = 14          # when the asked window is full, look this far ahead for the nearest free times
_PHONE = re.compile(r"(?<![\d])(\+?\d[\d .-]{6,18}\d)(?![\d])")
_CANCEL = re.compile(r"\b(cancel\w*|anul\w*|ya no (voy|puedo ir|podre ir)|no (voy a|podre) (ir|asistir))\b")
_MOVE = re.compile(r"\b(reprogram\w*|reagend\w*|cambi\w* (mi |la )?(cita|hora|turno|reserva)|mover (mi |la )?(cita|hora|turno)|"
                   r"cambiar(la)? de (dia|hora|fecha)|otro dia|otra hora|reschedul\w*|move my (appointment|booking))\b")
_ORDINALS = {"primer": 0, "primera": 0, "1": 0, "first": 0, "segund": 1, "2": 1, "second": 1, "tercer": 2, "3": 2,
             "third": 2, "cuart": 3, "4": 3, "fourth": 3, "ultim": -1, "last": -1}
# An offer is picked by a bare ordinal or one after an article ("la segunda", "opción 2"); a booking from the list
# of the customer's own by the ordinal anywhere in the reply ("la del segundo día").
_OFFER_ORDINAL = r"(^|\b(la|el|the|opcion|option|numero|number|#)\s*){word}\w*\b"
_LIST_ORDINAL = r"\b{word}\w*\b"


def _ordinal(text: str, count: int, pattern: str) -> int | None:
    """The position (0-based, -1 for "la última") an ordinal in `text` names among `count` items, or None."""
    for word, index in _ORDINALS.items():
        if (re.search(pattern.format(word=re.escape(word)), text) or text.strip() == word) and -count <= index < count:
            return index
    return None


_YES = re.compile(r"^\W*(si|sí|dale|ok|okay|listo|claro|perfecto|de una|vale|yes|sure|confirm\w*)\b")

DAYS = {"es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
MONTHS = {"es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
                 "noviembre", "diciembre"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December")}
TEXT = {
    "es": {
        "service": "¿Qué servicio te gustaría agendar? Tenemos: {options}.",
        "when": "¿Para qué día y a qué hora te gustaría tu cita de {service}?",
        "offers": "Para {service} tengo estos horarios libres{near}:\n{list}\n¿Cuál prefieres? Puedes responder con el número.",
        "near": " cerca de lo que pediste",
        "none": "No encuentro horarios libres para {service} en las dos semanas desde esa fecha. ¿Quieres probar otra fecha?",
        "name": "Perfecto, {slot}. ¿A nombre de quién hago la reserva?",
        "phone": "Gracias, {name}. ¿A qué número de teléfono te contactamos si hace falta?",
        "booked": "¡Listo, {name}! Tu cita quedó confirmada: {service} con {professional}, el {slot}{place}.{price} "
                  "Si necesitas cambiarla o cancelarla, escríbeme por aquí.",
        "moved": "Listo, moví tu cita de {service} al {slot} con {professional}{place}.",
        "taken": "Lo siento, ese horario se acaba de ocupar. ",
        "refused": "No pude hacer ese cambio: {reason}",
        "no_bookings": "No encuentro citas próximas a tu nombre en este chat. ¿Quieres agendar una?",
        "which": "Tienes varias citas próximas:\n{list}\n¿Cuál quieres {verb}? Responde con el número.",
        "cancelled": "Listo, cancelé tu cita de {service} del {slot}. Si quieres agendar otra, aquí estoy.",
        "move_when": "Claro, movamos tu cita de {service} del {slot}. ¿Para qué día y hora la quieres?",
        "price": " El valor es {price}.", "place": " en {place}", "verb_cancel": "cancelar", "verb_move": "mover",
        "window": "ya estamos dentro de las {hours} horas previas a la cita; para cambios de último momento te comunico "
                  "con el equipo.",
    },
    "en": {
        "service": "Which service would you like to book? We offer: {options}.",
        "when": "Which day and time would you like for your {service} appointment?",
        "offers": "For {service} I have these open times{near}:\n{list}\nWhich one do you prefer? You can reply with the number.",
        "near": " close to what you asked",
        "none": "I can't find open times for {service} in the two weeks from that date. Would you like to try another date?",
        "name": "Great, {slot}. What name should I book it under?",
        "phone": "Thanks, {name}. What phone number can we reach you on if needed?",
        "booked": "All set, {name}! Your appointment is confirmed: {service} with {professional}, {slot}{place}.{price} "
                  "If you need to change or cancel it, just write to me here.",
        "moved": "Done, I moved your {service} appointment to {slot} with {professional}{place}.",
        "taken": "Sorry, that time was just taken. ",
        "refused": "I couldn't make that change: {reason}",
        "no_bookings": "I can't find upcoming appointments for you in this chat. Would you like to book one?",
        "which": "You have several upcoming appointments:\n{list}\nWhich one do you want to {verb}? Reply with the number.",
        "cancelled": "Done, I cancelled your {service} appointment on {slot}. If you'd like to book another, I'm here.",
        "move_when": "Sure, let's move your {service} appointment on {slot}. Which day and time would you like instead?",
        "price": " The price is {price}.", "place": " at {place}", "verb_cancel": "cancel", "verb_move": "move",
        "window": "we are within {hours} hours of the appointment; for last-minute changes I'll put you in touch with the team.",
    },
}


def booking_change(text: str) -> str | None:
    """"cancel" or "reschedule" when the customer asks to change an appointment they have."""
    t = normalize(text)
    if _CANCEL.search(t):
        return "cancel"
    if _MOVE.search(t):
        return "reschedule"
    return None


def continues(draft: dict, message: str) -> bool:
    """Whether a reply belongs to the appointment dialogue in progress ("la segunda", "3001234567")."""
    awaiting, t = draft.get("awaiting"), normalize(message)
    if awaiting in ("choice", "target"):
        return len(t.split()) <= 8 or any(w in t for w in _ORDINALS)
    if awaiting == "phone":
        return bool(_PHONE.search(message))
    if awaiting == "name":
        return extract_name(message, expecting_name=True) is not None
    return False


def has_agenda(runtime: Runtime[TenantRuntime]) -> bool:
    store = runtime.context.bookings
    return hasattr(store, "catalog") and bool(store.catalog.services(include_inactive=False))


def spoken(ts: int, tz, lang: str) -> str:
    """"jueves 10 de diciembre a las 15:00" / "Thursday, December 10 at 15:00"."""
    d = datetime.fromtimestamp(ts, tz)
    if lang == "es":
        return f"{DAYS['es'][d.weekday()]} {d.day} de {MONTHS['es'][d.month - 1]} a las {d:%H:%M}"
    return f"{DAYS['en'][d.weekday()]}, {MONTHS['en'][d.month - 1]} {d.day} at {d:%H:%M}"


def money(price: float | None, currency: str | None) -> str | None:
    if price is None:
        return None
    amount = f"{price:,.0f}".replace(",", ".") if currency in ("COP", "CLP", "EUR") else f"{price:,.2f}"
    return f"{'$' if currency in ('COP', 'CLP', 'MXN', 'USD') else ''}{amount} {currency or ''}".strip()


class Conversation:
    """One turn of the appointment dialogue."""

    def __init__(self, state: TurnState, runtime: Runtime[TenantRuntime]):
        ctx = runtime.context
        self.ctx, self.store, self.user = ctx, ctx.bookings, ctx.user_id
        self.message = state["message"]
        self.channel = state.get("channel", "api")
        self.tz = self.store.tz
        self.draft = self.store.draft(self.user)
        # A reply of digits ("3001234567") says nothing of the language: keep the dialogue's.
        words = re.findall(r"[^\W\d_]{2,}", self.message)
        self.lang = state.get("language", ctx.tenant.language)
        if len(words) < 2 and self.draft.get("lang") in TEXT:
            self.lang = self.draft["lang"]
        elif self.draft.get("lang") != self.lang and self.draft:
            self.draft = self.store.update_draft(self.user, lang=self.lang)
        self.t = TEXT[self.lang]
        self.services = {s.id: s for s in self.store.catalog.services(include_inactive=False)}

    # -- the turn --------------------------------------------------------------------------------------
    def run(self) -> dict:
        if not self.draft.get("dialog"):
            self.draft = self.store.update_draft(self.user, dialog=secrets.token_hex(6), lang=self.lang)
        change = booking_change(self.message)
        if change and self.draft.get("intent") != change:
            self._reset(intent=change)
        intent = self.draft.get("intent") or "book"
        if intent in ("cancel", "reschedule") and not self.draft.get("target"):
            picked = self._pick_target(intent)
            if picked is not None:
                return picked
        if intent == "cancel":
            return self._cancel()
        return self._book(intent)

    def _book(self, intent: str, collect: bool = True) -> dict:
        if collect:
            self._collect()
        d = self.draft
        if not d.get("service_id"):
            names = ", ".join(self._service_label(s) for s in list(self.services.values())[:6])
            return self._ask("service", self.t["service"].format(options=names))
        service = self.services[d["service_id"]]
        if not d.get("chosen"):
            if not d.get("win_start"):
                return self._ask("when", self.t["when"].format(service=service.name))
            return self._offer(service)
        if not d.get("name") and intent == "book":
            return self._ask("name", self.t["name"].format(slot=spoken(self._chosen()[0], self.tz, self.lang)))
        if intent == "book" and self.ctx.tenant.booking.require_phone and not d.get("phone"):
            return self._ask("phone", self.t["phone"].format(name=d["name"].split()[0]))
        return self._write(intent, service)

    # -- collecting --------------------------------------------------------------------------------------
    def _collect(self) -> None:
        d, message = self.draft, self.message
        updates: dict[str, str] = {}
        names = {s.name: s.id for s in self.services.values()}
        found = extract_service(message, list(names), self.ctx.tenant.language)
        if found and names[found] != d.get("service_id") and d.get("intent", "book") == "book":
            updates |= {"service_id": names[found], "offers": "", "chosen": ""}
        # The customer's own name can be a professional's ("Laura"): names are not looked for while we ask for theirs.
        pro = None if d.get("awaiting") in ("name", "phone") else self._professional_named(
            updates.get("service_id") or d.get("service_id"))
        if pro and pro != d.get("professional_id"):
            updates |= {"professional_id": pro, "offers": "", "chosen": ""}
        # A phone number is not a date or a time ("300 123 4567" is not "3 o'clock").
        when = parse_when(_PHONE.sub(" ", message), datetime.fromtimestamp(self.store.clock(), self.tz), self.lang)
        # Only a reply to the offers picks one: a phone number "300 123 4567" is not "option 3".
        choice = self._choice(when) if d.get("offers") and d.get("awaiting") == "choice" else None
        if choice is not None:
            updates["chosen"] = f"{choice[0]}|{choice[1]}"
        elif when is not None:
            updates |= {"win_start": str(int(when.start.timestamp())), "win_end": str(int(when.end.timestamp())),
                        "wish": str(int(when.start.timestamp())), "exact": "1" if when.exact else "", "offers": "",
                        "chosen": ""}
        if d.get("awaiting") in ("name", "phone") or d.get("chosen") or updates.get("chosen"):
            name = extract_name(message, expecting_name=d.get("awaiting") == "name")
            if name and not d.get("name"):
                updates["name"] = name
            phone = _PHONE.search(message)
            if phone and not d.get("phone"):
                updates["phone"] = phone.group(1).strip()
        if updates:
            self.draft = self.store.update_draft(self.user, **updates)

    def _professional_named(self, service_id: str | None) -> str | None:
        if not service_id:
            return None
        words = set(normalize(self.message).split())
        for pro in self.store.catalog.professionals_for(service_id):
            tokens = [w for w in normalize(pro.name).replace(".", " ").split() if len(w) > 3 and w not in
                      ("doctor", "doctora", "dr", "dra")]
            if tokens and any(t in words for t in tokens):
                return pro.id
        return None

    def _choice(self, when: When | None) -> tuple[int, str] | None:
        """Which offer the reply picks: by position ("la segunda", "2"), by time ("a las 10:30"), or a "sí" to a
        single offer. `when` is the reply's date/time as _collect read it."""
        offers = json.loads(self.draft["offers"])
        t = normalize(self.message)
        index = _ordinal(t, len(offers), _OFFER_ORDINAL)
        if index is not None:
            return int(offers[index][0]), str(offers[index][1])
        if when is not None and when.exact:
            hhmm = when.start.strftime("%H:%M")
            same = [o for o in offers if datetime.fromtimestamp(o[0], self.tz).strftime("%H:%M") == hhmm
                    and (when.start.date() == datetime.fromtimestamp(o[0], self.tz).date()
                         or not re.search(r"\d{1,2} de|lunes|martes|miercoles|jueves|viernes|sabado|domingo|manana", t))]
            if same:
                return same[0][0], same[0][1]
        if _YES.match(t) and len(offers) == 1:
            return offers[0][0], offers[0][1]
        return None

    # -- offering and writing ----------------------------------------------------------------------------
    def _offer(self, service, prefix: str = "") -> dict:
        d = self.draft
        start, end, wish = int(d["win_start"]), int(d["win_end"]), int(d.get("wish") or d["win_start"])
        slots = self.store.availability(service.id, d.get("professional_id") or None, start, end, 400)
        near = False
        if not slots:
            near = True
            slots = self.store.availability(service.id, d.get("professional_id") or None, start,
                                            start + SEARCH_DAYS * 86400, 400)
        if not slots:
            return self._ask("when", prefix + self.t["none"].format(service=service.name))
        if d.get("exact") and not prefix:
            exact = [s for s in slots if s.start == wish]
            if exact:
                self.draft = self.store.update_draft(self.user, chosen=f"{exact[0].start}|{exact[0].professional_id}")
                return self._book(d.get("intent") or "book", collect=False)
        by_distance = sorted(slots, key=lambda s: (abs(s.start - wish), s.start))
        picked, seen = [], set()
        for s in by_distance:           # different times first: the customer chooses a time, not a person
            if s.start not in seen:
                picked.append(s)
                seen.add(s.start)
            if len(picked) == MAX_OFFERS:
                break
        picked.sort(key=lambda s: s.start)
        names = {p.id: p.name for p in self.store.catalog.professionals()}
        offers = [[s.start, s.professional_id, names.get(s.professional_id, "")] for s in picked]
        self.draft = self.store.update_draft(self.user, offers=json.dumps(offers), awaiting="choice", lang=self.lang)
        lines = "\n".join(f"{i + 1}. {spoken(o[0], self.tz, self.lang)} ({o[2]})" for i, o in enumerate(offers))
        text = prefix + self.t["offers"].format(service=service.name, near=self.t["near"] if near or not d.get("exact")
                                                 else "", list=lines)
        return self._reply(text, status="offering", slots=[datetime.fromtimestamp(o[0], self.tz).isoformat()
                                                           for o in offers])

    def _write(self, intent: str, service) -> dict:
        start, pro_id = self._chosen()
        d = self.draft
        try:
            if intent == "reschedule":
                booking = self.store.reschedule(d["target"], start, pro_id)
                text = self.t["moved"]
            else:
                customer = {"name": d["name"], "phone": d.get("phone"), "user_id": self.user}
                # The same dialogue writing twice (a retried turn) gets its first booking back; a new dialogue
                # (its own `dialog` nonce) books anew, even the same time after a cancellation.
                booking, _ = self.store.create(service.id, start, customer, pro_id, channel=self.channel, source="chat",
                                               idempotency_key=f"chat:{self.user}:{d.get('dialog', '')}:{start}",
                                               fingerprint=f"{service.id}|{start}|{pro_id}")
                text = self.t["booked"]
        except BookingRefused as exc:
            if exc.code == "slot_taken":
                self.draft = self.store.update_draft(self.user, chosen="", offers="", wish=str(start), exact="")
                return self._offer(service, prefix=self.t["taken"])
            return self._refused(exc)
        self.store.clear_draft(self.user)
        price = money(booking.get("price"), booking.get("currency"))
        place = self.ctx.tenant.booking.location
        out = text.format(name=(d.get("name") or "").split(" ")[0], service=booking["service_name"],
                          professional=booking["professional_name"], slot=spoken(start, self.tz, self.lang),
                          place=self.t["place"].format(place=place) if place else "",
                          price=self.t["price"].format(price=price) if price else "")
        return self._reply(out, status=booking["status"], booking_id=booking["booking_id"],
                           start=booking["start"], service=booking["service_name"],
                           professional=booking["professional_name"])

    # -- changing an existing booking ----------------------------------------------------------------------
    def _pick_target(self, intent: str) -> dict | None:
        upcoming = self.store.for_user(self.user, upcoming_only=True)
        if not upcoming:
            self.store.clear_draft(self.user)
            return self._reply(self.t["no_bookings"], status="none")
        if len(upcoming) > 1:
            options = self.draft.get("targets")
            if options:
                ids = json.loads(options)
                index = _ordinal(normalize(self.message), len(ids), _LIST_ORDINAL)
                if index is not None:
                    self.draft = self.store.update_draft(self.user, target=ids[index], awaiting="")
                    return None
            lines = "\n".join(f"{i + 1}. {b['service_name']}, {spoken(b['start_ts'], self.tz, self.lang)}"
                              for i, b in enumerate(upcoming))
            self.draft = self.store.update_draft(self.user, targets=json.dumps([b["booking_id"] for b in upcoming]),
                                                 awaiting="target")
            verb = self.t["verb_cancel" if intent == "cancel" else "verb_move"]
            return self._reply(self.t["which"].format(list=lines, verb=verb), status="choosing_booking")
        self.draft = self.store.update_draft(self.user, target=upcoming[0]["booking_id"])
        if intent == "reschedule":
            b = upcoming[0]
            self.draft = self.store.update_draft(self.user, service_id=b["service_id"],
                                                 professional_id=b["professional_id"] or "")
            if not parse_when(self.message, datetime.fromtimestamp(self.store.clock(), self.tz), self.lang):
                return self._ask("when", self.t["move_when"].format(service=b["service_name"],
                                                                    slot=spoken(b["start_ts"], self.tz, self.lang)))
        return None

    def _cancel(self) -> dict:
        try:
            booking = self.store.cancel(self.draft["target"], enforce_window=True)
        except BookingRefused as exc:
            return self._refused(exc)
        self.store.clear_draft(self.user)
        return self._reply(self.t["cancelled"].format(service=booking["service_name"],
                                                      slot=spoken(booking["start_ts"], self.tz, self.lang)),
                           status="cancelled", booking_id=booking["booking_id"])

    def _refused(self, exc: BookingRefused) -> dict:
        self.store.clear_draft(self.user)
        if exc.code == "cancellation_window_passed":
            reason = self.t["window"].format(hours=self.ctx.tenant.booking.cancellation_window_hours)
            return self._reply(self.t["refused"].format(reason=reason), status="refused", handoff=True)
        return self._reply(self.t["refused"].format(reason=str(exc)), status="refused")

    # -- small helpers ------------------------------------------------------------------------------------------
    def _chosen(self) -> tuple[int, str]:
        start, _, pro = self.draft["chosen"].partition("|")
        return int(start), pro

    def _service_label(self, service) -> str:
        price = money(service.price, service.currency)
        return f"{service.name} ({price})" if price else service.name

    def _reset(self, **values: str) -> None:
        self.store.clear_draft(self.user)
        self.draft = self.store.update_draft(self.user, lang=self.lang, dialog=secrets.token_hex(6), **values)

    def _ask(self, field: str, text: str) -> dict:
        self.draft = self.store.update_draft(self.user, awaiting=field, lang=self.lang)
        return self._reply(text, status="collecting")

    def _reply(self, text: str, status: str, handoff: bool = False, **booking: Any) -> dict:
        out: dict = {"answer": text, "sources": [], "handoff": handoff, "booking": {"status": status, **booking}}
        if handoff:
            out["handoff_reason"] = "booking_change_inside_window"
        return out


def appointments(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    return Conversation(state, runtime).run()
