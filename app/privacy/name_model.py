"""A learned check on person-name candidates: is this span a person's name?

The rules of `names.PersonRecognizer` fit the sets they were tuned on, and on every new set spaCy's name model
still reads capitalized non-names as people (brands, products, places, a sentence's first word) while lowercase
names and pet forms slip through. This model weighs each candidate by what stands in and around it:

- candidates: every PERSON span the rules found (with the rules that found it), and every word no detector
  claimed that is capitalized or is a given name in lowercase ("la coni", "soy mili");
- features (`features`): the rules that found it, spaCy's PER, the word's shape and case, the name dictionaries
  it is in, the words before and after it, where it stands (sentence, line, last line), the language;
- a logistic regression over those features, trained by `python -m app.privacy.name_model_training` on the
  labeled sets and stored as named weights in data/name_model.json (JSON, no pickle).

`decide` keeps a rule's span unless the model gives it a low probability (a strong cue, "me llamo …", is never
vetoed), and adds an unclaimed word the model is sure of. Without the weights file (or with a malformed one),
`current()` is None and the rules alone decide, as before.
"""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from app.privacy import names
from app.privacy.names import fold
from app.privacy.placeholder_syntax import PLACEHOLDER

MODEL_PATH = Path(__file__).resolve().parent / "data" / "name_model.json"
FORMAT = "misybot-name-model/1"
# What an added word scores: above the analyzer's threshold (0.5), below every rule, so a rule's span wins an overlap.
ADDED_SCORE = 0.55
STRONG_SCORE = 0.9          # "me llamo", "a nombre de", "titular:": never vetoed

EXTRA_CAPITALIZED = "token_cap"     # the source of an unclaimed capitalized word
EXTRA_LOWERCASE = "token_name"      # the source of an unclaimed lowercase word that is a given name or pet form


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    score: float                    # the rule's score; 0 for an unclaimed word
    sources: tuple[str, ...]        # the rules that found it, or EXTRA_CAPITALIZED / EXTRA_LOWERCASE

    @property
    def from_rules(self) -> bool:
        return self.score > 0


# ------------------------------------------------------------------------------------------------ candidates

def candidates(text: str, person_spans: Iterable[tuple[int, int, float, tuple[str, ...]]],
               claimed: Iterable[tuple[int, int]], may_be_a_person: Callable[[str, int, int], bool]) -> list[Candidate]:
    """The rules' PERSON spans, then what no detector claimed (`claimed`: spans of any type): each run of
    capitalized words ("Abril Castaño", "Bahía Blanca": a run is judged whole, as spaCy's spans are) and each
    given name in lowercase, unless a rule of place or product rules it out."""
    out = [Candidate(s, e, score, sources) for s, e, score, sources in person_spans]
    taken = sorted([(c.start, c.end) for c in out] + list(claimed))
    taken += [m.span() for m in PLACEHOLDER.finditer(text)]
    run: list[tuple[int, int]] = []
    last_end = 0                                # where the run's last word, a linker included, ends

    def close_run() -> None:
        if run and may_be_a_person(text, run[0][0], run[-1][1]):
            out.append(Candidate(run[0][0], run[-1][1], 0.0, (EXTRA_CAPITALIZED,)))
        run.clear()

    for m in names._WORD_RE.finditer(text):
        s, e = m.span()
        w = m.group()
        f = fold(w)
        if run and not (re.fullmatch(r"[ \t]+", text[last_end:s]) and (w[0].isupper() or f in names._NAME_LINKERS)):
            close_run()
        last_end = e
        if len(w) < 2 or any(ts < e and s < te for ts, te in taken) or names._GLUED.match(text, e) or (
                s > 0 and text[s - 1] in "@._/\\#&=%$0123456789"):
            close_run()                         # claimed, or part of an e-mail, a URL, a code
            continue
        if w[0].isupper():
            run.append((s, e))
        elif run and f in names._NAME_LINKERS:
            continue                            # "Pedro de Valdivia": the run goes on after "de"
        else:
            close_run()
            if (f in names.KNOWN_NAMES or f in names._BROAD_NAMES) and f not in names._STOP and may_be_a_person(text, s, e):
                out.append(Candidate(s, e, 0.0, (EXTRA_LOWERCASE,)))
    close_run()
    return out


