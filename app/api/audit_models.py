"""The published contract of the audit trail routes: GET /audit (a page, newest first) and GET /audit/export
(JSON Lines, oldest first). A record's own shape is app/audit/trail.py's: the fields every record has are pinned
here, the kind-specific ones (ALLOWED there) ride along."""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.api.models import Model, Page
from app.audit.events import KINDS
from app.tenancy.config import COMPANY_ID_PATTERN

if TYPE_CHECKING:       # mypy cannot build a Literal from the owning module's tuple; pydantic can
    Kind: TypeAlias = str
else:
    Kind = Literal[KINDS]

_WORD = r"^[A-Za-z0-9_.:-]{1,64}$"


class AuditExportQuery(Model):
    company_id: str | None = Field(None, pattern=COMPANY_ID_PATTERN,
                                   description="platform admin: the company whose trail to read (required); a tenant "
                                               "credential may only name its own company")
    since: AwareDatetime | None = Field(None, description="records at or after this ISO 8601 time (with offset)")
    until: AwareDatetime | None = Field(None, description="records before this ISO 8601 time (exclusive)")
    kind: Kind | None = None
    outcome: str | None = Field(None, pattern=r"^[a-z_]{1,32}$", examples=["ok", "refused", "handoff"])
    agent: str | None = Field(None, pattern=_WORD, description="turns answered by this agent")
    channel: str | None = Field(None, pattern=_WORD)
    user: str | None = Field(None, pattern=_WORD, description="the end user's pseudonym, as turn records show it")
    error_codes = {"since": "invalid_date", "until": "invalid_date", "company_id": "invalid_company_id"}

    @model_validator(mode="after")
    def _ordered(self):
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("`until` must be after `since`")
        return self


class AuditQuery(AuditExportQuery):
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(50, ge=1, le=200)


class AuditRecord(BaseModel):
    model_config = ConfigDict(extra="allow")      # the kind's own fields (route, status, agent, stages_ms, …)
    seq: int
    at: str = Field(description="ISO 8601, UTC")
    kind: str
    outcome: str | None
    company_id: str | None
    request_id: str | None
    trace_id: str | None
    actor: str | None
    prev: str = Field(description="sha256 of the previous record (64 zeros for the first)")
    hash: str = Field(description="sha256 of this record's canonical JSON without `hash`")


class AuditPage(Page):
    records: list[AuditRecord]
