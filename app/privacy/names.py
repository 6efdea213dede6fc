"""PERSON: people's names as customers write them, often in lowercase ("me llamo camila restrepo").

Two sources, both filtered:
- spaCy's NER (PER / PERSON), which is noisy in Spanish ("Hola", "Botox" come back as persons): a
  span is kept only when it has a capitalized token that is not a greeting, treatment, weekday or
  other known non-name, and, for a single word, when it is a known first name or follows a name cue;
- name cues ("me llamo", "a nombre de", "my name is", "la doctora", "saludos,"): the words after them,
  capitalized or not, up to the first word that cannot be part of a name.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from presidio_analyzer import EntityRecognizer, RecognizerResult

from app.knowledge.lexical import STOPWORDS
from app.privacy.recognizers import result


def fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")


# Common first names in our markets (Spain, Colombia, Mexico, Argentina, Chile) and the US. A single
# word is a name only with a cue, or when it is one of these.
FIRST_NAMES = set(fold(n) for n in """
maria jose juan carlos luis ana laura camila valentina sofia isabella mariana daniela natalia paula andrea
carolina catalina gabriela fernanda alejandra juliana manuela sara lucia martina valeria ximena renata
regina paola patricia claudia monica diana sandra adriana veronica lorena angela beatriz pilar carmen
rosa elena marta cristina raquel silvia teresa julia irene alba nuria noelia rocio ines lourdes
dolores guadalupe lupita yolanda gloria liliana marcela viviana johana yesenia leidy tatiana karen
vanessa jessica jennifer stephanie nicole melissa estefania antonella agustina florencia micaela
milagros romina belen constanza javiera francisca josefa fernanda trinidad antonia catalina
pedro pablo jorge andres felipe santiago sebastian mateo nicolas alejandro diego daniel david miguel
angel javier francisco antonio manuel rafael ricardo fernando eduardo roberto alberto sergio raul oscar
hector mario arturo enrique gustavo hugo ivan jaime joaquin julian lucas martin matias tomas ignacio
facundo gonzalo rodrigo cristian cristobal vicente benjamin agustin emiliano leonardo rodolfo ramiro
esteban camilo mauricio alvaro german hernan marcelo gerardo guillermo armando alfonso salvador jesus
juanita juancho pancho paco pepe lola nacho chema manolo kike toño chucho memo beto
john james robert michael william richard joseph thomas charles christopher matthew anthony mark
steven paul andrew joshua kevin brian george timothy ryan jason jeffrey eric jacob gary nicholas
jonathan justin scott brandon benjamin samuel gregory alexander patrick frank raymond jack dennis
tyler aaron henry adam peter nathan zachary kyle noah ethan liam mason logan lucas oliver elijah
mary elizabeth susan margaret lisa betty sandra ashley emily donna michelle carol amanda melissa
deborah laura rebecca sharon cynthia kathleen amy angela shirley anna brenda pamela emma olivia
samantha katherine christine rachel carolyn janet heather maria diane julie joyce victoria kelly
christina lauren joan evelyn judith megan cheryl hannah jacqueline martha gloria madison grace
ava mia harper abigail chloe sophia isabella charlotte amelia ella zoe lily natalie sarah jessica
""".split())

DATA = Path(__file__).resolve().parent / "data"


def _word_list(name: str) -> set[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return {fold(w) for w in lines if w.strip() and not w.startswith("#")}


# Plus the given names and surnames of Faker's es_ES/es_MX/es_CO/es_CL/es_AR/en_US person providers
# (app/privacy/data/*.txt, sources noted there).
FIRST_NAMES |= _word_list("given_names.txt")
SURNAMES = _word_list("surnames.txt")

# Capitalized words that are not names: greetings, courtesy, treatments, days, months, places we serve.
NON_NAMES = set(fold(w) for w in """
hola holaa holi buenas buenos dias tardes noches buen dia hi hello hey gracias graciass thanks thank
saludos bendiciones ok okay vale dale porfa please que tal gente amigo amiga parce parcero wey guey
che boludo po tio tia bro senor senora señor señora señorita doctor doctora dr dra sr sra srta don dona
botox hydrafacial morpheus8 morpheus peeling laser láser acido hialuronico acido hilos tensores
relleno rellenos microblading microneedling dermapen radiofrecuencia hifu criolipolisis mesoterapia
bioestimulador bioestimuladores sculptra radiesse profhilo plasma prp limpieza facial masaje masajes
depilacion depilación blanqueamiento ortodoncia invisalign brackets carillas implante implantes
endodoncia resina keratina manicure pedicure spa botoxx filler fillers coolsculpting ultherapy
lunes martes miercoles jueves viernes sabado domingo monday tuesday wednesday thursday friday saturday sunday
enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre
january february march april may june july august september october november december
bogota medellin cali barranquilla cartagena santiago valparaiso vina mexico cdmx guadalajara monterrey
puebla buenos aires cordoba rosario mendoza madrid barcelona valencia sevilla bilbao malaga miami
chapinero polanco palermo providencia las condes usaquen poblado condesa roma salamanca
restylane juvederm juvéderm voluma volbella sculptra radiesse ellanse dysport xeomin azzalure belotero
benova medispa dental wellness instagram whatsapp facebook tiktok google gmail hotmail outlook yahoo
visa mastercard amex paypal mercadopago nequi daviplata bizum zelle venmo
cita citas promo promocion precio precios info informacion consulta valoracion turno reserva
quiero necesito tengo estoy soy puedo tienen hay cuanto cuánto donde dónde cuando cuándo como cómo
perfecto genial excelente listo super claro bueno buena muy mucho muchas mil
covid iva ivaa cop mxn usd eur clp ars rut dni nie nif curp rfc cuit cuil cc iban email correo
""".split())

# A first name after these is a place or an institution: "Santa Mónica", "San Ignacio", "Colegio Andrés Bello".
PLACE_WORDS = {"santa", "san", "santo", "sta", "sto", "hospital", "clinica", "fundacion", "colegio", "calle",
               "avenida", "av", "barrio", "parque", "plaza", "centro", "edificio", "universidad", "iglesia",
               "avda", "carrera", "cra", "diagonal", "transversal", "pasaje", "paseo", "colonia", "col",
               "boulevard", "bulevar"}

# Words that end a name (function words, frequent verbs); "de", "del", "la" may sit inside a surname.
_NAME_LINKERS = {"de", "del", "la", "las", "los", "y"}
_STOP = {fold(w) for w in STOPWORDS} | {fold(w) for w in """
quiero queria quisiera necesito tengo tenia estoy soy puedo podria vivo voy fui estaba busco escribo
llamo les le te me para por con sin que y e o u a al en el un una mi mis tu su sus es son era fue
agendar reservar pedir cita hoy manana mañana ayer pasado proximo semana gracias porfa please and or the
i im i'm want need would like to from for with at on in is was am my your this that here there
i'd i'll i've it's that's don't can't won't we're you're they're
""".split()}

_WORD = r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ][A-Za-zÁÉÍÓÚÜÑáéíóúüñ'’-]*"
# Cues after which the next words are a name even in lowercase.
STRONG_CUES = re.compile(
    r"(?<![\w])(?:me\s+llamo|mi\s+nombre\s+es|mi\s+nombre:|nombre\s*:|nombre\s+completo\s*:?|a\s+nombre\s+de|"
    r"de\s+parte\s+de|my\s+name\s+is|my\s+name's|name\s*:|full\s+name\s*:?|under\s+the\s+name(?:\s+of)?|"
    r"paciente\s*:|titular\s*:?|titular\s+de\s+la\s+tarjeta\s*:?|cardholder\s*:?)\s*", re.IGNORECASE)
# Cues after which a *capitalized* word (or a known first name) is a name.
WEAK_CUES = re.compile(
    r"(?<![\w])(?:soy|somos|habla|les\s+habla|le\s+habla|te\s+escribe|les\s+escribe|le\s+escribe|this\s+is|i\s+am|i'm|im|"
    r"it's|paciente|cliente|mi\s+(?:hija|hijo|esposa|esposo|mam[aá]|pap[aá]|novia|novio|hermana|hermano|mujer|"
    r"marido|amiga|amigo|prima|primo|t[ií]a|t[ií]o|abuela|abuelo|sobrina|sobrino|pareja|jefa|jefe|vieja|viejo|"
    r"suegra|suegro|cuñada|cuñado|nieta|nieto|compañera|compañero|socia|socio)|"
    r"my\s+(?:wife|husband|daughter|son|mom|mother|father|dad|sister|brother|friend|partner|girlfriend|boyfriend)|"
    r"dr\.?|dra\.?|doctor|doctora|la\s+doc|el\s+doc|señora|señor|sra\.?|sr\.?|srta\.?|don|doña|mr\.?|mrs\.?|ms\.?|miss|"
    r"lic\.?|licenciada|licenciado|ing\.?|con\s+(?:la|el)|para\s+(?:la|el)|"
    r"saludos,?|atte\.?,?|atentamente,?|cordialmente,?|regards,?|thanks,?|gracias,?|besos,?|abrazo,?|firma:?|"
    r"-|—|–)\s+", re.IGNORECASE)


def _surname_follows(text: str, pos: int, linker: str, strong: bool) -> bool:
    """After "de", "del", "de la", "y" inside a name: is the next real word a surname? "María José de la
    Fuente", "Juan del Castillo y Pérez"; not "Ana y Luis" (two people) nor "Laura de Bogotá"."""
    m = re.match(r"\s+(?:(?:la|las|los|el)\s+)?(" + _WORD + ")", text[pos:pos + 40], re.IGNORECASE)
    if not m:
        return False
    w, f = m.group(1), fold(m.group(1))
    if f in _STOP or f in NON_NAMES or f in _NAME_LINKERS:
        return False
    if linker == "y":      # "y Pérez" is a second surname; "y Luis" is a second person
        return f in SURNAMES and f not in FIRST_NAMES and (w[0].isupper() or strong)
    return w[0].isupper() or (strong and f in SURNAMES)


