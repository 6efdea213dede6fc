"""Deterministic emergency detection, modelled on triage protocols. It runs before any other routing
and errs towards a human.

The vocabulary is data, one synonym group per line, matched on normalized text (lowercase, no
accents, runs of letters squeezed) and again on a phonetic fold (z->s, v->b, ll->y) so that
"borrozo", "reyeno" or "vien" match "borroso", "relleno", "bien":

- DANGER_SIGNS: a symptom vocabulary grouped by triage sign (vision, breathing, swallowing, speech,
  chest, consciousness, bleeding, fever, spreading redness/swelling, skin colour, numbness, pain...).
  RED_FLAGS are an emergency on their own; LINKED_SIGNS (fever, dizziness, racing heart, trembling,
  cold sweat, pain that keeps growing despite painkillers, numbness that persists for days or burns)
  only with a link to a recent procedure or a second danger sign.
- PROCEDURE: the link to a recent procedure ("me pusieron", "after the filler", "desde la extracción").
- Cues that make a message ordinary, each with its own reach:
  * a negation covers its own phrase, over auxiliaries and quantifiers ("sin fiebre ni mucho dolor",
    "nada muy fuerte"), not a later clause ("no sé por qué veo borroso");
  * a general or hypothetical question ("¿el botox puede causar...?", "what should i do if"), worry
    about something imagined ("me da miedo sangrar"), a procedure still ahead ("¿me puedo poner bótox
    el sábado?") or a habit ("me desmayo con facilidad") frames its own sentence, unless the message
    says the problem is happening now ("desde ayer", "hace media hora", "se me está poniendo", "right
    now"); a bare "tengo miedo" or a fear about the present ("miedo de que sea una infección") frames
    nothing;
  * an episode that is over ("pero se le pasó enseguida") calms its sentence unless something in it
    is still going on ("sigo", "otra vez", "still");
  * a figurative use, a past resolved event, or a message asked ahead / about warning signs in general
    calms the whole message unless it says "now"; laughter calms it even then, except a red flag said
    to be still going on;
  * a mild or announced course ("un poco", "el papel decía que pasa hasta el día 3") outweighs the
    signs that are expected in mild form after some procedures (facial swelling, a burn-like skin).
- Ordinary symptoms (pain, swelling, bruising, bleeding) are an emergency only when current AND severe.

`assess` returns the verdict with reasons such as "emergency:vision+procedure", and, for a message
that is not an emergency by the rules, whether a danger sign and a procedure co-occur (`uncertain`)
so the router can hand off when its classifier is unsure, or whether the message carries a calming
cue (`reassuring`) so the router does not escalate it on the classifier alone.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


def normalize(text: str) -> str:
    """Lowercase, no accents, runs of 3+ equal letters squeezed ("muchooo" -> "mucho")."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    folded = re.sub(r"(\w)\1{2,}", r"\1", folded)
    return re.sub(r"\s+", " ", folded).strip()


def phonetic(text: str) -> str:
    """Spanish spelling confusions folded together; applied to both the text and the patterns."""
    return text.replace("ll", "y").replace("z", "s").replace("v", "b")


class Vocabulary:
    """Alternatives compiled once as written and once phonetically folded; a hit in either counts."""

    def __init__(self, *patterns: str):
        self.plain = re.compile("|".join(f"(?:{p})" for p in patterns))
        self.folded = re.compile("|".join(f"(?:{phonetic(p)})" for p in patterns))

    def spans(self, t: str, ft: str) -> list[tuple[str, int]]:
        """(text, start) of every hit: in `t`, then in its phonetic fold `ft` (same length as `t` up to ll->y)."""
        return [(t, m.start()) for m in self.plain.finditer(t)] + [(ft, m.start()) for m in self.folded.finditer(ft)]

    def search(self, t: str, ft: str) -> bool:
        return bool(self.plain.search(t) or self.folded.search(ft))


def _vocab(groups: dict[str, tuple[str, ...]]) -> dict[str, Vocabulary]:
    return {name: Vocabulary(*patterns) for name, patterns in groups.items()}


