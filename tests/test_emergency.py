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


# Round 3: each category behind a blind-2 miss or false alarm, pinned with new phrasings written for this
# test (not taken from any bench set), with the nearby look-alike that must stay ordinary.
ROUND3_EMERGENCIES = [
    # a fear said AFTER the signs it is about frames nothing: the signs are reported, the fear is of worse
    ("fear_after_signs_es",
     "tengo el cuello lleno de ronchas y la lengua hinchada tras el suero, me da miedo que se me cierre la garganta"),
    ("fear_after_signs_en", "my lips and eyelids are puffing up after the peel and i'm scared my throat will close"),
    # bleeding that has not stopped (perfect tenses) or stops not even with pressure on the gauze
    ("bleeding_perfect_es", "no ha parado de sangrar la encía desde que me quitaron la muela"),
    ("bleeding_perfect_en", "the socket hasn't stopped bleeding since noon even though i keep pressing the gauze"),
    ("bleeding_despite_gauze_es", "me sigue saliendo sangre del implante a pesar de morder la gasa"),
    # time elapsed ("ya pasó una hora") says it is still going on, it is not "ya pasó"
    ("elapsed_time_heart", "me tiembla todo y el corazón se me va a salir desde la anestesia, ya pasaron 40 minutos"),
    ("elapsed_time_hour", "estoy temblando y con taquicardia desde que me pusieron la inyección, ya pasó una hora"),
    # drooping and slurred speech in the Spanish perfect / verb-before-noun order, articulation verbs
    ("droop_perfect_third", "a mi madre se le ha caído el párpado izquierdo y le cuesta pronunciar"),
    ("mouth_twisted_perfect", "de golpe se me ha torcido la boca, me pusieron botox el lunes"),
    ("articulate_en", "my eyelid dropped suddenly and i'm struggling to pronounce words"),
    ("speech_like_stuck", "a mi hermano le pusieron toxina y ahora habla como trabado"),
    # pregnancy with bleeding or contractions; someone already on the way to the emergency room
    ("pregnant_spotting_es", "estoy embarazada de cinco meses y empecé a manchar después del masaje"),
    ("pregnant_contractions_en", "my sister is 30 weeks pregnant and having cramps and bleeding since her facial"),
    ("to_the_er_es", "vamos rumbo a urgencias, a mi suegra se le hinchó la cara tras la crema"),
    ("to_the_er_en", "we're heading to the ER, my brother collapsed after his IV drip"),
    # improvement that turned: a relapse is not calmed
    ("relapse_after_improving", "ya iba mejorando pero desde anoche el dolor de la extracción es insoportable y va a más"),
    # a weak arm or leg, one side of the body
    ("limb_weakness_es", "mi papá no tiene fuerza en la pierna derecha desde la sedación"),
    ("limb_weakness_en", "after the iv drip my arm went weak and i can't lift my hand"),
    # more ways to say a racing heart, a chest pain, a vision change, food that does not go down
    ("heart_a_cien", "me late el corazón a cien y estoy mareada tras la sesión"),
    ("chest_stabs", "me dan pinchazos en el pecho desde la sedación"),
    ("vision_fog", "desde el relleno en las sienes veo como con neblina"),
    ("vision_going", "se me está yendo la vista del ojo derecho, me pusieron hialurónico en la frente"),
    ("vision_fuzzy_en", "my vision is fuzzy in one eye since the tear trough filler"),
    ("vision_no_sight", "me he quedado sin ver por un ojo tras el relleno de nariz"),
    ("food_not_going_down", "desde el botox del viernes la comida no me baja"),
    ("choking_drinking_en", "i keep choking when i drink since my neck botox"),
    ("eye_swelling_shut", "la hinchazón no para de subir y ya casi no puedo abrir el ojo"),
    ("eyes_swelling_shut_en", "my eyes are swelling shut after the chemical peel"),
    # doubled consonants misspelled
    ("double_letters_en", "my vision is blury and i see dobble after the filer"),
]
ROUND3_LOOK_ALIKES = [
    # the same fear, said ahead of a procedure
    ("fear_ahead_es", "me da miedo que se me cierre la garganta con la anestesia, ¿eso pasa?"),
    ("fear_droop_ahead", "me preocupa que se me caiga el párpado con el botox, ¿pasa seguido?"),
    # bleeding that has stopped
    ("bleeding_stopped_es", "ya dejó de sangrar la encía, ¿puedo comer?"),
    ("bleeding_stopped_en", "the bleeding has stopped, can i brush tonight?"),
    # an episode that is over
    ("tremble_over", "me temblaron las manos en la sesión pero ya se me pasó"),
    # idiom
    ("face_fell_shame", "se me cayó la cara de vergüenza, me olvidé de la cita de ayer"),
    # pregnancy without a danger sign; gums bleeding when brushing are common in pregnancy
    ("pregnant_gums", "estoy embarazada y me sangran las encías al cepillarme, ¿puedo hacerme una limpieza?"),
    ("pregnant_melasma", "estoy embarazada y me salieron manchas en la cara, ¿qué tratamiento es seguro?"),
    ("works_at_er", "trabajo en urgencias y salgo tarde, ¿atienden los sábados?"),
    # getting better
    ("improving_es", "la inflamación va bajando y el dolor es mucho menor, ¿sigo con hielo?"),
    ("improving_en", "the pain is way better today, only sore when i chew"),
    ("fading_bruise", "el moretón está cada día más clarito"),
    ("swelling_going_down_en", "the swelling is going down nicely, thanks"),
    # signs named only to deny them, also where the phonetic fold changes a word ("have", "never")
    ("denied_fold_en", "i don't have any trouble breathing or swallowing, is some bruising normal?"),
    ("denied_never_en", "never had any trouble swallowing, just asking about aftercare"),
    ("nothing_odd_es", "no noto nada raro en el labio, ni blanco ni morado, ¿cuándo me maquillo?"),
    ("nothing_odd_vision", "no veo nada extraño en la zona, quería saber cuándo puedo usar lentes"),
    # hearsay and questions for someone else
    ("hearsay_es", "mi prima me dijo que la depilación láser quema horrible, ¿es verdad?"),
    ("hearsay_en", "my friend said filler can make you go blind, is that true?"),
    ("wants_to_know_en", "my mom wants to know if botox can cause trouble swallowing"),
    ("future_bleeding", "mi papá toma anticoagulantes, ¿sangrará mucho con la extracción?"),
    ("leaves_swollen_days", "¿la extracción deja la cara hinchada muchos días?"),
    ("conditional_after", "si después del relleno veo borroso, ¿qué hago?"),
    # an illness that is over
    ("past_flu_recovered", "la semana pasada tuve fiebre por un resfriado, ya me recuperé, ¿mantengo mi cita de limpieza?"),
    ("fever_yesterday_gone", "¿puedo ir a mi sesión de láser? ayer tuve fiebre pero ya no tengo"),
    # figurative
    ("wallet_hurts", "el tratamiento está muy caro, me duele el bolsillo"),
]


