"""Emergency detection that generalizes: each miss category of the issue pinned with new examples,
and look-alikes (worry before a procedure, expected effects, resolved events, rushed bookings,
figurative uses) that must not be handed off as emergencies."""
import pytest

from graphs.tenant.emergency import assess, normalize
from graphs.tenant.router import route_message

EMERGENCIES = [
    # sudden vision changes after a filler near the eyes
    ("vision_filler_co", "me pusieron relleno en el entrecejo y de pronto veo todo nublado"),
    ("vision_filler_mx", "desde el ácido hialurónico en las ojeras veo puntitos negros con el ojo derecho"),
    ("vision_filler_es", "me han puesto relleno en la sien y ahora tengo la vista borrosa"),
    ("vision_filler_en", "after the temple filler i suddenly can't see properly out of my right eye"),
    # trouble swallowing or slurred speech days after botulinum toxin
    ("swallow_toxin_ar", "a los tres días del botox en el cuello me cuesta muchísimo tragar"),
    ("swallow_toxin_cl", "me pusieron toxina hace dos días y se me atora la comida"),
    ("speech_toxin_mx", "desde el botox del jueves hablo arrastrando las palabras"),
    ("speech_toxin_en", "a few days after my botox i'm slurring words and my voice is weak"),
    # numbness that persists days after an extraction and now burns
    ("numb_extraction_co", "hace una semana me sacaron la cordal y tengo la lengua dormida todavía, y ahora me arde"),
    ("numb_extraction_es", "llevo 5 días con el labio acorchado tras la extracción y ahora me quema"),
    ("numb_extraction_en", "still numb in my lower lip 6 days after the extraction and it's started burning"),
    # dizziness with a racing heart, trembling with cold sweat, right after a session
    ("dizzy_heart_co", "apenas terminó la sesión me mareé y siento el corazón súper acelerado"),
    ("dizzy_heart_en", "just finished my session and i'm lightheaded with palpitations"),
    ("tremble_sweat_mx", "me acaban de hacer el tratamiento y estoy temblando con sudor frío"),
    ("tremble_sweat_en", "trembling and sweating cold right after my injections"),
    # written about someone else
    ("third_mom_co", "a mi mamá le pusieron relleno en la nariz y se le está poniendo la punta blanca"),
    ("third_partner_ar", "a mi novio le sacaron una muela y no le deja de salir sangre"),
    ("third_husband_es", "mi marido tras el bótox no puede tragar y habla raro"),
    ("third_daughter_en", "my daughter got filler under her eyes and says her vision is blurry"),
    ("third_wife_en", "my wife fainted after the laser session and she's still very pale"),
    # regional slang
    ("slang_co", "juepucha, me quedó la jeta toda chueca desde la toxina y no puedo tomar agua"),
    ("slang_mx", "ando bien mareada y con el corazón a mil, apenas salí de la sesión de sueroterapia"),
    ("slang_cl", "wena, me pusieron relleno y tengo el labio morado y helado po"),
    ("slang_ar", "boludo, me falta el aire desde la anestesia del dentista"),
    ("slang_es", "tía, se me ha hinchado toda la cara tras el peeling y me pica la garganta"),
    # misspellings and missing accents
    ("typo_es", "beo dovle desde el botox"),
    ("typo_en", "cant breathe after the filer, throat feels tite"),
]

ORDINARY = [
    ("worry_pain", "me da miedo que duela la extracción, me van a anestesiar bien?"),
    ("worry_bleeding", "tengo pánico de sangrar mucho cuando me saquen la muela el lunes"),
    ("worry_safe_eyes", "es seguro ponerse relleno cerca de los ojos? me asusta quedar ciega"),
    ("worry_en", "i'm scared the botox will make my eyelid droop, how often does that happen?"),
    ("question_swallow", "el botox en el cuello puede dar dificultad para tragar?"),
    ("expected_swelling", "es normal un poco de hinchazón al día siguiente?"),
    ("expected_bruise_en", "is a small bruise after lip filler normal?"),
    ("expected_numb", "sigo con la boca dormida de la anestesia de hace media hora, cuándo se me pasa?"),
    ("resolved_es", "la semana pasada me mareé tras la sesión pero ya estoy perfecta, gracias"),
    ("resolved_en", "the bleeding stopped and i feel fine now, thank you"),
    ("urgent_booking_es", "urgente: necesito hora para botox este sábado"),
    ("urgent_booking_en", "urgent! can i book a cleaning today?"),
    ("figurative_air", "me quedé sin aire con esos precios"),
    ("figurative_dying", "me muero por hacerme el peeling, hay cupo?"),
    ("figurative_en", "that quote nearly gave me a heart attack lol"),
    ("third_benign", "mi mamá quiere ponerse botox, es muy mayor para eso?"),
    ("negated_fever", "no tengo fiebre ni dolor, cuándo es el control del implante?"),
    ("price", "cuánto cuesta la toxina en la frente?"),
]


@pytest.mark.parametrize("text", [t for _, t in EMERGENCIES], ids=[i for i, _ in EMERGENCIES])
def test_emergencies_are_handed_off(text):
    route = route_message(text)
    assert route.agent == "emergency", route
    assert all(r.startswith("emergency:") for r in route.reasons), route.reasons


@pytest.mark.parametrize("text", [t for _, t in ORDINARY], ids=[i for i, _ in ORDINARY])
def test_look_alikes_are_not_emergencies(text):
    assert not assess(text).is_emergency
    assert route_message(text).agent != "emergency"


@pytest.mark.parametrize("text,reason", [
    ("veo borroso desde el relleno de ojeras", "emergency:vision+procedure"),
    ("no puedo respirar", "emergency:breathing"),
    ("me mareé y tengo taquicardia después de la sesión", "emergency:dizziness+procedure"),
], ids=["vision_with_procedure", "breathing_alone", "linked_sign_with_procedure"])
def test_reasons_name_the_sign_and_the_procedure_link(text, reason):
    assert reason in assess(text).reasons


def test_normalize_folds_case_accents_and_repeated_letters():
    assert normalize("AYUDAAA  me ARDE muchísimooo") == "ayuda me arde muchisimo"
