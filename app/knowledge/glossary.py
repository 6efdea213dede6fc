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
     "cuotas plazos financiación pago")
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
