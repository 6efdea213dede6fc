"""PII benchmark: tuning and held-out sets side by side — leak rate, false alarms, throughput and
per-entity recall, one row per set.

    .venv/bin/python bench/pii_bench.py [--errors] [--skip-blind] [--leave-one-out]

Sets (bench/data/README.md tells how each was made): "tuning" = pii_messages.yaml + pii_tuning_extra.yaml;
"old held-out" = pii_messages_heldout.yaml; "blind 1 (tuned)" .. "blind 7 (tuned)" = pii_blind1.yaml ..
pii_blind7.yaml, each written blind and scored once, tuned on since (the name model trains on them); "blind
held-out" = pii_blind8.yaml when it exists (written by someone who never saw the detector; `--skip-blind` leaves
it unread, for whoever is still tuning). `--errors` lists misses, false alarms and leaks of the tuning sets,
never of the held-out set.

`--leave-one-out`: for each of blind 1-7, the learned name model (app/privacy/name_model.py) trained without that
set, then scored on it, beside the rules alone ("before"). The rules were tuned on blind 1-6, so only blind 7's
"before" is a figure on unseen messages. It never reads the held-out set.

Leak rate: the share of labeled PII values still present verbatim after `anonymize`.
False alarms: the share of PII-free messages in which anything was flagged.
Throughput: detect + anonymize, one message at a time, in one thread (what a chat turn pays).
Goals: leak rate <= 1 %, false alarms <= 3 %, >= 150 messages/s on unseen messages.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.privacy import evaluation, name_model, name_model_training  # noqa: E402
from app.privacy.pii import anonymize, engine  # noqa: E402

DATA = ROOT / "bench/data"
TUNING = [DATA / "pii_messages.yaml", DATA / "pii_tuning_extra.yaml"]
OLD_HELDOUT = [DATA / "pii_messages_heldout.yaml"]
BLIND1 = [DATA / "pii_blind1.yaml"]        # scored once blind, a tuning set since (bench/data/README.md)
BLIND2 = [DATA / "pii_blind2.yaml"]        # the same, one round later
BLIND3 = [DATA / "pii_blind3.yaml"]        # and one round after that
BLIND4 = [DATA / "pii_blind4.yaml"]
BLIND5 = [DATA / "pii_blind5.yaml"]
BLIND6 = [DATA / "pii_blind6.yaml"]
BLIND7 = [DATA / "pii_blind7.yaml"]
BLIND = [DATA / "pii_blind8.yaml"]         # the held-out set: never listed, never tuned on, never trained on
LISTABLE = ("tuning", "blind 1 (tuned)", "blind 2 (tuned)", "blind 3 (tuned)", "blind 4 (tuned)", "blind 5 (tuned)",
            "blind 6 (tuned)", "blind 7 (tuned)")

ABBREV = {"AR_CUIT": "CUIT", "AR_DNI": "DNI", "CL_RUT": "RUT", "CO_CEDULA": "CC", "CREDIT_CARD": "CARD",
          "DATE_OF_BIRTH": "DOB", "EMAIL_ADDRESS": "EMAIL", "ES_NIE": "NIE", "ES_NIF": "NIF", "IBAN_CODE": "IBAN",
          "IP_ADDRESS": "IP", "LOCATION": "ADDR", "MX_CURP": "CURP", "MX_RFC": "RFC", "PERSON": "PER",
          "PHONE_NUMBER": "PHONE", "URL": "URL"}


def load(paths: list[Path]) -> list[dict]:
    rows: list[dict] = []
    for path in paths:
        if path.exists():
            rows += evaluation.load(path)
    return rows


def throughput(rows: list[dict], rounds: int = 2) -> float:
    texts = [(r["text"], r["language"]) for r in rows]
    for text, lang in texts[:20]:
        anonymize(text, lang)                    # warm caches
    t0 = time.perf_counter()
    for _ in range(rounds):
        for text, lang in texts:
            anonymize(text, lang)
    return rounds * len(texts) / (time.perf_counter() - t0)


def print_errors(rep: evaluation.Report) -> None:
    for t, v, got, text in rep.misses:
        print(f"MISS {t} {v!r} got={got} :: {text}")
    for t, v, text in rep.false_alarms:
        print(f"FP   {t} {v!r} :: {text}")
    for t, v, text in rep.leaks:
        print(f"LEAK {t} {v!r} :: {text}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", action="store_true", help="list misses, false alarms and leaks of the tuning sets")
    ap.add_argument("--skip-blind", action="store_true", help="do not read pii_blind8.yaml at all")
    ap.add_argument("--leave-one-out", action="store_true",
                    help="per blind set 1-7: the name model trained without it, scored on it (and nothing else)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    eng = engine()
    print(f"engine load: {time.perf_counter() - t0:.1f} s")
    model = name_model.current()
    print(f"name model: {f'{len(model.weights)} weights' if model else 'none (rules alone)'}")
    if args.leave_one_out:
        undo = name_model_training.cached_analysis(eng)
        try:
            key = (name_model_training.VETO_BELOW, name_model_training.ADD_ABOVE)
            result = name_model_training.leave_one_out(name_model_training.load_sets(), eng)
            name_model_training.print_leave_one_out(result, key)
            if args.errors:
                name_model_training.print_errors(result, key)
        finally:
            undo()
        return
    sets = [("tuning", TUNING), ("old held-out", OLD_HELDOUT), ("blind 1 (tuned)", BLIND1),
            ("blind 2 (tuned)", BLIND2), ("blind 3 (tuned)", BLIND3), ("blind 4 (tuned)", BLIND4),
            ("blind 5 (tuned)", BLIND5), ("blind 6 (tuned)", BLIND6), ("blind 7 (tuned)", BLIND7)]
    if not args.skip_blind and BLIND[0].exists():
        sets.append(("blind held-out", BLIND))
    scored = []
    for name, paths in sets:
        rows = load(paths)
        if not rows:
            print(f"({name}: no data)")
            continue
        scored.append((name, rows, evaluation.score(rows), throughput(rows)))

    print(f"\n{'set':<16}{'msgs':>6}{'clean':>7}{'values':>8}{'leak %':>9}{'false alarms %':>16}{'msgs/s':>8}"
          f"{'typed P':>9}{'typed R':>9}")
    for name, rows, rep, speed in scored:
        tp, fn, fp = sum(rep.tp.values()), sum(rep.fn.values()), sum(rep.fp.values())
        print(f"{name:<16}{len(rows):>6}{rep.clean_messages:>7}{rep.values:>8}{rep.leak_rate:>9.2%}"
              f"{rep.false_alarm_rate:>16.2%}{speed:>8.0f}{tp / max(1, tp + fp):>9.3f}{tp / max(1, tp + fn):>9.3f}")

    types = sorted({t for _, _, rep, _ in scored for t in rep.types()})
    print("\nper-entity recall (gold count in brackets)")
    print(f"{'set':<16}" + "".join(f"{ABBREV.get(t, t):>12}" for t in types))
    for name, _, rep, _ in scored:
        cells = []
        for t in types:
            gold = rep.tp[t] + rep.fn[t]
            cells.append(f"{rep.recall(t):.3f} ({gold})" if gold else "-")
        print(f"{name:<16}" + "".join(f"{c:>12}" for c in cells))

    print("\nleak / false alarms by dialect")
    for name, rows, _, _ in scored:
        parts = []
        for dialect, sub in sorted(evaluation.by_dialect(rows).items()):
            d = evaluation.score(sub)
            parts.append(f"{dialect} {d.leaked}/{d.values} {d.false_alarm_messages}/{d.clean_messages}")
        print(f"{name:<16}" + "   ".join(parts))

    if args.errors:
        for name, _, rep, _ in scored:
            if name in LISTABLE:
                print(f"\nerrors of the {name} set:")
                print_errors(rep)


if __name__ == "__main__":
    main()
