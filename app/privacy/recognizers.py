"""Our Presidio recognizers for what Latin American and Spanish customers actually write.

Each recognizer is a Presidio `EntityRecognizer`: a regular expression finds candidates, python-stdnum
or phonenumbers validates them (check digits, numbering plans), and the words just before a candidate
(its context) decide the confidence. Numbers that are plainly prices, order numbers or appointment
times are dropped here, before they reach the analyzer's threshold.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable

import phonenumbers
from presidio_analyzer import EntityRecognizer, RecognizerResult
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.ar import cuit as ar_cuit
from stdnum.cl import rut as cl_rut
from stdnum.es import nie as es_nie
from stdnum.es import nif as es_nif

LANGUAGES = ("es", "en")
CONTEXT_WINDOW = 40          # characters before a candidate that count as its context

# Words before a number that say it is *not* personal: orders, invoices, tickets, tracking, codes.
# A whole word only: "por si acaso" is no "caso", a "prepago" phone no "pago"; "just in case" is no case file.
NOT_PERSONAL = re.compile(
    r"(?<![a-záéíóúüñ])(?<!\bin\s)(?<!\bjust\sin\s)(pedido|orden|order|factura|invoice|ticket|gu[ií]a|tracking|env[ií]o|seguimiento|referencia|\bref\b|"
    r"c[oó]digo|code|sku|folio|radicado|nit|transacci[oó]n|comprobante|recibo|receipt|reserva|booking|"
    r"confirmaci[oó]n|cup[oó]n|promo|lote|serial|modelo|aprobaci[oó]n|autorizaci[oó]n|operaci[oó]n|reclamo|"
    r"reclamaci[oó]n|incidencia|expediente|solicitud|tr[aá]mite|p[oó]liza|caso|queja|approval|authori[sz]ation|"
    r"transaction|claim|case|cliente|socio|afiliad[oa]|contrato|convenio|membres[ií]a|customer|member(?:ship)?|"
    # payments and the documents that come with them: "número de la transferencia", "boleta 0048213"
    r"transferencia|transfer|dep[oó]sito|deposit|pago|payment|abono|movimiento|boleta|albar[aá]n|remito|"
    r"cotizaci[oó]n|presupuesto|quote|voucher|nota\s+de\s+cr[eé]dito|pedimento|certificado|serie|serial|"
    r"producto|art[ií]culo|item|lote|batch|env[ií]o|paquete|parcel|shipment|#\s*$|n[°º]\s*$|nro\.?\s*$|no\.\s*$|"
    # the English words for the same documents: "confirmation number", "reservation #", "policy no."
    r"confirmation|reservation|reference|policy|request|account\s+(?:id|ref)|appointment\s+(?:id|#|no\b))"
    # up to the number, across abbreviation dots ("Pedido online n.º", "Ref. 4471") but not a sentence's end
    r"(?:[^.\n]|\.(?=[ \t]?[º°ª#\d]|[ \t]?[a-zñ]))" r"{0,14}$", re.IGNORECASE)
# A number that is an amount of money: "$850.000", "850.000 pesos", "1.299,00 €", "45 mil".
MONEY_BEFORE = re.compile(r"(\$|€|£|usd|us\$|cop|mxn|clp|ars|eur|s/\.?)\s*$", re.IGNORECASE)
MONEY_AFTER = re.compile(r"^\s*(\$|€|pesos|peso|cop|mxn|clp|ars|eur|euros?|usd|d[oó]lares|dollars|mil\b|lucas|k\b|"
                         r"lks|palos|millones|mill[oó]n)", re.IGNORECASE)


def _before(text: str, start: int, width: int = CONTEXT_WINDOW) -> str:
    return text[max(0, start - width):start]


def is_money(text: str, start: int, end: int) -> bool:
    return bool(MONEY_BEFORE.search(_before(text, start, 8)) or MONEY_AFTER.match(text[end:end + 12]))


def not_personal(text: str, start: int) -> bool:
    return bool(NOT_PERSONAL.search(_before(text, start, 30)))


def result(recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    """A RecognizerResult that names the recognizer that found it (Presidio's decision process reads it)."""
    return RecognizerResult(entity, start, end, score,
                            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,  # type: ignore[has-type]
                                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id})


@dataclass(frozen=True)
class Rule:
    """One candidate pattern of a recognizer.

    score:          confidence when the candidate validates, with or without context
    context_score:  confidence when a context word precedes it (None: context changes nothing)
    needs_context:  the bare pattern is too common ("52345678") to flag without a context word
    """
    pattern: re.Pattern
    score: float
    context_score: float | None = None
    needs_context: bool = False
    group: int = 0
    strong: bool = False       # a checksum-validated, formatted ID: no price/order-number filter


class RuleRecognizer(EntityRecognizer):
    """Regex candidates -> validator -> context -> RecognizerResult, for one entity and language."""

    def __init__(self, entity: str, language: str, rules: Iterable[Rule], context: re.Pattern | None = None,
                 validate: Callable[[str], bool] | None = None, numeric: bool = True, name: str | None = None,
                 trim_groups: bool = False, by_nearest_id_cue: bool = False):
        self.rules = list(rules)
        # an ID whose shape several countries share: only the identity-document word nearest the number is its
        # context ("sin documento, tengo la cédula en foto: 8.354.902" is a cédula, not a DNI)
        self.by_nearest_id_cue = by_nearest_id_cue
        self.trim_groups = trim_groups
        self.context_re = context
        self.validate = validate
        self.numeric = numeric            # numbers: drop prices and order numbers
        super().__init__(supported_entities=[entity], supported_language=language,
                         name=name or f"{entity.title().replace('_', '')}Recognizer_{language}")

    def load(self) -> None:
        pass

    def _shorter_valid(self, text: str, start: int, end: int) -> int | None:
        """A greedy pattern may have taken a word too many ("ES70…5678 y"): drop trailing groups."""
        if not self.trim_groups or self.validate is None:
            return None
        value = text[start:end]
        for _ in range(4):
            m = re.search(r"[ -]?[A-Za-z0-9]{1,4}$", value)
            if not m or m.start() == 0:
                return None
            value = value[:m.start()]
            if self.validate(value):
                return start + len(value)
        return None

    def has_context(self, text: str, start: int) -> bool:
        if self.by_nearest_id_cue and self.context_re is not None:
            return cue_nearest(text, start, self.context_re, tie_is_ours=True)
        return bool(self.context_re and self.context_re.search(_before(text, start)))

    # A second value in a list takes the context of the first: "cédula 21.456.903 y la mía 1001234567",
    # "RUT 12.345.678-5 y el de mi hijo 23.456.789-6", "DNI 30111222, el de mi señora 31222333".
    _CHAIN = re.compile(r"\s*(?:,|;|\by\b|\be\b|\band\b|/)[^\d\n.?!]{0,30}$", re.IGNORECASE)

    def _chained(self, text: str, start: int, found: list[RecognizerResult]) -> bool:
        return not not_personal(text, start) and any(
            r.end <= start and self._CHAIN.fullmatch(text, r.end, start) for r in found if r.score >= 0.8)

    def analyze(self, text, entities, nlp_artifacts=None):
        entity = self.supported_entities[0]
        if entities and entity not in entities:
            return []
        out, seen = [], set()
        for rule in self.rules:
            for m in rule.pattern.finditer(text):
                start, end = m.span(rule.group)
                if (start, end) in seen:
                    continue
                value = text[start:end]
                if self.validate and not self.validate(value):
                    end = self._shorter_valid(text, start, end)
                    if end is None:
                        continue
                context = self.has_context(text, start) or (
                    rule.needs_context and self._chained(text, start, out))
                if rule.needs_context and not context:
                    continue
                if self.numeric and not context and not rule.strong and (
                        is_money(text, start, end) or not_personal(text, start)):
                    continue
                score = rule.context_score if (context and rule.context_score) else rule.score
                seen.add((start, end))
                out.append(result(self, entity, start, end, score))
        return out


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _ctx(*words: str) -> re.Pattern:
    return re.compile(r"(?<![\w])(" + "|".join(words) + r")(?![\w])", re.IGNORECASE)


