"""Deterministic emergency detection, modelled on triage protocols. It runs before any other routing
and errs towards a human.

The vocabulary is data, one synonym group per line, matched on normalized text (lowercase, no
accents, runs of letters squeezed, chat shorthand written out: "dsd" -> "desde", "x" -> "por",
"bleedin" -> "bleeding") and again on a phonetic fold (z->s, v->b, ll->y, ce/ci->se/si, a Spanish silent
h dropped, a doubled letter single) so that "borozo", "reyeno", "vien", "inchado", "cesion" or "blury"
match "borroso", "relleno", "bien", "hinchado", "sesión", "blurry":

- DANGER_SIGNS: a symptom vocabulary grouped by triage sign (vision, breathing, swallowing, speech,
  chest, consciousness, bleeding, fever, spreading redness/swelling, skin colour, numbness, pain, a weak
  limb, bleeding in a pregnancy, already on the way to the emergency room...). RED_FLAGS are an
  emergency on their own; LINKED_SIGNS (fever, dizziness, racing heart, trembling, cold sweat, pain that
  keeps growing despite painkillers, numbness that persists for days or burns, vomiting or a severe
  headache, confusion) only with a link to a recent procedure or a second danger sign. A gap inside a
  sign does not cross a negator ("la nariz, ni blanca ni morada").
- PROCEDURE: the link to a recent procedure ("me pusieron", "after the filler", "desde la extracción").
- Cues that make a message ordinary, each with its own reach:
  * a negation covers its own phrase, over auxiliaries and quantifiers ("sin fiebre ni mucho dolor",
    "nada muy fuerte"), not a later clause ("no sé por qué veo borroso");
  * a general or hypothetical question ("¿el botox puede causar...?", "what should i do if", "¿sangrará
    mucho?"), a procedure still ahead ("¿me puedo poner bótox el sábado?"), a habit or a lifelong
    feature ("me desmayo con facilidad", "párpados caídos de nacimiento") frames its own sentence, unless
    the message says the problem is happening now ("desde ayer", "hace media hora", "se me está
    poniendo", "right now");
  * a fear of something imagined ("me da miedo sangrar") or something heard ("me dijeron que arde
    horrible") frames what follows it in its sentence, up to a contrast or a new clause that reports
    ("pero", ", tengo"), not the signs reported before it ("tengo ronchas..., tengo miedo de que se me
    cierre"); a bare "tengo miedo" or a fear about the present or its worsening ("miedo de que sea una
    infección", "de que empeore") frames nothing;
  * an episode that is over ("pero se le pasó enseguida", "ya me recuperé") calms its sentence unless
    something in it is still going on ("sigo", "otra vez", "still", "ya pasó una hora"); said in so many
    words it also calms the signs that need a link in the whole message;
  * a figurative use, a past resolved event, or a message asked ahead / about warning signs in general
    calms the whole message unless it says "now"; laughter calms it even then, except a red flag said
    to be still going on;
  * a mild, improving or announced course ("un poco", "mucho menor", "va bajando", "el papel decía que
    pasa hasta el día 3") outweighs the signs that are expected in mild form after some procedures
    (facial swelling, a burn-like skin), unless it got worse again.
- Ordinary symptoms (pain, swelling, bruising, bleeding) are an emergency only when current AND severe.

`assess` returns the verdict with reasons such as "emergency:vision+procedure", and, for a message
that is not an emergency by the rules, whether a danger sign and a procedure co-occur (`uncertain`)
so the router can hand off when its classifier is unsure, or whether the message carries a calming
cue (`reassuring`, also numbness right after an anaesthetic) so the router does not escalate it on
the classifier alone.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice


def normalize(text: str) -> str:
    """Lowercase, no accents, runs of 3+ equal letters squeezed ("muchooo" -> "mucho")."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    folded = re.sub(r"(\w)\1{2,}", r"\1", folded)
    return re.sub(r"\s+", " ", folded).strip()


# a doubled consonant, not an escape such as the \b of r"\bbotox"; English ee and oo ("bleding", "blod")
_DOUBLE = re.compile(r"(?<!\\)([bcdgkmnprteo])\1")
# the silent h of Spanish words often written without it ("inchado", "ablo", "emorragia", "aogo"); not
# every h, which would fold English "hand" into "and" or "her" into "er"
_SILENT_H = re.compile(r"(?:(?<![a-z])|(?<=\\b))h(?=inch|ace|aci|ago|aga|ice|ici|ech|oy\b|ora|abl|erid|emorr|emat|uele|ormig|ospital|asta|ay\b)"
                       r"|(?<=a)h(?=og|or)")
# c before e or i said as s ("cesion", "inyecsion")
_SOFT_C = re.compile(r"(?<!\\)c(?=[ei])")


def phonetic(text: str) -> str:
    """Spelling confusions folded together (ll->y, z->s, v->b, ce/ci->se/si, a Spanish silent h dropped, a
    doubled consonant, ee or oo single: "borozo", "inchado", "cesion", "blury", "bleding"); applied to both the
    text and the patterns. Not s or f doubled: "\\bdizz" must not become "\\bdis"."""
    text = text.replace("ll", "y").replace("z", "s").replace("v", "b")
    return _DOUBLE.sub(r"\1", _SOFT_C.sub("s", _SILENT_H.sub("", text)))


class Vocabulary:
    """Alternatives compiled once as written and once phonetically folded; a hit in either counts."""

    def __init__(self, *patterns: str):
        self.plain = re.compile("|".join(f"(?:{p})" for p in patterns))
        self.folded = re.compile("|".join(f"(?:{phonetic(p)})" for p in patterns))

    def spans(self, t: str, ft: str) -> Iterator[tuple[str, int]]:
        """(text, start) of every hit: in `t`, then in its phonetic fold `ft` (lazily: a caller that stops
        at the first hit that counts does not scan the fold)."""
        yield from ((t, m.start()) for m in self.plain.finditer(t))
        yield from ((ft, m.start()) for m in self.folded.finditer(ft))

    def search(self, t: str, ft: str) -> bool:
        return bool(self.plain.search(t) or self.folded.search(ft))


# A gap inside a sign ("la nariz ... blanca", "cara ... hinchada") does not cross a negator: in "no veo
# nada raro en la nariz, ni blanca ni morada" the colours are named only to deny them. Bleeding and pain
# keep a plain gap: their patterns carry a negation of their own ("sangra y no para").
_PLAIN_GAP = re.compile(r"\.\{0,(\d+)\}")
_UNGUARDED = ("bleeding", "pain")
# "no para de crecer", "won't stop spreading" keep going: they do not deny
_NEGATOR = (r"\b(?:no|ni|sin|nada|cero|not|nor|never|without|zero)\b"
            r"(?! (?:(?:se |me |le )?(?:para|paro|deja|dejo|detiene|ha parado|ha dejado) de|(?:stop|stopped|quit)\b))")


def _guard_gaps(pattern: str) -> str:
    return _PLAIN_GAP.sub(lambda m: rf"(?:(?!{_NEGATOR}).){{0,{m.group(1)}}}", pattern)


def _vocab(groups: dict[str, tuple[str, ...]]) -> dict[str, Vocabulary]:
    return {name: Vocabulary(*(patterns if name in _UNGUARDED else map(_guard_gaps, patterns)))
            for name, patterns in groups.items()}


# bleeding, spotting, contractions or lost fluid (in a pregnancy): not gums or a nose, not patches on the skin
_PREGNANCY_SIGN = (r"\b(sangr\w*|sangre|bleed\w*|spotting|manch(ar|ado|ando|e|o)\b|contraccion\w*|contractions?|cramp\w*|"
                   r"perdi\w* (liquido|agua)|rompio (la )?fuente|(my|her) water broke)"
                   r"(?!.{0,25}\b(encias?|nariz|gums?|nose|cepill|brush))")

