"""PERSON: people's names as customers write them, often in lowercase ("me llamo camila restrepo").

Sources, all filtered:
- spaCy's NER (PER / PERSON), which is noisy in Spanish ("Hola", "Botox" come back as persons): a
  span is kept only when it has a capitalized token that is not a greeting, treatment, weekday or
  other known non-name, and, for a single word, when it is a known first name or follows a name cue;
- name cues ("me llamo", "a nombre de", "my name is", "la doctora", "su mujer,", "Att:", "saludos,"):
  the words after them, capitalized or not, up to the first word that cannot be part of a name;
- known given names and pet forms ("Sofi", "Pipe") capitalized anywhere, or after an article ("la coni");
- a closing line followed by a short capitalized last line: a signature ("Besos!!\nRo"), or by a name line
  above a title and a company ("Best regards,\nAna Ruiz\nOffice Manager");
- a lowercase name opening a line that goes on with an ID or a phone ("ximena soto, curp …");
- names told by where they stand, read against a broad name dictionary (gender-guesser's, ~48,000 given
  names): a line that opens a contact record ("Zuriñe\n+34 …", "Bruno tel …"), a name before "acá",
  "al habla", "here", a name after "me registraron como"; and a surname after a profession ("el arquitecto …").
Names of streets, stations, districts and products ("metro Manuel Montt", "el paquete Novia Radiante")
are dropped by what stands before or after them; companies ("Grupo …", "… Hnos. SA"), job titles,
nationalities and acronyms ("NIT", "DOB") are not names.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Iterator

from presidio_analyzer import EntityRecognizer, RecognizerResult

from app.knowledge.lexical import STOPWORDS
from app.privacy.recognizers import result


@functools.lru_cache(maxsize=65536)
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
# Short and pet forms ("Sofi", "Pipe", "Mike"): names as friends and signatures write them. None of them is an
# everyday word, so "la coni" or "el pipe" in lowercase is a person too.
NICKNAMES = _word_list("nicknames.txt")
KNOWN_NAMES = FIRST_NAMES | NICKNAMES


def _name_dictionary_names() -> set[str]:
    """The given names of gender-guesser's name dictionary (Jörg Michael's nam_dict.txt: ~48,000 names in use
    in Europe, the Americas and beyond, "Ainhoa", "Iñaki", "Zuriñe" among them). Broader than KNOWN_NAMES,
    and with everyday words among them ("Paz", "Dulce", "Reina"), so only read where the position already
    says a name is likely: a line that opens a contact record, "<name> acá", "registrada como <name>"."""
    try:
        import gender_guesser
    except ImportError:         # GPLv3 code, FDL data (requirements.txt): without it, the names we list
        return set()

    path = Path(gender_guesser.__file__).resolve().parent / "data" / "nam_dict.txt"
    out = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("#") or len(line) < 30:
            continue
        for part in line[3:29].strip().replace("+", " ").replace("-", " ").split():
            out.add(fold(part))
    return out


BROAD_NAMES = KNOWN_NAMES | _name_dictionary_names()

# How a given name is spelled otherwise: "stefany" / "Estefani", "yesica" / "jessica", "jhon" / "jon", "sofya" /
# "sofia", "stephanie" / "stefanie", "jenny" / "jeny". Each rewrite goes both ways.
# Double "rr", "ll", "cc" are Spanish letters of their own ("carro" is no "Caro"); other doubles may drop.
_SPELLINGS = ((r"y", "i"), (r"i", "y"), (r"ph", "f"), (r"f", "ph"), (r"th", "t"), (r"^st", "est"), (r"^est", "st"),
              (r"([bdfgkmnpstz])\1", r"\1"), (r"^jh", "j"), (r"^y", "j"), (r"^j", "y"), (r"ie$", "i"), (r"i$", "ie"))


@functools.lru_cache(maxsize=4096)
def known_spelling(word: str) -> bool:
    """A known given name or pet form, or another spelling of one: "stefany" (Estefany), "yesica" (Jessica)."""
    f = fold(word)
    if f in KNOWN_NAMES:
        return True
    variants = {f}
    for pattern, repl in _SPELLINGS:
        variants |= {re.sub(pattern, repl, v) for v in variants}
    return len(f) > 3 and any(v in KNOWN_NAMES for v in variants)

# Capitalized words that are not names: greetings, courtesy, treatments, days, months, places we serve.
NON_NAMES = set(fold(w) for w in """
hola holaa holi buenas buenos dias tardes noches buen dia hi hello hey gracias graciass thanks thank
saludos bendiciones ok okay vale dale porfa please que tal gente amigo amiga parce parcero wey guey
che boludo po tio tia bro senor senora señor señora señorita doctor doctora dr dra sr sra srta don dona
mr mrs ms mx miss prof lic ing
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
feliz navidad ano año nuevo prospero happy holidays merry christmas new year thanksgiving easter pascua
hasta luego pronto bye chao chau adios adiós xoxo love team equipo familia family sent enviado iphone android
colombia chile argentina espana españa peru ecuador venezuela uruguay paraguay bolivia brasil portugal francia
italia alemania inglaterra canada usa eeuu panama cuba
nit ruc cif ssn cp dob id pasaporte passport tel cel fono
nombre nombres apellido apellidos name domicilio direccion telefono fecha edad dña
factura boleta recibo pedido orden invoice ticket folio
mercado pago banco bank bancolombia davivienda bbva santander galicia banorte banamex itau sabadell caixabank
bankinter revolut yape plin uala oxxo spei transbank webpay pse khipu wise
""".split())

# Given names that are also a city, a month or a weekday ("Santiago", "Julio", "Domingo"): a name only after a
# strong cue ("me llamo Julio") or when a capitalized surname follows ("Santiago Arango"), never alone.
NAME_OR_WORD = {"santiago", "julio", "domingo", "rosario"}

# What cannot make "Santiago" a person's name: "Santiago Centro", "Julio Regalado" (a sale) is left to NER.
_COMPASS = {"centro", "norte", "sur", "oriente", "poniente", "este", "oeste", "downtown"}

# Nationalities: "my German account", "I'm Brazilian". Alone, they are not a person (written with its accent,
# "Germán" is, see `_demonym`).
DEMONYMS = set(fold(w) for w in """
american brazilian german french italian spanish english british irish scottish canadian mexican colombian
chilean argentinian argentine peruvian venezuelan cuban dominican ecuadorian uruguayan paraguayan bolivian
portuguese dutch swiss swedish norwegian danish polish russian ukrainian chinese japanese korean indian
australian european latino latina hispanic
""".split())

# Job titles and departments under a signature ("Jefa de Administración", "Office Manager", "RRHH").
TITLE_WORDS = set(fold(w) for w in """
jefa jefe gerente gerencia directora director direccion coordinadora coordinador coordinacion administracion
administradora administrador recepcion recepcionista asistente secretaria secretario contadora contador
contabilidad tesoreria compras ventas marketing rrhh recursos humanos operaciones departamento area
manager office assistant coordinator sales accounting finance officer chief head ceo cfo coo owner founder
supervisor supervisora analista analyst ejecutiva ejecutivo executive representative representante
front desk reception staff team billing admissions frontdesk
""".split())

# A first name after these is a place or an institution: "Santa Mónica", "San Ignacio", "Colegio Andrés Bello".
PLACE_WORDS = {"santa", "san", "santo", "sta", "sto", "hospital", "clinica", "fundacion", "colegio", "calle",
               "avenida", "av", "barrio", "parque", "plaza", "centro", "edificio", "universidad", "iglesia",
               "avda", "carrera", "cra", "diagonal", "transversal", "pasaje", "paseo", "colonia", "col",
               "boulevard", "bulevar", "metro", "estacion", "esquina", "rua", "carrer", "avinguda", "saint", "st",
               "virgen", "nuestra"}
# Words that make a capitalized run a place or an institution, not a person: "Beverly Hills", "Swiss Medical".
ORG_WORDS = {"hills", "heights", "park", "beach", "springs", "valley", "center", "centre", "mall", "medical",
             "clinic", "dental", "hospital", "university", "college", "county", "city", "village", "bay", "lake",
             "institute", "group", "salud", "sa", "sas", "sl", "srl", "ltda", "inc", "llc", "cia", "corp",
             # street types and landmarks: "Charles Street", "Washington Ave", "the Rose Bowl", "Union Station"
             "street", "avenue", "ave", "road", "rd", "blvd", "boulevard", "drive", "parkway", "pkwy", "highway",
             "hwy", "bowl", "stadium", "arena", "square", "station", "tower", "towers", "museum",
             "airport", "cathedral", "memorial", "pier", "harbor", "harbour", "hotel", "resort", "theater",
             "theatre", "gardens", "terminal", "monument", "zoo",
             # the parts a neighbourhood is divided in: "Polanco II Sección", "Tercera Etapa", "Sector Oriente"
             "seccion", "etapa", "sector", "fase", "ampliacion"}
# Words that make a run a company even after "a nombre de" or "de parte de": "Inversiones Tequendama SAS",
# "Grupo Dental Coyoacán", "Rinaldi Hnos. SA", "Distribuidora del Sur Ltda".
COMPANY_WORDS = {"sa", "sas", "sl", "slu", "srl", "ltda", "inc", "llc", "ltd", "gmbh", "cia", "corp", "eirl", "spa",
                 "hnos", "hermanos", "grupo", "group", "inversiones", "inversora", "comercializadora", "distribuidora",
                 "constructora", "inmobiliaria", "consultores", "consultora", "asociados", "servicios", "soluciones",
                 "industrias", "laboratorio", "laboratorios", "farmacia", "farmacias", "empresa", "empresas",
                 "corporacion", "sociedad", "compania", "holding", "company", "importadora", "transportes",
                 # a business type heading its name: "Estética Polanco Roma", "Peluquería Rizos"
                 "estetica", "peluqueria", "barberia", "salon", "optica", "veterinaria", "boutique", "studio"}
# A legal form right after a run: "Rinaldi Hnos. SA", "Pérez y Cía.", "Textiles Andes S.A.S."
COMPANY_AFTER = re.compile(r"[.,]?\s*(?:S\.?\s?A\.?(?:\s?S\.?)?|S\.?\s?L\.?|S\.?R\.?L\.?|Ltda|SpA|Inc|LLC|Ltd|"
                           r"Hnos|C[ií]a|y\s+C[ií]a|de\s+C\.?V\.?|E\.?I\.?R\.?L\.?)(?![\w])")
# A name right after these is a street, a station or a district named after someone ("metro Manuel Montt",
# "a la altura de Juan Bravo", "Av. Providencia con Antonio Varas", "vivo por Álvaro Obregón") or a
# product ("el paquete Novia Radiante").
NOT_A_PERSON_BEFORE = re.compile(
    r"(?:\b(?:metro|estaci[oó]n|esquina(?:\s+con)?|altura\s+del?|cruce\s+(?:con|de)|intersecci[oó]n\s+con|"
    r"alcald[ií]a|delegaci[oó]n|comuna\s+de|vivo\s+por|queda\s+por|(?:sucursal|sede)\s+(?:de|en)|en|"
    r"paquete|plan|promo(?:ci[oó]n)?|combo|kit|package|programa|protocolo|"     # "el paquete Novia Radiante"
    # a landmark placed by a preposition of place: "cerca del Ángel", "frente al Pilar", "near the Rose Bowl"
    r"cerca\s+del?|frente\s+al?|enfrente\s+del?|al\s+lado\s+del?|junto\s+al?|detr[aá]s\s+del?|"
    r"a\s+(?:\w+\s+)?(?:cuadras?|pasos|metros|minutos)\s+del?|near(?:\s+the)?|close\s+to(?:\s+the)?|"
    r"across\s+(?:from|the\s+street\s+from)(?:\s+the)?|next\s+to(?:\s+the)?|opposite(?:\s+the)?|"
    r"behind\s+the|in\s+front\s+of(?:\s+the)?|by\s+the|walking\s+distance\s+(?:from|to)(?:\s+the)?|"
    # a way in, a car park or a stop is a place's: "el estacionamiento de Manuel Montt", "la entrada es por
    # Anatole France", "the entrance is on Grant", "parking off Emerson", "el paradero de Pedro de Valdivia"
    r"(?:estacionamiento|parqueadero|parking|aparcamiento|garaje|entrada|salida|acceso|ingreso|port[oó]n|"
    r"paradero|parada|estaci[oó]n)(?:\s+(?:es|est[aá]|queda))?\s+(?:de|del|por|sobre|en)|"
    r"(?:entr(?:a|as|o|an|amos|ar|e|en|ando)|dobl(?:a|as|o|an|ar|e|en|ando)|gir(?:a|as|o|an|ar|e|en|ando))"
    r"\s+(?:por|sobre|en)|"
    r"(?:entrance|exit|parking(?:\s+lot)?|garage|stop)(?:\s+is)?\s+(?:on|off|at)|(?:turn|exit|pull)\s+(?:on|onto|off)|"
    r"corner\s+of|intersection\s+of|"
    # a street crossing: "es en Providencia con Antonio Varas", "queda en Insurgentes con Félix Cuevas"
    r"(?:\ben|queda|quedan|ubicad[oa]s?|sobre)\s+(?-i:[A-ZÁÉÍÓÚÑ][\wáéíóúñ.]*(?:\s+[A-ZÁÉÍÓÚÑ][\wáéíóúñ.]*){0,2})"
    r"\s+(?:con|esq\.?)|"
    # a saint, a Virgin or a feast: "día de la Virgen de Guadalupe", "Nuestra Señora del Rosario", "Our Lady of Lourdes"
    r"virgen(?:\s+(?:de\s+la|de|del))?|nuestra\s+se[ñn]ora(?:\s+(?:de\s+la|de|del))?|lady\s+of|saint|"
    r"(?:santuario|bas[ií]lica|parroquia|capilla|iglesia|templo|catedral|fiesta|festividad|feast|church|chapel)"
    r"\s+(?:de\s+la|de|del|of)|d[ií]a\s+de\s+(?:la|las|los)|"
    # a shop of a brand: "la tienda de Louis Vuitton", "la boutique de Carolina Herrera"
    r"(?:tienda|boutique|outlet|showroom|franquicia)\s+(?:de|del))|"
    r"\b(?:calle|av|avda|avenida|carrera|cra|paseo|pasaje|c/)\.?\s+[\w.áéíóúñÁÉÍÓÚÑ ]{2,30}?\s+(?:con|y|esquina))"
    r"\s+(?-i:[A-ZÁÉÍÓÚÑ][\wáéíóúñ]*\s+){0,2}$",          # "el paquete Reina Elena": the run's first word
    re.IGNORECASE)

# A capitalized run right after a product noun is a brand or a product line, not a person: "el aceite Frida Relax",
# "la crema Doña Flor", "un sérum Dolores Vital", "the balm Don Emilio", "la línea Carmen Natural".
PRODUCT_BEFORE = re.compile(
    r"\b(?:aceites?|cremas?|s[eé]rums?|b[aá]lsamos?|geles|gel|lociones|loci[oó]n|mascarillas?|champ[uú]s?|"
    r"shampoos?|acondicionador(?:es)?|jab[oó]n|jabones|perfumes?|fragancias?|colonias?|t[oó]nicos?|exfoliantes?|"
    r"protector(?:es)?|labial(?:es)?|esmaltes?|ampollas?|velas?|kits?|l[ií]neas?|colecci[oó]n|colecciones|marcas?|"
    r"productos?|oils?|creams?|serums?|balms?|lotions?|masks?|conditioners?|soaps?|fragrances?|colognes?|candles?|"
    r"toners?|scrubs?|lines?|collections?|brands?|products?)"
    r"\s+(?-i:[A-ZÁÉÍÓÚÑ][\wáéíóúñ]*\s+){0,2}$", re.IGNORECASE)
# ... unless the run is the subject of a verb after it: "the cream Mary recommended", "the oil Ana sold me".
_SUBJECT_OF_VERB_AFTER = re.compile(r"[ \t]+(?:recommended|suggested|mentioned|gave|sold|sent|told|said|uses|used|"
                                    r"likes|liked|loves|loved|bought|got|brought|showed|tried|applied|prescribed|"
                                    r"put|left|me\s+\w+|te\s+\w+|le\s+\w+|dice|dijo|recomend[oó]|vend[eií]\w*|"
                                    r"us[aoó]|compr[oó])(?![\w])", re.IGNORECASE)
# A run that opens with a Roman numeral is a part of a place, not a person: "Polanco II Sección", "III Etapa";
# and so is a run such a part follows: "Vicente Guerrero III Sección", "Lomas 2a Etapa".
_ROMAN_START = re.compile(r"(?:X{0,3})(?:IX|IV|VI{0,3}|I{1,3})(?=[ \t])")
_PLACE_PART_AFTER = re.compile(r"[ \t]+(?:(?-i:X{0,3}(?:IX|IV|VI{0,3}|I{1,3}))|\d{1,2}\s*[aª]|primera|segunda|tercera|"
                               r"cuarta|quinta)[ \t]+(?:secci[oó]n|etapa|sector|fase|ampliaci[oó]n)(?![\w])",
                               re.IGNORECASE)

# ... or after them: "the Jefferson location", "Wilshire office".
NOT_A_PERSON_AFTER = re.compile(r"[ \t]+(?:location|office|branch|store|clinic|campus|mall|station|street|avenue|"
                                r"center|centre|site|spa|sucursal|shop|boutique|outlet|flagship|"
                                # a brand named after its founder: "Dr. Brandt skincare", "Paula's Choice serum"
                                r"skin\s?care|products?|serums?|creams?|cosmetics|makeup|sunscreen|moisturi[sz]er|"
                                r"cleanser|lotion|brand|collection|oil|balm|gel|mask|shampoo|soap|perfume|"
                                r"fragrance|candle|toner|scrub|line|kit)s?\b", re.IGNORECASE)

# Words that end a name (function words, frequent verbs); "de", "del", "la", "van" may sit inside a surname.
_NAME_LINKERS = {"de", "del", "la", "las", "los", "y", "van", "von", "der", "den", "da", "di", "do", "dos", "das", "du"}
_STOP = {fold(w) for w in STOPWORDS} | {fold(w) for w in """
quiero queria quisiera necesito tengo tenia estoy soy puedo podria vivo voy fui estaba busco escribo
llamo les le te me para por con sin que y e o u a al en el un una mi mis tu su sus es son era fue
agendar reservar pedir cita hoy manana mañana ayer pasado proximo semana gracias porfa please and or the
i im i'm want need would like to from for with at on in is was am my your this that here there
i'd i'll i've it's that's don't can't won't we're you're they're
""".split()}

_WORD = r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ][A-Za-zÁÉÍÓÚÜÑáéíóúüñ'’-]*"
_WORD_RE = re.compile(_WORD)
# Cues after which the next words are a name even in lowercase.
STRONG_CUES = re.compile(
    r"(?<![\w])(?:me\s+llamo|mi\s+nombre\s+es|mi\s+nombre:|nombre\s*:|nombre\s+completo\s*:?|a\s+nombre\s+de|"
    r"de\s+parte\s+de|my\s+name\s+is|my\s+name's|name\s*:|full\s+name\s*:?|under\s+the\s+name(?:\s+of)?|"
    r"paciente\s*:|titular\s*:?|titular\s+de\s+la\s+tarjeta\s*:?|cardholder\s*:?|"
    r"(?:su|el)\s+nombre\s+es|(?:her|his|their|\w+'s)\s+(?:full\s+)?name\s+is|"
    r"(?:el\s+)?nombre\s+de\s+(?:mi|su|tu)\s+\w+\s+es|nombre\s+del?\s+(?:paciente|titular)\s*:?|"
    r"nombres?\s+y\s+apellidos?\s*:?|apellidos?\s*:|patient(?:'s)?\s+name\s*:?|patient\s*:|"
    r"name\s+on\s+the\s+(?:card|account)\s*(?:is|:)?|(?:first|last)\s+name\s*:|surname\s*:|"
    # "nombre" as a field of a list: "Cédula 52…, nombre Julio Prado", "Nombre Camila Ortiz\nCel…"
    r"(?:(?<=[,;])|(?m:^))\s*nombre(?=\s+(?!(?:de|del|que|es|y|e|en|para|por|con)\b)\w))\s*", re.IGNORECASE)
# Cues after which a *capitalized* word (or a known first name) is a name.
_RELATIONS_ES = (r"hija|hijo|esposa|esposo|mam[aá]|pap[aá]|madre|padre|novia|novio|hermana|hermano|mujer|marido|"
                 r"amiga|amigo|prima|primo|t[ií]a|t[ií]o|abuela|abuelo|sobrina|sobrino|pareja|jefa|jefe|vieja|viejo|"
                 r"suegra|suegro|cuñada|cuñado|nieta|nieto|compañera|compañero|socia|socio|vecina|vecino|"
                 r"colega|ahijada|ahijado|nuera|yerno|prometida|prometido|bebé|beba|bebe|nena|nene|peque|"
                 r"pololo|polola|enamorada|enamorado|madrina|padrino|comadre|compadre|mami|papi|"
                 r"mejor\s+amig[oa]|"
                 # diminutives: "mi abuelita Olga", "mi hermanito", "la primita de"
                 r"(?:abuel|herman|hij|prim|sobrin|niet|ti|nen|suegr|cuñad|amig|vecin|novi)(?:it|cit)[oa]|mam[ií]t?a|pap[ií]t?o")
_RELATIONS_EN = (r"wife|husband|daughter|son|mom|mother|father|dad|sister|brother|friend|partner|girlfriend|"
                 r"boyfriend|coworker|co-worker|colleague|boss|cousin|aunt|uncle|niece|nephew|grandma|grandmother|"
                 r"grandpa|grandfather|fianc[eé]e?|roommate|neighbou?r|kid|baby|stepdaughter|stepson|"
                 r"gf|bf|bff|bestie|best\s+friend|hubby|wifey|mum|mommy|sis|stepmom|stepdad|stepmother|stepfather|"
                 r"twin|(?:mother|father|sister|brother|son|daughter)[- ]in[- ]law|fiancee|grandson|granddaughter")
# Professions people are called by, before their surname.
_PROFESSIONS = (r"ingenier[oa]|arquitect[oa]|abogad[oa]|licenciad[oa]|profesor[a]?|profe|maestr[oa]|contador[a]?|"
                r"enfermer[oa]|odont[oó]log[oa]|dentista|psic[oó]log[oa]|nutricionista|nutri[oó]log[oa]|"
                r"kinesi[oó]log[oa]|kine|fisioterapeuta|fisio|terapeuta|esteticista|cosmet[oó]log[oa]|cosmiatra|"
                r"entrenador[a]?|estilista|asesor[a]?|notari[oa]|escriban[oa]|pediatra|ginec[oó]log[oa]|"
                r"dermat[oó]log[oa]|cirujan[oa]|m[eé]dic[oa]|especialista|coach|capit[aá]n|sargento|teniente|"
                r"coronel|padre|hermana|sor|fray|pastor[a]?|rabino|engineer|architect|lawyer|attorney|"
                r"professor|teacher|nurse|officer|sergeant|captain|judge|pastor|reverend|rev\.?")
# Cues after which a *capitalized* word (or a known first name) is a name. A cue that ends in punctuation
# needs no space after it: "Att:Yuliana", "-Jordan".
WEAK_CUES = re.compile(
    r"(?<![\w])(?:"
    # introductions and who served you, with an optional article: "soy la Sofi", "me atendió la Caro"
    r"(?:soy|somos|habla|les\s+habla|le\s+habla|te\s+habla|te\s+escribe|les\s+escribe|le\s+escribe|"
    r"me\s+atendi[oó]|me\s+atiende|(?:habl|convers|chate)(?:[eé]|[oó]|amos)\s+con|"
    r"me\s+comuniqu[eé]\s+con)(?:\s+(?:el|la))?|(?:spoke|talked|chatted)\s+(?:to|with)|"
    r"(?:se\s+llama|se\s+llaman|(?:me|le|te|nos|les)\s+dicen|le\s+decimos|(?:me|la|lo)\s+llaman|"
    r"me\s+conocen\s+como)(?:\s+(?:el|la))?|call\s+me|goes\s+by|"
    r"this\s+is|i\s+am|i'm|im|it's|its|paciente|cliente|contacto\s*:?|contact(?:\s+person)?\s*:?|"
    # relatives and friends: "su mujer, Amparo", "la amiga de noelia", "my coworker nina"
    r"(?:mi|su|tu|nuestr[oa]|la|el)\s+(?:" + _RELATIONS_ES + r")(?:\s*,|\s+de)?|"
    r"(?:my|his|her|our)\s+(?:" + _RELATIONS_EN + r")\s*,?|"
    # a relative or friend of someone named with an article: "amigo de la Flor", "la prima del Nacho"
    r"(?:" + _RELATIONS_ES + r")\s+(?:de\s+(?:la|el)|del)|"
    r"(?:el|la)\s+(?:responsable|contacto|titular|encargad[oa])\s+(?:es|ser[aá])|"
    # titles
    r"dr\.?|dra\.?|doctor|doctora|la\s+doc|el\s+doc|señora|señor|sra\.?|sr\.?|srta\.?|don|doña|"
    # a profession before a surname, with an article or a possessive: "el ingeniero Salcedo", "mi profe Ortiz"
    r"(?:el|la|al|del|mi|su|tu|nuestr[oa])\s+(?:" + _PROFESSIONS + r")|"
    r"mr\.?|mrs\.?|ms\.?|miss|lic\.?|licenciada|licenciado|ing\.?|con\s+(?:la|el)|para\s+(?:la|el)|"
    # closings and signatures
    r"saludos?,?|att[en]?\.?[,:]?|atentamente,?|cordialmente,?|regards,?|thanks,?|gracias,?|besos,?|abrazos?,?|"
    r"cheers,?|sincerely,?|warmly,?|best,|thank\s+you,?|xoxo,?|firma(?:do)?:?|"
    # chat closings: "thx, kyle", "ty!! - meg", "grax, pau"
    r"thx,?|thnx,?|thanx,?|tks,?|tnx,?|tysm,?|ty,|grax,?|graciass+,?|"
    r"-|—|–)(?:\s+|(?<=[-—–:,.])(?=[A-ZÁÉÍÓÚÑ]))", re.IGNORECASE)
# A pet form after an article is a person even in lowercase: "el pipe", "la coni" (Chile, Argentina, Spain).
ARTICLE_NICKNAME = re.compile(r"(?<![\w])(?:el|la)\s+([A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+)(?![\w])", re.IGNORECASE)
# A message that ends with a closing and a name on its own line: "Besos!!\nRo", "Thanks!\n- Jordan Reyes".
CLOSING = re.compile(r"\b(?:gracias|thx|thnx|thanx|tks|tysm|grax|saludos?|besos|beso|abrazos?|bendiciones|cari[ñn]os|"
                     r"atte|atentamente|"
                     r"cordialmente|thanks|thank\s+you|cheers|regards|best|sincerely|love|xoxo|bye|chao|chau)\b",
                     re.IGNORECASE)


# The second half of a compound given name after "del", "de la", "de los": "maría del pilar", "josé de jesús".
_DEVOTIONAL = {"pilar", "carmen", "rosario", "mar", "luz", "socorro", "consuelo", "angeles", "mercedes", "rocio",
               "jesus", "lourdes", "sol", "cielo", "refugio", "remedios", "dolores", "milagros", "guadalupe",
               "montserrat", "perpetuo", "soledad", "camino", "valle", "nieves", "rosa", "carmelo"}


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
    return w[0].isupper() or (strong and (f in SURNAMES or f in KNOWN_NAMES or f in _DEVOTIONAL))


# What may follow a name word: not a digit, "@" or ".x" (that word is part of an ID, an e-mail or a URL).
_GLUED = re.compile(r"[\d@_]|\.\w")
# Laughter and chat filler that ends a name: "me llamo Estefanía Correa jaja", "soy kevin lol".
_FILLER = re.compile(r"(?:[jh][aeiou]){2,}h?|(?:js)+j?|x+d+|lol|lmao|ok+|okey|plis|pls", re.IGNORECASE)


_NOT_A_SURNAME = NON_NAMES | _STOP | PLACE_WORDS | ORG_WORDS | _COMPASS
# Names of the broad dictionary that are not read as names even where a name is likely.
_BROAD_NAMES = BROAD_NAMES - _NOT_A_SURNAME - TITLE_WORDS - COMPANY_WORDS


def _acronym(w: str) -> bool:
    """An all-caps short word that is no known name or surname: "NIT", "DOB", "RRHH", "CP"."""
    f = fold(w)
    return len(w) > 1 and w.isupper() and len(w) <= 4 and f not in KNOWN_NAMES and f not in SURNAMES


def _company_follows(text: str, end: int) -> bool:
    return bool(COMPANY_AFTER.match(text, end))


def _name_tokens(text: str, pos: int, strong: bool, lower_tail: bool = True,
                 need_capital: bool = False) -> tuple[int, int] | None:
    """The run of name words starting at `pos`, or None. `lower_tail`: a known first name may carry
    lowercase surnames ("soy ana torres"); only after a cue, where the writer is naming someone.
    `need_capital`: the words must be capitalized (the next name of a list whose first one was)."""
    tokens = list(re.finditer(_WORD, text[pos:pos + 80]))
    words: list[re.Match] = []
    expected = 0
    for i, m in enumerate(tokens):
        gap = text[pos + expected:pos + m.start()]
        initial = words and len(words[-1].group()) == 1 and words[-1].group().isupper()
        if words and not (re.fullmatch(r"[ \t]+", gap) or (initial and re.fullmatch(r"\.[ \t]*", gap))):
            break                                  # punctuation or a line break ends a name; not "J. Álvarez"
        if not words and gap.strip():
            break
        if _GLUED.match(text, pos + m.end()):
            break                                  # "CRMA710301…", "abby.foster@…"
        w, f = m.group(), fold(m.group())
        capital = w[0].isupper()
        if f in _NAME_LINKERS and words:
            if _surname_follows(text, pos + m.end(), f, strong):
                words.append(m)
                expected = m.end()
                continue
            break
        if (f in ORG_WORDS and not strong) or f in COMPANY_WORDS:
            return None                            # "Beverly Hills office", "Torres Medical", "Grupo Andino"
        if f in TITLE_WORDS or (_acronym(w) and not strong) or _FILLER.fullmatch(w):
            if not words:
                return None                        # "Jefa de Administración", "NIT 900…", "DOB 03/14…"
            break
        if f in NAME_OR_WORD and (strong or (i + 1 < len(tokens) and tokens[i + 1].group()[0].isupper()
                                             and fold(tokens[i + 1].group()) not in _NOT_A_SURNAME)):
            pass                                   # "me llamo Julio", "Santiago Arango"; not "el Domingo"
        elif f in _STOP or f in NON_NAMES or (not words and f in PLACE_WORDS):
            break
        if need_capital and not capital:
            break
        if not words and not strong and not (capital or known_spelling(f)):
            break
        if words and not strong and not capital and not (
                lower_tail and known_spelling(words[0].group()) and (f in SURNAMES or f in KNOWN_NAMES)):
            break                   # "soy ana torres": a known first name carries known names; not "kayla wants"
        words.append(m)
        expected = m.end()
        if sum(1 for w in words if fold(w.group()) not in _NAME_LINKERS) == 4:
            break
    while words and fold(words[-1].group()) in _NAME_LINKERS:
        words.pop()
    if not words:
        return None
    if _company_follows(text, pos + words[-1].end()):
        return None                                # "Rinaldi Hnos. SA", "Textiles Andes S.A.S."
    return pos + words[0].start(), pos + words[-1].end()


# A closing or greeting on a line of its own: "Cordial saludo,\n\nSolicito la factura…", "Thanks,\nPlease call…".
_CLOSING_CUE_AT_END = re.compile(r"(?:saludos?|att[en]?\.?|atentamente|cordialmente|regards|thanks|gracias|besos|"
                                 r"abrazos?|cheers|sincerely|warmly|best|thank\s+you|xoxo|firma(?:do)?)[,:.!]*"
                                 r"[ \t]*\r?\n\s*$", re.IGNORECASE)
# What may follow a signature name on its line: nothing, punctuation, or a separator before a title or contact.
_SIGNATURE_REST = re.compile(r"[ \t.!]*(?:$|\r?\n|[,(|/\-–—])")


def _opening_not_signature(text: str, cue_end: int, end: int) -> bool:
    """A closing word alone on its line heads a signature only when the name under it stands apart too: in
    "Cordial saludo,\n\nSolicito la factura …" the line under the greeting is a sentence, not a name."""
    return bool(_CLOSING_CUE_AT_END.search(text, max(0, cue_end - 40), cue_end)
                and not _SIGNATURE_REST.match(text, end))


def _signature_line(text: str, start: int, end: int) -> bool:
    """A name alone on the last lines of a message, under what it says: "Gracias!\n— Lucía"."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return (line_start > 0 and not re.search(r"\w", text[line_start:start])
            and not re.search(r"\w", text[end:line_end]))


