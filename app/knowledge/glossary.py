"""How customers ask vs. how businesses write: query-side expansion for the lexical index.

Customers say "cuánto sale", "promo", "me quedó morado", "how much is a root canal"; price lists say
"Precio", "promoción", "hematoma", "endodoncia". Each entry adds the business's words to the query
(never removes the customer's). Keys are accent-folded and lowercase; values are plain Spanish text,
analysed like any other. Regional forms from Colombia, Chile, Mexico, Argentina and Spain, and the
English a tourist would use.
"""
from __future__ import annotations

import re

# Single words (folded) -> words to add.
WORDS: dict[str, str] = {}
# Phrases (folded, matched on word boundaries) -> words to add.
PHRASES: dict[str, str] = {}


def _add(table: dict[str, str], keys: str, expansion: str) -> None:
    for key in (k.strip() for k in keys.split(",")):
        if key:
            table[key] = (table.get(key, "") + " " + expansion).strip()


# --- intents of a question ---------------------------------------------------------------------
_add(WORDS, "sale, salen, vale, valen, cuesta, cuestan, cobran, cobra, precio, precios, tarifa, tarifas, "
            "price, prices, cost, costs, fee, fees, plata, lana, pesos, euros", "precio valor")
_add(PHRASES, "how much, cuanto es, cuanto me sale, cuanto sale, cuanto vale, cuanto cuesta, cuanto cobran",
     "precio valor")
_add(WORDS, "dura, duran, demora, demoran, tarda, tardan, demoro, long, duration, rato", "duración minutos")
_add(WORDS, "promo, promos, promocion, oferta, ofertas, descuento, descuentos, rebaja, deal, deals, "
            "discount, discounts, cheaper", "promoción descuento")
# Not the single word "sale": in Spanish chat it is "cuánto sale" (a price), far more often than English.
_add(PHRASES, "on sale, for sale, a sale, any sale, sales", "promoción descuento")
_add(WORDS, "horario, horarios, abren, cierran, cerrais, abris, atienden, open, opening, close, closing, "
            "hours", "horario atención")
_add(WORDS, "donde, queda, quedan, ubicados, direccion, address, where, located, location, llegar",
     "dirección ubicación")
_add(WORDS, "parqueadero, parqueo, estacionamiento, estacionar, aparcar, aparcamiento, parking, park, carro, "
            "auto, coche, car",
     "parqueadero estacionamiento aparcamiento")
_add(WORDS, "cancelar, cancelo, anular, anulo, anulas, cancel, cancelling, canceling, reagendar, reprogramar, reschedule, "
            "postpone, aplazar, cambiar, faltar, falto, miss, no-show", "cancelación reprogramar aviso")
_add(WORDS, "pagar, pago, pagos, tarjeta, efectivo, transferencia, pay, payment, card, cash", "pago métodos tarjeta")
_add(WORDS, "cuotas, plazos, diferir, financiar, financiacion, financiamiento, installments, msi, split",
     "cuotas plazos financiación")
_add(PHRASES, "meses sin intereses, a meses, monthly payments", "cuotas plazos financiación")
_add(WORDS, "devolver, devuelven, devolucion, reembolso, reembolsan, refund, refunds", "reembolso devolución")
_add(PHRASES, "money back, me devuelven la plata, me devuelven el dinero", "reembolso devolución")
_add(WORDS, "abono, anticipo, adelanto, sena, deposit, deposito, reserva", "abono anticipo depósito")
_add(WORDS, "hijo, hija, hijos, menor, menores, adolescente, nino, nina, ninos, teen, teenager, kid, kids, "
            "child, children, anos, anitos, age", "menores edad")
_add(WORDS, "embarazada, embarazo, pregnant, pregnancy, lactancia, lactando, amamantando, breastfeeding",
     "embarazo lactancia")
_add(PHRASES, "dando el pecho, dando pecho", "lactancia")
_add(WORDS, "duele, duelen, dolor, doloroso, dolorosa, hurt, hurts, painful, pain, pincha, needles",
     "duele dolor molestia anestesia")