# ---------------------------------------------------------------- danger signs (red flags)
# An emergency on their own, when the writer (or someone with them) has them now.
RED_FLAG_PATTERNS: dict[str, tuple[str, ...]] = {
    "breathing": (
        r"\bno (puedo|podia|puede|logro|pudo|consigo) respirar", r"\bno pu\w* respirar", r"sin poder respirar",
        r"\b(me |le )?cuesta (mucho |un buen )?respirar", r"dificultad (para|al) respirar", r"respir\w* (mal|con dificultad)",
        r"\b(me |le )?falta (el )?aire", r"\bme ahogo\b", r"\bahogando", r"\bno respira", r"respirar bien",
        r"garganta (se me )?(cierra|cerrando|cerrada)", r"se (me|le) cierra la garganta", r"(cerrando|cierra) la garganta",
        r"garganta.{0,15}(apretad|cerr)", r"pecho apretado", r"me aprieta el pecho",
        r"no (me )?entra (el |nada de )?aire", r"\basfixi", r"respiracion (agitada|entrecortada|dificil|rara)",
        r"no (puedo|alcanzo a|logro) (jalar|agarrar|tomar|meter) aire", r"silb\w* (al respirar|el pecho)",
        r"can'?t (breathe?|breth|catch my breath|get (enough )?air)", r"gasping", r"struggling for (air|breath)", r"cannot breathe", r"(trouble|difficulty|struggling) breathing",
        r"hard to (breathe|breth)", r"short(ness)? of breath", r"throat.{0,20}(closing|tight|swelling)", r"wheez",
    ),
    "swallowing": (
        r"(cuesta|dificulta)\w*.{0,15}(pasar saliva|tragar|pasar (la )?comida|pasar bocado)",
        r"\bno (puedo|puede|logro) (ni )?(tomar|beber) (agua|liquidos)",
        r"\bno (puedo|puede|logro) (tragar|pasar saliva|pasar bocado)", r"dificultad (para|al) tragar",
        r"se (me|le) (atora|atoran|atasca|atascan|atranca|queda|quedan) (todo|la comida|el agua|los bocados|el bocado|la saliva)",
        r"\bno (puedo|puede|logro|consigo) pasar (bien |ni )?(la |el |los |las )?(comida|bocados?|saliva|agua|liquidos|pastillas?)",
        r"(bocados?|comida|saliva)\b.{0,25}\b(atorad|atascad|atrancad)",
        r"(food|water|pills?) (gets?|keeps getting|is getting) stuck", r"can'?t (get|keep) (food|water|anything) down", r"\batragant", r"\bme ahogo (con|al) (la comida|el agua|tomar|comer)",
        r"(hard|difficult|trouble|struggl\w*|can'?t|cannot|unable) (to )?swallow", r"swallowing (is |feels )?(hard|difficult)",
        r"choking on (water|food|my)",
    ),
    "speech": (
        r"arrastr\w* (las )?palabras", r"hablo (medio |muy |re )?(trabad|rar|mal|enredad)", r"se (me|le) traba la lengua",
        r"\b(no )?(puedo|puede) (hablar|articular) bien", r"(cuesta|dificulta) hablar", r"habla (medio |muy |re )?(rar|trabad|mal|enredad)",
        r"lengua (trabada|pesada|dormida y no puedo hablar)", r"voz (rara|extrana|gangosa)",
        r"no me salen (bien )?las palabras", r"hablo como (borrach|dormid)", r"lengua (torpe|pesada)", r"balbuce",
        r"slurr", r"can'?t get (the |my )?words out", r"words (come|are coming) out (wrong|weird|slurred)", r"(trouble|hard|difficult\w*|struggl\w*) (to )?(speak|talk)", r"speech (is |sounds )?(weird|off|strange)",
        r"voice sounds (weird|strange|off)",
    ),
    "vision": (
        r"\bveo (medio |un poco |como |todo |re |bien |con )?(borroso|doble|mal|nublado|negro|oscuro|manchas|manchitas|destellos|luces|sombras)",
        r"\bveo\b.{0,20}\b(puntos|puntitos|manchas|manchitas|destellos|luces|sombras|borroso|doble|nublado)",
        r"\b(viendo|ver|ve|ven|veia|vi) (puros |unos |como |todo )?(destellos|borroso|doble|manchas negras|luces|sombras|nublado)", r"vista.{0,20}(borrosa|nublada|doble|oscura|negra)",
        r"vision (borrosa|doble|nublada)", r"(perdi|perdido|perdiendo|perdio|pierdo) (parte de |un poco de |algo de )?(la )?(vista|vision)",
        r"(sombra|cortina|telilla|tela|nube|velo|mancha)\w* (negra |oscura )?(que )?(me |le )?(tapa|cubre)",
        r"\bveo (con |una |como una )?(sombra|cortina|telilla|velo|nube)", r"\b(ciega|ciego|cegad)\w*",
        r"se (me|le) (nublo|oscurecio|fue) la vista", r"\bno (distingo|enfoco)\b",
        r"\bno (veo|ve) (nada|bien|claro|casi nada|de (un|este|el|mi) ojo|con (el|un|este|mi) ojo|por (el|un|este) ojo)", r"\bno (ve|ven) (bien|nada)",
        r"(ojo|parpado|ceja)\w*.{0,20}\b(cay|caid)", r"se (me|le) (cayo|cae) (el )?(ojo|parpado)", r"no (lo|la) puedo (abrir|levantar)",
        r"(blurr|blurry|blurred)", r"can'?t see", r"\bsee(ing)? (double|blurry|spots|flashes|black|dark|shadows)", r"double vision", r"(vision|sight) (went|is going|going) (dark|black|blurry)",
        r"lost (my |the |some |part of (my |the ))?(vision|sight)", r"\blook(s|ing)? (double|blurry|blurred|dim|foggy|hazy)",
        r"(vision|sight|eye) (is |has gone |went |looks )?(blurry|dim|foggy|hazy|cloudy|dark)", r"\bblind\b", r"(dark|black) (spots|patches|curtain)", r"\bflash(es|ing)? of light",
        r"(eyelid|eye|brow) (is |looks )?(drooping|droopy)", r"droop", r"half (shut|closed)",
    ),
    "facial_weakness": (
        r"(boca|cara|jeta|labio|sonrisa) (se me |se le )?(cayo|caido|caida|chueca|chueco|torcida|torcido|ladeada)",
        r"\b(boca|cara|jeta|labio|sonrisa|ojo|parpado)\b.{0,12}\b(chuec|torcid|ladead|desviad)",
        r"\bno puedo (mover|cerrar|abrir) (el|la|mi)", r"paraliz", r"se me sale el agua (al|cuando) (tomar|beber)",
        r"\bno (puedo|puede) (ni )?(chupar|sorber|silbar)", r"mitad de la cara", r"can'?t (raise|move|close|open) my",
        r"face (is )?(drooping|droopy|paralyz)",
    ),
    "chest": (
        r"dolor (en el|de|del) pecho", r"(dolor|presion|opresion|punzada|peso|apreton)\b.{0,20}\b(pecho|torax)\b", r"(me|le) duele el pecho", r"presion en el pecho", r"opresion (en el )?pecho",
        r"dolor.{0,30}brazo izquierdo", r"(punzada|peso|apreton|presion|opresion) (en el|del|en mi) pecho",
        r"(me )?(oprime|aprieta|pesa|quema) (el|mi) pecho", r"pecho (me )?(duele|aprieta|oprime|pesa)", r"chest (pain|tight|pressure|hurts|feels (tight|heavy))", r"pressure on (my|her|his) chest", r"pain in (my|the|her|his) chest", r"tight chest",
    ),
    "consciousness": (
        r"desmay", r"desvanec", r"perdi\w* (el )?conocimiento", r"\bno (reacciona|responde|despierta)\b",
        r"\bse (me |le )?(fue|va) la onda\b", r"\bsoponcio", r"\bpatatus", r"\byeyo\b", r"perdi\w* el sentido",
        r"se (me|le) fue el mundo", r"\bse (cayo|desplomo) (redond|al suelo|al piso)", r"ojos en blanco",
        r"unresponsive", r"went limp", r"won'?t wake", r"\bvahido\b", r"\bconvulsion", r"\bse (desplomo|descompuso)\b",
        r"\bfaint(ed|ing)?\b", r"passed out", r"pass(ing)? out", r"blacked out", r"lost consciousness", r"collapsed",
        r"(isn'?t|not|is not) (responding|waking)", r"\bseizure",
    ),
    "allergic_reaction": (
        r"reaccion alergica", r"\bronchas?\b", r"urticaria", r"habones", r"anafila",
        r"se (me|le) (esta |ha )?(hinchando|hincho|hinchado|inflamo|inflamado|inflamando) (toda )?(la )?(cara|lengua|garganta|boca|labios)",
        r"(pica|picor|comezon).{0,10}garganta", r"garganta.{0,10}(pica|picor)", r"itchy throat",
        r"lengua (hinchada|inflamada)", r"(pica|picor|comezon|ronchas|granos|sarpullido).{0,20}todo el cuerpo",
        r"(rash|itch\w*|welts|bumps) all over", r"allergic reaction", r"\bhives\b", r"(tongue|throat|face) (is )?(swelling|swollen)",
    ),
    "skin_colour": (
        r"poniendo (muy )?(blanc|gris|palid|azul|moteada)", r"(blanc|white|palid|pale).{0,10}\b(y|and) (fri|cold|helad)",
        r"(violeta|morad|purple|blue|azul|gr[ae]y|gris).{0,30}(fri[ao]|helad|cold|arde|ardor|burn)",
        r"(fri[ao]|helad|cold).{0,30}(violeta|morad|purple|blue|azul|blanc|white)",
        r"(se (me|le) )?(puso|pone|esta|quedo|ve|veo|tengo|tiene) (la piel |el labio |la nariz )?(muy |como )?(blanc|blanquit|blanquec|gris|palid|azulad|violace|amoratad)",
        r"\b(blanquecin|grisace|violace|amoratad|negruzc)\w*",
        r"(piel|labio|zona|nariz|punta).{0,30}(blanc|gris|palid|fri[ao]|helad|moteada|azulad|manchad)",
        r"(blanc|gris|palid|azulad|moteada).{0,30}(relleno|labio|nariz|pusieron)",
        r"turn(ed|ing)? (white|gr[ae]y|pale|blue|purple|dusky)", r"went (all )?(white|gr[ae]y|pale|blue|purple)",
        r"(going|getting|gone|looks?|looking) (white|gr[ae]y|pale|blue|purple|dusky|black|blotchy)", r"blotchy",
        r"cold to the touch", r"mottled", r"bluish", r"\bpalido y\b",
    ),
    "infection": (
        r"\bpus\b", r"supura", r"(sale|sal\w+|bota|drena)\w* (como )?(un )?(liquido|secrecion|pus)", r"huele (muy )?(feo|horrible)", r"infectad", r"infeccion", r"huele (muy )?mal", r"mal olor",
        r"infected", r"infection", r"\bdischarge\b", r"smells? (bad|awful|foul|off|rotten)", r"\bfoul\b", r"oozing", r"weeping",
    ),
    "bleeding": (
        r"sangr\w*.{0,40}no (se )?(detiene|para|deja|corta)", r"\bno (me |le )?(para|deja|se corta|se detiene)\w* (de salir )?(la )?sangre",
        r"(sigo|sigue|siga) sangrando", r"sangra y sangra", r"chorre\w* (de )?sangre", r"sangre.{0,20}(chorre|a chorros)",
        r"coagul\w* (grandes|enormes)", r"sangrando (sin parar|todavia|aun|toda la noche)", r"sangr\w* (mucho|muchisimo|demasiado|sin parar|a chorros|harto|un monton)",
        r"\bno (me |le )?(para|deja) de sangrar", r"hemorragia", r"sangrado (abundante|fuerte)",
        r"(botando|saliendo|sale|bota) (mucha |harta )?sangre", r"mucha sangre", r"empap\w*.{0,20}(gasas?|sangre)",
        r"bleeding.{0,30}(won'?t|doesn'?t|does not|not|wont) stop", r"(won'?t|doesn'?t|does not|will not) stop bleeding",
        r"bleeding (a lot|heavily|badly|nonstop|non-stop|all night)", r"heavy bleeding", r"blood (keeps|is) (gushing|pouring|coming)", r"gushing",
        r"\b(been|keeps|still) bleeding", r"bleeding (through|for (hours|\d+ hours))", r"soak\w* (the |through )?(gauze|pillow)",
        r"sangr\w*.{0,30}(hace|desde hace|por|durante) (\d+|dos|tres|varias) horas",
    ),
    "spreading": (
        r"(rojez|rojo|roja|enrojecimiento|hinchazon|inflamacion|hinchad\w*|mancha|cara|mejilla|cachete).{0,40}"
        r"(extendiendo|expandiendo|extiende|crece|creciendo|avanza|avanzando|aument|sigue (inflando|hinchando))",
        r"se (me |le )?(sigue|esta|va) (inflando|hinchando)", r"en vez de (bajar|desinflamar|deshinchar|mejorar)",
        r"(va|baja|bajando|sube|subiendo|pasa|pasando|corre|extiende)\w* (hacia|hasta|para) (el |la |los |mi )?"
        r"(ojo|cuello|oreja|pecho|parpado|garganta)",
        r"se (me |le )?(esta )?(extendiendo|expandiendo|extiende) (la |el )?(rojez|hinchazon|inflamacion|rojo)",
        r"(hinchazon|inflamacion|hinchado|hinchada).{0,40}(me |le )?llega (al|hasta el) (ojo|cuello)",
        r"se (me|le) esta hinchando (toda |la )?(cara|cuello)",
        r"(redness|swelling|rash).{0,30}(spreading|growing|getting bigger)", r"spreading (up|down|across|to)", r"red streaks?", r"(moving|going) (up|down|toward)",
        r"(bigger|worse) (and (bigger|worse)|every (hour|day))",
    ),
    "dental_trauma": (
        r"se (me|le) (cayo|salio|partio|quebro|rompio) (todito |completo )?(un |el |la |una )?(diente|muela|paleta)",
        r"\bse (me |le )?(partio|quebro|rompio|cayo) (un |el |la |una )?(diente|muela|paleta)",
        r"(diente|muela) (partid|quebrad|rot)\w*.{0,40}(sangr|duele|dolor)", r"absceso", r"flemon",
        r"knocked .{0,20}tooth", r"tooth .{0,10}\bout\b", r"severe (tooth|pain|ache)", r"knocked out",
        r"tooth (fell|came) out", r"broke (a|my) tooth", r"abscess",
    ),
    "facial_swelling": (
        r"(cachete|mejilla|cara|encia|ojo|parpado)\b.{0,10}(inflam|hinch)", r"se (me|le) (inflamo|hincho) (el cachete|la cara|la mejilla)",
        r"(face|cheek|jaw|eye) (is |has )?(swollen|swelled|puffed)", r"swelling (in|of) (my|her|his) (face|cheek|jaw)",
    ),
    "burn": (
        r"quemadura", r"ampolla", r"me quem[oe]", r"se quem[oe]", r"\bquemad[ao]\b", r"\bblisters?\b", r"\bburn(ed|s)\b",
    ),
    "self_harm": (
        r"don'?t want to live", r"no quiero seguir viviendo", r"me quiero morir", r"quitarme la vida", r"suicid",
        r"matarme", r"no quiero vivir", r"kill myself", r"end my life", r"hacerme dano",
    ),
}

