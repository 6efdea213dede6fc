"""A learning of the global collection as the meta-agent's graphs see it, and what they need of the
collection (app/knowledge/global_knowledge.py implements it; it arrives through the runtime context)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Learning:
    id: str
    payload: dict
    score: float = 0.0

    def public(self) -> dict:
        """What an admin sees: never contributor pseudonyms."""
        p = self.payload
        return {"id": self.id, "text": p["text"], "industry": p["industry"], "language": p.get("language"),
                "count": p["count"], "answered": p["answered"], "unanswered": p["unanswered"],
                "sources": len(p.get("sources", [])), "status": p["status"], "status_by": p.get("status_by"),
                "first_seen": p.get("first_seen"), "last_seen": p.get("last_seen"),
                "score": round(self.score, 4)}


class LearningStore(Protocol):
    def candidates(self, text: str, language: str, industry: str, limit: int = 5) -> list[Learning]: ...

    def search(self, query: str, k: int, industry: str | None = None, statuses=None,
               language: str = "es") -> list[Learning]: ...

    def list(self, industry: str | None = None, statuses=None, contributor: str | None = None,
             limit: int = 10_000) -> list[Learning]: ...

    def insert(self, text: str, industry: str, language: str, answered: bool, source: str, contributor: str,
               status: str = "pending") -> Learning: ...

    def merge(self, learning: Learning, text: str, answered: bool, source: str, contributor: str) -> dict: ...

    def save_payload(self, learning_id: str, payload: dict) -> None: ...
