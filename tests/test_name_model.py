"""The learned name model (app/privacy/name_model.py): what it adds to the rules, what it may overrule, and the
rules alone when its weights are missing. Examples are new, none taken from the labeled sets."""
from __future__ import annotations

import json

import pytest

from app.privacy import name_model
from app.privacy.name_model import NameModel
from app.privacy.pii import anonymize, engine


@pytest.fixture(scope="module", autouse=True)
def pii_engine():
    return engine()


@pytest.fixture(autouse=True)
def shipped_model():
    name_model.reset()
    yield
    name_model.reset()


def _people(text: str, language: str) -> list[str]:
    return [text[s.start:s.end] for s in engine().detect(text, language) if s.entity_type == "PERSON"]


def test_the_shipped_weights_load():
    model = name_model.current()
    assert model is not None and len(model.weights) > 100
    assert 0 <= model.veto_below < model.add_above <= 1


@pytest.mark.parametrize("text,name", [
    ("Buenas tardes, soy Abril Quintana, tengo turno el lunes", "Abril Quintana"),   # a given name that is a month
    ("Gracias!! Luz", "Luz"),                                                        # a signature that is a word
])
def test_a_name_the_rules_miss_is_caught(text, name):
    name_model.use(None)
    assert _people(text, "es") == []                       # the rules alone let it through
    name_model.reset()
    assert _people(text, "es") == [name]
    assert name not in anonymize(text, "es")


def test_lowercase_pet_names_below_the_threshold_still_leak():
    # Known limit, pinned so a better model shows up here: "lupe" signs off in lowercase, without a closing word
    # right before it; the model gives it ~0.7, under its threshold (0.75).
    assert _people("gracias, nos vemos el jueves. lupe", "es") == []


def test_names_the_rules_find_are_kept():
    for text, lang, name in [("Hola, soy Fabiola Cárdenas, quiero reprogramar", "es", "Fabiola Cárdenas"),
                             ("mi prima fer también quiere cita", "es", "fer"),
                             ("see you tmrw, thx -jess", "en", "jess")]:
        assert name in _people(text, lang)


def test_everyday_capitalized_words_stay():
    for text, lang in [("Hola Buenas Tardes Quisiera Saber El Precio Del Botox", "es"),
                       ("Me encantó el Masaje Relajante Premium", "es"),
                       ("We loved the Golden Glow facial package", "en"),
                       ("Hola, ¿tienen parqueo cerca de Villa Crespo?", "es")]:
        assert _people(text, lang) == [], text


def _model(weights: dict[str, float], bias: float = 0.0) -> NameModel:
    return NameModel(weights=weights, bias=bias, veto_below=0.3, add_above=0.9, never_veto=frozenset({"strong_cue"}))


def test_a_weak_span_with_a_low_probability_is_vetoed():
    # "Charlotte NC" is a city the rules (spaCy + a known first name) take for a person
    text = "Do you ship to Charlotte NC?"
    name_model.use(None)
    assert _people(text, "en") == ["Charlotte NC"]
    name_model.use(_model({"p1=to": -5.0}))              # a place after "to": the model says no
    assert _people(text, "en") == []


def test_a_strong_cue_is_never_vetoed():
    name_model.use(_model({"p1=de": -9.0}, bias=-9.0))
    assert _people("la cita a nombre de Remedios Varo, por favor", "es") == ["Remedios Varo"]


def test_without_weights_the_rules_decide(tmp_path, monkeypatch):
    text = "Buenas tardes, soy Abril Quintana, tengo turno el lunes"
    monkeypatch.setattr(name_model, "MODEL_PATH", tmp_path / "missing.json")
    name_model.reset()
    assert name_model.current() is None
    assert _people(text, "es") == []
    assert _people("Hola, soy Fabiola Cárdenas, quiero reprogramar", "es") == ["Fabiola Cárdenas"]


@pytest.mark.parametrize("content", ["not json", json.dumps({"format": "other"}),
                                     json.dumps({"format": name_model.FORMAT, "bias": 0, "veto_below": 2,
                                                 "add_above": 0.5, "weights": {"x": 1}}),
                                     json.dumps({"format": name_model.FORMAT, "bias": 0, "veto_below": 0.1,
                                                 "add_above": 0.5, "weights": {}})])
def test_a_malformed_weights_file_falls_back_to_the_rules(tmp_path, monkeypatch, content):
    path = tmp_path / "name_model.json"
    path.write_text(content, encoding="utf-8")
    monkeypatch.setattr(name_model, "MODEL_PATH", path)
    name_model.reset()
    assert name_model.current() is None


def test_a_name_inside_a_span_cut_wide_is_not_vetoed_whole():
    # review: spaCy's span "Vamos Mercedes" scored below the veto line, and vetoing it whole leaked the name
    from app.privacy.pii import anonymize as anonymize_text
    for text in ("Vamos Mercedes y yo a la limpieza del sábado", "Vamos Hope y yo el viernes"):
        assert "Mercedes" not in str(anonymize_text(text, "es")) and "Hope" not in str(anonymize_text(text, "es"))