@pytest.mark.parametrize("text", [t for _, t in ROUND3_EMERGENCIES], ids=[i for i, _ in ROUND3_EMERGENCIES])
def test_round3_emergencies_are_handed_off(text):
    assert route_message(text).agent == "emergency"


@pytest.mark.parametrize("text", [t for _, t in ROUND3_LOOK_ALIKES], ids=[i for i, _ in ROUND3_LOOK_ALIKES])
def test_round3_look_alikes_are_not_handed_off(text):
    assert route_message(text).agent != "emergency"


@pytest.mark.parametrize("text,is_emergency", [
    # hearsay frames what follows it, up to a contrast
    ("me dijeron que el peeling arde horrible, ¿es cierto?", False),
    ("me dijeron que era normal pero no puedo tragar desde el botox", True),
    # a past date of the procedure is not an episode that is over when the sign is current
    ("la semana pasada me pusieron el implante y desde ayer tengo fiebre", True),
], ids=["hearsay_frames_what_follows", "contrast_ends_hearsay", "procedure_date_is_not_resolution"])
def test_hearsay_and_past_dates(text, is_emergency):
    assert assess(text).is_emergency is is_emergency


def test_numbness_right_after_an_anaesthetic_reassures_the_router():
    assert assess("tengo la lengua dormida de la anestesia, me la pusieron hace 20 minutos").reassuring
    # numbness with no anaesthetic to explain it does not reassure
    assert not assess("no siento el brazo izquierdo desde el masaje").reassuring