# ---------------------------------------------------------------- danger signs linked to a procedure
# An emergency with a link to a recent procedure (or a second danger sign), not on their own.
LINKED_SIGN_PATTERNS: dict[str, tuple[str, ...]] = {
    # fever alone ("mi hija tiene fiebre, ¿movemos la cita?") is not a clinic emergency; with a recent
    # procedure or a second sign (pus, a hot swelling) it is
    "fever": (
        r"(bulto|zona|lump|bump|labio|area|mejilla|encia|herida|cachete).{0,25}(caliente|hot\b)", r"\bfiebre", r"\bcalentura",
        r"escalofrio", r"temperatura (alta|de 3[89])", r"\b3[89]([.,]\d)? ?(de fiebre|grados|°)", r"\bfebril",
        r"\bfever", r"\bchills\b", r"\bhigh temp", r"hot to the touch",
    ),
    "dizziness": (
        r"\bmare(o|a|ad|ando|arme|e|ado)", r"me da vueltas", r"todo (me )?da vueltas", r"vertigo",
        r"\baturdid", r"se me va la cabeza", r"\bdizz", r"light ?headed", r"(room|everything) (is )?spinning", r"\bwoozy",
    ),
    "racing_heart": (
        r"taquicardia", r"palpitacion", r"corazon (a mil|acelerado|muy rapido|se me sale|me late (muy|re) (rapido|fuerte))",
        r"(corazon|pulso)\b.{0,20}(a mil|a full|acelerad|rapid|desbocad|se me sale|galop|como loco|muy fuerte|re fuerte)",
        r"pulso (muy |re )?(acelerado|rapido)",
        r"heart (is |was |keeps )?(racing|pounding|fluttering|beating (really |very |so )?(fast|hard))", r"pulse (is )?racing", r"racing heart", r"palpitation",
    ),
    "trembling": (
        r"tembl", r"tirit", r"\bshak(ing|y)\b", r"trembl", r"\bshivering",
    ),
    "cold_sweat": (
        r"sud\w* fri[oa]", r"sudores? fri[oa]s?", r"transpir\w* fri[oa]", r"sudando (a mares|a chorros|muchisimo)",
        r"empapad\w* (de|en) sudor", r"cold sweat", r"sweating (a lot|buckets)", r"clammy", r"cold and sweaty",
    ),
    "numbness": (
        r"no siento (la|el|mi) (cara|labio|boca|brazo|lengua|barbilla|menton)", r"sin sentir (la|el)",
        r"\b(dormid|adormecid|entumid|entumecid|insensible|acalambrad|acorchad)", r"sin sensibilidad", r"hormigue", r"\bcorcho\b",
        r"\bno siento (nada en )?(la|el|mi|los|las) (cara|labio|boca|lengua|barbilla|menton|mejilla|brazo|pierna)",
        r"\bnumb", r"can'?t feel (my|her|his)", r"tingl", r"pins.and.needles",
    ),
    "pain": (
        r"(dolor|duele).{0,60}(va a mas|cada vez (es |esta |se pone )?(mas|peor)|empeora|aumenta|no (se me )?(pasa|quita|calma)|en vez de (bajar|mejorar))",
        r"(calmantes?|pastillas?|analgesicos?|ibuprofeno|paracetamol|acetaminofen|tylenol|advil|dolex|ketorolaco|naproxeno|"
        r"nolotil|metamizol|diclofenaco|tramadol).{0,30}(no (me )?(hacen?|sirven?|calman?|funcionan?|quitan?)|nada|ni cosquillas)",
        r"\bni con (el |la |las |los )?(calmantes?|pastillas?|analgesicos?|ibuprofeno|paracetamol)",
        r"(dolor|duele).{0,60}\b(tome|tomado|probado) de todo\b",
        r"(pain|ache).{0,30}(worse|getting worse|worsening|won'?t go away)", r"(painkillers|pills|ibuprofen|tylenol|advil|paracetamol|meds)\b.{0,15}(don'?t|do not|aren'?t|isn'?t|not) (work|help|do)",
        r"\b(arde|quema|ardor|burns|burning)\b.{0,20}(cada vez|mas|worse)",
    ),
    "eye_pain": (
        r"(duele|dolor|presion).{0,20}(detras del|el|en el|los) ojos?", r"(eye|eyes) (hurts?|pain)", r"pain (behind|in) (my|her|his) eye",
    ),
    "unwell": (
        r"me siento (muy |re |bien |super |como )?(mal|rar[oa]|fatal|pesim|maluc|fatal)", r"estoy fatal", r"\bfeel (really |very )?(weird|awful|terrible|off|faint)",
        r"\bno reacciono bien",
    ),
}

