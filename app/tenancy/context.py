"""TenantContext: the only door to one tenant's settings, Redis keyspace, collection and documents.

It is built from a Principal that authentication produced, never from an id taken from the request.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.conversations.bookings import BookingStore
from app.conversations.history import ConversationStore
from app.knowledge.documents import DocumentService
from app.knowledge.index import KnowledgeIndex
from app.privacy.consent import ConsentStore
from app.privacy.learning_outbox import LearningOutbox
from app.privacy.placeholder_store import PlaceholderStore
from app.security.principal import Principal
from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import TenantConfig


@dataclass(frozen=True)
class TenantContext:
    config: TenantConfig
    principal: Principal
    keyspace: TenantKeyspace
    knowledge: KnowledgeIndex
    documents: DocumentService
    conversations: ConversationStore
    bookings: BookingStore
    consent: ConsentStore
    placeholders: PlaceholderStore        # the conversation's <PERSON_1> mappings (encrypted)
    outbox: LearningOutbox                # consented questions waiting for the meta worker

    @property
    def company_id(self) -> str:
        return self.config.company_id
