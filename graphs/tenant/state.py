"""What flows through a tenant's graph: the turn's state, and the runtime context that binds the
graph to exactly one tenant (its settings, its retriever, its booking store). Context is passed on
every invoke and never checkpointed, so nothing of one tenant can linger for the next."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from typing_extensions import TypedDict

from app.tenancy.config import TenantConfig
from graphs.llm import ChatProvider, Passage


class ScheduleUnavailable(RuntimeError):
    """The tenant's scheduling service failed; what the `schedule` port of the runtime raises (the app's
    client subclasses it), so the agents fall back to a pending request instead of failing the turn."""


class BookingRefused(Exception):
    """The booking engine refused a change (`code`: slot_taken, cancellation_window_passed, ...); what the
    `bookings` port raises (app/bookings/store.py subclasses it), so agents can answer it in words."""
    code = "booking_refused"


class TurnState(TypedDict, total=False):
    message: str
    history: list[dict]            # earlier turns of this conversation: {"role", "content", "agent"?}
    channel: str
    language: str                  # the language to answer in
    route: str
    route_reasons: list[str]
    answer: str
    sources: list[dict]
    handoff: bool
    handoff_reason: str | None
    booking: dict | None
    provider: str                  # which provider wrote the answer (retrieval | openai)
    llm_tokens: int                # tokens the answer cost at the LLM (counted against the plan)
    llm_fallback: str | None       # why an LLM answer was replaced by the retrieval-only one


@dataclass(frozen=True)
class TenantRuntime:
    tenant: TenantConfig
    user_id: str
    search: Callable[[str, int], Sequence[Passage]]     # bound to this tenant's collection only
    provider: ChatProvider
    bookings: Any                                       # BookingStore of this tenant (catalog, slots, drafts)
    schedule: Any = None                                # ScheduleServiceClient when configured
    router_llm: Any = None                              # optional LLM refinement of the route
