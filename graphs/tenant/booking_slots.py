"""Pick booking details out of chat messages: which service, when, and the customer's name.

The "when" is kept as the customer said it ("el viernes a las 4 de la tarde"): it is a request for
the business to confirm, never a slot we claim to have.
"""
from __future__ import annotations

import re

from app.knowledge import glossary, lexical
from graphs.tenant.emergency import normalize

_DAY = (r"(hoy|manana|pasado manana|lunes|martes|miercoles|jueves|viernes|sabado|domingo|today|tomorrow|"
        r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|fin de semana|weekend|"
        r"(el )?\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
        r"noviembre|diciembre)|\d{1,2}/\d{1,2}(/\d{2,4})?|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* \d{1,2}"
        r"|proxima semana|next week|semana que viene)")
_TIME = (r"((a las|at|tipo|como a las|despues de las|antes de las) \d{1,2}([:.]\d{2})?( ?(am|pm|hrs?|h))?"
         r"( de la (manana|tarde|noche))?|\d{1,2}([:.]\d{2})? ?(am|pm|hrs|h)\b|\d{1,2}:\d{2}|"
         r"(en|por) la (manana|tarde|noche)|al mediodia|in the (morning|afternoon|evening)|noon)")
_WHEN = re.compile(rf"\b({_DAY}( (en|por) la (manana|tarde|noche))?( {_TIME})?|{_TIME})\b")
# "en la mañana" is a time of day, not tomorrow.
_MORNING = re.compile(r"\b(en|por) la manana\b")

_NAME = re.compile(r"\b(?:me llamo|mi nombre es|a nombre de|my name is|this is)\s+([a-zñáéíóú]+(?:\s+[a-zñáéíóú]+)?)",
                   re.IGNORECASE)
_SOY = re.compile(r"\bsoy\s+([A-ZÁÉÍÓÚÑ][a-záéíóúñ]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)?)")
_NOT_NAMES = {"alergica", "alergico", "nueva", "nuevo", "paciente", "cliente", "de", "la", "el", "yo"}


def extract_when(text: str) -> str | None:
    t = normalize(text)
    found = [m.group(0) for m in _WHEN.finditer(t)]
    found = [f for f in found if f.strip()]
    if not found:
        return None
    return " ".join(dict.fromkeys(found))


def extract_name(text: str, expecting_name: bool = False) -> str | None:
    m = _NAME.search(text) or _SOY.search(text)
    if m and normalize(m.group(1)).split()[0] not in _NOT_NAMES:
        return m.group(1).strip().title()
    if expecting_name:
        words = re.findall(r"[A-Za-zÁÉÍÓÚÑáéíóúñ]+", text)
        if 1 <= len(words) <= 3 and not extract_when(text):
            return " ".join(words).title()
    return None


def extract_service(text: str, services: list[str], language: str) -> str | None:
    """The configured service whose words best overlap the message (accent-, typo- and slang-tolerant
    through the same analysis and glossary as search)."""
    folded = lexical.fold(text)
    terms = set(lexical.analyze(f"{text} {glossary.expand(folded)}", language))
    best, best_score = None, 0.0
    for service in services:
        s_terms = set(lexical.analyze(service, language))
        if not s_terms:
            continue
        score = len(terms & s_terms) / len(s_terms)
        if score > best_score:
            best, best_score = service, score
    return best if best_score >= 0.5 else None
