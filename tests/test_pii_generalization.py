"""PII leaks seen on unseen messages, pinned with new examples (none taken from any held-out set):
IBANs in Spanish text, names after cues / in lowercase / with compound surnames / in signatures, the
local address formats of CO, MX, AR, CL, ES, dates of birth in words, and look-alikes that must stay."""
from __future__ import annotations

import pytest

from app.privacy.pii import anonymize, detect_pii, engine


@pytest.fixture(scope="module", autouse=True)
def pii_engine():
    return engine()


def _typed(text: str, language: str) -> list[tuple[str, str]]:
    return [(s["entity_type"], text[s["start"]:s["end"]]) for s in detect_pii(text, language)]


MASKED = [
    # IBANs in Spanish text (spaced and compact)
    ("es", "IBAN_CODE", "Hacedme la devolución a ES66 2100 0418 4012 3456 7891 cuando podáis",
     "ES66 2100 0418 4012 3456 7891"),
    ("es", "IBAN_CODE", "el número de cuenta es ES0700120345030000067890, titular yo", "ES0700120345030000067890"),
    # names after cues, both languages
    ("es", "PERSON", "Buenas noches, me llamo Rocío Benítez y tengo una consulta", "Rocío Benítez"),
    ("es", "PERSON", "mi nombre es Gonzalo Pizarro, paciente nuevo", "Gonzalo Pizarro"),
    ("es", "PERSON", "Hola, soy Fabiola Cárdenas, quiero reprogramar", "Fabiola Cárdenas"),
    ("es", "PERSON", "la factura a nombre de Esteban Quintero por favor", "Esteban Quintero"),
    ("es", "PERSON", "Escribo de parte de Mireya Solís, mi mamá", "Mireya Solís"),
    ("en", "PERSON", "Hello, my name is Trevor Hale and I need a refund", "Trevor Hale"),
    ("en", "PERSON", "Hi! This is Courtney Walsh, booking for two", "Courtney Walsh"),
    # lowercase names
    ("es", "PERSON", "hola me llamo yesica paola murillo, cuánto vale la limpieza", "yesica paola murillo"),
    ("es", "PERSON", "a nombre de hernán quiroga porfa", "hernán quiroga"),
    ("en", "PERSON", "hey my name is tanya brooks, running late", "tanya brooks"),
    # compound surnames
    ("es", "PERSON", "Buenas, soy Ana Belén de la Torre y quería pedir cita", "Ana Belén de la Torre"),
    ("es", "PERSON", "La cita es a nombre de Tomás del Campo y Ortega", "Tomás del Campo y Ortega"),
    ("es", "PERSON", "me llamo rosa maría de los ríos, para el láser", "rosa maría de los ríos"),
    # signature lines with no cue word before the name
    ("es", "PERSON", "¿Me confirman si abren el festivo?\nMil gracias!\n— Valeria", "Valeria"),
    ("es", "PERSON", "Quedo pendiente del presupuesto. Saludos, Mariano T.", "Mariano T"),
    ("es", "PERSON", "¿Puedo llevar a mi hija?\nUn abrazo,\nRenata", "Renata"),
    ("en", "PERSON", "Could you resend the invoice?\nCheers,\nNathan", "Nathan"),
    # addresses: CO
    ("es", "LOCATION", "mi dirección es Calle 127 # 7-45 apto 1102, Usaquén", "Calle 127 # 7-45 apto 1102"),
    ("es", "LOCATION", "mándenlo a la Cra 15 #93-60 of 402", "Cra 15 #93-60 of 402"),
    ("es", "LOCATION", "vivo en la Diagonal 68B Sur # 71-12", "Diagonal 68B Sur # 71-12"),
    ("es", "LOCATION", "entrega en Transversal 22 # 119-40 casa 3", "Transversal 22 # 119-40 casa 3"),
    # MX
    ("es", "LOCATION", "envíenlo a Av. Universidad 1450, Col. Santa Cruz Atoyac, 03310", "Av. Universidad 1450"),
    ("es", "LOCATION", "mi domicilio es Calle Morelos 88 int. 2, Col. Centro", "Calle Morelos 88 int. 2"),
    # AR
    ("es", "LOCATION", "mandalo a Av. Cabildo 2150 piso 3 dto A, Belgrano", "Av. Cabildo 2150 piso 3 dto A"),
    ("es", "LOCATION", "la dirección es Av. Santa Fe 1860 7° B", "Av. Santa Fe 1860 7° B"),
    # CL
    ("es", "LOCATION", "despacho a Av. Vicuña Mackenna 4860, depto 1203", "Av. Vicuña Mackenna 4860, depto 1203"),
    ("es", "LOCATION", "vivo en Pasaje Las Acacias 77, Ñuñoa", "Pasaje Las Acacias 77"),
    # ES
    ("es", "LOCATION", "mi dirección: C/ Sierpes nº 21, 2º A, Sevilla", "C/ Sierpes nº 21, 2º A"),
    ("es", "LOCATION", "enviadlo a Calle de Serrano 61, 4º dcha., 28006 Madrid", "Calle de Serrano 61, 4º dcha., 28006"),
    ("es", "LOCATION", "vivo en Avda. de América 12, 5º izq", "Avda. de America 12, 5º izq".replace("America", "América")),
    # dates of birth in words
    ("es", "DATE_OF_BIRTH", "nací el 9 de julio del 87, ¿hay límite de edad?", "9 de julio del 87"),
    ("es", "DATE_OF_BIRTH", "fecha de nacimiento: quince de octubre de 1993", "quince de octubre de 1993"),
    ("es", "DATE_OF_BIRTH", "nacido el veintiuno de enero de mil novecientos ochenta",
     "veintiuno de enero de mil novecientos ochenta"),
    ("en", "DATE_OF_BIRTH", "DOB August 19th 1985 for the chart", "August 19th 1985"),
    ("en", "DATE_OF_BIRTH", "I was born on the 2nd of May, 1991", "2nd of May, 1991"),
]


def _assert_masked(language: str, entity_type: str, text: str, value: str) -> None:
    """`value` is found with its type, and gone from the anonymized text."""
    assert value in text
    found = _typed(text, language)
    start = text.index(value)
    assert any(t == entity_type and text.index(v) < start + len(value) and start < text.index(v) + len(v)
               for t, v in found), found
    assert value not in anonymize(text, language)


@pytest.mark.parametrize("language,entity_type,text,value", MASKED, ids=[m[3] for m in MASKED])
def test_leak_category_is_masked(language, entity_type, text, value):
    _assert_masked(language, entity_type, text, value)


