"""Deterministic emergency detection. It runs before any other routing and errs towards a human.

Two kinds of signal:
- red flags (can't breathe, throat closing, fainting, skin turning white after filler, vision loss,
  fever, pus, bleeding that won't stop, a knocked-out tooth, burns, self-harm): an emergency unless the
  message is clearly a general or future question with nothing about the writer's present state
  ("¿el botox puede causar dificultad para respirar?");
- ordinary symptoms (pain, swelling, bruising, bleeding): an emergency only when they are the writer's
  present state AND severe or getting worse ("me duele mucho y está muy hinchado desde el botox de
  ayer"), never for a general question ("¿el botox duele?", "¿es normal que salga un morado?").
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


def _rx(*patterns: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


RED_FLAGS = {
    "breathing": _rx(r"\bno (puedo|podia|puede|logro) respirar", r"\b(me )?cuesta (mucho )?respirar",
                     r"dificultad (para|al) respirar", r"\bfalta (el )?aire", r"\bme ahogo\b", r"\bahogando",
                     r"garganta (se me )?(cierra|cerrando|cerrada)", r"se me cierra la garganta",
                     r"\bno respira", r"respiro (mal|con dificultad)", r"respirar bien",
                     r"garganta.{0,15}(apretad|cerr)", r"(cerrando|cierra) la garganta", r"me cuesta (un buen |mucho )?(pasar saliva|tragar)", r"no puedo (tragar|pasar saliva)",
                     r"throat.{0,20}(closing|tight)",
                     r"can'?t breathe", r"cannot breathe", r"trouble breathing", r"hard to breathe",
                     r"short(ness)? of breath", r"throat (is )?(closing|tight|swelling)", r"difficulty breathing"),
    "allergic_reaction": _rx(r"reaccion alergica", r"\bronchas?\b", r"urticaria", r"anafila",
                             r"se me (esta )?(hinchando|hincho|inflamo|inflamando) (toda )?(la )?(cara|lengua|garganta|boca)",
                             r"lengua (hinchada|inflamada)", r"allergic reaction", r"\bhives\b",
                             r"(tongue|throat|face) (is )?(swelling|swollen)"),
    "fainting": _rx(r"desmay", r"perdi (el )?conocimiento", r"me (voy a|estoy por) desmayar", r"\bfainted?\b",
                    r"passed out", r"pass(ing)? out", r"lost consciousness", r"\bme mareo mucho\b",
                    r"muy mareada?", r"very dizzy"),
    "chest_pain": _rx(r"dolor (en el|de) pecho", r"me duele el pecho", r"chest pain", r"pain in my chest",
                      r"presion en el pecho"),
    "skin_ischemia": _rx(r"poniendo (muy )?(blanc|gris|palid)", r"(blanc|white|palid|pale).{0,10}\b(y|and) (fri|cold)",r"(violeta|morad|purple|blue|azul|gr[ae]y).{0,30}(fri[ao]|cold|arde|ardor|burn)",
                         r"(fri[ao]|cold).{0,30}(violeta|morad|purple|blue|azul|blanc|white)",r"(se me )?(puso|pone|esta|quedo|ve|veo|tengo) (la piel )?(muy )?(blanc|blanquit|gris|palid)",
                         r"(piel|labio|zona|nariz|punta).{0,30}(blanc|gris|palid|fri[ao]|moteada)",
                         r"(blanc|gris|palid).{0,30}(relleno|labio|nariz|pusieron)",
                         r"turn(ed|ing)? (white|gr[ae]y|pale|blue)", r"cold to the touch", r"mottled"),
    "vision": _rx(r"veo (medio |un poco |como |todo )?(borroso|doble|mal|nublado)",
                  r"(ojo|parpado|ceja)\w*.{0,20}\b(cay|caid)", r"no (lo|la) puedo abrir", r"half (shut|closed)",
                  r"can'?t (raise|move|close|open) my", r"\bno puedo (mover|cerrar|abrir) (el|la|mi)", r"vision (borrosa|doble)", r"\bno veo\b",
                  r"perdi (la )?vista", r"(ojo|parpado|ceja|boca|cara) (se me )?(cayo|caido|caida|chueca|torcida)",
                  r"se me (cayo|cae) (el )?(ojo|parpado)", r"blurry vision", r"blurred vision", r"can'?t see",
                  r"double vision", r"(eyelid|eye|brow) (is )?(drooping|droopy)", r"droop"),
    "fever_infection": _rx(r"(bulto|zona|lump|bump).{0,25}(caliente|hot\b)",r"\bfiebre", r"escalofrio", r"\bpus\b", r"supura", r"infectad", r"infeccion",
                           r"huele (muy )?mal", r"\bfever", r"\bchills\b", r"infected", r"infection", r"oozing",
                           r"calentura"),
    "bleeding": _rx(r"sangr\w*.{0,40}no (se )?(detiene|para|deja|corta)", r"sigo sangrando",
                    r"bleeding.{0,30}(won'?t|doesn'?t|does not|not|wont) stop",r"sangr\w* (mucho|muchisimo|demasiado|sin parar|a chorros)", r"no (me )?para de sangrar",
                    r"no deja de sangrar", r"hemorragia", r"sangrado (abundante|fuerte)",
                    r"(won'?t|doesn'?t|does not|will not) stop bleeding", r"bleeding (a lot|heavily|badly)",
                    r"heavy bleeding"),
    "dental_trauma": _rx(r"se (me|le) (cayo|salio|partio|quebro|rompio) (todito |completo )?(un |el |la |una )?(diente|muela|paleta)",
                         r"(cachete|mejilla|cara)\b.{0,10}(inflam|hinch)", r"se (me|le) (inflamo|hincho) (el cachete|la cara|la mejilla)",
                         r"\bse (me |le )?(partio|quebro|rompio|cayo) (un |el |la |una )?(diente|muela|paleta)",
                         r"knocked .{0,20}tooth", r"tooth .{0,10}\bout\b", r"severe (tooth|pain|ache)",
                         r"(diente|muela) (partid|quebrad|rot)\w*.{0,40}(sangr|duele|dolor)", r"absceso", r"flemon",
                         r"(cara|mejilla|encia) (muy )?(hinchad|inflamad)", r"knocked out", r"tooth (fell|came) out",
                         r"broke (a|my) tooth", r"abscess"),
    "burn": _rx(r"quemadura", r"ampolla", r"me quem[oe]", r"\bquemad[ao]\b", r"\bblisters?\b", r"\bburn(ed|s)?\b"),
    "numbness": _rx(r"no siento (la|el|mi) (cara|labio|boca|brazo)", r"paraliz", r"\bnumb\b", r"can'?t feel my"),
    "self_harm": _rx(r"don'?t want to live", r"no quiero seguir viviendo",r"me quiero morir", r"quitarme la vida", r"suicid", r"matarme", r"no quiero vivir",
                     r"kill myself", r"end my life", r"hacerme dano"),
}

SYMPTOM = _rx(r"\bdu?ele\b", r"\bduel[ea]n?\b", r"dolor", r"\bhinchad", r"\bhinchazon", r"inflamad", r"inflamacion",
              r"\bmorad[oa]", r"moreton", r"hematoma", r"sangr", r"\bhurts?\b", r"\bpain(ful)?\b", r"swollen",
              r"swelling", r"bruis", r"bleed", r"\bardor\b", r"\barde\b", r"burning", r"\bpica mucho\b",
              r"\bitch", r"\bbulto\b", r"\blump\b", r"\benrojecid", r"\brojo\b", r"\bred\b")
SEVERE = _rx(r"\bmuy\b", r"\bmucho\b", r"muchisim", r"demasiad", r"horrible", r"insoportable", r"terrible",
             r"\bfuerte\b", r"\bbrutal\b", r"\bre (hinchad|inflamad|dolor)", r"\bsuper\b", r"\bcada vez mas\b",
             r"\bempeora", r"\bpeor\b", r"\bno (se me )?(baja|pasa|quita|para)\b", r"\bsevere", r"\bso much\b",
             r"unbearable", r"\breally bad", r"\bworse\b", r"worsening", r"\ba lot\b", r"\bextrem", r"\bcant take\b",
             r"\bhuge\b", r"\benorme\b", r"\bgigante\b", r"\bdesde hace (\d+|dos|tres|cuatro) dias\b",
             r"\burgente\b", r"\bemergencia\b", r"\burgencia\b", r"\bayuda\b", r"\bhelp\b", r"\burgent")
# The writer is describing their own (or a companion's) present state.
CURRENT = _rx(r"\bme (duele|duelen|arde|pica|sangra|salio|salieron|puse|pusieron|hice|hicieron|aplicaron|quedo|esta)",
              r"\btengo\b", r"\btiene\b", r"\bestoy\b", r"\besta\b", r"\bse me\b", r"\bse le\b", r"\bmi (cara|labio|boca|ojo|"
              r"hij|mama|esposa|novia|diente|muela|encia|piel|frente|nariz|zona)", r"\bdesde\b", r"\bayer\b",
              r"\banoche\b", r"\bhoy\b", r"\bahora\b", r"\bhace (\d+|un|una|dos|tres|unas?|pocos?) (hora|dia|rato|minut)",
              r"\bi have\b", r"\bi'?ve\b", r"\bi'?m\b", r"\bmy\b", r"\bsince\b", r"\byesterday\b", r"\btoday\b",
              r"\bright now\b", r"\bit'?s\b", r"\bis getting\b", r"\bkeeps\b", r"\bsigue\b", r"\bsiento\b", r"\bfeel\b")
# A general or future question: about what could happen, not what is happening.
HYPOTHETICAL = _rx(r"\bes normal que\b", r"\bpuede(n)? (causar|dar|provocar|salir|haber|quedar)", r"\bpodria\b",
                   r"\bva a (doler|quedar|salir|sangrar)", r"\bme va a\b", r"\bvoy a tener\b", r"\bduele\?",
                   r"\bdolera\b", r"\bque pasa si\b", r"\bsi me (sale|pasa|da)\b", r"\briesgos?\b", r"\befectos? secundario",
                   r"\bcontraindicac", r"\bantes de\b", r"\bis it normal\b", r"\bcan (it|botox|filler|the)\b",
                   r"\bwill (it|i)\b", r"\bwould\b", r"\bcould\b", r"\bwhat if\b", r"\bside effects?\b", r"\brisks?\b",
                   r"\bdoes (it|botox|the)\b.{0,20}\bhurt\b", r"\bbefore\b", r"\bsoy alergic", r"\bi'?m allergic",
                   r"\bcan i\b", r"\bpuedo (hacerme|ir|venir|tener)\b",
                   r"\bcuanto dura (la|el) (hinchazon|inflamacion|dolor|morado)", r"\bhow long does (the )?(swelling|bruising|pain)")


@dataclass(frozen=True)
class EmergencyAssessment:
    is_emergency: bool
    reasons: tuple[str, ...]


def assess(text: str) -> EmergencyAssessment:
    t = normalize(text)
    current = bool(CURRENT.search(t))
    hypothetical = bool(HYPOTHETICAL.search(t))
    flags = tuple(name for name, rx in RED_FLAGS.items() if rx.search(t))
    if flags and (current or not hypothetical):
        return EmergencyAssessment(True, flags)
    if SYMPTOM.search(t) and current and SEVERE.search(t) and not (hypothetical and not _strongly_current(t)):
        return EmergencyAssessment(True, ("severe_symptom",))
    return EmergencyAssessment(False, ())


_STRONG_CURRENT = _rx(r"\bdesde\b", r"\bayer\b", r"\banoche\b", r"\bhoy\b", r"\bahora\b", r"\bsince\b",
                      r"\byesterday\b", r"\bright now\b", r"\bme (duele|arde|sangra) (mucho|muchisimo)")


def _strongly_current(t: str) -> bool:
    return bool(_STRONG_CURRENT.search(t))
