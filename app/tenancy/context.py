"""TenantContext: the only door to one tenant's settings, Redis keyspace, collection and documents.

It is built from a Principal that authentication produced, never from an id taken from the request.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.conversations.bookings import BookingStore
from app.conversations.history import ConversationStore
from app.knowledge.documents import DocumentService
from app.knowledge.index import KnowledgeIndex
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

    @property
    def company_id(self) -> str:
        return self.config.company_id