_add(WORDS, "adolorido, adolorida, sore, soreness", "dolor muscular")
_add(WORDS, "despues, tras, luego, saliendo, after, afterwards, aftercare, cuidados, cuidarme", "cuidados después")
# "me acaban de poner bótox", "me pusieron relleno": the treatment is done, the question is about aftercare.
_add(PHRASES, "acabo de, acaban de, me pusieron, me puse, me hice, me hicieron, me aplicaron, me aplique, just had, "
              "just got", "cuidados después")
_add(WORDS, "morado, morada, moreton, moretones, bruise, bruising, hematoma", "hematoma moretón")
_add(WORDS, "hinchado, hinchada, hinchazon, inflamado, swelling, swollen", "inflamación hinchazón")
_add(WORDS, "sesiones, sessions, veces", "sesiones")
_add(WORDS, "regalo, gift, voucher", "regalo tarjeta")
_add(WORDS, "familia, familiar, familiares, family", "familia")
_add(WORDS, "traer, llevar, bring", "traer llevar")
_add(WORDS, "ducharme, banarme, shower, bathe", "ducha bañarse")
_add(WORDS, "sol, asolear, asolearme, broncearme, sun, tan, playa", "sol exposición solar")
# Stem changes of the verb ("acostarme" / "no te acuestes", "dormir" / "duerme") defeat the stemmer.
_add(WORDS, "dormir, duermo, acostarme, acostar, acuesto, siesta, siestica, sleep, nap, lie", "acostarse acuestes duerme dormir")
_add(WORDS, "resultados, results, efecto, efectos", "resultados efecto")
_add(WORDS, "tarde, retraso, atrasado, atrasada, late", "retraso llegar tarde")
_add(WORDS, "urgencia, urgencias, emergency, emergencia", "urgencias")
_add(WORDS, "whatsapp, whats, wsp, wasap, phone, telefono, call, llamar, numero, email, mail, correo",
     "contacto teléfono whatsapp correo")
_add(WORDS, "web, online, internet, pagina, app", "en línea web agenda")
_add(WORDS, "amiga, amigo, amigas, amigos, friend, friends, referir, refer, referral, recomendar", "refiere referido amiga")
_add(WORDS, "factura, invoice, receipt, boleta, recibo", "factura boleta")
_add(WORDS, "seguro, insurance, isapre, eps, prepagada, convenio", "seguro convenio")
_add(WORDS, "silla, wheelchair, discapacidad, movilidad, rampa, accessible, accessibility",
     "accesibilidad movilidad reducida rampas")
_add(PHRASES, "se me olvido, me olvide, no fui, no llegue, no-show, no show, forgot, missed", "cita no atendida inasistencia")
_add(PHRASES, "para siempre, de por vida, forever, permanent, permanente", "dura toda la vida permanente")
# A length of time as customers say it and as price lists write it.
_add(PHRASES, "una hora, 1 hora, an hour, one hour, 1 hour", "60 minutos")
_add(PHRASES, "hora y media, una hora y media, an hour and a half, 90 min", "90 minutos")
_add(PHRASES, "media hora, half an hour, 30 min", "30 minutos")

