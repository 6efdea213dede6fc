"""Every environment variable the service reads, typed and validated in one place."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True)

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(5000, ge=1, le=65535)
    environment: Literal["development", "production", "test"] = Field("development", alias="MISYBOT_ENV")
    log_level: str = "INFO"

    # Where things live
    data_dir: Path = Path("data")
    companies_config_file: Path = Path("companies_config.yaml")
    tenants_dir: Path = Path("tenants")

    # Storage: real servers when set, embedded otherwise
    redis_url: str | None = None
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None

    # Platform admin credential (guards /admin/* and platform health)
    misybot_admin_token: SecretStr | None = None
    # Encrypts secrets at rest (HMAC and client secrets, Chatwoot tokens, JWT signing keys). Comma-separated
    # to rotate: the first key encrypts, all of them decrypt. Required in production.
    misybot_master_key: SecretStr | None = None

    # Tenant access tokens (JWT, RS256)
    token_issuer: str = "misybot"
    token_audience: str = "misybot-api"
    token_ttl_s: int = Field(24 * 3600, ge=60, le=7 * 24 * 3600)
    widget_token_ttl_s: int = Field(900, ge=60, le=24 * 3600)
    widget_stream_s: float = Field(300.0, ge=1, le=3600)   # an SSE response's life; the page reconnects
    # Origins every company's widget accepts in development only (the demo page, GET /demo/<id>);
    # comma-separated; empty means the service's own http://127.0.0.1:<PORT>. Ignored in production.
    widget_dev_origins: str = ""
    hmac_window_s: int = Field(300, ge=30, le=3600)
    # X-Forwarded-For is trusted only for this many proxies in front of us (0 = never).
    trusted_proxy_count: int = Field(0, ge=0, le=5)
    auth_attempts_per_minute: int = Field(20, ge=1)      # per client IP on /v1/auth/token and widget sessions

    # Embeddings: an OpenAI-compatible endpoint when OPENAI_BASE_URL/OPENAI_API_KEY and a model are set,
    # otherwise the bundled offline all-MiniLM-L6-v2.
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    embeddings_model: str | None = None
    embeddings_timeout_s: float = 20.0
    # torch threads of the offline model (EMBEDDER_THREADS): 1 keeps a busy machine's chat turns cheap
    # (bench/hot_path_bench.py); a host that mostly ingests documents on idle cores may gain from 2.
    embedder_threads: int = Field(1, ge=1, le=64)
    # A search query's embedding: one try within this time, then hybrid search answers from its lexical side.
    embeddings_query_timeout_s: float = Field(5.0, gt=0)
    llm_timeout_s: float = Field(20.0, gt=0)      # the whole budget of an LLM call (no client retries)
    # Per tenant and model: after this many consecutive endpoint failures (timeouts, 5xx, garbage, empty
    # completions) the LLM is not called for LLM_BREAKER_RESET_S; then one trial call decides.
    llm_breaker_failures: int = Field(3, ge=1)
    llm_breaker_reset_s: float = Field(30.0, gt=0)
    transcription_model: str | None = None          # e.g. whisper-1 on an OpenAI-compatible server
    chatwoot_worker: bool = True                    # run the webhook worker thread inside the app
    # Job threads per process: one conversation's jobs stay in order on one of them, the others run alongside.
    chatwoot_worker_threads: int = Field(4, ge=1, le=64)
    booking_webhook_worker: bool = True             # deliver companies' booking webhooks from a thread in the app
    metrics_token: SecretStr | None = None          # Bearer token for GET /metrics (the admin token works too)
    audit_worker: bool = True                       # write audit records from a thread in the app (tests drain by hand)
    audit_buffer_size: int = Field(10_000, ge=100)  # audit records held in memory while Redis is down

    # Global meta-agent: a worker thread moves consented, anonymized questions into the global collection.
    meta_worker: bool = True
    meta_interval_s: float = Field(30.0, ge=1)
    meta_llm_model: str | None = None               # summarizes admin meta queries when an LLM endpoint is set

    # Documents
    max_upload_mb: float = Field(10.0, gt=0)
    # Uploads larger than this are answered 202 with a job (GET /documents/jobs/<id>) and stored by the
    # ingestion worker; smaller ones are stored before the answer (201).
    ingest_async_bytes: int = Field(256 * 1024, ge=0)
    ingestion_worker: bool = True                   # run the ingestion worker thread inside the app
    # Companies whose uploads are stored at the same time per process (one company's jobs run in turn); the
    # embedding model alternates between them batch by batch.
    ingestion_worker_threads: int = Field(2, ge=1, le=16)
    # Uploads are refused (507 storage_full) while less than this is free under DATA_DIR, so the embedded
    # Redis and Qdrant never meet a full disk halfway through a write. 0 turns the check off. Only
    # checked while a store is embedded (no REDIS_URL or no QDRANT_URL).
    min_free_disk_mb: float = Field(200.0, ge=0)
    chunk_tokens: int = Field(200, ge=32, le=256)     # MiniLM truncates past 256 tokens
    chunk_overlap_tokens: int = Field(30, ge=0, le=128)
    search_default_k: int = Field(5, ge=1, le=50)
    search_max_k: int = Field(20, ge=1, le=100)
    # Weight of the dense list in hybrid fusion (lexical is 1.0). Unset: 0.2 with the offline English
    # MiniLM, 1.0 with an OpenAI-compatible embeddings endpoint. See app/knowledge/index.py.
    hybrid_dense_weight: float | None = Field(None, gt=0, le=10)

    # Load each tenant's documents from tenants/<id>/documents when its collection is empty (run.py)
    seed_tenant_documents: bool = False

    def dev_widget_origins(self) -> tuple[str, ...]:
        if self.environment == "production":
            return ()
        listed = [o.strip().rstrip("/").lower() for o in self.widget_dev_origins.split(",") if o.strip()]
        return tuple(listed) if listed else (f"http://127.0.0.1:{self.port}",)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def use_openai_embeddings(self) -> bool:
        return bool(self.embeddings_model and (self.openai_base_url or self.openai_api_key))
