"""Trains the name model (app/privacy/name_model.py) on the labeled PII sets and measures it honestly.

    .venv/bin/python -m app.privacy.name_model_training                  # train on every set, write the weights
    .venv/bin/python -m app.privacy.name_model_training --leave-one-out  # per blind set: trained without it
    .venv/bin/python -m app.privacy.name_model_training --search         # thresholds, chosen on leave-one-out

Every PERSON span the rules find and every unclaimed capitalized word or lowercase given name is a candidate;
it is a positive when it overlaps a labeled PERSON value, a negative otherwise. A logistic regression
(scikit-learn) learns the weights; they are written as named weights to app/privacy/data/name_model.json.

The held-out set of the round (bench/data/pii_blind8.yaml) is never read here: `load_sets` refuses it.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.privacy import evaluation, name_model, names
from app.privacy.name_model import NameModel
from app.privacy.pii import PiiEngine, engine

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "data"
# The round's held-out set: never opened, never trained or scored on.
HELD_OUT = frozenset({"pii_blind8.yaml"})
SETS: dict[str, list[str]] = {
    "tuning": ["pii_messages.yaml", "pii_tuning_extra.yaml"],
    "old held-out": ["pii_messages_heldout.yaml"],
    **{f"blind {k}": [f"pii_blind{k}.yaml"] for k in range(1, 8)},
}
LEAVE_ONE_OUT = [f"blind {k}" for k in range(1, 8)]

# Chosen with --search on the leave-one-out figures of blind sets 1-7 (fewest leaked values + false-alarm messages,
# pooled): C 0.3-3 tie within one message; add_above 0.75 gave 17 (0.7: 19, 0.8: 19, no additions: 19).
C = 1.0
VETO_BELOW = 0.02
ADD_ABOVE = 0.75
# Rules the model does not overrule: an explicit cue says a name follows ("me llamo", "soy", "mi hija", "Regards,"
# over a signature, "me atendió", a contact line). The model may veto only what spaCy, the name dictionary or a
# position proposed (sources "ner", "known_name", "positional", "article_name", "article_nickname").
NEVER_VETO = ("strong_cue", "weak_cue", "signature", "signed_off", "kin", "intro", "verb_cue", "beside_me", "form_line")


def load_sets(names: list[str] | None = None) -> dict[str, list[dict]]:
    out = {}
    for name in names or list(SETS):
        rows: list[dict] = []
        for file in SETS[name]:
            if file in HELD_OUT:
                raise ValueError(f"{file} is the held-out set: it is never read for training")
            path = DATA / file
            if path.exists():
                rows += evaluation.load(path)
        if rows:
            out[name] = rows
    return out


@dataclass
class Example:
    features: dict[str, float]
    label: int
    from_rules: bool


def _gold_person_spans(row: dict) -> list[tuple[int, int]]:
    text, out = row["text"], []
    for g in row.get("pii") or []:
        if g["type"] != "PERSON" or not g["value"]:
            continue
        start = text.find(g["value"])
        while start >= 0:
            out.append((start, start + len(g["value"])))
            start = text.find(g["value"], start + 1)
    return out


def examples(rows: list[dict], eng: PiiEngine, word_level: bool = True) -> list[Example]:
    out = []
    for row in rows:
        text, lang = row["text"], row["language"] if row["language"] in ("es", "en") else "es"
        if not text.strip():
            continue
        results, artifacts = eng.analyze(text, lang)
        cands, ner, ner_ran = eng.person_candidates(text, lang, results, artifacts)
        gold = _gold_person_spans(row)
        for c in cands + (_words_of_spans(text, cands) if word_level else []):
            label = int(any(gs < c.end and c.start < ge for gs, ge in gold))
            out.append(Example(name_model.features(text, lang, c, ner, ner_ran), label, c.from_rules))
    return out


def _words_of_spans(text: str, cands: list[name_model.Candidate]) -> list[name_model.Candidate]:
    """Each lowercase given name inside a rule's multi-word span ("camila restrepo"), as the unclaimed word it would
    be had no rule found it: the model learns from them what a lowercase name looks like on its own."""
    out = []
    for c in cands:
        if not c.from_rules:
            continue
        words = list(names._WORD_RE.finditer(text, c.start, c.end))
        if len(words) < 2:
            continue
        for w in words:
            f = names.fold(w.group())
            if w.group()[0].islower() and (f in names.KNOWN_NAMES or f in names._BROAD_NAMES) and f not in names._STOP:
                out.append(name_model.Candidate(w.start(), w.end(), 0.0, (name_model.EXTRA_LOWERCASE,)))
    return out


# The rules were tuned until they were right on every set we train on: what rule found a span predicts its label
# there perfectly and nowhere else. The model learns from the span and its context alone, a second opinion.
DROPPED_FEATURES = ("src=", "rule", "extra")


def fit(train: list[Example], c: float = C, veto_below: float = VETO_BELOW, add_above: float = ADD_ABOVE,
        min_count: int = 2, dropped: tuple[str, ...] = DROPPED_FEATURES) -> NameModel:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    # a feature seen fewer than `min_count` times learns nothing that transfers
    counts: dict[str, int] = {}
    for ex in train:
        for k in ex.features:
            counts[k] = counts.get(k, 0) + 1
    keep = {k for k, n in counts.items() if n >= min_count and not k.startswith(dropped)}
    vec = DictVectorizer()
    x = vec.fit_transform([{k: v for k, v in ex.features.items() if k in keep} for ex in train])
    y = [ex.label for ex in train]
    clf = LogisticRegression(C=c, max_iter=5000)
    clf.fit(x, y)
    weights = {name: round(float(w), 4)
               for name, w in zip(vec.get_feature_names_out(), clf.coef_[0], strict=True) if abs(w) >= 0.01}
    return NameModel(weights=weights, bias=round(float(clf.intercept_[0]), 5), veto_below=veto_below,
                     add_above=add_above, never_veto=frozenset(NEVER_VETO))


def cached_analysis(eng: PiiEngine) -> Callable[[], None]:
    """Memoize the engine's Presidio + spaCy pass (the model does not change it); returns the undo."""
    memo: dict[tuple[str, str], tuple] = {}
    original = eng.analyze

    def analyze(text: str, lang: str):
        key = (text, lang)
        if key not in memo:
            memo[key] = original(text, lang)
        return memo[key]

    eng.analyze = analyze  # type: ignore[method-assign]
    return lambda: setattr(eng, "analyze", original)


