"""The retrieval-only answer: every fact a multi-fact question asks for, and a FAQ's answer line.

The provider is exercised on its own (passages in, answer out) and end to end through the chat
endpoint (real index: embedded Qdrant, the offline embedder, the reranker)."""
import pytest

from graphs.llm import AnswerRequest, Passage, RetrievalOnlyProvider

PRICES = ("# Tarifas\n\n## Microdermoabrasión\n\nExfoliación mecánica con punta de diamante.\n\n"
          "- Precio: $210.000 COP por sesión\n- Duración: 50 minutos\n- Sesiones: 4, una cada 15 días\n\n"
          "## Mesoterapia facial\n\n- Precio: $330.000 COP por sesión\n- Duración: 40 minutos\n\n"
          "## Radiofrecuencia\n\n- Precio: $260.000 COP por sesión\n- Duración: 45 minutos")
FAQ = ("# Dudas frecuentes\n\n**1. ¿La radiofrecuencia sirve para la flacidez del cuello?**\n"
       "Sí, mejora la firmeza del cuello y la papada. Se notan cambios desde la tercera sesión y el resultado "
       "completo llega a los 3 meses, cuando el colágeno nuevo madura.\n\n"
       "**2. ¿Puedo ir al gimnasio después de la mesoterapia?**\n"
       "Espera 24 horas antes de hacer ejercicio intenso. Caminar y actividades suaves no tienen problema.")


def _ask(question: str, passages: list[Passage]) -> str:
    req = AnswerRequest(question=question, search_query=question, passages=passages, agent="sales",
                        language="es", tenant_language="es", company_name="Clínica Alpha", agent_name="Ana",
                        persona="cercano")
    answer = RetrievalOnlyProvider().answer(req)
    assert answer.grounded
    return answer.text


def test_multi_fact_question_gets_price_and_duration_of_the_same_service():
    text = _ask("cuánto cuesta y cuánto dura la radiofrecuencia?",
                [Passage("p", "Tarifas", PRICES, 1.0), Passage("f", "Dudas", FAQ, 0.5)])
    assert "$260.000" in text and "45 minutos" in text
    assert "$330.000" not in text          # not the price of another service


def test_faq_is_answered_with_its_answer_line_not_only_the_question():
    text = _ask("se puede ir al gym despues de la mesoterapia?",
                [Passage("f", "Dudas", FAQ, 1.0), Passage("p", "Tarifas", PRICES, 0.5)])
    assert "Espera 24 horas" in text


def test_long_faq_answer_quotes_the_sentences_that_answer():
    text = _ask("en cuanto tiempo veo el resultado completo de la radiofrecuencia en el cuello?",
                [Passage("f", "Dudas", FAQ, 1.0)])
    assert "3 meses" in text and "Sí, mejora la firmeza" in text     # the matching sentence and the direct answer


def test_nothing_relevant_is_the_honest_answer():
    req = AnswerRequest(question="tienen servicio de taxi?", search_query="tienen servicio de taxi?",
                        passages=[Passage("p", "Tarifas", PRICES, 1.0)], agent="support", language="es",
                        tenant_language="es", company_name="Clínica Alpha", agent_name="Ana", persona="cercano")
    assert not RetrievalOnlyProvider().answer(req).grounded


@pytest.fixture
def key(client, issue_key):
    k = issue_key("alpha", ["chat", "documents:write"])
    for title, doc in (("Tarifas", PRICES), ("Dudas frecuentes", FAQ)):
        r = client.post("/documents", json={"title": title, "content": doc}, headers={"X-API-Key": k})
        assert r.status_code == 201, r.get_json()
    return k