# ---------------------------------------------------------------- danger signs (red flags)
# An emergency on their own, when the writer (or someone with them) has them now.
RED_FLAG_PATTERNS: dict[str, tuple[str, ...]] = {
    "breathing": (
        r"\bno (puedo|podia|puede|logro|pudo|consigo) respirar", r"\bno pu\w* respirar", r"sin poder respirar",
        r"\b(me |le )?cuesta (mucho |un buen )?respirar", r"dificultad (para|al) respirar", r"respir\w* (mal|con dificultad)",
        r"\b(me |le )?falta (el )?aire", r"\bme ahogo\b", r"\bahogando", r"\bno respira", r"respirar bien",
        r"garganta (se me )?(cierra|cerrando|cerrada)", r"se (me|le) cierra la garganta", r"(cerrando|cierra) la garganta",
        r"garganta.{0,15}(apretad|cerrad|cerrand|cierr)", r"pecho apretado", r"me aprieta el pecho",
        r"no (me )?entra (el |nada de )?aire", r"\basfixi", r"respiracion (agitada|entrecortada|dificil|rara)",
        r"no (puedo|alcanzo a|logro) (jalar|agarrar|tomar|meter) aire", r"silb\w* (al respirar|el pecho)",
        r"can'?t (breathe?|breth|catch my breath|get (enough )?air)", r"gasping", r"struggling for (air|breath)", r"cannot breathe", r"(trouble|difficulty|struggling) breathing",
        r"hard to (breathe|breth)", r"short(ness)? of breath", r"throat.{0,20}(closing|tight|swelling)", r"wheez",
    ),
    "swallowing": (
        r"(cuesta|dificulta)\w*.{0,15}(pasar saliva|tragar|pasar (la )?comida|pasar bocado)",
        r"\bno (puedo|puede|logro) (ni )?(tomar|beber) (agua|liquidos)",
        r"\bno (puedo|puede|logro) (ni )?(trag\w*|pasar saliva|pasar bocado)", r"dificultad (para|al) tragar",
        r"se (me|le) (atora|atoran|atasca|atascan|atranca|queda|quedan) (todo|la comida|el agua|los bocados|el bocado|la saliva)",
        r"\bno (puedo|puede|logro|consigo) pasar (bien |ni )?(la |el |los |las )?(comida|bocados?|saliva|agua|liquidos|pastillas?)",
        r"(bocados?|comida|saliva)\b.{0,25}\b(atorad|atascad|atrancad)",
        r"(food|water|pills?) (gets?|keeps getting|is getting) stuck", r"can'?t (get|keep) (food|water|anything) down", r"\batragant", r"\bme ahogo (con|al) (la comida|el agua|tomar|comer)",
        r"(hard|difficult|trouble|struggl\w*|can'?t|cannot|unable) (to )?swall?ow", r"swall?owing (is |feels )?(hard|difficult)",
        r"choking on (water|food|my)", r"(food|water|drinks?|liquids?) (goes|going|went|keeps going) down the wrong (way|pipe)",
        r"\bcough\w* (when|while|as|every time|each time) (i|she|he|they) (eat|drink|swallow)",
        r"\b(toso|tose|tosiendo|me atraganto|se atraganta) (al|cuando|cada vez que|mientras) (comer|tomar|beber|tragar|como|tomo|bebo|trago)", r"\bchok\w* (when|while|as|every time) (i|she|he|they) (drink|eat|swallow)",
        r"\b(keep|keeps|kept) choking\b", r"(food|water|drinks?|liquids?) (won'?t|doesn'?t|don'?t) go down",
        r"\b(la comida|el agua|la saliva|el bocado|nada|los liquidos) no (me |le )?(baja|pasa|entra)\b",
        r"\bno (me |le )?(baja|pasa|entra) (bien )?(la comida|el agua|la saliva|el bocado|nada|los liquidos)",
        r"\bse (me|le) (va|fue|sale|salio) (la comida|el agua|el liquido) (por la nariz|para otro lado|por otro lado)",
    ),
    "speech": (
        r"arrastr\w* (las )?palabras", r"hablo (medio |muy |re )?(trabad|rar|mal|enredad)", r"se (me|le) traba la lengua",
        r"\b(no )?(puedo|puede|logro|consigo) (hablar|articular|pronunciar|vocalizar|modular) bien",
        r"\b(cuesta|cuestan|dificulta|dificil|complicado)\w* (mucho |un monton )?(hablar|articular|pronunciar|vocalizar|modular|decir (las |algunas |ciertas )?palabras)",
        r"\bno (puedo|puede|logro|consigo) (articular|pronunciar|vocalizar|modular)\b",
        r"\bhabl\w* (medio |muy |re |como |bien )*(rar|trabad|mal|enredad|borrach|gangos|arrastrad)", r"\b(me|se me|le|se le) traba\w* (al hablar|la lengua|las palabras)",
        r"lengua (trabada|pesada|dormida y no puedo hablar)", r"voz (rara|extrana|gangosa)",
        r"no me salen (bien )?las palabras", r"hablo como (borrach|dormid)", r"lengua (torpe|pesada)", r"balbuce",
        r"slurr", r"can'?t get (the |my )?words out", r"(hard|difficult|trouble|struggl\w*|can'?t|cannot|unable) (to )?(pronounce|articulate|form (the )?words)", r"words (come|are coming|coming|keep coming) out (wrong|weird|slurred|funny|strange|garbled|jumbled|mushy|mumbled)", r"(trouble|hard|difficult\w*|struggl\w*) (to )?(speak|talk)", r"speech (is |sounds )?(weird|off|strange)",
        r"voice sounds (weird|strange|off)",
    ),
    "vision": (
        r"\bveo (medio |un poco |como |todo |re |bien |con )*(borroso|doble|mal|nublado|negro|oscuro|manchas|manchitas|destellos|luces|sombras|"
        r"niebla|neblina|bruma|humo|empanado|opaco|chispas|chispitas|estrellitas|moscas|rayos)",
        r"\bveo\b.{0,20}\b(niebla|neblina|bruma|empanad|opac|chispas|chispitas|estrellitas|una nube|una mancha)",
        r"\bse (me|le) (esta|estan) (yendo|nublando|oscureciendo|apagando|poniendo borrosa) la vista",
        r"\bla vista se (me|le) (va|fue|esta yendo|nubla|nublo|oscurece|oscurecio|apaga|apago)",
        r"\bse (me|le) (nubla|nuble|nublo|oscurece|oscurezca|vaya|va|apague|apaga) la vista",
        r"\bveo\b.{0,20}\b(puntos|puntitos|manchas|manchitas|destellos|luces|sombras|borroso|doble|nublado)",
        r"\b(viendo|ver|ve|ven|veia|vi|vea|vean) (puros |unos |como |todo |medio |re |muy |con )*(destellos|borroso|doble|manchas negras|luces|sombras|nublado|"
        r"oscuro|negro|niebla|neblina|empanado|lucecitas|chispas|estrellitas)", r"vista.{0,20}(borrosa|nublada|doble|oscura|negra)",
        r"vision (borrosa|doble|nublada)", r"(perdi|perdido|perdiendo|perdio|pierdo) (parte de |un poco de |algo de )?(la )?(vista|vision)",
        r"(sombra|cortina|telilla|tela|nube|velo|mancha)\w* (negra |oscura )?(que )?(me |le )?(tapa|cubre)",
        r"\bveo (con |una |como una )?(sombra|cortina|telilla|velo|nube)", r"\b(ciega|ciego|cegad)\w*", r"\b(quede|quedado|quedo|estoy|esta|me dejo) (medio )?sin (ver|vista|vision)\b", r"\bsin ver (nada|bien|por|de)\b",
        r"se (me|le) (ha |han )?(nublo|nublado|oscurecio|oscurecido|fue|ido|puesto borrosa|puso borrosa) la vista", r"\bno (distingo|enfoco)\b",
        r"\bno (veo|ve) (nada(?! (raro|extrano|malo|anormal|diferente|preocupante|fuera|de (eso|malo|raro)))|bien|claro|casi nada|de (un|este|el|mi) ojo|con (el|un|este|mi) ojo|por (el|un|este) ojo)", r"\bno (ve|ven) (bien|nada(?! (raro|extrano|malo|anormal|diferente|preocupante|fuera)))",
        r"(ojo|parpado|ceja)\w*.{0,20}\b(cay|caid)", r"\b(cay|caid|caer|cae)\w* (un poco |de golpe |de repente |medio |como |solo )?(el |la |mi |su )(ojo|parpado|ceja)\b",
        r"\b(ojo|parpado|ceja)s? (medio |muy |re )?(caid|colgad|ca[iy]end)", r"no (lo|la) puedo (abrir|levantar)", r"\b(casi |ya )?no (lo|la|los|las) (abro|abre|puede abrir|puedo abrir)\b",
        r"can'?t (barely |hardly )?open (my|her|his) eye", r"can (barely|hardly) open (my|her|his) eye",
        r"\bblur", r"can'?t see", r"\bsee(ing)? (double|blurry|spots|flashes|black|dark|shadows)", r"double vision", r"(vision|sight) (went|is going|going) (dark|black|blurry)",
        r"lost (my |the |some |part of (my |the ))?(vision|sight)", r"\blook(s|ing)? (double|blurry|blurred|dim|foggy|hazy)",
        r"(vision|sight|eye) (is |has gone |went |looks |is getting |getting |keeps going )?(blurry|dim|foggy|hazy|cloudy|dark|fuzzy|misty|grey|gray|"
        r"distorted|wavy|patchy|smudged|double)", r"\bblind\b", r"(dark|black|grey|gray|blind) (spots?|patch(es)?|curtain|shadow|area)",
        r"(spot|patch|shadow|curtain|cloud|haze|film)\w* (in|over|across|covering) (my|her|his|the) (vision|eye|sight)", r"\bflash(es|ing)? of light",
        r"(eyelid|eye|brow) (is |looks )?(drooping|droopy)", r"(eyelid|eye|brow)s? (has |have )?(dropped|fallen|sagg|sunk)", r"droop", r"half (shut|closed)",
    ),
    "facial_weakness": (
        r"(boca|cara|jeta|labio|sonrisa) (se me |se le )?(cayo|caido|caida|chueca|chueco|torcida|torcido|ladeada)(?! de (la )?(verguenza|pena))",
        r"\b(boca|cara|jeta|labio|sonrisa|ojo|parpado)\b.{0,12}\b(chuec|torcid|ladead|desviad)",
        r"\bse (me|le) (ha |han )?(torcido|torcio|ladeado|ladeo|desviado|desvio|caido|cayo|chuequeado) (toda )?(la |el |los |mi |su )?(boca|cara|jeta|labio|sonrisa|comisura)(?! de (la )?(verguenza|pena))",
        r"\bno puedo (mover|cerrar|abrir) (el|la|mi)", r"paraliz", r"se me sale el agua (al|cuando) (tomar|beber)",
        r"\bno (puedo|puede) (ni )?(chupar|sorber|silbar)", r"mitad de la cara", r"can'?t (raise|move|close|open) my",
        r"face (is )?(drooping|droopy|paralyz)",
    ),
    # a weak arm or leg, or one side of the body (a stroke sign): "no tengo fuerza en el brazo"
    "limb_weakness": (
        r"\b(sin|no tengo|no le queda|no me queda|perdi|perdio|me falta|le falta) (la |nada de |casi )?fuerzas? (en|del|de la|de mi|de su) (el |la |mi |su )?(brazo|pierna|mano|lado)",
        r"\b(brazo|pierna|mano)s? (izquierd[oa] |derech[oa] )?(sin fuerza|debil|paralizad|que no (me |le )?responde)",
        r"\b(brazo|pierna|mano)\b.{0,50}\b(no tengo|no tiene|sin) fuerza", r"\b(no tengo|no tiene|sin) fuerza\b.{0,30}\b(brazo|pierna|mano)\b",
        r"\bno (puedo|puede) (mover|levantar|apretar) (el|la|mi|su) (brazo|pierna|mano)",
        r"\b(un|el|todo el|medio) lado del cuerpo\b", r"\bmitad del cuerpo\b",
        r"\b(arm|leg|hand) (is |feels |went |has gone )?(weak|dead|limp|paralyz)", r"can'?t (lift|move|grip with) (my|her|his) (arm|leg|hand)",
        r"\bone side of (my|her|his) (body|face)\b", r"\bweakness (in|on) (my|her|his|one) (arm|leg|side)",
    ),
    "chest": (
        r"dolor (en el|de|del) pecho", r"(dolor|presion|opresion|punzada|peso|apreton|pinchazo|puntada|piquete|clavada|ardor)s?\b.{0,20}\b(pecho|torax)\b", r"(me|le) duele el pecho", r"presion en el pecho", r"opresion (en el )?pecho",
        r"dolor.{0,30}brazo izquierdo", r"(punzada|peso|apreton|presion|opresion) (en el|del|en mi) pecho",
        r"(me )?(oprime|aprieta|pesa|quema) (el|mi) pecho", r"pecho (me )?(duele|aprieta|oprime|pesa)", r"chest (pain|tight|pressure|hurts|feels (tight|heavy))", r"pressure on (my|her|his) chest", r"pain in (my|the|her|his) chest", r"tight chest",
    ),
    "consciousness": (
        r"desmay", r"desvanec", r"perdi\w* (el )?conocimiento", r"\bno (reacciona|responde|despierta)\b",
        r"\bse (me |le )?(fue|va) la onda\b", r"\bsoponcio", r"\bpatatus", r"\byeyo\b", r"perdi\w* el sentido",
        r"se (me|le) fue el mundo", r"\bse (cayo|desplomo) (redond|al suelo|al piso)", r"ojos en blanco",
        r"\bdesplom", r"\bse (me |le )?(ha )?(descompuesto|descompuso)\b", r"unresponsive", r"went limp", r"won'?t wake", r"\bvahido\b", r"\bconvulsion", r"\bse (desplomo|descompuso)\b",
        r"\bfaint(ed|ing)?\b", r"passed out", r"pass(ing)? out", r"blacked out", r"lost consciousness", r"collapsed",
        r"(isn'?t|not|is not) (responding|waking)", r"\bseizure",
    ),
    "allergic_reaction": (
        r"reaccion alergica", r"\bronchas?\b", r"urticaria", r"habones", r"anafila",
        r"se (me|le) (esta |estan |ha |han )?(hinchando|hincho|hincharon|hinchado|inflamo|inflamaron|inflamado|inflamando) (toda |todo )?(la |el |los |las )?"
        r"(cara|lengua|garganta|boca|labios|parpados|ojos)",
        r"(pica|picor|comezon).{0,10}garganta", r"garganta.{0,10}(pica|picor)", r"itchy throat",
        r"lengua (hinchada|inflamada)",
        # lips, eyelids or face swollen and itching: "me dejó la boca y los párpados bien hinchados y me pica todo"
        r"\b(boca|labios|parpados|ojos|lengua|cara)\b.{0,30}\b(hinchad|inflamad)\w*.{0,30}\b(pica|picor|comezon|ronchas|rasquina)", r"(pica|picor|comezon|ronchas|granos|sarpullido).{0,20}todo el cuerpo",
        r"(rash|itch\w*|welts|bumps) all over", r"allergic reaction", r"\bhives\b", r"(tongue|throat|face) (is )?(swelling|swollen)", r"(eyes?|eyelids?|lids) (are |is )?(swelling|swollen|puffing) (up |almost )?shut",
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
        # "has gone a weird purple", "turned a little white" (not "looks a little pale in winter")
        r"\b(turn(ed|ing|s)?|went|gone|going|getting) (a |an |all |kind of |kinda |sort of |weird |strange |really |very |bit |little |tad |"
        r"dark |pale |light )+(white|gr[ae]y|pale|blue|purple|dusky|black|blotchy)",
        # a lacy, net-like discolouration (livedo)
        r"\b(lacy|net-?like|web-?like|marbled|reticular|marmore\w*|jaspead\w*)\b",
        r"(morad|violace|purpur|roj|oscur|purple|red|dark)\w*.{0,20}\b(en|como|like) (una |a )?(red|malla|encaje|telarana|net|web|lace)\b",
        r"cold to the touch", r"mottled", r"bluish", r"\bpalido y\b",
    ),
    "infection": (
        r"\bpus\b", r"supura", r"(sale|sal\w+|bota|drena)\w* (como )?(un )?(liquido|secrecion|pus)",
        # "bota algo amarillo", "le sale como una cosa verde": pus in other words
        r"\b(bota|botando|sale|saliendo|sal[ei]o|chorrea|drena|supura)\w* (algo|como|una cosa|un liquido|liquido|agua)?\s?"
        r"(\w+ ){0,2}(amarill\w*|verdes?|verdos\w*)\b", r"huele (muy )?(feo|horrible)", r"infectad", r"infeccion", r"huele (muy )?mal", r"mal olor",
        r"infected", r"infection", r"\bdischarge\b", r"smells? (bad|awful|foul|off|rotten)", r"\bfoul\b", r"oozing", r"weeping",
    ),
    "bleeding": (
        r"sangr\w*.{0,40}no (se )?(detiene|para|deja|corta)", r"\bno (me |le )?(para|deja|se corta|se detiene)\w* (de salir )?(la )?sangre",
        r"(sigo|sigue|siga) sangrando", r"sangra y sangra", r"chorre\w* (de )?sangre", r"sangre.{0,20}(chorre|a chorros)",
        r"coagul\w* (grandes|enormes)", r"sangrando (sin parar|todavia|aun|toda la noche)", r"sangr\w* (mucho|muchisimo|demasiado|sin parar|a chorros|harto|un monton)",
        r"\bno (me |le )?(para|deja) de sangrar", r"hemorragia",
        r"\bno (me |le |se )?(ha|han|habia) (parado|dejado|detenido|cortado|parado de|dejado de) ?(de )?(sangrar|salir (la )?sangre)?",
        r"sangr\w*.{0,40}\bno (se )?(ha|han) (parado|detenido|cortado|dejado|controlado)",
        r"(sangr|sangre)\w*.{0,50}\b(a pesar de|aunque|pese a|ni (con|mordiendo|apretando))\b.{0,20}\b(gasa|presion|apret|muerd|mord)",
        r"(sangr|sangre)\w*.{0,50}\b(empez|comenz)\w* (otra vez|de nuevo)", r"sangrado (abundante|fuerte)",
        r"(botando|saliendo|sale|bota) (mucha |harta )?sangre", r"mucha sangre", r"empap\w*.{0,20}(gasas?|sangre)",
        r"bleeding.{0,30}(won'?t|doesn'?t|does not|not|wont|hasn'?t|has not|haven'?t|have not|didn'?t|never) (stop|stopped|slowed)",
        r"(bleed|blood)\w*.{0,50}\b(despite|even (with|after|though)|although)\b.{0,25}\b(gauze|pressure|bit|biting|press)", r"(won'?t|doesn'?t|does not|will not) stop bleeding",
        r"bleeding (a lot|heavily|badly|nonstop|non-stop|all night)", r"heavy bleeding", r"blood (keeps|is) (gushing|pouring|coming)", r"gushing",
        r"\b(been|keeps|still) bleeding", r"bleeding (through|for (hours|\d+ hours))", r"soak\w* (the |through |up )*(\d+ |a |several |many |multiple |two |three |four |five |six |all the |my )?(gauze|pads?|pillow)",
        r"sangr\w*.{0,30}(hace|desde hace|por|durante) (\d+|dos|tres|varias) horas",
    ),
    "spreading": (
        r"(rojez|rojo|roja|enrojecimiento|hinchazon|inflamacion|hinchad\w*|mancha|cara|mejilla|cachete).{0,40}"
        r"(extendiendo|expandiendo|extiende|crece|creciendo|avanza|avanzando|aument|sigue (inflando|hinchando))",
        r"se (me |le )?(sigue|esta|va) (inflando|hinchando)", r"en vez de (bajar|desinflamar|deshinchar|mejorar)",
        r"\b(va|baja|bajando|sube|subiendo|pasa|pasando|corre|extiende)\w* (hacia|hasta|para) (el |la |los |mi )?"
        r"(ojo|cuello|oreja|pecho|parpado|garganta|frente|mandibula|hombro)",
        # "al cuello" only after the sign itself: "la hinchazón de la muela me está bajando al cuello", not "¿el masaje
        # va al cuello y a los hombros?"
        r"(rojez|rojo|roja|enrojecimiento|hinchazon|inflamacion|hinchad\w*|inflamad\w*|mancha)\b[^,.;!?]{0,40}"
        r"\b(va|baja|bajando|sube|subiendo|pasa|pasando|corre|extiende)\w* (al|a la|a los) "
        r"(ojo|cuello|oreja|pecho|parpado|garganta|frente|mandibula|hombro)",
        r"se (me |le )?(esta )?(extendiendo|expandiendo|extiende) (la |el )?(rojez|hinchazon|inflamacion|rojo)",
        r"(hinchazon|inflamacion|hinchado|hinchada).{0,40}(me |le )?llega (al|hasta el) (ojo|cuello)",
        r"se (me|le) esta hinchando (toda |la )?(cara|cuello)",
        r"(swelling|swollen|redness|rash)\b.{0,40}\b(going|moving|spreading|reaching|went|spread) (down |up )?(into|to|toward) "
        r"(my|her|his|the) (neck|throat|eye|chest)",
        r"\b(me |le |se )?(llega|llego|llegando|llegó) (ya )?(al|hasta el|hasta la|hasta los|a la|a los) (ojo|cuello|parpado|oreja|pecho|garganta)",
        r"(reach\w*|gone|spre?a?d\w*) (up )?(to|into) (my|her|his|the) (eye|neck|throat|chest)",
        r"(redness|swelling|rash).{0,30}(spre?a?ding|growing|getting bigger)", r"spre?a?ding (up|down|across|to)", r"red streaks?", r"(moving|going|creeping|crawling|spreading) (up|down|toward)\w* (my|her|his|the) (arm|leg|neck|face|eye|cheek|chest|jaw)",
        r"(bigger|worse) (and (bigger|worse)|every (hour|day))",
    ),
    # bigger than it was: "está más grande que ayer", "bigger than this morning" (a soft sign: "algo más hinchada que
    # ayer… el papel decía que pasa hasta el día 3" is the announced course)
    "growing": (
        r"\b(mas (grande|hinchad\w*|inflamad\w*|roj\w*|extendid\w*)|creci\w*) (que|desde) (ayer|anoche|antes|esta manana|el primer dia)\b",
        r"\b(bigger|bigger and redder|more swollen|redder|wider) than (yesterday|last night|before|this morning)\b",
    ),
    "dental_trauma": (
        r"se (me|le) (cayo|salio|partio|quebro|rompio) (todito |completo )?(un |el |la |una )?(diente|muela|paleta)",
        r"\bse (me |le )?(partio|quebro|rompio|cayo) (un |el |la |una )?(diente|muela|paleta)",
        # a loose or fallen implant: "el implante se me mueve", "se le salió el implante"
        r"\bimplante\b.{0,15}\bse (me |le )?(mueve|movio|esta moviendo|salio|cayo|afloj\w*)\b",
        r"\bse (me |le )?(mueve|movio|salio|cayo|aflojo) (el |mi |su )implante\b", r"\bimplant (is |feels )?(loose|wobbl\w*|came out|fell out)\b",
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
        # blisters in other words: "bombitas de agua", "burbujitas con agua", "globitos de agua en la piel"
        r"\b(bombit|burbuj|globit|vejiguit)\w* (de|con) (agua|liquido)", r"\bwater (bubbles|blebs)\b",
    ),
    # a deep-vein clot: a leg or calf swollen and hot (or hot and swollen), with or without a procedure
    "clot": (
        r"\b(pierna|pantorrilla|gemelo|chamorro|canilla)s?\b[^.?!]{0,50}\b(hinchad|inflamad)\w*[^.?!]{0,40}\bcalient",
        r"\b(pierna|pantorrilla|gemelo|chamorro|canilla)s?\b[^.?!]{0,50}\bcalient\w*[^.?!]{0,40}\b(hinchad|inflamad)",
        r"\b(calf|leg)\b[^.?!]{0,50}\b(swollen|swelling)\b[^.?!]{0,40}\b(hot|warm)\b",
        r"\b(calf|leg)\b[^.?!]{0,50}\b(hot|warm)\b[^.?!]{0,40}\b(swollen|swelling)\b",
    ),
    "pregnancy": (
        # bleeding, spotting, contractions or lost fluid in a pregnant client; not gums bleeding when brushing
        # (common in pregnancy) nor dark patches on the face
        r"\b(embaraz|encinta|gestacion|pregnan)\w*\b.{0,80}" + _PREGNANCY_SIGN,
        _PREGNANCY_SIGN + r".{0,60}\b(embaraz|encinta|pregnan)",
    ),
    # the writer is already on the way to the emergency room, or an ambulance was called
    "to_the_er": (
        r"\b(vamos|voy|va|van|vamo|vamonos|yendo|camino|rumbo|llevamos|llevo|llevan|lo llevo|la llevo|lo llevamos|la llevamos)"
        r" (pa |para |a |hacia |rumbo a )?(la |las )?(urgencias|emergencias|guardia|sala de emergencias)\b",
        r"\b(camino|rumbo|llevamos|llevo|llevan|lo llevo|la llevo|lo llevamos|la llevamos|corriendo|de urgencia) (pa |para |a |hacia )?(el |al )hospital",
        r"\b(llamamos|llame|llamaron|llamando|pedimos|vino) (a )?(la )?(ambulancia|samu|emergencias|al 911|al 112|al 123)",
        r"\b(on (our|my|the) way|heading|rushing|driving (her|him|them) |taking (her|him|them) ) ?to (the )?(er|e\.r|a&e|emergency room|hospital)\b",
        r"\b(called|calling) (an ambulance|911|999|112)",
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
        r"(bulto|zona|lump|bump|labio|area|mejilla|encia|herida|cachete|cara)\b.{0,25}(caliente|calentit|calientit|hot\b)", r"\bfiebre", r"\bcalentura",
        r"escalofrio", r"temperatura (alta|de 3[89])", r"\b3[89]([.,]\d)? ?(de fiebre|grados|°)", r"\bfebril",
        r"\bfever", r"\bchills\b", r"\bhigh temp", r"hot to the touch",
    ),
    "dizziness": (
        r"\bmare(o|a|ad|ando|arme|e|ado)", r"me da vueltas", r"todo (me )?da vueltas", r"vertigo",
        r"\baturdid", r"se me va la cabeza", r"\bdizz", r"light ?headed", r"(room|everything) (is )?spinning", r"\bwoozy",
    ),
    "racing_heart": (
        r"taquicardia", r"palpitacion", r"corazon (a mil|acelerado|muy rapido|se me sale|me late (muy|re) (rapido|fuerte))",
        r"(corazon|pulso)\b.{0,20}(a mil|a cien|a 100|a full|a tope|a toda (maquina|velocidad|pastilla)|acelerad|rapid|desbocad|se me sale|galop|como loco|"
        r"como (un )?tambor|muy fuerte|re fuerte|bien fuerte|super fuerte|fortisimo)",
        r"corazon.{0,25}\bse (me|le) (va a |quiere |queria )?(sale|salia|salir|salga)", r"\bse (me|le) (sale|sal[ei]a|va a salir) el corazon",
        r"pulso (muy |re )?(acelerado|rapido)",
        r"heart (is |was |keeps )?(racing|pounding|fluttering|beating (really |very |so )?(fast|hard))", r"pulse (is )?racing", r"racing heart", r"palpitation", r"heart.{0,30}\b(out of|jump\w* out of) (my|her|his) chest",
    ),
    "trembling": (
        r"tembl", r"tiembl", r"tirit", r"\bshak(ing|y)\b", r"trembl", r"\bshivering",
    ),
    "cold_sweat": (
        r"sud\w* fri[oa]", r"sudores? fri[oa]s?", r"transpir\w* fri[oa]", r"sudando (a mares|a chorros|muchisimo)",
        r"empapad\w* (de|en) sudor", r"cold sweat", r"sweating (a lot|buckets)", r"clammy", r"cold and sweaty",
    ),
    "numbness": (
        r"no siento (la|el|mi) (cara|labio|boca|brazo|lengua|barbilla|menton)", r"sin sentir (la|el)",
        r"\b(dormid|adormecid|entumid|entumecid|insensible|acalambrad|acorchad)", r"\bse (me|le) (duerme|durmio|adormece|adormecio|entumece|entumecio)\b", r"sin sensibilidad", r"hormigue", r"\bcorcho\b",
        r"\bno siento (nada en )?(la|el|mi|los|las) (cara|labio|boca|lengua|barbilla|menton|mejilla|brazo|pierna)",
        r"\bnumb(?!er)", r"can'?t feel (my|her|his)", r"tingl", r"pins.and.needles",
    ),
    "pain": (
        r"(dolor|duele).{0,60}(va a mas|va a peor|cada (vez|dia|hora|noche) (es |esta |se pone )?(mas|peor)|peor cada (dia|hora|noche)|empeora|aumenta|"
        r"no (se me )?(pasa|quita|calma)|en vez de (bajar|mejorar))",
        r"\bni (el|la|los|las|con) (calmantes?|pastillas?|analgesicos?|ibuprofeno|paracetamol|acetaminofen|ketorolaco|naproxeno|nolotil|"
        r"metamizol|diclofenaco|tramadol|dolex)\b.{0,15}\b(me |le )?(hace|hacen|sirve|sirven|calma|calman|quita|quitan)\b",
        r"(calmantes?|pastillas?|analgesicos?|ibuprofeno|paracetamol|acetaminofen|tylenol|advil|dolex|ketorolaco|naproxeno|"
        r"nolotil|metamizol|diclofenaco|tramadol).{0,30}(no (me )?(hacen?|sirven?|calman?|funcionan?|quitan?)|nada|ni cosquillas)",
        r"\bni con (el |la |las |los )?(calmantes?|pastillas?|analgesicos?|ibuprofeno|paracetamol)",
        r"(dolor|duele).{0,60}\b(tome|tomado|probado) de todo\b",
        # "me duele muchísimo más que ayer", "hurts more than yesterday"
        r"\b(dolor|duele|duelen)\b.{0,20}\bmas que (ayer|antes|anoche|esta manana|el primer dia)\b",
        r"\bhurts? (a lot |way |much )?more than (yesterday|before|this morning)\b",
        r"(pain|ache).{0,30}(worse|getting worse|worsening|won'?t go away)", r"(painkillers|pills|ibuprofen|tylenol|advil|paracetamol|meds)\b.{0,15}(don'?t|do not|aren'?t|isn'?t|not) (work|help|do)",
        r"\b(arde|quema|ardor|burns|burning)\b.{0,20}(cada vez|mas|worse)",
    ),
    # a sudden, severe headache or vomiting after a procedure
    "headache_vomiting": (
        r"dolor de cabeza (muy |super |re |bien )?(fuerte|fortisimo|horrible|insoportable|terrible|brutal|intenso|tremendo|espantoso)",
        r"(el peor|un) dolor de cabeza (de mi vida|como nunca)", r"(cabeza|jaqueca|migrana).{0,20}(explotar|insoportable|horrible|fortisim)",
        # vomiting that goes on or repeats, not a gag ("me dan ganas de vomitar", "vomitó con el molde")
        r"\bvomitand", r"\bdevolviendo\b", r"\b(no para|no deja|no paro|no dejo|no ha parado|sigo|sigue) de vomitar",
        r"\bvomit\w* (dos|tres|cuatro|varias|muchas|\d+) veces", r"\b(empece|empezo|comence|comenzo|empezaron|started|began) (a |to )?(vomit|throw up)",
        r"(?<!ganas de )\bvomit\w*.{0,40}\b(desde|since|sin parar|nonstop|all night|toda la noche)\b", r"\b(desde|since)\b.{0,40}(?<!ganas de )\bvomit",
        r"\b(keep|keeps|kept|been|i'?m|she'?s|he'?s|is) (vomiting|throwing up)", r"\bvomit\w* (twice|several times|\d+ times|again)",
        r"\b(worst|severe|terrible|splitting|pounding|crushing) headache", r"headache.{0,20}(worst|unbearable|won'?t go)",
    ),
    # confusion or disorientation; "confused" is also puzzled ("estoy confundida con los horarios", "i'm confused,
    # is it today?"): not before a preposition, nor in a question unless tied to a time ("desde la sedación")
    "confusion": (
        r"\b(desorientad|desubicad)[oa]s?\b", r"\bdisoriented\b",
        r"\b(confundid[oa]s?|confused)\b(?! (con|sobre|por|de|respecto|acerca|entre|en cuanto|about|by|with|as to|on|over|regarding)\b)"
        r"(?=[^?.!\n]*([.!\n]|$)|.{0,40}\b(desde|tras|despues|since|after)\b)",
        r"\bno (me |le )?(reconoce|reconozco|reconocia)\b", r"\bno sabe (donde|quien|que dia)\b", r"\b(delira|delirando|incoherente)",
        r"\b(doesn'?t|didn'?t|can'?t) recogni[sz]e",
        r"\bnot making sense\b",
    ),
    "eye_pain": (
        r"(duele|dolor|presion).{0,20}(detras del|el|en el|los) ojos?", r"(eye|eyes) (hurts?|pain)", r"pain (behind|in) (my|her|his) eye",
    ),
    "unwell": (
        r"me siento (muy |re |bien |super |como )?(mal|rar[oa]|fatal|pesim|maluc|fatal)", r"estoy fatal", r"\bfeel (really |very )?(weird|awful|terrible|off|faint)",
        r"\bno reacciono bien", r"\bse (me |le )?puso (muy |re |bien |super )?(mal|malit)", r"\breact\w* (really |very )?bad(ly)?\b",
    ),
}

