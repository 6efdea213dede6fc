"""The shape of one company's block in companies_config.yaml, validated with pydantic."""
from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

COMPANY_ID_PATTERN = r"^[a-z0-9_-]{2,64}$"
# Prefixes end in ':' and contain no other ':', so no tenant's prefix can be the start of another's.
REDIS_PREFIX_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}:$"
COLLECTION_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,63}$"

# Names the platform keeps for itself; no tenant may take them.
PLATFORM_REDIS_PREFIX = "misybot:"
GLOBAL_COLLECTION = "misybot_global_knowledge"
# Key kinds of a single-tenant deployment (app/tenancy/migration.py): a tenant prefix equal to one of
# them would make that tenant's keys look like legacy data.
LEGACY_KEY_PREFIXES = {"conversation:", "document:", "documents:", "bot_status:", "booking:", "session:",
                       "consent:", "lock:", "usage:"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Plan = Literal["free", "pro", "enterprise"]
# What a plan allows a month (seed 003); a company's `limits:` block may override each one.
PLAN_LIMITS: dict[str, dict[str, int]] = {
    "free": {"monthly_messages": 1_000, "monthly_bookings": 50, "monthly_llm_tokens": 200_000},
    "pro": {"monthly_messages": 20_000, "monthly_bookings": 2_000, "monthly_llm_tokens": 5_000_000},
    "enterprise": {"monthly_messages": 200_000, "monthly_bookings": 50_000, "monthly_llm_tokens": 50_000_000},
}
MONTHLY_LIMITS = ("monthly_messages", "monthly_bookings", "monthly_llm_tokens")


class Limits(_Strict):
    requests_per_minute: int = Field(60, ge=1)
    requests_per_hour: int = Field(1000, ge=1)
    # Filled from the company's plan when the config leaves them out (TenantConfig._plan_limits).
    monthly_messages: int = Field(PLAN_LIMITS["pro"]["monthly_messages"], ge=1)
    monthly_bookings: int = Field(PLAN_LIMITS["pro"]["monthly_bookings"], ge=1)
    monthly_llm_tokens: int = Field(PLAN_LIMITS["pro"]["monthly_llm_tokens"], ge=1)
    storage_limit_mb: float = Field(100, gt=0)
    max_documents: int = Field(200, ge=1)


class BookingRules(_Strict):
    """How the company takes appointments (its catalog is in tenants/<id>/catalog.yaml)."""
    min_advance_minutes: int = Field(60, ge=0, le=60 * 24 * 30)
    max_advance_days: int = Field(90, ge=1, le=730)
    slot_step_minutes: int = Field(15, ge=5, le=240)
    # Customers (chat, or the API without `admin`) cannot cancel or move a booking closer than this to its start.
    cancellation_window_hours: int = Field(24, ge=0, le=24 * 30)
    location: str | None = Field(None, max_length=300, description="where appointments happen, said in confirmations")
    require_phone: bool = True
    webhook_url: str | None = Field(None, description="receives signed booking.created|rescheduled|cancelled events")

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return v


class Branding(_Strict):
    primary_color: str = Field("#2E7D6B", pattern=r"^#[0-9A-Fa-f]{6}$")
    greeting_message: str = Field("¡Hola! ¿En qué te puedo ayudar?", min_length=1, max_length=500)


class AIConfig(_Strict):
    provider: Literal["openai", "offline"] = "offline"
    model: str = "gpt-4o-mini"


class ChatwootConfig(_Strict):
    account_id: int | None = Field(None, ge=1)
    base_url: str | None = None
    # Legacy, unsigned webhooks (Chatwoot before 4.11.2): only when enabled here, and then only with the
    # tenant's secret URL token (?token=…). Secrets themselves are stored encrypted, never in this file.
    allow_unsigned_webhooks: bool = False
    # The company's API-channel inbox where website-widget conversations go when a person takes them
    # (app/channels/widget_bridge.py); unset: such handoffs are answered through our API only.
    widget_inbox_id: int | None = Field(None, ge=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/") if v else v


class MemoryConfig(_Strict):
    max_messages: int = Field(20, ge=2, le=200)
    ttl_hours: int = Field(72, ge=1, le=24 * 365)


class PrivacyConfig(_Strict):
    # Send the customer's words to an external LLM only as placeholders ("<PERSON_1>"); the answer the
    # customer sees gets the values back. Users who revoked data_processing always get this.
    anonymize_llm: bool = False
    # Contribute consented, anonymized questions to the global meta-agent.
    share_learnings: bool = True


class AuditConfig(_Strict):
    retention_days: int = Field(90, ge=1, le=3650)


class TenantConfig(_Strict):
    company_id: str = Field(pattern=COMPANY_ID_PATTERN)
    company_name: str = Field(min_length=1, max_length=200)
    redis_prefix: str = Field(pattern=REDIS_PREFIX_PATTERN)
    vectorstore_index: str = Field(pattern=COLLECTION_PATTERN)
    language: Literal["es", "en"] = "es"
    timezone: str = "America/Bogota"
    industry: str = Field(min_length=1, max_length=100)
    services: str = Field(min_length=1, description="what the business offers, in its own words")
    sales_agent_name: str = Field(min_length=1, max_length=100)
    persona: str = Field("cercano, claro y profesional", min_length=1, description="tone of voice")
    service_durations: dict[str, int] = Field(default_factory=dict)
    plan: Plan = "pro"
    booking: BookingRules = Field(default_factory=BookingRules)
    schedule_service_url: str | None = None
    allowed_origins: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    branding: Branding = Field(default_factory=Branding)
    ai: AIConfig = Field(default_factory=AIConfig)
    chatwoot: ChatwootConfig = Field(default_factory=ChatwootConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)

    @model_validator(mode="before")
    @classmethod
    def _plan_limits(cls, data):
        """Monthly limits the config leaves out come from the plan."""
        if isinstance(data, dict):
            plan = data.get("plan", "pro")
            limits = data.get("limits")
            if plan in PLAN_LIMITS and (limits is None or isinstance(limits, dict)):
                data = {**data, "limits": {**PLAN_LIMITS[plan], **(limits or {})}}
        return data

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {v!r}") from None
        return v

    @field_validator("service_durations")
    @classmethod
    def _positive_minutes(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [name for name, minutes in v.items() if not 1 <= minutes <= 24 * 60]
        if bad:
            raise ValueError(f"durations must be 1..1440 minutes: {', '.join(bad)}")
        return v

    @field_validator("schedule_service_url")
    @classmethod
    def _schedule_url(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
                    or parts.query or parts.fragment:
                raise ValueError(f"{origin!r} is not an origin like https://www.example.com")
        return [o.rstrip("/").lower() for o in v]

    @model_validator(mode="after")
    def _not_reserved(self) -> "TenantConfig":
        if self.redis_prefix == PLATFORM_REDIS_PREFIX or self.redis_prefix in LEGACY_KEY_PREFIXES:
            raise ValueError(f"redis_prefix {self.redis_prefix!r} is reserved")
        if self.vectorstore_index == GLOBAL_COLLECTION:
            raise ValueError(f"vectorstore_index {GLOBAL_COLLECTION!r} is reserved for the platform")
        return self


class CompaniesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    companies: list[TenantConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "CompaniesFile":
        for field in UNIQUE_FIELDS:
            seen: dict[str, str] = {}
            for c in self.companies:
                value = getattr(c, field)
                if value in seen:
                    raise ValueError(already_used(c.company_id, field, value, seen[value]))
                seen[value] = c.company_id
        accounts: dict[int, str] = {}
        for c in self.companies:
            acc = c.chatwoot.account_id
            if acc is not None:
                if acc in accounts:
                    raise ValueError(already_used(c.company_id, "chatwoot.account_id", acc, accounts[acc]))
                accounts[acc] = c.company_id
        return self


# Fields no two companies may share (and chatwoot.account_id when set); the registry checks an added company
# against the others with the same words (RegistrySnapshot.plus).
UNIQUE_FIELDS = ("company_id", "redis_prefix", "vectorstore_index")


def already_used(company_id: str, field: str, value, owner: str) -> str:
    return f"company {company_id!r}: {field} {value!r} is already used by company {owner!r}"


def is_valid_company_id(value: str) -> bool:
    return re.fullmatch(COMPANY_ID_PATTERN, value) is not None