def _say(client, key, text, user):
    r = client.post(f"/conversations/{user}/test", json={"message": text, "channel": "web"},
                    headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["bot_response"]


def test_end_to_end_multi_fact_and_faq_answers(client, key):
    both = _say(client, key, "cuanto vale la microdermoabrasion y cuanto dura la sesion?", "u-multi")
    assert "$210.000" in both and "50 minutos" in both
    faq = _say(client, key, "despues de la mesoterapia puedo ir al gimnasio?", "u-faq")
    assert "24 horas" in faq


# -- the kind of fact asked for, business questions, abbreviations (new wording of our own) -----------
PLACE = ("# Dónde estamos\n\n## Dirección\n\nEstamos en Av. Los Leones 450, piso 3, Providencia. "
         "Hay ascensor desde el estacionamiento.\n\n## Horario\n\n- Lunes a viernes: 9:00 a 19:00.\n"
         "- Sábados: 10:00 a 14:00.")
EUROS = ("# Tarifas\n\n## Peeling médico\n\nRenueva la piel con ácidos suaves y mejora la textura.\n\n"
         "- Tarifa: 95 € por sesión\n- Duración: 30 minutos")


def test_price_question_quotes_the_amount_not_only_the_description():
    text = _ask("oye y el peeling medico q precio tiene?", [Passage("e", "Tarifas", EUROS, 1.0)])
    assert "95 €" in text


def test_where_question_quotes_the_address_whole():
    text = _ask("donde quedan ustedes?", [Passage("d", "Dónde estamos", PLACE, 1.0)])
    assert "Av. Los Leones 450" in text          # not cut after "Av."


def test_hours_question_quotes_the_hours_line():
    text = _ask("los sabados hasta q hora atienden?", [Passage("d", "Dónde estamos", PLACE, 1.0)])
    assert "10:00 a 14:00" in text


def test_a_bare_price_question_without_topic_is_not_answered_with_any_price():
    req = AnswerRequest(question="cuanto cuesta?", search_query="cuanto cuesta?",
                        passages=[Passage("e", "Tarifas", EUROS, 1.0)], agent="sales", language="es",
                        tenant_language="es", company_name="Clínica Alpha", agent_name="Ana", persona="cercano")
    assert not RetrievalOnlyProvider().answer(req).grounded


# -- round 3: the topic said once, in the section's lead line or the sentence before ---------------------
SERVICES = ("# Servicios\n\n## Microagujas\n\nDermapen con ácido hialurónico para poros y cicatrices.\n\n"
            "- Precio: $300.000 COP por sesión\n- Duración: 50 minutos\n\n"
            "## Hidrafacial\n\nLimpieza profunda con succión y sueros.\n\n- Precio: $240.000 COP por sesión")
FACILITIES = ("# Instalaciones\n\n## Vestidores\n\nTenemos casilleros con candado en el vestidor para guardar tus cosas "
              "durante toda la visita, con atención del personal. El uso cuesta $30 MXN por visita, sin límite "
              "de tiempo.")
AFTERCARE = ("# Cuidados\n\n## Láser de axilas\n\n- No uses desodorante con alcohol en las axilas por 24 horas tras "
             "el láser.\n- Evita el sol directo en las axilas durante 7 días después del láser.")
LASER_PRICES = "# Tarifas\n\n## Depilación láser\n\n- Axilas: $90.000 COP por sesión\n- Piernas: $250.000 COP por sesión"


def test_price_line_under_a_service_named_only_in_its_description():
    text = _ask("cuánto sale el dermapen?", [Passage("s", "Servicios", SERVICES, 1.0)])
    assert "$300.000" in text and "$240.000" not in text


def test_price_sentence_whose_topic_is_the_sentence_before():
    text = _ask("cuanto cobran por los casilleros?", [Passage("i", "Instalaciones", FACILITIES, 1.0)])
    assert "$30 MXN" in text


def test_the_asked_kind_of_fact_beats_lines_that_only_share_the_topic():
    text = _ask("precio del laser de axilas", [Passage("c", "Cuidados", AFTERCARE, 1.0),
                                               Passage("t", "Tarifas", LASER_PRICES, 0.5)])
    assert "$90.000" in text


# -- round 4: short sentences keep their next one, bare price questions, stem vowels ---------------------
IMPLANTS = ("# Tarifas\n\n## Carillas\n\n- **Carilla de resina por pieza:** $95.000. Incluye el pulido final y un "
            "control al mes sin costo adicional para revisar el borde y el color de la pieza.")
DEPOSITS = ("# Condiciones\n\n## Depósito\n\n- El depósito es del 20% del valor del tratamiento.\n"
            "- Si no asistes sin avisar, vas a perder el depósito.")
MASSAGES = ("# Masajes\n\n## Masaje con piedras calientes\n\nBasalto caliente sobre la espalda y las piernas.\n\n"
            "- Precio: $1,300 MXN\n- Duración: 75 minutos")


def test_a_short_sentence_of_a_long_line_keeps_the_next_one():
    text = _ask("cuanto cuesta la carilla de resina?", [Passage("t", "Tarifas", IMPLANTS, 1.0)])
    assert "$95.000. Incluye el pulido final" in text       # the amount and what it includes, together


def test_a_price_asked_without_its_verb_quotes_the_price():
    text = _ask("cuanto el masaje con piedras calientes", [Passage("m", "Masajes", MASSAGES, 1.0)])
    assert "$1,300 MXN" in text and "75 minutos" not in text


def test_a_diphthong_of_the_question_meets_the_plain_vowel_of_the_document():
    # "pierdo" / "perder": the line that answers, not the one that only shares "depósito".
    text = _ask("pierdo el depósito?", [Passage("c", "Condiciones", DEPOSITS, 1.0)])
    assert "perder el depósito" in text and "20%" not in text
