"""TenantContext: the only door to one tenant's settings, Redis keyspace, collection and documents.

It is built by `Platform.tenant_context` from a Principal that authentication produced (or an explicit
platform-admin principal for scripts and workers), never from an id taken from the request. Every
tenant-scoped store is a field here, and tests/test_isolation_conformance.py runs its isolation tests
against each of them: a new store field fails that suite until it has a conformance adapter.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.bookings.catalog import CatalogStore
from app.bookings.store import BookingStore
from app.channels.widget_channel import WidgetChannel
from app.conversations.history import ConversationStore
from app.knowledge.documents import DocumentService
from app.knowledge.index import KnowledgeIndex
from app.privacy.consent import ConsentStore
from app.privacy.learning_outbox import LearningOutbox
from app.privacy.placeholder_store import PlaceholderStore
from app.security.principal import Principal
from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import TenantConfig
from app.tenancy.platform_keys import TenantPlatformKeys


@dataclass(frozen=True)
class TenantContext:
    config: TenantConfig
    principal: Principal
    keyspace: TenantKeyspace
    knowledge: KnowledgeIndex
    documents: DocumentService
    conversations: ConversationStore
    catalog: CatalogStore                 # services and professionals with their hours
    bookings: BookingStore                # appointments, pending requests, chat drafts
    consent: ConsentStore
    placeholders: PlaceholderStore        # the conversation's <PERSON_1> mappings (encrypted)
    outbox: LearningOutbox                # consented questions waiting for the meta worker
    platform_keys: TenantPlatformKeys     # the platform's lookups of its credentials, its migration log
    widget: WidgetChannel                 # website visitors' event streams, idempotent answers, details

    @property
    def company_id(self) -> str:
        return self.config.company_id
