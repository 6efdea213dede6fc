"""Second-stage reranking of the fused (dense + lexical) candidates.

RRF only sees ranks; it cannot tell that "¿cuánto dura el bótox?" is answered by the chunk whose FAQ
question or heading *is* about bótox's duration rather than by a price list that mentions bótox once.
The reranker reads each candidate's structure and scores, per section (a markdown heading or a FAQ
question line with the lines under it):

- heading match: the query's concepts in the section heading (a service name, a FAQ question);
- body match: the query's concepts in the section's lines;
- proximity: the most query concepts that one line (with its heading) holds together;
- title match: the query's concepts in the document title ("Promociones", "Políticas").

The query is read as *concepts*, not words: each word the customer wrote, together with the business's
words the glossary gives for it ("botox" = bótox / toxina botulínica, "root canal" = endodoncia), counts
once, whichever of them a text uses, so a translated or slang word weighs as much as a plain one and a word
with many synonyms no more. A question also asks for a *kind* of fact (an answer type): "¿cuánto
cuesta…?" a currency amount, "¿cuánto dura…?" a span of minutes or days, "¿a qué hora…?" clock times,
"¿hasta cuándo…?" a date, "¿dónde…?" a street, "¿tienen WhatsApp?" a phone number. That kind is a concept
too, met by a line that shows such a fact, so the price line of the service beats its aftercare section.

Concepts are weighted by their rarity in the candidate pool, so the service name ("bótox") counts more than
a word every candidate has. These readings, with the candidate's fused rank, a BM25 over the pool, the FAQ
question's overlap with the customer's question and the chunk's length and position, are FEATURES; a
pairwise logistic regression learned how much each weighs (rerank_weights.json, written by
`python -m app.knowledge.rerank_training`, which also reports cross-validation on held-out question sets
and tenants). No feature names a document, tenant or chunk, so the weights carry over to a new tenant's
documents. Without the file, the hand-weighted score (Weights) ranks. Pure Python over ~20 chunks: about
two milliseconds per query.
"""
from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Protocol, Sequence, TypeVar

from app.knowledge import glossary, lexical, meaning

RERANK_POOL = 20
log = logging.getLogger(__name__)

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.+?)\s*$")
# A FAQ question ("**3. ¿Cuánto dura…?**") heads the answer lines below it, like a heading.
_QUESTION = re.compile(r"^\s*(?:\*\*|__)?\s*(?:\d+[.)]\s*)?(¿?[^\n]{3,200}\?)\s*(?:\*\*|__)?\s*$")


class Candidate(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def content(self) -> str: ...


C = TypeVar("C", bound=Candidate)


@dataclass(frozen=True)
class Section:
    heading: str           # "" for lines before the first heading of a chunk
    is_question: bool      # the heading is a FAQ question
    lines: tuple[str, ...]


def heading_of(line: str) -> tuple[str, bool] | None:
    """(heading text, is a FAQ question) when the line is a markdown heading or a FAQ question line."""
    m = _HEADING.match(line)
    if m:
        return m.group(1).strip().strip("*_ "), False
    m = _QUESTION.match(line)
    if m:
        return m.group(1).strip().strip("*_ "), True
    return None


def sections(content: str) -> list[Section]:
    return list(_sections(content))


@lru_cache(maxsize=4096)       # a chunk is read for every question it answers; Sections are immutable
def _sections(content: str) -> tuple[Section, ...]:
    out: list[Section] = []
    heading, is_q = "", False
    lines: list[str] = []
    for raw in content.split("\n"):
        line = raw.strip()
        if not line:
            continue
        h = heading_of(line)
        if h:
            if lines or heading:
                out.append(Section(heading, is_q, tuple(lines)))
            heading, is_q, lines = h[0], h[1], []
            continue
        lines.append(line)
    if lines or heading:
        out.append(Section(heading, is_q, tuple(lines)))
    return tuple(out)


# -- what a question asks for ---------------------------------------------------------------------
_MONTHS = "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
_SPAN_UNITS = r"(?:min|minutos?|minutes?|horas?|hours?|hrs?|h|dias?|days?|semanas?|weeks?|mes|meses|months?|anos?|years?)"


@dataclass(frozen=True)
class AnswerType:
    """A kind of fact: how a question asks for it (on the folded question) and how a document states it (on
    the folded text), plus the business's words for it, which count when the text names it without the fact."""
    name: str
    asks: re.Pattern
    shows: re.Pattern
    words: str
    about_business: bool = False    # "¿dónde están?", "¿a qué hora abren?": a whole question without a topic

    @property
    def term(self) -> str:
        return f"<{self.name}>"      # not a word the analyser can produce, so it never collides with one


def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern)