_B = r"(?<![\w.,/-])"         # a number that is not the tail of a longer one
_E = r"(?![\w/]|[.,-]\d)"       # ... nor the head of one

# -- national identity numbers ----------------------------------------------------------------------
ID_WORDS = [r"documento", r"doc\.?", r"identificaci[oó]n", r"id", r"n[uú]mero de identificaci[oó]n", r"ident",
            r"mis datos", r"sus datos", r"los datos", r"datos"]


# Digits with irregular separators, as an ID is sometimes typed or dictated: "23..20.1.110", "10 20 345 678".
LOOSE_DIGITS = re.compile(_B + r"\d{1,3}(?:(?:\.{1,2}|[ -])\d{1,3}){2,5}" + _E)


def co_cedula(language: str) -> RuleRecognizer:
    ctx = _ctx(r"c[eé]dula", r"cc", r"c\.\s?c\.?", r"c\.c", r"cedula de ciudadan[ií]a", r"c[eé]d\.?", r"cdla",
               r"cedula", r"ced", *ID_WORDS)
    rules = [Rule(re.compile(_B + r"\d{1,3}(?:\.\d{3}){2,3}" + _E), 0.3, 0.85, needs_context=True),
             Rule(re.compile(_B + r"\d{2,4}(?: \d{3}){2}" + _E), 0.3, 0.8, needs_context=True),
             Rule(re.compile(_B + r"\d{6,10}" + _E), 0.3, 0.8, needs_context=True),
             Rule(LOOSE_DIGITS, 0.3, 0.75, needs_context=True)]
    # a 10-digit cédula starts with 1 (issued since 2004, "1.020.…"); ten digits from 3 are a mobile number
    return RuleRecognizer("CO_CEDULA", language, rules, ctx, by_nearest_id_cue=True,
                          validate=lambda v: 6 <= len(_digits(v)) <= 9 or _digits(v)[:1] == "1" and len(_digits(v)) == 10)


def ar_dni(language: str) -> RuleRecognizer:
    ctx = _ctx(r"dni", r"d\.n\.i\.?", r"documento nacional( de identidad)?", r"documento", r"doc\.?", r"mis datos",
               r"datos")
    rules = [Rule(re.compile(_B + r"\d{1,2}\.\d{3}\.\d{3}" + _E), 0.3, 0.85, needs_context=True),
             Rule(re.compile(_B + r"\d{1,2} \d{3} \d{3}" + _E), 0.3, 0.8, needs_context=True),
             Rule(re.compile(_B + r"\d{7,8}" + _E), 0.3, 0.8, needs_context=True),
             Rule(LOOSE_DIGITS, 0.3, 0.75, needs_context=True)]
    return RuleRecognizer("AR_DNI", language, rules, ctx, by_nearest_id_cue=True, validate=lambda v: 7 <= len(_digits(v)) <= 8)


def ar_cuit_recognizer(language: str) -> RuleRecognizer:
    ctx = _ctx(r"cuit", r"cuil", r"c\.u\.i\.t\.?", r"c\.u\.i\.l\.?")
    rules = [Rule(re.compile(_B + r"(?:20|23|24|27|30|33|34)[-‐ ]\d{8}[-‐ ]\d" + _E), 0.9, 0.95, strong=True),
             Rule(re.compile(_B + r"(?:20|23|24|27|30|33|34)[-‐ ]?\d{2}\.?\d{3}\.?\d{3}[-‐ ]?\d" + _E), 0.75, 0.95)]
    return RuleRecognizer("AR_CUIT", language, rules, ctx, validate=lambda v: ar_cuit.is_valid(_digits(v)))


def cl_rut_recognizer(language: str) -> RuleRecognizer:
    ctx = _ctx(r"rut", r"r\.u\.t\.?", r"run", r"rol [uú]nico", r"mis datos", r"datos")
    rules = [Rule(re.compile(_B + r"\d{1,2}\.\d{3}\.\d{3}\s?[-‐]\s?[\dkK]" + r"(?![\w])"), 0.9, 0.95, strong=True),
             Rule(re.compile(_B + r"\d{1,2}\.\d{3}\.\d{3}\s?[\dkK]" + r"(?![\w])"), 0.3, 0.9, needs_context=True),
             Rule(re.compile(_B + r"\d{7,8}\s?[-‐]\s?[\dkK]" + r"(?![\w])"), 0.85, 0.95, strong=True),
             Rule(re.compile(_B + r"\d{7,8}[kK]" + r"(?![\w])"), 0.8, 0.95),
             Rule(re.compile(_B + r"\d{8,9}" + _E), 0.3, 0.85, needs_context=True)]
    return RuleRecognizer("CL_RUT", language, rules, ctx, by_nearest_id_cue=True,
                          validate=lambda v: cl_rut.is_valid(re.sub(r"[^\dkK]", "", v)))


def _valid_yymmdd(s: str) -> bool:
    return s.isdigit() and 1 <= int(s[2:4]) <= 12 and 1 <= int(s[4:6]) <= 31


