"""Free slots: a professional's hours on each local day, minus breaks and exceptions, on the company's slot
grid, minus what is already booked (with buffers), inside the booking rules.

Times are computed as UTC epoch seconds from wall-clock times in the company's timezone, so a day when the
clocks change (Europe/Madrid in March and October) has the right number of hours; a wall-clock time that
does not exist that day (02:30 on the spring-forward Sunday) is never offered.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from app.bookings.catalog import Professional, Service
from app.tenancy.config import BookingRules


class SlotRefused(ValueError):
    """A requested start the rules do not allow: the API's 422 with this code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Slot(NamedTuple):      # thousands a call: a tuple is several times cheaper to build than a dataclass
    start: int              # epoch seconds
    end: int
    professional_id: str


@dataclass(frozen=True)
class Busy:
    """One professional's taken intervals (buffers included), sorted and never overlapping."""
    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, intervals) -> "Busy":
        ordered = sorted(intervals)
        return cls([s for s, _ in ordered], [e for _, e in ordered])

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, end)        # intervals starting before `end`; the last one ends latest
        return i > 0 and self.ends[i - 1] > start


def local_epoch(day: date, minute: int, tz: ZoneInfo) -> int | None:
    """Epoch seconds of a wall-clock minute of a local day, or None when that time does not exist."""
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
    ts = int(local.timestamp())
    back = datetime.fromtimestamp(ts, tz)
    return ts if (back.hour, back.minute) == (local.hour, local.minute) else None


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local day, aware (a day's bounds for listings, feeds and availability windows)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=tz)


def _day_epochs(day: date, tz: ZoneInfo):
    """A function minute -> epoch for one local day; the fast path when the offset is the same all day."""
    midnight = local_midnight(day, tz)
    next_midnight = local_midnight(day + timedelta(days=1), tz)
    if midnight.utcoffset() == next_midnight.utcoffset():
        base = int(midnight.timestamp())
        return lambda minute: base + minute * 60
    return lambda minute: local_epoch(day, minute, tz)


class Rules:
    """The company's booking rules, bound to a moment ("now")."""

    def __init__(self, rules: BookingRules, tz: ZoneInfo, now: float):
        self.rules, self.tz, self.now = rules, tz, now
        self.earliest = now + rules.min_advance_minutes * 60
        self.latest = now + rules.max_advance_days * 86400

    def check_time(self, start: int) -> None:
        if start < self.now:
            raise SlotRefused("in_the_past", "that time has already passed")
        if start < self.earliest:
            raise SlotRefused("too_soon", f"bookings need at least {self.rules.min_advance_minutes} minutes' notice")
        if start > self.latest:
            raise SlotRefused("too_far_ahead", f"bookings open at most {self.rules.max_advance_days} days ahead")


def free_slots(service: Service, professionals: list[Professional], busy: dict[str, Busy], rules: Rules,
               window_start: int, window_end: int, limit: int = 1000) -> list[Slot]:
    """Every free start in [window_start, window_end) for the service, earliest first, at most `limit`."""
    tz, step = rules.tz, rules.rules.slot_step_minutes
    duration = service.duration_minutes
    before, after = service.buffer_before_minutes * 60, service.buffer_after_minutes * 60
    lo, hi = max(window_start, int(rules.earliest)), min(window_end, int(rules.latest) + 1)
    if lo >= hi:
        return []
    first_day = datetime.fromtimestamp(lo, tz).date()
    last_day = datetime.fromtimestamp(hi - 1, tz).date()
    out: list[Slot] = []
    day = first_day
    while day <= last_day and len(out) < limit:
        epoch_of = _day_epochs(day, tz)
        todays: list[Slot] = []
        for pro in professionals:
            taken = busy.get(pro.id) or Busy([], [])
            starts, ends = taken.starts, taken.ends
            for span_start, span_end in pro.minutes_on(day):
                for minute in range(span_start, span_end - duration + 1, step):
                    start = epoch_of(minute)
                    if start is None or start < lo or start >= hi:
                        continue
                    end = start + duration * 60
                    i = bisect_left(starts, end + after)        # Busy.overlaps, inlined: the hot loop
                    if not (i and ends[i - 1] > start - before):
                        todays.append(Slot(start, end, pro.id))
        todays.sort(key=lambda s: (s.start, s.professional_id))
        out.extend(todays[: limit - len(out)])
        day += timedelta(days=1)
    return out


def check_start(service: Service, professional: Professional, start: int, rules: Rules) -> None:
    """Why a requested start is not bookable for this professional, ignoring other bookings (the atomic
    write checks those); returns when it is."""
    rules.check_time(start)
    local = datetime.fromtimestamp(start, rules.tz)
    minute = local.hour * 60 + local.minute
    if local.second or local_epoch(local.date(), minute, rules.tz) != start:
        raise SlotRefused("off_grid", "appointments start on whole minutes of the company's slot grid")
    step = rules.rules.slot_step_minutes
    for span_start, span_end in professional.minutes_on(local.date()):
        if span_start <= minute and minute + service.duration_minutes <= span_end:
            if (minute - span_start) % step:
                raise SlotRefused("off_grid", f"appointments start every {step} minutes from "
                                              f"{span_start // 60:02d}:{span_start % 60:02d}")
            return
    raise SlotRefused("outside_hours", f"{professional.name} does not work then, or the service would not fit "
                                       "before the end of the shift")