# Numbness is a danger sign when it lasts (days) or turns into burning/pain; right after an
# anaesthetic it is expected.
NUMBNESS_PERSISTS = Vocabulary(
    r"\b(\d+|dos|tres|cuatro|cinco|seis|siete|varios|unos|muchos|several|few) (dias|days)", r"\bsemana", r"\bweek",
    r"ya van", r"\bllevo\b",
    # far longer than a dental anaesthetic lasts: "ya son como 14 horas"
    r"\b([89]|1\d|2[0-4]|ocho|nueve|diez|once|doce|catorce|quince|veinte) (horas|hours)\b", r"\b(ahora|now) (me |it )?(arde|quema|duele|burns|hurts)", r"\bcon ardor", r"\bpica y arde",
    r"(duele|arde|burns|hurts|getting) (mas|more|worse)", r"\bme quema\b",
    # a weekday named means days ago, not the anaesthetic of this morning
    r"\b(ayer|anteayer|antier|yesterday)\b", r"\b(el|desde el|on|since) (lunes|martes|miercoles|jueves|viernes|sabado|domingo|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday)",
    r"\b(burning|ardor|quemazon|pins.and.needles|corrientazos?|calambres?)\b",
)

# Numbness right after one of these is the expected course.
ANAESTHETIC = Vocabulary(r"\banestesi", r"\banestesic", r"\bla local\b", r"\blidocain", r"\banesthe", r"\bnumbing\b", r"\bme durmieron\b")

