"""Offline intent routing: deterministic emergency and handoff rules first, then a character n-gram
classifier trained on our labelled messages (graphs/tenant/data/intents_train.yaml).

Character n-grams over accent-folded text tolerate typos, missing accents and regional spellings
without any model download; the classifier trains in well under a second at first use.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Literal

from graphs.tenant import emergency_model
from graphs.tenant.emergency import assess, normalize
from graphs.tenant.intents import load_examples
from graphs.tenant.ngram_model import NgramModel

CLASSIFIER_EMERGENCY_MIN = 0.75   # below this a symptom-like message goes to support, which offers a human
# A danger sign next to a recent procedure is handed off unless the classifier is at least this sure
# of another intent.
CLASSIFIER_SURE = 0.6
_QUESTION = re.compile(r"[?¿]")

# An explicit request for a person is handed off whatever the classifier thinks.
_HUMAN = re.compile("|".join([
    r"\b(hablar|hablo|comunicar(me)?|conversar|chatear) con (una |un |alguna |algun )?(persona|humano|humana|"
    r"asesor|asesora|agente|alguien|ser humano|doctor|doctora|medico|medica|recepcion|operador|operadora|encargad)",
    r"\b(pasame|pasenme|paseme|comunicame|comuniqueme|comuniquenme|conectame|transfiereme|derivame) (con|a)\b",
    r"\b(persona|humano|alguien) (real|de verdad)\b", r"\bno quiero (hablar con )?(un |una |el )?(bot|robot|maquina)\b",
    r"\b(eres|sos|es) (un )?(bot|robot)\b.*\?", r"\b(talk|speak|chat) (to|with) (a |an |someone|somebody|real )?"
    r"(human|person|agent|someone|somebody|representative|real|staff|doctor)",
    r"\breal (human|person)\b", r"\b(human|live) agent\b", r"\bnot (a |talk to a )?(bot|robot)\b",
    # a lone "operadora" / "agent please" / "humano" is a request too
    r"^\W*(un |una |an? )?(operador|operadora|operator|agente|agent|asesor|asesora|humano|human|persona|person|"
    r"representative)\W*(please|por favor|porfa|pls)?\W*$",
    r"\b(son|eres|sos|es) (una |un )?(personas?|humanos?|real(es)?)\b.{0,30}\b(automatic|bot|robot|maquina)",
    r"\b(are you|is this) (a )?(bot|robot|real person|human|automated)\b",
]))


@dataclass(frozen=True)
class Route:
    agent: str
    confidence: float
    reasons: tuple[str, ...] = ()


class IntentClassifier:
    def __init__(self, examples: list[dict]):
        self.model = NgramModel([e["text"] for e in examples], [e["intent"] for e in examples], max_iter=2000)
        self.labels = self.model.labels

    def predict(self, text: str) -> tuple[str, float]:
        probs = self.model.probabilities(text)
        best = max(range(len(probs)), key=probs.__getitem__)
        return self.labels[best], probs[best]


_classifier: IntentClassifier | None = None
_lock = threading.Lock()


def classifier() -> IntentClassifier:
    global _classifier
    with _lock:
        if _classifier is None:
            _classifier = IntentClassifier(load_examples())
        return _classifier


def wants_human(text: str) -> bool:
    return bool(_HUMAN.search(normalize(text)))


def route_message(text: str, *, continues_booking: bool = False,
                  second_opinion: emergency_model.EmergencyModel | None | Literal["process"] = "process") -> Route:
    """Emergency first: the deterministic rules, checked by the learned second opinion. The model hands off
    what the rules missed when it is sure and they saw no calming cue, and overrules them only on a question
    it finds plainly ordinary. Then explicit handoff, then a booking being collected ("el viernes a las 4",
    "me llamo Laura"), then the classifier. `second_opinion`: the process's trained model by default; a
    bench passes its own, or None for the rules alone."""
    emergency = assess(text)
    second = emergency_model.model() if second_opinion == "process" else second_opinion
    question = _QUESTION.search(text) is not None
    # The model is asked only where its answer can change the route: a question the rules flagged, or a
    # message they did not flag (behind a calming cue, only a certain model hands off).
    consulted = question or not emergency.is_emergency
    probability = second.probability(text) if second is not None and consulted else None
    overruled = (emergency.is_emergency and question and probability is not None
                 and probability < emergency_model.ORDINARY)
    if emergency.is_emergency and not overruled:
        return Route("emergency", 1.0, emergency.reasons)
    # "si tuviera una reacción alérgica al relleno, ¿me lo pueden disolver?" (overruled): a question about a
    # danger sign that the model, trained on ~1,700 labelled emergency messages, finds ordinary
    reasons = ("emergency_rules_overruled",) if overruled else ()
    if probability is not None and not overruled and probability >= (
            emergency_model.CERTAIN if emergency.reassuring and not emergency.weakly
            else emergency_model.SURE_OF_A_QUESTION if question else emergency_model.SURE):
        # "mi señora se desmayó…, ya reaccionó pero está pálida y sudando frío": over, say the rules; the model
        # is certain it is not. Calmed only by "¿es normal que…?" or a laugh, the model needs to be as sure as of
        # any question ("¿es normal que vea manchas negras después de los hilos?")
        return Route("emergency", probability, ("emergency_model",))
    if wants_human(text):
        return Route("human", 1.0, ("asked_for_a_person",))
    if continues_booking:
        return Route("schedule", 1.0, ("booking_in_progress", *reasons))
    intent, confidence = classifier().predict(text)
    if emergency.uncertain and (intent == "emergency" or confidence < CLASSIFIER_SURE):
        # a danger sign and a procedure co-occur and the classifier is unsure: hand off
        return Route("emergency", confidence, ("emergency:danger_sign+procedure", "classifier_unsure"))
    if intent == "emergency":
        # The rules missed it but the intent model is sure enough: err on the side of a human, unless the
        # message carries a calming cue (a question, worry before, resolved, mild) or the emergency model,
        # trained on far more emergencies and ordinary messages, does not agree ("me bloquearon la cuenta,
        # ¿me ayudan?", "ayer tuve un mareíllo pero se me pasó").
        if confidence >= CLASSIFIER_EMERGENCY_MIN and not emergency.reassuring and not overruled \
                and (probability is None or probability >= emergency_model.AGREES):
            return Route("emergency", confidence, ("classifier",))
        intent = "support"
    return Route(str(intent), confidence, reasons)
