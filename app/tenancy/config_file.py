"""Edits companies_config.yaml as text, so existing content and comments stay exactly as they were.

Every edit is validated as a whole file before it is written, written atomically, and serialized
with a file lock so two onboardings cannot interleave.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import yaml

from app.tenancy.registry import RegistrySnapshot, parse_companies


@contextmanager
def locked(path: Path):
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def render_block(block: dict) -> str:
    """A company block as a YAML list item under `companies:`."""
    body = yaml.safe_dump(block, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100)
    lines = body.rstrip("\n").split("\n")
    return "\n".join(["  - " + lines[0]] + ["    " + ln for ln in lines[1:]]) + "\n"


def with_block_appended(text: str, block: dict) -> str:
    if not text.strip():
        text = "companies:\n"
    elif yaml.safe_load(text).get("companies") is None and "companies:" not in text:
        text = text.rstrip("\n") + "\ncompanies:\n"
    if not text.endswith("\n"):
        text += "\n"
    return text + "\n" + render_block(block)


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def append_company(path: Path, block: dict) -> tuple[str, RegistrySnapshot]:
    """Append a block; returns (previous text, new snapshot). Raises ConfigError and writes nothing
    if the resulting file would not validate."""
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    new_text = with_block_appended(previous, block)
    snapshot = parse_companies(new_text, str(path))
    write_atomically(path, new_text)
    return previous, snapshot