# ---------------------------------------------------------------- the link to a procedure
PROCEDURE = Vocabulary(
    r"rel?leno", r"\bfill?e?r\b", r"\bfillers\b", r"(acido )?hialuronic", r"\bbot?o?x", r"toxina", r"\btoxin", r"neuromodulador",
    r"extrac(cion|ion|tion|ted)", r"extraj", r"\bsacaron (la|una|el|las)", r"pulled (my|her|his|a)", r"\bcordal", r"muela del juicio",
    r"wisdom (tooth|teeth)", r"\bimplant", r"endodoncia", r"\bconducto", r"root canal", r"cirugia", r"\bsurgery",
    r"peeling", r"\bpeel\b", r"laser", r"depilacion", r"\bsesion", r"\bsession", r"tratamiento", r"treatment", r"procedure",
    r"procedimiento", r"me (pusieron|hicieron|aplicaron|inyectaron|sacaron|extrajeron|pinchar|han puesto|han hecho)",
    r"(le|les|nos) (pusieron|hicieron|aplicaron|inyectaron|sacaron|han puesto|han hecho)", r"me puse\b",
    r"i?n?yecc", r"inyect", r"injec", r"\bshot\b", r"anestesia", r"anesthe", r"sedacion", r"sedation", r"\blipo",
    r"mesoterapia", r"sueroterapia", r"\bsuero\b", r"\biv drip", r"\bdrip\b", r"bichectomia", r"rinomodelacion", r"\bhilos\b",
    r"blanqueamiento", r"limpieza", r"aplicacion", r"\bcamilla\b", r"after (the|my|her|his)",
    r"\btras (el|la|mi|su) (sesion|aplicacion|tratamiento|procedimiento|relleno|botox|toxina|laser|peeling|implante|"
    r"extraccion|cirugia|sculptra|radiesse|hifu|plasma|masaje)", r"\bsculptra\b", r"\bradiesse\b", r"bioestimulador",
    r"\bprofhilo\b", r"\bhifu\b", r"\bprp\b", r"microneedling", r"dermapen", r"radiofrecuencia", r"criolipolisis",
)

