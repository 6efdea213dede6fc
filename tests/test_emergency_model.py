"""The learned second opinion on emergencies (graphs/tenant/emergency_model.py): it hands off dangers said in
words the rules do not list, stays quiet on ordinary chat and where the rules saw a calming cue, never trains
on the held-out set, and the rules decide alone when no training file ships. The messages are ours, written
for these tests, not taken from any bench set."""
from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import pytest

from graphs.tenant import emergency_model
from graphs.tenant.emergency import assess
from graphs.tenant.router import route_message

ROOT = Path(__file__).resolve().parent.parent

# Dangers the rules do not name: a swelling that keeps growing under a thread lift, someone who does not answer
# properly after anaesthesia, a face that heats and tightens by the hour, an eye that no longer closes.
UNLISTED_DANGERS = [
    "desde el hilo tensor siento la mejilla tirante, caliente y cada vez más abultada",
    "a mi abuela le pusieron la anestesia y ahora la veo rara, no me contesta bien",
    "after the microneedling my face is getting hotter and tighter by the hour",
    "tengo el ojo izquierdo que no cierra del todo desde el botox de la frente",
]
ORDINARY = [
    "mi pedido no llega desde el lunes",
    "estoy en la esquina con la 10 y no encuentro la entrada",
    "my order number is 55321, still waiting since friday",
    "hola, soy Marta, quería saber el precio del peeling",
    "me bloquearon la cuenta desde la IP 190.14.22.8, ¿me ayudan?",
    "and where are u guys?",
]


@pytest.mark.parametrize("text", UNLISTED_DANGERS)
def test_a_danger_the_rules_do_not_name_is_handed_off_by_the_model(text):
    assert not assess(text).is_emergency                # the rules alone would miss it
    route = route_message(text)
    assert route.agent == "emergency" and route.reasons == ("emergency_model",)
    assert route.confidence >= emergency_model.SURE


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_chat_is_not_an_emergency(text):
    assert route_message(text).agent != "emergency"


def test_a_calming_cue_the_rules_saw_keeps_the_model_quiet():
    text = "antes de hacerme el hilo tensor me da miedo que la mejilla se ponga caliente y abultada, ¿es normal?"
    assert assess(text).reassuring
    assert route_message(text).agent != "emergency"


