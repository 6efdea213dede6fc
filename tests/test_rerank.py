"""The reranking stage: heading, FAQ-question and service-name matches come first.

Unit tests feed candidates in a deliberately poor fused order; the end-to-end test goes through the
real index (embedded Qdrant, the offline embedder) and the HTTP search endpoint."""
from dataclasses import dataclass

from app.knowledge import rerank


@dataclass(frozen=True)
class Doc:
    title: str
    content: str


PRICES = Doc("Tarifas", "## Microdermoabrasión\n\n- Precio: $210.000 COP por sesión\n- Duración: 50 minutos\n\n"
                        "## Mesoterapia facial\n\n- Precio: $330.000 COP por sesión\n- Duración: 40 minutos")
CAPILAR = Doc("Tarifas capilares", "## Mesoterapia capilar\n\nVitaminas en el cuero cabelludo contra la caída.\n\n"
                                   "- Precio: $260.000 COP por sesión\n- Duración: 35 minutos")
FAQ = Doc("Dudas", "**4. ¿Cuántas sesiones de mesoterapia capilar necesito?**\nEntre 4 y 6, una cada 15 días.\n\n"
                   "**5. ¿Se puede hacer con el cabello teñido?**\nSí, el tinte no interfiere.")
POLICY = Doc("Políticas", "## Cancelaciones\n\nAvisa con 24 horas. Las sesiones de mesoterapia y de "
                          "microdermoabrasión se pueden reprogramar una vez sin costo.")


def test_sections_split_on_headings_and_faq_questions():
    secs = rerank.sections(FAQ.content)
    assert [s.heading for s in secs] == ["¿Cuántas sesiones de mesoterapia capilar necesito?",
                                         "¿Se puede hacer con el cabello teñido?"]
    assert all(s.is_question for s in secs)
    assert secs[0].lines == ("Entre 4 y 6, una cada 15 días.",)
    body = rerank.sections("texto suelto antes\n# Título\nlínea")
    assert body[0].heading == "" and body[1].heading == "Título" and not body[1].is_question


def test_service_name_in_heading_beats_a_better_fused_rank():
    # Fusion put the general price list first; the question names the capillary service.
    ranked = rerank.rerank("cuanto vale la mesoterapia capilar?", [PRICES, POLICY, CAPILAR], "es")
    assert ranked[0] is CAPILAR


def test_faq_question_match_comes_first():
    ranked = rerank.rerank("cuantas sesiones de mesoterapia para el pelo necesito", [POLICY, PRICES, CAPILAR, FAQ],
                           "es")
    assert ranked[0] is FAQ


def test_title_and_heading_decide_between_same_words():
    ranked = rerank.rerank("si cancelo la cita de microdermoabrasion me cobran?", [PRICES, POLICY], "es")
    assert ranked[0] is POLICY


def test_no_query_terms_keeps_the_fused_order():
    cands = [POLICY, PRICES, FAQ]
    assert rerank.rerank("hola buenas", cands, "es") == cands
    assert rerank.rerank("", [], "es") == []


def test_end_to_end_search_puts_the_matching_section_first(client, app, issue_key):
    key = issue_key("alpha")
    docs = {
        "Tarifas": PRICES.content + "\n\n## Peeling\n\n- Precio: $280.000 COP por sesión\n- Duración: 40 minutos",
        "Tarifas capilares": CAPILAR.content,
        "Dudas": FAQ.content,
        "Políticas": POLICY.content,
    }
    for title, content in docs.items():
        r = client.post("/documents", json={"title": title, "content": content}, headers={"X-API-Key": key})
        assert r.status_code == 201, r.get_json()

    def top(query):
        r = client.post("/documents/search", json={"query": query, "k": 3}, headers={"X-API-Key": key})
        assert r.status_code == 200
        return r.get_json()["results"]

    assert "$260.000" in top("y la mesoterapia del cuero cabelludo cuanto cuesta?")[0]["content"]
    assert "Entre 4 y 6" in top("cuantas sesiones de mesoterapia capilar hay q hacerse")[0]["content"]
    assert "reprogramar" in top("puedo cambiar la fecha de la microdermoabrasion?")[0]["content"]
    results = top("mesoterapia capilar precio")
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


# -- concepts and answer types (new customer wording, not from the bench sets) ------------------------
CARE = Doc("Cuidados", "## Microdermoabrasión\n\n- No uses maquillaje durante 12 horas.\n- Evita exfoliantes por 3 días.")
HOURS = Doc("Horarios", "## Horario\n\n- Lunes a viernes: 9:00 a 18:00.\n- Sábados: 9:00 a 13:00.")
RULES = Doc("Políticas", "## Sábados\n\nLos sábados solo se atienden valoraciones, nunca procedimientos largos.")
MASSAGE = Doc("Servicios", "## Masaje descontracturante\n\nPresión firme en espalda y cuello.\n\n"
                           "- 60 minutos: $900\n- 90 minutos: $1,200")
