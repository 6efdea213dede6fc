"""A company's booking catalog: its services and its professionals (people or resources with hours).

Stored in the company's own keyspace, reached only through TenantContext:
  {prefix}catalog:services        hash service_id -> Service JSON
  {prefix}catalog:professionals   hash professional_id -> Professional JSON

Which professional does which service is said once, on the professional (`service_ids`); a service's
`professional_ids` is derived when it is read. Hours are wall-clock times in the company's timezone.

The file format (tenants/<company_id>/catalog.yaml, the admin API and onboarding take the same shape):

  services:
    - {id: botox, name: Toxina botulínica, duration_minutes: 30, price: 850000, currency: COP,
       buffer_before_minutes: 0, buffer_after_minutes: 10, active: true}
  professionals:
    - id: dra-gomez
      name: Dra. Laura Gómez
      service_ids: [botox]
      weekly_hours: {mon: ["09:00-13:00", "14:00-18:00"], sat: ["09:00-12:00"]}
      breaks: [{days: [mon, wed], time: "11:00-11:15"}]          # days default to every day
      exceptions:
        - {date: "2026-12-25", closed: true, note: Navidad}
        - {date: "2026-12-24", hours: ["09:00-13:00"]}          # replaces that day's hours
        - {date: "2026-12-19", extra_hours: ["14:00-17:00"]}    # adds to them
"""
from __future__ import annotations

import json
import re
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.storage.redis_store import TenantKeyspace

CATALOG_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class CatalogError(ValueError):
    """A catalog that breaks a rule (unknown service, overlapping hours): the caller's 4xx."""


@lru_cache(maxsize=4096)
def parse_range(value: str) -> tuple[int, int]:
    """"09:00-13:00" -> (540, 780) minutes after midnight; the end may be 24:00."""
    m = _RANGE.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a time range like 09:00-13:00")
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if end > 24 * 60 or end <= start:
        raise ValueError(f"{value!r}: the range must end after it starts, by 24:00")
    return start, end


def _check_ranges(ranges: list[str]) -> list[str]:
    spans = sorted(parse_range(r) for r in ranges)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise ValueError(f"time ranges overlap: {', '.join(ranges)}")
    return [r.strip() for r in ranges]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Service(_Model):
    id: str = Field(pattern=CATALOG_ID)
    name: str = Field(min_length=1, max_length=120)
    duration_minutes: int = Field(ge=5, le=12 * 60)
    price: float | None = Field(None, ge=0)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    buffer_before_minutes: int = Field(0, ge=0, le=240)
    buffer_after_minutes: int = Field(0, ge=0, le=240)
    description: str | None = Field(None, max_length=1000)
    active: bool = True

    @model_validator(mode="after")
    def _currency_with_price(self) -> "Service":
        if self.price is not None and self.currency is None:
            raise ValueError("a price needs its currency (ISO 4217, e.g. COP, EUR)")
        return self


class Break(_Model):
    days: list[Weekday] = Field(default_factory=lambda: list[Weekday](WEEKDAYS))
    time: str

    @field_validator("time")
    @classmethod
    def _range(cls, v: str) -> str:
        parse_range(v)
        return v.strip()


