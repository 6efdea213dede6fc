"""The published contract: every request and response body of the HTTP API, as pydantic models.

Request models say which error code a bad field gets (`error_codes`, field -> code; anything not listed is
`invalid_parameter`). Response models of shapes owned elsewhere (a chat turn, an export, a learning) allow
extra fields: the contract pins what clients rely on, the owning module may add to it.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    WithJsonSchema,
    model_validator,
)
from werkzeug.datastructures import FileStorage

from app.api.validation import strict_loads
from app.bookings.catalog import Catalog
from app.channels.formatting import CHANNELS
from app.conversations.history import USER_ID_PATTERN
from app.conversations.pipeline import MAX_MESSAGE_CHARS
from app.knowledge.documents import MAX_TITLE
from app.knowledge.global_knowledge import STATUSES
from app.privacy.consent import CONSENT_CHANNELS, CONSENT_TYPES, MAX_SOURCE_CHARS
from app.security.principal import CHAT, DOCUMENTS_READ, DOCUMENTS_WRITE, TENANT_PERMISSIONS
from app.tenancy.config import COMPANY_ID_PATTERN
from graphs.meta.industries import CATEGORIES, OTHER

MAX_METADATA_BYTES = 8 * 1024
MAX_QUERY_CHARS = 2000
MAX_QUESTION_CHARS = 1000
INDUSTRIES = (*CATEGORIES, OTHER)
TOKEN_PERMISSIONS = (CHAT, DOCUMENTS_READ, DOCUMENTS_WRITE)      # never `admin` through a token
CREDENTIAL_KINDS = ("client", "hmac", "publishable")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value


def _stripped(value: str) -> str:
    return _not_blank(value).strip()


def _small_metadata(value: dict | None) -> dict | None:
    if value is not None and len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return value


def _json_int(value):
    """JSON integers, 3.0 included; not true/false or "3", which lax int parsing would take."""
    if isinstance(value, (bool, str)):
        raise ValueError("must be an integer")
    return value


def _json_text(value):
    """A multipart field carries JSON as text."""
    return strict_loads(value) if isinstance(value, str) else value


def _an_upload(value):
    if not isinstance(value, FileStorage) or not value.filename:
        raise ValueError("send the document in a multipart field named 'file'")
    return value


# Non-blank strings; the document's content keeps its spacing, the others are stripped.
Content = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
Query = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS), AfterValidator(_stripped)]
Message = Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_stripped)]
Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS), AfterValidator(_stripped)]
Language = Literal["es", "en"]
if TYPE_CHECKING:       # mypy cannot build a Literal from the owning modules' tuples; pydantic can
    Channel: TypeAlias = str
    Status: TypeAlias = str
    Industry: TypeAlias = str
    TenantPermission: TypeAlias = str
    TokenPermission: TypeAlias = str
    CredentialKind: TypeAlias = str
    ConsentType: TypeAlias = str
    ConsentChannel: TypeAlias = str
else:
    Channel = Literal[CHANNELS]
    Status = Literal[STATUSES]
    Industry = Literal[INDUSTRIES]
    TenantPermission = Literal[tuple(sorted(TENANT_PERMISSIONS))]
    TokenPermission = Literal[TOKEN_PERMISSIONS]
    CredentialKind = Literal[CREDENTIAL_KINDS]
    ConsentType = Literal[CONSENT_TYPES]
    ConsentChannel = Literal[CONSENT_CHANNELS]
JsonInt = Annotated[int, BeforeValidator(_json_int)]
Metadata = Annotated[dict[str, Any] | None, AfterValidator(_small_metadata)]
StatusList = Annotated[str, Field(pattern=rf"^({'|'.join(STATUSES)})(,({'|'.join(STATUSES)}))*$",
                                  description="one or more of " + ", ".join(STATUSES) + ", comma-separated")]


class Model(BaseModel):
    error_codes: ClassVar[dict[str | None, str]] = {}


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- shared ------------------------------------------------------------------------------------------
class ErrorDetail(Open):
    code: str = Field(pattern=r"^[a-z0-9_]+$", examples=["invalid_parameter"])
    message: str


class ErrorResponse(Open):
    error: ErrorDetail


class PageQuery(Model):
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(20, ge=1, le=100)


class Page(BaseModel):
    page: int
    per_page: int
    total: int
    has_more: bool


# -- health ------------------------------------------------------------------------------------------
class Check(Open):
    ok: bool
    latency_ms: float
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    live: bool
    ready: bool
    checks: dict[str, Check]
    companies: int
    config_version: str


class CompanyStatus(Open):
    company_id: str
    company_name: str
    status: str
    documents: int
    storage_bytes: int
    chunks: int
    conversations: int
    collection: str
    limits: dict[str, float | int]


class CompanyHealth(Open):
    """A company's status, or {company_id, status: "error", error} when its stores failed."""
    company_id: str
    status: str


