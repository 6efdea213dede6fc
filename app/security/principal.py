"""Who is calling, as proven by a credential."""
from __future__ import annotations

from dataclasses import dataclass, field

# Tenant permissions. `admin` includes every other one.
DOCUMENTS_READ = "documents:read"
DOCUMENTS_WRITE = "documents:write"
CHAT = "chat"
BOOKINGS_READ = "bookings:read"
BOOKINGS_WRITE = "bookings:write"
ADMIN = "admin"
TENANT_PERMISSIONS = frozenset({DOCUMENTS_READ, DOCUMENTS_WRITE, CHAT, BOOKINGS_READ, BOOKINGS_WRITE, ADMIN})


@dataclass(frozen=True)
class Principal:
    kind: str                        # "api_key", "platform_admin"; later "tenant_token", "hmac", "widget"
    company_id: str | None           # None only for the platform admin
    permissions: frozenset[str] = field(default_factory=frozenset)
    credential_id: str | None = None

    @property
    def is_platform_admin(self) -> bool:
        return self.kind == "platform_admin"

    def allows(self, permission: str) -> bool:
        return self.is_platform_admin or ADMIN in self.permissions or permission in self.permissions