LOOK_ALIKES = [
    ("es", "el láser cuesta $1.250.000 o 3 cuotas de 420 mil"),
    ("es", "mi pedido 5566778 sigue sin llegar, la guía es 330045"),
    ("es", "tengo cita el 9 de julio a las 3, ¿la puedo pasar al 12 de julio?"),
    ("es", "¿puedo agendar para el quince de octubre de 2025?"),
    ("es", "¿Es mejor la Clínica Santa María o la Clínica Las Condes?"),
    ("es", "¿la sede queda sobre la Calle 80 o cerca de la Cra 30?"),
    ("es", "¿atienden en Av. Cabildo o solo en la sucursal de Av. Santa Fe?"),
    ("es", "¿La consulta de la Calle Serrano abre el sábado?"),
    ("es", "Mil gracias!\nNos vemos el martes"),
    ("es", "¿Hacen factura? Saludos cordiales"),
    ("en", "Is the Maple Avenue office open on Sundays? My order #88213 is pending"),
    ("en", "Can I book March 4th at 10am? The facial is $180, right?"),
]


@pytest.mark.parametrize("language,text", LOOK_ALIKES)
def test_look_alike_is_not_flagged(language, text):
    assert _typed(text, language) == []


# -- names as friends write them: pet forms, articles, relations, closings ----------------------------
NAMES = [
    ("es", "hola, soy la Pili, la que fue el martes a la limpieza", "Pili"),
    ("es", "buenas, habla el kike, ¿me guardan el turno?", "kike"),
    ("es", "me recomendó el tratamiento la cata, ¿tienen hora?", "cata"),
    ("es", "Llamo por la cita de su hermano, Gerardo, que no puede ir", "Gerardo"),
    ("es", "es para la prima de rafael, ¿hay cupo el viernes?", "rafael"),
    ("es", "quiero reservar para mi mamá, se llama Inés Valderrama", "Inés Valderrama"),
    ("es", "el titular es Ruud van Dijk, de Holanda", "Ruud van Dijk"),
    ("es", "Perfecto, muchas gracias\nChio", "Chio"),
    ("es", "Les confirmo el pago. Att:Yolanda", "Yolanda"),
    ("en", "see you at 5!\nThank you,\n-Brandon", "Brandon"),
    ("en", "hey its damian, moving my slot to noon", "damian"),
    ("en", "my coworker kayla wants a gift card too", "kayla"),
    ("en", "Best,\nDr. Harriet Ames\nharriet.ames@clinicmail.example", "Harriet Ames"),
    ("es", "ayer hablé con yolanda y me dio otro precio", "yolanda"),
]


@pytest.mark.parametrize("language,text,value", NAMES, ids=[n[2] for n in NAMES])
def test_name_as_friends_write_it_is_masked(language, text, value):
    assert ("PERSON", value) in _typed(text, language)


NOT_NAMES = [
    # a name-like word right after an address is its district or city
    ("es", "mándenlo a la Calle 50 # 20-15 apto 301, Santa Lucía"),
    ("en", "It's 900 Elm Street, Apt 3, Madison, WI 53703"),
    # streets, stations and districts named after people
    ("es", "¿Están cerca del metro Pedro de Valdivia?"),
    ("es", "estoy en Av. Libertador con Ramón Castilla, ¿por dónde entro?"),
    ("es", "queda a la altura de Francisco de Miranda"),
    # products, institutions and titles
    ("es", "¿el paquete Reina Elena incluye masaje?"),
    ("en", "Is the Cherry Hills clinic open late?"),
    ("es", "¿Aceptan Sura Salud o solo particular?"),
    ("es", "¿La sede queda en Los Leones o en Pedro de Valdivia?"),
    ("en", "does the Jefferson location have parking?"),
    # closings that are not signatures
    ("es", "Mil gracias!\nFeliz Año Nuevo"),
    ("en", "Thank you!\nHappy Holidays"),
    # company IDs and order numbers
    ("es", "facturar a la empresa, NIT 900.555.123-4, por favor"),
]


@pytest.mark.parametrize("language,text", NOT_NAMES)
def test_places_products_and_company_ids_are_not_persons(language, text):
    values = [v for t, v in _typed(text, language) if t in ("PERSON", "PHONE_NUMBER")]
    assert values == []


# -- addresses and dates of birth in more local formats ---------------------------------------------------
MORE_MASKED = [
    ("es", "LOCATION", "Dirección de entrega: Sarmiento 1822, 5° C, Rosario", "Sarmiento 1822, 5° C"),
    ("es", "LOCATION", "mi dirección particular: Los Jesuitas 881, depto 42", "Los Jesuitas 881, depto 42"),
    ("es", "LOCATION", "vivo en Rúa da Raíña 9, 1º, Lugo", "Rúa da Raíña 9, 1º"),
    ("es", "LOCATION", "envíenlo a Carrer de Mallorca 401, 2º 1ª", "Carrer de Mallorca 401"),
    ("en", "LOCATION", "Send it to 15 E 23rd St, Apt 9, New York", "15 E 23rd St, Apt 9"),
    ("en", "LOCATION", "ship the kit to 77 willow creek dr apt 4 please", "77 willow creek dr apt 4"),
    ("es", "DATE_OF_BIRTH", "cumplo años el 2 de noviembre, ¿hay regalo?", "2 de noviembre"),
    ("en", "DATE_OF_BIRTH", "my bday is 11/02/1990 if the form needs it", "11/02/1990"),
]


@pytest.mark.parametrize("language,entity_type,text,value", MORE_MASKED, ids=[m[3] for m in MORE_MASKED])
def test_more_local_formats_are_masked(language, entity_type, text, value):
    _assert_masked(language, entity_type, text, value)


# -- the engine -------------------------------------------------------------------------------------------
def test_every_recognizer_serves_both_languages():
    registry = engine().analyzer.registry
    names_by_language = {lang: sorted(type(r).__name__ + ":" + r.supported_entities[0]
                                      for r in registry.get_recognizers(lang, all_fields=True))
                         for lang in ("es", "en")}
    assert names_by_language["es"] == names_by_language["en"]
    assert "PersonRecognizer:PERSON" in names_by_language["es"]


@pytest.mark.parametrize("text", [
    "hola, cuánto cuesta la limpieza facial?",
    "Gracias! nos vemos el martes",
    "Hola Botox para el sábado?",
])
def test_ner_is_skipped_only_when_it_could_not_name_anyone(text):
    """The pre-check that saves the spaCy pass: with the model forced on, the result is the same."""
    from app.privacy import names
    assert not names.ner_could_name_someone(text)
    eng = engine()
    forced = eng.analyzer.analyze(text=text, language="es", score_threshold=0.5)
    assert [r for r in forced if r.entity_type == "PERSON"] == []


