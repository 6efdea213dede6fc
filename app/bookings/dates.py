"""When does the customer want the appointment? Chat text ("el jueves en la tarde", "mañana tipo 3",
"next Monday at 5pm") becomes a window in the company's timezone, relative to `now`.

Rule-based on purpose: dateparser 1.5 (measured) returns None for "el 15 de diciembre", "el jueves en la tarde" and
"pasado mañana a las 10:30", reads "mañana a las 3" as 10:00 and a phone number as a date in 2065, cannot say which
part of a message it used, and adds ~100 ms of import time to every worker.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class When:
    start: datetime      # aware, in the company's timezone: the earliest acceptable start
    end: datetime        # aware, exclusive: the latest acceptable start is before this
    exact: bool          # True when the customer named a precise time ("a las 3", "10:30", "at 5pm")
    text: str            # the fragment(s) of the message that carried the date/time, as written


# --- vocabulary (matched against lowercase text without accents, so "miércoles" and "miercoles" are one word) ---

_DAYPARTS = {"morning": (time(7), time(12)), "noon": (time(12), time(14)),
             "afternoon": (time(12), time(19)), "evening": (time(18), time(21))}
_OPENING = time(7)       # "antes de las 11" starts here: nobody means 3 a.m.
_HINT = {"morning": "am", "noon": "pm", "afternoon": "pm", "evening": "pm"}

_MONTHS = {"enero": 1, "ene": 1, "january": 1, "jan": 1, "febrero": 2, "feb": 2, "february": 2, "marzo": 3, "mar": 3,
           "march": 3, "abril": 4, "abr": 4, "april": 4, "apr": 4, "mayo": 5, "may": 5, "junio": 6, "jun": 6, "june": 6,
           "julio": 7, "jul": 7, "july": 7, "agosto": 8, "ago": 8, "august": 8, "aug": 8, "septiembre": 9, "setiembre": 9,
           "september": 9, "sept": 9, "sep": 9, "set": 9, "octubre": 10, "oct": 10, "october": 10, "noviembre": 11,
           "nov": 11, "november": 11, "diciembre": 12, "dic": 12, "december": 12, "dec": 12}
_WEEKDAYS = {"lun": 0, "mar": 1, "mie": 2, "jue": 3, "vie": 4, "sab": 5, "dom": 6,
             "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_NUMBERS = {"un": 1, "una": 1, "uno": 1, "a": 1, "an": 1, "one": 1, "dos": 2, "two": 2, "tres": 3, "three": 3, "cuatro": 4,
            "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "siete": 7, "seven": 7, "ocho": 8, "eight": 8, "nueve": 9,
            "nine": 9, "diez": 10, "ten": 10, "once": 11, "eleven": 11, "doce": 12, "twelve": 12, "quince": 15,
            "fifteen": 15, "veinte": 20, "twenty": 20, "treinta": 30, "thirty": 30, "cuarto": 15, "media": 30}


def _alt(words: Iterable[str]) -> str:
    # Longest first, so "septiembre" wins over "sep" and "sept".
    return "|".join(sorted(words, key=len, reverse=True))


_MONTH = _alt(_MONTHS)
_MONTH_FULL = _alt(w for w in _MONTHS if len(w) > 4 or w in ("may", "mayo", "june", "july"))
_MONTH_FIRST = _alt(w for w in _MONTHS if w not in ("mar", "set", "ago"))   # "mar 3" is more often martes, "set" a verb
_WD = (r"(?:lunes|martes|miercoles|jueves|viernes|sabados?|domingos?|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?"
       r"|saturdays?|sundays?)")
_HOUR_WORDS = "una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|(?<!at )once|doce|one|two|three|four|five|six|seven|eight|" \
              "nine|ten|eleven|twelve"
_UNITS = (r"(?:%|mil\b|millones|k\b|usd|cop|clp|mxn|ars|eur|euros?\b|pesos?\b|dolares|dollars?|lucas|minutos?\b|mins?\b"
          r"|minutes?|horas?\b|hours?|dias?\b|days?\b|semanas?|weeks?|mes(?:es)?\b|months?|anos?\b|years?|sesion|sessions?"
          r"|veces|times|unidades|units?\b|ml\b|cc\b|kg\b|cm\b|mg\b|x\b|personas|people|zonas|jeringas?|viales?|cuotas)")
# What may follow a bare number for it to read as an hour ("tipo 3, ok?", "after 3 tomorrow") rather than a count.
_TIME_CONTEXT = re.compile(
    r"\s*(?:$|[,.;!?)]|(?:y|menos|de|del|en|por|para|o'?clock|oclock|in|on|this|next|tomorrow|today|tonight|hoy|manana|pasado"
    r"|el|este|esta|and|or|please|pls|porfa|a|hasta|to|till|until|ish|o\s+asi|mas\s+o\s+menos|si|if|would|works?|is|que"
    r"|ok|then|entonces|mejor|better|maybe|quizas?|tal\s+vez|seria|estaria|sirve|funciona"
    r"|lunes|martes|miercoles|jueves|viernes|sabado|domingo|mon|tue|wed|thu|fri|sat|sun)\b)")
_DAY_CONTEXT = re.compile(
    r"\s*(?:$|[,.;!?)]|(?:a|al|en|por|de|del|para|tipo|como|o|y|at|in|on|or|and|despues|antes|desde|hasta|entre|sobre"
    r"|temprano|pm|am|que|si|hay|tienen|tiene|tenes|puede|please|porfa)\b)")
# A number right after these is a duration or a quantity ("dura 2 h", "en 16 horas"), not a clock time.
_DURATION_CUE = re.compile(r"(?:\b(?:dura|duran|durar|durante|demora|tarda|toma|lleva|en|dentro\s+de|por|cada|hace|in|for"
                           r"|lasts?|takes?|every|unos|unas|some)|[\d$])\s*$")


def _clock_re(p: str) -> str:
    """An hour with optional minutes, hour suffix and am/pm; group names are prefixed so a range can hold two."""
    hour = rf"(?:(?P<{p}h>\d{{1,2}})(?!\d)|(?P<{p}w>{_HOUR_WORDS})\b|(?P<{p}n>medio\s*dia|noon)\b)"
    minutes = (rf"(?:(?P<{p}sep>[:.h])(?P<{p}m>\d{{2}})(?!\d)"
               rf"|\s+y\s+(?P<{p}plus>media|cuarto|diez|quince|veinte|treinta|cuarenta|\d{{1,2}}(?!\d))(?:\s+minutos)?"
               rf"|\s+menos\s+(?P<{p}minus>cuarto|cinco|diez|veinte|\d{{1,2}}(?!\d)))?")
    suffix = (rf"(?P<{p}hs>\s*(?:hrs|hr|hs|h|horas|hours)\b)?(?:\s*(?P<{p}mer>[ap])\.?\s?m\b\.?)?"
              rf"(?P<{p}oc>\s*(?:o'?clock|en\s+punto)|-?ish\b)?")
    return rf"{hour}{minutes}{suffix}(?!\s*{_UNITS})(?![\d/])"


_AFTER = r"no\s+antes\s+de|despues\s+de|luego\s+de|a\s+partir\s+de|desde|pasadas|not\s+before|after|from|later\s+than"
_BEFORE = r"no\s+despues\s+de|antes\s+de|hasta|not\s+after|before|until|till|by|earlier\s+than"
# "tipo 3" is Colombian/Argentine for "around 3", but "piel tipo 3" and "diabetes tipo 2" come up in a clinic too.
_ABOUT = (r"(?<!piel )(?<!skin )(?<!diabetes )(?<!el )(?<!del )tipo(?:\s+a)?|como\s+a|como(?=\s+las)|a\s+eso\s+de|eso\s+de"
          r"|sobre(?=\s+las?\s)|alrededor\s+de|cerca\s+de|aprox(?:imadamente|\.)?(?:\s+a)?"
          r"|at\s+around|at\s+about|around|about|approximately|approx")
_ART = r"(?P<art>\s+las?|l|\s+el|\s+a\s+las?)?"

_RANGE = re.compile(rf"\b(?:entre|between|from|desde|de)(?P<art>\s+las?)?\s+{_clock_re('a_')}\s*(?:y|a|and|to|hasta|till"
                    rf"|until|-)\s*(?:las?\s+)?{_clock_re('b_')}")
_QUALIFIED = re.compile(rf"\b(?:(?P<after>{_AFTER})|(?P<before>{_BEFORE})|(?P<about>{_ABOUT})){_ART}\s+{_clock_re('')}")
_NOON = re.compile(r"\b(?:al|a|at|@)\s+medio\s*dia\b|\b(?:(?:at|12)\s+)?noon\b")
_PLAIN = re.compile(rf"\b(?:(?P<art>a\s+las?|las(?=\s+\d))|at|@)\s+{_clock_re('')}")
_PAST = re.compile(r"\b(?:at\s+)?(?P<frac>half|quarter|\d{1,2})\s+(?P<dir>past|after|to|til)\s+"
                   rf"(?P<h>\d{{1,2}}|{_HOUR_WORDS})\b(?:\s*(?P<mer>[ap])\.?\s?m\b\.?)?")
_BARE = re.compile(rf"(?<![\d:/.,$]){_clock_re('')}(?P<dp>(?=\s+(?:de\s+la\s+(?:manana|tarde|noche)|del\s+medio\s*dia)))?")

_RELATIVE = re.compile(r"\b(?:en|dentro\s+de|in|within)\s+(?:(?:unos|unas|about|some)\s+)?(?P<n>\d{1,3}|media|half\s+an?"
                       rf"|{_alt(_NUMBERS)})\s+(?P<u>horas?|hours?|hrs?|minutos?|minutes?|mins?|dias?|days?|semanas?"
                       r"|weeks?|mes(?:es)?|months?)\b")
_NUMERIC_DATE = re.compile(r"(?<![\d/.,:-])\b(?P<a>\d{1,2})(?P<sep>[/-])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?\b"
                           r"(?![\d/.,:-]|\s*%)")
_DAY_MONTH = re.compile(rf"\b(?:(?:el|the)\s+)?(?:dia\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th|ro|º|°)?\s*(?:(?:de|of)\s+)?"
                        rf"(?P<mon>{_MONTH})\b\.?(?!\s+be\b)(?:,?\s*(?:de\s+|del\s+)?(?P<y>\d{{4}})\b)?")
_MONTH_DAY = re.compile(rf"\b(?P<mon>{_MONTH_FIRST})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?::|{_UNITS}))"
                        r"(?:,?\s+(?P<y>\d{4})\b)?")
_MONTH_ONLY = re.compile(rf"\b(?:en|para|in|for|durante|during)\s+(?:el\s+mes\s+de\s+)?(?P<mon>{_MONTH_FULL})\b(?!\s*\d)")
_DAY_OF_MONTH = re.compile(rf"\b(?:(?P<el>el|para\s+el)\s+(?P<dia>dia\s+)?|(?P<the>the|on\s+the)\s+|dia\s+"
                           rf"|(?:(?:el|on)\s+)?{_WD}\s+)(?P<d>\d{{1,2}})(?P<ord>st|nd|rd|th|ro|º|°)?\b"
                           rf"(?![:.,/]\d)(?!\s*{_UNITS})")
_WEEKEND = re.compile(r"\b(?:(?:el|este|this|the|on\s+the)\s+)?(?P<next>(?:proximo|next|siguiente)\s+)?"
                      r"(?:fin\s+de\s+semana|finde|weekend)(?P<next2>\s+(?:que\s+viene|proximo|siguiente|entrante))?\b")
_WEEK = re.compile(r"\b(?P<next>(?:la\s+)?(?:proxima|siguiente|otra)\s+semana|(?:la\s+)?semana\s+(?:que\s+viene|entrante"
                   r"|proxima|siguiente)|next\s+week|the\s+following\s+week)\b|\b(?:esta\s+semana|this\s+week)\b")
_WEEKDAY = re.compile(rf"\b(?:(?:el|este)\s+)?(?:proximo|siguiente)\s+(?P<n1>{_WD})\b|\b(?:el\s+)?(?P<n2>{_WD})\s+"
                      rf"(?:que\s+viene|proximo|siguiente|entrante)\b|\bnext\s+(?P<n3>{_WD})\b"
                      rf"|\b(?:este|this(?:\s+coming)?|coming)\s+(?P<this>{_WD})\b"
                      rf"|\b(?:(?:el|los|on|para\s+el)\s+)?(?P<wd>{_WD})\b")
_OFFSET = re.compile(r"\b(?P<two>pasado\s+manana|day\s+after\s+tomorrow)\b|\b(?P<zero>hoy|today)\b"
                     r"|\b(?P<one>manana|maniana|mnn|tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr)\b")
# "mañana" with an article is the morning, without one tomorrow: these run before _OFFSET and take the article forms.
_DAYPART_RES = [
    ("afternoon", re.compile(r"\b(?:after|despues\s+del?)\s+(?:lunch|almuerzo|almorzar|comer)\b")),
    ("morning", re.compile(r"\b(?:(?:en|por|de|a|durante|hacia|toda)\s+)?las?\s+(?:mananas?|mananitas?)\b|\besta\s+manana\b"
                           r"|(?<=manana )de\s+manana\b|\btempran(?:o|ito)\b|\ba\s+primera\s+hora\b|\bfirst\s+thing\b"
                           r"|\b(?:in\s+the\s+|this\s+)?(?<!good )mornings?\b")),
    ("noon", re.compile(r"\b(?:(?:en|por|hacia|para)\s+el\s+|del?\s+)?medio\s*dia\b|\b(?:a\s+)?la\s+hora\s+del?\s+"
                        r"(?:almuerzo|comer)\b|\b(?:around\s+|about\s+|at\s+)?(?:midday|lunch\s*time|lunch)\b")),
    ("afternoon", re.compile(r"\b(?:(?:en|por|de|a|durante|hacia|toda)\s+)?las?\s+(?:tardes?|tardecitas?)\b|\besta\s+tarde\b"
                             r"|\bde\s+tarde\b|\btardecita\b|\b(?:in\s+the\s+|this\s+)?(?<!good )afternoons?\b")),
    ("evening", re.compile(r"\b(?:(?:en|por|de|a|durante|hacia|toda)\s+)?las?\s+(?:noches?|nochecitas?)\b|\besta\s+noche\b"
                           r"|\bde\s+noche\b|\btonight\b|\bat\s+night\b|\b(?:in\s+the\s+|this\s+)?(?<!good )evenings?\b"
                           r"|(?<!good )(?<!last )\bnight\b")),
]
_GLUE = re.compile(r"[\s,;.]*(?:(?:y|and|a|al|at|en|on|de|del|el|la|las|por|para|in|the)\b[\s,]*)*")


# --- scanning ---

def _fold(text: str) -> str:
    """Lowercase without accents, one character per original character, so match offsets index the original text."""
    out = []
    for ch in text.replace("’", "'"):
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)).lower()
        out.append(base if len(base) == 1 else " ")
    return "".join(out)


class _Scan:
    """The folded message; every piece taken is blanked out so a later, looser pattern cannot read it again."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded = _fold(text)
        self.s = self.folded
        self.spans: list[tuple[int, int]] = []

    def take(self, pattern: re.Pattern[str], read: Callable[[re.Match[str]], T | None]) -> T | None:
        """The first match that `read` makes sense of (None: not this one, keep looking)."""
        for m in pattern.finditer(self.s):
            value = read(m)
            if value is not None:
                self.s = self.s[:m.start()] + " " * (m.end() - m.start()) + self.s[m.end():]
                self.spans.append(m.span())
                return value
        return None

    def find(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return self.take(pattern, lambda m: m)

    def fragment(self) -> str:
        merged: list[list[int]] = []
        for a, b in sorted(self.spans):
            if merged and (a <= merged[-1][1] or _GLUE.fullmatch(self.folded[merged[-1][1]:a])):
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return " ... ".join(self.text[a:b].strip() for a, b in merged)


# --- clock times ---

@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    meridiem: str | None      # "am" / "pm" as written; None leaves it to the daypart or the opening-hours default
    strong: bool              # minutes, am/pm or an hour suffix: a time even without "a las"


@dataclass(frozen=True)
class _TimeSpec:
    kind: str                 # "at", "after", "before", "between"
    first: _Clock
    second: _Clock | None = None


def _minutes(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word]


def _clock(m: re.Match[str], p: str = "") -> _Clock | None:
    g = m.groupdict()
    if g[f"{p}n"]:
        return _Clock(12, 0, "pm", True)
    hour = int(g[f"{p}h"]) if g[f"{p}h"] else _NUMBERS[g[f"{p}w"]]
    minute, plus, minus = 0, g[f"{p}plus"], g[f"{p}minus"]
    if g[f"{p}m"]:
        minute = int(g[f"{p}m"])
    elif plus:
        minute = _minutes(plus)
    elif minus:
        hour, minute = (hour - 1) or 12, 60 - _minutes(minus)
    meridiem = g[f"{p}mer"] + "m" if g[f"{p}mer"] else None
    if not 0 <= minute < 60 or hour > (12 if meridiem else 23):
        return None
    strong = bool(g[f"{p}m"] and g[f"{p}sep"] != ".") or bool(plus or minus or meridiem or g[f"{p}hs"] or g[f"{p}oc"])
    return _Clock(hour, minute, meridiem, strong)


def _resolve(c: _Clock, hint: str | None) -> time:
    """Clock hour to 24 h: am/pm as written, else the daypart, else opening hours (1-7 is afternoon, 8-11 morning)."""
    h, meridiem = c.hour, c.meridiem or hint
    if meridiem == "pm" and h < 12:
        h += 12
    elif c.meridiem == "am" and h == 12:
        h = 0
    elif meridiem is None and 1 <= h <= 7:
        h += 12
    return time(h, c.minute)


def _reads_as_time(scan: _Scan, m: re.Match[str], clock: _Clock, article: bool) -> bool:
    # "a las 3" is a time by grammar; "tipo 3" or "after 3" only when the number is not followed by a count's noun.
    return article or clock.strong or bool(_TIME_CONTEXT.match(scan.s, m.end()))


def _time_spec(scan: _Scan) -> _TimeSpec | None:
    for find in (_find_range, _find_qualified, _find_noon, _find_plain, _find_past, _find_bare):
        spec = find(scan)
        if spec is not None:
            return spec
    return None


def _find_range(scan: _Scan) -> _TimeSpec | None:
    def read(m: re.Match[str]) -> _TimeSpec | None:
        a, b = _clock(m, "a_"), _clock(m, "b_")
        if a is None or b is None or not _reads_as_time(scan, m, b, bool(m["art"]) or a.strong):
            return None
        return _TimeSpec("between", a, b)

    return scan.take(_RANGE, read)


def _find_qualified(scan: _Scan) -> _TimeSpec | None:
    def read(m: re.Match[str]) -> _TimeSpec | None:
        c = _clock(m)
        article = bool(m["art"]) and m["art"].strip() in ("la", "las", "a la", "a las")
        if c is None or not _reads_as_time(scan, m, c, article):
            return None
        return _TimeSpec("after" if m["after"] else "before" if m["before"] else "at", c)

    return scan.take(_QUALIFIED, read)


def _find_noon(scan: _Scan) -> _TimeSpec | None:
    return _TimeSpec("at", _Clock(12, 0, "pm", True)) if scan.find(_NOON) else None


def _find_plain(scan: _Scan) -> _TimeSpec | None:
    def read(m: re.Match[str]) -> _TimeSpec | None:
        c = _clock(m)
        if c is None or not _reads_as_time(scan, m, c, bool(m["art"]) and not m["w"]):
            return None
        return _TimeSpec("at", c)

    return scan.take(_PLAIN, read)


def _find_past(scan: _Scan) -> _TimeSpec | None:
    def read(m: re.Match[str]) -> _TimeSpec | None:
        hour = int(m["h"]) if m["h"].isdigit() else _NUMBERS[m["h"]]
        minute = {"half": 30, "quarter": 15}.get(m["frac"]) or int(m["frac"])
        if m["dir"] in ("to", "til"):
            hour, minute = (hour - 1) or 12, 60 - minute
        if hour > 23 or not 0 < minute < 60:
            return None
        return _TimeSpec("at", _Clock(hour, minute, m["mer"] + "m" if m["mer"] else None, True))

    return scan.take(_PAST, read)


def _find_bare(scan: _Scan) -> _TimeSpec | None:
    def read(m: re.Match[str]) -> _TimeSpec | None:
        c = _clock(m)
        if c is None or not m["h"] or _DURATION_CUE.search(scan.s[:m.start()]):
            return None
        only_suffix = bool(m["hs"]) and not (m["m"] or m["mer"])
        if only_suffix and (c.hour < 7 or re.match(r"\s+de\s", scan.s[m.end():])):
            return None         # "2 hrs", "12 horas de ayuno": a duration
        return _TimeSpec("at", c) if c.strong or m["dp"] else None

    return scan.take(_BARE, read)


# --- days ---

def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _future_date(today: date, month: int, day: int, year: int | None) -> date | None:
    """A date without a year is the next one on or after today ("el 2 de enero" asked in December is next year)."""
    if year is not None:
        return _valid_date(year + 2000 if year < 100 else year, month, day)
    for y in (today.year, today.year + 1):
        d = _valid_date(y, month, day)
        if d is not None and d >= today:
            return d
    return None


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _named_date(scan: _Scan, today: date, language: str) -> date | None:
    def numeric(m: re.Match[str]) -> date | None:
        if m["sep"] == "-" and not m["y"]:
            return None             # "3-5" is a range or a count far more often than a date
        a, b = int(m["a"]), int(m["b"])
        day, month = (b, a) if a <= 12 and (b > 12 or (language == "en" and b <= 12)) else (a, b)
        return _future_date(today, month, day, int(m["y"]) if m["y"] else None)

    def named(m: re.Match[str]) -> date | None:
        return _future_date(today, _MONTHS[m["mon"]], int(m["d"]), int(m["y"]) if m["y"] else None)

    return scan.take(_NUMERIC_DATE, numeric) or scan.take(_DAY_MONTH, named) or scan.take(_MONTH_DAY, named)


def _day_of_month(scan: _Scan, today: date) -> date | None:
    """"el 3", "el día 15", "on the 3rd": that day this month, or next month once it has passed."""
    def read(m: re.Match[str]) -> date | None:
        if m["el"] and not m["dia"] and not m["ord"] and not _DAY_CONTEXT.match(scan.s, m.end()):
            return None
        if m["the"] == "the" and not m["ord"]:
            return None
        months = (_add_months(today.replace(day=1), k) for k in range(13))
        days = (_valid_date(first.year, first.month, int(m["d"])) for first in months)
        return next((d for d in days if d is not None and d >= today), None)

    return scan.take(_DAY_OF_MONTH, read)


def _relative_days(m: re.Match[str], today: date) -> date:
    n, unit = _NUMBERS.get(m["n"]) or (int(m["n"]) if m["n"].isdigit() else 0), m["u"]
    if unit.startswith(("mes", "month")):
        return _add_months(today, n)
    return today + timedelta(days=n * (7 if unit.startswith(("semana", "week")) else 1))


def _relative(scan: _Scan, now: datetime) -> datetime | date | None:
    """"en 2 horas" is an instant, "in 3 days" a day."""
    m = scan.take(_RELATIVE, lambda m: None if m["n"].startswith(("media", "half")) and m["u"][0] not in "h" else m)
    if m is None:
        return None
    unit = m["u"]
    if not unit.startswith(("hora", "hour", "hr", "min")):
        return _relative_days(m, now.date())
    n = 0.5 if m["n"].startswith(("media", "half")) else _NUMBERS.get(m["n"]) or int(m["n"])
    delta = timedelta(hours=n) if unit.startswith(("hora", "hour", "hr")) else timedelta(minutes=n)
    at = (now.astimezone(timezone.utc) + delta).astimezone(now.tzinfo)    # real elapsed time, across a DST change too
    return at.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class _Period:
    start: date
    end: date                       # exclusive
    monday: date | None = None      # a week named without a day: "el martes de la semana que viene" picks inside it


def _period(scan: _Scan, today: date) -> _Period | None:
    m = scan.find(_WEEKEND)
    if m is not None:
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday -= timedelta(days=7)   # Sunday: this weekend is the one under way
        if (m["next"] or m["next2"]) and today.weekday() >= 5:
            saturday += timedelta(days=7)
        return _Period(max(saturday, today), saturday + timedelta(days=2))
    m = scan.find(_WEEK)
    if m is not None:
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 if m["next"] else 0)
        return _Period(max(monday, today), monday + timedelta(days=7), monday)
    m = scan.find(_MONTH_ONLY)
    if m is not None:
        month = _MONTHS[m["mon"]]
        first = date(today.year + (month < today.month), month, 1)
        return _Period(max(first, today), _add_months(first, 1))
    return None