# --- everyday English a tourist writes, in the clinics' Spanish ------------------------------------
_add(WORDS, "building, entrance, floor", "edificio entrada piso")
_add(WORDS, "mom, mother, dad, father, son, daughter", "familia")
_add(WORDS, "bring, wear", "traer llevar")
_add(WORDS, "wash", "lavar")
_add(WORDS, "makeup", "maquillaje maquillarse")
_add(WORDS, "glasses", "gafas lentes")
_add(WORDS, "drive, driving", "manejar conducir")
_add(WORDS, "alcohol, drink, drinking, beer, wine, chelas, cerveza, trago, tragos, copas", "alcohol")
_add(WORDS, "smoke, smoking, fumar, cigarro, cigarrillo", "fumar")
_add(WORDS, "gym, workout, exercise, crossfit, gimnasio, deporte, ejercicio, correr, running", "ejercicio deporte")
_add(WORDS, "allergic, allergy, allergies, alergico, alergica", "alergias hipoalergénicos")
_add(WORDS, "scented, unscented, fragrance, perfume", "fragancia aroma")
_add(WORDS, "oil, oils", "aceites")
_add(WORDS, "weekday, weekdays", "lunes viernes entre semana")
_add(WORDS, "weekend, saturday, saturdays", "sábados")
_add(WORDS, "sunday, sundays", "domingos")
_add(WORDS, "towel, towels", "toalla")
_add(WORDS, "free", "gratis gratuita sin costo")
_add(WORDS, "stitches, puntos", "puntos sutura")
_add(WORDS, "bleeding, bleed, sangra, sangrado", "sangrado")
_add(WORDS, "book, booking, slot, reservar", "agendar reservar cita")
_add(WORDS, "latest", "última")
_add(WORDS, "last, lasts", "dura duran duración")
_add(WORDS, "primera, primer, first", "inicial primera")
_add(PHRASES, "entre semana, de semana", "lunes viernes")

# --- treatments, in the words people use -------------------------------------------------------
_add(WORDS, "botox, btx, botulinica", "toxina botulínica bótox")
_add(WORDS, "filler, fillers, relleno, rellenos", "relleno ácido hialurónico")
_add(WORDS, "boca, lips, lip, jeta", "labios")
_add(WORDS, "arrugas, wrinkles, lineas", "arrugas líneas expresión")
_add(WORDS, "manchas, spots, melasma, pigmentacion", "manchas")
_add(WORDS, "pelo, cabello, caida, hair, calvicie", "cabello capilar vello")
_add(WORDS, "scalp", "cuero cabelludo capilar")
_add(WORDS, "rubio, rubios, blonde, blond, canas, canoso, gray, grey", "rubios claros canosos")
_add(PHRASES, "hair removal, quitar el vello, quitarme los pelos", "depilación láser")
_add(WORDS, "vello, depilar, depilarme, waxing", "depilación")
_add(PHRASES, "nose job, nariz sin cirugia, arreglar la nariz", "rinomodelación nariz")
_add(WORDS, "nose", "nariz")
_add(WORDS, "mesotherapy", "mesoterapia")
_add(WORDS, "reflexology", "reflexología")
_add(WORDS, "steam", "vapor hidroterapia")
_add(WORDS, "wax, pluck, tweeze, cera, pinzas", "cera pinzas depilar")
_add(WORDS, "face, cara, rostro", "facial rostro")
_add(WORDS, "cleaning, limpieza, limpiar", "limpieza")
_add(WORDS, "massage, masajes, masajito, sobada", "masaje")
_add(PHRASES, "hot stones, hot stone, piedras calientes, piedras calientitas", "piedras calientes")
_add(PHRASES, "body wrap, body wraps", "envoltura corporal")
_add(WORDS, "couples, couple, pareja, novio, novia, esposo, esposa", "pareja")
_add(WORDS, "hydrotherapy, hidroterapia, jacuzzi, vapor, sauna", "hidroterapia circuito")
_add(PHRASES, "day pass, pase de dia, dia completo", "day pass")
_add(WORDS, "whitening, blanquear, blanquearme, dientes, teeth", "blanqueamiento dientes")
_add(WORDS, "braces, frenillos, fierros, frenos", "brackets ortodoncia")
_add(WORDS, "aligners, alineadores, invisalign", "alineadores invisibles ortodoncia")
_add(PHRASES, "root canal, tratamiento de conducto, matar el nervio", "endodoncia")
_add(WORDS, "implant, implants", "implante")
_add(WORDS, "muela, muelas, diente, tooth", "diente pieza dental")
_add(WORDS, "muela, muelas, molar, molars", "molar")
_add(WORDS, "crown, crowns, corona", "corona")
_add(WORDS, "rayos, x-rays, xray, xrays, radiografia, radiografias", "radiografía")
_add(WORDS, "tornillo", "implante")
_add(WORDS, "consultation, consulta, cita, hora, appointment, turno, reservacion", "consulta valoración cita")