# -- 40 new messages written for this round (none from any set): every value gone, no false alarm --------
FRESH = [
    ("es", "Buenas tardes, les escribe Marisol Pineda Ocampo, quería mover mi cita del jueves", ["Marisol Pineda Ocampo"]),
    ("es", "envíen el kit a la Carrera 43A # 14-109 apto 803, El Poblado porfa", ["Carrera 43A # 14-109 apto 803"]),
    ("es", "mi cédula es 1.037.654.221 y el cel 316 245 7788, a nombre de jhon fredy arango",
     ["1.037.654.221", "316 245 7788", "jhon fredy arango"]),
    ("es", "el combo de limpieza + peeling sale en $380.000, ¿aplica el cupón BIENESTAR20?", []),
    ("es", "Gracias por todo!\nAtt. Luisa Fernanda Ríos", ["Luisa Fernanda Ríos"]),
    ("es", "hola buen día, soy la lupita, la hermana de Ximena, ¿tienen lugar el sábado?", ["lupita", "Ximena"]),
    ("es", "Mi domicilio: Calle Juárez 215 int. 4, Col. Centro, Oaxaca. Mi nombre es Héctor Ruelas",
     ["Calle Juárez 215 int. 4", "Héctor Ruelas"]),
    ("es", "el pedido 7741-2290 no ha llegado y ya pagué $1,850 MXN", []),
    ("es", "mi fecha de nacimiento es 3 de septiembre de 1992, lo pide el formulario", ["3 de septiembre de 1992"]),
    ("es", "¿El paquete Glow Total incluye hidratación? cuesta 2 mil 300?", []),
    ("es", "che, soy el fede, el de la sesión de masajes del martes, ¿me pasan el alias para transferir?", ["fede"]),
    ("es", "Mandalo a Av. Rivadavia 5420 piso 8 depto C, Caballito. DNI 33.456.789",
     ["Av. Rivadavia 5420 piso 8 depto C", "33.456.789"]),
    ("es", "el turno de mi vieja, Graciela Ponce, es el lunes 14 a las 10", ["Graciela Ponce"]),
    ("es", "¿Cuánto sale el blanqueamiento? vi la promo a $45.000 en cuotas sin interés", []),
    ("es", "Nos vemos mañana!!\nBesos\nMica", ["Mica"]),
    ("es", "Hola! les habla la Cote, quiero agendar depilación láser para mí y mi amiga Javiera", ["Cote", "Javiera"]),
    ("es", "mi rut es 16.842.317-9 y vivo en Pasaje Los Aromos 1234, Maipú", ["16.842.317-9", "Pasaje Los Aromos 1234"]),
    ("es", "¿queda cerca del metro Tobalaba? voy en micro desde Puente Alto", []),
    ("es", "la boleta 00452187 salió por $59.990, ¿me la pueden reenviar?", []),
    ("es", "Buenas, soy Iñaki Etxeberria, mi DNI es 48712345R y quería cita para ortodoncia",
     ["Iñaki Etxeberria", "48712345R"]),
    ("es", "Enviadlo a C/ Alcalá nº 145, 3º izda., 28009 Madrid. Gracias, Montse",
     ["C/ Alcalá nº 145, 3º izda., 28009", "Montse"]),
    ("es", "¿La limpieza dental cuesta 60 € o 65 €? Es para el martes a las 17:30", []),
    ("es", "mi hijo Hugo tiene 8 años, ¿atendéis niños en la clínica de Gran Vía?", ["Hugo"]),
    ("es", "mi nº de pedido es 2024-88731, ¿cuándo llega el sérum?", []),
    ("en", "Hi, my name is Deshawn Carter, can I move my facial to Friday?", ["Deshawn Carter"]),
    ("en", "please mail the receipt to 4410 n broadway st apt 12, chicago", ["4410 n broadway st apt 12"]),
    ("en", "DOB 07/22/1989, phone (206) 555-0187, insurance is Aetna", ["07/22/1989", "(206) 555-0187"]),
    ("en", "Is the $249 microneedling deal still on? order #A-55210 says pending", []),
    ("en", "Thanks so much!\n- Rebecca", ["Rebecca"]),
    ("en", "my wife Priscilla wants the couples massage too, is 6pm open?", ["Priscilla"]),
    ("en", "Can I come in at 3:15 on 5/14? the laser is 45 min right?", []),
    ("en", "email me at tori.nguyen88@gmail.com, this is Tori Nguyen btw", ["tori.nguyen88@gmail.com", "Tori Nguyen"]),
    ("en", "Do you validate parking at the Main Street garage? Suite 300 right?", []),
    ("en", "I was born on March 3rd, 1995 and I'm allergic to lidocaine", ["March 3rd, 1995"]),
    ("es", "¿la sede de Usaquén atiende los domingos? quedo atenta", []),
    ("es", "Soy paciente de la Dra. Beatriz Salgado, me dio receta para el ácido", ["Beatriz Salgado"]),
    ("es", "pagué con la tarjeta 4517 6601 2389 4411 y me rebotó, CUIT 27-31456789-2",
     ["4517 6601 2389 4411", "27-31456789-2"]),
    ("es", "¿Tenéis hueco el viernes? Vivo en Sevilla, cerca de la Plaza de España", []),
    ("es", "Quiero reservar para mi mamá, se llama Ximena Contreras Soto", ["Ximena Contreras Soto"]),
    ("en", "Running 10 min late, stuck on I-95. See you soon!", []),
]


def test_fresh_messages_are_fully_anonymized_without_false_alarms():
    assert len(FRESH) == 40
    failures = []
    for language, text, values in FRESH:
        out = anonymize(text, language)
        leaked = [v for v in values if v in out]
        if leaked or (not values and out != text):
            failures.append((text, leaked, out))
    assert failures == []


