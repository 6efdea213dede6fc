"""app.bookings.dates: what customers write about *when* becomes a window in the company's timezone."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.bookings.dates import When, parse_when

BOGOTA = ZoneInfo("America/Bogota")
MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=BOGOTA)      # a Monday, mid-morning


def at(day: int, hour: int = 0, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BOGOTA)


EXACT, WINDOW = True, False

# (text, language, expected start, exact, expected end or None for start + 1 minute)
CASES = [
    # precise times, with and without a day
    ("mañana a las 3", "es", at(8, 15), EXACT, None),
    ("pasado mañana a las 10:30", "es", at(9, 10, 30), EXACT, None),
    ("a las 8 de la noche", "es", at(7, 20), EXACT, None),
    ("mañana a las 10 de la mañana", "es", at(8, 10), EXACT, None),
    ("a las 4 p.m.", "es", at(7, 16), EXACT, None),
    ("16:00", "es", at(7, 16), EXACT, None),
    ("el jueves 17 hs", "es", at(10, 17), EXACT, None),                 # Argentina
    ("mañana a las 16 horas", "es", at(8, 16), EXACT, None),
    ("16h30", "es", at(7, 16, 30), EXACT, None),                        # Spain
    ("las 4 y media", "es", at(7, 16, 30), EXACT, None),
    ("4 y cuarto", "es", at(7, 16, 15), EXACT, None),
    ("a las 3 y 30", "es", at(7, 15, 30), EXACT, None),
    ("a las 5 menos cuarto", "es", at(7, 16, 45), EXACT, None),         # Spain
    ("a la una", "es", at(7, 13), EXACT, None),
    ("el viernes, a las tres y media", "es", at(11, 15, 30), EXACT, None),
    ("al mediodía", "es", at(7, 12), EXACT, None),
    ("hola, para el viernes tipo 3?", "es", at(11, 15), EXACT, None),   # Colombia
    ("como a las 4", "es", at(7, 16), EXACT, None),                     # Mexico
    ("a eso de las 5", "es", at(7, 17), EXACT, None),
    ("sobre las 5 de la tarde", "es", at(7, 17), EXACT, None),          # Spain
    ("puede ser el 24 de dic a las 9?", "es", at(24, 9), EXACT, None),
    ("una cita para el 15/12 a las 4:30 pm", "es", at(15, 16, 30), EXACT, None),
    ("el miércoles 16 a las 4 de la tarde", "es", at(16, 16), EXACT, None),
    ("el lunes a las 3", "es", at(7, 15), EXACT, None),                 # today is Monday and 15:00 is still ahead
    ("el lunes a las 9", "es", at(14, 9), EXACT, None),                 # ... 9:00 is gone: next Monday
    ("en 2 horas", "es", at(7, 12), EXACT, None),
    # whole days
    ("hoy", "es", at(7), WINDOW, at(8)),
    ("manana", "es", at(8), WINDOW, at(9)),
    ("el miercoles", "es", at(9), WINDOW, at(10)),
    ("el sabado", "es", at(12), WINDOW, at(13)),
    ("el lunes", "es", at(14), WINDOW, at(15)),                         # said on a Monday: next week's
    ("el próximo lunes", "es", at(14), WINDOW, at(15)),
    ("el lunes que viene", "es", at(14), WINDOW, at(15)),
    ("este viernes", "es", at(11), WINDOW, at(12)),
    ("el 15 de diciembre", "es", at(15), WINDOW, at(16)),
    ("15 de dic", "es", at(15), WINDOW, at(16)),
    ("15/12", "es", at(15), WINDOW, at(16)),
    ("15-12-2026", "es", at(15), WINDOW, at(16)),
    ("el 3", "es", at(3, month=1, year=2027), WINDOW, at(4, month=1, year=2027)),
    ("el día 20", "es", at(20), WINDOW, at(21)),
    ("el 2 de enero", "es", at(2, month=1, year=2027), WINDOW, at(3, month=1, year=2027)),
    ("en 3 días", "es", at(10), WINDOW, at(11)),
    # dayparts
    ("el jueves en la tarde", "es", at(10, 12), WINDOW, at(10, 19)),
    ("mañana en la mañana", "es", at(8, 7), WINDOW, at(8, 12)),
    ("mañana por la mañana", "es", at(8, 7), WINDOW, at(8, 12)),        # Spain
    ("mañana temprano", "es", at(8, 7), WINDOW, at(8, 12)),
    ("el sábado a la tarde", "es", at(12, 12), WINDOW, at(12, 19)),     # Argentina
    ("en la tardecita", "es", at(7, 12), WINDOW, at(7, 19)),            # Argentina
    ("mañana en la noche", "es", at(8, 18), WINDOW, at(8, 21)),
    ("por el mediodía", "es", at(7, 12), WINDOW, at(7, 14)),
    ("despues de las 3", "es", at(7, 15), WINDOW, at(7, 19)),
    ("antes de las 11", "es", at(7, 7), WINDOW, at(7, 11)),
    ("entre las 3 y las 5", "es", at(7, 15), WINDOW, at(7, 17)),
    # periods
    ("la próxima semana", "es", at(14), WINDOW, at(21)),
    ("la semana que viene", "es", at(14), WINDOW, at(21)),
    ("el martes de la próxima semana en la tarde", "es", at(15, 12), WINDOW, at(15, 19)),
    ("el fin de semana", "es", at(12), WINDOW, at(14)),
    ("el finde", "es", at(12), WINDOW, at(14)),                         # Argentina, Spain
    # English
    ("tomorrow at 3", "en", at(8, 15), EXACT, None),
    ("at 5pm", "en", at(7, 17), EXACT, None),
    ("day after tomorrow at 10:30", "en", at(9, 10, 30), EXACT, None),
    ("on Friday at 5 p.m.", "en", at(11, 17), EXACT, None),
    ("Monday at 9:30am", "en", at(14, 9, 30), EXACT, None),
    ("noon", "en", at(7, 12), EXACT, None),
    ("half past 4", "en", at(7, 16, 30), EXACT, None),
    ("next Friday around 4", "en", at(11, 16), EXACT, None),
    ("in 2 hours", "en", at(7, 12), EXACT, None),
    ("today", "en", at(7), WINDOW, at(8)),
    ("next Monday", "en", at(14), WINDOW, at(15)),
    ("this Friday", "en", at(11), WINDOW, at(12)),
    ("December 15", "en", at(15), WINDOW, at(16)),
    ("Dec 15th", "en", at(15), WINDOW, at(16)),
    ("on the 3rd", "en", at(3, month=1, year=2027), WINDOW, at(4, month=1, year=2027)),
    ("this afternoon", "en", at(7, 12), WINDOW, at(7, 19)),
    ("tomorrow morning", "en", at(8, 7), WINDOW, at(8, 12)),
    ("in the morning", "en", at(7, 7), WINDOW, at(7, 12)),
    ("friday evening", "en", at(11, 18), WINDOW, at(11, 21)),
    ("after 3", "en", at(7, 15), WINDOW, at(7, 19)),
    ("between 7 and 9 am", "en", at(8, 7), WINDOW, at(8, 9)),
    ("next week", "en", at(14), WINDOW, at(21)),
    ("this weekend", "en", at(12), WINDOW, at(14)),
    ("in 3 days", "en", at(10), WINDOW, at(11)),
]


@pytest.mark.parametrize(("text", "language", "start", "exact", "end"), CASES, ids=[c[0] for c in CASES])
def test_phrasings(text, language, start, exact, end):
    when = parse_when(text, NOW, language)
    assert when is not None
    assert (when.start, when.exact) == (start, exact)
    assert when.end == (end or start + timedelta(minutes=1))
    assert when.start.tzinfo is BOGOTA and when.end.tzinfo is BOGOTA


def test_table_covers_both_languages():
    assert sum(c[1] == "es" for c in CASES) >= 28 and sum(c[1] == "en" for c in CASES) >= 12


@pytest.mark.parametrize("text", [
    "quiero botox", "hola", "¿cuánto cuesta?", "cuesta 300 mil", "dura 45 minutos", "tengo 35 años", "3001234567",
    "mi cel es 300 123 4567", "buenas tardes, quería información", "buenos días", "son 3 sesiones", "de 3 a 5 sesiones",
    "el precio es 150.000", "cuesta 3.50 euros", "son 2 hrs de procedimiento", "12 horas de ayuno", "promo 2x1",
    "el 30% de descuento", "quiero las dos", "tengo 2 preguntas", "good morning", "I have 2 questions", "at once",
    "it costs 300 dollars", "does it last 45 minutes?", "tengo piel tipo 3", "tengo diabetes tipo 2",
])
def test_no_date_or_time(text):
    assert parse_when(text, NOW) is None


@pytest.mark.parametrize(("text", "start", "end"), [
    ("a las 9", at(8, 9), at(8, 9, 1)),                    # 9:00 has passed at 10:00: tomorrow
    ("at 9:30am", at(8, 9, 30), at(8, 9, 31)),
    ("a las 10", at(8, 10), at(8, 10, 1)),                 # exactly now is not ahead
    ("tipo 11", at(7, 11), at(7, 11, 1)),
])
def test_time_already_past_today_rolls_to_tomorrow(text, start, end):
    when = parse_when(text, NOW)
    assert when is not None and (when.start, when.end) == (start, end)


def test_daypart_over_rolls_to_tomorrow_and_one_under_way_stays_today():
    afternoon = NOW.replace(hour=13)
    assert parse_when("en la mañana", afternoon) == When(at(8, 7), at(8, 12), False, "en la mañana")
    assert parse_when("por la tarde", afternoon) == When(at(7, 12), at(7, 19), False, "por la tarde")


def test_text_is_the_fragment_as_written():
    when = parse_when("Hola! Me gustaría una cita el Jueves en la tarde, para botox", NOW)
    assert when is not None and when.text == "el Jueves en la tarde"
    when = parse_when("Mañana? y si puede ser tipo 3 mejor", NOW)
    assert when is not None and when.text == "Mañana ... tipo 3"
    assert when.start == at(8, 15)


def test_ambiguous_hours_follow_opening_hours():
    starts = {h: parse_when(f"mañana a las {h}", NOW) for h in (1, 7, 8, 11, 12)}
    assert {h: w.start.time() for h, w in starts.items() if w} == {
        1: time(13), 7: time(19), 8: time(8), 11: time(11), 12: time(12)}


def test_numeric_dates_follow_the_language():
    es, en = parse_when("3/4", NOW, "es"), parse_when("3/4", NOW, "en")
    assert es is not None and es.start.date() == date(2027, 4, 3)
    assert en is not None and en.start.date() == date(2027, 3, 4)
    us = parse_when("12/15", NOW, "es")
    assert us is not None and us.start.date() == date(2026, 12, 15)       # no 15th month: read month first


def test_weekend_asked_on_sunday_is_the_one_under_way():
    sunday = datetime(2026, 12, 13, 9, tzinfo=BOGOTA)
    assert parse_when("este finde", sunday) == When(at(13), at(14), False, "este finde")


def test_dst_spring_forward_madrid():
    now = datetime(2027, 3, 26, 10, tzinfo=MADRID)        # Friday; clocks go 02:00 → 03:00 on Sunday 28th
    for text, day in (("el domingo a las 10", 28), ("el lunes a las 10", 29)):
        when = parse_when(text, now)
        assert when is not None
        assert when.start == datetime(2027, 3, day, 10, tzinfo=MADRID)
        assert when.start.utcoffset() == timedelta(hours=2) and when.start.tzinfo is MADRID
    assert parse_when("hoy a las 10", now).start.utcoffset() == timedelta(hours=1)


def test_dst_fall_back_madrid():
    now = datetime(2026, 10, 24, 10, tzinfo=MADRID)       # Saturday; clocks go 03:00 → 02:00 on Sunday 25th
    when = parse_when("mañana a las 10", now)
    assert when is not None
    assert when.start == datetime(2026, 10, 25, 10, tzinfo=MADRID) and when.start.utcoffset() == timedelta(hours=1)
    day = parse_when("mañana", now)
    assert day is not None and day.end - day.start == timedelta(days=1)
    assert (day.start.utcoffset(), day.end.utcoffset()) == (timedelta(hours=2), timedelta(hours=1))


def test_in_hours_counts_real_elapsed_time_across_dst():
    now = datetime(2027, 3, 28, 1, 30, tzinfo=MADRID)
    when = parse_when("en 2 horas", now)
    assert when is not None and when.start == datetime(2027, 3, 28, 4, 30, tzinfo=MADRID) and when.exact


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        parse_when("mañana", datetime(2026, 12, 7, 10))
