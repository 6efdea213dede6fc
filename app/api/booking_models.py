"""The published contract of the booking routes: catalog, availability, bookings, calendar feeds.

The catalog's own models (app/bookings/catalog.py) are the request bodies of the catalog routes, so the file
format, the admin API and onboarding accept exactly the same shape.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from app.api.models import Model, Page
from app.bookings.availability import local_midnight
from app.bookings.catalog import CATALOG_ID, DayException, Professional, Service
from app.conversations.history import USER_ID_PATTERN

CatalogId = Annotated[str, Field(pattern=CATALOG_ID, description="lowercase letters, digits, - and _")]
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,24}$")


def _phone(value: str | None) -> str | None:
    if value is not None and not _PHONE.match(value.strip()):
        raise ValueError("must be a phone number like +57 300 123 4567")
    return value.strip() if value else value


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value.strip()


class ServiceIn(Service):
    error_codes: ClassVar[dict[str | None, str]] = {"*": "invalid_service"}


class ServicePatch(Model):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=120)
    duration_minutes: int | None = Field(None, ge=5, le=12 * 60)
    price: float | None = Field(None, ge=0)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    buffer_before_minutes: int | None = Field(None, ge=0, le=240)
    buffer_after_minutes: int | None = Field(None, ge=0, le=240)
    description: str | None = Field(None, max_length=1000)
    active: bool | None = None


class ProfessionalIn(Professional):
    error_codes: ClassVar[dict[str | None, str]] = {"*": "invalid_professional"}


class ExceptionIn(DayException):
    pass


class ServiceOut(Service):
    professional_ids: list[str]


class ServiceList(BaseModel):
    services: list[ServiceOut]


class ProfessionalList(BaseModel):
    professionals: list[Professional]


class CatalogDeleted(BaseModel):
    id: str
    deleted: bool


class AvailabilityQuery(Model):
    service: CatalogId
    professional: CatalogId | None = None
    start: date | AwareDatetime | None = Field(None, alias="from", description="a date or an ISO 8601 time "
                                               "with offset; default now")
    end: date | AwareDatetime | None = Field(None, alias="to", description="exclusive; default 7 days after "
                                             "`from`, at most 62 days after it")
    limit: int = Field(200, ge=1, le=2000)
    error_codes = {"service": "invalid_service", "professional": "invalid_professional", "from": "invalid_date",
                   "to": "invalid_date"}


class SlotOut(BaseModel):
    start: str
    end: str
    professional_id: str
    professional_name: str


class Availability(BaseModel):
    service_id: str
    timezone: str
    slots: list[SlotOut]
    truncated: bool


class CustomerIn(Model):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_name)]
    phone: Annotated[str | None, AfterValidator(_phone)] = None
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    user_id: str | None = Field(None, pattern=USER_ID_PATTERN.pattern,
                                description="the end user's id in chat: links the booking to their data rights")


class BookingIn(Model):
    model_config = ConfigDict(extra="forbid")
    service_id: CatalogId
    professional_id: CatalogId | None = Field(None, description="omitted: the first professional free then")
    start: AwareDatetime = Field(description="ISO 8601 with offset, e.g. 2026-12-15T15:00:00-05:00")
    customer: CustomerIn
    channel: Literal["api", "web", "whatsapp", "instagram", "messenger", "email", "phone"] = "api"
    error_codes = {"start": "invalid_start", "customer": "invalid_customer", "service_id": "invalid_service",
                   "professional_id": "invalid_professional"}


class RescheduleIn(Model):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime
    professional_id: CatalogId | None = None
    error_codes = {"start": "invalid_start"}


class ConfirmIn(Model):
    model_config = ConfigDict(extra="forbid")
    service_id: CatalogId
    start: AwareDatetime
    professional_id: CatalogId | None = None
    error_codes = {"start": "invalid_start", "service_id": "invalid_service"}


class StatusIn(Model):
    model_config = ConfigDict(extra="forbid")
    status: Literal["completed", "no_show"]
    error_codes = {"status": "invalid_status"}


class BookingQuery(Model):
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(20, ge=1, le=100)
    day: date | None = Field(None, description="the company's local day, YYYY-MM-DD")
    professional: CatalogId | None = None
    customer: str | None = Field(None, pattern=USER_ID_PATTERN.pattern, description="the end user's user_id")
    status: Literal["pending", "confirmed", "cancelled", "completed", "no_show"] | None = None
    error_codes = {"day": "invalid_date", "status": "invalid_status"}


class CustomerOut(BaseModel):
    name: str | None
    phone: str | None
    email: str | None
    user_id: str | None


class BookingOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    booking_id: str
    status: Literal["pending", "confirmed", "cancelled", "completed", "no_show"]
    service_id: str | None
    service_name: str | None
    professional_id: str | None
    professional_name: str | None
    start: str | None
    end: str | None
    timezone: str
    price: float | None
    currency: str | None
    customer: CustomerOut
    channel: str | None
    created_at: str | None


class BookingList(Page):
    bookings: list[BookingOut]


class IdempotencyHeader(BaseModel):
    model_config = ConfigDict(extra="allow")
    idempotency_key: str | None = Field(None, alias="Idempotency-Key", min_length=1, max_length=200)


class CalendarFeed(BaseModel):
    company_feed: str
    professional_feeds: dict[str, str]


class WebhookSettings(BaseModel):
    url: str | None
    secret: str
    events: list[str]


def as_datetime(value: Any, tz, end_of_day: bool = False) -> datetime:
    """A date means the start of that local day (or of the next one, for an exclusive end)."""
    if isinstance(value, datetime):
        return value
    return local_midnight(value + timedelta(days=1) if end_of_day else value, tz)