# Numbness is a danger sign when it lasts (days) or turns into burning/pain; right after an
# anaesthetic it is expected.
NUMBNESS_PERSISTS = Vocabulary(
    r"\b(\d+|dos|tres|cuatro|cinco|seis|siete|varios|unos|muchos|several|few) (dias|days)", r"\bsemana", r"\bweek",
    r"ya van", r"\bllevo\b", r"\b(ahora|now) (me |it )?(arde|quema|duele|burns|hurts)", r"\bcon ardor", r"\bpica y arde",
    r"(duele|arde|burns|hurts|getting) (mas|more|worse)", r"\bme quema\b",
    # a weekday named means days ago, not the anaesthetic of this morning
    r"\b(ayer|anteayer|antier|yesterday)\b", r"\b(el|desde el|on|since) (lunes|martes|miercoles|jueves|viernes|sabado|domingo|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday)",
    r"\b(burning|ardor|quemazon|pins.and.needles|corrientazos?|calambres?)\b",
)

# ---------------------------------------------------------------- the link to a procedure
PROCEDURE = Vocabulary(
    r"rel?leno", r"\bfill?er", r"(acido )?hialuronic", r"\bbot?o?x", r"toxina", r"\btoxin", r"neuromodulador",
    r"extrac(cion|ion|tion|ted)", r"extraj", r"\bsacaron (la|una|el|las)", r"pulled (my|her|his|a)", r"\bcordal", r"muela del juicio",
    r"wisdom (tooth|teeth)", r"\bimplant", r"endodoncia", r"\bconducto", r"root canal", r"cirugia", r"\bsurgery",
    r"peeling", r"\bpeel\b", r"laser", r"depilacion", r"\bsesion", r"\bsession", r"tratamiento", r"treatment", r"procedure",
    r"procedimiento", r"me (pusieron|hicieron|aplicaron|inyectaron|sacaron|extrajeron|pinchar|han puesto|han hecho)",
    r"(le|les|nos) (pusieron|hicieron|aplicaron|inyectaron|sacaron|han puesto|han hecho)", r"me puse\b",
    r"i?n?yecc", r"inyect", r"injec", r"\bshot\b", r"anestesia", r"anesthe", r"sedacion", r"sedation", r"\blipo",
    r"mesoterapia", r"sueroterapia", r"\bsuero\b", r"\biv drip", r"\bdrip\b", r"bichectomia", r"rinomodelacion", r"\bhilos\b",
    r"blanqueamiento", r"limpieza", r"aplicacion", r"\bcamilla\b", r"after (the|my|her|his)",
)

