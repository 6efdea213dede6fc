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


# Issue 12, second round: 40 messages written for this test before the detector was tuned on them
# (20 emergencies, 20 hard look-alikes; regions CO, CL, MX, AR, ES and English).
NEW_EMERGENCIES = [
    ("co_sister_grey_skin",
     "parce a mi hermana le pusieron hialurónico en los labios y se le está poniendo la piel grisácea y fría"),
    ("ar_father_collapsed", "mi viejo se desplomó en la sala de espera y no responde"),
    ("es_bleeding_gauze", "desde la extracción del martes no me para de salir sangre, ya cambié las gasas como seis veces"),
    ("swallow_masseter",
     "me inyectaron toxina en el masetero hace 3 días y no puedo masticar ni tragar bien, se me va la comida"),
    ("chest_sedation", "tengo el pecho apretadísimo y me cuesta jalar aire después de la sedación"),
    ("mx_dizzy_tachycardia", "güey me siento bien mareado y con taquicardia desde que salí del suero vitaminado"),
    ("en_mom_dusky_lip", "my mom got lip filler this morning and now her lip is turning dusky and feels cold"),
    ("en_son_bleeding", "my son had his wisdom teeth out and he's been bleeding through gauze for three hours"),
    ("en_fever_pus", "three days after the extraction my jaw is swollen, i have a fever of 39 and there's pus"),
    ("en_throat_closing", "i feel like my throat is closing after the injection, please help"),
    ("cl_girl_broken_tooth", "la niña se cayó y se le partió un diente de adelante, está sangrando harto"),
    ("peel_blisters", "desde el peeling químico me salieron ampollas y me arde horrible"),
    ("es_rash_throat", "tía, me ha salido un sarpullido por todo el cuerpo tras el suero y me pica la garganta"),
    ("ar_vision_curtain", "boluda, desde el relleno de ojeras veo como una cortina negra del lado izquierdo"),
    ("wife_face_droop", "mi esposa tiene la cara chueca desde el botox y no puede cerrar bien el ojo"),
    ("numb_chin_zaps", "hace una semana me sacaron la muela y todavía tengo la barbilla dormida, ahora con corrientazos"),
    ("swelling_to_eye", "la hinchazón del cachete en vez de bajar va subiendo hacia el ojo, es el tercer día del implante"),
    ("implant_hot_discharge", "tengo escalofríos y la zona del implante está caliente y sale un líquido amarillo"),
    ("sweat_tremble_meso", "estoy sudando frío y temblando, me acaban de aplicar la mesoterapia"),
    ("en_vomit_racing", "i keep vomiting and my heart is racing since the iv drip, i feel faint"),
]
NEW_LOOK_ALIKES = [
    ("warning_signs_question", "¿qué señales de alarma debo vigilar después del relleno de labios?"),
    ("conditional_bruise", "si me sale un moretón después del botox, ¿qué me pongo?"),
    ("fear_sedation", "me da pánico no poder respirar con la sedación, ¿es muy profunda?"),
    ("negated_control", "no tengo fiebre ni pus, solo quería confirmar el control del viernes"),
    ("resolved_dizzy", "ayer tuve un poco de mareo después del suero pero ya se me quitó, gracias"),
    ("habit_mom_needles", "mi mamá se desmaya cuando ve agujas, ¿la pueden atender acostada?"),
    ("figurative_bill", "casi me da un infarto con la factura jajaja"),
    ("en_watch_for", "what should i watch for after a root canal? like fever or swelling?"),
    ("en_conditional_lip", "if my lip gets really swollen after filler, should i call you?"),
    ("en_mild_bruise_fading", "my husband had some mild bruising after botox, it's already fading"),
    ("cl_question_bleed", "¿la extracción de cordales sangra mucho? me la hacen la otra semana"),
    ("mild_gum", "tengo la encía un poquito sensible después de la limpieza, ¿es normal?"),
    ("expected_numb_hour", "se me durmió el labio con la anestesia de hace una hora, ¿cuándo se me pasa?"),
    ("cl_price", "wena, ¿cuánto sale el botox en la frente? ando con ganas"),
    ("figurative_frozen", "me quedé helada con el precio del implante"),
    ("past_gum_bleed", "la semana pasada me sangró un poco la encía, ya no, ¿me agendan limpieza?"),
    ("en_blindness_question", "can filler cause blindness? i'm a bit worried before my appointment"),
    ("urgent_reschedule", "urgente: necesito reprogramar mi sesión de láser de mañana"),
    ("what_if_swelling", "¿qué pasa si me hincho mucho después de la bichectomía?"),
    ("en_daughter_nervous", "my daughter is nervous about fainting during her wisdom tooth extraction, can she be sedated?"),
]