def test_the_model_never_trains_on_the_held_out_set():
    spec = importlib.util.spec_from_file_location("router_bench", ROOT / "bench" / "router_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    trained_on = {p.resolve() for p in emergency_model.TRAINING_FILES + emergency_model.ORDINARY_FILES}
    assert bench.BLIND_SET.exists() and bench.BLIND_SET.resolve() not in trained_on
    assert all(p.exists() for p in emergency_model.TRAINING_FILES)


def test_without_training_files_the_rules_decide_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(emergency_model, "TRAINING_FILES", (tmp_path / "missing.yaml",))
    monkeypatch.setattr(emergency_model, "_trained", False)
    monkeypatch.setattr(emergency_model, "_model", None)
    assert emergency_model.model() is None
    assert "emergency_model" not in route_message(UNLISTED_DANGERS[0]).reasons   # monkeypatch restores the model


class FixedOpinion:
    """A second opinion that always gives the same probability: pins the router's thresholds, whatever the
    trained model would say of these messages."""

    def __init__(self, probability: float):
        self.value = probability

    def probability(self, text: str) -> float:
        return self.value


FLAGGED_QUESTION = "si mi hija tiene una reacción alérgica a la cera, ¿la atienden ahí mismo?"
FLAGGED_STATEMENT = "pensé que era normal pero la ampolla del láser ahora supura y me arde muchísimo"
CALMED = "ayer sentí un mareíto después del drenaje pero se me pasó con un juguito, todo bien"


def test_a_question_the_rules_flag_but_the_model_finds_ordinary_is_not_handed_off():
    assert assess(FLAGGED_QUESTION).is_emergency
    route = route_message(FLAGGED_QUESTION)
    assert route.agent != "emergency" and route.reasons[0] == "emergency_rules_overruled"
    # just above the line the rules stand
    assert route_message(FLAGGED_QUESTION, second_opinion=FixedOpinion(emergency_model.ORDINARY)).agent == "emergency"
    assert route_message(FLAGGED_QUESTION, second_opinion=None).agent == "emergency"


def test_the_model_never_overrules_the_rules_on_a_statement():
    assert assess(FLAGGED_STATEMENT).is_emergency
    assert route_message(FLAGGED_STATEMENT, second_opinion=FixedOpinion(0.0)).agent == "emergency"


def test_past_a_calming_cue_only_a_certain_model_hands_off():
    # n-grams do not read negation well ("no me arde, no me sangra… todo genial" scored 0.95): past the rules'
    # calming cue the model must be certain, as it is of "ya reaccionó pero está pálida y sudando frío"
    assert assess(CALMED).reassuring and not assess(CALMED).is_emergency
    assert route_message(CALMED).agent != "emergency"
    assert route_message(CALMED, second_opinion=FixedOpinion(emergency_model.CERTAIN - 0.01)).agent != "emergency"
    assert route_message(CALMED, second_opinion=FixedOpinion(emergency_model.SURE_OF_A_QUESTION)).agent != "emergency"
    assert route_message(CALMED, second_opinion=FixedOpinion(emergency_model.CERTAIN)).reasons == ("emergency_model",)


OVER_BUT_NOT_WELL = [     # written for this test: an episode "over", the signs of shock still there
    "mi papá se desvaneció en la sala de espera después de la endodoncia, ya volvió en sí pero sigue blanco como "
    "papel y empapado en sudor frío",
    "my sister passed out after her filler, she came round but she's grey and clammy and can't stand up",
]


@pytest.mark.parametrize("text", OVER_BUT_NOT_WELL)
def test_an_episode_over_with_its_signs_still_there_is_handed_off(text):
    assert route_message(text).agent == "emergency"


def test_without_a_calming_cue_a_sure_model_hands_off():
    text = UNLISTED_DANGERS[0]
    assert not assess(text).reassuring
    assert "emergency_model" not in route_message(text, second_opinion=FixedOpinion(emergency_model.SURE - 0.01)).reasons
    assert route_message(text, second_opinion=FixedOpinion(emergency_model.SURE)).reasons == ("emergency_model",)


def _fresh(monkeypatch):
    monkeypatch.setattr(emergency_model, "_trained", False)
    monkeypatch.setattr(emergency_model, "_model", None)


def test_a_restart_loads_the_model_it_trained_before(monkeypatch, tmp_path):
    _fresh(monkeypatch)
    trained = emergency_model.model(tmp_path)
    files = list(tmp_path.glob("emergency_model-*.pickle"))
    assert len(files) == 1 and emergency_model.fingerprint() in files[0].name

    _fresh(monkeypatch)
    monkeypatch.setattr(emergency_model, "load_examples", lambda: pytest.fail("trained again"))
    loaded = emergency_model.model(tmp_path)
    assert loaded is not trained
    for text in UNLISTED_DANGERS + ORDINARY:
        assert loaded.probability(text) == trained.probability(text)


def test_new_training_data_trains_anew_and_replaces_the_old_file(monkeypatch, tmp_path):
    _fresh(monkeypatch)
    emergency_model.model(tmp_path)
    before = emergency_model.fingerprint()
    extra = tmp_path / "extra.yaml"
    extra.write_text("- {text: 'se me durmió media cara y no se me pasa', emergency: true, lang: es}\n",
                     encoding="utf-8")
    monkeypatch.setattr(emergency_model, "TRAINING_FILES", emergency_model.TRAINING_FILES + (extra,))
    assert emergency_model.fingerprint() != before
    _fresh(monkeypatch)
    emergency_model.model(tmp_path)
    assert [p.name for p in tmp_path.glob("emergency_model-*.pickle")] == \
        [f"emergency_model-{emergency_model.fingerprint()}.pickle"]


def test_an_unreadable_cache_file_is_trained_over(monkeypatch, tmp_path):
    _fresh(monkeypatch)
    path = tmp_path / f"emergency_model-{emergency_model.fingerprint()}.pickle"
    path.write_bytes(b"half a pickle")
    model = emergency_model.model(tmp_path)
    assert model is not None and model.probability(UNLISTED_DANGERS[0]) >= emergency_model.SURE
    with path.open("rb") as f:
        assert isinstance(pickle.load(f), emergency_model.EmergencyModel)
