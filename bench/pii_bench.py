"""PII benchmark: per-entity precision and recall, leak rate, false alarms, throughput.

    .venv/bin/python bench/pii_bench.py [--errors] [--data bench/data/pii_messages_heldout.yaml]

Leak rate: the share of labeled PII values still present verbatim after `anonymize`.
False alarms: the share of PII-free messages in which anything was flagged.
Throughput: detect + anonymize, one message at a time, in one thread (what a chat turn pays).
Goals (issue 6): leak rate < 2 %, false alarms < 5 %, >= 100 messages/s.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.privacy import evaluation  # noqa: E402
from app.privacy.pii import anonymize, engine  # noqa: E402

SETS = [ROOT / "bench/data/pii_messages.yaml", ROOT / "bench/data/pii_messages_heldout.yaml"]


def report(name: str, rows: list[dict], errors: bool) -> None:
    rep = evaluation.score(rows)
    pii_rows = sum(1 for r in rows if r.get("pii"))
    print(f"\n== {name}: {len(rows)} messages ({pii_rows} with PII, {len(rows) - pii_rows} PII-free), "
          f"{rep.values} PII values")
    print(f"{'entity':<15}{'gold':>6}{'found':>7}{'false+':>8}{'precision':>11}{'recall':>8}")
    for t in rep.types():
        print(f"{t:<15}{rep.tp[t] + rep.fn[t]:>6}{rep.tp[t]:>7}{rep.fp[t]:>8}{rep.precision(t):>11.3f}"
              f"{rep.recall(t):>8.3f}")
    tp, fn, fp = sum(rep.tp.values()), sum(rep.fn.values()), sum(rep.fp.values())
    print(f"{'ALL (typed)':<15}{tp + fn:>6}{tp:>7}{fp:>8}{tp / max(1, tp + fp):>11.3f}{tp / max(1, tp + fn):>8.3f}")
    print(f"leak rate: {rep.leaked}/{rep.values} = {rep.leak_rate:.2%}   "
          f"false alarms: {rep.false_alarm_messages}/{rep.clean_messages} PII-free messages = {rep.false_alarm_rate:.2%}")
    for dialect, sub in sorted(evaluation.by_dialect(rows).items()):
        d = evaluation.score(sub)
        print(f"  {dialect}: leak {d.leaked}/{d.values} ({d.leak_rate:.1%}), false alarms "
              f"{d.false_alarm_messages}/{d.clean_messages} ({d.false_alarm_rate:.1%})")
    if errors:
        for t, v, got, text in rep.misses:
            print(f"MISS {t} {v!r} got={got} :: {text}")
        for t, v, text in rep.false_alarms:
            print(f"FP   {t} {v!r} :: {text}")
        for t, v, text in rep.leaks:
            print(f"LEAK {t} {v!r} :: {text}")


def throughput(rows: list[dict], rounds: int = 3) -> None:
    texts = [(r["text"], r["language"]) for r in rows]
    for text, lang in texts[:20]:
        anonymize(text, lang)                    # warm caches
    t0 = time.perf_counter()
    for _ in range(rounds):
        for text, lang in texts:
            anonymize(text, lang)
    dt = time.perf_counter() - t0
    n = rounds * len(texts)
    print(f"\nthroughput: {n / dt:.0f} messages/s ({dt / n * 1000:.2f} ms/message), detect + anonymize, one thread")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", action="store_true", help="list misses, false alarms and leaks")
    ap.add_argument("--data", type=Path, action="append", help="labeled set(s); default: tuning + held-out")
    args = ap.parse_args()
    t0 = time.perf_counter()
    engine()
    print(f"engine load: {time.perf_counter() - t0:.1f} s")
    all_rows = []
    for path in args.data or SETS:
        if not path.exists():
            print(f"(missing {path})")
            continue
        rows = evaluation.load(path)
        all_rows += rows
        report(path.name, rows, args.errors)
    throughput(all_rows)


if __name__ == "__main__":
    main()