class CompaniesHealth(BaseModel):
    companies: list[CompanyHealth]
    total: int


# -- documents ---------------------------------------------------------------------------------------
class DocumentIn(Model):
    error_codes = {"content": "empty_document"}
    content: Content = Field(description="the text; at most MAX_UPLOAD_MB as UTF-8")
    title: str | None = Field(None, max_length=MAX_TITLE)
    metadata: Metadata = Field(None, description=f"a JSON object of at most {MAX_METADATA_BYTES} bytes")


class DocumentUpload(Model):
    error_codes = {"file": "missing_file"}
    file: Annotated[Any, AfterValidator(_an_upload), WithJsonSchema({"type": "string", "format": "binary"})] = \
        Field(description=".txt .md .html .pdf .docx, at most MAX_UPLOAD_MB")
    title: str | None = Field(None, max_length=MAX_TITLE, description="defaults to the file name")
    metadata: Annotated[Metadata, BeforeValidator(_json_text)] = Field(None, description="a JSON object, as text")


class DocumentUploaded(BaseModel):
    document_id: str
    title: str
    chunks: int
    duplicate: bool


class DocumentQueued(BaseModel):
    job_id: str
    status: Literal["queued"]
    status_url: str = Field(description="GET it for the progress (a large upload is stored by a worker)")


class JobProgress(BaseModel):
    done: int = Field(description="chunks embedded so far")
    total: int = Field(description="chunks in all (0 until the worker starts)")


class DocumentJob(BaseModel):
    job_id: str
    status: Literal["queued", "running", "retrying", "done", "failed"]
    title: str | None
    progress: JobProgress
    created_at: float
    updated_at: float
    document_id: str | None = None
    duplicate: bool | None = None
    error: ErrorDetail | None = None


class Document(BaseModel):
    document_id: str
    title: str
    chunks: int
    size_bytes: int
    content_type: str
    source: str | None
    metadata: dict[str, Any]
    created_at: str


class DocumentDetail(Document):
    preview: str


class DocumentList(Page):
    documents: list[Document]


class DocumentDeleted(BaseModel):
    document_id: str
    deleted: bool


class SearchIn(Model):
    error_codes = {"query": "invalid_query"}
    query: Query
    k: JsonInt | None = Field(None, ge=1, description="results wanted; default SEARCH_DEFAULT_K, at most SEARCH_MAX_K")
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"


class SearchHit(BaseModel):
    document_id: str
    title: str
    content: str
    score: float
    chunk_index: int


class SearchResults(BaseModel):
    results: list[SearchHit]
    results_count: int
    degraded: Literal["lexical_only"] | None = Field(
        None, description="present when hybrid search could not embed the query and ranked by words alone")


# -- conversations -----------------------------------------------------------------------------------
class TurnIn(Model):
    error_codes = {"message": "invalid_message", "channel": "invalid_channel"}
    message: Message
    channel: Channel = "web"


class WidgetMessageIn(Model):
    error_codes = {"message": "invalid_message"}
    message: Message


class Source(Open):
    document_id: str
    title: str


class TurnResult(Open):
    bot_response: str = Field(description="empty while a human has the conversation")
    agent: str = Field(examples=["sales", "support", "schedule", "availability", "emergency", "human"])
    company_id: str
    sources: list[Source]
    handoff: bool
    booking: dict[str, Any] | None = None


class ConversationSummary(Open):
    user_id: str
    last_activity: float
    messages: int
    status: str


class ConversationList(Page):
    conversations: list[ConversationSummary]


class Conversation(BaseModel):
    user_id: str
    status: Literal["active", "handoff"]
    handoff_reason: str | None
    messages: list[dict[str, Any]]


class ConversationDeleted(BaseModel):
    user_id: str
    deleted: bool


class ConversationReleased(BaseModel):
    user_id: str
    released: bool
    status: Literal["active"]


# -- platform admin ----------------------------------------------------------------------------------
class CompanySummary(BaseModel):
    company_id: str
    company_name: str
    industry: str
    language: str
    timezone: str


class CompanyList(BaseModel):
    companies: list[CompanySummary]
    config_version: str


class SeedDocumentIn(Model):
    title: str | None = Field(None, max_length=MAX_TITLE)
    content: Content
    source: str | None = Field(None, max_length=300)


class ChatwootSetupIn(Model):
    model_config = ConfigDict(extra="forbid")
    account_id: JsonInt | None = Field(None, ge=1)
    base_url: str | None = Field(None, max_length=500)
    api_token: str | None = Field(None, max_length=500)
    webhook_secret: str | None = Field(None, max_length=500)