@pytest.mark.parametrize("text", [t for _, t in NEW_EMERGENCIES], ids=[i for i, _ in NEW_EMERGENCIES])
def test_new_emergencies_are_handed_off(text):
    assert route_message(text).agent == "emergency"


@pytest.mark.parametrize("text", [t for _, t in NEW_LOOK_ALIKES], ids=[i for i, _ in NEW_LOOK_ALIKES])
def test_new_look_alikes_are_not_handed_off(text):
    assert route_message(text).agent != "emergency"


@pytest.mark.parametrize("text,is_emergency", [
    # "no" negates its own phrase, over quantifiers, not a later clause
    ("sin fiebre ni mucho dolor, todo bien tras el implante", False),
    ("me duele la muela cuando como helado, nada muy fuerte", False),
    ("no sé por qué veo borroso desde el relleno", True),
    ("no tengo fiebre pero me cuesta respirar desde la sesión", True),
], ids=["ni_reaches_over_quantifier", "nada_negates_severity", "no_does_not_reach_next_clause",
        "negation_stays_in_its_clause"])
def test_negation_is_scoped_to_its_phrase(text, is_emergency):
    assert assess(text).is_emergency is is_emergency


@pytest.mark.parametrize("text,is_emergency", [
    # a worry or question frames its own sentence only...
    ("me asusta quedarme sin aire con la sedación del jueves", False),
    ("tengo miedo, no puedo respirar bien y me pusieron botox", True),
    ("tengo miedo de que sea una infección, me sale pus de la encía del implante", True),
    # ...and any word of the present lifts it, even in another sentence
    ("¿es normal ver borroso tras el relleno de nariz? me lo pusieron hace media hora", True),
    ("is it normal that my lip is turning purple and cold after filler?", True),
], ids=["worry_ahead", "bare_fear_frames_nothing", "fear_about_the_present", "now_in_next_sentence",
        "progressive_means_now"])
def test_worry_and_questions_frame_their_sentence(text, is_emergency):
    assert assess(text).is_emergency is is_emergency


def test_numbness_is_a_danger_sign_only_days_after_or_when_it_burns():
    assert not assess("tengo el labio dormido por la anestesia de hace media hora, ¿es normal?").is_emergency
    assert assess("desde el viernes que me sacaron la cordal tengo la barbilla dormida y con ardor").is_emergency


def test_fever_needs_a_procedure_or_a_second_sign():
    assert not assess("mi hijo tiene fiebre, ¿podemos mover su turno de ortodoncia?").is_emergency
    assert assess("tengo fiebre desde que me pusieron el implante").is_emergency
    assert assess("tengo fiebre y me sale pus de la herida").is_emergency


def test_denied_signs_reassure_the_router():
    text = "no me arde, no me sangra y no tengo fiebre. todo genial con el implante"
    assert assess(text).reassuring
    assert route_message(text).agent != "emergency"


def test_announced_course_calms_expected_swelling_but_not_a_red_flag():
    assert not assess("tengo la mejilla hinchada como me explicaron, segundo día de la cirugía").is_emergency
    assert assess("tengo la mejilla hinchada como me explicaron, pero ahora me cuesta tragar").is_emergency


def test_laughter_and_mild_cues_calm_expected_signs():
    assert not assess("me siento fatal de la resaca jaja, ¿puedo ir hoy a la depilación?").is_emergency
    assert not assess("la piel está roja como con una quemadura de sol tras el láser, algo tirante, ¿normal?").is_emergency
    # a red flag still said to be going on outweighs the laugh
    assert assess("jaja no sé qué me pasa pero sigo sin poder respirar bien desde el relleno").is_emergency


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