# -- round 3: categories behind the leaks and false alarms of blind 2, pinned with new examples -------------
ROUND3_MASKED = [
    # given names that are also a city, a month or a weekday: with a cue, or with a surname after them
    ("es", "PERSON", "buenas, me llamo Julio Benavides y quiero hora", "Julio Benavides"),
    ("es", "PERSON", "Reserva para Domingo Ferrer Puig, por favor", "Domingo Ferrer Puig"),
    ("en", "PERSON", "my name is Santiago, I booked online", "Santiago"),
    # "nombre" as a field of a list, without a colon, capitalized or not
    ("es", "PERSON", "cc 79.456.123, nombre domingo salcedo, quiero reagendar", "domingo salcedo"),
    ("es", "PERSON", "RUT 15.447.832-9, nombre Catalina Vidal Soto", "Catalina Vidal Soto"),
    # birth-date labels in short forms
    ("es", "DATE_OF_BIRTH", "Paciente nueva\nFecha nacimiento: 02-11-1987", "02-11-1987"),
    ("es", "DATE_OF_BIRTH", "F. de nac. 5/6/1990, alérgica a la penicilina", "5/6/1990"),
    ("en", "DATE_OF_BIRTH", "Birthdate: 12/01/1979 and I'm a new patient", "12/01/1979"),
    # nicknames after "me dicen / le decimos" with an article; relatives named with an article or diminutive
    ("es", "PERSON", "a mí me dicen el Chino, pero en la ficha estoy como Rodrigo", "Chino"),
    ("es", "PERSON", "la polola del Benja quiere hora para el viernes", "Benja"),
    ("es", "PERSON", "mi hermanita Josefina se quiere hacer las cejas", "Josefina"),
    ("es", "PERSON", "vengo con el Tincho y la Luli, somos tres", "Luli"),
    ("en", "PERSON", "booking for me and my hubby greg on saturday", "greg"),
    ("en", "PERSON", "can my bestie Kenzie come with me?", "Kenzie"),
    # laughter ends a name, the name itself is still masked
    ("es", "PERSON", "jaja sí, me llamo Ramiro Funes jajaja, el del martes", "Ramiro Funes"),
    # a second ID in a list takes the first one's context
    ("es", "CO_CEDULA", "la cédula de mi papá es 79.123.456 y la de mi hermano 1019876543", "1019876543"),
    ("es", "AR_DNI", "DNI 28.456.789, el de mi marido 30.987.654", "30.987.654"),
    # street abbreviations, the Spanish comma before the number, units before the colonia
    ("es", "LOCATION", "vivo en Pje. El Roble 1120, La Florida", "Pje. El Roble 1120"),
    ("es", "LOCATION", "entreguen en Prol. Hidalgo 45, Col. San Ángel", "Prol. Hidalgo 45"),
    ("es", "LOCATION", "mi casa: C/ de la Luna, 12, 3º B, Zaragoza", "C/ de la Luna, 12, 3º B"),
    ("es", "LOCATION", "domicilio Calle Allende 310, int. 4, Col. Centro Histórico",
     "Calle Allende 310, int. 4, Col. Centro Histórico"),
    # a street with no street word, but a house number and a floor or flat
    ("es", "LOCATION", "Echeverría 2250 5° B, Belgrano. Ahí estoy de 9 a 18", "Echeverría 2250 5° B"),
    ("es", "LOCATION", "Las Camelias 388 depto 21, Ñuñoa, por si necesitan", "Las Camelias 388 depto 21"),
    # a lowercase name opening a line that goes on with an ID or a contact
    ("es", "PERSON", "rodrigo salas peña, rut 20.123.456-5", "rodrigo salas peña"),
    ("es", "PERSON", "valeria montes - cel 311 222 4455", "valeria montes"),
    # a signature block: closing, name, then title and company lines
    ("en", "PERSON", "Kind regards,\nBeatrice Holloway\nPractice Manager\nNorthside Dental", "Beatrice Holloway"),
    ("es", "PERSON", "Saludos cordiales,\nRodolfo Ibarra\nCoordinador de Compras", "Rodolfo Ibarra"),
    # compound given names in lowercase after a cue, and "<someone>'s name is"
    ("es", "PERSON", "a nombre de maría del carmen robles, gracias", "maría del carmen robles"),
    ("en", "PERSON", "my son's name is liam, he's 9", "liam"),
    ("es", "PERSON", "el nombre de mi mamá es gloria esquivel", "gloria esquivel"),
    # streets named after a date or a person with an apostrophe; ordinal floors
    ("es", "LOCATION", "mandalo a Av. 25 de Mayo 1530, 2do piso", "Av. 25 de Mayo 1530, 2do piso"),
    ("es", "LOCATION", "mi dirección es Pasaje D'Agostini 77", "Pasaje D'Agostini 77"),
    # Spain's ground floors and sides, Colombia's "Sur" inside the plate number
    ("es", "LOCATION", "Paseo de Gracia 41, bajo C, 08007 Barcelona, es mi casa", "Paseo de Gracia 41, bajo C, 08007"),
    ("es", "LOCATION", "mi dirección: Travesía del Mar 8, 2º dcha", "Travesía del Mar 8, 2º dcha"),
    ("es", "LOCATION", "vivo en la Cl. 45 # 12 Sur-80, Bogotá", "Cl. 45 # 12 Sur-80"),
    # an IBAN grouped as a Spanish account number (4-4-2-10)
    ("es", "IBAN_CODE", "devolvedlo a ES98 2038 5778 98 3000760236, es la de mi padre", "ES98 2038 5778 98 3000760236"),
    # an initial and a surname in a signature
    ("en", "PERSON", "Appreciate it.\nRegards,\nT. Okafor", "T. Okafor"),
    ("es", "PERSON", "Saludos,\nM. Inés Carrasco", "M. Inés Carrasco"),
]


@pytest.mark.parametrize("language,entity_type,text,value", ROUND3_MASKED, ids=[m[3] for m in ROUND3_MASKED])
def test_round3_category_is_masked(language, entity_type, text, value):
    _assert_masked(language, entity_type, text, value)


