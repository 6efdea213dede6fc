"""Scoring the detector against a labeled set (bench/data/pii_messages*.yaml), for tests and the benchmark.

A labeled message: {"text", "language", "dialect", "pii": [{"type", "value"}]}; each value is an exact
substring of the text. A gold value counts as found when a detected span of the same type overlaps it;
as *masked* when any detected span covers it so that the value no longer appears after `anonymize`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.privacy.pii import Placeholders, engine, replace_spans


def load(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _gold_spans(text: str, value: str) -> list[tuple[int, int]]:
    spans, start = [], text.find(value)
    while start >= 0:
        spans.append((start, start + len(value)))
        start = text.find(value, start + 1)
    return spans


@dataclass
class Report:
    tp: Counter = field(default_factory=Counter)          # gold values found with the right type
    fn: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)          # detected spans that match no gold value of their type
    values: int = 0
    leaked: int = 0                                       # gold values still verbatim after anonymize
    clean_messages: int = 0
    false_alarm_messages: int = 0
    misses: list = field(default_factory=list)
    false_alarms: list = field(default_factory=list)
    leaks: list = field(default_factory=list)

    def precision(self, t: str) -> float:
        return self.tp[t] / (self.tp[t] + self.fp[t]) if self.tp[t] + self.fp[t] else 1.0

    def recall(self, t: str) -> float:
        return self.tp[t] / (self.tp[t] + self.fn[t]) if self.tp[t] + self.fn[t] else 1.0

    @property
    def leak_rate(self) -> float:
        return self.leaked / self.values if self.values else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarm_messages / self.clean_messages if self.clean_messages else 0.0

    def types(self) -> list[str]:
        return sorted(set(self.tp) | set(self.fn) | set(self.fp))


def score(rows: list[dict]) -> Report:
    rep = Report()
    eng = engine()
    for row in rows:
        text, gold = row["text"], row.get("pii") or []
        spans = eng.detect(text, row["language"])
        anonymized = replace_spans(text, spans, Placeholders())
        matched = set()
        for g in gold:
            rep.values += 1
            if g["value"] in anonymized:
                rep.leaked += 1
                rep.leaks.append((g["type"], g["value"], text))
            hits = [i for i, s in enumerate(spans) for gs, ge in _gold_spans(text, g["value"])
                    if s.entity_type == g["type"] and s.start < ge and gs < s.end]
            if hits:
                rep.tp[g["type"]] += 1
                matched.update(hits)
            else:
                rep.fn[g["type"]] += 1
                got = [(s.entity_type, text[s.start:s.end]) for s in spans]
                rep.misses.append((g["type"], g["value"], got, text))
        for i, s in enumerate(spans):
            if i in matched:
                continue
            same_value = any(s.entity_type == g["type"] and s.start < ge and gs < s.end
                             for g in gold for gs, ge in _gold_spans(text, g["value"]))
            if not same_value:
                rep.fp[s.entity_type] += 1
                rep.false_alarms.append((s.entity_type, text[s.start:s.end], text))
        if not gold:
            rep.clean_messages += 1
            if spans:
                rep.false_alarm_messages += 1
    return rep


def by_dialect(rows: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for r in rows:
        out[r.get("dialect", "?")].append(r)
    return dict(out)
