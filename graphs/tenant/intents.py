"""The router's intents and its labelled examples (graphs/tenant/data/intents_train.yaml), shared by the intent
classifier (router.py) and the emergency model (emergency_model.py, which reads them as emergency or not)."""
from __future__ import annotations

from pathlib import Path

import yaml

INTENTS = ("sales", "support", "schedule", "availability", "emergency", "human")
TRAINING_FILE = Path(__file__).with_name("data") / "intents_train.yaml"


def load_examples(path: Path = TRAINING_FILE) -> list[dict]:
    return [e for e in yaml.safe_load(path.read_text(encoding="utf-8")) if e.get("intent") in INTENTS]