# ---------------------------------------------------------------- cues that the message is ordinary
# The sign is denied: "no tengo fiebre", "ya no veo borroso", "no fever".
# The negator reaches over auxiliaries, pronouns and quantifiers only, so "no" negates its own phrase
# ("sin fiebre ni mucho dolor", "nada muy fuerte") and not a later clause ("no sé por qué veo borroso").
NEGATION_BEFORE = re.compile(
    r"(?:\b(?:no|ni|sin|nunca|nada|cero|ningun|ninguna|ningunos|ningunas|ya no|not|never|without|no longer|don'?t|didn'?t|doesn'?t|isn'?t|wasn'?t|nothing|zero)\s+"
    r"(?:(?:tengo|hay|tiene|siento|me|le|he|ha|have|has|had|any|a|feel|felt|see|mas|more|tuve|tuvo|dio|es|esta|"
    r"muy|mucho|mucha|tan|tanto|tanta|demasiado|so|too|that|very|much|really|el|la|los|las|un|una|the)\s+){0,3})$")
# The same on the phonetic fold, where a hit found in the folded text is looked at ("don't habe any").
NEGATION_FOLDED = re.compile(phonetic(NEGATION_BEFORE.pattern))
# Not a denial but the sign itself: "no siento el brazo", "no puedo mover la pierna", "can't feel my".
NOT_FEELING = re.compile(r"\b(?:no (?:siento|sentia|puedo mover|puede mover|puedo levantar)|can'?t (?:feel|move))\s+"
                         r"(?:(?:el|la|los|las|mi|mis|su|sus|my|her|his)\s+)?$")


def _negated(before: str) -> bool:
    """`before` ends in a negation of what follows (and not in "no siento el ...")."""
    return bool(NEGATION_BEFORE.search(before) or NEGATION_FOLDED.search(before)) and not NOT_FEELING.search(before)
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
    # asked out of curiosity, or about anyone: "pregunta teórica", "¿qué hacen si a alguien se le…?"
    r"\b(pregunta teorica|pura curiosidad|por curiosidad|just curious|out of curiosity|hypothetically)\b",
    r"\bsi a (alguien|una persona|un paciente|una paciente)\b", r"\bif (someone|somebody|a patient)\b",
    r"\bsi (me|le|se me|se le) (llega|llegara|llegase) a\b",
    # whether it really happens: "¿es real o es mito?", "does that really happen?"
    r"\b(does|can|could|would) (that|this|it) (really |actually |ever )?happen", r"\b(es|son) (real|reales|mito|un mito|cierto|verdad)\b.{0,20}\?",
    r"\b(eso|esto) (pasa|ocurre|sucede|les ha pasado)\b", r"\b(pasa|ocurre|sucede) (seguido|a menudo|mucho|con frecuencia)\b",
    # a treatment asked for a feature: "¿el botox la puede subir?", "blefaroplastia para el párpado caído"
    r"\b(lo|la|los|las|me lo|me la|me los|me las) (puede|pueden|podria|podrian|va a) (subir|levantar|corregir|arreglar|mejorar|quitar)\b",
    r"\bpara (el|la|los|las|mi|mis) (parpados?|cejas?|ojeras?|labios?|papada) (caid|colgad|caer|hundid|fin)",
    r"\b(lift|fix|correct|raise) (my|her|his|the) (eyelids?|brows?|eyebrows?)\b",
    r"\b(quiere|queria|quisiera|queremos|quiero|quieren|queriamos) saber si\b", r"\b(pregunta|preguntaba|pregunto|consulta|consultaba) (si|que si)\b",
    r"\b(wants?|wanted|would like) to know (if|whether)\b", r"\b(asking|asks|asked|wondering|wondered) (if|whether)\b",
    r"\b(botox|filler|it|this|that|the \w+) (can|could|may|might) (cause|give|make|lead to|leave)\b",
    # the future of a sign is asked or imagined: "¿sangrará mucho?", "will it bleed a lot?"
    r"\b(sangr|dol|ard|quem|hinch|inflam|pic|mare|desmay|infect)(ara|are|era|ere|aran|eran)\b",
    r"\b(will|gonna) (it |i |she |he )?(bleed|hurt|swell|burn|bruise|itch)\b",
    r"\b(deja|dejan|causa|causan|provoca|provocan|da|dan) (la |el |los |las )?\w+ (muy )?(hinchad|inflamad|morad|dormid|roj|sensible)\w*(?=[^?]*\?)",
    # a condition: "qué hago si me salen ronchas", "what should i do if i get hives", "en caso de"
    r"\b(que (hago|hacer|debo hacer)|a quien (llamo|aviso)) (si|en caso)\b", r"\ben caso de\b", r"\bsi llegara\b",
    r"\bwhat (should|do|would) (i|we|she|he) do if\b", r"\bif (i|she|he|my|it|there'?s?) (get|gets|have|has|start|starts|notice|feel|were|was)\b",
    r"\bin case\b", r"\bwhat happens if\b",
    r"(^|[¿,;] ?)si (despues|luego|tras|durante|mas tarde|en algun momento|alguna vez|llego a|llegara a|por algun motivo)\b(?=.*\?)",
    r"\bif (after|during|later|at some point)\b", r"\ba partir de (cuant|que)", r"\b(at what|how high a) (point|temperature|fever)\b", r"\bhypothetically\b", r"\bpor ejemplo\b", r"\bfor example\b",
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
    # a feature one has always had or that came with age: "párpados caídos de nacimiento", "with age"
    r"\bde nacimiento\b", r"\bdesde (siempre|nin[ao]|chiquit[ao]|pequen[ao])\b", r"\b(con|por) la edad\b", r"\bhereditari",
    r"\bcronic[ao]\b", r"\b(with|due to) (age|aging)\b", r"\bsince (birth|i was (a kid|little|young))\b", r"\b(always|naturally) (had|have)\b",
    r"\bgenetic", r"\bchronic\b",
    # an allergy told as a habit: "alergia al ibuprofeno (me da urticaria)"
    r"\balergi\w* (a|al|a la|a los) [^,.;!?\n]{1,30}\(?(me|le) (da|dan|salen|sale)\b",
    r"\b(tendinitis|tendonitis|artritis|artrosis|arthritis|tunel carpiano|carpal tunnel|fibromialgia|fibromyalgia|demencia|dementia|"
    r"alzheimer)\b",
    r"\bcon facilidad\b", r"\bfacilmente\b", r"\bsiempre que\b", r"\bcada vez que\b", r"\bsuelo\b", r"\btiendo a\b",
    r"(?<!\bse )\bme pasa (siempre|seguido|a menudo|con (frecuencia|facilidad))\b", r"\bsoy (muy |re |super )?(propens|aprensiv|impresionable|de las que|de los que)",
    r"\b(fobia|phobia)\b", r"\bme impresiona(n)? (la sangre|las agujas|ver)", r"\bcuando (me |le )?(sacan|saca|ve|veo|ven|pinchan|pican) (sangre|agujas?|la aguja|una aguja)",
    r"\b(se|me|le) \w+ (facil|facilito|rapido)\b",
    # a general question about a kind of patient
    r"\b(personas|gente|pacientes) (que|con)\b", r"\b(people|patients) (who|with|that)\b",
    r"\beasily\b", r"\bwhenever\b", r"\bi (always|usually|tend to)\b", r"\bevery time\b", r"\bprone to\b",
)
# A fear of something imagined ("me da miedo sangrar", "miedo de que duela", "scared it will droop") or
# something heard ("me dijeron que el peeling arde horrible", "i heard filler hurts"): it frames what
# follows it in its sentence, up to a contrast ("pero", "but", "ahora"), not the signs reported before
# it ("tengo ronchas y me pica la garganta, tengo miedo de que se me cierre"). A bare "tengo miedo" or a
# fear about what is happening ("miedo de que sea una infección") frames nothing.
WORRY_OR_HEARSAY = Vocabulary(
    r"\b(miedo|panico|terror|nervios|cosa)( de| a| al| por)? (que (?!sea|este|tenga|empeor|avance|siga|se (me |le )?(ponga|haga) peor)|\w+(ar|er|ir)(me|le|se)?\b|la |el |los |las )",
    r"\bme (asusta|preocupa) (que (?!sea|este|tenga|empeor|avance|siga|se (me |le )?(ponga|haga) peor)|\w+(ar|er|ir)(me|le|se)?\b)",
    r"\b(nervous|scared|afraid|worried|terrified) (about|of|for|before|that (?!it'?s)|the|to|it will|i'?ll)\b",
    # hearsay
    r"\b(me )?(dijeron|dicen|contaron|comentaron|han dicho|han contado|cuentan) que\b",
    r"\b(amig\w+|prim[ao]s?|herman[ao]s?|vecin[ao]s?|compa\w*|alguien|gente|conocid[ao]s?|cunad[ao]s?)\b.{0,15}\b(me )?(dijo|dice|conto|comento|cuenta) que\b",
    r"\b(he|hemos) (oido|escuchado|leido)\b", r"\b(lei|oi|escuche) (que|en)\b", r"\bes (cierto|verdad) que\b",
    r"\b(i|we) (heard|read)\b", r"\b(people|they|my friend|a friend|someone|everyone) (say|says|said|told me)\b",
    # seen on social media: "vi en TikTok que a una niña le salió pus"
    r"\b(vi|visto|vimos|sale|salio|aparece) en (tiktok|instagram|insta|youtube|facebook|internet|redes|un video|las noticias)\b",
    r"\b(saw|seen|watched) (it )?(on|in) (tiktok|instagram|youtube|facebook|the internet|a video|the news)\b",
)
# A fear of what is still ahead: the feared verb in the subjunctive or the future ("miedo que sangre mucho en la
# extracción", "afraid it will bleed"), not a sign reported as happening ("me preocupa que veo manchas", "scared that
# my throat is closing").
FEAR_AHEAD = Vocabulary(
    r"\b(miedo|panico|terror|nervios|cosa|asusta|preocupa|aterra)( de| a| al| por)? que (me |le |se me |se le |nos |les |se )?"
    r"(sangre|sangren|duela|duelan|salga|salgan|pase|hinche|hinchen|inflame|infecte|quede|queden|ponga|caiga|desmaye|"
    r"maree|arda|pique|complique)\b",
    r"\b(afraid|scared|worried|nervous|terrified) (it will|it'?ll|i will|i'?ll|it might|i might|of (bleeding|fainting|pain|"
    r"swelling|an infection))\b",
)
FEARED_TOPIC = Vocabulary(
    r"^\W*(no )?(sangrar|desmayar|marear|quedar|perder|ahogar|hinchar|infectar|paralizar|morir|no poder|poder|ver|sentir|tener)\w*\b"
    r"(?=.*\b(miedo|panico|terror|asusta|aterra|preocupa|da cosa)\b)",
)
# A contrast ends the reach of a fear or hearsay: "me dijeron que era normal pero no puedo respirar"; so does
# a new clause that reports ("me da miedo que empeore, tengo el labio blanco").
CONTRAST = re.compile(r"\b(?:pero|but|sin embargo|aunque|y ahora|and now|ahora|now|though)\b"
                      r"|[,;:] (?:y |ya |e )?(?:me |le |se me |se le )?(?:sale|salen|duele|duelen|arde|cuesta|falta|pica|sangra|tengo|"
                      r"tiene|estoy|esta|veo|ve|siento|noto)\b")