# --- round 3: everyday words a new question is likely to use, by class ---------------------------------
# Not going / calling off, as chat says it ("no puedo ir", "can't make it"): the cancellation policy.
_add(PHRASES, "no puedo ir, no voy a ir, no podre ir, no puedo asistir, no voy a poder ir, no alcanzo a ir, "
              "no voy a alcanzar, can't make it, cannot make it, won't make it, can't come, cannot come",
     "cancelación reprogramar aviso inasistencia")
_add(WORDS, "avisar, aviso, notice", "aviso anticipación")
_add(PHRASES, "de anticipacion, de antelacion, con tiempo, in advance, ahead of time, beforehand", "anticipación")
# Paying before, to hold a slot: the deposit.
_add(WORDS, "adelantado, adelantada, anticipado, separar, apartar, prepago, prepagar, upfront, advance",
     "abono anticipo depósito")
# The deposit by region: abono (CO), anticipo (MX), seña (AR, UY), señal / fianza (ES), pie (CL).
_add(WORDS, "abono, anticipo, sena, senal, fianza, deposito, deposit", "abono anticipo seña señal depósito")
# Money in chat slang, for "how much".
_add(WORDS, "lucas, luca, guita, varos, bucks", "precio valor")
_add(PHRASES, "por adelantado, por anticipado, pagar antes, pago antes, hold my spot, hold the appointment",
     "abono anticipo depósito")
# Fear of needles, of the dentist: numbing and gentle techniques.
_add(WORDS, "miedo, pavor, panico, terror, fobia, nervios, nerviosa, nervioso, susto, scared, afraid, terrified, "
            "nervous, anxious, anxiety, fear", "miedo ansiedad nervios")
_add(WORDS, "aguja, agujas, needle, needles, pinchazo, pinchazos, injection, injections, injected, shot, shots",
     "aguja inyección pinchazo")
_add(WORDS, "numb, numbing, anestesia, anestesico, adormecer", "anestesia anestésica crema")
_add(PHRASES, "no sentir nada, pa no sentir, para no sentir", "anestesia anestésica crema dolor")
# A bruise as each country says it.
_add(WORDS, "morado, morada, moreton, moretones, bruise, bruises, bruising, hematoma, cardenal, chichon",
     "morado hematoma moretón")
# Lying down, resting (Spain "tumbarse", LatAm "acostarse", "recostarse").
_add(WORDS, "tumbarme, tumbarse, tumbar, recostarme, recostarse, acostarme, lie, lying, siesta, siestica, nap",
     "tumbe tumbarse acostarse recostarse")
_add(WORDS, "quieta, quieto, descansar, descanso, reposo, rest, resting, incapacidad", "reposo descanso")
# The generic name of a treatment a price list may use for the brand ("bótox": a neuromodulator).
_add(WORDS, "botox, btx, botulinica, toxina", "neuromodulador neuromoduladores")
# Running late: the tolerance the policy gives.
_add(WORDS, "tarde, retraso, atrasado, atrasada, late, behind, demorado, demorada, tardanza",
     "retraso atraso tolerancia")
# Getting money back, as Mexico and others say it ("me regresan el dinero").
_add(WORDS, "regresan, regresar, regresen, regresa, reintegro, reintegran, reintegrar, reembolsable, refundable",
     "reembolso devolución reembolsables")
# Adding something to a service.
_add(WORDS, "add, adding, add-on, addon, agregar, agregarle, anadir, anadirle, sumar, extra, extras",
     "adicional complemento agregar")
_add(WORDS, "aromatherapy, aromaterapia, aromas", "aromaterapia")
# Who comes along.
_add(WORDS, "acompanante, acompanar, acompanarme, acompanada, hermana, hermano, prima, primo, sister, brother, "
            "cousin, husband, wife, boyfriend, girlfriend, partner, companion",
     "acompañante persona familia")
_add(WORDS, "room, sala", "sala")
# Papers to show.
_add(WORDS, "papel, papeles, documento, documentos, cedula, dni, identificacion, pasaporte, passport, id, ine",
     "documento identidad identificación")