ROUND3_SPELLING_AND_MORE = [
    # chat shorthand, a Spanish silent h, seseo (c/s), stem-changing verbs, dropped g's, single letters for double
    ("shorthand_dsd", "tengo taquicardia y me tiemblan las manos dsd la cesion"),
    ("silent_h", "ace dos dias me sacaron la muela y tengo la cara inchada con fiebre"),
    ("silent_h_speech", "ablo raro y se me traba la lengua desde el botox"),
    ("stem_change_numb", "se me duerme media cara desde hace 4 días de la extracción y ahora arde"),
    ("dropped_g_en", "my lip is turnin white n cold after the fillr"),
    ("single_e_en", "im bleding alot from where they pulled my tooth yesterday"),
    # a severe headache or vomiting after a procedure
    ("headache_vomit_es", "tengo un dolor de cabeza fortísimo y vómitos desde el botox"),
    ("vomit_en", "i've been throwing up since the iv drip and feel faint"),
    # the Spanish eleven is not the English "once" of a past episode
    ("once_is_eleven", "me pusieron relleno a las once y veo borroso"),
]
ROUND3_SPELLING_LOOK_ALIKES = [
    ("shorthand_booking", "kiero sacar cita para limpiesa dsd el lunes, q horarios tienen?"),
    ("x_ray_is_not_por", "do you take x-rays before the implant?"),
    ("and_weak_en", "i feel tired and weak from the flu, can i move my appointment?"),
    # a sign named as an infinitive, the topic of a fear
    ("feared_topic_bleeding", "sangrar mucho es lo que más miedo me da de la extracción"),
    ("feared_topic_fainting", "desmayarme en la silla del dentista, eso me da pánico"),
    ("does_it_happen_en", "slurred speech from botox, does that really happen? i'm scared"),
    ("real_or_myth", "la parálisis facial por botox, ¿es real o es mito?"),
    # a droop one was born with or that came with age, asked as a treatment
    ("droop_since_birth", "tengo los párpados caídos de nacimiento, ¿el botox los levanta?"),
    ("droop_brow_lift", "tengo la ceja caída, ¿el botox la puede subir?"),
    ("droop_price", "cuánto cuesta la blefaroplastia para el párpado caído"),
    # chronic headache, habitual vomiting
    ("chronic_migraine", "tengo migraña crónica, ¿el botox me ayuda?"),
    ("gag_reflex", "vomito con facilidad cuando me meten cosas en la boca, ¿la limpieza da arcadas?"),
]


@pytest.mark.parametrize("text", [t for _, t in ROUND3_SPELLING_AND_MORE], ids=[i for i, _ in ROUND3_SPELLING_AND_MORE])
def test_round3_spellings_and_signs_are_handed_off(text):
    assert route_message(text).agent == "emergency"


@pytest.mark.parametrize("text", [t for _, t in ROUND3_SPELLING_LOOK_ALIKES], ids=[i for i, _ in ROUND3_SPELLING_LOOK_ALIKES])
def test_round3_spelling_look_alikes_are_not_handed_off(text):
    assert route_message(text).agent != "emergency"


def test_phonetic_fold_keeps_english_words_apart():
    from graphs.tenant.emergency import phonetic
    assert phonetic("hinchado") == phonetic("inchado")
    assert phonetic("sesion") == phonetic("cesion")
    assert phonetic("hand") != phonetic("and") and phonetic("her") != phonetic("er")
    assert phonetic(r"\bdizz") != phonetic(r"\bdis")


@pytest.mark.parametrize("text,is_emergency", [
    # confusion or disorientation after sedation, and "confused" meaning puzzled
    ("mi papá está desorientado y no me reconoce desde la sedación", True),
    ("my mom is confused and drowsy since the sedation", True),
    ("estoy confundida con los horarios de la sesión, ¿es a las 3 o a las 4?", False),
    ("im confused, is the session today or tomorrow?", False),
    # "no siento el brazo" is the sign itself, not a denial
    ("no siento la pierna izquierda y no tengo fuerza desde el masaje", True),
    ("no siento dolor ni tengo fiebre desde el implante", False),
    # the Spanish perfect of a collapse
    ("oye, mi novio se ha desplomado en la sala después de la sedación", True),
], ids=["disoriented", "confused_en", "confused_about_times", "confused_question_en", "cannot_feel_leg",
        "no_pain_is_a_denial", "collapse_perfect"])
