"""Loads, validates and reloads companies_config.yaml. A bad file never replaces a good one.

The whole file is parsed at start-up, on an explicit reload, and when a process cannot follow another's changes
one by one (libyaml's C loader: 1,000 companies in about a second). A company added by onboarding is validated
alone against the unique-field indexes of the current snapshot (`RegistrySnapshot.plus`), here and in every other
process (Platform.sync_config replays the one block), so onboarding the 1,000th company costs what the first did."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from app.tenancy.config import UNIQUE_FIELDS, CompaniesFile, TenantConfig, already_used


class ConfigError(Exception):
    """The companies file cannot be used; the message names the company and the field."""


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)          # libyaml when the wheel has it


def text_version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _owners(companies: dict[str, TenantConfig]) -> dict[str, dict]:
    return {f: {getattr(c, f): c.company_id for c in companies.values()} for f in UNIQUE_FIELDS}


@dataclass(frozen=True)
class RegistrySnapshot:
    companies: dict[str, TenantConfig]
    version: str                      # sha256 of the file text, so caches can key on it
    by_chatwoot_account: dict[int, str]
    # unique field -> value -> company_id, so an added company is checked in O(1) per field
    owners: dict[str, dict] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not self.owners:
            object.__setattr__(self, "owners", _owners(self.companies))

    def plus(self, block: dict, new_text: str | None = None, source: str = "companies_config.yaml",
             version: str | None = None) -> "RegistrySnapshot":
        """This snapshot with one more company, validated alone against the others' unique fields, as the
        whole file would be (CompaniesFile): the same errors, without re-reading the other companies.
        The new version is that of new_text, or `version` when another process already computed it."""
        try:
            config = TenantConfig.model_validate(block)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {_describe_one(exc, block)}") from None
        for name in UNIQUE_FIELDS:
            value = getattr(config, name)
            owner = self.owners[name].get(value)
            if owner is not None:
                raise ConfigError(f"{source}: {already_used(config.company_id, name, value, owner)}")
        accounts = dict(self.by_chatwoot_account)
        account = config.chatwoot.account_id
        if account is not None:
            if account in accounts:
                raise ConfigError(f"{source}: "
                                  f"{already_used(config.company_id, 'chatwoot.account_id', account, accounts[account])}")
            accounts[account] = config.company_id
        if version is None:
            if new_text is None:
                raise ValueError("plus() needs the new file text or its version")
            version = text_version(new_text)
        owners = {name: {**index, getattr(config, name): config.company_id} for name, index in self.owners.items()}
        return RegistrySnapshot({**self.companies, config.company_id: config}, version, accounts, owners)


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
    if "companies" in raw:              # `companies:` with no item yet (what onboarding starts an empty file with)
        raw = {**raw, "companies": raw_companies}
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

    def install(self, snapshot: RegistrySnapshot, base: RegistrySnapshot | None = None) -> bool:
        """Serve a snapshot made from the file's current text (onboarding just wrote it). With `base`, only if
        the current snapshot is still that one (a change replayed from another process must not undo a reload
        made meanwhile)."""
        with self._lock:
            if base is not None and self._snapshot is not base:
                return False
            self._snapshot = snapshot
            return True