def _weekday(scan: _Scan, today: date, timed: bool, period: _Period | None) -> list[date] | None:
    m = scan.find(_WEEKDAY)
    if m is None:
        return None
    word = next(w for w in (m["n1"], m["n2"], m["n3"], m["this"], m["wd"]) if w)
    wd = _WEEKDAYS[word[:3]]
    if period is not None and period.monday is not None:
        return [period.monday + timedelta(days=wd)]
    ahead = (wd - today.weekday()) % 7
    if ahead or m["n1"] or m["n2"] or m["n3"]:
        return [today + timedelta(days=ahead or 7)]
    # Today's own weekday: today if what they asked for is still ahead; a bare "el lunes" on a Monday is next week's.
    return [today, today + timedelta(days=7)] if timed or m["this"] else [today + timedelta(days=7)]


def _daypart(scan: _Scan) -> str | None:
    for name, pattern in _DAYPART_RES:
        if scan.find(pattern):
            return name
    return None


def _offset(scan: _Scan, today: date) -> date | None:
    m = scan.find(_OFFSET)
    if m is None:
        return None
    return today + timedelta(days=2 if m["two"] else 0 if m["zero"] else 1)


# --- windows ---

def _after_end(t: time) -> time | None:
    # "después de las 3" runs to the end of that daypart; None is midnight.
    return time(19) if t < time(19) else time(21) if t < time(21) else None


