"""The lexical side of hybrid retrieval: Spanish/English analysis into a BM25-style sparse vector.

Qdrant applies the IDF part (the collection's sparse vector uses Modifier.IDF); we send the
saturated term frequency for documents and 1.0 per distinct term for queries.
"""
from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from functools import lru_cache

import snowballstemmer

from app.knowledge import glossary

# Folded (no accents) so they match whatever the user typed.
_STOPWORDS_ES = """
a al algo algun alguna algunas alguno algunos ante antes asi aun aunque bajo bien cada casi como con
contra cual cuales cuando de del desde donde dos e el ella ellas ello ellos en entre era eran es esa esas
ese eso esos esta estaba estan estar estas este esto estos fue fueron ha habia han hasta hay la las le
les lo los mas me mi mis mucho muy nada ni no nos nosotros o os otra otras otro otros para pero poco por
porque que quien quienes se sea ser si sido sin sobre sois somos son su sus tambien tan te tenia tiene
tienen ti tu tus u un una unas uno unos usted ustedes vos vosotros y ya yo hola buenas buenos dias tardes
noches gracias porfa favor quiero queria quisiera saber pues po oye parce cachai
""".split()
_STOPWORDS_EN = """
a an and are as at be been but by can could do does for from had has have hello hi how i if in into is
it its me my no not of on or our please so than that the their them then there these they this to us
was we were what when where which who why will with would you your
""".split()
STOPWORDS = frozenset(_STOPWORDS_ES) | frozenset(_STOPWORDS_EN)

_THOUSANDS = re.compile(r"(?<=\d)[.,](?=\d{3}(?!\d))")   # 850.000 / 1,200 -> 850000 / 1200
_TOKEN = re.compile(r"[a-z0-9]+")
_STEMMER_LANG = {"es": "spanish", "en": "english"}

# BM25 document-side parameters; avg length is in analysed tokens of one chunk.
K1, B, AVG_LEN = 1.2, 0.75, 60.0


# Analysed texts are kept per process: a turn analyses its question several times (lexical vector, reranker,
# answer, booking slots) and the reranker and the answer read the same chunk lines for every question about
# them. Bounded: an entry is a short text (a question, a line, a heading) and its terms, a few hundred bytes.
ANALYSIS_CACHE = 16_384


def fold(text: str) -> str:
    """Lowercase and strip accents ("Depilación" -> "depilacion"); ñ becomes n."""
    if text.isascii():
        return text.lower()          # NFKD leaves ASCII as it is: nothing to strip
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=4)
def _stemmer(language: str):
    return snowballstemmer.stemmer(_STEMMER_LANG.get(language, "spanish"))


@lru_cache(maxsize=50_000)
def _stem(word: str, language: str) -> str:
    return _stemmer(language).stemWord(word)


def _analyze(text: str, language: str) -> tuple[str, ...]:
    folded = fold(_THOUSANDS.sub("", text))
    return tuple(_stem(w, language) for w in _TOKEN.findall(folded)
                 if w not in STOPWORDS and (len(w) > 1 or w.isdigit()))


# analyze() as a shared, immutable tuple, for callers that only read it.
analyze_cached = lru_cache(maxsize=ANALYSIS_CACHE)(_analyze)


def analyze(text: str, language: str) -> list[str]:
    """Fold accents, drop stopwords, stem. Folding first keeps "depilacion" and "depilación" equal."""
    return list(analyze_cached(text, language))


def _index(term: str) -> int:
    return zlib.crc32(term.encode())          # stable across processes, fits Qdrant's u32 indices


def document_vector(text: str, language: str) -> tuple[list[int], list[float]]:
    terms = _analyze(text, language)        # a whole chunk, read once at ingestion: not worth a cache entry
    counts = Counter(terms)
    length_norm = 1 - B + B * (len(terms) / AVG_LEN)
    merged: dict[int, float] = {}
    for term, tf in counts.items():
        idx = _index(term)
        merged[idx] = merged.get(idx, 0.0) + tf * (K1 + 1) / (tf + K1 * length_norm)
    return list(merged), list(merged.values())


def query_vector(text: str, language: str, expand: bool = True) -> tuple[list[int], list[float]]:
    """1.0 for each of the customer's own terms; 0.5 for terms the glossary adds, so they help find
    the business's wording without outweighing what the customer actually wrote."""
    weights: dict[int, float] = {}
    if expand:
        for term in analyze(glossary.expand(fold(text)), language):
            weights[_index(term)] = 0.5
    for term in analyze(text, language):
        weights[_index(term)] = 1.0
    indices = sorted(weights)
    return indices, [weights[i] for i in indices]