# ------------------------------------------------------------------------------------------------ features

_GREETINGS = {fold(w) for w in """hola holaa holi buenas buenos buen hi hello hey ey oye gracias thanks thank saludos
att atte atentamente cordialmente regards cheers besos abrazos bendiciones xoxo thx ty grax chao chau bye dear
querida querido estimada estimado estimados""".split()}
_BUSINESS = ({fold(w) for w in """clinica clinic spa calle avenida av centro center hotel restaurante restaurant tienda
store shop farmacia studio estudio salon salón hospital mall plaza parque park street avenue road metro estacion
station sucursal sede local edificio torre tower barrio colonia comuna boulevard bulevar plan paquete promo kit
crema serum aceite line linea brand marca producto product""".split()}
             | names.ORG_WORDS | names.COMPANY_WORDS)
_TRAVEL = {"en", "de", "desde", "hasta", "a", "hacia", "por", "in", "at", "from", "to", "near", "on"}


@functools.lru_cache(maxsize=65536)
def _word_classes(f: str) -> tuple[str, ...]:
    """The dictionaries a folded word is in."""
    out = []
    for name, vocab in (("first", names.FIRST_NAMES), ("nick", names.NICKNAMES), ("broad", names._BROAD_NAMES),
                        ("sur", names.SURNAMES), ("nonname", names.NON_NAMES), ("stop", names._STOP),
                        ("place", names.PLACE_WORDS), ("org", names.ORG_WORDS), ("company", names.COMPANY_WORDS),
                        ("title", names.TITLE_WORDS), ("demonym", names.DEMONYMS), ("calendar", names._CALENDAR),
                        ("predicate", names._PREDICATE_WORDS), ("greet", _GREETINGS), ("business", _BUSINESS)):
        if f in vocab:
            out.append(name)
    if not out:
        out.append("none")
    return tuple(out)


def _shape(w: str) -> str:
    if w.isupper():
        return "X" if len(w) > 1 else "x1"
    if w[0].isupper():
        return "Xx" if w[1:].islower() else "XxX"
    return "x" if w.islower() else "xX"


_SENTENCE_END = ".!?¿¡:"


def _gap_kind(gap: str) -> str:
    if "\n" in gap:
        return "nl"
    g = gap.strip()
    if not g:
        return "sp"
    if g[-1] in ".!?":
        return "end"
    if g[-1] in "¿¡":
        return "open"
    if g[-1] in ",;":
        return "comma"
    if g[-1] in ":":
        return "colon"
    if g[-1] in "-–—":
        return "dash"
    if g[-1] in "([\"'“«":
        return "quote"
    return "other"


