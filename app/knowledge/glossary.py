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
_add(WORDS, "parqueadero, parqueo, estacionamiento, estacionar, aparcar, aparcamiento, parking, park",
     "parqueadero estacionamiento aparcamiento")
_add(WORDS, "cancelar, cancelo, cancel, cancelling, canceling, reagendar, reprogramar, reschedule, "
            "postpone, aplazar, cambiar, faltar, falto, miss, no-show", "cancelación reprogramar aviso")
_add(WORDS, "pagar, pago, pagos, tarjeta, efectivo, transferencia, pay, payment, card, cash, cuotas, "
            "installments, meses", "pago métodos tarjeta")
_add(WORDS, "devolver, devuelven, devolucion, reembolso, reembolsan, refund, refunds", "reembolso devolución")
_add(PHRASES, "money back, me devuelven la plata, me devuelven el dinero", "reembolso devolución")
_add(WORDS, "abono, anticipo, adelanto, sena, deposit, deposito, reserva", "abono anticipo depósito")
_add(WORDS, "hijo, hija, hijos, menor, menores, adolescente, nino, nina, ninos, teen, teenager, kid, kids, "
            "child, children, anos, anitos, age", "menores edad")
_add(WORDS, "embarazada, embarazo, pregnant, pregnancy, lactancia, lactando, amamantando, breastfeeding",
     "embarazo lactancia")
_add(PHRASES, "dando el pecho, dando pecho", "lactancia")
_add(WORDS, "duele, dolor, doloroso, hurt, hurts, painful, pain, pincha", "dolor molestia anestesia")
_add(WORDS, "despues, after, aftercare, cuidados, cuidarme", "cuidados después")
_add(WORDS, "morado, morada, moreton, moretones, bruise, bruising, hematoma", "hematoma moretón")
_add(WORDS, "hinchado, hinchada, hinchazon, inflamado, swelling, swollen", "inflamación hinchazón")
_add(WORDS, "sesiones, sessions, veces", "sesiones")
_add(WORDS, "regalo, gift, voucher", "regalo tarjeta")
_add(WORDS, "familia, familiar, familiares, family", "familia")
_add(WORDS, "traer, llevar, bring", "traer llevar")
_add(WORDS, "ducharme, banarme, shower, bathe", "ducha bañarse")
_add(WORDS, "sol, asolear, asolearme, broncearme, sun, tan, playa", "sol exposición solar")
_add(WORDS, "dormir, acostarme, acostar, sleep, lie", "acostarse dormir")
_add(WORDS, "resultados, results, efecto, efectos", "resultados efecto")
_add(WORDS, "tarde, retraso, atrasado, atrasada, late", "retraso llegar tarde")
_add(WORDS, "urgencia, urgencias, emergency, emergencia", "urgencias")

# --- treatments, in the words people use -------------------------------------------------------
_add(WORDS, "botox, btx, botulinica", "toxina botulínica bótox")
_add(WORDS, "filler, fillers, relleno, rellenos", "relleno ácido hialurónico")
_add(WORDS, "boca, lips, lip, jeta", "labios")
_add(WORDS, "arrugas, wrinkles, lineas", "arrugas líneas expresión")
_add(WORDS, "manchas, spots, melasma, pigmentacion", "manchas")
_add(WORDS, "pelo, cabello, caida, hair, calvicie", "cabello capilar")
_add(PHRASES, "hair removal, quitar el vello, quitarme los pelos", "depilación láser")
_add(WORDS, "vello, depilar, depilarme, waxing", "depilación")
_add(PHRASES, "nose job, nariz sin cirugia, arreglar la nariz", "rinomodelación nariz")
_add(WORDS, "nose", "nariz")
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
_add(WORDS, "consultation, consulta, cita, hora, appointment, turno, reservacion", "consulta valoración cita")

_PHRASE_RE = [(re.compile(rf"\b{re.escape(p)}\b"), e) for p, e in PHRASES.items()]


def expand(folded_query: str) -> str:
    """Words to add to an accent-folded, lowercased query."""
    extra = [e for rx, e in _PHRASE_RE if rx.search(folded_query)]
    extra += [WORDS[w] for w in re.findall(r"[a-z0-9-]+", folded_query) if w in WORDS]
    return " ".join(extra)