def test_round3_confusion_limbs_and_collapse(text, is_emergency):
    assert assess(text).is_emergency is is_emergency


@pytest.mark.parametrize("text,is_emergency", [
    # a lacy, net-like discolouration after filler; a colour said with a modifier
    ("desde el relleno tengo en la mejilla como una red morada", True),
    ("my lip turned a kind of grey after the filler an hour ago", True),
    ("my skin looks a little pale in winter, any facial for glow?", False),
    # food going down the wrong way, coughing when eating
    ("desde el botox toso cada vez que como", True),
    ("since my botox on tuesday water keeps going down the wrong pipe", True),
    # gauze soaked through
    ("my son has soaked through four gauze pads since his extraction", True),
    # a passing episode said to be over
    ("felt a bit woozy after my session but fine after some juice", False),
], ids=["lacy_purple_es", "turned_a_kind_of_grey", "pale_in_winter", "cough_when_eating", "wrong_pipe",
        "soaked_pads", "fine_after_juice"])
def test_round3_skin_swallowing_gauze_and_passing_episodes(text, is_emergency):
    assert (route_message(text).agent == "emergency") is is_emergency


@pytest.mark.parametrize("text,is_emergency", [
    # vomiting that goes on or repeats, not a gag
    ("mi hija no para de vomitar desde la anestesia", True),
    ("me dan ganas de vomitar cuando me hacen la limpieza, ¿pueden usar algo?", False),
    ("mi hijo vomitó en la sesión de ortodoncia por el molde, ¿se puede hacer distinto?", False),
    # a chronic condition explains a weak arm; a condition treated with botox does not frame its side effects
    ("tengo tendinitis y me falta fuerza en el brazo, ¿el masaje ayuda?", False),
    ("a mi esposo le pusieron botox para la migraña y ahora arrastra las palabras", True),
    # "¿ayuda?" asks whether something helps; "¡ayuda!" is a cry
    ("¿el hielo ayuda si se me hincha mucho el labio después del relleno?", False),
    ("ayuda!! no puedo respirar bien", True),
], ids=["vomiting_goes_on", "nausea_gag", "vomit_with_impression", "tendinitis", "botox_for_migraine",
        "does_ice_help", "cry_for_help"])
def test_round3_vomiting_chronic_conditions_and_help(text, is_emergency):
    assert (route_message(text).agent == "emergency") is is_emergency


@pytest.mark.parametrize("text,is_emergency", [
    # "desde ayer" says a sign goes on, unless it says since when one is fine
    ("hace meses me puse relleno y desde ayer veo borroso", True),
    ("ayer me mareé tras la sesión pero ya se me pasó, desde ayer estoy bien", False),
    ("tuve fiebre después del implante pero ya me recuperé, desde ayer sin fiebre", False),
    ("i was dizzy after the session but i am fine since yesterday", False),
], ids=["months_ago_then_since_yesterday", "fine_since_yesterday_es", "no_fever_since_yesterday", "fine_since_yesterday_en"])
def test_round3_since_when_it_goes_on_or_is_fine(text, is_emergency):
    assert (route_message(text).agent == "emergency") is is_emergency


# Round 5 (categories from blind sets 5 and 6, examples written new for these tests).
@pytest.mark.parametrize("text, is_emergency", [
    # blisters in other words
    ("me salieron unas bombitas con agua en el bozo después de la depilación con láser y arden", True),
    ("tengo como globitos de agua en el cuello desde la radiofrecuencia de ayer", True),
    # a swollen, hot leg or calf: a clot, with or without a procedure
    ("desde el drenaje linfático tengo el gemelo derecho hinchado, caliente y me duele al pisar", True),
    ("my husband's calf got hot and swollen after the long flight home from his implant trip", True),
    ("la pantorrilla la tengo caliente e inflamada, ¿será por el masaje de ayer?", True),
    # not a clot: heat from the treatment itself
    ("me encantaron las compresas calientes en las piernas, quedé nueva", False),
])
def test_round5_blisters_and_clots(text, is_emergency):
    assert (route_message(text).agent == "emergency") is is_emergency


