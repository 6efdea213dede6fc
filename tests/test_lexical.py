from app.knowledge import glossary, lexical


def test_accents_do_not_matter():
    assert lexical.analyze("depilación láser", "es") == lexical.analyze("depilacion laser", "es")


def test_stemming_joins_inflections_and_stopwords_are_dropped():
    assert lexical.analyze("sesiones", "es") == lexical.analyze("sesión", "es")
    assert lexical.analyze("¿Cuánto dura la sesión de la limpieza?", "es") == \
        lexical.analyze("cuanto dura sesion limpieza", "es")


def test_thousand_separators_are_one_number():
    assert "850000" in lexical.analyze("$850.000 COP", "es")
    assert "1350" in lexical.analyze("$1,350 MXN", "es")


def test_english_stemmer_for_english_tenants():
    assert lexical.analyze("cleanings", "en") == lexical.analyze("cleaning", "en")


def test_glossary_maps_customer_words_to_business_words():
    assert "precio" in glossary.expand(lexical.fold("qué onda, cuánto sale el masaje?"))
    assert "endodoncia" in glossary.expand("how much is a root canal")
    assert glossary.expand("buenas tardes") == ""


def test_query_vector_weights_own_terms_above_expansions():
    indices, values = lexical.query_vector("cuanto sale el botox", "es")
    by_term = dict(zip(indices, values))
    own = lexical._index(lexical.analyze("botox", "es")[0])
    added = lexical._index(lexical.analyze("precio", "es")[0])
    assert by_term[own] == 1.0 and by_term[added] == 0.5


def test_document_vector_saturates_repeated_terms():
    idx, vals = lexical.document_vector("botox botox botox botox botox botox", "es")
    assert len(idx) == 1 and 1.0 < vals[0] < lexical.K1 + 1
