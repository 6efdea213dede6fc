"""Edits companies_config.yaml as text, so existing content and comments stay exactly as they were.

Every edit is validated before it is written, written atomically (temp file + rename: 2 ms for the 450 kB of
1,000 companies), and serialized with a file lock so two onboardings cannot interleave. An appended company is
validated alone (RegistrySnapshot.plus) and the rest of the file is not read again: a company block is only ever
appended under the top-level `companies:` list, the file's one key (CompaniesFile forbids others).
"""
from __future__ import annotations

import fcntl
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import yaml

from app.tenancy.registry import RegistrySnapshot, _Loader, parse_companies

# `companies:` as a block-style list header: items appended at the end of the file belong to it.
_COMPANIES_HEADER = re.compile(r"^companies[ \t]*:[ \t]*(#.*)?$", re.MULTILINE)


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
    """The file text with one more company at its end. The usual file (a block-style `companies:` header) is not
    parsed at all, so this costs the same at the 1,000th company as at the first."""
    if not text.strip():
        text = "companies:\n"
    elif not _COMPANIES_HEADER.search(text) and \
            (yaml.load(text, Loader=_Loader) or {}).get("companies") is None and "companies:" not in text:
        text = text.rstrip("\n") + "\ncompanies:\n"
    if not text.endswith("\n"):
        text += "\n"
    rendered = render_block(block)
    # The block must read back as itself (it is validated as a dict, and other processes replay the dict).
    if (yaml.load("companies:\n" + rendered, Loader=_Loader) or {}).get("companies") != [block]:
        raise ValueError("the company block does not read back as written")
    return text + "\n" + rendered


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


def without_company(text: str, company_id: str) -> str:
    """The file text with one company's block cut out; everything else, comments included, unchanged.
    A block runs from its `- company_id: <id>` line to the next list item or top-level line."""
    lines = text.split("\n")
    start = None
    item = re.compile(r"^(\s*)-\s+company_id:\s*['\"]?" + re.escape(company_id) + r"['\"]?\s*(#.*)?$")
    for i, line in enumerate(lines):
        m = item.match(line)
        if m:
            start, indent = i, len(m.group(1))
            break
    if start is None:
        raise ValueError(f"company {company_id!r} has no block in the file")
    end = len(lines)
    for j in range(start + 1, len(lines)):
        line = lines[j]
        if not line.strip():
            continue
        lead = len(line) - len(line.lstrip())
        if lead < indent or (lead == indent and line.lstrip().startswith("-")) or \
                (lead <= indent and not line.lstrip().startswith("#")):
            end = j
            break
    return "\n".join(lines[:start] + lines[end:])


def remove_company(path: Path, company_id: str) -> RegistrySnapshot:
    """Cut one block out of the file; validated before it is written."""
    new_text = without_company(path.read_text(encoding="utf-8"), company_id)
    snapshot = parse_companies(new_text, str(path))
    if company_id in snapshot.companies:
        raise ValueError(f"company {company_id!r} is still in the file after removing its block")
    write_atomically(path, new_text)
    return snapshot
