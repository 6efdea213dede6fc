"""A learned second opinion on emergencies, next to the triage rules of graphs/tenant/emergency.py.

The rules name danger signs; customers keep finding words for them that no list holds. This binary model
(graphs/tenant/ngram_model.py, the intent classifier's shape) is trained on every labelled
emergency set we have: the team's tuning set and the blind sets that were scored once and tuned on since
(bench/data/README.md); plus the router's own intent examples, and as ordinary messages the customer
messages of our PII and retrieval sets that the rules do not flag (orders, payments, names, addresses,
questions about services), so everyday chat is not read as an emergency. Never on the current held-out
sets: bench/router_bench.py refuses to score an emergency set this model was trained on.

The router (graphs/tenant/router.py) hands off what the rules missed when the model is sure (SURE) and the
rules saw no calming cue (a question, worry before a procedure, something over or mild), and lets it
overrule the rules only on a question it finds plainly ordinary (ORDINARY). How it does on sets it never
saw: `bench/router_bench.py --leave-one-out`.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import threading
from pathlib import Path

import yaml

from graphs.tenant.emergency import assess
from graphs.tenant.intents import TRAINING_FILE as INTENTS_FILE
from graphs.tenant.intents import load_examples as intent_examples
from graphs.tenant.ngram_model import NgramModel

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
TRAINING_FILES = tuple(DATA / f"emergency_{name}.yaml"
                       for name in ("tuning", "training_extra", "training_pairs", "blind1", "blind2", "blind3", "blind4",
                                    "blind5", "blind6", "blind7", "blind8"))
log = logging.getLogger("misybot.router")
ORDINARY_FILES = tuple(DATA / name for name in (
    "pii_messages.yaml", "pii_tuning_extra.yaml", "pii_messages_heldout.yaml", "pii_blind1.yaml", "pii_blind2.yaml",
    "pii_blind3.yaml", "pii_blind4.yaml", "pii_blind5.yaml", "pii_blind6.yaml", "pii_blind7.yaml", "retrieval_questions.yaml",
    "retrieval_questions_holdout.yaml", "retrieval_blind1.yaml", "retrieval_blind2.yaml", "retrieval_blind3.yaml",
    "retrieval_blind4.yaml", "retrieval_blind5.yaml", "retrieval_blind6.yaml"))
# Thresholds on the probability of an emergency, chosen leave-one-set-out (`bench/router_bench.py
# --leave-one-out`: the model trained without the set it is scored on, for each blind set 1-4, and without
# the ordinary messages of blind set 3). Over those 461 true emergencies the lowest probability of one the
# rules caught was 0.59, of one the intent classifier alone caught 0.90; the highest of a question the rules
# flagged by mistake, 0.30. A lower SURE caught one more emergency there but flagged ordinary chat ("mi
# pedido no llega desde el lunes"). Round 7 (blind 8 trained on): 0.7 let that message through at 0.707; 0.72
# gives the same leave-one-out over blinds 1-8 (938/941, 4/932), 0.75 loses two emergencies (936/941, 3/932).
SURE = 0.72         # the router hands off what the rules missed (no calming cue seen) ...
SURE_OF_A_QUESTION = 0.8   # ... asked as a question ("¿el hielo ayuda si se me hincha mucho el labio?")
CERTAIN = 0.99      # ... even past a calming cue the rules saw ("ya reaccionó pero está pálida y sudando frío")
AGREES = 0.6        # below this, an emergency guessed by the intent classifier alone is not handed off
ORDINARY = 0.05     # below this, a question the rules flagged is not handed off ("si me llega a sangrar…?")


class EmergencyModel:
    def __init__(self, examples: list[tuple[str, bool]]):
        self.model = NgramModel([text for text, _ in examples], [label for _, label in examples], max_iter=3000)
        self._yes = self.model.labels.index(True)

    def probability(self, text: str) -> float:
        return self.model.probabilities(text)[self._yes]


def rows(path: Path) -> list[dict]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)        # libyaml: about 7x faster on these files
    found = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) if path.exists() else []
    return [row for row in found or [] if isinstance(row, dict)]


def ordinary_examples(paths: tuple[Path, ...] | None = None) -> list[tuple[str, bool]]:
    """The customer messages of the PII and retrieval sets (ORDINARY_FILES unless given), as ordinary ones;
    those the rules flag are left out (an aftercare question may be an emergency)."""
    files = ORDINARY_FILES if paths is None else paths
    texts = [row.get("text") or row.get("question") for path in files for row in rows(path)]
    return [(text, False) for text in texts if text and not assess(text).is_emergency]


def load_examples(paths: tuple[Path, ...] | None = None,
                  ordinary: list[tuple[str, bool]] | None = None) -> list[tuple[str, bool]]:
    """The labelled messages of the emergency sets that exist (TRAINING_FILES unless given), the intent
    examples, and the ordinary customer messages (ordinary_examples() unless given)."""
    examples = [(e["text"], e["intent"] == "emergency") for e in intent_examples()]
    for path in TRAINING_FILES if paths is None else paths:
        examples += [(row["text"], bool(row["emergency"])) for row in rows(path)]
    return examples + (ordinary_examples() if ordinary is None else ordinary)


_model: EmergencyModel | None = None
_trained = False
_lock = threading.Lock()
# What the trained model depends on: a change to any of these (or to scikit-learn) trains it anew.
_CODE = tuple(Path(__file__).with_name(name) for name in ("emergency.py", "emergency_model.py", "ngram_model.py",
                                                                "intents.py"))


def fingerprint() -> str:
    import sklearn

    digest = hashlib.sha256(f"sklearn {sklearn.__version__}".encode())
    for path in (*TRAINING_FILES, *ORDINARY_FILES, INTENTS_FILE, *_CODE):
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"-") + b"\0")
    return digest.hexdigest()[:20]


def _cached(cache_dir: Path | None) -> EmergencyModel:
    """Training takes seconds (the rules read every ordinary message first); a restart of the same code and
    data loads the model it trained before from cache_dir (the service's DATA_DIR/models), written there
    atomically. A missing, stale or unreadable file means training again."""
    if cache_dir is None:
        return EmergencyModel(load_examples())
    path = cache_dir / f"emergency_model-{fingerprint()}.pickle"
    try:
        with path.open("rb") as f:
            loaded = pickle.load(f)        # our own file, in our own data directory
        if isinstance(loaded, EmergencyModel):
            return loaded
    except FileNotFoundError:
        pass
    except Exception as exc:                # a half-written or foreign file: train again and replace it
        log.warning("emergency model cache %s unreadable (%s): training again", path.name, exc)
    trained = EmergencyModel(load_examples())
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("emergency_model-*.pickle"):
            old.unlink(missing_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=cache_dir, delete=False, suffix=".tmp") as tmp:
            pickle.dump(trained, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, path)
    except OSError as exc:                  # a read-only or full disk costs the next start its seconds, no more
        log.warning("emergency model not cached in %s: %s", cache_dir, exc)
    return trained


def model(cache_dir: Path | None = None) -> EmergencyModel | None:
    """The trained model, or None when no training file is there (the rules then decide alone). The first
    call of a process trains it, or loads it from cache_dir when that holds the same training's result."""
    global _model, _trained
    with _lock:
        if not _trained:
            found = [path for path in TRAINING_FILES if path.exists()]
            _model = _cached(cache_dir) if found else None
            if _model is None:
                log.warning("no labelled emergency sets in %s: the emergency rules decide alone", DATA)
            _trained = True
        return _model