def _name_tokens(text: str, pos: int, strong: bool) -> tuple[int, int] | None:
    """The run of name words starting at `pos`, or None."""
    tokens = list(re.finditer(_WORD, text[pos:pos + 80]))
    words: list[re.Match] = []
    expected = 0
    for m in tokens:
        gap = text[pos + expected:pos + m.start()]
        if words and not re.fullmatch(r"\s+", gap):
            break                                  # punctuation ends a name
        if not words and gap.strip():
            break
        w, f = m.group(), fold(m.group())
        capital = w[0].isupper()
        if f in _NAME_LINKERS and words:
            if _surname_follows(text, pos + m.end(), f, strong):
                words.append(m)
                expected = m.end()
                continue
            break
        if f in _STOP or f in NON_NAMES:
            break
        if not words and not strong and not (capital or f in FIRST_NAMES):
            break
        if words and not strong and not capital and fold(words[0].group()) not in FIRST_NAMES:
            break                                  # "soy ana torres": a known first name carries its surname
        words.append(m)
        expected = m.end()
        if sum(1 for w in words if fold(w.group()) not in _NAME_LINKERS) == 4:
            break
    while words and fold(words[-1].group()) in _NAME_LINKERS:
        words.pop()
    if not words:
        return None
    return pos + words[0].start(), pos + words[-1].end()