def _window(day: date, tz: tzinfo, spec: _TimeSpec | None, daypart: str | None) -> tuple[datetime, datetime, bool]:
    def at(t: time | None) -> datetime:
        return datetime.combine(day + timedelta(days=1 if t is None else 0), t or time(), tzinfo=tz)

    if spec is None:
        start, end = _DAYPARTS[daypart] if daypart else (time(), None)
        return at(start), at(end), False
    hint = _HINT.get(daypart or "")
    t = _resolve(spec.first, hint)
    if spec.kind == "at":
        return at(t), at(t) + timedelta(minutes=1), True
    if spec.kind == "after":
        return at(t), at(_after_end(t)), False
    if spec.kind == "before":
        return at(_OPENING if t > _OPENING else time()), at(t), False
    assert spec.second is not None
    return _between(day, tz, spec.first, spec.second, hint)


def _between(day: date, tz: tzinfo, first: _Clock, second: _Clock, hint: str | None) -> tuple[datetime, datetime, bool]:
    t2 = _resolve(second, hint)
    shared = _resolve(replace(first, meridiem=first.meridiem or second.meridiem), hint)   # "between 7 and 9 am"
    t1 = shared if shared < t2 else _resolve(first, hint)
    if t2 <= t1 and second.meridiem is None and t2.hour < 12:
        t2 = t2.replace(hour=t2.hour + 12)                                                 # "entre 7 y 9" → 19-21
    return datetime.combine(day, t1, tzinfo=tz), datetime.combine(day, t2, tzinfo=tz), False