@pytest.mark.parametrize("text", [
    "cero dolor, cero moretones, la toxina quedó perfecta",                       # "cero" denies, like "sin"
    "zero swelling the day after, you guys are amazing",
    "mi gatita se cortó la patita y le sangra, saben de un veterinario por Ñuñoa?",   # an animal's sign
    "my dog burned his paw on the hot pavement, any vet near the spa?",
    "pregunta por pura curiosidad: si se me infecta el piercing de la ceja, ¿ustedes lo tratan?",
    "¿qué hacen si a una persona le da una reacción alérgica en plena sesión? solo pregunto",
    "vi en instagram que a una chica se le necrosó el labio con relleno, qué miedo",
    "casi me desmayo de la emoción cuando vi el resultado del blanqueamiento",
    "me quiero morir de la vergüenza, me quedé dormida y me perdí la cita otra vez",
])
def test_round5_denials_animals_curiosity_hearsay_and_figures_of_speech_are_not_emergencies(text):
    assert not assess(text).is_emergency


# Round 6 (categories from blind set 7, examples written new for these tests).
@pytest.mark.parametrize("text, is_emergency", [
    # pus in other words, and a hot face
    ("me sacaron la muela del juicio el jueves y ahora me bota como una cosa verde por el hueco", True),
    ("after my implant there's yellow stuff coming out of the gum and my face feels hot", True),
    # a price asked beside a real sign is not a "painful price"
    ("cuánto sale el blanqueamiento? y otra cosa, a mi mamá le sale pus de donde le pusieron el implante", True),
    ("me duelen los precios jaja, ¿tienen promo de depilación?", False),
    # pain or a bruise growing, "not small" is not mild
    ("el morado del relleno no es pequeño, hoy está el doble y me duele mucho más que ayer", True),
    ("me duele más que ayer el brazo del gimnasio jaja, ¿el masaje de espalda incluye brazos?", False),
    # spreading to the neck, in English
    ("the swelling from the extraction is moving down into my neck today", True),
    # product names are procedures
    ("tras el Radiesse la mejilla me duele cada hora más y el ibuprofeno no me hace nada", True),
    # over, in a past year; fine now; figurative
    ("tuve una reacción alérgica en 2018 con otra crema, ahora estoy bien. ¿puedo hacerme el peeling?", False),
    ("salí del facial en las nubes, gracias chicas", False),
])
def test_round6_discharge_prices_growth_spread_products_and_past_years(text, is_emergency):
    if is_emergency:
        assert route_message(text).agent == "emergency"
    else:
        assert not assess(text).is_emergency


@pytest.mark.parametrize("text", [      # review: calming cues that must not silence a sign set in the present
    "my dog bit my lip after the filler and it won't stop bleeding",
    "me hice la rinomodelación en 2023 y hoy tengo la punta de la nariz morada y fría",
    "me puse relleno ayer y ahora estoy bien hinchada de la cara y los labios, me cuesta respirar",
])
def test_animals_past_years_and_ahora_estoy_bien_do_not_silence_a_present_sign(text):
    assert assess(text).is_emergency


@pytest.mark.parametrize("text", ["cuanto sale la verdad no tengo idea del precio del botox",
                                  "la sesión de láser me salió verdaderamente cara"])
def test_verdad_is_not_a_green_discharge(text):
    assert not assess(text).is_emergency


@pytest.mark.parametrize("text, is_emergency", [
    # a loose or fallen implant
    ("doctora, el implante de abajo se me está moviendo cuando mastico", True),
    ("se le aflojó el implante a mi papá y le sangra la encía", True),
    ("my implant feels loose since this morning", True),
    # redness or swelling reaching the forehead or the neck, said with "al" / "hasta la"
    ("la rojez del peeling ya me sube hasta la frente y arde", True),
    ("la hinchazón de la muela me está bajando al cuello", True),
    # swelling and itching of lips or eyelids: an allergy in other words
    ("el tratamiento de labios me dejó los labios re inflamados y me pica la cara", True),
    # numbness far longer than an anaesthetic lasts
    ("le pusieron anestesia para la calza y ya van como 12 horas con la cara dormida", True),
    # pain that nothing eases is not a habit ("no se me pasa con nada")
    ("tengo un dolor en la encía del implante que no se me pasa con nada", True),
    # growing against yesterday, beside a present sign
    ("la zona del relleno está más roja que ayer y caliente, me dan escalofríos", True),
])
def test_round7_implants_reach_allergy_long_numbness_and_pain_nothing_eases(text, is_emergency):
    assert route_message(text).agent == "emergency" if is_emergency else route_message(text).agent != "emergency"