def _cue_ends(cues: re.Pattern, text: str) -> Iterator[int]:
    """Where each cue ends, overlapping ones included: in "para la prima de Rafael" both "para la" and
    "la prima de" are cues, and only the second leads to the name."""
    m = cues.search(text)
    while m:
        yield m.end()
        m = cues.search(text, m.start() + 1)


def ner_could_name_someone(text: str) -> bool:
    """Whether spaCy's NER could return a PERSON that `PersonRecognizer` would keep: that takes a capitalized
    known name, or two capitalized words that are not greetings or function words (see `_ner_span`). Most
    chat messages have neither, and skipping the model for them is two thirds of their cost."""
    candidates = 0
    for m in _WORD_RE.finditer(text):
        w = m.group()
        if not w[0].isupper():
            continue
        f = fold(w)
        if f in KNOWN_NAMES:
            return True
        if f not in NON_NAMES and f not in _STOP:
            candidates += 1
            if candidates == 2:
                return True
    return False


# A closing and a lowercase name that ends the message: "thx, kyle", "saludos, mili", "gracias!! pau 🙂". The name
# is read against the broad name dictionary, never a term of endearment ("gracias, linda", "thanks, hun").
# The tail has one way to match ("!!! 🙂 "): a nested repeat there backtracked exponentially on "gracias, ana!!!…x".
_SIGNED_OFF = re.compile(r"(?:" + CLOSING.pattern + r"|\bty)[ \t]*[,!.:\-–—]+[ \t]*(" + _WORD + r")"
                         r"(?:[^\w\s]|[ \t])*$", re.IGNORECASE)