# --- entry point ---

def parse_when(text: str, now: datetime, language: str = "es") -> When | None:
    """`now` is aware (company timezone). None when the text carries no date or time.

    `language` only decides ambiguous numeric dates: "3/4" is 3 April in Spanish, March 4 in English.
    """
    tz = now.tzinfo
    if tz is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    scan, today = _Scan(text), now.date()
    relative = _relative(scan, now)
    if isinstance(relative, datetime):
        return When(relative, relative + timedelta(minutes=1), True, scan.fragment())
    named = relative or _named_date(scan, today, language)
    spec = _time_spec(scan)
    named = named or _day_of_month(scan, today)
    period = _period(scan, today)
    daypart = _daypart(scan)
    timed = spec is not None or daypart is not None
    weekday = _weekday(scan, today, timed, period)
    offset = _offset(scan, today)
    days = [named] if named else [offset] if offset else weekday
    if days is None and period is not None:
        return When(datetime.combine(period.start, time(), tzinfo=tz), datetime.combine(period.end, time(), tzinfo=tz),
                    False, scan.fragment())
    if days is None:
        if not timed:
            return None
        days = [today, today + timedelta(days=1)]
    return _pick(days, now, spec, daypart, scan.fragment())


def _pick(days: list[date], now: datetime, spec: _TimeSpec | None, daypart: str | None, text: str) -> When:
    """The first candidate day whose window is still ahead of now (for a precise time: whose start is)."""
    assert now.tzinfo is not None
    windows = [_window(day, now.tzinfo, spec, daypart) for day in days]
    start, end, exact = next((w for w in windows if (w[0] if w[2] else w[1]) > now), windows[-1])
    return When(start, end, exact, text)
