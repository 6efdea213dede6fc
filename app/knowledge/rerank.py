"""Second-stage reranking of the fused (dense + lexical) candidates.

RRF only sees ranks; it cannot tell that "¿cuánto dura el bótox?" is answered by the chunk whose FAQ
question or heading *is* about bótox's duration rather than by a price list that mentions bótox once.
The reranker reads each candidate's structure and scores, per section (a markdown heading or a FAQ
question line with the lines under it):

- heading match: the query's terms in the section heading (a service name, a FAQ question);
- body match: the query's terms in the section's lines;
- proximity: the most query terms that one line (with its heading) holds together;
- title match: the query's terms in the document title ("Promociones", "Políticas").

Terms are weighted like the lexical query (the customer's own words 1.0, glossary additions 0.5) and by
their rarity in the candidate pool, so the service name ("bótox") counts more than "precio", which every
price list has. The chunk's score is its best section's, plus its fused rank, so the reranker reorders
the candidates without discarding what fusion found. Pure Python over ~20 chunks: a fraction of a
millisecond per query.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence, TypeVar

from app.knowledge import glossary, lexical

RERANK_POOL = 20

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.+?)\s*$")
# A FAQ question ("**3. ¿Cuánto dura…?**") heads the answer lines below it, like a heading.
_QUESTION = re.compile(r"^\s*(?:\*\*|__)?\s*(?:\d+[.)]\s*)?(¿?[^\n]{3,200}\?)\s*(?:\*\*|__)?\s*$")
# A bold label that opens a paragraph ("**Bótox:** …") names what the line is about.
_BOLD_LEAD = re.compile(r"^\s*[-*•]?\s*\*\*([^*]{2,80}?)\*\*\s*:?")


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
    return out


@dataclass(frozen=True)
class Weights:
    """Tuned on bench/data/retrieval_questions.yaml (a coarse grid; neighbours score within 0.01-0.02).
    An extra weight for FAQ-question headings and pool-rarity (IDF) weighting of terms measured no
    gain there, so both are off; a FAQ question still counts as its section's heading."""
    fused: float = 0.5         # the candidate's fused rank, as 1 / (rank + FUSED_K)
    heading: float = 0.5       # query terms in the section heading, scaled by how much of it they are
    question: float = 0.0      # extra for a FAQ question heading
    body: float = 0.3          # query terms anywhere in the section (or its heading)
    line: float = 1.2          # proximity: the most query terms one line holds with its heading and title
    title: float = 0.3         # query terms in the document title
    idf: float = 0.0           # exponent of the pool rarity of a term (0: plain query weights)


FUSED_K = 2.0
DEFAULT_WEIGHTS = Weights()
# Words that shape a question but name nothing in the answer: "¿cuánto…?" would otherwise pick the FAQ
# questions that start with "¿Cuánto…" whatever they are about; greetings and fillers of chat.
_QUESTION_WORDS = frozenset(lexical.analyze(
    "cuanto cuanta cuantos cuantas cual cuales como donde cuando quien que puedo puede pueden hacer hago "
    "debo tengo toca sale salen vale valen cuesta cuestan cobran "
    "va van wena onda neta parce po oigan oiga vale bueno hey "
    "how much many long what which where when who can could should need", "es")) | frozenset(lexical.analyze(
    "how much many long what which where when who can could should need does", "en"))


def query_terms(query: str, language: str) -> dict[str, float]:
    """The query's analysed terms: 1.0 for the customer's own words, 0.5 for glossary additions."""
    terms = {t: 0.5 for t in lexical.analyze(glossary.expand(lexical.fold(query)), language)}
    terms.update({t: 1.0 for t in lexical.analyze(query, language)})
    return terms


def _content_terms(query: str, language: str) -> dict[str, float]:
    own = set(lexical.analyze(query, language))
    return {t: w for t, w in query_terms(query, language).items() if not (t in _QUESTION_WORDS and t in own)}


_PREFIX = 5     # "blanqueo" (blanque) and "blanqueamiento" (blanqueamient) are the same topic


class _Analyzer:
    """Analysed terms of a text, plus the query terms they match by a shared stem prefix."""

    def __init__(self, language: str, query: Iterable[str]):
        self.language = language
        self._query = [t for t in query if len(t) >= _PREFIX and not t.isdigit()]
        self._cache: dict[str, frozenset[str]] = {}

    def __call__(self, text: str) -> frozenset[str]:
        got = self._cache.get(text)
        if got is None:
            terms = set(lexical.analyze(text, self.language))
            terms |= {q for q in self._query if q not in terms and any(
                len(d) >= _PREFIX and (d.startswith(q) or q.startswith(d)) for d in terms)}
            got = self._cache[text] = frozenset(terms)
        return got


def _coverage(terms: frozenset[str], weights: dict[str, float]) -> float:
    return sum(w for t, w in weights.items() if t in terms)


def score_candidates(query: str, candidates: Sequence[Candidate], language: str,
                     weights: Weights = DEFAULT_WEIGHTS) -> list[float]:
    """One score per candidate, in the given (fused) order; higher is better."""
    q = _content_terms(query, language)
    if not q or not candidates:
        return [weights.fused / (i + FUSED_K) for i in range(len(candidates))]
    analyze = _Analyzer(language, q)
    parsed = [(analyze(c.title), [(analyze(s.heading), s.is_question, [analyze(line) for line in s.lines])
                                  for s in sections(c.content)]) for c in candidates]
    # Rarity in the pool: a term every candidate has tells them apart less than a service name does.
    n = len(candidates)
    df = {t: 0 for t in q}
    for title_terms, secs in parsed:
        present = set(title_terms)
        for h, _, lines in secs:
            present |= h
            for line in lines:
                present |= line
        for t in q:
            df[t] += t in present
    # Terms no candidate has cannot tell them apart either; they are left out of the total.
    w = {t: qw * math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) ** weights.idf for t, qw in q.items() if df[t]}
    total = sum(w.values()) or 1.0
    w = {t: v / total for t, v in w.items()}

    scores = []
    for rank, (title_terms, secs) in enumerate(parsed):
        best = 0.0
        for h, is_q, lines in secs:
            body = frozenset().union(*lines) if lines else frozenset()
            head = _coverage(h, w)
            if h:      # a heading that is all about the query ("Masaje relajante") beats one that mentions it
                head *= 0.5 + 0.5 * len(h & q.keys()) / len(h)
            s = weights.heading * head + weights.body * _coverage(body | h, w)
            if is_q:
                s += weights.question * head
            if lines:
                s += weights.line * max(_coverage(line | h | title_terms, w) for line in lines)
            best = max(best, s)
        scores.append(weights.fused / (rank + FUSED_K) + best + weights.title * _coverage(title_terms, w))
    return scores


def rerank(query: str, candidates: Sequence[C], language: str, weights: Weights = DEFAULT_WEIGHTS) -> list[C]:
    """The candidates, best first. Ties keep the fused order."""
    scores = score_candidates(query, candidates, language, weights)
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    return [candidates[i] for i in order]