# ---------------------------------------------------------------- cues that the message is ordinary
# The sign is denied: "no tengo fiebre", "ya no veo borroso", "no fever".
# The negator reaches over auxiliaries, pronouns and quantifiers only, so "no" negates its own phrase
# ("sin fiebre ni mucho dolor", "nada muy fuerte") and not a later clause ("no sé por qué veo borroso").
NEGATION_BEFORE = re.compile(
    r"(?:\b(?:no|ni|sin|nunca|nada|ya no|not|never|without|no longer|don'?t|didn'?t|doesn'?t|isn'?t|wasn'?t|nothing)\s+"
    r"(?:(?:tengo|hay|tiene|siento|me|le|he|ha|have|has|had|any|a|feel|felt|see|mas|more|tuve|tuvo|dio|es|esta|"
    r"muy|mucho|mucha|tan|tanto|tanta|demasiado|so|too|that|very|much|really|el|la|los|las|un|una|the)\s+){0,3})$")
# A general question, something that could happen, or a question before a procedure.
HYPOTHETICAL = Vocabulary(
    r"\bes normal que\b", r"\bes normal (sentir|tener|que)\b", r"\bpuede(n)? (causar|dar|provocar|salir|haber|quedar|dejar|afectar)",
    r"\bme puede(n)? (dar|dejar|causar|quedar)", r"\bpodria\b", r"\bva a (doler|quedar|salir|sangrar)", r"\b(me|le|se me|se le) va a \w+(ar|er|ir)(me|le|se)?\b",
    r"\bvoy a tener\b", r"\bduele\?", r"\bdolera\b", r"\bque pasa si\b", r"\bque hago si\b", r"\bsi me (sale|pasa|da|pongo)\b",
    r"\briesgos?\b", r"\befectos? secundario", r"\bcontraindicac", r"\bantes de\b", r"\bpara saber\b", r"\bpor si acaso\b",
    r"\bsintomas de\b", r"\bsenales de\b", r"\bdebo vigilar\b", r"\bes (peligroso|seguro|riesgoso)\b", r"\bcuanto es normal\b",
    r"\b(deja|dejan|da|causa|provoca) (la |el )?\w+ (hinchad|inflamad|morad|dormid)\w*\?",
    r"\bcuanto (tiempo )?(dura|queda)", r"\bhe leido\b", r"\bme han dicho\b",
    r"\bis it normal\b", r"\bcan (it|botox|filler|the|a)\b", r"\bwill (it|i)\b", r"\bwould\b", r"\bcould\b", r"\bwhat if\b",
    r"\bside effects?\b", r"\brisks?\b", r"\bdoes (it|botox|the)\b.{0,20}\bhurt\b", r"\bbefore\b", r"\bsoy alergic",
    r"\bi'?m allergic", r"\bcan i\b", r"\bpuedo (hacerme|ir|venir|tener)\b", r"\bsigns of\b", r"\bwhat are the\b",
    r"\b(es|son) (muy |re |super )?doloros[oa]s?\b", r"\b(duele|dolera|sangra) (mucho|harto|caleta)\?",
    r"\bis it (very |really )?painful\b", r"\bdoes it (bleed|hurt) (a lot|much)\b",
    r"\bis it safe\b", r"\bhow long does\b", r"\bi heard\b", r"\bjust in case\b",
    # a condition: "qué hago si me salen ronchas", "what should i do if i get hives", "en caso de"
    r"\b(que (hago|hacer|debo hacer)|a quien (llamo|aviso)) (si|en caso)\b", r"\ben caso de\b", r"\bsi llegara\b",
    r"\bwhat (should|do|would) (i|we|she|he) do if\b", r"\bif (i|she|he|my|it|there'?s?) (get|gets|have|has|start|starts|notice|feel|were|was)\b",
    r"\bin case\b", r"\bwhat happens if\b", r"\ba partir de (cuant|que)", r"\b(at what|how high a) (point|temperature|fever)\b", r"\bhypothetically\b", r"\bpor ejemplo\b", r"\bfor example\b",
)
# The whole message is asked ahead or for information ("¿es normal que supure? pregunto antes de
# hacérmela", "asking before i get mine done"): unlike the cues above it frames every sentence.
ASKING_AHEAD = Vocabulary(
    r"\bpara saber\b", r"\bpor si (acaso|las moscas)\b", r"\bpregunto (antes|por si|para)\b", r"\bantes de (hacerme|ponerme|que me)\b",
    r"\basking (before|just|for (a friend|info))\b", r"\bjust in case\b", r"\bbefore i (get|book|have|do|go)\b",
    # warning signs asked about in general
    r"\b(senales|signos|sintomas) de (alarma|alerta)\b", r"\b(que|cuales) (senales|signos|sintomas)\b.{0,30}\b(vigilar|cuidar|fijarme)",
    r"\bwarning signs\b", r"\bwhat (should|do|must) (i|we) (watch|look) (out )?for\b", r"\bred flags\b",
)
# Something that happens to the writer as a habit, not a present event ("me desmayo con facilidad
# cuando me sacan sangre", "i always get dizzy with needles").
HABITUAL = Vocabulary(
    r"\bcon facilidad\b", r"\bfacilmente\b", r"\bsiempre que\b", r"\bcada vez que\b", r"\bsuelo\b", r"\btiendo a\b",
    r"\bme pasa (siempre|seguido|a menudo|con)\b", r"\bsoy (muy |re |super )?(propens|aprensiv|impresionable|de las que|de los que)",
    r"\b(fobia|phobia)\b", r"\bme impresiona(n)? (la sangre|las agujas|ver)", r"\bcuando (me |le )?(sacan|saca|ve|veo|ven|pinchan|pican) (sangre|agujas?|la aguja|una aguja)",
    r"\b(se|me|le) \w+ (facil|facilito|rapido)\b",
    # a general question about a kind of patient
    r"\b(personas|gente|pacientes) (que|con)\b", r"\b(people|patients) (who|with|that)\b",
    r"\beasily\b", r"\bwhenever\b", r"\bi (always|usually|tend to)\b", r"\bevery time\b", r"\bprone to\b",
)
# Worry before a procedure.
PRE_PROCEDURE = Vocabulary(
    # fear of something imagined ("me da miedo sangrar", "miedo de que duela"); a bare "tengo miedo" or a
    # fear about what is happening ("miedo de que sea una infección") frames nothing
    r"\b(miedo|panico|terror|nervios|cosa)( de| a| al| por)? (que (?!sea|este|tenga)|\w+(ar|er|ir)(me|le|se)?\b|la |el |los |las )",
    r"\bme (asusta|preocupa) (que (?!sea|este|tenga)|\w+(ar|er|ir)(me|le|se)?\b)",
    r"\bcuando me (saquen|pongan|hagan|pinchen|inyecten|apliquen)\b", r"\bnervios[ao] (por|con|antes)\b",
    r"\bmanana me (sacan|ponen|hacen|toca)", r"\b(me van a|voy a) (sacar|poner|hacer)", r"\btengo (cita|turno|hora) (el|para|manana)",
    r"\bla (otra|proxima) semana\b", r"\bquiero hacerme\b",
    r"\b(nervous|scared|afraid|worried|terrified) (about|of|for|before|that (?!it'?s)|the|to|it will|i'?ll)\b",
    # the procedure is still ahead: "¿me puedo poner bótox el sábado?", "puedo ir igual a la depilación?"
    r"\b(me )?(puedo|podre|pueden|podrian) (ir|venir|poner|hacer|aplicar|sacar|hacerme|ponerme|aplicarme)\b",
    r"\b(can|may|should) i (still )?(get|have|come|go|do|book)\b", r"\b(lo|la) (muevo|cambio|reprogramo|aplazo)\b",
    r"\b(mover|cambiar|reprogramar|aplazar|cancelar|agendar|reservar) (la |mi |su |una )?(cita|hora|turno|sesion|reserva)",
    r"\b(reschedule|move|cancel|book) (my|her|his|the|an?) (appointment|session|visit)",
    r"\btomorrow\b", r"\bnext week\b", r"\basking before\b", r"\bthinking (of|about) getting\b", r"\bwhen i get\b",
)
# A past event that is over.
RESOLVED = Vocabulary(
    r"\bya (estoy|me siento|esta|quedo) (bien|perfect)", r"\bya (paso|se (me |le )?(bajo|quito|paso|fue|curo))", r"\bya curad",
    r"\bel ano pasado\b", r"\b(la ultima|la otra|la) vez (pasada|que)\b", r"\bla ultima vez\b", r"\blast time\b", r"\bhace (\w+ )?(anos|meses)\b", r"\buna vez\b", r"\ben otra clinica\b",
    r"\bfine now\b", r"\b(went|has gone|gone) down\b", r"\bgone now\b", r"\byears ago\b", r"\bonce\b", r"\bmonths ago\b",
    r"\bresolved\b", r"\blast year\b", r"\bya no (me |le )?(veo borroso|veo doble|duele|sangra|arde|tengo|tiene)",
    r"\bfue solo (por|un|una)\b", r"\bno longer (blurry|bleeding|swollen)",
    r"\bse (me|le) (paso|quito|fue|bajo) (enseguida|rapido|al rato|en (un|unos) (rato|minutos|segundos)|sol[oa])",
    r"\bpero (ya )?se (me|le) (paso|quito|fue|bajo)\b", r"\b(passed|went away|wore off) (quickly|right away|after a (few|couple))",
)
# Figurative, joking or enthusiastic uses.
# Laughter: no one in an emergency laughs about it, so it calms even a message set in the present.
LAUGHTER = Vocabulary(r"\bj[ae](j[ae])+\b", r"\bjsjs", r"\blol\b", r"\blmao\b", r"\bhaha", r"\bxd\b")
FIGURATIVE = Vocabulary(
    r"\b(precio|presupuesto|cotizacion|price|bill|quote)",
    r"\b(me )?duele que\b", r"\bit hurts that\b", r"\bme muero (por|de (la risa|ganas|amor|emocion))", r"\bdying to\b", r"took my breath away", r"\bde la emocion\b",
    r"\blo bien que\b", r"\bsin respiracion lo\b", r"\bde lo (brillante|lindo|bonito)",
)
# A mild, expected effect asked about.
MILD = Vocabulary(
    r"\bun poco\b", r"\bun poquito\b", r"\bpoquito\b", r"\bleve\b", r"\bliger[ao]\b", r"\bchiquit", r"\bpequen",
    r"\bmoretoncito", r"\bbultito", r"\bbolitas?\b", r"\balgo (tirante|rojo|hinchad|sensible)", r"\bnormal\?", r"\bse pasa\?",
    r"\bse quita(n)? sol[oa]s?\b", r"\bse bajan? sol[oa]s?\b", r"\ba (little|bit)\b", r"\bslight", r"\bsmall\b", r"\bmild\b",
    r"\bnormal right\b", r"\balgo (mas )?(tirante|roj|hinchad|inflamad|sensible|morad)",
    # the course the clinic announced: "el papel decía que pasa hasta el día 3", "as the leaflet said"
    r"\b(el papel|la hoja|las indicaciones|el folleto|la doctora|el doctor|me dijeron|me explicaron)\b.{0,30}"
    r"\b(decia|dijo|dijeron|explic|normal|esperable|esperado|hasta el dia)",
    r"\b(leaflet|instructions|the doctor|they told me)\b.{0,30}\b(said|normal|expected|up to day)",
    r"\b(siguiendo|sigo) (la crema|las indicaciones|el tratamiento pautado)",
    r"\bcomo (esperaba|me (dijeron|explicaron|avisaron)|era de esperar)\b", r"\bsegun (lo que )?(me (dijeron|explicaron)|las indicaciones)",
    r"\bas (expected|they (said|told me)|the doctor said)\b",
)
# A comparison, not the sign itself: "como con una quemadura solar", "like a sunburn".
SIMILE_BEFORE = re.compile(r"\b(?:como|tipo|like|as if)\s+(?:(?:con|si|una?|a|de|tuviera|had)\s+){0,3}$")
# Signs that are expected, in mild form, after some procedures (swelling, a burn-like redness after a
# laser): a mild or announced-course cue outweighs them, unlike breathing or vision.
SOFT_SIGNS = ("facial_swelling", "burn")
# The problem is happening now: these override the calming cues above.
STRONG_CURRENT = Vocabulary(
    r"\bdesde (que|el|la|ayer|anoche|hace|esta|hoy|el \w+)\b", r"\bayer\b", r"\banoche\b", r"\bhoy\b", r"\bahora\b",
    r"\bahorita\b", r"\bacabo de\b", r"\bacaban de\b", r"\brecien\b", r"\bsigo\b", r"\bsigue\b", r"\bllevo\b", r"\bya van\b",
    r"\bhace (\d+|un|una|unos|unas|dos|tres|cuatro|cinco|pocos?) (hora|dia|rato|minut|semana)",
    r"\besta (manana|tarde|noche)\b", r"\bme (duele|arde|sangra) (mucho|muchisimo)", r"\bayuda\b", r"\bauxilio\b",
    r"\bsince\b", r"\byesterday\b", r"\btoday\b", r"\bright now\b", r"\bjust (got|had)\b", r"\b(i'?m|am|is|are|it'?s|she'?s|he'?s) still\b",
    r"\bstill (numb|bleed|swollen|dizzy|feel|hav|can|hurt|burn|see|shak)", r"\bkeeps\b",
    r"\bthis (morning|afternoon|evening)\b", r"\bright after\b", r"\bhelp\b", r"\ban hour ago\b",
    r"\bhace (media hora|un ratito|nada)\b", r"\b(minutes|hours|days) ago\b",
    # a sign unfolding now: "se me está poniendo blanca", "my lip is turning purple"
    r"\b(esta|estan|estoy) (poniendo|hinchando|inflando|saliendo|sangrando|cerrando|nublando|extendiendo|expandiendo|"
    r"quemando|ahogando|durmiendo|cayendo|torciendo)",
    r"\b(is|are|'s|'re|am|keeps?) (turning|getting|going|spreading|swelling|bleeding|closing|drooping)\b",
)

