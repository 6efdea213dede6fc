"""Loads, validates and reloads companies_config.yaml. A bad file never replaces a good one."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from app.tenancy.config import CompaniesFile, TenantConfig


class ConfigError(Exception):
    """The companies file cannot be used; the message names the company and the field."""


@dataclass(frozen=True)
class RegistrySnapshot:
    companies: dict[str, TenantConfig]
    version: str                      # sha256 of the file text, so caches can key on it
    by_chatwoot_account: dict[int, str]


def _describe(err: ValidationError, raw_companies: list) -> str:
    lines = []
    for e in err.errors():
        loc = list(e["loc"])
        where = "companies file"
        if len(loc) >= 2 and loc[0] == "companies" and isinstance(loc[1], int):
            idx = loc[1]
            raw = raw_companies[idx] if idx < len(raw_companies) else None
            name = raw.get("company_id") if isinstance(raw, dict) else None
            where = f"company {name!r}" if name else f"company #{idx + 1}"
            loc = loc[2:]
        field = ".".join(str(p) for p in loc) or "(block)"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: field {field}: {msg}")
    return "; ".join(lines)


def parse_companies(text: str, source: str = "companies_config.yaml") -> RegistrySnapshot:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must be a mapping with a 'companies' list")
    raw_companies = raw.get("companies") or []
    if not isinstance(raw_companies, list):
        raise ConfigError(f"{source}: 'companies' must be a list of company blocks")
    try:
        parsed = CompaniesFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc, raw_companies)}") from None
    companies = {c.company_id: c for c in parsed.companies}
    accounts = {c.chatwoot.account_id: c.company_id for c in parsed.companies if c.chatwoot.account_id}
    return RegistrySnapshot(companies, hashlib.sha256(text.encode()).hexdigest()[:16], accounts)


def load_companies_file(path: Path) -> RegistrySnapshot:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"companies file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"companies file {path} cannot be read: {exc}") from None
    return parse_companies(text, str(path))


class TenantRegistry:
    """The live set of companies. Readers get an immutable snapshot; reload swaps it atomically."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._snapshot = load_companies_file(path)     # raises ConfigError: start-up stops

    @property
    def snapshot(self) -> RegistrySnapshot:
        return self._snapshot

    def get(self, company_id: str) -> TenantConfig | None:
        return self._snapshot.companies.get(company_id)

    def company_ids(self) -> list[str]:
        return sorted(self._snapshot.companies)

    def for_chatwoot_account(self, account_id: int) -> TenantConfig | None:
        cid = self._snapshot.by_chatwoot_account.get(account_id)
        return self._snapshot.companies.get(cid) if cid else None

    def reload(self) -> RegistrySnapshot:
        """Re-read the file. On ConfigError the current snapshot keeps serving."""
        with self._lock:
            new = load_companies_file(self.path)
            self._snapshot = new
            return new
