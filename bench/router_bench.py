"""Router benchmark on the held-out labelled set (bench/data/intents_dev.yaml), offline, no LLM.

    .venv/bin/python bench/router_bench.py [--errors] [--emergency-sets FILE ...]

Prints accuracy per intent and overall, emergency recall and false-alarm rate (share of
non-emergency messages routed to emergency), and routing latency. The classifier is trained on
graphs/tenant/data/intents_train.yaml only.

Then, for each binary emergency set (`- text: ..., emergency: true|false`; by default the tuning set
bench/data/emergency_tuning.yaml, blind sets 1 to 8 (emergency_blind1..8.yaml: each written blind, scored
once, tuned on since) and, if present, the blind held-out set 9 (emergency_blind9.yaml), one line with
recall and false alarms. `--errors` lists misses for the tuning sets only: messages of the held-out
set are never printed. See bench/data/README.md for how each set was made.
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

from graphs.tenant import emergency_model  # noqa: E402
from graphs.tenant.intents import INTENTS  # noqa: E402
from graphs.tenant.router import classifier, route_message  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", action="store_true", help="list every misrouted message")
    ap.add_argument("--data", type=Path, default=ROOT / "bench/data/intents_dev.yaml")
    ap.add_argument("--emergency-sets", type=Path, nargs="*", default=None,
                    help="binary emergency sets (default: tuning set, and the blind set if it exists)")
    ap.add_argument("--leave-one-out", action="store_true",
                    help="only: each tuned blind set scored by a model trained without it, rules alone beside it")
    args = ap.parse_args()
    if args.leave_one_out:
        leave_one_out()
        return
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

    sets = args.emergency_sets
    if sets is None:
        sets = [p for p in (TUNING_SET, *TUNED_BLIND_SETS, BLIND_SET) if p == TUNING_SET or p.exists()]
    for path in sets:
        emergency_report(path, show_errors=args.errors)


TUNING_SET = ROOT / "bench/data/emergency_tuning.yaml"
# each scored once blind, a tuning set since (bench/data/README.md)
TUNED_BLIND_SETS = tuple(ROOT / f"bench/data/emergency_blind{n}.yaml" for n in (1, 2, 3, 4, 5, 6, 7, 8))
BLIND_SET = ROOT / "bench/data/emergency_blind9.yaml"     # the held-out set: never listed, never tuned on


def _label(path: Path) -> str:
    if path.resolve() == BLIND_SET.resolve():
        return "blind held-out"
    if path.resolve() == TUNING_SET.resolve():
        return "tuning"
    for number, tuned in enumerate(TUNED_BLIND_SETS, 1):
        if path.resolve() == tuned.resolve():
            return f"blind {number}, tuned on since"
    return path.stem


def emergency_report(path: Path, *, show_errors: bool) -> None:
    """Binary emergency recall / false alarms on one set. Messages are listed only for a non-blind set."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    label = _label(path)
    if label == "blind held-out" and path.resolve() in {p.resolve() for p in emergency_model.TRAINING_FILES}:
        sys.exit(f"{path.name} is the held-out set but the emergency model trains on it: not a held-out figure")
    tp = fn = fp = tn = 0
    misses = []
    for row in rows:
        route = route_message(row["text"])
        got = route.agent == "emergency"
        truth = bool(row["emergency"])
        tp += truth and got
        fn += truth and not got
        fp += got and not truth
        tn += not truth and not got
        if got != truth:
            misses.append((truth, route.agent, ",".join(route.reasons), row.get("category", ""), row["text"]))
    pos, neg = tp + fn, fp + tn
    print(f"emergency [{label}] ({path.name}, {len(rows)} messages): "
          f"recall {tp}/{pos} = {tp / max(pos, 1):.3f}, false alarms {fp}/{neg} = {fp / max(neg, 1):.3f}")
    if show_errors and label != "blind held-out":
        for truth, agent, reasons, category, text in sorted(misses, key=lambda m: (not m[0], m[3])):
            kind = "missed" if truth else "false alarm"
            print(f"  {kind:>11} [{category}] -> {agent} {reasons}: {text}")


def _score(rows: list[dict], second) -> str:
    got = [(bool(row["emergency"]), route_message(row["text"], second_opinion=second).agent == "emergency")
           for row in rows]
    pos = sum(truth for truth, _ in got)
    tp = sum(truth and flagged for truth, flagged in got)
    fp = sum(flagged and not truth for truth, flagged in got)
    return f"recall {tp}/{pos} = {tp / max(pos, 1):.3f}, false alarms {fp}/{len(got) - pos} = " \
           f"{fp / max(len(got) - pos, 1):.3f}"


def leave_one_out() -> None:
    """How the learned second opinion does on emergencies it never saw: for each tuned blind set, a model
    trained on everything else (the held-out set never takes part). The rules were tuned on every one of these
    sets, so only the model's side of those rows is unseen. The thresholds of
    graphs/tenant/emergency_model.py were chosen on this table."""
    ordinary = emergency_model.ordinary_examples()
    for held in TUNED_BLIND_SETS:
        rows = emergency_model.rows(held)
        model = emergency_model.EmergencyModel(emergency_model.load_examples(
            tuple(p for p in emergency_model.TRAINING_FILES if p.resolve() != held.resolve()), ordinary=ordinary))
        print(f"{_label(held)} ({held.name}): model trained without it: {_score(rows, model)}; "
              f"rules alone: {_score(rows, None)}")
    # ordinary traffic (orders, names, questions about the business) the model never saw: everything flagged
    # there is a false alarm
    held_out = tuple(path for path in emergency_model.ORDINARY_FILES if "blind3" in path.name)
    rest = tuple(path for path in emergency_model.ORDINARY_FILES if path not in held_out)
    model = emergency_model.EmergencyModel(emergency_model.load_examples(
        ordinary=emergency_model.ordinary_examples(rest)))
    rows = [{"text": row.get("text") or row.get("question"), "emergency": False}
            for path in held_out for row in emergency_model.rows(path)]
    print(f"ordinary messages of {', '.join(p.name for p in held_out)}, model trained without them: "
          f"{_score(rows, model)}; rules alone: {_score(rows, None)}")


if __name__ == "__main__":
    main()
