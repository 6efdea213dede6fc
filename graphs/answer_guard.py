"""What an LLM's answer may state: every price, duration and phone number must come from the retrieved
passages (or from the customer's own question). A model that invents "$450.000" or "40 minutos" is not
passed on; the turn answers from retrieval only instead.

Figures are compared by their digits only, so "$850.000", "850.000 COP" and "850000" are one figure, and
"+57 310 555 0143" matches "310-555-0143" (a phone matches when one digit string ends the other).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

_CURRENCY = r"(?:\$|€|US\$|COP|CLP|MXN|ARS|EUR|USD|pesos?|euros?|d[oó]lares|dollars?)"
_UNIT = (r"(?:min(?:uto)?s?|minutes?|h(?:ora)?s?|hours?|d[ií]as?|days?|semanas?|weeks?|mes(?:es)?|months?|"
         r"sesi[oó]n(?:es)?|sessions?)")
_NUM = r"\d[\d.,]*\d|\d"
_PRICE = re.compile(rf"{_CURRENCY}\s?(?P<a>{_NUM})|(?P<b>{_NUM})\s?{_CURRENCY}", re.IGNORECASE)
_DURATION = re.compile(rf"(?P<a>\d+(?:[.,]\d+)?)\s?{_UNIT}\b", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d\s()-]{6,}\d")
_CITATION = re.compile(r"\[\d{1,2}\]")
_BARE_NUMBER = re.compile(r"\d[\d.,]*")


@dataclass(frozen=True)
class Figure:
    kind: str          # price | duration | phone
    text: str          # as the answer wrote it
    digits: str        # what is compared


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _trim(number: str) -> str:
    """Trailing separators and spaces belong to the sentence, not the number."""
    return number.strip(" .,")


def stated_figures(answer: str) -> list[Figure]:
    """The prices, durations and phone numbers an answer states (citation markers like [1] excluded)."""
    text = _CITATION.sub(" ", answer)
    found: list[Figure] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int, number: str) -> None:
        if any(start < e and s < end for s, e in taken) or not _digits(number):
            return
        taken.append((start, end))
        found.append(Figure(kind, text[start:end].strip(), _digits(_trim(number))))

    for m in _PHONE.finditer(text):
        if len(_digits(m.group())) >= 7:
            add("phone", m.start(), m.end(), m.group())
    for m in _PRICE.finditer(text):
        add("price", m.start(), m.end(), m.group("a") or m.group("b"))
    for m in _DURATION.finditer(text):
        add("duration", m.start(), m.end(), m.group("a"))
    return found


def _known_numbers(texts: Iterable[str]) -> set[str]:
    known: set[str] = set()
    for text in texts:
        for m in _PHONE.finditer(text):
            known.add(_digits(m.group()))
        for m in _BARE_NUMBER.finditer(text):
            known.add(_digits(_trim(m.group())))
    return known


def unsupported_figures(answer: str, passages: Iterable[str], question: str = "") -> list[Figure]:
    """The figures of `answer` that appear in none of `passages` nor in the customer's `question`."""
    known = _known_numbers([*passages, question])
    out = []
    for fig in stated_figures(answer):
        if fig.kind == "phone":
            ok = any(k.endswith(fig.digits) or (len(k) >= 7 and fig.digits.endswith(k)) for k in known)
        else:
            ok = fig.digits in known
        if not ok:
            out.append(fig)
    return out
