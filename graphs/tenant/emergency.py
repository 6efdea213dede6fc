"""Deterministic emergency detection, modelled on triage protocols. It runs before any other routing
and errs towards a human.

The vocabulary is data, one synonym group per line, matched on normalized text (lowercase, no
accents, runs of letters squeezed) and again on a phonetic fold (z->s, v->b, ll->y) so that
"borrozo", "reyeno" or "vien" match "borroso", "relleno", "bien":

- DANGER_SIGNS: a symptom vocabulary grouped by triage sign (vision, breathing, swallowing, speech,
  chest, consciousness, bleeding, fever, spreading redness/swelling, skin colour, numbness, pain...).
  RED_FLAGS are an emergency on their own; LINKED_SIGNS (dizziness, racing heart, trembling, cold
  sweat, pain that keeps growing, numbness that persists) only with a link to a recent procedure or a
  second danger sign.
- PROCEDURE: the link to a recent procedure ("me pusieron", "after the filler", "desde la extracción").
- Cues that make a message ordinary: a negated sign ("no tengo fiebre"), a general or hypothetical
  question ("¿el botox puede causar...?"), worry before a procedure ("mañana me sacan la muela y me da
  miedo sangrar"), a past resolved event ("ya estoy bien"), a figurative use ("me quedé sin aire con
  esos precios"), a mild expected effect ("un poco de hinchazón, ¿es normal?"). Those cues give way to
  a strong sign that the problem is happening now ("desde ayer", "ahora", "sigo", "right now").
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
        r"can'?t (breathe?|breth|catch my breath)", r"cannot breathe", r"(trouble|difficulty|struggling) breathing",
        r"hard to (breathe|breth)", r"short(ness)? of breath", r"throat.{0,20}(closing|tight|swelling)", r"wheez",
    ),
    "swallowing": (
        r"(cuesta|dificulta)\w*.{0,15}(pasar saliva|tragar|pasar (la )?comida|pasar bocado)",
        r"\bno (puedo|puede|logro) (ni )?(tomar|beber) (agua|liquidos)",
        r"\bno (puedo|puede|logro) (tragar|pasar saliva|pasar bocado)", r"dificultad (para|al) tragar",
        r"se (me|le) atora (todo|la comida|el agua)", r"\batragant", r"\bme ahogo (con|al) (la comida|el agua|tomar|comer)",
        r"(hard|difficult|trouble|struggl\w*|can'?t|cannot|unable) (to )?swallow", r"swallowing (is |feels )?(hard|difficult)",
        r"choking on (water|food|my)",
    ),
    "speech": (
        r"arrastr\w* (las )?palabras", r"hablo (medio |muy |re )?(trabad|rar|mal|enredad)", r"se (me|le) traba la lengua",
        r"\b(no )?(puedo|puede) (hablar|articular) bien", r"(cuesta|dificulta) hablar", r"habla (medio |muy |re )?(rar|trabad|mal|enredad)",
        r"lengua (trabada|pesada|dormida y no puedo hablar)", r"voz (rara|extrana|gangosa)",
        r"slurr", r"(trouble|hard|difficult\w*|struggl\w*) (to )?(speak|talk)", r"speech (is |sounds )?(weird|off|strange)",
        r"voice sounds (weird|strange|off)",
    ),
    "vision": (
        r"\bveo (medio |un poco |como |todo |re |bien |con )?(borroso|doble|mal|nublado|negro|oscuro|manchas|manchitas|destellos|luces|sombras)",
        r"\bveo\b.{0,20}\b(puntos|puntitos|manchas|manchitas|destellos|luces|sombras|borroso|doble|nublado)",
        r"viendo (puros |unos |como )?(destellos|borroso|doble|manchas|luces|sombras)", r"vista.{0,20}(borrosa|nublada|doble|oscura|negra)",
        r"vision (borrosa|doble|nublada)", r"(perdi|perdido|perdiendo|perdio|pierdo) (la )?(vista|vision)",
        r"se (me|le) (nublo|oscurecio|fue) la vista", r"\bno (distingo|enfoco|veo)\b", r"\bno (ve|ven) (bien|nada)",
        r"(ojo|parpado|ceja)\w*.{0,20}\b(cay|caid)", r"se (me|le) (cayo|cae) (el )?(ojo|parpado)", r"no (lo|la) puedo (abrir|levantar)",
        r"(blurr|blurry|blurred)", r"can'?t see", r"\bsee(ing)? (double|blurry|spots|flashes|black|dark|shadows)", r"double vision", r"(vision|sight) (went|is going|going) (dark|black|blurry)",
        r"lost (my |the )?(vision|sight)", r"(dark|black) (spots|patches|curtain)", r"\bflash(es|ing)? of light",
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
        r"dolor (en el|de|del) pecho", r"(me|le) duele el pecho", r"presion en el pecho", r"opresion (en el )?pecho",
        r"dolor.{0,30}brazo izquierdo", r"chest (pain|tight|pressure)", r"pain in (my|the|her|his) chest", r"tight chest",
    ),
    "consciousness": (
        r"desmay", r"desvanec", r"perdi\w* (el )?conocimiento", r"\bno (reacciona|responde|despierta)\b",
        r"\bse (me |le )?(fue|va) la onda\b", r"\bvahido\b", r"\bconvulsion", r"\bse (desplomo|descompuso)\b",
        r"\bfaint(ed|ing)?\b", r"passed out", r"pass(ing)? out", r"blacked out", r"lost consciousness", r"collapsed",
        r"(isn'?t|not|is not) (responding|waking)", r"\bseizure",
    ),
    "allergic_reaction": (
        r"reaccion alergica", r"\bronchas?\b", r"urticaria", r"habones", r"anafila",
        r"se (me|le) (esta |ha )?(hinchando|hincho|hinchado|inflamo|inflamado|inflamando) (toda )?(la )?(cara|lengua|garganta|boca|labios)",
        r"(pica|picor|comezon).{0,10}garganta", r"garganta.{0,10}(pica|picor)", r"itchy throat",
        r"lengua (hinchada|inflamada)", r"allergic reaction", r"\bhives\b", r"(tongue|throat|face) (is )?(swelling|swollen)",
    ),
    "skin_colour": (
        r"poniendo (muy )?(blanc|gris|palid|azul|moteada)", r"(blanc|white|palid|pale).{0,10}\b(y|and) (fri|cold|helad)",
        r"(violeta|morad|purple|blue|azul|gr[ae]y|gris).{0,30}(fri[ao]|helad|cold|arde|ardor|burn)",
        r"(fri[ao]|helad|cold).{0,30}(violeta|morad|purple|blue|azul|blanc|white)",
        r"(se (me|le) )?(puso|pone|esta|quedo|ve|veo|tengo|tiene) (la piel |el labio |la nariz )?(muy |como )?(blanc|blanquit|gris|palid|azulad)",
        r"(piel|labio|zona|nariz|punta).{0,30}(blanc|gris|palid|fri[ao]|helad|moteada|azulad|manchad)",
        r"(blanc|gris|palid|azulad|moteada).{0,30}(relleno|labio|nariz|pusieron)",
        r"turn(ed|ing)? (white|gr[ae]y|pale|blue|purple|dusky)", r"went (all )?(white|gr[ae]y|pale|blue|purple)",
        r"cold to the touch", r"mottled", r"bluish", r"\bpalido y\b",
    ),
    "fever_infection": (
        r"(bulto|zona|lump|bump|labio|area).{0,25}(caliente|hot\b)", r"\bfiebre", r"\bcalentura", r"escalofrio",
        r"\bpus\b", r"supura", r"infectad", r"infeccion", r"huele (muy )?mal", r"mal olor",
        r"\bfever", r"\bchills\b", r"infected", r"infection", r"oozing", r"weeping",
    ),
    "bleeding": (
        r"sangr\w*.{0,40}no (se )?(detiene|para|deja|corta)", r"\bno (me |le )?(para|deja|se corta|se detiene)\w* (de salir )?(la )?sangre",
        r"(sigo|sigue) sangrando", r"sangr\w* (mucho|muchisimo|demasiado|sin parar|a chorros|harto|un monton)",
        r"\bno (me |le )?(para|deja) de sangrar", r"hemorragia", r"sangrado (abundante|fuerte)",
        r"(botando|saliendo|sale|bota) (mucha |harta )?sangre", r"mucha sangre", r"empap\w*.{0,20}(gasas?|sangre)",
        r"bleeding.{0,30}(won'?t|doesn'?t|does not|not|wont) stop", r"(won'?t|doesn'?t|does not|will not) stop bleeding",
        r"bleeding (a lot|heavily|badly)", r"heavy bleeding", r"blood (keeps|is) (gushing|pouring|coming)", r"gushing",
        r"\b(been|keeps|still) bleeding", r"bleeding (through|for (hours|\d+ hours))", r"soak\w* (the |through )?(gauze|pillow)",
        r"sangr\w*.{0,30}(hace|desde hace|por|durante) (\d+|dos|tres|varias) horas",
    ),
    "spreading": (
        r"(rojez|rojo|enrojecimiento|hinchazon|inflamacion|mancha).{0,40}(extendiendo|expandiendo|extiende|crece|creciendo|avanza|avanzando)",
        r"se (me |le )?(esta )?(extendiendo|expandiendo|extiende) (la |el )?(rojez|hinchazon|inflamacion|rojo)",
        r"(hinchazon|inflamacion|hinchado|hinchada).{0,40}(me |le )?llega (al|hasta el) (ojo|cuello)",
        r"se (me|le) esta hinchando (toda |la )?(cara|cuello)",
        r"(redness|swelling|rash).{0,30}(spreading|growing|getting bigger)", r"spreading (up|down|across|to)",
    ),
    "dental_trauma": (
        r"se (me|le) (cayo|salio|partio|quebro|rompio) (todito |completo )?(un |el |la |una )?(diente|muela|paleta)",
        r"(cachete|mejilla|cara)\b.{0,10}(inflam|hinch)", r"se (me|le) (inflamo|hincho) (el cachete|la cara|la mejilla)",
        r"\bse (me |le )?(partio|quebro|rompio|cayo) (un |el |la |una )?(diente|muela|paleta)",
        r"(diente|muela) (partid|quebrad|rot)\w*.{0,40}(sangr|duele|dolor)", r"absceso", r"flemon",
        r"(cara|mejilla|encia) (muy )?(hinchad|inflamad)",
        r"knocked .{0,20}tooth", r"tooth .{0,10}\bout\b", r"severe (tooth|pain|ache)", r"knocked out",
        r"tooth (fell|came) out", r"broke (a|my) tooth", r"abscess",
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
    "dizziness": (
        r"\bmare(o|a|ad|ando|arme|e|ado)", r"me da vueltas", r"todo (me )?da vueltas", r"vertigo",
        r"\bdizz", r"light ?headed", r"room (is )?spinning",
    ),
    "racing_heart": (
        r"taquicardia", r"palpitacion", r"corazon (a mil|acelerado|muy rapido|se me sale|me late (muy|re) (rapido|fuerte))",
        r"corazon.{0,20}(a mil|acelerado|se me sale)", r"pulso (muy |re )?(acelerado|rapido)",
        r"heart (is |was )?(racing|pounding)", r"racing heart", r"palpitation",
    ),
    "trembling": (
        r"tembl", r"tirit", r"\bshak(ing|y)\b", r"trembl", r"\bshivering",
    ),
    "cold_sweat": (
        r"sud\w* fri[oa]", r"sudores? fri[oa]s?", r"transpir\w* fri[oa]", r"cold sweat", r"sweating (a lot|buckets)",
    ),
    "numbness": (
        r"no siento (la|el|mi) (cara|labio|boca|brazo|lengua|barbilla|menton)", r"sin sentir (la|el)",
        r"\b(dormid|adormecid|entumid|entumecid|insensible|acalambrad|acorchad)", r"sin sensibilidad", r"hormigueo", r"\bnumb", r"can'?t feel my", r"tingl",
    ),
    "pain": (
        r"(dolor|duele).{0,30}(va a mas|cada vez (mas|peor)|empeora|aumenta|no (se me )?(pasa|quita|calma))",
        r"(calmantes|pastillas|analgesicos|ibuprofeno).{0,30}(no (me )?(hacen|sirven|calman|funcionan)|nada)",
        r"(pain|ache).{0,30}(worse|getting worse|worsening|won'?t go away)", r"painkillers (don'?t|do not|aren'?t) (work|help)",
        r"\b(arde|quema|ardor|burns|burning)\b.{0,20}(cada vez|mas|worse)",
    ),
    "eye_pain": (
        r"(duele|dolor|presion).{0,20}(detras del|el|en el|los) ojos?", r"(eye|eyes) (hurts?|pain)", r"pain (behind|in) (my|her|his) eye",
    ),
    "unwell": (
        r"me siento (muy |re |bien |super )?(mal|rar[oa]|fatal)", r"estoy fatal", r"\bfeel (really |very )?(weird|awful|terrible|off|faint)",
        r"\bno reacciono bien",
    ),
}

# Numbness is a danger sign when it lasts (days) or turns into burning/pain; right after an
# anaesthetic it is expected.
NUMBNESS_PERSISTS = Vocabulary(
    r"\b(\d+|dos|tres|cuatro|cinco|seis|siete|varios|unos|muchos|several|few) (dias|days)", r"\bsemana", r"\bweek",
    r"ya van", r"\bllevo\b", r"\b(ahora|now) (me |it )?(arde|quema|duele|burns|hurts)", r"\bcon ardor", r"\bpica y arde",
    r"(duele|arde|burns|hurts|getting) (mas|more|worse)", r"\bme quema\b",
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
NEGATION_BEFORE = re.compile(
    r"(?:\b(?:no|ni|sin|nunca|ya no|not|never|without|no longer|don'?t|didn'?t|doesn'?t)\s+"
    r"(?:(?:tengo|hay|tiene|siento|me|le|he|ha|have|has|had|any|a|feel|felt|see|mas|more|tuve|tuvo|dio)\s+){0,2})$")
# A general question, something that could happen, or a question before a procedure.
HYPOTHETICAL = Vocabulary(
    r"\bes normal que\b", r"\bes normal (sentir|tener|que)\b", r"\bpuede(n)? (causar|dar|provocar|salir|haber|quedar|dejar|afectar)",
    r"\bme puede(n)? (dar|dejar|causar|quedar)", r"\bpodria\b", r"\bva a (doler|quedar|salir|sangrar)", r"\bme va a\b",
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
)
# Worry before a procedure.
PRE_PROCEDURE = Vocabulary(
    r"\b(me )?da (mucho )?(miedo|panico|cosa|nervios|terror)", r"\b(tengo|siento|con) (mucho )?(miedo|panico|terror|nervios)\b",
    r"\bme (asusta|preocupa) que\b", r"\bcuando me (saquen|pongan|hagan|pinchen|inyecten|apliquen)\b", r"\bmiedo (de|a) que\b", r"\bnervios[ao]\b",
    r"\bmanana me (sacan|ponen|hacen|toca)", r"\b(me van a|voy a) (sacar|poner|hacer)", r"\btengo (cita|turno|hora) (el|para|manana)",
    r"\bla (otra|proxima) semana\b", r"\bquiero hacerme\b", r"\bnervous\b", r"\bscared\b", r"\bafraid\b", r"\bworried about\b",
    r"\btomorrow\b", r"\bnext week\b", r"\basking before\b", r"\bthinking (of|about) getting\b", r"\bwhen i get\b",
)
# A past event that is over.
RESOLVED = Vocabulary(
    r"\bya (estoy|me siento|esta|quedo) (bien|perfect)", r"\bya (paso|se (me |le )?(bajo|quito|paso|fue|curo))", r"\bya curad",
    r"\bel ano pasado\b", r"\b(la ultima|la otra|la) vez (pasada|que)\b", r"\bla ultima vez\b", r"\blast time\b", r"\bhace (\w+ )?(anos|meses)\b", r"\buna vez\b", r"\ben otra clinica\b",
    r"\bfine now\b", r"\b(went|has gone|gone) down\b", r"\bgone now\b", r"\byears ago\b", r"\bonce\b", r"\bmonths ago\b",
    r"\bresolved\b", r"\blast year\b", r"\bya no (me |le )?(veo borroso|veo doble|duele|sangra|arde|tengo|tiene)",
    r"\bfue solo (por|un|una)\b", r"\bno longer (blurry|bleeding|swollen)",
)
# Figurative, joking or enthusiastic uses.
FIGURATIVE = Vocabulary(
    r"\bja(ja)+\b", r"\bje(je)+\b", r"\blol\b", r"\bjsjs", r"\b(precio|presupuesto|cotizacion|price|bill|quote)",
    r"\bme muero (por|de (la risa|ganas|amor|emocion))", r"\bdying to\b", r"took my breath away", r"\bde la emocion\b",
    r"\blo bien que\b", r"\bsin respiracion lo\b", r"\bde lo (brillante|lindo|bonito)",
)
# A mild, expected effect asked about.
MILD = Vocabulary(
    r"\bun poco\b", r"\bun poquito\b", r"\bpoquito\b", r"\bleve\b", r"\bliger[ao]\b", r"\bchiquit", r"\bpequen[oa]",
    r"\bmoretoncito", r"\bbultito", r"\bbolitas?\b", r"\balgo (tirante|rojo|hinchad|sensible)", r"\bnormal\?", r"\bse pasa\?",
    r"\bse quita(n)? sol[oa]s?\b", r"\bse bajan? sol[oa]s?\b", r"\ba (little|bit)\b", r"\bslight", r"\bsmall\b", r"\bmild\b",
    r"\bnormal right\b",
)
# The problem is happening now: these override the calming cues above.
STRONG_CURRENT = Vocabulary(
    r"\bdesde (que|el|la|ayer|anoche|hace|esta|hoy|el \w+)\b", r"\bayer\b", r"\banoche\b", r"\bhoy\b", r"\bahora\b",
    r"\bahorita\b", r"\bacabo de\b", r"\bacaban de\b", r"\brecien\b", r"\bsigo\b", r"\bsigue\b", r"\bllevo\b", r"\bya van\b",
    r"\bhace (\d+|un|una|unos|unas|dos|tres|cuatro|cinco|pocos?) (hora|dia|rato|minut|semana)",
    r"\besta (manana|tarde|noche)\b", r"\bme (duele|arde|sangra) (mucho|muchisimo)", r"\bayuda\b", r"\bauxilio\b",
    r"\bsince\b", r"\byesterday\b", r"\btoday\b", r"\bright now\b", r"\bjust (got|had)\b", r"\b(i'?m|am|is|are|it'?s|she'?s|he'?s) still\b",
    r"\bstill (numb|bleed|swollen|dizzy|feel|hav|can|hurt|burn|see|shak)", r"\bkeeps\b",
    r"\bthis (morning|afternoon|evening)\b", r"\bright after\b", r"\bhelp\b", r"\ban hour ago\b",
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
                    r"\bhuge\b", r"\benorme\b", r"\bgigante\b", r"\bdesde hace (\d+|dos|tres|cuatro) dias\b",
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


def _present_signs(groups: dict[str, Vocabulary], t: str, ft: str) -> list[str]:
    """Groups with at least one hit that is not denied ("no tengo fiebre")."""
    found = []
    for name, vocab in groups.items():
        if any(not NEGATION_BEFORE.search(text[:start]) for text, start in vocab.spans(t, ft)):
            found.append(name)
    return found


def assess(text: str) -> EmergencyAssessment:
    t = normalize(text)
    ft = phonetic(t)
    red = _present_signs(RED_FLAGS, t, ft)
    linked = _present_signs(LINKED_SIGNS, t, ft)
    if "numbness" in linked and not NUMBNESS_PERSISTS.search(t, ft):
        linked.remove("numbness")
    procedure = PROCEDURE.search(t, ft)
    now = STRONG_CURRENT.search(t, ft)
    hypothetical = HYPOTHETICAL.search(t, ft) or PRE_PROCEDURE.search(t, ft)
    calming = hypothetical or RESOLVED.search(t, ft) or FIGURATIVE.search(t, ft)
    blocked = bool(calming) and not now
    link = "+procedure" if procedure else ""

    if red and not blocked:
        return EmergencyAssessment(True, tuple(f"emergency:{s}{link}" for s in red + linked))
    if linked and not blocked and (procedure or len(linked) >= 2) and not (MILD.search(t, ft) and not now):
        return EmergencyAssessment(True, tuple(f"emergency:{s}{link}" for s in linked))
    symptom = _present_signs({"symptom": SYMPTOM}, t, ft)
    if (symptom and CURRENT.search(t, ft) and SEVERE.search(t, ft) and not MILD.search(t, ft)
            and not (calming and not now)):
        return EmergencyAssessment(True, (f"emergency:severe_symptom{link}",))
    signs = bool(red or linked)
    uncertain = bool(signs and procedure and not blocked)
    reassuring = not signs and bool(calming or MILD.search(t, ft))
    return EmergencyAssessment(False, (), uncertain=uncertain, reassuring=reassuring)