RED_FLAGS = _vocab(RED_FLAG_PATTERNS)
LINKED_SIGNS = _vocab(LINKED_SIGN_PATTERNS)

# ---------------------------------------------------------------- ordinary symptoms
SYMPTOM = Vocabulary(r"\bdu?ele\b", r"\bduel[ea]n?\b", r"dolor", r"\bhinchad", r"\bhinchazon", r"inflamad", r"inflamacion",
                     r"\bmorad[oa]", r"moreton", r"hematoma", r"sangr", r"\bhurts?\b", r"\bpain(ful)?\b", r"swollen",
                     r"swelling", r"bruis", r"bleed", r"\bardor\b", r"\barde\b", r"burning", r"\bpica mucho\b",
                     r"\bitch", r"\bbulto\b", r"\blump\b", r"\benrojecid", r"\brojo\b", r"\bred\b")
SEVERE = Vocabulary(r"\bmuy\b", r"\bmucho\b", r"muchisim", r"demasiad", r"horrible", r"insoportable", r"terrible",
                    r"\bfuerte\b", r"\bbrutal\b", r"\bre (hinchad|inflamad|dolor)", r"\bsuper\b", r"\bcada vez mas\b",
                    r"\bempeora", r"\bpeor\b", r"\bno (se me )?(baja|pasa|quita|para)\b", r"\bsevere", r"\bso much\b",
                    r"unbearable", r"\breally bad", r"\bworse\b", r"worsening", r"\ba lot\b", r"\bextrem", r"\bcant take\b",
                    r"\bhuge\b", r"\blike (crazy|hell)\b", r"\bso bad\b", r"\benorme\b", r"\bgigante\b", r"\bdesde hace (\d+|dos|tres|cuatro) dias\b",
                    r"\burgente\b", r"\bemergencia\b", r"\burgencia\b", r"\bayuda\b", r"\bhelp\b", r"\burgent")