class DayException(_Model):
    date: date
    closed: bool = False
    hours: list[str] | None = None          # replaces the weekday's hours that day
    extra_hours: list[str] | None = None    # adds to them
    note: str | None = Field(None, max_length=200)

    @field_validator("hours", "extra_hours")
    @classmethod
    def _ranges(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _check_ranges(v)

    @model_validator(mode="after")
    def _one_meaning(self) -> "DayException":
        if self.closed and (self.hours or self.extra_hours):
            raise ValueError("a closed day has no hours")
        if not self.closed and self.hours is None and self.extra_hours is None:
            raise ValueError("an exception is closed: true, hours or extra_hours")
        return self


class Professional(_Model):
    id: str = Field(pattern=CATALOG_ID)
    name: str = Field(min_length=1, max_length=120)
    service_ids: list[str] = Field(default_factory=list)
    weekly_hours: dict[Weekday, list[str]] = Field(default_factory=dict)
    breaks: list[Break] = Field(default_factory=list)
    exceptions: list[DayException] = Field(default_factory=list)
    active: bool = True

    @field_validator("weekly_hours")
    @classmethod
    def _hours(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return {day: _check_ranges(ranges) for day, ranges in v.items()}

    @field_validator("exceptions")
    @classmethod
    def _one_per_date(cls, v: list[DayException]) -> list[DayException]:
        dates = [e.date for e in v]
        if len(dates) != len(set(dates)):
            raise ValueError("one exception per date")
        return sorted(v, key=lambda e: e.date)

    def minutes_on(self, day: date) -> list[tuple[int, int]]:
        """Working spans of that local day, minutes after midnight, breaks removed."""
        weekday = WEEKDAYS[day.weekday()]
        ranges = list(self.weekly_hours.get(weekday, []))
        for exc in self.exceptions:
            if exc.date == day:
                if exc.closed:
                    return []
                if exc.hours is not None:
                    ranges = list(exc.hours)
                ranges += exc.extra_hours or []
        spans = _merge(parse_range(r) for r in ranges)
        for brk in self.breaks:
            if weekday in brk.days:
                spans = _subtract(spans, parse_range(brk.time))
        return spans


class Catalog(_Model):
    services: list[Service] = Field(default_factory=list)
    professionals: list[Professional] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "Catalog":
        check_catalog(self.services, self.professionals)
        return self


def check_catalog(services: list[Service], professionals: list[Professional]) -> None:
    for kind, items in (("service", services), ("professional", professionals)):
        ids = [i.id for i in items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise CatalogError(f"{kind} ids repeat: {', '.join(dupes)}")
    known = {s.id for s in services}
    for p in professionals:
        unknown = [s for s in p.service_ids if s not in known]
        if unknown:
            raise CatalogError(f"professional {p.id!r} names unknown services: {', '.join(unknown)}")


def _merge(spans) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _subtract(spans: list[tuple[int, int]], cut: tuple[int, int]) -> list[tuple[int, int]]:
    out = []
    for start, end in spans:
        if cut[1] <= start or cut[0] >= end:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def minutes_to_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60) if minutes < 24 * 60 else time(23, 59)


def read_catalog_file(path: Path) -> Catalog:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Catalog.model_validate(raw)
    except (yaml.YAMLError, ValidationError, CatalogError, ValueError) as exc:
        raise CatalogError(f"{path}: {exc}") from None


class CatalogStore:
    """One company's services and professionals. Writes keep the catalog consistent: a professional
    may only name services that exist, and a service with professionals still naming it can be
    deactivated but not deleted."""

    def __init__(self, keyspace: TenantKeyspace):
        self.keys = keyspace
        self._services_key = keyspace.key("catalog", "services")
        self._professionals_key = keyspace.key("catalog", "professionals")

    # -- reads ---------------------------------------------------------------------------------------
    def services(self, include_inactive: bool = True) -> list[Service]:
        rows = [Service.model_validate_json(v) for v in self.keys.redis.hvals(self._services_key)]
        return sorted((s for s in rows if include_inactive or s.active), key=lambda s: s.name.lower())

    def professionals(self, include_inactive: bool = True) -> list[Professional]:
        rows = [Professional.model_validate_json(v) for v in self.keys.redis.hvals(self._professionals_key)]
        return sorted((p for p in rows if include_inactive or p.active), key=lambda p: p.name.lower())

    def service(self, service_id: str) -> Service | None:
        raw = self.keys.redis.hget(self._services_key, service_id)
        return Service.model_validate_json(raw) if raw else None

    def professional(self, professional_id: str) -> Professional | None:
        raw = self.keys.redis.hget(self._professionals_key, professional_id)
        return Professional.model_validate_json(raw) if raw else None

    def professionals_for(self, service_id: str) -> list[Professional]:
        return [p for p in self.professionals(include_inactive=False) if service_id in p.service_ids]

    def is_empty(self) -> bool:
        return not self.keys.redis.exists(self._services_key, self._professionals_key)

    # -- writes --------------------------------------------------------------------------------------
    def put_service(self, service: Service) -> bool:
        """Create or replace; True when it was new."""
        return bool(self.keys.redis.hset(self._services_key, service.id, service.model_dump_json()))

    def delete_service(self, service_id: str) -> bool:
        users = [p.id for p in self.professionals() if service_id in p.service_ids]
        if users:
            raise CatalogError(f"professionals still offer this service: {', '.join(users)}; "
                               "remove it from them or set the service inactive")
        return bool(self.keys.redis.hdel(self._services_key, service_id))

    def put_professional(self, professional: Professional) -> bool:
        known = set(self.keys.redis.hkeys(self._services_key))
        unknown = [s for s in professional.service_ids if s not in known]
        if unknown:
            raise CatalogError(f"unknown services: {', '.join(unknown)}")
        return bool(self.keys.redis.hset(self._professionals_key, professional.id, professional.model_dump_json()))

    def delete_professional(self, professional_id: str) -> bool:
        return bool(self.keys.redis.hdel(self._professionals_key, professional_id))

    def replace(self, catalog: Catalog) -> dict:
        """Load a whole catalog (seed file, onboarding), replacing what was there, in one transaction."""
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.delete(self._services_key, self._professionals_key)
        if catalog.services:
            pipe.hset(self._services_key, mapping={s.id: s.model_dump_json() for s in catalog.services})
        if catalog.professionals:
            pipe.hset(self._professionals_key, mapping={p.id: p.model_dump_json() for p in catalog.professionals})
        pipe.execute()
        return {"services": len(catalog.services), "professionals": len(catalog.professionals)}

    def export(self) -> dict:
        return json.loads(Catalog(services=self.services(), professionals=self.professionals()).model_dump_json())


def public_service(service: Service, professionals: list[Professional]) -> dict:
    out = service.model_dump(mode="json")
    out["professional_ids"] = sorted(p.id for p in professionals if service.id in p.service_ids)
    return out