def score(rows: list[dict], model: NameModel | None) -> evaluation.Report:
    before = name_model.current()
    name_model.use(model)
    try:
        return evaluation.score(rows)
    finally:
        name_model.use(before)


def leave_one_out(sets: dict[str, list[dict]], eng: PiiEngine, c: float = C,
                  thresholds: list[tuple[float, float]] | None = None) -> dict:
    """For each blind set S: train without S, score S, for each (veto_below, add_above). Returns
    {S: {"before": Report, (veto, add): Report}}."""
    by_set = {name: examples(rows, eng) for name, rows in sets.items()}
    out: dict = {}
    for held in [s for s in LEAVE_ONE_OUT if s in sets]:
        train = [ex for name, exs in by_set.items() if name != held for ex in exs]
        model = fit(train, c)
        out[held] = {"before": score(sets[held], None)}
        for veto, add in thresholds or [(VETO_BELOW, ADD_ABOVE)]:
            out[held][(veto, add)] = score(sets[held], NameModel(model.weights, model.bias, veto, add,
                                                                  model.never_veto))
    return out


def _rates(reports: list[evaluation.Report]) -> tuple[float, float, int, int, int, int]:
    leaked, values = sum(r.leaked for r in reports), sum(r.values for r in reports)
    fa, clean = sum(r.false_alarm_messages for r in reports), sum(r.clean_messages for r in reports)
    return leaked / max(1, values), fa / max(1, clean), leaked, values, fa, clean