class CompanyIn(Model):
    company_id: str = Field(pattern=COMPANY_ID_PATTERN, description="unique")
    name: str = Field(min_length=1, max_length=200)
    language: Language = "es"
    industry: str = Field("general", max_length=100)
    timezone: str | None = Field(None, max_length=64)
    documents: list[SeedDocumentIn] | None = Field(None, max_length=50)
    chatwoot: ChatwootSetupIn | None = None
    catalog: Catalog | None = Field(None, description="services and professionals, as in tenants/<id>/catalog.yaml")


class Credentials(Open):
    """Shown once: each secret only when its kind was asked for."""
    company_id: str
    client_id: str | None = None
    client_secret: str | None = None
    hmac_key_id: str | None = None
    hmac_secret: str | None = None
    publishable_key: str | None = None


class Onboarded(Credentials):
    company_name: str
    api_key: str
    key_id: str
    permissions: list[str]
    documents: int
    catalog: dict[str, int] | None = None
    redis_prefix: str
    vectorstore_index: str


class ConfigReloaded(BaseModel):
    reloaded: bool
    config_version: str
    companies: list[str]


class IssueKeyIn(Model):
    permissions: list[TenantPermission] = Field(
        default_factory=lambda: sorted(TENANT_PERMISSIONS), min_length=1)
    label: str | None = Field(None, max_length=100)
    rotate: StrictBool = Field(False, description="revoke the company's active keys with the same permissions")


class IssuedKey(BaseModel):
    company_id: str
    api_key: str
    key_id: str
    permissions: list[str]
    revoked_key_ids: list[str]


class ApiKeyRecord(Open):
    key_id: str | None
    permissions: str | None
    label: str | None
    last4: str | None
    created_at: str | None
    status: str | None
    revoked_at: str | None


class ApiKeyList(BaseModel):
    company_id: str
    keys: list[ApiKeyRecord]


class ApiKeyRevoked(BaseModel):
    company_id: str
    key_id: str
    revoked: bool


class CredentialsIn(Model):
    kinds: list[CredentialKind] = Field(default_factory=lambda: list(CREDENTIAL_KINDS), min_length=1)


class RevokeTokensIn(Model):
    """{"jti", "exp"} revokes one token; {} revokes every token of the company issued until now."""
    model_config = ConfigDict(json_schema_extra={"dependentRequired": {"jti": ["exp"]}})
    jti: str | None = Field(None, min_length=1, max_length=200)
    exp: JsonInt | None = Field(None, ge=0, le=4_102_444_800, description="the token's exp (unix time)")

    @model_validator(mode="after")
    def _exp_with_jti(self):
        if self.jti is not None and self.exp is None:
            raise ValueError("jti (string) and exp (unix time) are required together")
        return self


class TokenRevoked(BaseModel):
    revoked: str


class TenantTokensRevoked(BaseModel):
    company_id: str
    revoked_before: float


class TokensRevoked(RootModel[TokenRevoked | TenantTokensRevoked]):
    pass


class ChatwootSecretsIn(Model):
    api_token: str | None = Field(None, max_length=500)
    webhook_secret: str | None = Field(None, max_length=500)
    url_token: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _at_least_one(self):
        if not (self.api_token or self.webhook_secret or self.url_token):
            raise ValueError("send at least one of api_token, webhook_secret, url_token")
        return self


class ChatwootSecretsUpdated(BaseModel):
    company_id: str
    updated: list[str]


# -- meta-agent --------------------------------------------------------------------------------------
class MetaQueryIn(Model):
    error_codes = {"question": "invalid_question", "language": "invalid_language", "industry": "invalid_industry",
                   "status": "invalid_status"}
    question: Question
    language: Language = "es"
    industry: Industry | None = None
    status: Annotated[list[Status], Field(min_length=1)] | StatusList | None = Field(
        None, description="default validated and pending")
    k: JsonInt = Field(10, ge=1, le=50)


class Learning(Open):
    id: str
    text: str
    industry: str
    count: int
    sources: int
    status: Status


class MetaAnswer(BaseModel):
    answer: str
    answered_by: Literal["listing", "llm"]
    learnings: list[Learning]


class LearningsQuery(PageQuery):
    error_codes = {"industry": "invalid_industry", "status": "invalid_status"}
    industry: Industry | None = None
    status: StatusList | None = None


class LearningList(Page):
    learnings: list[Learning]


class LearningStatusIn(Model):
    error_codes = {"status": "invalid_status"}
    status: Status


class MetaProcessed(BaseModel):
    processed: dict[str, int]


class InsightsQuery(Model):
    error_codes = {"language": "invalid_language"}
    language: Language | None = Field(None, description="default the company's language")
    limit: int = Field(10, ge=1, le=50)