ANSWER_TYPES = (
    AnswerType("money",
               _rx(r"\b(cuanto (cuesta|cuestan|vale|valen|sale|salen|cobran|cobra|es|seria|me sale|me cobran|me cuesta"
                   r"|esta|estan)|a como (esta|estan|sale|salen|es|son|la|el|los|las)|en cuanto (esta|sale|queda)"
                   r"|precios?|valor|tarifas?|costos?|coste|how much|prices?|costs?|fees?|rates?)\b|\bcuanto\s*\?"
                   # "¿cuánto el masaje de pies?", "¿cuánto por la limpieza?": a price asked without its verb;
                   # "¿cuántas lucas?", "¿cuánta lana?": the region's word for money.
                   r"|\bcuanto (el|la|los|las|por|x|pa|para|un|una)\b"
                   r"|\bcuant[oa]s? (lucas|luca|plata|lana|varos|pesos|euros|dolares|mangos|guita|pelas|billete)\b"),
               _rx(r"[$€]\s?\d|\d\s?(€|(eur|euros|cop|mxn|clp|ars|usd|pesos|dolares)\b)"),
               "precio valor costo tarifa"),
    AnswerType("span",
               _rx(r"\b(cuanto (dura|duran|demora|demoran|tarda|tardan|tiempo|me dura|le dura)|cuantos (dias|minutos|"
                   r"meses|horas|semanas|anos)|how long|how many (days|minutes|hours|weeks|months|years)|duracion)\b"),
               _rx(rf"\b\d+\s?{_SPAN_UNITS}\b|\b(una|un|dos|tres) {_SPAN_UNITS}\b"),
               "duración tiempo"),
    AnswerType("clock",
               _rx(r"\b((a|hasta|desde|de) que hora|horarios?|abren|abris|cierran|cerrais|open|opens|opening|close"
                   r"|closes|closing|what time|till|until what|latest|ultima (cita|hora|entrada)|sabados?|domingos?"
                   r"|feriados?|festivos?|saturdays?|sundays?|weekends?)\b"),
               _rx(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?(a\. ?m|p\. ?m|am|pm|h)\b"),
               "horario hora", about_business=True),
    AnswerType("date",
               _rx(r"\b(hasta cuando|desde cuando|hasta que (dia|fecha)|vigencia|vigente|vence|vencen|caduca|until when"
                   r"|expire|expires|valid|ends?)\b"),
               _rx(rf"\b\d{{1,2}} de ({_MONTHS})\b"),
               "vigencia fecha"),
    AnswerType("place",
               _rx(r"\b(donde|direccion|ubicad[oa]s?|ubicacion|calle|address|where|street|located|location|piso"
                   r"|planta|floor)\b"),
               # "Torre 2, piso 3", "Calle 10 # 4-20", and the floor in Spain's "Serrano 85, 2º" (folded "2o").
               _rx(r"\b(calle|carrera|avenida|av|calzada|paseo|plaza|piso|local|torre)\b.{0,30}\d|#\s?\d"
                   r"|\b\d{1,2}o\b|\b(primera|segunda|tercera|cuarta|quinta) planta\b|\bplanta (baja|\d)"),
               "dirección ubicación", about_business=True),
    # "¿cada cuánto…?", "¿cuántas sesiones…?": a count of sessions or a period between them.
    AnswerType("frequency",
               _rx(r"\b(cada cuanto|cada cuantos|cada cuantas|cuantas (veces|sesiones|aplicaciones|citas|visitas)"
                   r"|how often|how many (times|sessions|visits|treatments)|frecuencia)\b"),
               _rx(rf"\bcada \d|\bcada (una|un|dos|tres|cuatro|seis) |\b\d+ (a|y) \d+ {_SPAN_UNITS}\b"
                   r"|\b\d+ (a \d+ )?(sesiones|veces|aplicaciones)\b|\bentre \d+ y \d+ sesiones\b"),
               "sesiones frecuencia"),
    # "¿quién me atiende?": a professional named by title or role.
    AnswerType("person",
               _rx(r"\b(quien|quienes|who|whom)\b"),
               _rx(r"\b(dr|dra|doctor|doctora|medicos?|medicas?|especialistas?|odontolog[oa]s?|dentistas?"
                   r"|enfermer[oa]s?|enfermeria|terapeutas?|cosmetolog[oa]s?|profesionales?|equipo)\b"),
               "médico especialista profesional"),
    AnswerType("contact",
               _rx(r"\b(telefono|whatsapp|whats|wsp|numero|celular|llamar|llamo|correo|email|e-mail|mail|phone"
                   r"|number|call|contact)\b"),
               _rx(r"\+\d{2}|\(\d{2,4}\)\s?\d|\S@\S"),
               "contacto teléfono", about_business=True),
)


@dataclass(frozen=True)
class Concept:
    """One thing the question names: any of `alt` expresses it; all of `own` (the customer's own words, or
    the answer type's marker) expresses it fully."""
    own: frozenset[str]
    alt: frozenset[str]
    weight: float


@dataclass(frozen=True)
class Weights:
    """Tuned on bench/data/retrieval_questions.yaml and retrieval_blind1.yaml (a coarse grid; neighbours
    score within 0.01-0.02)."""
    fused: float = 0.5         # the candidate's fused rank, as 1 / (rank + FUSED_K)
    heading: float = 0.5       # query concepts in the section heading, scaled by how much of it they are
    body: float = 0.3          # query concepts anywhere in the section (or its heading)
    line: float = 1.2          # proximity: the most query concepts one line holds with its heading and title
    title: float = 0.3         # query concepts in the document title
    idf: float = 0.0           # exponent of the pool rarity of a concept (0: plain concept weights)
    alt: float = 0.8           # a concept met by the business's word rather than the customer's
    intent: float = 0.5        # a concept the customer only asked with question words ("cuesta" -> precio)
    answer: float = 1.0        # the answer type the question asks for


FUSED_K = 2.0
DEFAULT_WEIGHTS = Weights()
# Spelling alternations of a verb's stem the stemmer keeps apart: "arrancar" / "no arranques" (c / qu),
# "pagar" / "no pagues" (g / gu). Read both alike (here only: the lexical index keeps its terms).
_ORTHO = ((re.compile(r"qu$"), "c"), (re.compile(r"gu$"), "g"))
_VOSOTROS = ("ais", "eis")
# The stem vowel of a verb or noun that diphthongises under stress ("contar" / "cuenta", "perder" / "pierde",
# "costo" / "cuesta"): read the diphthong as the plain vowel, so the forms meet. Not the silent u of "que",
# "gue" ("pague"), which is no diphthong.
_DIPHTHONG = re.compile(r"([^qg]|^)(ue|ie)")


@lru_cache(maxsize=lexical.ANALYSIS_CACHE)
def _analyze(text: str, language: str) -> tuple[str, ...]:
    """lexical.analyze, with the spelling alternations above read alike, and the "vosotros" ending of a
    folded verb ("cobrais" from "cobráis") taken off as the stemmer does for the other persons."""
    out = []
    for t in lexical.analyze_cached(text, language):
        if len(t) >= 6 and t.endswith(_VOSOTROS):     # Spain's "cobráis", "podéis" fold to what the stemmer keeps
            t = t[:-3]
        if "u" in t:
            for rx, repl in _ORTHO:
                t = rx.sub(repl, t)
        if "ue" in t or "ie" in t:        # "cuesta" / "costo", "pierdo" / "perder", "descuenta" / "descontáis"
            t = _DIPHTHONG.sub(lambda m: m.group(1) + ("o" if m.group(2) == "ue" else "e"), t)
        out.append(t)
    return tuple(out)


def analyze(text: str, language: str) -> list[str]:
    return list(_analyze(text, language))
# Words that shape a question but name nothing in the answer: "¿cuánto…?" would otherwise pick the FAQ
# questions that start with "¿Cuánto…" whatever they are about; greetings and fillers of chat.
_QUESTION_WORDS = frozenset(analyze(
    "cuanto cuanta cuantos cuantas cual cuales como donde cuando quien que puedo puede pueden hacer hago "
    "debo tengo toca sale salen vale valen cuesta cuestan cobran "
    "va van wena onda neta parce po oigan oiga vale bueno hey "
    "how much many long what which where when who can could should need", "es")) | frozenset(analyze(
    "how much many long what which where when who can could should need does", "en")) | frozenset(
    # English fillers a tourist's question carries (read with the tenant's stemmer, as the question is).
    t for lang in ("es", "en") for t in analyze(
        "get gets got getting while anything something any some still usually really just also too guys "
        "okay ok thanks hi hello there here one", lang))


def query_terms(query: str, language: str) -> dict[str, float]:
    """The query's analysed terms: 1.0 for the customer's own words, 0.5 for glossary additions."""
    terms = {t: 0.5 for t in analyze(glossary.expand(lexical.fold(query)), language)}
    terms.update({t: 1.0 for t in analyze(query, language)})
    return terms


def answer_types(query: str) -> list[AnswerType]:
    """The kinds of fact the question asks for ("cuánto cuesta y cuánto dura": money and span)."""
    folded = lexical.fold(query)
    return [a for a in ANSWER_TYPES if a.asks.search(folded)]


def concepts(query: str, language: str, weights: Weights = DEFAULT_WEIGHTS) -> list[Concept]:
    """The query as concepts: each glossary entry it holds (its words with the business's words), each
    other content word, and each answer type it asks for."""
    out: list[Concept] = []
    claimed: set[str] = set()
    types = answer_types(query)
    for source, expansion, is_phrase in glossary.matches(lexical.fold(query)):
        words = frozenset(analyze(source, language))
        if not is_phrase and words <= claimed:
            continue                      # "hora" inside "una hora": the phrase already says it
        claimed |= words
        alt = frozenset(analyze(expansion, language))
        if words <= _QUESTION_WORDS:      # "cuesta" -> precio: the question's shape, not its topic
            if not types and all(c.alt != alt for c in out):     # an answer type says it better
                out.append(Concept(frozenset(), alt, weights.intent))
            continue
        # A phrase is met fully only as a whole ("una hora", not any "hora"); a word by itself.
        own = frozenset({_phrase_term(source)}) if is_phrase else words
        out.append(Concept(own, alt | own, 1.0))
    for t in dict.fromkeys(analyze(query, language)):
        if t not in claimed and t not in _QUESTION_WORDS:
            out.append(Concept(frozenset({t}), frozenset({t}), 1.0))
    for a in types:
        out.append(Concept(frozenset({a.term}), frozenset(analyze(a.words, language)) | {a.term},
                           weights.answer))
    return out


def _phrase_term(folded_phrase: str) -> str:
    return f"<{folded_phrase}>"


_PREFIX = 5     # "blanqueo" (blanque) and "blanqueamiento" (blanqueamient) are the same topic


@lru_cache(maxsize=lexical.ANALYSIS_CACHE)
def _read(text: str, language: str) -> tuple[frozenset[str], frozenset[str], str]:
    """What a text gives every query (cached: the same chunk lines come back question after question): its
    analysed terms, every prefix of _PREFIX letters or more of its long terms, and its folded form."""
    terms = frozenset(_analyze(text, language))
    prefixes = frozenset(d[:i] for d in terms if len(d) >= _PREFIX for i in range(_PREFIX, len(d) + 1))
    return terms, prefixes, lexical.fold(text)


class _Analyzer:
    """Analysed terms of a text, plus the query terms they match by a shared stem prefix, plus the marker
    of each asked answer type the text shows."""

    def __init__(self, language: str, query: Iterable[str], types: Sequence[AnswerType]):
        self.language = language
        query = list(query)
        self._query = [t for t in query if len(t) >= _PREFIX and not t.isdigit() and not t.startswith("<")]
        self._phrases = [(t, re.compile(rf"\b{re.escape(t[1:-1])}\b")) for t in query
                         if t.startswith("<") and t[1:-1] not in {a.name for a in types}]
        self._types = types
        self._cache: dict[str, frozenset[str]] = {}

    def __call__(self, text: str) -> frozenset[str]:
        got = self._cache.get(text)
        if got is None:
            terms, prefixes, folded = _read(text, self.language)
            # A query term q matches a text term d (both of _PREFIX letters or more) when one starts with the
            # other: q is a prefix of some d, or some d is a prefix q[:i] of q.
            extra = {q for q in self._query if q not in terms and (
                q in prefixes or any(q[:i] in terms for i in range(_PREFIX, len(q))))}
            if extra:
                terms = terms | extra
            if self._types or self._phrases:
                marks = {a.term for a in self._types if a.shows.search(folded)}
                marks |= {t for t, rx in self._phrases if rx.search(folded)}
                if marks:
                    terms = terms | marks
            got = self._cache[text] = terms
        return got


class QueryModel:
    """A query read as concepts, with the analyser that reads texts against it (shared by the reranker and
    the retrieval-only answer, which picks lines the same way the reranker picks chunks)."""

    def __init__(self, query: str, language: str, weights: Weights = DEFAULT_WEIGHTS):
        self.concepts = concepts(query, language, weights)
        self.vocabulary = frozenset(t for c in self.concepts for t in c.alt)
        self.types = answer_types(query)
        self.terms = _Analyzer(language, self.vocabulary, self.types)
        self.alt = weights.alt

    def met(self, terms: frozenset[str]) -> list[float]:
        """How well the terms express each concept: 1 (the customer's word or the asked kind of fact), alt (the
        business's word for it) or 0."""
        return [1.0 if c.own and c.own <= terms else self.alt if not c.alt.isdisjoint(terms) else 0.0
                for c in self.concepts]


# -- features of a (question, candidate) pair, for the learned scorer ---------------------------------
# Every feature is about how the question meets the candidate's structure or the candidate's place in the
# pool, never about which document, tenant or chunk it is, so weights learned on some tenants' questions
# carry over to another tenant's documents.
FEATURES = (
    "fused",          # 1 / (fused rank + FUSED_K)
    "fused_top",      # fused rank 0
    "hand",           # the hand-weighted structural score (heading + body + proximity + title, Weights)
    "heading",        # query concepts in the best section's heading, scaled by how much of it they are
    "body",           # query concepts anywhere in the best section
    "line",           # the most query concepts one line holds with its heading and title
    "line_idf",       # as line, concepts weighted by their rarity in the pool
    "title",          # query concepts in the document title
    "chunk",          # query concepts anywhere in the chunk
    "chunk_idf",      # as chunk, rarity-weighted
    "own",            # share of the concepts met in the customer's own words (not only the business's)
    "kind_line",      # the best topical line also shows the asked kind of fact (price, duration...)
    "kind_chunk",     # the chunk shows every asked kind of fact
    "faq",            # the best section is a FAQ question
    "faq_match",      # the most of the question's own words, question words included, a FAQ question shares
    "bm25",           # BM25 of the query over the pool (pool IDF), over the pool's best
    "first",          # the first chunk of its document
    "length",         # log of the chunk's length in terms
    "meaning",        # the multilingual sentence encoder's best cosine of the question with the chunk or one of its
                      # sections, heading and lines (app/knowledge/meaning.py)
)


def question_overlap(asked: frozenset[str], faq_question: str, language: str) -> float:
    """How much of one question a FAQ question is, question words included ("¿cuánto dura…?" against
    "¿Cuánto dura el efecto…?"): the Jaccard overlap of their analysed terms; `asked` is the customer's
    question's (frozenset(analyze(question))."""
    said = frozenset(_analyze(faq_question, language))
    return len(asked & said) / len(asked | said) if asked or said else 0.0


def _pool_bm25(query: str, candidates: Sequence[Candidate], language: str) -> list[float]:
    q = query_terms(query, language)
    docs = [Counter(_analyze(f"{c.title}\n{c.content}", language)) for c in candidates]
    n = len(docs)
    avg = sum(sum(d.values()) for d in docs) / n or 1.0
    idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t in q for d in [sum(t in doc for doc in docs)]}
    out = []
    for doc in docs:
        norm = lexical.K1 * (1 - lexical.B + lexical.B * sum(doc.values()) / avg)
        out.append(sum(w * idf[t] * doc[t] * (lexical.K1 + 1) / (doc[t] + norm) for t, w in q.items() if doc[t]))
    top = max(out) or 1.0
    return [v / top for v in out]