ROUND3_NOT_FLAGGED = [
    # the nearby negatives: cities, months and weekdays alone
    ("es", "voy a Santiago el Domingo, ¿abren?"),
    ("es", "¿abren en Julio? quiero ir con una amiga"),
    ("es", "la clínica de Santiago Centro abre los sábados?"),
    ("es", "¿la tina de hidromasaje está incluida en el spa?"),
    ("es", "¿cuál es el nombre del tratamiento con ácido?"),
    # weekdays and the business's own premises before a floor
    ("es", "el turno es el Sábado 12 piso 3 del edificio médico"),
    ("es", "¿la sucursal de Gorriti 4620 piso 2 atiende hoy?"),
    ("es", "la calle Mayor, 5 personas vamos a ir"),
    # reference numbers after "número de …"
    ("es", "el número de autorización es 5512098, ¿ya quedó?"),
    ("es", "número de reclamo 2026-118723, sigo esperando"),
    ("es", "el número de cliente es 88231447, ¿lo necesitan?"),
    ("en", "the approval number is 7781234, did it go through?"),
    # payment platforms, banks, document codes
    ("es", "pagué por Mercado Pago y después desde Banco Galicia"),
    ("es", "Boleta B-2026-4471, falta el detalle del descuento"),
    # nationalities
    ("en", "I'm Colombian, can I pay with my Canadian card?"),
    ("en", "I'm Mexican-American, do you take Medicaid?"),
    # signature lines that are a team or a desk, not a person
    ("en", "Thanks,\nFront Desk\nGlow Spa"),
    ("es", "Saludos,\nEquipo de Ventas"),
    # companies after strong cues, and job titles
    ("es", "la factura a nombre de Comercializadora Los Andes SpA, por favor"),
    ("es", "escribo de parte de Grupo Óptico del Sur para un convenio"),
    ("es", "factura a nombre de Fuentes Hnos. SRL por favor"),
    ("es", "Atentamente,\nGerencia de Operaciones"),
    # a date-named street without a house number, and an appointment date
    ("es", "¿la sede de Av. 25 de Mayo abre los feriados?"),
    ("es", "tengo hora el 25 de mayo a las 11, ¿la puedo cambiar?"),
    ("es", "la referencia del pago es AB12 3456 7890 12"),
]


@pytest.mark.parametrize("language,text", ROUND3_NOT_FLAGGED)
def test_round3_look_alike_is_not_flagged(language, text):
    assert _typed(text, language) == []


ROUND3_MIXED = [
    # kept values, and what must stay: an acronym, a verb, a company, a nationality next to them
    ("en", "Contact Ivy Chen, DOB 04/02/1961", ["Ivy Chen", "04/02/1961"], ["DOB"]),
    ("es", "mi hijo se llama Tomás Leiva y nació el 3 de abril de 2015", ["Tomás Leiva", "3 de abril de 2015"],
     ["nació"]),
    ("es", "a nombre de Textiles Andinos S.A.S., contacto Marcela Quiroga", ["Marcela Quiroga"], ["Textiles Andinos"]),
    ("en", "I'm Peruvian, my name is Germán Castillo", ["Germán Castillo"], ["Peruvian"]),
    ("es", "soy Germán, el de las 10", ["Germán"], []),
    # a name written in capitals after a strong cue is still a name, even with a short word in it
    ("es", "NOMBRE: LUZ AIDA MEJÍA\nCC 43.567.890", ["LUZ AIDA MEJÍA", "43.567.890"], ["NOMBRE"]),
    ("es", "mi número es 3156678899 y el de la orden 55120", ["3156678899"], ["55120"]),
]


@pytest.mark.parametrize("language,text,values,kept", ROUND3_MIXED, ids=[m[1][:30] for m in ROUND3_MIXED])
def test_round3_values_go_and_neighbours_stay(language, text, values, kept):
    out = anonymize(text, language)
    assert [v for v in values if v in out] == [], out
    assert [k for k in kept if k not in out] == [], out


# Round 4: mechanisms rather than words. A name is told by where it stands (a line that opens a contact
# record, "<name> acá", "registrada como <name>", "el arquitecto <surname>") and read against a broad name
# dictionary; an ID right after a name takes the name as its context; a date of birth by a cue after it or by
# an adult's birth year in a list of someone's data; addresses with a ground floor, "ü", or a Mexican lot.
ROUND4_MASKED = [
    # a name that says itself before "acá" / "al habla" / "here", in any case, after a greeting or not
    ("es", "PERSON", "Iñaki al habla, quería cambiar la hora", "Iñaki"),
    ("es", "PERSON", "consuelo aquí, llegando en 5", "consuelo"),
    ("es", "PERSON", "buenas tardes, rosa elvira por acá otra vez", "rosa elvira"),
    ("en", "PERSON", "Dana here, running a bit late", "Dana"),
    # a line that opens a contact record: name, then a phone, an e-mail or a contact word
    ("es", "PERSON", "Zuriñe\n+34 611 222 333", "Zuriñe"),
    ("es", "PERSON", "Edurne, edurne.sarasola@gmail.com", "Edurne"),
    ("es", "PERSON", "Bruno tel 11 4455 6677", "Bruno"),
    ("es", "PERSON", "Marta y Lucía vamos juntas el jueves", "Marta"),
    # two names joined at the start of a clause, or a name and "yo" / "I", read against the broad dictionary
    ("es", "PERSON", "Begoña y Amaia venimos juntas", "Amaia"),
    ("es", "PERSON", "Maite y yo vamos el sábado", "Maite"),
    ("en", "PERSON", "Kira and I will come at 5", "Kira"),
    # "como" after a verb of registering: the name as the system has it, lowercase and misspelt included
    ("es", "PERSON", "me anotaron como yulieth carvajal pero es con i", "yulieth carvajal"),
    ("en", "PERSON", "I'm listed as kayla brooks in your system", "kayla brooks"),
    # a profession before a surname
    ("es", "PERSON", "nos atendió el arquitecto Basterrechea", "Basterrechea"),
    ("es", "PERSON", "lo coordina mi abogada Villalobos", "Villalobos"),
    # an ID right after a name, typed by its shape
    ("es", "AR_DNI", "Leandro Frías Ojeda, 16.442.198", "16.442.198"),
    ("es", "CO_CEDULA", "Paula Andrea Quiroga, 1.152.334.876", "1.152.334.876"),
    ("es", "CL_RUT", "Martina Ugarte Soto, 173846258", "173846258"),
    # an ID typed with stray separators after its word
    ("es", "AR_DNI", "mi DNI es 31..45.2.118, lo dicté mal", "31..45.2.118"),
    # dates of birth: the cue after the date, or an adult's date in a list of someone's data
    ("es", "DATE_OF_BIRTH", "1989-02-14 es mi fecha de nacimiento", "1989-02-14"),
    ("en", "DATE_OF_BIRTH", "Tyler Reed, 04/12/1990, card on file", "04/12/1990"),
    ("es", "DATE_OF_BIRTH", "Marisol Peña; 22 de noviembre de 1987; cédula 52.887.431", "22 de noviembre de 1987"),
    # addresses: ground floor, "ü" in the street, Mexican lots and interiors
    ("es", "LOCATION", "vivo en Argüello 1220, PB 3", "Argüello 1220, PB 3"),
    ("es", "LOCATION", "Zuviría 845 planta baja, Caballito", "Zuviría 845 planta baja"),
    ("es", "LOCATION", "dirección: Mz 4 Lt 12, Col. Ejército de Oriente", "Mz 4 Lt 12"),
    ("es", "LOCATION", "Calle Pino Mz 7 Lote 3, Col. Las Águilas", "Calle Pino Mz 7 Lote 3"),
    ("es", "LOCATION", "Cerrada Nogal 15 int. 4, Col. Del Valle", "Cerrada Nogal 15 int. 4"),
]