@pytest.mark.parametrize("text", [
    # a swelling that grew and now goes down, as announced
    "la inflamación del labio creció el primer día y ahora ya va bajando, ¿puedo tomar sol?",
    "the swelling has gone down a lot since yesterday, can I wear makeup?",
    # a horse: an animal's injury
    "my horse has an infected cut on his leg, so I have to move my facial to next week",
    # "si me sangra mucho": a condition, not a present sign
    "¿qué hago si me sangra mucho cuando me saquen la muela el viernes?",
    # over: stopped with the gauze, healed, antibiotic finished, fine again
    "el mes pasado me sangró harto la encía tras la limpieza pero paró con la gasa y ahora está cicatrizado",
    "tuve un absceso en diciembre, ya terminé el antibiótico y no me duele nada; quiero agendar la limpieza",
    "me mareé un poco en la camilla pero a los dos minutos ya estaba genial",
    # a request now, after an episode that is over
    "tuve una infección con fiebre hace tiempo y se me pasó todo, ahora quiero hacerme el blanqueamiento",
    # a fear in a message set in the present frames what follows it
    "desde que me operaron del corazón tomo anticoagulantes y me da miedo que sangre mucho en la extracción",
    # a history, not a present sign
    "antecedentes: alergia a la penicilina (me da urticaria), nada más. quiero mi primera cita",
    # "ninguna" denies
    "no me salió ninguna roncha después del peeling, todo bien",
    # worse in the past, better now
    "la hinchazón estaba peor el martes y hoy ya casi no se nota",
])
def test_round7_over_improving_conditions_fears_and_histories_are_not_emergencies(text):
    assert route_message(text).agent != "emergency"


@pytest.mark.parametrize("text", [
    "¿es normal que se me nuble la vista desde que me pusieron el relleno en la frente?",
    "is it normal that my lips went numb and my heart is racing after the filler?",
    "me salió pus y tengo escalofríos después del microneedling jajaja seguro exagero",
])
def test_asking_if_it_is_normal_or_laughing_does_not_silence_a_danger_sign(text):
    found = assess(text)
    assert found.is_emergency or found.weakly or not found.reassuring     # never calmed outright by those words
    assert route_message(text).agent == "emergency"


def test_a_weak_calm_is_marked_only_when_the_rules_see_a_sign_without_it():
    assert not assess("¿es normal que el precio suba en diciembre? jaja").weakly
    assert assess("es normal que vea manchas negras después de los hilos?").weakly


@pytest.mark.parametrize("text", [      # review of round 7: calming cues that must not silence a present sign
    "me da miedo que se me está cerrando la garganta después del relleno",
    "me preocupa que veo manchas negras desde que me pusieron el relleno",
    "I'm scared that my throat is closing up after the filler",
    "I'm worried that my lips are turning blue after the filler",
    "la herida no está cicatrizada y sangra mucho desde la cirugía",
    "ya terminé el antibiótico y tengo fiebre de 39 y pus en la encía",
    "después del relleno se me fue todo negro y me caí al piso",
    "tengo antecedentes de asma y no puedo respirar después del bótox",
    "I have a history of heart problems and I have chest pain after the injection",
    "la rojez se extiende hacia el cuello, el dolor ya va bajando",
    "la rojez del relleno se extiende hacia el ojo y no ha bajado nada la hinchazón",
    "mi perro está en el veterinario y yo no puedo respirar desde el relleno de labios",
    "el caballero de la recepción se desmayó y no respira",
])
def test_round7_review_present_signs_are_not_calmed(text):
    assert route_message(text).agent == "emergency"


def test_a_massage_that_goes_to_the_neck_is_not_a_spreading_sign():
    assert route_message("¿el masaje descontracturante va al cuello y a los hombros también?").agent != "emergency"
