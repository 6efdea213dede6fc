"""Loads, validates and reloads companies_config.yaml. A bad file never replaces a good one.

The whole file is parsed at start-up and when another process changed it (libyaml's C loader: 1,000 companies
in well under a second). A company added here is validated alone against the indexes of the current snapshot
(`RegistrySnapshot.plus`), so onboarding the 1,000th company costs about what the first did."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from app.tenancy.config import UNIQUE_FIELDS, CompaniesFile, TenantConfig, already_used


class ConfigError(Exception):
    """The companies file cannot be used; the message names the company and the field."""


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)          # libyaml when the wheel has it


def text_version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RegistrySnapshot:
    companies: dict[str, TenantConfig]
    version: str                      # sha256 of the file text, so caches can key on it
    by_chatwoot_account: dict[int, str]

    def plus(self, block: dict, new_text: str, source: str = "companies_config.yaml") -> "RegistrySnapshot":
        """This snapshot with one more company, validated alone against the others' unique fields, as the
        whole file would be (CompaniesFile): the same errors, without re-reading the other companies."""
        try:
            config = TenantConfig.model_validate(block)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {_describe_one(exc, block)}") from None
        for field in UNIQUE_FIELDS:
            value = getattr(config, field)
            owner = next((c.company_id for c in self.companies.values() if getattr(c, field) == value), None)
            if owner is not None:
                raise ConfigError(f"{source}: {already_used(config.company_id, field, value, owner)}")
        accounts = dict(self.by_chatwoot_account)
        account = config.chatwoot.account_id
        if account is not None:
            if account in accounts:
                raise ConfigError(f"{source}: "
                                  f"{already_used(config.company_id, 'chatwoot.account_id', account, accounts[account])}")
            accounts[account] = config.company_id
        return RegistrySnapshot({**self.companies, config.company_id: config}, text_version(new_text), accounts)


def _field_error(where: str, loc, msg: str) -> str:
    return f"{where}: field {'.'.join(str(p) for p in loc) or '(block)'}: {msg.removeprefix('Value error, ')}"


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
        lines.append(_field_error(where, loc, e["msg"]))
    return "; ".join(lines)


def _describe_one(err: ValidationError, block: dict) -> str:
    where = f"company {block.get('company_id')!r}" if isinstance(block, dict) else "company block"
    return "; ".join(_field_error(where, e["loc"], e["msg"]) for e in err.errors())


def parse_companies(text: str, source: str = "companies_config.yaml") -> RegistrySnapshot:
    try:
        raw = yaml.load(text, Loader=_Loader) or {}
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
    return RegistrySnapshot(companies, text_version(text), accounts)


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
        """Re-read the file (parsed again only when its text changed). On ConfigError the current snapshot
        keeps serving."""
        with self._lock:
            try:
                unchanged = text_version(self.path.read_text(encoding="utf-8")) == self._snapshot.version
            except (OSError, UnicodeDecodeError):
                unchanged = False                     # load_companies_file says what is wrong
            if not unchanged:
                self._snapshot = load_companies_file(self.path)
            return self._snapshot

    def install(self, snapshot: RegistrySnapshot) -> None:
        """Serve a snapshot made from the file's current text (onboarding just wrote it)."""
        with self._lock:
            self._snapshot = snapshot
