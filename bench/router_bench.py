"""Router benchmark on the held-out labelled set (bench/data/intents_dev.yaml), offline, no LLM.

    .venv/bin/python bench/router_bench.py [--errors]

Prints accuracy per intent and overall, emergency recall and false-alarm rate (share of
non-emergency messages routed to emergency), and routing latency. The classifier is trained on
graphs/tenant/data/intents_train.yaml only.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from graphs.tenant.router import INTENTS, classifier, route_message  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", action="store_true", help="list every misrouted message")
    ap.add_argument("--data", type=Path, default=ROOT / "bench/data/intents_dev.yaml")
    args = ap.parse_args()
    rows = yaml.safe_load(args.data.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    classifier()
    train_s = time.perf_counter() - t0

    per = defaultdict(Counter)
    confusion = Counter()
    lat, errors = [], []
    for row in rows:
        t = time.perf_counter()
        got = route_message(row["text"]).agent
        lat.append((time.perf_counter() - t) * 1000)
        per[row["intent"]]["n"] += 1
        per[row["intent"]]["ok"] += got == row["intent"]
        confusion[(row["intent"], got)] += 1
        if got != row["intent"]:
            errors.append((row["intent"], got, row["text"]))

    n = len(rows)
    correct = sum(c["ok"] for c in per.values())
    emergencies = per["emergency"]["n"]
    non_emergency = n - emergencies
    false_alarms = sum(v for (truth, got), v in confusion.items() if got == "emergency" and truth != "emergency")
    print(f"{n} held-out messages; classifier trained in {train_s * 1000:.0f} ms")
    print(f"{'intent':13} {'n':>4} {'accuracy':>9}")
    for intent in INTENTS:
        c = per[intent]
        print(f"{intent:13} {c['n']:4d} {c['ok'] / max(c['n'], 1):9.3f}")
    print(f"{'overall':13} {n:4d} {correct / n:9.3f}")
    print(f"emergency recall: {per['emergency']['ok']}/{emergencies} = {per['emergency']['ok'] / emergencies:.3f}")
    print(f"emergency false alarms: {false_alarms}/{non_emergency} = {false_alarms / non_emergency:.3f}")
    print(f"routing latency: p50 {statistics.median(lat):.2f} ms, p95 {sorted(lat)[int(0.95 * (n - 1))]:.2f} ms")
    if args.errors:
        for truth, got, text in sorted(errors):
            print(f"  {truth:>12} -> {got:12} {text}")


if __name__ == "__main__":
    main()