@pytest.mark.parametrize("language,entity_type,text,value", ROUND4_MASKED, ids=[m[3] for m in ROUND4_MASKED])
def test_round4_capability_is_masked(language, entity_type, text, value):
    _assert_masked(language, entity_type, text, value)


ROUND4_NOT_FLAGGED = [
    # a verb, a pronoun or a word before "aquí" / "here" is no name
    ("es", "Sigo aquí esperando a que me atiendan"),
    ("es", "Nadie aquí me responde"),
    ("es", "Abrimos aquí el lunes"),
    ("en", "Still here, waiting"),
    ("en", "Everyone here is great"),
    ("es", "Ellos y yo vamos el sábado"),
    ("es", "Paz y tranquilidad es lo que busco"),
    # a word after "como" that no name dictionary knows
    ("es", "me registré como cliente nuevo ayer"),
    ("es", "aparezco como pendiente en la app"),
    # an old date inside a sentence, or after "desde"; a recent full date
    ("es", "El local abrió el 3 de mayo de 1999, ¿siguen en el mismo sitio?"),
    ("es", "Desde el 12/03/2005 soy clienta"),
    ("es", "La cita fue el 3 de mayo de 2019, ¿me mandan la factura?"),
    # payment and document numbers are not phones
    ("es", "el número de la transferencia es 5532019884"),
    ("es", "la boleta es la 0031177, la necesito"),
    # a name glued by a dash to another is a corner or a station; a profession with no surname after it
    ("es", "Trabajo en la estación Sarmiento–Belgrano"),
    ("es", "El profesor de yoga llega tarde"),
]


@pytest.mark.parametrize("language,text", ROUND4_NOT_FLAGGED)
def test_round4_look_alike_is_not_flagged(language, text):
    assert _typed(text, language) == []


def test_conjunction_after_a_dni_is_no_nif_letter():
    text = "mi DNI argentino es 31.224.455 e igual no tengo NIE"
    assert _typed(text, "es") == [("AR_DNI", "31.224.455")]


def test_ten_digits_from_3_are_a_colombian_mobile_not_a_cedula():
    text = "cc 1.020.333.444 - 3156678899"
    assert ("PHONE_NUMBER", "3156678899") in _typed(text, "es")


def test_broad_name_dictionary_is_loaded_and_kept_apart_from_everyday_words():
    from app.privacy import names

    assert len(names.BROAD_NAMES) > 20000
    assert {"ainhoa", "inaki", "zurine"} <= names._BROAD_NAMES
    assert not {"hola", "gracias", "lunes", "cita"} & names._BROAD_NAMES


# Round 5: mechanisms behind blind set 4's false alarms and leaks, pinned with new examples of our own.
ROUND5_NOT_FLAGGED = [
    # a landmark after a preposition of place is no person: "cerca del Ángel", "near the Rose Bowl"
    ("es", "Estoy en un hostal cerca del Pilar, ¿me queda lejos la clínica?"),
    ("es", "¿La sede queda frente al Carmen o más abajo?"),
    ("en", "I'm parked near the Lincoln Memorial, which entrance do I use?"),
    ("en", "Is the spa across from the Grace Cathedral?"),
    # street types and landmarks end a run of capitalized words as a place: "Charles Street", "Washington Ave"
    ("en", "Is there parking on Franklin Street or should I use the garage?"),
    ("en", "Which suite is yours in the tower on Jackson Avenue?"),
    ("en", "We'll be at the Kennedy Stadium game, can we come after?"),
    # a brand named after its founder is a product when a product word follows it
    ("en", "Do you stock Dr. Jart products or only your own line?"),
    ("en", "Is Murad skincare safe during pregnancy? I love Dr. Barbara Sturm serums"),
    # an ID with a check digit after a dash is no phone ("NIT 900.458.732-1" shaped)
    ("es", "Para la factura de la empresa: 830.112.457-3, régimen común"),
    # a reference that opens with a year, after an abbreviated number word
    ("es", "Me llegó el aviso del expediente n.º 2025-330917, qué hago?"),
    ("es", "Su pedido Nro. 2024-771203 está en camino"),
    # English document words are as impersonal as the Spanish ones
    ("en", "Our reservation number is 447-2290, is it still on?"),
    ("en", "Reference 2023-889104 shows as unpaid on my end"),
]


@pytest.mark.parametrize("language,text", ROUND5_NOT_FLAGGED)
def test_round5_look_alike_is_not_flagged(language, text):
    assert _typed(text, language) == []


ROUND5_MASKED = [
    # a lowercase given name + surname after an introduction
    ("es", "PERSON", "buenas tardes soy marisol quintero, tengo una duda con el bono", "marisol quintero"),
    ("en", "PERSON", "hey this is kayla brooks, do you do brow lamination?", "kayla brooks"),
    # a given name that is also a city, alone after "soy", or before a surname
    ("es", "PERSON", "Soy Rosario, la del tratamiento del jueves", "Rosario"),
    ("es", "PERSON", "Datos del titular: Rosario Ibáñez Cortés, RUN 14.223.981-7", "Rosario Ibáñez Cortés"),
    # the person who served or is asked for, after a verb that says so
    ("es", "PERSON", "me escribió Maribel por whatsapp ofreciendo la promo", "Maribel"),
    ("es", "PERSON", "cuando llegue pregunto por Itziar?", "Itziar"),
    ("es", "PERSON", "vayan y pregunten por fermín en recepción", "fermín"),
    ("en", "PERSON", "Ask for Trevor at the front desk when you arrive", "Trevor"),
    # a known name right before a phone, no separator
    ("es", "PERSON", "El número de mi papá: Gerardo 314 552 8890", "Gerardo"),
    # a person's office is still a person
    ("en", "PERSON", "Please fax the form to Dr. Helen Marsh's office by Friday", "Helen Marsh"),
    # "vive en" is an address cue like "vivo en"
    ("es", "LOCATION", "Mi abuela vive en Los Alerces 1290, Maipú, y no maneja", "Los Alerces 1290"),
    # a lowercase street with a house number and a floor
    ("es", "LOCATION", "mandámelo a av de mayo 1370 piso 3 dpto B porfa", "mayo 1370 piso 3 dpto B"),
    ("es", "LOCATION", "queda en olleros 2210 piso 4, timbre 4C", "olleros 2210 piso 4"),
    # a second phone chained to the first, past a relative's name
    ("es", "PHONE_NUMBER", "mi cel es 11 5567-2211 y el de mi hija Lucía 11 5567-2299", "11 5567-2299"),
    # a dotted Spanish number is no IP address when no IP could have it
    ("es", "PHONE_NUMBER", "Si no contesto, al móvil 655.31.20.94", "655.31.20.94"),
    # a Mexican trunk prefix (044/045) makes the number 13 digits long
    ("es", "PHONE_NUMBER", "Llámeme al 045 33 1456 7788 por favor", "045 33 1456 7788"),
]