# The writer is describing their own (or a companion's) present state.
CURRENT = Vocabulary(
    r"\bme (duele|duelen|arde|pica|sangra|salio|salieron|puse|pusieron|hice|hicieron|aplicaron|quedo|esta)",
    r"\btengo\b", r"\btiene\b", r"\bestoy\b", r"\besta\b", r"\bse me\b", r"\bse le\b", r"\bmi (cara|labio|boca|ojo|"
    r"hij|mama|esposa|novia|diente|muela|encia|piel|frente|nariz|zona)", r"\bdesde\b", r"\bayer\b",
    r"\banoche\b", r"\bhoy\b", r"\bahora\b", r"\bhace (\d+|un|una|dos|tres|unas?|pocos?) (hora|dia|rato|minut)",
    r"\bi have\b", r"\bi'?ve\b", r"\bi'?m\b", r"\bmy\b", r"\bsince\b", r"\byesterday\b", r"\btoday\b",
    r"\bright now\b", r"\bit'?s\b", r"\bis getting\b", r"\bkeeps\b", r"\bsigue\b", r"\bsiento\b", r"\bfeel\b")


@dataclass(frozen=True)
class EmergencyAssessment:
    is_emergency: bool
    reasons: tuple[str, ...]
    # not an emergency by the rules, but a danger sign and a procedure co-occur: let an unsure
    # classifier hand off
    uncertain: bool = False
    # a calming cue (question, worry before, resolved, figurative, mild) and no danger sign
    reassuring: bool = False