CONTRAST_FOLDED = re.compile(phonetic(CONTRAST.pattern))
CLAUSE_BREAK = re.compile(CONTRAST.pattern + r"|[,;:]")
CLAUSE_BREAK_FOLDED = re.compile(phonetic(CLAUSE_BREAK.pattern))
# Worry before a procedure.
PRE_PROCEDURE = Vocabulary(
    r"\bcuando me (saquen|pongan|hagan|pinchen|inyecten|apliquen)\b", r"\bnervios[ao] (por|con|antes)\b",
    r"\bmanana me (sacan|ponen|hacen|toca)", r"\b(me van a|voy a) (sacar|poner|hacer)", r"\btengo (cita|turno|hora) (el|para|manana)",
    r"\bla (otra|proxima) semana\b", r"\bquiero hacerme\b",
    r"\b(lo|la|los|las) tengo (el|este|para el|la proxima|el proximo) (lunes|martes|miercoles|jueves|viernes|sabado|domingo|semana|mes)\b",
    # the procedure is still ahead: "¿me puedo poner bótox el sábado?", "puedo ir igual a la depilación?"
    r"\b(me )?(puedo|podre|pueden|podrian) (ir|venir|poner|hacer|aplicar|sacar|hacerme|ponerme|aplicarme)\b",
    r"\b(can|may|should) i (still )?(get|have|come|go|do|book)\b", r"\b(lo|la) (muevo|cambio|reprogramo|aplazo)\b",
    r"\b(mover|cambiar|reprogramar|aplazar|cancelar|agendar|reservar) (la |mi |su |una )?(cita|hora|turno|sesion|reserva)",
    r"\b(reschedule|move|cancel|book) (my|her|his|the|an?) (appointment|session|visit)",
    r"\btomorrow\b", r"\bnext week\b", r"\basking before\b", r"\bthinking (of|about) getting\b", r"\bwhen i get\b",
)
RESOLVED_SAID = (
    r"\bya (estoy|me siento|esta|quedo|estaba|me sentia|quede) (bien|perfect|barbar|genial|joya|como nuev|normal)",
    r"\bse (me|le) (paso|quito|fue) todo\b(?! (el |la )?(color|negro|oscuro|blanco|a negro|borroso|de golpe))",
    r"\bpero (ya )?(paro|se detuvo|se corto|dejo de sangrar)\b",
    r"(?<!\bno )(?<!aun no )(?<!todavia no )\b(ya |ahora )?(esta|estoy|quedo) (cicatrizad|curad|sanad)\w*",
    # a course finished, unless its own sentence goes on with a sign ("ya terminé el antibiótico y no me baja la fiebre")
    r"\bya (me )?(termine|acabe|complete) (el |los |la |mi )?(antibiotic|tratamiento)\w*"
    r"(?![^.!?\n]*\b(no (me |le )?(baja|pasa|quita|para|mejora)|tengo|sale|sigue|sigo|fiebre|pus)\b)",
    r"\bya me (trataron|curaron)\b", r"\bya (paso\b(?! (una |un |media |mas de |casi |como |\d+ |dos |tres |cuatro |cinco |varias |unas? )+(hora|dia|rato|minut|semana|noche))|se (me |le )?(bajo|quito|paso|fue|curo))", r"\bya curad",
    r"\bya (me )?(recupere|cure|mejore|alivie|compuse|recuperad|sanad)", r"\bya (estoy|me siento|esta) (mejor|recuperad|sana|san[oa] y salv)",
    r"\b(i'?ve|i have|she'?s|he'?s|she has|he has) (fully |completely )?recovered\b", r"\ball better\b",
    r"\bfine now\b", r"\b(but |and )(i'?m |i am |i feel |i felt |felt |feeling |was |she'?s |he'?s )?(fine|ok|okay|good|better) (now|after|again|since)\b", r"\b(went|has gone|gone) down\b", r"\bgone now\b",
    r"\bresolved\b", r"\bya no (me |le )?(veo borroso|veo doble|duele|sangra|arde|tengo|tiene)",
    r"\bno longer (blurry|bleeding|swollen)",
    r"\bse (me|le) (paso|quito|fue|bajo) (enseguida|rapido|al rato|en (un|unos) (rato|minutos|segundos)|sol[oa])",
    r"\bpero (ya )?se (me|le) (paso|quito|fue|bajo)\b", r"\b(passed|went away|wore off|settled) (quickly|right away|after (a|an|i|some|eating|drinking|resting|lying))",
)
# A past event that is over: said to be over, or set long ago.
RESOLVED = Vocabulary(
    *RESOLVED_SAID,
    r"\bel ano pasado\b", r"\b(la ultima|la otra|la) vez (pasada|que)\b", r"\bla ultima vez\b", r"\blast time\b", r"\bhace (\w+ )?(anos|meses)\b", r"\buna vez\b", r"\ben otra clinica\b",
    r"\byears ago\b",
    # a past year, unless its sentence goes on to today: "tuve taquicardia en 2019", not "me la hice en 2023 y hoy…"
    r"\b(en|in|el|del) (19[5-9]\d|20[01]\d|202[0-4])\b(?![^.!?\n]*\b(hoy|today|anoche|desde|esta manana|this morning|"
    r"tonight|last night|now|ahora mismo)\b)",
    # English "once", not the Spanish eleven ("a las once", "once días")
    r"(?<!las )\bonce\b(?! (de|y|horas?|dias?|semanas?|meses|anos|am|pm|del|unidades)\b)", r"\bmonths ago\b", r"\blast year\b", r"\bfue solo (por|un|una)\b",
)
# Said to be over ("ya no tengo", "ya se me pasó"): this outweighs a "yesterday" for the signs that need
# a link ("¿puedo ir a la sesión si ayer tuve fiebre? ya no tengo"), unless something is still going on.
OVER = Vocabulary(*RESOLVED_SAID)
# Figurative, joking or enthusiastic uses.
# Laughter: no one in an emergency laughs about it, so it calms even a message set in the present.
LAUGHTER = Vocabulary(r"\bj[ae](j[ae])+\b", r"\bjsjs\w*", r"\blol\b", r"\blmao\b", r"\bhaha\w*", r"\bxd\b")
# The sign is an animal's ("mi perro se quebró un diente", "my cat burned her paw"): not one of our clients.
# Only the animal as the subject of the sign, and only when the message says nothing of "now": "my dog bit my lip
# after the filler and it won't stop bleeding" is the writer's emergency.
PET = Vocabulary(
    r"\b(mi|el|la|nuestr[oa]|su|tu) (perr|gat|mascota|cachorr|michi|conej|loro|hamster|caball(?=o|ito)|yegua)\w*\b.{0,30}\b(se|le|tiene|esta|anda)\b",
    r"\b(my|our|her|his) (dog|cat|puppy|kitten|pet|bunny|parrot|horse|mare|pony)('s)? (has|is|got|broke|burned|burnt|cut|hurt|paw|"
    r"tooth|leg|ear|eye|hoof)\b",
)