MASSAGE_CARE = Doc("Cuidados", "## Masaje descontracturante\n\nBebe agua y descansa una hora antes de entrenar.")


def test_price_question_prefers_the_line_with_an_amount():
    # Both sections name the service; only one shows a price.
    assert rerank.rerank("oigan y la microdermo cuanto me cobran??", [CARE, PRICES], "es")[0] is PRICES


def test_schedule_question_prefers_clock_times():
    assert rerank.rerank("what time do you close on saturday?", [RULES, HOURS], "es")[0] is HOURS


def test_a_spoken_duration_meets_the_written_one():
    # "una hora" is "60 minutos" in a price list; a plain "hora" elsewhere is not the same thing.
    ranked = rerank.rerank("cuanto sale el descontracturante de una hora", [MASSAGE_CARE, MASSAGE], "es")
    assert ranked[0] is MASSAGE


def test_answer_types_read_currency_and_ask_forms():
    assert [a.name for a in rerank.answer_types("cuánto cuesta y cuánto dura?")] == ["money", "span"]
    assert [a.name for a in rerank.answer_types("en qué calle quedan?")] == ["place"]
    model = rerank.QueryModel("precio del peeling", "es")
    assert "<money>" in model.terms("Tarifa: 90 € por sesión")
    assert "<money>" in model.terms("Precio: $1,350 MXN")
    assert "<money>" not in model.terms("Duración: 90 minutos")


def test_a_word_with_many_synonyms_counts_once():
    model = rerank.QueryModel("botox", "es")
    assert len(model.concepts) == 1         # botox / bótox / toxina botulínica: one concept, not three terms


# -- round 3: general classes of question the glossary and the reader now cover -------------------------
DEPOSIT = Doc("Condiciones", "## Reserva de turnos\n\n- Para confirmar el turno de microdermoabrasión pedimos un abono "
                             "del 20%.\n- El abono se descuenta del total.")
PAYMENT = Doc("Pagos", "## Medios de pago\n\n- Tarjeta, efectivo o transferencia.\n- La microdermoabrasión se paga "
                       "al terminar la sesión.")
WARRANTY = Doc("Garantías", "## Garantía de coronas\n\n- Las coronas de porcelana tienen garantía de 2 años si "
                            "asistes a tus controles.")
CROWN_PRICES = Doc("Aranceles", "## Coronas\n\n- Corona de porcelana: $380.000\n- Corona metal-porcelana: $290.000")


def test_regional_words_for_a_deposit_find_the_deposit_section():
    # Spain's "señal" or "fianza", Argentina's "seña", "separar" / "apartar" a slot: all the deposit.
    for q in ("hay que dejar señal para la microdermoabrasion?", "se deja una seña para el turno?",
              "piden fianza para la microdermoabrasion?", "cuanto hay que dejar para apartar la microdermoabrasion?"):
        assert rerank.rerank(q, [PAYMENT, DEPOSIT], "es")[0] is DEPOSIT, q


def test_everyday_english_words_reach_the_spanish_section():
    assert rerank.rerank("do crowns come with a warranty?", [CROWN_PRICES, WARRANTY], "es")[0] is WARRANTY


def test_spelling_alternations_of_a_verb_read_alike():
    # "no te rasques" / "rascarme", "no pagues" / "pagar": c/qu and g/gu before the ending.
    assert set(rerank.analyze("no te rasques", "es")) <= set(rerank.analyze("puedo rascarme", "es"))
    assert set(rerank.analyze("no pagues", "es")) == set(rerank.analyze("pagar", "es"))
    # Spain's "vosotros" ("¿me cobráis?", "¿me lo descontáis?") is the verb the other persons stem to.
    assert rerank.analyze("me cobráis", "es") == rerank.analyze("me cobran", "es")
    assert rerank.analyze("descontáis", "es") == rerank.analyze("descontar", "es")
    # ...but not inside a stem: "quitar" is not "cita".
    assert not set(rerank.analyze("quitarme", "es")) & set(rerank.analyze("cita", "es"))


def test_english_fillers_are_not_topics():
    owns = {t for c in rerank.concepts("can I get a facial while on my period?", "es") for t in c.own}
    assert not owns & set(rerank.analyze("get while", "es"))


# -- round 4: the learned scorer, its features, and general question forms ------------------------------
def test_stem_vowel_diphthongs_read_alike():
    # "cuesta" / "costo", "pierdo" / "perder", "devuelven" / "devolver", "cierran" / "cerrado".
    for a, b in (("cuesta", "costo"), ("pierdo", "perder"), ("devuelven", "devolver"), ("cierran", "cerrado"),
                 ("me descuentan", "descontar")):
        assert set(rerank.analyze(a, "es")) & set(rerank.analyze(b, "es")), (a, b)
    # The silent u of "que" / "gue" is no diphthong.
    assert rerank.analyze("pague", "es") == rerank.analyze("pagar", "es")


