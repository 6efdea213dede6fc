"""What the operator scripts share: the repo on sys.path, opening the stores, printing results."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def open_platform(settings):
    """The stores, directly. The embedded Qdrant admits one process: stop the service first."""
    from app.platform import Platform
    from app.storage.qdrant_store import QdrantLockedError

    try:
        return Platform.from_settings(settings)
    except QdrantLockedError as exc:
        raise SystemExit(f"error: {exc}. Stop the service (or use a Qdrant server via QDRANT_URL) and retry.")


def emit(result: dict, as_json: bool, summary: str) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        print(summary)
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