# Warranty / guarantee.
_add(WORDS, "garantia, garantias, warranty, guarantee, guaranteed", "garantía")
# Fillings and other everyday dental words.
_add(WORDS, "filling, fillings, tapadura, tapaduras, calza, calzas, empaste, empastes, resina, resinas, cavity, cavities, "
            "caries", "tapadura obturación resina caries")
_add(WORDS, "cleaning, profilaxis, destartraje, limpieza", "limpieza profilaxis destartraje")
_add(WORDS, "dentist, dentists, dentista, odontologo, odontologa", "dentista odontólogo")
# Eating and drinking.
_add(WORDS, "eat, eating, food, meal, comer, comida, almorzar, desayunar, masticar, chew, chewing",
     "comer comida alimentos")
_add(WORDS, "drink, water, tomar, beber, agua", "beber agua")
# Birthdays and gifts.
_add(WORDS, "birthday, cumple, cumpleanos, cumpleanero, cumpleanera", "cumpleaños")
# When results show / the effect starts.
_add(PHRASES, "kick in, take effect, start working, see results, se nota, se notan, se ve, se empieza a notar",
     "efecto resultado comienza nota")
# Time off and back to work.
_add(WORDS, "trabajo, trabajar, curro, chamba, pega, laburo, oficina, work, job, office",
     "trabajo trabajar rutina")
# Peeling skin after a peel.
_add(WORDS, "pelando, pelar, pela, pellejo, pellejos, pellejitos, cascaritas, costras, descamando, descamacion, peeling, "
            "flaking", "descama piel")
# Who treats you: a man or a woman.
_add(WORDS, "chava, chavo, chica, chico, mujer, hombre, muchacha, muchacho, senora, senor, woman, female, man, male, "
            "girl, guy, lady", "hombre mujer")
# Moving an appointment.
_add(WORDS, "mover, muevo, moverla, cambiarla, pasarla, move, moving", "reprogramar cambiar reprogramaciones")
# Brand names of drugs customers use for the generic.
_add(WORDS, "roacutan, roaccutane, accutane, isotretinoina", "isotretinoína")
_add(WORDS, "aspirina, aspirin, ibuprofeno, ibuprofen, advil", "antiinflamatorios aspirina")
# How often / how many times.
_add(PHRASES, "cada cuanto, how often, cada cuantos meses", "frecuencia meses repetir")
_add(PHRASES, "cuantas veces, how many times", "veces sesiones máximo")
# Getting there by transport.
_add(WORDS, "aeropuerto, airport", "aeropuerto")
_add(WORDS, "bike, bici, bicicleta, cicla, ecobici", "bicicleta cicloestación")
# Transferring what was bought to someone else.
_add(WORDS, "transferir, traspasar, ceder, regalarle, transfer, transferable", "transferibles transferir otra persona")
_add(PHRASES, "give it to, give my, a otra persona, someone else, alguien mas", "transferibles otra persona")
# Undoing a result.
_add(WORDS, "deshacer, disolver, quitar, revertir, undo, dissolve, reverse, remove", "disolver disolución retirar")
_add(PHRASES, "no me gusta, no me gusto, quede mal, me quedo mal, don't like, do not like", "no me gusta resultado")

_PHRASE_RE = [(re.compile(rf"\b{re.escape(p)}\b"), e) for p, e in PHRASES.items()]


def matches(folded_query: str) -> list[tuple[str, str, bool]]:
    """(the customer's word or phrase, the business's words for it, is a phrase entry) for each entry the
    query holds, phrases first: the reranker treats each as one concept, however many words either side has."""
    found = [(m.group(0), e, True) for rx, e in _PHRASE_RE for m in [rx.search(folded_query)] if m]
    found += [(w, WORDS[w], False) for w in re.findall(r"[a-z0-9-]+", folded_query) if w in WORDS]
    return found


def expand(folded_query: str) -> str:
    """Words to add to an accent-folded, lowercased query."""
    return " ".join(e for _, e, _ in matches(folded_query))
