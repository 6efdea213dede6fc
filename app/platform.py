"""The process-wide resources the app factory wires together: registry, stores, embedder, keys.

Scripts use it too, so onboarding and migration work the same way with or without the service.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from functools import partial
from typing import Any

import redis
from langchain_openai import ChatOpenAI

from app.audit.events import Event, EventHub
from app.bookings.catalog import CatalogStore
from app.bookings.store import BookingStore
from app.bookings.webhooks import BookingWebhooks
from app.channels import widget_bridge
from app.channels.widget_channel import WidgetChannel, status_to_widget, widget_booking
from app.conversations.history import ConversationStore
from app.conversations.schedule_service import ScheduleServiceClient
from app.knowledge.documents import DocumentService
from app.knowledge.global_knowledge import GlobalKnowledge
from app.knowledge.index import OFFLINE_DENSE_WEIGHT, KnowledgeIndex
from app.privacy.consent import ConsentStore
from app.privacy.learning_outbox import LearningOutbox
from app.privacy.placeholder_store import PlaceholderStore
from app.privacy.pseudonyms import Pseudonyms
from app.security.api_keys import ApiKeyStore
from app.security.principal import Principal
from app.security.rate_limits import RateLimiter
from app.security.tenant_secrets import TenantSecrets
from app.security.tokens import TokenService
from app.security.vault import Vault, VaultError
from app.settings import Settings
from app.storage.embeddings import Embedder, build_embedder
from app.storage.qdrant_store import VectorStore, connect_qdrant
from app.storage.redis_store import TenantKeyspace, connect_redis
from app.tenancy.config import TenantConfig
from app.tenancy.context import TenantContext
from app.tenancy.platform_keys import TenantPlatformKeys
from app.tenancy.prefixes import PrefixClaims
from app.tenancy.registry import ConfigError, TenantRegistry
from app.workers.meta import MetaPipeline
from graphs.llm import ChatProvider, build_provider


class SecretsConfigError(VaultError):
    """Production without MISYBOT_MASTER_KEY: the service refuses to start."""


def master_key(settings: Settings) -> str:
    if settings.misybot_master_key is not None:
        return settings.misybot_master_key.get_secret_value()
    if settings.environment == "production":
        raise SecretsConfigError("MISYBOT_MASTER_KEY must be set in production: it encrypts tenant secrets")
    # Development and tests: a key kept beside the embedded data, created once.
    path = settings.data_dir / "master_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
        logging.getLogger("misybot.startup").warning("no MISYBOT_MASTER_KEY: generated a development key in %s", path)
    return path.read_text().strip()


class Platform:
    def __init__(self, settings: Settings, registry: TenantRegistry, redis_client: redis.Redis,
                 vectors: VectorStore, embedder: Embedder, vault: Vault):
        self.settings = settings
        self.registry = registry
        self.redis = redis_client
        self.vectors = vectors
        self.embedder = embedder
        self.api_keys = ApiKeyStore(redis_client)
        self.vault = vault
        self.secrets = TenantSecrets(redis_client, vault)
        self.tokens = TokenService(redis_client, vault, settings.token_issuer, settings.token_audience)
        self.rate_limiter = RateLimiter(redis_client)
        self._cache_lock = threading.Lock()
        self._providers: dict = {}
        self._schedule_clients: dict = {}
        self.background: list = []       # worker threads to stop before the stores close
        self.turn_observers: list = []   # called by the pipeline's audit stage with each finished Turn
        self.events = EventHub()         # request, turn, delivery, admin and security events (app/audit/events.py)
        self.audit: Any = None           # the AuditTrail subscribed to them (app/factory.py)
        self.pseudonyms = Pseudonyms(redis_client, vault)
        self.global_knowledge = GlobalKnowledge(vectors, embedder, redis_client, self.dense_weight)
        self._meta_pipeline = None
        self._config_checked = 0.0
        # Prefixes that may hold keys (app/tenancy/prefixes.py): every company this process serves is in it.
        self.prefix_claims = PrefixClaims(redis_client)
        self._prefixes_noted = False
        self._note_prefixes()

    def _note_prefixes(self) -> None:
        """Start-up: every company this process serves may write keys (one SADD). Redis down: the next sync."""
        try:
            self.prefix_claims.note(c.redis_prefix for c in self.registry.snapshot.companies.values())
            self._prefixes_noted = True
        except redis.exceptions.RedisError as exc:
            logging.getLogger("misybot.startup").warning("cannot note the tenant prefixes: %s", type(exc).__name__)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Platform":
        registry = TenantRegistry(settings.companies_config_file)     # ConfigError stops start-up
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        vault = Vault(master_key(settings))
        redis_client = connect_redis(settings.redis_url, settings.data_dir)
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        vectors = VectorStore(connect_qdrant(settings.qdrant_url, api_key, settings.data_dir))
        return cls(settings, registry, redis_client, vectors, build_embedder(settings), vault)

    # -- one configuration across processes ----------------------------------------------------------
    _CONFIG_VERSION = "misybot:config:version"
    # + the version a change starts from -> {"to": version after, "block": the company added}. Versions are
    # hashes of the file text, so an entry stays true whatever happens later; it expires with a day's margin.
    _CONFIG_CHANGE = "misybot:config:change:"
    _CHANGE_TTL_S = 86_400
    _MAX_REPLAY = 256                   # behind by more: parse the file

    def reload_config(self):
        """Reload companies_config.yaml here and tell every other process (they check on each request)."""
        snapshot = self.registry.reload()
        self.publish_config(snapshot)
        return snapshot

    def publish_config(self, snapshot, added: tuple | None = None) -> None:
        """Serve a snapshot of the file's current text here, and tell every other process. added=(the snapshot
        it was made from, the company block): others replay that one block instead of parsing the file."""
        self.registry.install(snapshot)
        if added is None:
            self.prefix_claims.note(c.redis_prefix for c in snapshot.companies.values())
        else:
            base, block = added
            self.redis.set(self._CONFIG_CHANGE + base.version, json.dumps({"to": snapshot.version, "block": block}),
                           ex=self._CHANGE_TTL_S)
        self.redis.set(self._CONFIG_VERSION, snapshot.version)

    def sync_config(self, force: bool = False) -> None:
        """If another process published a newer config version, follow it (at most once a second): by
        replaying the companies it added, else by reading the file again."""
        now = time.monotonic()
        if not force and now - self._config_checked < 1.0:
            return
        self._config_checked = now
        if not self._prefixes_noted:
            self._note_prefixes()
        version = self.redis.get(self._CONFIG_VERSION)
        if version and version != self.registry.snapshot.version and not self._replay(version):
            try:
                snapshot = self.registry.reload()
            except ConfigError as exc:     # a bad file keeps the current config serving
                logging.getLogger("misybot.config").error("config reload failed: %s", exc)
                return
            self.prefix_claims.note(c.redis_prefix for c in snapshot.companies.values())

    def _replay(self, version: str) -> bool:
        """Bring the registry to `version` through the published additions; False if they do not lead there."""
        base = snapshot = self.registry.snapshot
        for _ in range(self._MAX_REPLAY):
            raw = self.redis.get(self._CONFIG_CHANGE + snapshot.version)
            if raw is None:
                return False
            try:
                change = json.loads(raw)
                snapshot = snapshot.plus(change["block"], version=change["to"])
            except (ValueError, KeyError, TypeError, ConfigError):    # not replayable: the file decides
                return False
            if snapshot.version == version:
                return self.registry.install(snapshot, base=base)
        return False

    @property
    def dense_weight(self) -> float:
        if self.settings.hybrid_dense_weight is not None:
            return self.settings.hybrid_dense_weight
        return 1.0 if self.settings.use_openai_embeddings else OFFLINE_DENSE_WEIGHT

    def tenant_context(self, config: TenantConfig, principal: Principal) -> TenantContext:
        if not principal.is_platform_admin and principal.company_id != config.company_id:
            raise PermissionError("a principal can only open its own tenant")
        # The only place a tenant keyspace is made: everything tenant-scoped hangs off this context.
        keyspace = TenantKeyspace(self.redis, config.redis_prefix)
        index = KnowledgeIndex(self.vectors, config.vectorstore_index, config.company_id, config.language,
                               self.embedder, self.dense_weight)
        docs = DocumentService(config.company_id, keyspace, index, config.limits,
                               self.settings.chunk_tokens, self.settings.chunk_overlap_tokens)
        catalog = CatalogStore(keyspace)
        hooks = BookingWebhooks(keyspace, self.vault, config.booking.webhook_url)
        widget = WidgetChannel(keyspace, self.vault)
        bookings = BookingStore(keyspace, config, catalog, notify=partial(self._booking_changed, config, hooks, widget))
        conversations = ConversationStore(keyspace, config.memory,
                                          on_status=partial(self._conversation_status, config, widget))
        return TenantContext(config, principal, keyspace, index, docs, conversations, catalog, bookings,
                             ConsentStore(keyspace),
                             PlaceholderStore(keyspace, self.vault, config.memory.ttl_hours * 3600),
                             LearningOutbox(keyspace), TenantPlatformKeys(keyspace, config.company_id), widget)

    def chat_provider(self, config: TenantConfig) -> ChatProvider:
        """The tenant's chat provider, cached per (tenant, provider, model): clients keep connection pools."""
        key = (config.company_id, config.ai.provider, config.ai.model)
        with self._cache_lock:
            if key not in self._providers:
                self._providers[key] = build_provider(config.ai, self.settings)
            return self._providers[key]

    def meta_pipeline(self):
        """The meta worker's pipeline (app/workers/meta.py), with the platform LLM if one is set."""
        with self._cache_lock:
            if self._meta_pipeline is None:
                chat_model = None
                s = self.settings
                if s.meta_llm_model and (s.openai_base_url or s.openai_api_key):
                    chat_model = ChatOpenAI(model=s.meta_llm_model, base_url=s.openai_base_url,
                                            api_key=s.openai_api_key.get_secret_value() if s.openai_api_key
                                            else "not-needed", timeout=s.llm_timeout_s, max_retries=1)
                worker = Principal("platform_admin", None)
                self._meta_pipeline = MetaPipeline(self.registry, lambda config: self.tenant_context(config, worker),
                                                   self.global_knowledge, self.pseudonyms, chat_model)
            return self._meta_pipeline

    def schedule_client(self, config: TenantConfig):
        if not config.schedule_service_url:
            return None
        with self._cache_lock:
            url = config.schedule_service_url
            if url not in self._schedule_clients:
                self._schedule_clients[url] = ScheduleServiceClient(url)
            return self._schedule_clients[url]

    def _conversation_status(self, config: TenantConfig, widget: WidgetChannel, user_id: str, status: str,
                             reason: str | None) -> None:
        """A person took or gave back a conversation: the visitor's page hears it, and a website visitor's
        conversation opens in the company's Chatwoot inbox (app/channels/widget_bridge.py)."""
        status_to_widget(widget, user_id, status, reason)
        if status == "handoff":
            widget_bridge.on_handoff(self.redis, config, user_id, reason)

    def _booking_changed(self, config: TenantConfig, hooks: BookingWebhooks, widget: WidgetChannel,
                         event_type: str, booking: dict) -> None:
        """Every booking change: the company's signed webhook (when it has one), the customer's widget page
        (when the booking is a website visitor's) and an event for our observers."""
        if config.booking.webhook_url:
            hooks.enqueue(event_type, booking)
        user_id = (booking.get("customer") or {}).get("user_id")
        if user_id:
            widget.publish_for_user(user_id, "booking", {"event": event_type, "booking": widget_booking(booking)})
        self.events.emit(Event("booking", config.company_id, "ok",
                               fields={"event": event_type, "channel": booking.get("channel")}))

    def webhook_target(self, redis_prefix: str) -> tuple[str | None, bytes | None] | None:
        """For the webhook deliverer: the URL and signing secret of the company with this Redis prefix."""
        for company_id in self.registry.company_ids():
            config = self.registry.get(company_id)
            if config is not None and config.redis_prefix == redis_prefix:
                ctx = self.tenant_context(config, Principal("platform_admin", None))
                hooks = BookingWebhooks(ctx.keyspace, self.vault, config.booking.webhook_url)
                return config.booking.webhook_url, hooks.secret().encode()
        return None

    def close(self) -> None:
        for worker in self.background:
            worker.stop()
        self.vectors.close()
        self.redis.close()
