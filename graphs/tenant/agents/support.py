"""Support: hours, location, policies and aftercare from the tenant's knowledge base."""
from langgraph.runtime import Runtime

from graphs.tenant.agents.grounded import grounded_answer
from graphs.tenant.state import TenantRuntime, TurnState


def support(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    return grounded_answer(state, runtime, "support")