FIGURATIVE = Vocabulary(
    # a price that hurts ("me duelen los precios", "casi me desmayo con el presupuesto"); not a price asked
    # beside a real sign ("quería preguntar el precio de los alineadores. y de paso, a mi hermano le sale pus…")
    r"\b(duel\w*|dolor|infarto|desmay\w*|muer\w*|mori\w*|sangr\w*|respir\w*|hurts?|heart attack|faint\w*|die|dying|"
    r"bleed\w*|breath\w*)\b[^.!?\n]{0,60}\b(precios?|presupuestos?|cotizacion|cotizaciones|prices?|bills?|quotes?)\b",
    r"\b(precios?|presupuestos?|cotizacion|cotizaciones|prices?|bills?|quotes?)\b[^.!?\n]{0,60}\b(duel\w*|dolor|infarto|"
    r"desmay\w*|muer\w*|mori\w*|sangr\w*|respir\w*|hurts?|heart attack|faint\w*|die|dying|bleed\w*|breath\w*)\b",
    r"\b(me )?duele que\b", r"\bit hurts that\b", r"\bme muero (por|de (la risa|ganas|amor|emocion))",
    # "casi me desmayo de la rabia", "me quiero morir de la bronca": anger, shame or laughter
    r"\b(casi )?me (desmayo|desmaye|muero|mori) de (la |el |tanta |tanto )?(rabia|bronca|risa|verguenza|coraje|emocion|"
    r"felicidad|alegria|nervios|ternura|amor)\b",
    r"\bme (quiero|queria|voy a) morir de (la |el |tanta |tanto )?(bronca|rabia|risa|verguenza|pena|ganas|sueno|hambre|"
    r"aburrimiento|envidia|amor|emocion|nervios|cringe|coraje|calor|frio)\b", r"\bdying to\b", r"took my breath away", r"\bde la emocion\b",
    r"\blo bien que\b", r"\bsin respiracion lo\b", r"\ben las nubes\b", r"\bon cloud nine\b",
    r"\bduele (el|mi|al) (bolsillo|alma|billetera|cartera|orgullo|ego)\b", r"\b(muy|tan|re|super|demasiado|bastante) car[oa]s?\b",
    r"\bun ojo de la cara\b", r"\b(my |the )?(wallet|bank account) (hurts|is crying)\b", r"\bde lo (brillante|lindo|bonito)",
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
# Getting better, unless it got worse again: "el dolor es mucho menor hoy", "la hinchazón va bajando",
# "the pain is much better today".
IMPROVING = Vocabulary(
    r"\b(mucho|bastante|muchisimo|harto|muy|re|ya|algo) (menos|menor|mejor)\b", r"\bcada vez (menos|mejor)\b",
    r"\b(va|van|esta|estan|ha|han|ya) (bajando|mejorando|disminuyendo|cediendo|desinflamando|deshinchando|bajado|mejorado|"
    r"disminuido|cedido|desinflamado|deshinchado)\b",
    r"\b(much|way|a lot|so much|far|lot) (better|less)\b", r"\b(getting|feeling|feels|looks|looking) better\b",
    r"\b(improving|subsiding|easing|fading)\b", r"\bya casi no se (nota|ve|siente)\b", r"\bya casi nada\b",
    r"\bcada (vez|dia|hora) (mas )?(clar|chic|pequen|suave|tenue|leve|desinflamad|deshinchad|bajit|menos|mejor)",
    r"\b(smaller|lighter|fainter|better|less) (each|every) day\b", r"\b(is |are |it'?s )?(going|coming) down\b",
    r"\b(has|have|had|'s|'ve) (gone|come) down\b",
)
SWELLING_NOUN = re.compile(r"\b(hinchazon|inflamacion|rojez|enrojecimiento|hinchad\w*|inflamad\w*|swelling|swollen|redness)\b")
OTHER_SYMPTOM = re.compile(r"\b(dolor|duele|fiebre|pus|ardor|pain|fever|hurts?)\b")
CLAUSE_MARK = re.compile(r"[,;.!?\n]")
EXPECTED_BEFORE = re.compile(r"\b(?:supposed to|should|deberia|tendria que|tenia que|se supone que|se suponia que)\b"
                             r"(?: (?:be|estar|ir|ya|haber))?\s*$")
RELAPSE = Vocabulary(r"(?<!estaba )(?<!estuvo )\b(empeor|peor|otra vez|de nuevo|volvio|volvi|al reves|mas grande que)", r"\b(pero|but) (hoy|ahora|de repente|now|today|suddenly)\b",
                     r"\b(worse|again|came back)\b")
# A comparison, not the sign itself: "como con una quemadura solar", "like a sunburn".
SIMILE_BEFORE = re.compile(r"\b(?:como|tipo|like|as if)\s+(?:(?:con|si|una?|a|de|tuviera|had)\s+){0,3}$")
# Signs that are expected, in mild form, after some procedures (swelling, a burn-like redness after a
# laser): a mild or announced-course cue outweighs them, unlike breathing or vision.
SOFT_SIGNS = ("facial_swelling", "burn", "growing")
# The problem is happening now: these override the calming cues above.
STRONG_CURRENT = Vocabulary(
    r"\bdesde (que|el|la|ayer|anoche|hace|esta|hoy|el \w+)\b", r"\bayer\b", r"\bya (paso|pasaron|lleva) (una |un |media |mas de |casi |como |\d+ |dos |tres |cuatro |cinco |varias |unas? )+(hora|dia|rato|minut|semana|noche)", r"\banoche\b", r"\bhoy\b", r"\bahora\b(?! (?:ya )?(?:quiero|queremos|quisiera|quisieramos|me gustaria|nos gustaria) (?!saber\b))",
    r"\bahorita\b", r"\bacabo de\b", r"\bacaban de\b", r"\brecien\b", r"\bsigo\b", r"\bsigue\b", r"\bllevo\b", r"\bya van\b",
    r"\bhace (\d+|un|una|unos|unas|dos|tres|cuatro|cinco|pocos?) (hora|dia|rato|minut|semana)",
    r"\besta (manana|tarde|noche)\b", r"(?<!\bsi )\bme (duele|arde|sangra) (mucho|muchisimo)", r"\bauxilio\b",
    # a cry for help, not "¿el masaje ayuda?" / "will ice help?"
    r"(^|[.!?¡¿,] ?)(ayuda|help)\b(?! (a|con|para|en|with|to|for)\b)", r"\b(ayuda|help)( (me|please|por favor|urgente|urgent|pronto|rapido))?\s*!",
    r"\b(necesito|necesitamos|i need|we need|please|por favor|pls) (ayuda|help)\b", r"\b(help me|help us|ayudenme|ayudame|ayudeme)\b",
    r"\bsince\b", r"\byesterday\b", r"\btoday\b", r"\bright now\b", r"\bjust (got|had)\b", r"\b(i'?m|am|is|are|it'?s|she'?s|he'?s) still\b",
    r"\bstill (numb|bleed|swollen|dizzy|feel|hav|can|hurt|burn|see|shak)", r"\bkeeps\b",
    r"\bthis (morning|afternoon|evening)\b", r"\bright after\b", r"\ban hour ago\b",
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
                    r"\bfuerte\b", r"\bfortisim", r"\bbrutal\b", r"\bre (hinchad|inflamad|dolor)", r"\bsuper\b", r"\bcada (vez|dia|hora|noche) (mas|peor)\b", r"\bva a peor\b",
                    r"\bempeora", r"(?<!estaba )(?<!estuvo )\bpeor\b", r"\bno (se me )?(baja|pasa|quita|para)\b", r"\bsevere", r"\bso much\b",
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
    # reassuring only because the writer asks whether it is normal or laughs: without those words the rules
    # see an emergency ("¿es normal que vea manchas negras después de los hilos?", "pus… jaja exagero?")
    weakly: bool = False


# Sentences end at . ! ? or a line break ("..., ¿me puedo poner bótox?" stays one sentence).
SENTENCE_BREAK = re.compile(r"[.!?\n]")
# The event is still going on or came back: this outweighs a "se me pasó" in the same sentence.
ONGOING = Vocabulary(r"\b(sigo|sigue|siguen|todavia|aun|otra vez|de nuevo|volvio|volvi)\b",
                     # "ahora" says it goes on, unless it says one is fine now ("ahora estoy bien")
                     r"\b(ahora|ahorita)\b(?! (ya )?(estoy|me siento|ando|esta|todo|estoy muy) (bien|perfect\w*|genial|normal|mejor|ok|cicatrizad\w*|curad\w*|sanad\w*)\s*([.,;!?)]|$|y\b|gracias\b))"
                     # "ahora quiero hacerme la endodoncia": a request, not a sign going on
                     r"(?! (?:ya )?(?:quiero|queremos|quisiera|quisieramos|me gustaria|nos gustaria) (?!saber\b))",
                     r"\b(still|again|now|keeps|came back)\b",
                     # time elapsed while it goes on: "ya pasó una hora", "ya van dos días"
                     r"\bya (paso|pasaron|van|llevo|lleva) (una |un |media |mas de |casi |como |\d+ |dos |tres |cuatro |cinco |varias |unas? )+(hora|dia|rato|minut|semana|noche)",
                     # since when it goes on, not since when it is fine ("desde ayer estoy bien", "fine since")
                     r"\bdesde (ayer|anoche|hoy|esta (manana|tarde|noche)|hace (un|una|unos|unas|\d+|dos|tres) (rato|hora|minut|dia)\w*)"
                     r"(?! (estoy|me siento|ando|todo|sin|nada|ya|bien|perfect)\b)",
                     r"(?<!fine )(?<!okay )(?<!ok )(?<!better )(?<!good )\bsince (yesterday|last night|this morning)\b")


def _sentence(text: str, start: int) -> tuple[str, int]:
    """The sentence of `text` around position `start`, and `start` within it."""
    left = max((m.end() for m in SENTENCE_BREAK.finditer(text, 0, start)), default=0)
    right = SENTENCE_BREAK.search(text, start)
    return text[left:right.end() if right else len(text)], start - left


def _leads(cue: Vocabulary, s: str, at: int | None, clause: bool = False) -> bool:
    """`cue` occurs in `s` before position `at` with no contrast in between (anywhere, when `at` is None); with
    `clause`, not even a comma."""
    fs = phonetic(s)
    plain, folded = (CLAUSE_BREAK, CLAUSE_BREAK_FOLDED) if clause else (CONTRAST, CONTRAST_FOLDED)
    for text, pattern, contrast, limit in ((s, cue.plain, plain, at),
                                           (fs, cue.folded, folded, None if at is None else len(phonetic(s[:at])))):
        for m in pattern.finditer(text):
            if limit is None or (m.start() < limit and not contrast.search(text, m.end(), max(limit, m.end()))):
                return True
    return False


def _framed(sentence: str, now: bool, at: int | None = None) -> bool:
    """The sentence asks in general, imagines, worries about what is ahead or tells a habit, and the
    message says nothing of the present ("¿es normal ver borroso? me lo pusieron hace media hora"); a
    fear or hearsay before the sign at `at` does the same; or the sentence tells of an episode that is
    over ("se mareó al ver la aguja, pero se le pasó enseguida") and nothing in it is still going on."""
    s, fs = sentence, phonetic(sentence)
    if not now and (HYPOTHETICAL.search(s, fs) or PRE_PROCEDURE.search(s, fs) or HABITUAL.search(s, fs)
                    or FEARED_TOPIC.search(s.lstrip(" ,;¿¡"), fs.lstrip(" ,;¿¡"))):
        return True
    # a fear or hearsay frames what follows it; in a message set in the present, only a fear of what is still ahead, within
    # its own clause ("desde que le pusieron un stent… nos da miedo que sangre mucho", not "me preocupa que se quede así,
    # no puedo cerrar el ojo" nor "me da miedo que se me está cerrando la garganta")
    if not now and _leads(WORRY_OR_HEARSAY, s, at) or now and at is not None and _leads(FEAR_AHEAD, s, at, clause=True):
        return True
    return bool(RESOLVED.search(s, fs)) and not ONGOING.search(s, fs)


def _counts(name: str, text: str, start: int, now: bool) -> bool:
    """A hit counts unless it is denied in its own phrase, framed as a question or worry in its own
    sentence, or (for a burn) a comparison."""
    before = text[:start]
    sentence, at = _sentence(text, start)
    if _negated(before) or _framed(sentence, now, at):
        return False
    return not (name == "burn" and SIMILE_BEFORE.search(before))


# every sign and symptom, for the cues that ask whether any of them is only denied or feared
ALL_SIGNS = (*RED_FLAGS.values(), *LINKED_SIGNS.values(), SYMPTOM)


def _clause_before(t: str, pos: int) -> str:
    """The text from the start of the clause that holds `pos` up to `pos`."""
    return t[max((b.end() for b in CLAUSE_MARK.finditer(t, 0, pos)), default=0):pos]


def _of_the_swelling(clause: str) -> bool:
    """The clause speaks of the swelling or redness, and of no other symptom."""
    return bool(SWELLING_NOUN.search(clause)) and not OTHER_SYMPTOM.search(clause)


def _denied(t: str, ft: str) -> bool:
    """Some sign or symptom is named only to deny it ("no me sangra, no tengo fiebre")."""
    return any(_negated(text[:start]) for vocab in ALL_SIGNS for text, start in vocab.spans(t, ft))


# The hits of one sign looked at: each costs a scan of its sentence, so a long message repeating a framed sign ("me da
# miedo que sangre mucho y " x 130) would hold a worker for seconds; no real message names one sign this often.
MAX_HITS = 24


def _feared(t: str, ft: str) -> bool:
    """Some sign or symptom is named only as something feared ahead ("me da miedo que sangre mucho")."""
    if not FEAR_AHEAD.search(t, ft):
        return False
    return any(_leads(FEAR_AHEAD, *_sentence(text, start), clause=True)
               for vocab in ALL_SIGNS for text, start in islice(vocab.spans(t, ft), MAX_HITS))


def _present_signs(groups: dict[str, Vocabulary], t: str, ft: str, now: bool) -> list[str]:
    """Groups with at least one hit that counts."""
    return [name for name, vocab in groups.items()
            if any(_counts(name, text, start, now) for text, start in islice(vocab.spans(t, ft), MAX_HITS))]


# Chat shorthand, expanded before matching: "dsd el botox", "x todo el cuerpo", "q hago", "alot".
SHORTHAND = {"dsd": "desde", "dsde": "desde", "q": "que", "k": "que", "ke": "que", "xq": "porque", "pq": "porque",
             "porq": "porque", "x": "por", "tb": "tambien", "tmb": "tambien", "bn": "bien", "dsp": "despues", "dps": "despues",
             "mxo": "mucho", "mxa": "mucha", "alot": "a lot", "ur": "your", "u": "you", "n": "and", "im": "i'm",
             "cant": "can't", "dont": "don't", "wont": "won't", "pls": "please", "plz": "please"}
_SHORTHAND = re.compile(r"(?<![-'])\b(" + "|".join(sorted(SHORTHAND, key=len, reverse=True)) + r")\b(?![-'])")
# a dropped g in English ("bleedin", "turnin'"): the stems we look for
_DROPPED_G = re.compile(r"\b(turn|bleed|swell|spread|go|gett|throw|shak|sweat|burn|itch|chok|slurr|los|pass|black|tingl|puk|"
                        r"vomit|faint|spinn|pound|rac|droop|ooz|weep)in'?(?=\W|$)")


def expand_shorthand(t: str) -> str:
    """Shorthand and dropped g's of normalized text written out."""
    return _DROPPED_G.sub(r"\1ing", _SHORTHAND.sub(lambda m: SHORTHAND[m.group(1)], t))


# Asking whether it is normal, or laughing it off ("jaja ya no sé si estoy exagerando"): calming words that
# people in trouble use too. `assess` marks a message that only these calm as `weakly` reassuring.
WEAK_CALM = re.compile(r"\b(?:es|sera|seria|esta) normal(?: que)?\b|\bis (?:it|this|that) normal(?: that| to| for)?\b"
                       r"|\bnormal\?|\b(?:ya )?no se si (?:estoy |me estoy |soy )?(?:exager\w*|paranoic\w*|dramatic\w*)|"
                       + LAUGHTER.plain.pattern)


def assess(text: str) -> EmergencyAssessment:
    t = expand_shorthand(normalize(text))
    found = _assess(t)
    if not found.is_emergency and found.reassuring and WEAK_CALM.search(t) and _assess(WEAK_CALM.sub(" ", t)).is_emergency:
        return EmergencyAssessment(False, (), uncertain=found.uncertain, reassuring=found.reassuring, weakly=True)
    return found


def _assess(t: str) -> EmergencyAssessment:
    """`assess` on normalized text with its shorthand written out."""
    ft = phonetic(t)
    now = bool(STRONG_CURRENT.search(t, ft))
    red = _present_signs(RED_FLAGS, t, ft, now)
    linked = _present_signs(LINKED_SIGNS, t, ft, now)
    # numbness that does not last is not a danger sign; right after an anaesthetic it is the expected course
    expected_numbness = False
    if "numbness" in linked and not NUMBNESS_PERSISTS.search(t, ft):
        linked.remove("numbness")
        expected_numbness = bool(ANAESTHETIC.search(t, ft))
    # "un moretón que no era chiquito" is not mild
    mild = any(not _negated(text[:start]) for text, start in MILD.spans(t, ft)) \
        or bool(IMPROVING.search(t, ft) and not RELAPSE.search(t, ft))
    if mild:
        red = [s for s in red if s not in SOFT_SIGNS]
    # a swelling that grew and is now going down ("aumentó al segundo día… hoy ya va bajando"): the last word is
    # the improvement, unless it got worse again
    if "spreading" in red and not RELAPSE.search(t, ft):
        grew = [m.end() for m in RED_FLAGS["spreading"].plain.finditer(t)]
        # the swelling or redness itself going down, in its own clause, not denied ("no ha bajado") and not what was
        # expected of it ("it was supposed to be going down by now"); "el dolor ya va bajando" says nothing of the spread
        better = [m.start() for m in IMPROVING.plain.finditer(t)
                  if not EXPECTED_BEFORE.search(t, 0, m.start()) and not _negated(t[:m.start()])
                  and _of_the_swelling(_clause_before(t, m.start()))]
        if grew and better and max(better) > max(grew):
            red.remove("spreading")
    procedure = PROCEDURE.search(t, ft)
    # resolved, figurative or asked ahead: these speak for the whole message unless it says "now"
    calm = bool(RESOLVED.search(t, ft) or FIGURATIVE.search(t, ft) or ASKING_AHEAD.search(t, ft)
                or PET.search(t, ft)) and not now
    # laughter calms the weaker signs always, and a red flag unless the writer says it is still going on
    laughing = bool(LAUGHTER.search(t, ft))
    link = "+procedure" if procedure else ""

    if red and not calm and not (laughing and not ONGOING.search(t, ft)):
        return EmergencyAssessment(True, tuple(f"emergency:{s}{link}" for s in red + linked))
    over = bool(OVER.search(t, ft)) and not ONGOING.search(t, ft)
    weak_calm = calm or laughing or over
    if linked and not weak_calm and (procedure or len(linked) >= 2) and not (mild and not now):
        return EmergencyAssessment(True, tuple(f"emergency:{s}{link}" for s in linked))
    symptom = _present_signs({"symptom": SYMPTOM}, t, ft, now)
    severe = _present_signs({"severe": SEVERE}, t, ft, now)
    if symptom and severe and CURRENT.search(t, ft) and not mild and not weak_calm:
        return EmergencyAssessment(True, (f"emergency:severe_symptom{link}",))
    signs = bool(red or linked)
    uncertain = signs and bool(procedure) and not weak_calm
    reassuring = not signs and (weak_calm or mild or expected_numbness or _framed(t, now) or _denied(t, ft)
                                or _feared(t, ft))
    return EmergencyAssessment(False, (), uncertain=uncertain, reassuring=reassuring)