def features(text: str, language: str, cand: Candidate, ner_spans: list[tuple[int, int]],
             ner_ran: bool) -> dict[str, float]:
    """What the model reads of one candidate. Names of features, value 1 unless said."""
    s, e = cand.start, cand.end
    words = [m.group() for m in names._WORD_RE.finditer(text, s, e)] or [text[s:e]]
    f0, fl = fold(words[0]), fold(words[-1])
    x: dict[str, float] = {f"lang={language}": 1}
    for src in cand.sources:
        x[f"src={src}"] = 1
    x["rule" if cand.from_rules else "extra"] = 1
    if ner_ran:
        ner = [(a, b) for a, b in ner_spans if a < e and s < b]
        x["ner_ran"] = 1
        if ner:
            x["ner"] = 1
            if any(a == s and b == e for a, b in ner):
                x["ner_exact"] = 1
            x[f"ner_len={min(3, max(len(text[a:b].split()) for a, b in ner))}"] = 1
    n = len(words)
    x[f"nw={min(n, 4)}"] = 1
    x[f"shape0={_shape(words[0])}"] = 1
    x[f"shapes={'_'.join(_shape(w) for w in words[:3])}"] = 1
    for c in _word_classes(f0):
        x[f"w0_{c}"] = 1
    if n > 1:
        for c in _word_classes(fl):
            x[f"wl_{c}"] = 1
        real = [fold(w) for w in words if fold(w) not in names._NAME_LINKERS]
        if real and all(f in names._BROAD_NAMES or f in names.SURNAMES for f in real):
            x["all_namelike"] = 1
    if names.known_spelling(words[0]):
        x["w0_spelling"] = 1
    x[f"len0={min(len(f0), 8)}"] = 1
    x[f"suf0={f0[-2:]}"] = 1
    x[f"w0={f0}"] = 1
    if any(c in text[s:e] for c in "áéíóúñÁÉÍÓÚÑ"):
        x["accent"] = 1

    # the words before and after, and what separates them
    before = list(names._WORD_RE.finditer(text, max(0, s - 40), s))
    after = names._WORD_RE.search(text, e, min(len(text), e + 40))
    gap_before = text[before[-1].end():s] if before else text[max(0, s - 40):s]
    gap_after = text[e:after.start()] if after else text[e:e + 40]
    x[f"gb={_gap_kind(gap_before) if before or text[:s].strip() else 'start'}"] = 1
    x[f"ga={_gap_kind(gap_after) if after or text[e:].strip() else 'end'}"] = 1
    if not text[e:].strip(" \t.!?,;:)🙂😊❤️🙏"):
        x["msg_end"] = 1
    if before:
        p1 = before[-1].group()
        fp1 = fold(p1)
        x[f"p1={fp1}"] = 1
        for c in _word_classes(fp1):
            x[f"p1_{c}"] = 1
        if p1[0].isupper() and "\n" not in gap_before and not gap_before.strip():
            x["p1_cap_adjacent"] = 1
        if fp1 in _TRAVEL:
            x["p1_travel"] = 1
        if len(before) > 1:
            x[f"p2={fold(before[-2].group())}_{fp1}"] = 1
    else:
        x["p1=<none>"] = 1
    if after:
        n1 = after.group()
        fn1 = fold(n1)
        x[f"n1={fn1}"] = 1
        for c in _word_classes(fn1):
            x[f"n1_{c}"] = 1
        if n1[0].isupper() and not gap_after.strip() and "\n" not in gap_after:
            x["n1_cap_adjacent"] = 1
        if n1[0].isdigit():
            x["n1_digit"] = 1
    if re.match(r"[ \t]*[,:;/\-–—]?[ \t]*(?:\+?\d|[\w.+-]+@)", text[e:e + 12]):
        x["contact_after"] = 1

    # where it stands
    line_start = text.rfind("\n", 0, s) + 1
    line_end = text.find("\n", e)
    line_end = len(text) if line_end < 0 else line_end
    head = text[line_start:s]
    if not text[:s].strip():
        x["text_start"] = 1
    elif not head.strip(" \t-–—*•>"):
        x["line_start"] = 1
    elif head.rstrip()[-1:] in _SENTENCE_END:
        x["sentence_start"] = 1
    if not re.search(r"\w", head) and not re.search(r"\w", text[e:line_end]):
        x["alone_on_line"] = 1
    if line_start > 0 and "\n" not in text[e:].strip():
        x["last_line"] = 1
    # pairs a linear model cannot make of their parts: "soy" before a lowercase word, "Hola" before a pause
    shape0 = _shape(words[0])
    p1 = fold(before[-1].group()) if before else "<none>"
    n1 = fold(after.group()) if after else "<none>"
    ga = next((k for k in x if k.startswith("ga=")), "ga=")
    x[f"p1|shape={p1}|{shape0}"] = 1
    x[f"p1|ga={p1}|{ga[3:]}"] = 1
    x[f"n1|shape={n1}|{shape0}"] = 1
    for c in _word_classes(f0):
        x[f"w0_{c}|p1={p1}"] = 1
    caps = [w for w in names._WORD_RE.findall(text) if len(w) > 1]
    if caps:
        ratio = sum(1 for w in caps if w[0].isupper()) / len(caps)
        x[f"caps_ratio={min(4, int(ratio * 5))}"] = 1
    x[f"msg_len={min(4, len(caps) // 8)}"] = 1
    return x