@pytest.mark.parametrize("language,entity_type,text,value", ROUND5_MASKED, ids=[m[3] for m in ROUND5_MASKED])
def test_round5_mechanism_is_masked(language, entity_type, text, value):
    _assert_masked(language, entity_type, text, value)


def test_a_greeting_on_its_own_line_does_not_make_the_next_sentence_a_name():
    text = "Un cordial saludo,\n\nQuisiera saber si emiten factura electrónica.\n\nAtentamente,\nMaite Goñi"
    assert _typed(text, "es") == [("PERSON", "Maite Goñi")]


def test_field_labels_and_company_heads_are_not_names():
    text = "Ficha del paciente:\nNombre: Teodoro Guzmán\nFactura a nombre de Peluquería Rizos SA de CV"
    found = _typed(text, "es")
    assert ("PERSON", "Teodoro Guzmán") in found
    assert not any(t == "PERSON" and v in ("Nombre", "Peluquería") for t, v in found)


# Round 6: the categories behind blind set 5's errors, pinned with new examples of our own (CO, MX, AR, CL, ES, US).
ROUND6_MASKED = [
    # the cue nearest a number decides its type: a cédula after "CC" even when a name before it reads as a phone
    # word ("Marcos", "se llama") and the number is also a valid phone somewhere
    ("es", "CO_CEDULA", "Certificado de asistencia para Marcos Peña, CC 1150334412, gracias", "1150334412"),
    ("es", "CO_CEDULA", "mi hermano se llama Julián Ortiz, c.c. 1128765430, va a ir él", "1128765430"),
    ("es", "CO_CEDULA", "Paciente: Marcela Ruiz Gómez, cédula 1143876590", "1143876590"),
    # a card after a paying verb, even with a payment or deposit word before it; every brand at its own length
    ("en", "CREDIT_CARD", "Please charge the balance payment to 5105105105105100 when you can", "5105105105105100"),
    ("en", "CREDIT_CARD", "Bill the deposit to 6011000990139424 please, thanks", "6011000990139424"),
    ("es", "CREDIT_CARD", "Cárguenle el depósito al 378282246310005, es de mi esposo", "378282246310005"),
    ("es", "CREDIT_CARD", "pueden cargar la reserva a mi Diners 3056 930902 5904?", "3056 930902 5904"),
    # another spelling of a known given name, in lowercase after "soy" / "im"
    ("es", "PERSON", "hola soy estephany, quería preguntar por el láser de piernas", "estephany"),
    ("es", "PERSON", "buenas, soy jeimy y necesito una cita para limpieza", "jeimy"),
    ("es", "PERSON", "holaa soy natalya, tienen turno el sábado a la mañana?", "natalya"),
    ("en", "PERSON", "hi im sofya and i need to move my booking to friday", "sofya"),
    # a name joined to the writer
    ("es", "PERSON", "resérvame dos lugares en el temazcal, para mí y Jordy, el domingo", "Jordy"),
    ("en", "PERSON", "Me and Keyla want the couples massage on Saturday", "Keyla"),
    # a relative's name that is also a month, a weekday or a word
    ("es", "PERSON", "Buenas tardes, mi hijo Domingo tiene fiebre desde ayer, lo pueden ver hoy?", "Domingo"),
    ("es", "PERSON", "mi nieta Mayo cumple 15 y quiere un facial", "Mayo"),
    ("en", "PERSON", "my daughter April has a rash on her arm, can she come in today?", "April"),
    ("en", "PERSON", "My son Will needs a cleaning before school starts", "Will"),
    # "it's / this is <name> from …": a name that is also a word or a month
    ("en", "PERSON", "hi it's Will again, is my jacket still at the front desk?", "Will"),
    ("en", "PERSON", "This is June from the 10am yoga class, I can't make it", "June"),
    # a Chilean street with no street word after a move
    ("es", "LOCATION", "nos cambiamos de depto, ahora es Las Hortensias 455, Ñuñoa", "Las Hortensias 455"),
    ("es", "LOCATION", "Me mudé a Los Castaños 2210, La Reina, actualicen porfa", "Los Castaños 2210"),
    # a US plaza or square, with its floor
    ("en", "LOCATION", "Send the contract to 350 Harbor Plaza, Floor 7, Boston", "350 Harbor Plaza, Floor 7"),
    ("en", "LOCATION", "Our office moved to 12 Lincoln Square, 3rd Floor", "12 Lincoln Square, 3rd Floor"),
]


@pytest.mark.parametrize("language,entity_type,text,value", ROUND6_MASKED, ids=[m[3] for m in ROUND6_MASKED])
def test_round6_category_is_masked(language, entity_type, text, value):
    _assert_masked(language, entity_type, text, value)


ROUND6_NOT_FLAGGED = [
    # a product or brand named like a person, after the product noun
    ("es", "Me llegó roto el frasco del aceite Lucía Bloom, ¿me mandan otro?"),
    ("es", "¿Tienen stock de la mascarilla Carmen Rosa? La de 200 ml"),
    ("es", "Quiero devolver el champú Don Gregorio, me dio alergia"),
    ("es", "Me encantó la línea Valentina Pure, ¿la venden en sucursal?"),
    ("en", "Is the serum Olivia Glow back in stock?"),
    # a neighbourhood part with a Roman numeral
    ("es", "Entreguen en la Unidad Habitacional Vicente Guerrero III Sección, por favor"),
    ("es", "El paquete va para Granada IV Etapa, al lado de la farmacia"),
    # a lowercase word after a preposition and an article is a common noun
    ("es", "Dejé la bolsa con la rosa que me regalaron, ¿la tienen en recepción?"),
    ("es", "Salgo a las 7 y necesito la cita antes, para el curro de mañana"),
    # a capitalized first word heading a noun phrase
    ("en", "Thanks for the tip.\nJasmine tea in the lobby was lovely, is it for sale?"),
    ("en", "One more thing.\nIris scan at check-in, is that mandatory?"),
    # a numbered street with no house number, after an article
    ("es", "Voy saliendo del metro, ¿cómo llego a la Calle 72?"),
]


