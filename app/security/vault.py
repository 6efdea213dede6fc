"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under MISYBOT_MASTER_KEY.

The master key may be a Fernet key or any passphrase of 32+ characters (stretched with SHA-256).
Several comma-separated keys rotate it: the first encrypts, every one decrypts (MultiFernet), and
`rotate()` re-encrypts a value under the first.
"""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(RuntimeError):
    pass


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        if len(key) < 32:
            raise VaultError("MISYBOT_MASTER_KEY must be a Fernet key or at least 32 characters") from None
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class Vault:
    def __init__(self, master_keys: str):
        keys = [k.strip() for k in master_keys.split(",") if k.strip()]
        if not keys:
            raise VaultError("no master key")
        self._f = MultiFernet([_fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._f.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._f.decrypt(token.encode()).decode()
        except InvalidToken:
            raise VaultError("a stored secret cannot be decrypted with the configured master key(s)") from None

    def rotate(self, token: str) -> str:
        return self._f.rotate(token.encode()).decode()