def _signature_line(text: str, start: int, end: int) -> bool:
    """A name alone on the last lines of a message, under what it says: "Gracias!\n— Lucía"."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return (line_start > 0 and not re.search(r"\w", text[line_start:start])
            and not re.search(r"\w", text[end:line_end]))


class PersonRecognizer(EntityRecognizer):
    def __init__(self, language: str):
        super().__init__(supported_entities=["PERSON"], supported_language=language,
                         name=f"PersonRecognizer_{language}")

    def load(self) -> None:
        pass

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return result(self, "PERSON", start, end, score)

    def analyze(self, text, entities, nlp_artifacts=None):
        if entities and "PERSON" not in entities:
            return []
        out = []
        for cues, strong, score in ((STRONG_CUES, True, 0.9), (WEAK_CUES, False, 0.75)):
            for m in cues.finditer(text):
                span = _name_tokens(text, m.end(), strong)
                while span:
                    out.append(self._result(*span, score))
                    # "somos Olga y Iván", "Ana, Luis y Marta": a list of names after one cue
                    more = re.match(r"\s*(?:,|\by\b|\be\b|\band\b)\s*", text[span[1]:])
                    span = _name_tokens(text, span[1] + more.end(), strong=False) if more else None
        # A capitalized known first name, with the capitalized words after it ("Tomás Ruiz, 351…").
        for m in re.finditer(r"(?<![\w])" + _WORD, text):
            w = m.group()
            before = fold(text[max(0, m.start() - 12):m.start()]).split()
            if before and before[-1] in PLACE_WORDS:
                continue                              # "Santa Cristina", "Hospital San Ignacio"
            if w[0].isupper() and fold(w) in FIRST_NAMES and fold(w) not in NON_NAMES:
                span = _name_tokens(text, m.start(), strong=False)
                if span:
                    single = span == (m.start(), m.end())
                    sentence_start = not text[:m.start()].strip() or text[:m.start()].rstrip()[-1:] in ".!?¿¡:"
                    if not (single and sentence_start) or _signature_line(text, *span):
                        out.append(self._result(*span, 0.6 if single else 0.75))
        for ent in getattr(nlp_artifacts, "entities", None) or []:
            if ent.label_ not in ("PER", "PERSON"):
                continue
            span = self._ner_span(text, ent.start_char, ent.end_char)
            if span:
                out.append(self._result(*span[:2], span[2]))
        return out

    @staticmethod
    def _ner_span(text: str, start: int, end: int) -> tuple[int, int, float] | None:
        words = list(re.finditer(_WORD, text[start:end]))
        # Trim non-names at the edges: "Hola María" -> "María", "Laura Botox" -> "Laura".
        before = fold(text[max(0, start - 12):start]).split()
        if (words and fold(words[0].group()) in PLACE_WORDS) or (before and before[-1].rstrip(".") in PLACE_WORDS):
            return None                                # "Av. Corrientes", "Clínica Santa María"
        while words and (fold(words[0].group()) in NON_NAMES or fold(words[0].group()) in _STOP):
            words.pop(0)
        while words and (fold(words[-1].group()) in NON_NAMES or fold(words[-1].group()) in _STOP):
            words.pop()
        if not words or len(words) > 5:
            return None
        if any(not w.group()[0].isupper() for w in words if fold(w.group()) not in _NAME_LINKERS):
            return None
        s, e = start + words[0].start(), start + words[-1].end()
        if re.search(r"[\d@/]", text[s:e]):
            return None
        if len(words) == 1:
            f = fold(words[0].group())
            if f not in FIRST_NAMES:
                return None
            return s, e, 0.6
        return s, e, 0.7