def test_general_question_forms_ask_for_their_kind_of_fact():
    kinds = {q: [a.name for a in rerank.answer_types(q)] for q in (
        "cuanto el peeling de diamante", "cuantas lucas la ortodoncia", "cada cuanto me hago la mesoterapia",
        "how often should I book a facial", "quién me pone la inyección", "en qué planta está la consulta")}
    assert kinds["cuanto el peeling de diamante"] == ["money"]
    assert kinds["cuantas lucas la ortodoncia"] == ["money"]
    assert kinds["cada cuanto me hago la mesoterapia"] == ["frequency"]
    assert kinds["how often should I book a facial"] == ["frequency"]
    assert kinds["quién me pone la inyección"] == ["person"]
    assert kinds["en qué planta está la consulta"] == ["place"]
    model = rerank.QueryModel("en qué planta está la consulta", "es")
    assert "<place>" in model.terms("Paseo de Gracia 12, 3º, Barcelona")
    assert "<place>" in model.terms("Estamos en la tercera planta")


SESSIONS = Doc("Servicios", "## Mesoterapia facial\n\nVitaminas en la piel.\n\n- Precio: $330.000 COP\n"
                            "- Se repite cada 3 a 4 semanas, 5 sesiones en total.")
STAFF = Doc("Equipo", "## Nuestro equipo\n\nLa Dra. Ruiz, dermatóloga, hace todas las aplicaciones.")
MESO_CARE = Doc("Cuidados", "## Mesoterapia facial\n\nNo te maquilles en 12 horas y evita el sol dos días.")


def test_frequency_and_person_questions_prefer_the_line_with_that_fact():
    assert rerank.rerank("cada cuanto toca la mesoterapia facial?", [MESO_CARE, SESSIONS], "es")[0] is SESSIONS
    assert rerank.rerank("quien hace las aplicaciones de mesoterapia?", [MESO_CARE, STAFF], "es")[0] is STAFF


def test_features_are_one_row_per_candidate_and_say_nothing_of_which_document():
    rows = rerank.candidate_features("cuanto vale la mesoterapia capilar?", [PRICES, POLICY, CAPILAR], "es")
    assert len(rows) == 3 and all(len(r) == len(rerank.FEATURES) for r in rows)
    # The same chunk under another title and in another pool position differs only by what it says.
    renamed = Doc("Otra clínica", CAPILAR.content)
    again = rerank.candidate_features("cuanto vale la mesoterapia capilar?", [renamed, PRICES, POLICY], "es")
    same = [f for f in rerank.FEATURES if f not in ("fused", "fused_top", "title", "hand", "bm25", "meaning")]
    assert [rows[2][rerank.FEATURES.index(f)] for f in same] == [again[0][rerank.FEATURES.index(f)] for f in same]


def test_shipped_weights_match_the_features():
    assert rerank.LEARNED is not None and len(rerank.LEARNED) == len(rerank.FEATURES)


def test_weights_of_other_features_fall_back_to_the_hand_score(tmp_path):
    stale = tmp_path / "w.json"
    stale.write_text('{"features": ["fused", "gone"], "weights": [1.0, 2.0]}')
    assert rerank.load_learned(stale) is None
    assert rerank.load_learned(tmp_path / "missing.json") is None
    for broken in ('{"features": ["fused"', "[1, 2]"):        # cut short, or not an object
        stale.write_text(broken)
        assert rerank.load_learned(stale) is None


def test_learned_and_hand_scores_agree_on_a_plain_case():
    query = "cuanto vale la mesoterapia capilar?"
    for learned in (True, False):
        scores = rerank.score_candidates(query, [PRICES, POLICY, CAPILAR], "es", learned=learned)
        assert max(range(3), key=scores.__getitem__) == 2, learned


def test_training_learns_the_feature_that_separates_relevant_from_not():
    from app.knowledge.rerank_training import LabelledPool, evaluate, train

    width = len(rerank.FEATURES)
    heading = rerank.FEATURES.index("heading")

    def pool(i: int) -> LabelledPool:
        # Fusion puts the relevant candidate last; only its heading match tells it apart.
        rows = [[1 / (r + 2), float(r == 0)] + [0.0] * (width - 2) for r in range(4)]
        rows[3][heading] = 0.5 + 0.1 * (i % 3)
        return LabelledPool("s", "t", rows, [False, False, False, True])

    pools = [pool(i) for i in range(12)]
    weights = train(pools)
    assert weights[heading] > 0
    assert evaluate(pools, weights)["hit@1"] == 1.0
    assert evaluate(pools, None)["hit@1"] == 0.0       # the hand score sees no heading in these rows