MX_STATES = "AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ|YN|ZS|NE"


def mx_curp_recognizer(language: str) -> RuleRecognizer:
    pattern = re.compile(r"(?<![\w])[A-Z][AEIOUX][A-Z]{2}\d{6}[HM](?:" + MX_STATES + r")[B-DF-HJ-NP-TV-Z]{3}[A-Z\d]\d"
                         r"(?![\w])", re.IGNORECASE)
    # A CURP typed with a wrong check digit is still a CURP: the shape and a valid birth date decide.
    return RuleRecognizer("MX_CURP", language, [Rule(pattern, 0.9, 0.95)], _ctx(r"curp"),
                          validate=lambda v: _valid_yymmdd(v[4:10]), numeric=False)


def mx_rfc_recognizer(language: str) -> RuleRecognizer:
    pattern = re.compile(r"(?<![\w])[A-ZÑ&]{3,4}[ -]?\d{6}[ -]?[A-Z\d]{2}[A\d](?![\w])", re.IGNORECASE)
    return RuleRecognizer("MX_RFC", language, [Rule(pattern, 0.8, 0.95)], _ctx(r"rfc", r"r\.f\.c\.?"),
                          validate=lambda v: _valid_yymmdd(re.sub(r"[ -]", "", v)[-9:-3]), numeric=False)


def es_nif_recognizer(language: str) -> RuleRecognizer:
    # "18.687.115 y todavía": a lone "y", "e", "o", "u", "a" after a space is the next word, not a NIF letter
    pattern = re.compile(_B + r"\d{1,2}\.?\d{3}\.?\d{3}(?:[-‐]?[A-Za-z]|\s?[-‐]\s?[A-Za-z]|\s(?![yeoua]\s+\w)[A-Za-z])"
                         r"(?![\w])")
    return RuleRecognizer("ES_NIF", language, [Rule(pattern, 0.9, 0.95)], _ctx(r"dni", r"nif", r"d\.n\.i\.?"),
                          validate=lambda v: es_nif.is_valid(re.sub(r"[^\dA-Za-z]", "", v).upper()), numeric=False)


def es_nie_recognizer(language: str) -> RuleRecognizer:
    pattern = re.compile(r"(?<![\w])[XYZxyz]\s?[-‐]?\s?\d{7}\s?[-‐]?\s?[A-Za-z](?![\w])")
    return RuleRecognizer("ES_NIE", language, [Rule(pattern, 0.9, 0.95)], _ctx(r"nie", r"n\.i\.e\.?"),
                          validate=lambda v: es_nie.is_valid(re.sub(r"[^\dA-Za-z]", "", v).upper()), numeric=False)


# -- payment data ------------------------------------------------------------------------------------
# Card brands by their issuer prefix (IIN) and the lengths they issue: Visa 13/16/19, Mastercard 16, Amex 15
# ("3782 822463 10005"), Diners 14 ("3056 930902 5904") or 16, Discover, JCB, UnionPay, Maestro, Mir 16-19.
_CARD_BRANDS = (
    (re.compile(r"4"), (13, 16, 19)),                                                     # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720)"), (16,)),                      # Mastercard
    (re.compile(r"3[47]"), (15,)),                                                        # American Express
    (re.compile(r"3(?:0[0-5]|09|[68])"), (14, 16)),                                         # Diners Club
    (re.compile(r"6(?:011|4[4-9]|5)"), (16, 19)),                                         # Discover
    (re.compile(r"35(?:2[89]|[3-8]\d)"), (16, 19)),                                        # JCB
    (re.compile(r"62"), (16, 17, 18, 19)),                                                # UnionPay
    (re.compile(r"5[06-8]|6[0-9]"), (16, 18, 19)),                                        # Maestro and local debit brands
    (re.compile(r"220[0-4]"), (16, 17, 18, 19)),                                          # Mir
)


def _card_ok(value: str) -> bool:
    d = _digits(value)
    return luhn.is_valid(d) and any(prefix.match(d) and len(d) in lengths for prefix, lengths in _CARD_BRANDS)


def credit_card_recognizer(language: str) -> RuleRecognizer:
    # Paying words are a card's context, and they outweigh a payment or deposit word nearby that would make a
    # bare number an order or a transfer: "charge the deposit to 3782…", "cárguenlo a la 4509…", "cardholder".
    ctx = _ctx(r"tarjeta", r"tdc", r"tc", r"cr[eé]dito", r"d[eé]bito", r"visa", r"mastercard", r"master", r"amex",
               r"american express", r"diners", r"discover", r"maestro", r"card", r"credit", r"debit", r"pagar con",
               r"pag\w* con", r"pay\w*(?: it| this| that)? (?:with|by|using)", r"cobr\w*", r"c[aá]rg\w*", r"charg\w*",
               r"bill(?:\s+(?:it|this|that|the\s+\w+))?\s+to", r"cardholder", r"titular", r"pl[aá]stico")
    rules = [Rule(re.compile(_B + r"\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7}" + _E), 0.9, 0.95, strong=True),  # 4-4-4-4
             Rule(re.compile(_B + r"3\d{3}[ -]\d{6}[ -]\d{4,5}" + _E), 0.9, 0.95, strong=True),    # Amex, Diners 4-6-5
             Rule(re.compile(_B + r"\d{13,19}" + _E), 0.7, 0.9)]
    return RuleRecognizer("CREDIT_CARD", language, rules, ctx, validate=_card_ok)


def iban_recognizer(language: str) -> RuleRecognizer:
    pattern = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,3})?(?![\w])")
    # digits grouped as a Spanish account is written (entity 4, office 4, control 2, account 10): "ES60 0049 1500
    # 05 1234567892"; the checksum decides.
    ccc = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ -]?\d{2,10}){2,6}(?![\w])")
    return RuleRecognizer("IBAN_CODE", language, [Rule(pattern, 0.95), Rule(ccc, 0.95)], _ctx(r"iban", r"cuenta"),
                          validate=lambda v: std_iban.is_valid(re.sub(r"[ -]", "", v).upper()), numeric=False,
                          trim_groups=True)


# -- contact data -------------------------------------------------------------------------------------
def email_recognizer(language: str) -> RuleRecognizer:
    # Our own pattern instead of Presidio's: its validator calls tldextract, which wants the internet.
    pattern = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
    return RuleRecognizer("EMAIL_ADDRESS", language, [Rule(pattern, 0.95)], numeric=False)