def _signed_off_names(text: str) -> Iterator[tuple[int, int]]:
    m = _SIGNED_OFF.search(text, max(0, len(text) - 60))
    if m:
        f = fold(m.group(1))
        if (m.group(1)[0].islower() and f in _BROAD_NAMES and f not in _PREDICATE_WORDS and f not in NON_NAMES
                and f not in _STOP):
            yield m.span(1)


# A closing alone on its line, which may head a signature block: "Best regards,", "Saludos cordiales,".
CLOSING_LINE = re.compile(r"\s*(?:(?:muchas|mil|many)\s+)?(?:un\s+)?" + CLOSING.pattern
                          + r"(?:\s+(?:cordiales|regards|wishes|gracias|you|so\s+much|de\s+antemano))?[\s,.!]*",
                          re.IGNORECASE)


def _signature_name(line: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"\s*(?:[-—–]\s*)?(" + _WORD + r"(?:(?:[ \t]+|(?<=\b[A-Z])\.[ \t]*)" + _WORD + r"){0,3})[\s.!]*",
                     line)
    if not m:
        return None
    words = m.group(1).split()
    if any(not w[0].isupper() or fold(w) in _STOP or fold(w) in NON_NAMES or fold(w) in PLACE_WORDS
           or fold(w) in TITLE_WORDS or fold(w) in COMPANY_WORDS or fold(w) in ORG_WORDS for w in words):
        return None
    if all(w.isupper() and len(w) > 1 for w in words) and not any(fold(w) in KNOWN_NAMES for w in words):
        return None                                 # "PD", "OK": an acronym, not a name
    return m.start(1), m.end(1)