# Sentences end at . ! ? or a line break ("..., ¿me puedo poner bótox?" stays one sentence).
SENTENCE_BREAK = re.compile(r"[.!?\n]")
# The event is still going on or came back: this outweighs a "se me pasó" in the same sentence.
ONGOING = Vocabulary(r"\b(sigo|sigue|siguen|todavia|aun|otra vez|de nuevo|volvio|volvi|ahora|ahorita)\b",
                     r"\b(still|again|now|keeps|came back)\b")


def _sentence(text: str, start: int) -> str:
    """The sentence of `text` around position `start`."""
    left = max((m.end() for m in SENTENCE_BREAK.finditer(text, 0, start)), default=0)
    right = SENTENCE_BREAK.search(text, start)
    return text[left:right.end() if right else len(text)]


def _framed(sentence: str, now: bool) -> bool:
    """The sentence asks in general, imagines, worries about what is ahead or tells a habit, and the
    message says nothing of the present ("¿es normal ver borroso? me lo pusieron hace media hora"); or
    the sentence tells of an episode that is over ("se mareó al ver la aguja, pero se le pasó enseguida")
    and nothing in it is still going on."""
    s, fs = sentence, phonetic(sentence)
    if not now and (HYPOTHETICAL.search(s, fs) or PRE_PROCEDURE.search(s, fs) or HABITUAL.search(s, fs)):
        return True
    return bool(RESOLVED.search(s, fs)) and not ONGOING.search(s, fs)


def _counts(name: str, text: str, start: int, now: bool) -> bool:
    """A hit counts unless it is denied in its own phrase, framed as a question or worry in its own
    sentence, or (for a burn) a comparison."""
    before = text[:start]
    if NEGATION_BEFORE.search(before) or _framed(_sentence(text, start), now):
        return False
    return not (name == "burn" and SIMILE_BEFORE.search(before))


def _denied(t: str, ft: str) -> bool:
    """Some sign or symptom is named only to deny it ("no me sangra, no tengo fiebre")."""
    return any(NEGATION_BEFORE.search(text[:start])
               for vocab in (*RED_FLAGS.values(), *LINKED_SIGNS.values(), SYMPTOM) for text, start in vocab.spans(t, ft))


def _present_signs(groups: dict[str, Vocabulary], t: str, ft: str, now: bool) -> list[str]:
    """Groups with at least one hit that counts."""
    return [name for name, vocab in groups.items()
            if any(_counts(name, text, start, now) for text, start in vocab.spans(t, ft))]


def assess(text: str) -> EmergencyAssessment:
    t = normalize(text)
    ft = phonetic(t)
    now = bool(STRONG_CURRENT.search(t, ft))
    red = _present_signs(RED_FLAGS, t, ft, now)
    linked = _present_signs(LINKED_SIGNS, t, ft, now)
    if "numbness" in linked and not NUMBNESS_PERSISTS.search(t, ft):
        linked.remove("numbness")
    mild = bool(MILD.search(t, ft))
    if mild:
        red = [s for s in red if s not in SOFT_SIGNS]
    procedure = PROCEDURE.search(t, ft)
    # resolved, figurative or asked ahead: these speak for the whole message unless it says "now"
    calm = bool(RESOLVED.search(t, ft) or FIGURATIVE.search(t, ft) or ASKING_AHEAD.search(t, ft)) and not now
    # laughter calms the weaker signs always, and a red flag unless the writer says it is still going on
    laughing = bool(LAUGHTER.search(t, ft))
    link = "+procedure" if procedure else ""

    if red and not calm and not (laughing and not ONGOING.search(t, ft)):
        return EmergencyAssessment(True, tuple(f"emergency:{s}{link}" for s in red + linked))
    weak_calm = calm or laughing
    if linked and not weak_calm and (procedure or len(linked) >= 2) and not (mild and not now):
        return EmergencyAssessment(True, tuple(f"emergency:{s}{link}" for s in linked))
    symptom = _present_signs({"symptom": SYMPTOM}, t, ft, now)
    severe = _present_signs({"severe": SEVERE}, t, ft, now)
    if symptom and severe and CURRENT.search(t, ft) and not mild and not weak_calm:
        return EmergencyAssessment(True, (f"emergency:severe_symptom{link}",))
    signs = bool(red or linked)
    uncertain = signs and bool(procedure) and not weak_calm
    reassuring = not signs and (weak_calm or mild or _framed(t, now) or _denied(t, ft))
    return EmergencyAssessment(False, (), uncertain=uncertain, reassuring=reassuring)