_TLD = r"(?:com|co|net|org|mx|cl|ar|es|io|me|info|app|ly|gl|us|uy|pe|ec|ve|bo|py|edu|gov|gob|tv|site|store|shop|link|page|lat)"
URL_PATTERN = re.compile(
    r"(?<![\w@.])(?:https?://[^\s<>\"')\]]+|www\.[^\s<>\"')\]]+|"
    r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\." + _TLD + r"(?:\.[a-z]{2})?(?:/[^\s<>\"')\]]*)?|"
    r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,6}/[^\s<>\"')\]]+)(?![\w@])",
    re.IGNORECASE)


class UrlRecognizer(RuleRecognizer):
    def analyze(self, text, entities, nlp_artifacts=None):
        results = super().analyze(text, entities, nlp_artifacts)
        for r in results:
            while r.end > r.start and text[r.end - 1] in ".,;:!?":       # sentence punctuation is not the URL's
                r.end -= 1
        return results


def url_recognizer(language: str) -> RuleRecognizer:
    return UrlRecognizer("URL", language, [Rule(URL_PATTERN, 0.85)], numeric=False,
                         validate=lambda v: not re.fullmatch(r"[\d.]+", v))


def _ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def ip_recognizer(language: str) -> RuleRecognizer:
    rules = [Rule(re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)"), 0.9),
             # IPv6, compressed forms ("2001:db8::7334") included: any hex-and-colon run that parses
             Rule(re.compile(r"(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])"), 0.8)]
    return RuleRecognizer("IP_ADDRESS", language, rules, _ctx(r"ip"), validate=_ip_ok, numeric=False)


PHONE_REGIONS = ("CO", "CL", "MX", "AR", "ES", "US")
# "dial" as a verb ("márcame al", "marque el"), not a name that starts the same way ("Marcela", "Marcos").
_DIAL = r"m[aá]rc(?:a|ar|as|ame|ale|alo|ando|aron|ó|á)|m[aá]rqu(?:e|en|eme|enme|es)"
PHONE_CONTEXT = _ctx(r"cel", r"celu", r"celular", r"cell?phone", r"tlf", r"tfno", r"m[oó]vil", r"whatsapp", r"cell?", r"tel[eé]fono", r"tel\.?", r"telf", r"fono", r"m[oó]vil",
                     r"whatsapp", r"whats", r"wsp", r"wpp", r"wa", r"n[uú]mero", r"num", r"ll[aá]m\w*", _DIAL,
                     r"contacto", r"fijo", r"phone", r"mobile", r"call", r"text", r"reach", r"number")


# Numbers phonenumbers calls invalid but that are still phones: anything written with a country code
# ("+56 9 1234 5678"), and any digit group after a phone word ("mi cel 15 4567-8901").
# Phone words that say "phone" by themselves (not "número", "number", "contacto"): these outweigh an
# order or approval word nearby.
PHONE_CONTEXT_SPECIFIC = _ctx(r"cel", r"celu", r"celular", r"cell?phone", r"tlf", r"tfno", r"m[oó]vil", r"whatsapp",
                              r"cell?", r"tel[eé]fono", r"tel\.?", r"telf", r"fono", r"whats", r"wsp", r"wpp", r"wa",
                              r"ll[aá]m\w*", _DIAL, r"fijo", r"phone", r"mobile", r"call", r"text")
# Words that name an identity document. The cue nearest a number decides what it is: in "se llama Aurelio
# Pino, cc 1130875492" the "cc" after "llama" makes a cédula of a number that is also a valid phone.
ID_CUES = _ctx(r"c[eé]dula", r"cc", r"c\.\s?c\.?", r"c[eé]d\.?", r"cdla", r"dni", r"d\.n\.i\.?", r"rut", r"run",
               r"nie", r"nif", r"cuit", r"cuil", r"curp", r"rfc", r"documento", r"doc\.?", r"identificaci[oó]n",
               r"pasaporte", r"passport", r"ssn")


def _last(pattern: re.Pattern, text: str) -> re.Match | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def cue_nearest(text: str, start: int, cue: re.Pattern, width: int = CONTEXT_WINDOW, tie_is_ours: bool = False) -> bool:
    """A `cue` word stands before `start` with no identity-document word between it and the number.
    `tie_is_ours`: the cue may be that document word itself ("cédula" for a cédula)."""
    before = _before(text, start, width)
    found = _last(cue, before)
    if not found:
        return False
    document = _last(ID_CUES, before)
    # "número de identificación" is one cue of ours that holds the document word "identificación"
    return document is None or document.start() < found.start() or (tie_is_ours and document.end() <= found.end())


# A phone word a few words before the number, with no other number and no sentence end between them:
# "Mi número por si acaso 667 145 3398", "my cell in case you need it 312 555 0199".
_PHONE_CUE_GAP = re.compile(r"[^\d\n.!?]*$")


def phone_cue_a_few_words_before(text: str, start: int) -> bool:
    before = _before(text, start, CONTEXT_WINDOW)
    found = _last(PHONE_CONTEXT, before)
    return bool(found and _PHONE_CUE_GAP.match(before, found.end()) and cue_nearest(text, start, PHONE_CONTEXT))


INTERNATIONAL = re.compile(r"(?<![\w+])\+\s?\d(?:[\s.()-]{0,2}\d){7,14}(?![\w])")
LOCAL_AFTER_CUE = re.compile(r"(?<![\w.,/-])\(?\d{2,4}\)?(?:[\s.-]?\d){5,11}(?![\w]|[.,]\d)")
IP_LIKE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_PHONE_CHAIN = re.compile(r"\s*(?:,|;|\by\b|\bo\b|\be\b|\band\b|\bor\b|/)[^\d\n.?!]{0,40}", re.IGNORECASE)
# Numbers shaped as something else than a phone: an ID with a check digit after a dash ("900.458.732-1", a
# Colombian NIT; "12.345.678-5"), or a reference that opens with a year ("2024-118832", "2025/004417").
NOT_PHONE_SHAPE = re.compile(r"^(?:.*\d[ \t]?[-‐][ \t]?[\dkK]|(?:19|20)\d{2}[-/]\d{5,})$")
# Every phone we accept has at least 7 digits in one run; without such a run the (slow) matcher is skipped.
PHONE_HINT = re.compile(r"\d(?:[\s().+/-]{0,3}\d){6}")


class PhoneRecognizer(EntityRecognizer):
    """Phone numbers of the six markets we serve, validated against Google's numbering plans
    (phonenumbers). One number may be valid in several plans; each span is reported once."""

    def __init__(self, language: str):
        super().__init__(supported_entities=["PHONE_NUMBER"], supported_language=language,
                         name=f"LatamPhoneRecognizer_{language}")

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        if (entities and "PHONE_NUMBER" not in entities) or not PHONE_HINT.search(text):
            return []
        spans: dict[tuple[int, int], float] = {}
        for region in PHONE_REGIONS:
            for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                start, end = m.start, m.end
                context = cue_nearest(text, start, PHONE_CONTEXT)
                specific = cue_nearest(text, start, PHONE_CONTEXT_SPECIFIC)
                if (not context or not specific) and (
                        is_money(text, start, end) or not_personal(text, start)):
                    continue                    # "el número de aprobación es 2837461"
                international = m.raw_string.lstrip().startswith(("+", "00"))
                if not international and NOT_PHONE_SHAPE.match(m.raw_string.strip()) and not specific:
                    continue
                score = 0.9 if international else (0.85 if context else 0.6)
                digits = _digits(m.raw_string)
                if not context and not international and len(digits) < 9:
                    continue                    # a short local number with nothing saying it is a phone
                spans[(start, end)] = max(score, spans.get((start, end), 0))
        for m in INTERNATIONAL.finditer(text):
            spans.setdefault((m.start(), m.end()), 0.75)
        for m in LOCAL_AFTER_CUE.finditer(text):
            if ((cue_nearest(text, m.start(), PHONE_CONTEXT, 25) or phone_cue_a_few_words_before(text, m.start()))
                    and 7 <= len(_digits(m.group())) <= (13 if m.group().lstrip("(").startswith("0") else 12)
                    and not not_personal(text, m.start()) and not (NOT_PHONE_SHAPE.match(m.group())
                                                                   and not cue_nearest(
                                                                       text, m.start(), PHONE_CONTEXT_SPECIFIC, 25))):      # "my order number is 123456789"
                spans.setdefault((m.start(), m.end()), 0.7)
        # a second number joined to a phone ("15 6789-0123 y el de mi marido Horacio 15 6789-0124") is one too
        for m in LOCAL_AFTER_CUE.finditer(text):
            if (m.start(), m.end()) not in spans and 7 <= len(_digits(m.group())) <= 12 and any(
                    e <= m.start() and _PHONE_CHAIN.fullmatch(text, e, m.start()) for _, e in spans) and not (
                    not_personal(text, m.start()) or is_money(text, m.start(), m.end())):
                spans[(m.start(), m.end())] = 0.7
        # Four dotted groups: a real IP address is left to the IP recognizer, groups of thousands ("1.152.334.876")
        # are an ID or an amount; "699.45.12.78" is neither, a Spanish phone written with dots.
        spans = {k: v for k, v in spans.items() if not (IP_LIKE.match(text[k[0]:k[1]]) and (
            _ip_ok(text[k[0]:k[1]]) or THOUSANDS.match(text[k[0]:k[1]])))}
        return [result(self, "PHONE_NUMBER", s, e, score)
                for (s, e), score in spans.items()]


# -- addresses and dates of birth ----------------------------------------------------------------------
_STREET_ES = (r"(?:calle|cll?|cl\.|r[uú]a|carrer|avinguda|passeig|praza|rambla|carrera|cra|kra|kr|cr|avenida|av|avda|diagonal|dg|transversal|tv|trans|"
              r"bv|bvd|bvar|pasaje|psje|calzada|calz|paseo|camino|plaza|pza|ronda|traves[ií]a|boulevard|bulevar|blvd|v[ií]a|"
              r"autopista|circunvalar|circular|callej[oó]n|prolongaci[oó]n|privada|cerrada|andador|"
              r"carretera|ctra|c/|pje|psj|pj|priv|prol|cda|cjon|clle|diag|trv|urb|urbanizaci[oó]n|ak|ac)")
_SIDE = (r"(?:izq(?:uierda|da)?|dcha|derecha|der|dch|centro|ctro|int|ext|bajo|ático|atico|pb|p\.\s?b|planta\s+baja)\.?"
         r"(?![\w])(?:\s*(?:(?-i:[A-Z])|\d{1,2})(?![\w]))?")          # "bajo B", "PB 2"; not "izq y …"
_UNIT_WORDS = (r"(?:apto|apartamento|apt|ap|depto|dpto|dto|dep|departamento|piso|of|oficina|int|interior|ext|exterior|"
               r"local|casa|torre|bloque|block|bl|villa|puerta|pta|esc|escalera|mz|manzana|lote|lt|suite|unit|#)")
_UNIT = (r"(?:\s*,?\s*\d{1,2}\s*(?:er|ro|do|to|vo|no|mo)\.?\s*piso(?![\w])|"
         r"\s*,?\s*\d{1,2}\s*[º°ª]\s*(?:" + _SIDE + r"|[A-Za-z](?![\w]))?|"
         r"\s*,?\s*" + _UNIT_WORDS + r"\.?\s*(?=[\w°º-]*\d|[A-Za-z](?![\w]))[\w°º-]+"
         r"(?:\s*[°º]?\s*[A-Za-z](?![\w]))?|\s*,?\s*" + _SIDE + r")*"
         # the colonia / neighbourhood and the postal code that often follow: ", Col. Del Valle", ", 28014", "CP 03100"
         r"(?:\s*,?\s*(?:col\.|colonia|fracc\.|fraccionamiento)\s+(?:(?:del|de|la|las|los|el)\s+)*"
         r"[A-ZÁÉÍÓÚÜÑ][\wáéíóúüñ]*(?:\s+(?:(?:del|de|la|las|los|el)\s+)*[A-ZÁÉÍÓÚÜÑ][\wáéíóúüñ]*){0,2})?"
         r"(?:\s*,?\s*(?:c\.?\s?p\.?\s*|c[oó]digo postal\s*)?\d{5}(?![\w]|[.,]\d))?")
_MONTH_NAMES = (r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|"
                r"diciembre)")
_NUMBER_PART = (r"(?:\s*(?:#|n[°º]|no\.?|nro\.?|num\.?|número|numero)?\s*\d+[A-Za-z]?"
                r"(?:\s*(?:bis|sur|norte|este|oeste)?\s*[-#]\s*\d+[A-Za-z]?)?"
                r"(?:\s*[-]\s*\d+)?|\s*s/n|"
                r"\s*,\s*(?:n[°º]\s*)?\d{1,4}[A-Za-z]?(?=\s*(?:,|$|\n|\d{1,2}\s*[º°ª]|[º°ª])))")
ADDRESS_ES = re.compile(
    r"(?<![\w])" + _STREET_ES + r"\.?\s+(?:(?:de|do|da|dos|das|d')\s*(?:la\s+|los\s+|las\s+)?)?"
    # a street named after a date ("Av. 9 de Julio", "Calle 5 de Mayo"), a number, or words ("Bernardo O'Higgins")
    r"(?:\d{1,2}\s+de\s+" + _MONTH_NAMES + r"|"
    r"\d+[A-Za-z]?(?:\s?bis)?(?:\s+(?:sur|norte|este|oeste|bis))?|[A-ZÁÉÍÓÚÜÑa-záéíóúüñ][\wáéíóúüñÁÉÍÓÚÜÑ.'’]*(?:\s+(?:de\s+|del\s+|la\s+)?[A-ZÁÉÍÓÚÑ0-9][\wáéíóúüñ.'’]*){0,3})"
    + _NUMBER_PART + r"(?:\s*[°º]\s*(?:[A-Za-z](?![\w]))?)?" + _UNIT,
    re.IGNORECASE)
# The unit after a US street: "Apt 4B", "Suite 300", "Floor 12", "12th Floor", "Rm 5".
_UNIT_EN = (r"(?:\s*,?\s*(?:(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|Room|Rm|Level|#)\.?\s*\w+|"
            r"\d{1,3}(?:st|nd|rd|th)\s+(?:Floor|Fl)\.?))?")
ADDRESS_EN = re.compile(
    r"(?<![\w])\d{1,6}\s+(?:[NSEW]\.?\s+)?(?:(?:[A-Z][a-z]+|\d{1,3}(?:st|nd|rd|th))\s+){1,3}(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|"
    r"Ln|Lane|Way|Terrace|Ter|Ct|Court|Pl|Place|Pkwy|Parkway|Hwy|Highway|Cir|Circle|Plaza|Plz|Square|Sq|Loop|Trail|"
    r"Trl|Crescent|Alley)\.?(?:\s+(?:NE|NW|SE|SW))?" + _UNIT_EN + r"(?![\w])")


# The same in lowercase ("i live at 45 elm st apt 2"): only after an address cue, as "one way", "2 dr" are words.
ADDRESS_EN_LOWER = re.compile(
    r"(?<![\w])\d{1,6}\s+(?:[nsew]\.?\s+)?(?:(?:[a-z]+|\d{1,3}(?:st|nd|rd|th))\s+){1,3}(?:st|street|ave|avenue|rd|road|"
    r"blvd|boulevard|dr|drive|ln|lane|way|terrace|ct|court|pl|place|pkwy|parkway|hwy|highway|cir|circle|plaza|"
    r"square|sq|loop|trail)\.?" + _UNIT_EN + r"(?![\w])", re.IGNORECASE)


# "domicilio fiscal Gorriti 4620", "mandenlo a Los Leones 456, of. 302", "me cambié de casa, ahora es Los Aromos
# 332", "nos mudamos a Las Violetas 90": no street word, but a cue.
ADDRESS_AFTER_CUE = re.compile(
    r"(?:(?:nueva\s+)?direcci[oó]n(?:\s+(?:comercial|fiscal|particular|postal|nueva|actual|"
    r"de\s+(?:env[ií]o|entrega|facturaci[oó]n|despacho|(?:la\s+)?casa|(?:la\s+)?oficina|(?:mi\s+)?trabajo)))?"
    r"(?:\s+(?:es|a|ahora\s+es|queda\s+en))?|domicilio(?:\s+fiscal)?(?:\s+es)?|"
    # a move: "me mudé a", "nos cambiamos al", "me cambié de casa, ahora es"
    r"(?:me|nos)\s+(?:mud|cambi)\w*\s+(?:a|al)|(?:mud|cambi)\w*\s+de\s+(?:casa|depto|departamento|direcci[oó]n|"
    r"domicilio)[^.\n]{0,25}?\bahora\s+(?:es|(?:vivo|vivimos|estoy|estamos)\s+en)|"
    r"viv(?:o|e|es|imos|en|[ií]a)\s+en|env[ií]\w*\s+a|m[aá]nd\w*\s+a|lleg\w*\s+a|"
    r"entreg\w*\s+en|despach\w*\s+a|address(?:\s+is)?|ship\w*\s+to|deliver\w*\s+to)\s*:?\s+"
    r"((?-i:(?:(?:Los|Las|La|El|los|las|la|el|de|del)\s+)?[A-ZÁÉÍÓÚÜÑ][\wáéíóúüñ.]*(?:\s+(?:de\s+|del\s+)?[A-ZÁÉÍÓÚÜÑ][\wáéíóúüñ.]*){0,3})"
    r"\s+\d{1,5}[A-Za-z]?" + _UNIT + ")", re.IGNORECASE)


# Days and months are not street names: "el Domingo 14 piso 2", "Marzo 3 piso".
_NOT_STREET_NAMES = (r"(?:Lunes|Martes|Mi[eé]rcoles|Jueves|Viernes|S[aá]bado|Domingo|Enero|Febrero|Marzo|Abril|Mayo|"
                     r"Junio|Julio|Agosto|Septiembre|Setiembre|Octubre|Noviembre|Diciembre|Tengo|Somos|Son|Es|Hay|"
                     r"Sede|Sucursal|Local|Consultorio|Cl[ií]nica)\b")
# A business's own premises are not a customer's address: "la sucursal de Rosario 1234 piso 2".
_PREMISES_BEFORE = re.compile(r"(?:sede|sucursal|local|consultorio|cl[ií]nica|oficinas?|branch|location|office)"
                              r"(?:\s+(?:de|en|del|of|at|on))?\s*$", re.IGNORECASE)
# "Thames 1820 3°A", "Gorriti 4620 piso 2", "Los Aromos 77 depto B": no street word and no cue, but a house
# number followed by a floor or a flat says it is an address (Argentina, Chile, Spain).
ADDRESS_WITH_FLOOR = re.compile(
    r"(?<![\w/.])((?-i:(?!" + _NOT_STREET_NAMES + r")(?:(?:Los|Las|La|El|Del|De)\s+)?[A-ZÁÉÍÓÚÜÑ][a-záéíóúüñ][\wáéíóúüñ.]*"
    r"(?:\s+(?:de\s+|del\s+)?[A-ZÁÉÍÓÚÜÑ][\wáéíóúüñ.]*){0,3})\s+(?:n[°º]\s*)?\d{2,5}[A-Za-z]?"
    r"(?=\s*,?\s*(?:\d{1,2}\s*[º°ª]|(?:piso|depto|dpto|dto|apto|departamento|of|oficina|int|interior|casa|torre|"
    r"block|mz|manzana|lt|lote|local)\.?\s*\w|(?-i:PB|P\.B\.|[Pp]lanta\s+[Bb]aja|[Bb]ajo)(?![\w])))" + _UNIT + ")")


# The same typed in lowercase ("santa fe 3450 piso 2 dto A", "los aromos 77 depto b"): one to three words, a
# house number and an explicit floor or flat word; the words may not be function words ("tengo 3 …").
_LOWER_STREET_WORD = (r"(?!(?:en|de|del|a|al|la|el|los|las|mi|tu|su|y|o|por|para|con|es|son|soy|tengo|hay|que|unos?|"
                      r"unas?|sus?|cada|como|las?|me|te|le|nos|se|sesi[oó]n|sesiones|lunes|martes|mi[eé]rcoles|jueves|"
                      r"viernes|s[aá]bado|domingo|" + _MONTH_NAMES[3:-1] + r")\b)(?-i:[a-záéíóúüñ][a-záéíóúüñ.]+)")
ADDRESS_WITH_FLOOR_LOWER = re.compile(
    r"(?<![\w/.])(" + _LOWER_STREET_WORD + r"(?:\s+" + _LOWER_STREET_WORD + r"){0,2}\s+(?:n[°º]\s*)?\d{2,5}[a-z]?"
    r"(?=\s*,?\s*(?:piso|depto|dpto|apto|departamento|interior)\.?\s*\w)" + _UNIT + ")", re.IGNORECASE)


# "la Calle 93", "sobre la carrera 11", "cómo llego a la Carrera 43A": a numbered street with no house number is a place, not an address.
STREET_ONLY = re.compile(r"^(?:(?:la|el)\s+)?" + _STREET_ES + r"\.?\s+\d+[A-Za-z]?(?:\s?bis)?(?:\s+(?:sur|norte|este|oeste))?$", re.IGNORECASE)


class AddressRecognizer(RuleRecognizer):
    def analyze(self, text, entities, nlp_artifacts=None):
        results = super().analyze(text, entities, nlp_artifacts)
        for r in results:
            while r.end > r.start and text[r.end - 1] in " ,.;:":
                r.end -= 1
        return [r for r in results if (any(c.isdigit() for c in text[r.start:r.end]) or "s/n" in text[r.start:r.end])
                and not (STREET_ONLY.match(text[r.start:r.end]) and not self.has_context(text, r.start))
                and not (_PREMISES_BEFORE.search(_before(text, r.start, 25)) and not self.has_context(text, r.start)
                         and ADDRESS_WITH_FLOOR.fullmatch(text, r.start, r.end))]


def address_recognizer(language: str) -> RuleRecognizer:
    ctx = _ctx(r"direcci[oó]n", r"viv(?:o|e|es|imos|en|[ií]a) en", r"domicilio", r"address", r"live at", r"queda en", r"env[ií]en? a",
               r"entrega en", r"(?:send|mail|ship|deliver)\w*(?:\s+\w+){0,3}\s+to", r"located at", r"staying at",
               r"moved to")
    return AddressRecognizer("LOCATION", language, [Rule(ADDRESS_ES, 0.75, 0.9), Rule(ADDRESS_EN, 0.75, 0.9),
                                                     Rule(ADDRESS_EN_LOWER, 0.3, 0.85, needs_context=True),
                                                     Rule(ADDRESS_AFTER_CUE, 0.8, group=1),
                                                     Rule(ADDRESS_WITH_FLOOR, 0.75, group=1),
                                                     Rule(ADDRESS_WITH_FLOOR_LOWER, 0.7, group=1),
                                                     Rule(MX_LOT, 0.75)], ctx,
                             numeric=False, validate=lambda v: bool(re.search(r"\d|s/n", v, re.IGNORECASE)))


_MONTHS = (r"(?:ene(?:ro)?|feb(?:rero)?|mar(?:zo)?|abr(?:il)?|may(?:o)?|jun(?:io)?|jul(?:io)?|ago(?:sto)?|"
           r"sep(?:t(?:iembre)?)?|set(?:iembre)?|oct(?:ubre)?|nov(?:iembre)?|dic(?:iembre)?|"
           r"jan(?:uary)?|february|march|april|june|july|aug(?:ust)?|september|october|november|dec(?:ember)?)\.?")
# Days and years in words: "doce de mayo de 1988", "el primero de abril del noventa", "the fourth of July".
_DAY_WORDS = (r"(?:primero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|"
              r"diec?is[eé]is|diec?isiete|diec?iocho|diec?inueve|veinte|veinti(?:uno|d[oó]s|tr[eé]s|cuatro|cinco|"
              r"s[eé]is|siete|ocho|nueve)|treinta(?:\s+y\s+uno)?|first|second|third|fourth|fifth|sixth|seventh|"
              r"eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|"
              r"eighteenth|nineteenth|twentieth|twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|"
              r"ninth)|thirtieth|thirty[- ]first)")
_TENS = r"(?:cincuenta|sesenta|setenta|ochenta|noventa)(?:\s+y\s+(?:uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve))?"
_YEAR = (r"(?:\d{4}|'\d{2}|(?:mil\s+novecientos\s+)?" + _TENS + r"|dos\s+mil(?:\s+(?:uno|dos|tres|cuatro|cinco|"
         r"seis|siete|ocho|nueve|diez|once|doce))?)")
_DAY = r"(?:\d{1,2}(?:st|nd|rd|th|º|°)?|" + _DAY_WORDS + r")"
DATE_PATTERN = re.compile(
    r"(?<![\w/])(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|"
    r"\d{1,2}[/.\s-]" + _MONTHS + r"[/.\s-](?:\d{4}|\d{2})|"
    + _DAY + r"\s+(?:de\s+)?" + _MONTHS + r",?\s+(?:de(?:l)?\s+|of\s+)?(?:" + _YEAR + r"|\d{2})|"
    + _MONTHS + r"\s+(?:the\s+)?" + _DAY + r",?\s+(?:of\s+)?" + _YEAR + r"|"
    + _DAY + r"\s+(?:of\s+)?" + _MONTHS + r",?\s+" + _YEAR + r")(?![\w/])",
    re.IGNORECASE)
# A birthday with no year ("nací el 3 de marzo", "my birthday is March 4th") right after the cue.
BIRTHDAY_PATTERN = re.compile(
    r"(?:naci(?:do|da)?|nac[ií]|cumplea[ñn]os|cumple|cumplo\s+a[ñn]os|born|birthday|b-?day|dob|nacimiento)\b[^.\n\d]{0,20}?"
    r"(?<![\w/])(" + _DAY + r"\s+(?:de\s+|of\s+)?" + _MONTHS + r"|" + _MONTHS + r"\s+(?:the\s+)?" + _DAY
    + r")(?![\w/]|\s+(?:de(?:l)?\s+|of\s+)?\d)", re.IGNORECASE)
DOB_CONTEXT = _ctx(r"naci(?:do|da|mos|ste)?", r"nac[ií]", r"naci[oó]", r"nacieron", r"nacimiento", r"f\.?\s?nac\.?", r"fec\.?\s?nac\.?",
                   r"(?:f|fec|fecha)\.?\s*(?:de\s+)?nac(?:imiento|\.)?", r"birth\s*date", r"d\.?\s?o\.?\s?b\.?",
                   r"fecha de nac\w*", r"cumplea[ñn]os", r"cumple", r"cumplo a[ñn]os", r"b-?day", r"dob", r"d\.o\.b\.?", r"born", r"birth\w*",
                   r"date of birth", r"birthday", r"nac\.", r"soy\s+del", r"naci\w*")


# The cue may come after the date: "1998-07-30 es mi fecha de nacimiento", "03/04/1990 (my DOB)".
DOB_AFTER = re.compile(r"[\s,:;(\-–]*(?:(?:es|era|is|was|=)\s+)?(?:(?:mi|su|la|tu|my|his|her|their|the)\s+)?"
                       r"(?:fecha\s+de\s+nac\w*|f\.?\s?nac\.?|nacimiento|cumplea[ñn]os|cumple|birth\s*date|"
                       r"date\s+of\s+birth|birthday|b-?day|d\.?o\.?b\.?)(?![\w])", re.IGNORECASE)
_YEAR_IN_DATE = re.compile(r"(?:19|20)\d{2}(?!\d)")
# A full date this many years back is no appointment, delivery or invoice date in a customer chat: in a list of
# someone's data ("Lautaro Giménez, 3 de mayo de 1999, DNI …") it is when they were born.
ADULT_YEARS = 15
# Words before a date that make an old date something else than a birth: "desde el", "factura del", "se fundó".
NOT_BIRTH_BEFORE = re.compile(r"(?:desde|since|fund\w*|founded|casad[oa]s?|married|boda|wedding|muri[oó]|died|"
                              r"falleci\w*|vence|venc\w*|expir\w*|emitid[oa]|issued|compr\w*|bought|"
                              r"operad[oa]|cirug[ií]a|surgery|tratamiento|treatment)[^.\n]{0,20}$", re.IGNORECASE)

# ... and only as an item of such a list, not inside a sentence ("el local abrió el 3 de mayo de 1999").
_LIST_ITEM = re.compile(r"(?:^|[,;:|/(\n\-–—])[ \t]*$")


class DobRecognizer(RuleRecognizer):
    """Dates of birth: a date with a birth word before or after it, or an adult's birth year in a record."""

    def analyze(self, text, entities, nlp_artifacts=None):
        results = super().analyze(text, entities, nlp_artifacts)
        if entities and "DATE_OF_BIRTH" not in entities:
            return results
        found = {(r.start, r.end) for r in results}
        this_year = date.today().year
        for m in DATE_PATTERN.finditer(text):
            if m.span() in found:
                continue
            year = _YEAR_IN_DATE.search(m.group())
            if DOB_AFTER.match(text, m.end()):
                results.append(result(self, "DATE_OF_BIRTH", m.start(), m.end(), 0.85))
            elif (year and 1920 <= int(year.group()) <= this_year - ADULT_YEARS and _LIST_ITEM.search(text, 0, m.start())
                  and not not_personal(text, m.start()) and not NOT_BIRTH_BEFORE.search(_before(text, m.start(), 30))):
                results.append(result(self, "DATE_OF_BIRTH", m.start(), m.end(), 0.6))
        return results


def dob_recognizer(language: str) -> RuleRecognizer:
    """A date is personal only when the text says it is a birth date; appointment dates are not."""
    return DobRecognizer("DATE_OF_BIRTH", language, [Rule(DATE_PATTERN, 0.3, 0.85, needs_context=True),
                                                     Rule(BIRTHDAY_PATTERN, 0.75, group=1)],
                         DOB_CONTEXT, numeric=False)


# An ID written right after a person's name, as a form filled in on one line: "Javiera Paz Rojas, 105333145",
# "Juan Ortega 1.020.467.893". The name is the context an ID word would otherwise give (see `id_after_name`).
_ID_AFTER_NAME = re.compile(r"[ \t]*[,;:/|\-–—]?[ \t]*(\d{1,3}(?:\.\d{3}){1,3}(?:\s?[-‐]\s?[\dkK])?|"
                            r"\d{6,10}(?:\s?[-‐]\s?[\dkK])?)(?![\w]|[.,/-]\d)")


def id_after_name(text: str, end: int) -> tuple[str, int, int] | None:
    """The national ID that follows a name ending at `end`, typed by its shape: a valid RUT check digit is
    Chilean, "dd.ddd.ddd" is an Argentine DNI, other 6 to 10 digits a Colombian cédula."""
    m = _ID_AFTER_NAME.match(text, end)
    if not m or is_money(text, m.start(1), m.end(1)):
        return None
    value = m.group(1)
    compact = re.sub(r"[^\dkK]", "", value)
    if 8 <= len(compact) <= 9 and cl_rut.is_valid(compact):
        kind = "CL_RUT"
    elif compact[-1:] in "kK" or not 6 <= len(compact) <= 10:
        return None
    elif re.fullmatch(r"\d{1,2}\.\d{3}\.\d{3}", value):
        kind = "AR_DNI"
    else:
        kind = "CO_CEDULA"
    return kind, m.start(1), m.end(1)


# "Mz 4 Lt 12", "Manzana 7 Lote 3": a lot in a Mexican colonia, with or without a street before it.
MX_LOT = re.compile(r"(?<![\w])(?:mz|manzana|mza)\.?\s*\d{1,4}[A-Za-z]?\s*,?\s*(?:lt|lote)\.?\s*\d{1,4}[A-Za-z]?"
                    + _UNIT, re.IGNORECASE)


def all_recognizers(language: str) -> list[EntityRecognizer]:
    return [co_cedula(language), ar_dni(language), ar_cuit_recognizer(language), cl_rut_recognizer(language),
            mx_curp_recognizer(language), mx_rfc_recognizer(language), es_nif_recognizer(language),
            es_nie_recognizer(language), credit_card_recognizer(language), iban_recognizer(language),
            email_recognizer(language), url_recognizer(language), ip_recognizer(language),
            PhoneRecognizer(language), address_recognizer(language), dob_recognizer(language)]
