"""The LLM answer guard: a price, duration or phone number that no passage (nor the question) holds
sends the turn back to the retrieval-only answer."""
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from graphs.answer_guard import stated_figures, unsupported_figures
from graphs.llm import AnswerRequest, OpenAIChatProvider, Passage

PRICES = ("## Bótox\n- Precio: $850.000 COP por tres zonas\n- Duración: 30 minutos\n"
          "## Contacto\nWhatsApp +57 310 555 0143")
PASSAGES = [Passage("d1", "Precios", PRICES, 1.0)]


def _req(question="¿cuánto vale el bótox y cuánto dura?"):
    return AnswerRequest(question, question, PASSAGES, "sales", "es", "es", "Clínica Alpha", "Ana", "cercana")


@pytest.mark.parametrize("answer,kinds", [
    ("El bótox cuesta $850.000 COP [1].", ["price"]),
    ("Son 850.000 pesos y dura 30 minutos.", ["price", "duration"]),
    ("Escríbenos al 310-555-0143 o a +57 (310) 555 0143.", ["phone", "phone"]),
    ("It costs USD 240 and takes 1.5 hours.", ["price", "duration"]),
    ("Te esperamos en la sede 2, piso 3 [2].", []),
], ids=["price-cop", "price-and-duration", "phones", "english", "no-figures"])
def test_the_figures_an_answer_states(answer, kinds):
    assert [f.kind for f in stated_figures(answer)] == kinds


@pytest.mark.parametrize("answer", [
    "El bótox cuesta $850.000 COP por tres zonas [1].",
    "Cuesta 850000 COP y la sesión dura 30 min.",
    "Agenda por WhatsApp al 310 555 0143.",
    "Para 2 zonas no tengo precio; por tres zonas son $850.000.",
], ids=["exact", "other-separators", "phone-without-prefix", "number-from-question-context"])
def test_figures_from_the_passages_pass(answer):
    assert unsupported_figures(answer, [PRICES], "¿y para 2 zonas?") == []


@pytest.mark.parametrize("answer,invented", [
    ("El bótox cuesta $450.000 COP [1].", "450000"),
    ("La sesión dura 45 minutos.", "45"),
    ("Llámanos al 601 555 9999.", "6015559999"),
    ("Cuesta $850.000 y hay 20% de descuento pagando 680.000 COP.", "680000"),
], ids=["invented-price", "invented-duration", "invented-phone", "one-of-two-invented"])
def test_invented_figures_are_caught(answer, invented):
    assert [f.digits for f in unsupported_figures(answer, [PRICES])] == [invented]


def test_an_llm_answer_with_an_invented_price_falls_back_to_the_passages():
    model = GenericFakeChatModel(messages=iter([AIMessage("¡Claro! El bótox cuesta $450.000 COP y dura 45 minutos [1].")]))
    ans = OpenAIChatProvider("m", None, None, chat_model=model).answer(_req())
    assert ans.provider == "retrieval" and ans.fallback_reason == "UngroundedAnswer"
    assert "$850.000" in ans.text and "450.000" not in ans.text


def test_a_grounded_llm_answer_is_kept():
    model = GenericFakeChatModel(messages=iter([AIMessage("Cuesta $850.000 COP por tres zonas y dura 30 minutos [1].")]))
    ans = OpenAIChatProvider("m", None, None, chat_model=model).answer(_req())
    assert ans.provider == "openai" and ans.text.startswith("Cuesta $850.000")