# ------------------------------------------------------------------------------------------------ the model

@dataclass(frozen=True)
class NameModel:
    weights: dict[str, float]
    bias: float
    veto_below: float             # a rule's span under this probability is dropped
    add_above: float              # an unclaimed word over this probability becomes a name
    never_veto: frozenset[str]    # rules whose spans the model does not overrule

    def probability(self, x: dict[str, float]) -> float:
        z = self.bias + sum(self.weights.get(k, 0.0) * v for k, v in x.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def keeps(self, cand: Candidate, p: float, text: str = "") -> bool:
        if cand.from_rules:
            return (cand.score >= STRONG_SCORE or bool(self.never_veto & set(cand.sources)) or p >= self.veto_below
                    or _inner_given_name(text[cand.start:cand.end]))
        return p >= self.add_above

    def decide(self, text: str, language: str, cands: list[Candidate], ner_spans: list[tuple[int, int]],
               ner_ran: bool) -> list[tuple[int, int, float]]:
        """The PERSON spans to keep: (start, end, score)."""
        kept: list[tuple[int, int, float]] = []
        for c in cands:
            if c.from_rules and (c.score >= STRONG_SCORE or self.never_veto & set(c.sources)):
                kept.append((c.start, c.end, c.score))
                continue
            if self.keeps(c, self.probability(features(text, language, c, ner_spans, ner_ran)), text):
                kept.append((c.start, c.end, c.score if c.from_rules else ADDED_SCORE))
        return _join_added(text, kept)

    def to_json(self) -> dict:
        return {"format": FORMAT, "bias": self.bias, "veto_below": self.veto_below, "add_above": self.add_above,
                "never_veto": sorted(self.never_veto), "weights": self.weights}

    @classmethod
    def from_json(cls, data: dict) -> "NameModel":
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        if not weights or not all(math.isfinite(v) for v in weights.values()):
            raise ValueError("weights missing or not finite")
        veto, add = float(data["veto_below"]), float(data["add_above"])
        if not (0.0 <= veto <= 1.0 and 0.0 <= add <= 1.0):
            raise ValueError("thresholds out of [0, 1]")
        return cls(weights=weights, bias=float(data["bias"]), veto_below=veto, add_above=add,
                   never_veto=frozenset(str(s) for s in data.get("never_veto", [])))


def _join_added(text: str, spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """An added word next to another name word makes one name with it: "camila" + "restrepo"."""
    spans = sorted(spans)
    out: list[tuple[int, int, float]] = []
    for s, e, score in spans:
        if out and (score == ADDED_SCORE or out[-1][2] == ADDED_SCORE) and re.fullmatch(r"[ \t]+", text[out[-1][1]:s]):
            ps, _, pscore = out[-1]
            out[-1] = (ps, e, max(pscore, score))
        else:
            out.append((s, e, score))
    return out


def _inner_given_name(span: str) -> bool:
    """A known given name after the span's first word: a span cut wide ("Vamos Mercedes") is not vetoed whole, which
    would leak the name inside it."""
    return any(names.known_spelling(w) for w in re.findall(r"\w+", span)[1:])


def load(path: Path | None = None) -> NameModel | None:
    """The model stored at `path`, or None (the rules alone decide) if it is missing or malformed."""
    try:
        return NameModel.from_json(json.loads((path or MODEL_PATH).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


_UNSET = object()
_current: object = _UNSET


def current() -> NameModel | None:
    global _current
    if _current is _UNSET:
        _current = load()
    return _current if isinstance(_current, NameModel) else None


def use(model: NameModel | None) -> None:
    """Install a model (None: the rules alone), for training and tests."""
    global _current
    _current = model


def reset() -> None:
    """Read the weights file again on next use."""
    global _current
    _current = _UNSET