@pytest.mark.parametrize("language,text", ROUND6_NOT_FLAGGED)
def test_round6_look_alike_is_not_flagged(language, text):
    assert _typed(text, language) == []


ROUND6_PERSONS_KEPT = [
    # the fixes above leave these persons alone
    ("en", "the cream Mary recommended gave me a rash", "Mary"),           # subject of a verb after a product noun
    ("en", "Thanks. Grace called me yesterday about the booking", "Grace"),  # a verb after the first word
    ("es", "voy con la coni a las 5, somos dos", "coni"),                    # a pet form after "con la"
    ("es", "tía soy la carla, quería info del láser", "carla"),              # an article after an introduction
]


@pytest.mark.parametrize("language,text,value", ROUND6_PERSONS_KEPT, ids=[p[2] for p in ROUND6_PERSONS_KEPT])
def test_round6_persons_are_kept(language, text, value):
    assert ("PERSON", value) in _typed(text, language)


def test_the_phone_word_nearest_a_number_still_makes_it_a_phone():
    text = "cédula 1020456789, celular 1134567890"
    assert _typed(text, "es") == [("CO_CEDULA", "1020456789"), ("PHONE_NUMBER", "1134567890")]


# Round 7: the categories behind blind set 6's errors, pinned with new examples of our own (CO, MX, AR, CL, ES, US).
ROUND7_MASKED = [
    # the identity-document word nearest a number decides its type, over a generic "documento" further back
    ("es", "CO_CEDULA", "en recepción me pidieron el documento y les mostré la cédula: 12.907.331", "12.907.331"),
    ("es", "CO_CEDULA", "olvidé el documento físico pero tengo foto de la cc 43.118.260", "43.118.260"),
    ("es", "AR_DNI", "me pidieron el documento, les paso el DNI 27.455.018 de mi viejo", "27.455.018"),
    # a phone word a few words before the number ("por si acaso" is no case file)
    ("es", "PHONE_NUMBER", "voy en camino, les dejo mi número por si acaso 311 482 9067", "311 482 9067"),
    ("en", "PHONE_NUMBER", "running late, my number just in case 312 555 0187", "312 555 0187"),
    # a lowercase name opening a message, told by an apposition
    ("es", "PERSON", "fran, mi hermana, también quiere hora para el lifting", "fran"),
    ("en", "PERSON", "jen, my sister, wants the same facial on friday", "jen"),
    # an article and a clipped given name, capitalized
    ("es", "PERSON", "Si no contesto yo, abre la puerta la Vale, mi sobrina", "Vale"),
    # a full name alone at the end of a message, after a sentence that ends in a place word
    ("es", "PERSON", "Adjunto la orden médica que me dio la clínica. Marcela Ibáñez", "Marcela Ibáñez"),
    # lowercase self-introductions with a pet form
    ("es", "PERSON", "holi soy mili! quería saber si hay hora el lunes", "mili"),
    ("en", "PERSON", "hey im nat, is the brow tint still on sale?", "nat"),
    # lowercase chat sign-offs
    ("en", "PERSON", "can you move me to 3pm? thx, kyle", "kyle"),
    ("es", "PERSON", "ya transferí la seña, muchas gracias! pau", "pau"),
]


@pytest.mark.parametrize("language,entity_type,text,value", ROUND7_MASKED, ids=[m[3] for m in ROUND7_MASKED])
def test_round7_category_is_masked(language, entity_type, text, value):
    _assert_masked(language, entity_type, text, value)


ROUND7_NOT_FLAGGED = [
    # streets, stations and crossings named after people, with no street word
    ("es", "¿El parqueadero de Alfonso López abre los domingos?"),
    ("es", "Estoy en Insurgentes con Félix Cuevas, ¿para dónde camino?"),
    ("es", "¿se entra por Santos Dumont o por Recoleta?"),
    ("es", "Me bajo en el paradero de Pedro Aguirre Cerda, ¿cuántas cuadras son?"),
    ("en", "Is the entrance on Grant Lee or do I go around back?"),
    # saints, Virgins and feasts
    ("es", "¿Abren el día de la Virgen del Carmen? Es feriado acá"),
    ("es", "Vamos a la procesión de Nuestra Señora de Lourdes y después pasamos"),
    ("en", "Are you open on the feast of Our Lady of Guadalupe?"),
    # a fashion brand after a shop word
    ("es", "¿Quedan al lado de la tienda de Carolina Herrera?"),
    ("en", "Is the parking lot off Martin Luther King?"),
    # look-alikes of the new cues
    ("es", "Gracias por todo, vale, nos vemos"),
    ("en", "hi im fine, thanks! just wanted to confirm tomorrow"),
    ("es", "mi orden por si acaso es 44581290"),
]


@pytest.mark.parametrize("language,text", ROUND7_NOT_FLAGGED)
def test_round7_look_alike_is_not_flagged(language, text):
    assert _typed(text, language) == []


ROUND7_KEPT = [
    # people and phones next to the new place and ID rules stay caught
    ("es", "PERSON", "Hoy viene Antonio Varas a la cita de las 5, es mi papá", "Antonio Varas"),
    ("es", "PERSON", "Fui con Ana a la tienda del centro", "Ana"),
    ("es", "PERSON", "vengo con la Vale y con Jorge", "Vale"),
    ("es", "CO_CEDULA", "cédula 1020456789, celular 3134567890", "1020456789"),
    ("es", "PHONE_NUMBER", "Mi número, por si no me ubican en recepción: 81 2345 6789", "81 2345 6789"),
    ("es", "AR_DNI", "la cédula no la tengo a mano, pero mi DNI es 27.455.018", "27.455.018"),
    ("es", "PHONE_NUMBER", "cédula 1020456789, celular 3134567890", "3134567890"),
    ("es", "AR_DNI", "documento nacional de identidad 30.456.789", "30.456.789"),
]


@pytest.mark.parametrize("language,entity_type,text,value", ROUND7_KEPT, ids=[k[3] for k in ROUND7_KEPT])
def test_round7_people_and_numbers_are_kept(language, entity_type, text, value):
    assert (entity_type, value) in _typed(text, language)