def print_leave_one_out(result: dict, key: tuple[float, float]) -> None:
    print(f"\nleave-one-out (trained without the set, then scored on it), veto_below={key[0]} add_above={key[1]}")
    print(f"{'set':<10}{'values':>8}{'clean':>7}{'leak before':>13}{'leak after':>12}{'FA before':>11}"
          f"{'FA after':>10}")
    for held, reps in result.items():
        b, a = reps["before"], reps[key]
        print(f"{held:<10}{b.values:>8}{b.clean_messages:>7}{b.leak_rate:>13.2%}{a.leak_rate:>12.2%}"
              f"{b.false_alarm_rate:>11.2%}{a.false_alarm_rate:>10.2%}")
    bl, bf, *_ = _rates([r["before"] for r in result.values()])
    al, af, leaked, values, fa, clean = _rates([r[key] for r in result.values()])
    print(f"{'all':<10}{values:>8}{clean:>7}{bl:>13.2%}{al:>12.2%}{bf:>11.2%}{af:>10.2%}"
          f"   (after: {leaked} leaked, {fa} false-alarm messages)")


def print_errors(result: dict, key: tuple[float, float]) -> None:
    for held, reps in result.items():
        print(f"\nleave-one-out errors of {held}:")
        rep = reps[key]
        for t, v, text in rep.leaks:
            print(f"LEAK {t} {v!r} :: {text}")
        for t, v, text in rep.false_alarms:
            print(f"FP   {t} {v!r} :: {text}")


def cost(reports: list[evaluation.Report]) -> int:
    """Leaked values plus false-alarm messages, pooled over the left-out sets: a name sent on to the meta-agent
    weighs as much as a message masked for nothing. (Weighing rates instead lets one false alarm in ~60 clean
    messages outweigh four leaked names in ~500.)"""
    return sum(r.leaked + r.false_alarm_messages for r in reports)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leave-one-out", action="store_true", help="per blind set: a model trained without it")
    ap.add_argument("--search", action="store_true", help="pick C and thresholds on the leave-one-out figures")
    ap.add_argument("--errors", action="store_true", help="with --leave-one-out: list its leaks and false alarms")
    ap.add_argument("--c", type=float, default=C)
    ap.add_argument("--out", type=Path, default=name_model.MODEL_PATH)
    args = ap.parse_args(argv)
    eng = engine()
    undo = cached_analysis(eng)
    try:
        sets = load_sets()
        if args.search:
            grid = list(itertools.product([0.0, 0.02, 0.05, 0.1, 0.2], [0.5, 0.6, 0.7, 0.8, 0.9, 1.01]))
            best = None
            for c in (0.3, 1.0, 3.0):
                result = leave_one_out(sets, eng, c, grid)
                for key in grid:
                    reports = [r[key] for r in result.values()]
                    leak, fa, *_ = _rates(reports)
                    print(f"C={c:<4} veto<{key[0]:<5} add>{key[1]:<5} leak {leak:.2%}  FA {fa:.2%}  "
                          f"cost {cost(reports)}")
                    if best is None or cost(reports) < best[0]:
                        best = (cost(reports), c, key, result)
            assert best is not None
            print(f"\nbest: C={best[1]} veto_below={best[2][0]} add_above={best[2][1]}")
            print_leave_one_out(best[3], best[2])
            return
        if args.leave_one_out:
            t0 = time.perf_counter()
            result = leave_one_out(sets, eng, args.c)
            print_leave_one_out(result, (VETO_BELOW, ADD_ABOVE))
            if args.errors:
                print_errors(result, (VETO_BELOW, ADD_ABOVE))
            print(f"({time.perf_counter() - t0:.0f} s)")
            return
        train = [ex for rows in sets.values() for ex in examples(rows, eng)]
        model = fit(train, args.c)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(model.to_json(), ensure_ascii=False, indent=0, sort_keys=True, separators=(",", ":"))
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"{len(train)} candidates ({sum(e.label for e in train)} names) from {', '.join(sets)}; "
              f"{len(model.weights)} weights -> {args.out}")
    finally:
        undo()


if __name__ == "__main__":
    main(sys.argv[1:])