def _closing_signature(text: str) -> tuple[int, int] | None:
    """The writer signing: one to four capitalized words on the last line under a closing line ("Mil
    gracias!\nFer", "Besos!!\nRo", "Cheers,\nAbigail Foster"), or on the line under a closing that stands
    alone, above a title, a company or a phone ("Best regards,\nAna Ruiz\nOffice Manager\nAcme")."""
    lines = [(m.start(), m.group()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    for k in range(len(lines) - 1, max(0, len(lines) - 4), -1):
        closing = lines[k - 1][1]
        if not (CLOSING_LINE.fullmatch(closing) if k < len(lines) - 1 else CLOSING.search(closing)):
            continue
        span = _signature_name(lines[k][1])
        if span:
            return lines[k][0] + span[0], lines[k][0] + span[1]
    return None


# A line that opens with a name in lowercase and goes on with an ID or a contact: "ximena castrejón, curp …",
# "juan pablo rey - cel 300…", "maria jose soto / rut 12.345.678-5": a form filled in by hand.
_LINE_START = re.compile(r"(?m)^[ \t]*(?=[a-záéíóúñ])")
_FIELD_AFTER = re.compile(
    r"[ \t]*(?:[,:;/|\-–—]|\r?\n)?[ \t]*(?:curp|rfc|rut|run|dni|nie|nif|cc|c\.c\.?|c[eé]d(?:ula)?\.?|cuit|cuil|cel|celu|"
    r"celular|tel|tel[eé]fono|tfno|fono|m[oó]vil|whatsapp|wsp|correo|email|e-mail|mail|phone|cell|dob|"
    r"fecha|documento|doc|id|pasaporte|passport|\+?\d)(?![\w])", re.IGNORECASE)


def _lowercase_form_name(text: str) -> Iterator[tuple[int, int]]:
    for m in _LINE_START.finditer(text):
        first = _WORD_RE.match(text, m.end())
        if not first or fold(first.group()) not in KNOWN_NAMES:
            continue
        span = _name_tokens(text, m.end(), strong=True)
        if span and len(text[span[0]:span[1]].split()) >= 2 and _FIELD_AFTER.match(text, span[1]):
            yield span


# What follows the name that opens a contact record: a phone, an e-mail, or the word for a contact or an ID,
# after a separator ("Ainhoa, +34 6…", "Bruno\n+54 9…", "luz marina / cel …") or a space ("Santi tel 81…").
_FIELD_WORD = (r"(?:curp|rfc|rut|run|dni|nie|nif|cc|c\.c\.?|c[eé]d(?:ula)?\.?|cuit|cuil|cel|celu|celular|tel|"
               r"tel[eé]fono|tfno|tlf|fono|m[oó]vil|whatsapp|wsp|wpp|correo|email|e-mail|mail|phone|cell|mobile)")
_PHONE_START = r"(?:\+\s?\d|\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}(?![\w]))"
_CONTACT_AFTER = re.compile(
    r"[ \t]*(?:[,;/|\-–—]|\r?\n)[ \t]*(?:" + _PHONE_START + r"|[\w.+-]+@\w|"
    + _FIELD_WORD + r"(?![\w]))|[ \t]+" + _FIELD_WORD + r"\.?[ \t:]*[+\d(]|"
    # or a phone number right after a space: "Ximena 311 908 4456", "Carlos +57 300…"
    r"[ \t]+" + _PHONE_START, re.IGNORECASE)
# A name that says itself before "acá", "al habla", "here": "Nico acá", "maría jesús al habla", "Dana here".
_SELF_INTRO_AFTER = re.compile(r"[ \t]+(?:ac[aá]|aqu[ií]|al\s+habla|por\s+(?:ac[aá]|aqu[ií])|here|speaking)(?![\w])",
                               re.IGNORECASE)
# Where such a name may stand: the start of a line or clause, after a greeting.
_CLAUSE_START = re.compile(r"(?:^|(?<=[\n.!?¡¿,;]))[ \t]*(?:(?:hola|holi|buenas|buen\s+d[ií]a|buenos\s+d[ií]as|"
                           r"buenas\s+(?:tardes|noches)|hi|hello|hey|ey|oye)[ \t]*[,!.]*[ \t]*)?", re.IGNORECASE)
# A name that opens a clause and is told by an apposition after it: "pipe, mi esposo, quiere…", "caro, mi
# hermana, también viene", "jen, my sister, wants the same".
_APPOSITION_AFTER = re.compile(r"[ \t]*,[ \t]*(?:(?:mi|su|tu|nuestr[oa])[ \t]+(?:" + _RELATIONS_ES + r")|"
                               r"(?:my|his|her|our)[ \t]+(?:" + _RELATIONS_EN + r"))[ \t]*(?:,|$)", re.IGNORECASE)
# Said of a name on a form or a list: "me registraron como <name>", "aparezco como", "I'm listed as".
_AS_CUES = re.compile(r"(?<![\w])(?:registrad[oa]s?|registr[oó]|registraron|registr[eé]|anotad[oa]s?|anot[oó]|"
                      r"anotaron|inscrit[oa]s?|inscribieron|apuntad[oa]s?|apuntaron|guardad[oa]s?|agendad[oa]s?|"
                      r"aparezco|aparece|figuro|figura|figuraba|salgo|registered|listed|booked|saved)[ \t]+"
                      r"(?:como|as)[ \t]+", re.IGNORECASE)


def _namelike(words: list[str]) -> bool:
    """Words that read as a name where the position already suggests one: capitalized and at least one of
    them a known given name or surname, or in lowercase all of them known ("maría jesús", "nico")."""
    folded = [fold(w) for w in words if fold(w) not in _NAME_LINKERS]
    if not folded or any(f in _NOT_A_SURNAME or f in TITLE_WORDS for f in folded):
        return False
    known = [f in _BROAD_NAMES or f in SURNAMES for f in folded]
    if all(w[0].isupper() for w in words if fold(w) not in _NAME_LINKERS):
        return any(known) and (len(folded) > 1 or folded[0] in _BROAD_NAMES)
    return all(known)


def _positional_names(text: str) -> Iterator[tuple[int, int]]:
    """Names told by where they stand rather than by a cue before them: a line that opens a contact record,
    a name followed by "acá" / "al habla", a name after "registrada como"."""
    for m in _CLAUSE_START.finditer(text):
        span = _name_tokens(text, m.end(), strong=True)
        if not span:
            continue
        line_start = m.start() == 0 or text[m.start() - 1] == "\n"
        words = list(_WORD_RE.finditer(text, span[0], span[1]))
        # the longest run of words that reads as a name and is followed by "acá" or by a contact:
        # "Nico acá" (not "Nico acá" as a two-word name), "Julia Paredes, +57 3…"
        # two names joined at the start of a clause: "Begoña y Amaia venimos juntas", or a name and "yo"
        pair = re.match(r"[ \t]+(?:y|e|and|&)[ \t]+(" + _WORD + ")", text[words[0].end():words[0].end() + 40])
        if (pair and words[0].group()[0].isupper() and pair.group(1)[0].isupper()
                and _namelike([words[0].group()]) and _namelike([pair.group(1)])):
            yield words[0].span()
            yield words[0].end() + pair.start(1), words[0].end() + pair.end(1)
        elif (re.match(r"[ \t]+(?:y|and)[ \t]+(?:yo|I|me)(?![\w'’])", text[words[0].end():words[0].end() + 10])
              and words[0].group()[0].isupper() and _namelike([words[0].group()])):
            yield words[0].span()                   # "Maite y yo vamos", "Kira and I will come"
        for k in range(len(words), 0, -1):
            end = words[k - 1].end()
            if ((_SELF_INTRO_AFTER.match(text, end) or (line_start and _CONTACT_AFTER.match(text, end))
                 or _APPOSITION_AFTER.match(text, end))
                    and _namelike([w.group() for w in words[:k]])):
                yield span[0], end
                break
    for cue_end in _cue_ends(_AS_CUES, text):
        span = _name_tokens(text, cue_end, strong=True)
        if span:
            named = text[span[0]:span[1]].split()
            if named[0][0].isupper() or any(fold(w) in _BROAD_NAMES or fold(w) in SURNAMES for w in named):
                yield span


# "Dr. Alan Whitaker's office": the office of a person, who is still a person.
_POSSESSIVE = re.compile(r"\w['’]s?$")

# Verbs whose subject or object is the person who served or is asked for: "me contactó Soledad", "pregunten
# por Encarna", "ask for Dana". The name is read against the name dictionaries (see `_namelike`).
_PERSON_VERB_CUES = re.compile(
    r"(?<![\w])(?:(?:me|nos|le|les|te)\s+(?:contact[oó]|escribi[oó]|llam[oó]|recomend[oó]|dijo|explic[oó]|"
    r"coment[oó]|pas[oó]|mand[oó]|envi[oó]|avis[oó]|agend[oó]|confirm[oó]|vendi[oó]|hizo|aplic[oó]|"
    r"cotiz[oó]|asesor[oó]|ofreci[oó])|pregunt(?:a|á|e|en|o|ó|ar|amos|aron)\s+por(?:\s+(?:la|el))?|"
    r"(?:ask|asked|asking)\s+for|(?:referred|recommended)\s+by|(?:worked|booked)\s+with)[ \t]+",
    re.IGNORECASE)
# Introductions: after them a lowercase run of a given name and surnames is a name ("soy blanca flores",
# "this is brooke adams"), and so is a given name that is also a place or a word ("soy Rosario,").
_INTRO_CUES = re.compile(r"(?<![\w])(?:soy|les\s+habla|le\s+habla|te\s+habla|habla|this\s+is|it['’]s|i\s+am|i['’]?m|"
                         r"les\s+escribe|le\s+escribe|te\s+escribe)[ \t]+", re.IGNORECASE)


def _names_after(cues: re.Pattern, text: str) -> Iterator[tuple[int, int]]:
    """Name-like runs right after a weak cue: a verb that names a person, or "para mí y" (_BESIDE_ME)."""
    for cue_end in _cue_ends(cues, text):
        span = _name_tokens(text, cue_end, strong=False)
        if span and _namelike(text[span[0]:span[1]].split()):
            yield span


# Words after "soy" / "I'm" that the broad name dictionary holds but that say how one is: "im fine, thanks",
# "soy solo yo", "i'm free." — and the terms of endearment a closing may end with: "gracias, linda".
_PREDICATE_WORDS = {fold(w) for w in """fine free done just solo sola linda lindo bella bello dulce feliz sure ready
good well back here new late early single amor nena nene hun hon dear darling sweetie babe love doc reina rey
cielo corazon mami papi mija mijo preciosa precioso hermosa guapa guapo querida querido chula chulo flaca flaco
gorda gordo crack jefa jefe sis bro dude girl guys all everyone todos todas chicas chicos equipo""".split()}
_SELF_INTRO_CUE = re.compile(r"(?:soy|i\s+am|i['’]?m)[ \t]+$", re.IGNORECASE)
# A pause after a name: punctuation, an emoji, the end of a line or of the message.
_INTRO_PAUSE = re.compile(r"[ \t]*(?:[^\w\s'’-]|\r?\n|$)")


def _intro_names(text: str) -> Iterator[tuple[int, int]]:
    for cue_end in _cue_ends(_INTRO_CUES, text):
        words = list(_WORD_RE.finditer(text, cue_end, cue_end + 60))
        if not words or words[0].start() != cue_end:
            continue
        first = fold(words[0].group())
        if words[0].group()[0].isupper():
            # "soy Rosario, la que fue…": a given name that is also a city, alone before a pause
            if first in NAME_OR_WORD and re.match(r"[ \t]*(?:[,.!?;]|\r?\n|$)", text[words[0].end():]):
                yield words[0].span()
            # "it's Will again", "this is June from the front desk": a name that is also a word or a month
            elif ((first in _STOP and first in BROAD_NAMES and _INTRO_TAIL.match(text, words[0].end()))
                  or (first in _CALENDAR and _INTRO_TAIL_OF_A_MONTH.match(text, words[0].end()))):
                yield words[0].span()
            continue
        if not known_spelling(first) and first not in _BROAD_NAMES:
            continue
        k = 1                                    # "blanca flores", "santiago henao", "brooke adams"
        while (k < min(len(words), 4) and re.fullmatch(r"[ \t]+", text[words[k - 1].end():words[k].start()])
               and not words[k].group()[0].isupper() and fold(words[k].group()) in SURNAMES
               and fold(words[k].group()) not in _NOT_A_SURNAME):
            k += 1
        if k >= 2 and not _GLUED.match(text, words[k - 1].end()):
            yield words[0].start(), words[k - 1].end()
        # "hola soy mili, …", "hi, im nat 🙂": a lowercase given name or pet form alone before a pause, after
        # "soy" / "I'm" (not "it's", "this is", which also introduce things)
        elif (k == 1 and first in _BROAD_NAMES and first not in _PREDICATE_WORDS and first not in DEMONYMS
              and _INTRO_PAUSE.match(text, words[0].end())
              and _SELF_INTRO_CUE.search(text, max(0, cue_end - 8), cue_end)):
            yield words[0].span()


# A preposition and an article before a lowercase word make it a common noun ("para el curro", "con la vela"):
# only a pet form, never an everyday word, is a person there ("con la coni", "para el pipe"). After an
# introduction the article is the colloquial one before a name: "soy la carla".
_ARTICLE_END = re.compile(r"(?<![\w])(?:con|para|pa|por|de|a|sin)\s+(?:el|la|los|las|un|una)\s+$", re.IGNORECASE)


def _lowercase_word_after_article(text: str, cue_end: int, start: int) -> bool:
    first = _WORD_RE.match(text, start)
    return bool(first and first.group()[0].islower() and _ARTICLE_END.search(text, max(0, cue_end - 14), cue_end)
                and fold(first.group()) not in NICKNAMES)


# A clipped given name, as friends shorten one ("Vale", "Cata", "Javi", "Gabi"): the first four or five letters of
# a known given name. Read only after a lowercase article, where Chilean, Argentine and Spanish writers put a name:
# "Recibe Jorge o la Vale", "se lo dejo a la Cata". A name that is also an interjection ("Vale", "Dale") cannot
# be one after an article; places, brands and treatments stay out ("cerca de la Roma", "la Visa").
_CLIPPED_NAMES = {n[:k] for n in FIRST_NAMES for k in (4, 5) if len(n) > k + 1}
_INTERJECTIONS = {"vale", "dale", "ok", "okay", "listo", "genial", "perfecto", "claro", "bueno", "buena", "super"}
ARTICLE_NAME = re.compile(r"(?<![\w])(?-i:la|el)[ \t]+((?-i:[A-ZÁÉÍÓÚÑ][a-záéíóúñ]{2,}))(?![\w'’-])(?![ \t]+(?-i:[A-ZÁÉÍÓÚÑ]))")
_PLACE_PREPOSITION_END = re.compile(r"(?<![\w])(?:en|desde|hasta|hacia|cerca\s+de|frente\s+a|junto\s+a)[ \t]+$",
                                    re.IGNORECASE)


def _article_names(text: str) -> Iterator[tuple[int, int]]:
    for m in ARTICLE_NAME.finditer(text):
        f = fold(m.group(1))
        if ((f in KNOWN_NAMES or f in _CLIPPED_NAMES) and (f not in NON_NAMES or f in _INTERJECTIONS)
                and f not in _NOT_A_SURNAME - _INTERJECTIONS and f not in _CALENDAR and f not in TITLE_WORDS
                and f not in DEMONYMS and not _PLACE_PREPOSITION_END.search(text, max(0, m.start() - 12), m.start())):
            yield m.span(1)


# A name joined to the writer: "para mí y Charly", "conmigo y con Maite", "me and Josh", "yo y la Vane".
_BESIDE_ME = re.compile(r"(?<![\w])(?:m[ií]|yo|conmigo|nosotr[oa]s|me|myself)[ \t]+(?:y|e|and|&)[ \t]+"
                        r"(?:(?:con|with)[ \t]+)?(?:(?:el|la)[ \t]+)?", re.IGNORECASE)


# A relative's name may be a month, a weekday or an everyday word: "mi hija Abril", "my son Will", "su esposa
# Mercedes", "my daughter June". After "mi hija" a capitalized word is that person, unless it is a title
# ("mi papá Don Aurelio": the title's own cue finds the name) or a function word that is no name.
_KIN_CUES = re.compile(r"(?<![\w])(?:(?:mi|su|tu|nuestr[oa])\s+(?:" + _RELATIONS_ES + r")|(?:my|his|her|our)\s+(?:"
                       + _RELATIONS_EN + r"))[ \t]*,?[ \t]+(?=(?-i:[A-ZÁÉÍÓÚÑ]))", re.IGNORECASE)
_TITLES = {fold(w) for w in "don doña dona sr sra srta dr dra señor señora señorita doctor doctora mr mrs ms miss "
           "lic ing prof".split()}
_CALENDAR = set("""lunes martes miercoles jueves viernes sabado domingo enero febrero marzo abril mayo junio julio agosto
septiembre setiembre octubre noviembre diciembre january february march april may june july august september october
november december""".split())


def _kin_names(text: str) -> Iterator[tuple[int, int]]:
    for cue_end in _cue_ends(_KIN_CUES, text):
        first = _WORD_RE.match(text, cue_end)
        if not first or not first.group()[0].isupper() or _GLUED.match(text, first.end()):
            continue
        f = fold(first.group())
        if f in _TITLES or f in PLACE_WORDS or (f in _STOP and f not in BROAD_NAMES) or (
                f in NON_NAMES and f not in _CALENDAR and f not in BROAD_NAMES):
            continue
        # "mi hija Abril Rojas": the capitalized surnames that follow
        rest = re.match(r"[ \t]+", text[first.end():])
        after = first.end() + rest.end() if rest else -1
        tail = _name_tokens(text, after, strong=False, need_capital=True) if rest else None
        yield first.start(), tail[1] if tail and tail[0] == after else first.end()


# "it's Will from yesterday", "this is April from Dr. Lee's office", "soy Mayo desde Lima": after an introduction a
# given name that is also a function word or a month is a name when it goes on as one introduces oneself.
_INTRO_TAIL = re.compile(r"[ \t]+(?:from|here|calling|again|speaking|writing|desde|de\s+nuevo|otra\s+vez|"
                         r"por\s+aqu[ií]|aqu[ií]|ac[aá])(?![\w])", re.IGNORECASE)
# "it's May again" is the month: a month is a name only when it says where the writer is from or calls from.
_INTRO_TAIL_OF_A_MONTH = re.compile(r"[ \t]+(?:from|calling|speaking|writing|desde|de\s+parte\s+de)(?![\w])",
                                    re.IGNORECASE)


# After a capitalized first word, an English verb, modal or adverb makes it a subject ("Grace called", "Will can",
# "Hope is here"); any other lowercase word makes a phrase of it: "Grace period", "Amber alert", "Rose water".
_EN_VERB_FORMS = {"put", "let", "cut", "hit", "set", "read", "quit", "won", "ran", "sat", "saw", "met", "got", "had",
                  "did", "told", "said", "came", "went", "left", "took", "gave", "made", "bought", "sent", "paid",
                  "brought", "thought", "felt", "kept", "lost", "spoke", "wrote", "found", "knew", "forgot", "heard",
                  "broke", "fell", "hurt", "began", "became", "chose", "drove", "ate", "drank", "grew", "held", "led",
                  "meant", "rode", "shook", "slept", "stood", "taught", "threw", "understood", "woke", "wore", "bit",
                  "is", "was", "are", "were", "has", "does", "won't", "isn't", "wasn't", "please", "from", "at", "in",
                  "needs", "can", "could", "will", "would", "should", "shall", "may", "might", "must", "never",
                  "always", "just", "also", "still", "already", "again", "too", "here", "there", "and", "or"}
_EN_VERB_ENDING = re.compile(r"\w+(?:s|ed|ing|ly|n['’]t)$")


def heads_a_noun_phrase(text: str, start: int, end: int) -> bool:
    """A single capitalized word that opens a sentence and is followed by a lowercase word that is no verb."""
    before = text[:start].rstrip(" \t")
    if before and before[-1] not in ".!?¿¡:\n" or " " in text[start:end]:
        return False
    nxt = re.match(r"[ \t]+([a-z]+)(?![\w'’])", text[end:end + 30])
    if not nxt:
        return False
    w = nxt.group(1)
    return not (w in _EN_VERB_FORMS or fold(w) in _STOP or _EN_VERB_ENDING.fullmatch(w))


def _place_word_before(before: list[str]) -> bool:
    """The word before a name is a place word ("Santa Cristina", "Av. Juárez", "Hospital San Ignacio"). A dot
    after a full word ends a sentence: in "… para la historia clínica. Lucía Fernández" the name stands alone."""
    if not before:
        return False
    last = before[-1]
    word = last.rstrip(".")
    return word in PLACE_WORDS and (last == word or len(word) <= 4)


# A run glued by a dash to the word before it is half of a compound, a place more than a person:
# "Serrano–Velázquez", "Sarmiento-Belgrano" (corners, stations, routes).
_GLUED_BEFORE = re.compile(r"\w[-–—]$")


# Which rule found a span ("ner", "strong_cue", "known_name", …), kept in the result's metadata for the learned
# name model (app/privacy/name_model.py), which weighs the rules by what they are.
NAME_SOURCES_KEY = "name_sources"


def _merge_sources(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """One result per span, with the highest score and the sources of every rule that found it (Presidio would
    keep one of two equal spans, and one source)."""
    by_span: dict[tuple[int, int], RecognizerResult] = {}
    for r in results:
        kept = by_span.get((r.start, r.end))
        if kept is None:
            by_span[(r.start, r.end)] = r
            continue
        sources = tuple(sorted(set(kept.recognition_metadata[NAME_SOURCES_KEY])
                               | set(r.recognition_metadata[NAME_SOURCES_KEY])))
        if r.score > kept.score:
            by_span[(r.start, r.end)] = kept = r
        kept.recognition_metadata[NAME_SOURCES_KEY] = sources
    return list(by_span.values())


class PersonRecognizer(EntityRecognizer):
    def __init__(self, language: str):
        super().__init__(supported_entities=["PERSON"], supported_language=language,
                         name=f"PersonRecognizer_{language}")

    def load(self) -> None:
        pass

    def _result(self, start: int, end: int, score: float, source: str) -> RecognizerResult:
        r = result(self, "PERSON", start, end, score)
        r.recognition_metadata[NAME_SOURCES_KEY] = (source,)
        return r

    def analyze(self, text, entities, nlp_artifacts=None):
        if entities and "PERSON" not in entities:
            return []
        out = []
        for cues, strong, score in ((STRONG_CUES, True, 0.9), (WEAK_CUES, False, 0.75)):
            for cue_end in _cue_ends(cues, text):
                span = _name_tokens(text, cue_end, strong)
                if span and not strong and _opening_not_signature(text, cue_end, span[1]):
                    continue
                if span and not strong and _lowercase_word_after_article(text, cue_end, span[0]):
                    continue                    # "lo necesito para el curro": a word; "con la coni": a pet form
                while span:
                    out.append(self._result(*span, score, "strong_cue" if strong else "weak_cue"))
                    # "somos Olga y Iván", "Ana, Luis y Marta": a list of names after one cue
                    more = re.match(r"\s*(?:,|\by\b|\be\b|\band\b)\s*", text[span[1]:])
                    # a list keeps its writing: after "María Jaramillo y", "nació" is no name
                    span = _name_tokens(text, span[1] + more.end(), strong=False,
                                        need_capital=text[span[0]].isupper()) if more else None
        for m in ARTICLE_NICKNAME.finditer(text):
            if fold(m.group(1)) in NICKNAMES:
                out.append(self._result(*m.span(1), 0.7, "article_nickname"))
        out += self._known_names(text)
        out += [self._result(*span, 0.75, "form_line") for span in _lowercase_form_name(text)]
        out += [self._result(*span, 0.7, "positional") for span in _positional_names(text)]
        out += [self._result(*span, 0.75, "verb_cue") for span in _names_after(_PERSON_VERB_CUES, text)]
        out += [self._result(*span, 0.75, "intro") for span in _intro_names(text)]
        out += [self._result(*span, 0.75, "beside_me") for span in _names_after(_BESIDE_ME, text)]
        out += [self._result(*span, 0.75, "kin") for span in _kin_names(text)]
        out += [self._result(*span, 0.7, "article_name") for span in _article_names(text)]
        out += [self._result(*span, 0.7, "signed_off") for span in _signed_off_names(text)]
        signature = _closing_signature(text)
        if signature:
            out.append(self._result(*signature, 0.7, "signature"))
        for ent in getattr(nlp_artifacts, "entities", None) or []:
            if ent.label_ not in ("PER", "PERSON"):
                continue
            span = self._ner_span(text, ent.start_char, ent.end_char)
            if span and self.supported_language == "en" and heads_a_noun_phrase(text, span[0], span[1]):
                continue                        # "Grace period for late arrivals", "Rose water toner"
            if span:
                out.append(self._result(*span[:2], span[2], "ner"))
        return _merge_sources([r for r in out if self.may_be_a_person(text, r.start, r.end)])

    def may_be_a_person(self, text: str, start: int, end: int) -> bool:
        """What stands around a span does not make it a place, a product, a brand or a nationality."""
        return not (NOT_A_PERSON_BEFORE.search(text[max(0, start - 50):start])
                    or (PRODUCT_BEFORE.search(text[max(0, start - 50):start])
                        and not _SUBJECT_OF_VERB_AFTER.match(text, end))
                    or _ROMAN_START.match(text, start) or _PLACE_PART_AFTER.match(text, end)
                    or _GLUED_BEFORE.search(text, 0, start)
                    or (NOT_A_PERSON_AFTER.match(text, end) and not _POSSESSIVE.search(text, start, end))
                    or self._demonym(text[start:end]))

    @staticmethod
    def _before_another_name(text: str, end: int) -> bool:
        m = re.match(r"[ \t]*(?:,|y|e|and|&)[ \t]+(" + _WORD + ")", text[end:end + 40])
        return bool(m and m.group(1)[0].isupper() and fold(m.group(1)) in KNOWN_NAMES)

    def _demonym(self, value: str) -> bool:
        """A nationality alone: "my German account", "I'm Brazilian". Spanish "Germán" keeps its accent,
        so in a Spanish message only a nationality that is no given name is dropped."""
        parts = [fold(p) for p in re.split(r"[-‐]", value)]          # "Mexican-American"
        return (all(p in DEMONYMS for p in parts) and value.lower() == fold(value)
                and (self.supported_language == "en" or not any(p in KNOWN_NAMES for p in parts)))

    def _known_names(self, text: str) -> list[RecognizerResult]:
        """A capitalized known first name or pet form, with the capitalized words after it ("Tomás Ruiz,
        351…"). Alone at the start of a sentence it may be a word ("Rosa mosqueta", "Dolores de cabeza"):
        then only when it stands apart, as a signature or before "(" or the end of the message."""
        out = []
        for m in re.finditer(r"(?<![\w])" + _WORD, text):
            w = m.group()
            before = fold(text[max(0, m.start() - 12):m.start()]).split()
            if _place_word_before(before):
                continue                              # "Santa Cristina", "Hospital San Ignacio"
            if not (w[0].isupper() and (fold(w) in KNOWN_NAMES or fold(w) in NAME_OR_WORD)
                    and (fold(w) not in NON_NAMES or fold(w) in NAME_OR_WORD)):
                continue
            span = _name_tokens(text, m.start(), strong=False, lower_tail=False)
            if not span:
                continue
            single = span == (m.start(), m.end())
            sentence_start = not text[:m.start()].strip() or text[:m.start()].rstrip()[-1:] in ".!?¿¡:"
            # "Marta y Nerea venimos", "Rocío, +56 9 …": a name listed with another name or a contact
            apart = bool(_signature_line(text, *span) or re.match(r"\s*(?:\(|[.!]*\s*$)", text[span[1]:])
                         or _CONTACT_AFTER.match(text, span[1]) or self._before_another_name(text, span[1]))
            if not (single and sentence_start) or apart:
                out.append(self._result(*span, 0.6 if single else 0.75, "known_name"))
        return out

    @staticmethod
    def _ner_span(text: str, start: int, end: int) -> tuple[int, int, float] | None:
        words = list(re.finditer(_WORD, text[start:end]))
        # Trim non-names at the edges: "Hola María" -> "María", "Laura Botox" -> "Laura".
        before = fold(text[max(0, start - 12):start]).split()
        if (words and fold(words[0].group()) in PLACE_WORDS) or _place_word_before(before):
            return None                                # "Av. Corrientes", "Clínica Santa María"
        while words and (fold(words[0].group()) in NON_NAMES or fold(words[0].group()) in _STOP):
            words.pop(0)
        while words and (fold(words[-1].group()) in NON_NAMES or fold(words[-1].group()) in _STOP):
            words.pop()
        if not words or len(words) > 5 or any(fold(w.group()) in ORG_WORDS | COMPANY_WORDS | TITLE_WORDS
                                              for w in words):
            return None
        if all(len(w.group().rstrip("'’-")) == 1 or _acronym(w.group()) for w in words):
            return None                                # "C.P", "RRHH"
        if re.match(r"-?\d", text[start + words[-1].end():]) or _company_follows(text, start + words[-1].end()):
            return None                                # "Factura F-2026-…", "Andes SA"
        if any(not w.group()[0].isupper() for w in words if fold(w.group()) not in _NAME_LINKERS):
            return None
        s, e = start + words[0].start(), start + words[-1].end()
        if re.search(r"[\d@/]", text[s:e]):
            return None
        if len(words) == 1:
            f = fold(words[0].group())
            if f not in KNOWN_NAMES:
                return None
            return s, e, 0.6
        return s, e, 0.7
