"""The offline router: deterministic emergencies, explicit handoff, and the classifier across dialects."""
import pytest

from graphs.tenant.emergency import assess
from graphs.tenant.router import route_message, wants_human


@pytest.mark.parametrize("text", [
    "me duele mucho y está muy hinchado desde el botox de ayer",
    "no puedo respirar bien",
    "se me puso blanquita la piel del labio donde me pusieron el relleno",
    "tengo fiebre desde la limpieza y me sale pus",
    "desde ayer tengo el ojo caído después del botox",
    "se me cayó un diente jugando fútbol y sangra mucho",
    "my throat feels like it's closing after the filler",
    "i can't breathe well since the injection",
    "che, me quemó el láser y tengo ampollas",
    "me quiero morir",
])
def test_real_emergencies_are_caught_by_the_rules(text):
    assert assess(text).is_emergency
    assert route_message(text).agent == "emergency"


@pytest.mark.parametrize("text", [
    "¿el botox duele?",
    "¿es normal que salga un morado?",
    "¿cuánto dura la hinchazón después de los labios?",
    "¿el botox puede causar dificultad para respirar?",
    "is bruising normal after fillers?",
    "can i still get a facial if i had a fever a few days ago?",
    "cuanto cuesta pasar todo el dia ahi?",
    "soy alérgica a la penicilina, ¿puedo hacerme rellenos?",
])
def test_harmless_questions_about_symptoms_are_not_emergencies(text):
    assert not assess(text).is_emergency
    assert route_message(text).agent != "emergency"


@pytest.mark.parametrize("text", ["quiero hablar con una persona", "pásame con un asesor", "operadora",
                                  "hay alguien real?", "talk to a human please", "no quiero hablar con un bot"])
def test_explicit_requests_for_a_person(text):
    assert wants_human(text)
    assert route_message(text).agent == "human"


@pytest.mark.parametrize("text,intent", [
    ("cuanto vale el botox parce?", "sales"),
    ("q promos tienen este mes?", "sales"),
    ("how much is the deep tissue massage?", "sales"),
    ("a q hora abren los sabados?", "support"),
    ("donde queda la clinica? hay parqueadero?", "support"),
    ("what's your cancellation policy?", "support"),
    ("tienen hora disponible para el jueves en la tarde?", "availability"),
    ("hay cupo mañana?", "availability"),
    ("quiero agendar una limpieza facial", "schedule"),
    ("necesito cambiar mi cita del martes", "schedule"),
])
def test_classifier_routes_everyday_messages(text, intent):
    assert route_message(text).agent == intent


def test_booking_in_progress_keeps_details_in_schedule():
    assert route_message("el viernes a las 4", continues_booking=True).agent == "schedule"
    # ...but an emergency still wins
    assert route_message("no puedo respirar", continues_booking=True).agent == "emergency"
