"""Sales: services, prices and promotions from the tenant's knowledge base, under its persona."""
from langgraph.runtime import Runtime

from graphs.tenant.agents.grounded import grounded_answer
from graphs.tenant.state import TenantRuntime, TurnState


def sales(state: TurnState, runtime: Runtime[TenantRuntime]) -> dict:
    out = grounded_answer(state, runtime, "sales")
    # First turn: introduce the persona by name (an LLM is told its name and does this itself).
    if not state.get("history") and out.get("provider") == "retrieval":
        name = runtime.context.tenant.sales_agent_name
        hello = f"¡Hola! Soy {name}. " if state.get("language", "es") == "es" else f"Hi! I'm {name}. "
        out["answer"] = hello + out["answer"]
    return out