class Insight(Open):
    topics: list[str]
    count: int
    businesses: int
    text: str


class Insights(BaseModel):
    industry: str
    insights: list[Insight]


# -- credentials exchange and widget -----------------------------------------------------------------
class TokenIn(Model):
    client_id: str = Field(max_length=100)
    client_secret: str = Field(max_length=200)
    site_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="1-64 letters, digits, '.', '_' or '-'")
    origin: str = Field(max_length=200, description="one of the company's allowed_origins")
    permissions: list[TokenPermission] = Field(default_factory=lambda: [CHAT, DOCUMENTS_READ],
                                                         min_length=1)
    ttl_s: JsonInt | None = Field(None, ge=60, description="at most TOKEN_TTL_S (the default)")


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    tenant_id: str
    permissions: list[str]
    jti: str


class Jwk(Open):
    kty: str
    kid: str
    use: str
    alg: str


class Jwks(BaseModel):
    keys: list[Jwk]


class PublishableKeyQuery(Model):
    pk: str = Field("", description="the company's publishable key, pk_live_…")


class WidgetUser(Model):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=120)
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(None, max_length=32, pattern=r"^\+?[0-9 ().-]{6,31}$")


class WidgetSessionIn(Model):
    # Unknown fields are ignored, as before this body existed (a page cannot choose its visitor_id).
    model_config = ConfigDict(extra="ignore")
    visitor_token: str | None = Field(None, max_length=8192, description="from an earlier visit: keeps the visitor")
    user: WidgetUser | None = None


class WidgetSession(BaseModel):
    token: str
    expires_in: int
    visitor_id: str
    visitor_token: str = Field(description="keep it (localStorage) to come back as the same visitor for 30 days")
    company_id: str
    status: Literal["bot", "human"]
    greeting: str
    primary_color: str


class WidgetBranding(BaseModel):
    company_id: str
    company_name: str
    agent_name: str
    greeting: str
    primary_color: str
    language: str
    origin_allowed: bool = Field(description="whether the calling page's origin may open a session")


class WidgetHistoryMessage(BaseModel):
    id: str
    role: Literal["user", "bot", "human"]
    text: str
    at: float | None


class WidgetHistory(BaseModel):
    status: Literal["bot", "human"]
    messages: list[WidgetHistoryMessage]


class WidgetReply(TurnResult):
    id: str
    reply_to: str = Field(description="the message's Idempotency-Key (or one the server made)")
    status: Literal["bot", "human"]


# -- Chatwoot webhooks -------------------------------------------------------------------------------
class WebhookQuery(Model):
    token: str | None = Field(None, description="the company's URL token, only for allowed unsigned webhooks")


class WebhookAck(Open):
    status: Literal["queued", "ignored", "duplicate"]
    action: str | None = None
    reason: str | None = None


# -- privacy -----------------------------------------------------------------------------------------
class ConsentIn(Model):
    error_codes = {"user_id": "invalid_user_id", "consent_type": "invalid_consent_type", "granted": "invalid_granted",
                   "channel": "invalid_channel", "source": "invalid_source"}
    # The pattern is checked after the credential (a widget session naming anyone else is a 403), so it is
    # only published here.
    user_id: str | None = Field(None, json_schema_extra={"pattern": USER_ID_PATTERN.pattern},
                                description="required with server credentials; a widget session acts only "
                                            "for its own visitor")
    consent_type: ConsentType
    granted: StrictBool
    # Left out, it is "web" for a widget session and "api" otherwise; an explicit null is refused (hence the
    # unvalidated None default).
    channel: ConsentChannel = Field(None, validate_default=False)  # type: ignore[assignment]
    source: str | None = Field(None, max_length=MAX_SOURCE_CHARS)


class ConsentRecord(Open):
    type: str
    status: Literal["granted", "revoked"]
    granted_at: str | None
    revoked_at: str | None
    updated_at: str
    channel: str
    source: str | None


class ConsentRecorded(BaseModel):
    user_id: str
    consent: ConsentRecord
    consents: dict[str, ConsentRecord]
    dropped_pending_learnings: int | None = None


class ConsentState(BaseModel):
    user_id: str
    consents: dict[str, ConsentRecord]
    history: list[dict[str, Any]]


class UserExport(Open):
    user_id: str
    company_id: str
    exported_at: str
    sections: dict[str, Any]


class ErasureReceipt(BaseModel):
    user_id: str
    erased_at: str
    receipts: dict[str, Any]


class ErasureIncomplete(ErrorResponse):
    """`erasure_incomplete` carries the receipts of the stores that were erased and what failed; any other
    error (a store down before anything ran) is the plain error."""
    failed: dict[str, Any] | None = None
    user_id: str | None = None
    erased_at: str | None = None
    receipts: dict[str, Any] | None = None