def _meaning(query: str, candidates: Sequence[Candidate], read: Sequence[Sequence[Section]]) -> list[float]:
    """The encoder's best cosine of the question with each chunk or one of its sections; zeros when the
    encoder is not installed (the same for every candidate, so it leaves their order to the other features).
    A section alone weighs too: a chunk holds several, and a sentence encoder averages what it reads."""
    texts = [f"{c.title}\n{c.content}" for c in candidates]
    owners: list[int] = []
    for i, secs in enumerate(read):
        for sec in secs:
            texts.append("\n".join((sec.heading, *sec.lines)).strip())
            owners.append(i)
    cos = meaning.similarities(query, texts)
    n = len(candidates)
    if cos is None:
        return [0.0] * n
    best = list(cos[:n])
    for i, value in zip(owners, cos[n:], strict=True):
        best[i] = max(best[i], value)
    return best


def candidate_features(query: str, candidates: Sequence[Candidate], language: str,
                       weights: Weights = DEFAULT_WEIGHTS, model: QueryModel | None = None) -> list[list[float]]:
    """One row of FEATURES per candidate, in the given (fused) order."""
    model = model or QueryModel(query, language, weights)
    n = len(candidates)
    if not n:
        return []
    analyze, vocabulary = model.terms, model.vocabulary
    read = [sections(c.content) for c in candidates]
    parsed = [(analyze(c.title), [(analyze(s.heading), s.is_question, [analyze(line) for line in s.lines])
                                  for s in secs]) for c, secs in zip(candidates, read, strict=True)]
    presents = [frozenset(title_terms).union(*(h.union(*lines) for h, _, lines in secs))
                for title_terms, secs in parsed]
    # Rarity in the pool: a concept every candidate has tells them apart less than a service name does.
    df = [sum(not c.alt.isdisjoint(p) for p in presents) for c in model.concepts]

    def normalised(raw: list[float]) -> list[float]:
        total = sum(raw) or 1.0
        return [v / total for v in raw]
    # Concepts no candidate has cannot tell them apart either; they get no weight and leave the total.
    w = normalised([c.weight * math.log(1 + (n - d + 0.5) / (d + 0.5)) ** weights.idf if d else 0.0
                    for c, d in zip(model.concepts, df, strict=True)])
    w_idf = normalised([c.weight * math.log(1 + (n - d + 0.5) / (d + 0.5)) if d else 0.0
                        for c, d in zip(model.concepts, df, strict=True)])
    kinds = frozenset(a.term for a in model.types)
    is_kind = [bool(c.own) and c.own <= kinds for c in model.concepts]
    w_topic = normalised([0.0 if k else v for v, k in zip(w, is_kind, strict=True)])

    def coverage(met: list[float], by: list[float]) -> float:
        return sum(v * m for v, m in zip(by, met, strict=True))

    asked = frozenset(_analyze(query, language))
    bm25 = _pool_bm25(query, candidates, language)
    meaning_best = _meaning(query, candidates, read)
    rows = []
    for rank, ((title_terms, secs), present, cand, cand_sections) in enumerate(
            zip(parsed, presents, candidates, read, strict=True)):
        title = coverage(model.met(title_terms), w)
        best, head_best, body_best, faq_best = -1.0, 0.0, 0.0, False
        line_best = line_idf = kind_line = faq_match = 0.0
        for (h, is_q, lines), sec in zip(secs, cand_sections, strict=True):
            if is_q:
                faq_match = max(faq_match, question_overlap(asked, sec.heading, language))
            body = frozenset().union(*lines) if lines else frozenset()
            head = coverage(model.met(h), w)
            if h:      # a heading that is all about the query ("Masaje relajante") beats one that mentions it
                head *= 0.5 + 0.5 * len(h & vocabulary) / len(h)
            body_cov = coverage(model.met(body | h), w)
            line_cov = 0.0
            for line in lines:
                met = model.met(line | h | title_terms)
                line_cov = max(line_cov, coverage(met, w))
                line_idf = max(line_idf, coverage(met, w_idf))
                if kinds and kinds <= line:
                    kind_line = max(kind_line, coverage(met, w_topic))
            s = weights.heading * head + weights.body * body_cov + weights.line * line_cov
            if s > best:
                best, head_best, body_best, faq_best = s, head, body_cov, is_q
            line_best = max(line_best, line_cov)
        met_all = model.met(present)
        met_any = sum(m > 0 for m in met_all)
        row = {"fused": 1 / (rank + FUSED_K), "fused_top": float(rank == 0),
               "hand": max(best, 0.0) + weights.title * title, "heading": head_best, "body": body_best,
               "line": line_best, "line_idf": line_idf, "title": title, "chunk": coverage(met_all, w),
               "chunk_idf": coverage(met_all, w_idf),
               "own": sum(m == 1.0 for m in met_all) / met_any if met_any else 0.0,
               "kind_line": kind_line, "kind_chunk": float(bool(kinds) and kinds <= present),
               "faq": float(faq_best), "faq_match": faq_match, "bm25": bm25[rank],
               "first": float(getattr(cand, "chunk_index", 1) == 0),
               "length": math.log1p(len(_analyze(cand.content, language))),
               "meaning": meaning_best[rank]}
        rows.append([row[f] for f in FEATURES])
    return rows


