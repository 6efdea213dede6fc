"""Graph level: an LLM may refine an unsure offline route, and can never lower an emergency."""
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from app.bookings.store import BookingStore
from app.storage.redis_store import TenantKeyspace
from app.tenancy.registry import load_companies_file
from graphs.llm import LLMRouter, RetrievalOnlyProvider
from graphs.tenant.graph import run_turn
from graphs.tenant.state import TenantRuntime
from tests.conftest import FIXTURES


class ToolFake(GenericFakeChatModel):
    """GenericFakeChatModel cannot bind tools; structured output only needs the call to go through."""
    def bind_tools(self, tools, **kw):
        return self


def _route_call(agent):
    return AIMessage("", tool_calls=[{"name": "RouteChoice", "args": {"agent": agent}, "id": "c1"}])


def _runtime(redis_client, router_llm):
    tenant = load_companies_file(FIXTURES / "companies_test.yaml").companies["alpha"]
    return TenantRuntime(tenant=tenant, user_id="g1", search=lambda q, k: [], provider=RetrievalOnlyProvider(),
                         bookings=BookingStore(TenantKeyspace(redis_client, tenant.redis_prefix)),
                         router_llm=router_llm)


def test_llm_refines_an_unsure_route(redis_client):
    calls = []

    def router(message, history):
        calls.append(message)
        return LLMRouter(ToolFake(messages=iter([_route_call("human")])), "Alpha")(message, history)

    out = run_turn(_runtime(redis_client, router), "mmm no sé, lo de la otra vez", [], "web")
    assert calls and out["route"] == "human" and "llm:human" in out["route_reasons"]


def test_llm_never_lowers_an_emergency(redis_client):
    def router(message, history):
        raise AssertionError("the LLM must not be asked once the rules found an emergency")

    out = run_turn(_runtime(redis_client, router), "no puedo respirar desde el relleno", [], "web")
    assert out["route"] == "emergency" and out["handoff"] is True


def test_llm_router_failure_keeps_the_offline_route(redis_client):
    def router(message, history):
        raise TimeoutError("slow model")

    out = run_turn(_runtime(redis_client, router), "mmm no sé, lo de la otra vez", [], "web")
    assert out["route"] in ("sales", "support", "schedule", "availability", "human")