WEIGHTS_FILE = Path(__file__).with_name("rerank_weights.json")


def load_learned(path: Path = WEIGHTS_FILE) -> tuple[float, ...] | None:
    """The learned weights of FEATURES (app/knowledge/rerank_training.py), or None when the file is missing
    or was trained on other features (then the hand-weighted score ranks, as before the file existed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:        # unreadable or not JSON: rank as before, do not fail the start
        log.warning("reranker weights in %s unreadable (%s); using the hand-weighted score", path, exc)
        return None
    if not isinstance(data, dict) or data.get("features") != list(FEATURES) or len(data.get("weights", ())) != len(FEATURES):
        log.warning("reranker weights in %s do not match the features; using the hand-weighted score", path)
        return None
    return tuple(float(w) for w in data["weights"])


LEARNED = load_learned()


def score_candidates(query: str, candidates: Sequence[Candidate], language: str,
                     weights: Weights = DEFAULT_WEIGHTS, learned: bool = True) -> list[float]:
    """One score per candidate, in the given (fused) order; higher is better. The learned weights when
    there are (and `learned`), else the hand-weighted structural score plus the fused rank."""
    model = QueryModel(query, language, weights)
    if not model.concepts or not candidates:      # nothing to read the candidates by: the fused order
        return [weights.fused / (i + FUSED_K) for i in range(len(candidates))]
    rows = candidate_features(query, candidates, language, weights, model)
    if learned and LEARNED is not None:
        return [sum(w * f for w, f in zip(LEARNED, r, strict=True)) for r in rows]
    fused, hand = FEATURES.index("fused"), FEATURES.index("hand")
    return [weights.fused * r[fused] + r[hand] for r in rows]


def rerank(query: str, candidates: Sequence[C], language: str, weights: Weights = DEFAULT_WEIGHTS) -> list[C]:
    """The candidates, best first. Ties keep the fused order."""
    scores = score_candidates(query, candidates, language, weights)
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    return [candidates[i] for i in order]
