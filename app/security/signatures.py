"""HMAC-SHA256 request signatures for server-to-server calls.

  X-Misy-Timestamp: unix seconds     X-Misy-Nonce: random, >= 16 chars
  X-Misy-Signature: hex HMAC-SHA256(secret, "{timestamp}.{nonce}.{METHOD}.{path}.{raw body}")

Rejected: missing or malformed headers, a timestamp outside the window, a wrong signature (constant-time
compare against each active secret, so rotation works), or a nonce already seen within the window.
The nonce is recorded only after the signature verifies, so forged requests cannot fill Redis.

`check_signature` is the part without Redis; the front desk (app/security/frontdesk.py) records the nonce in
the same script that checks revocation and counts the rate limits. Nonce keys carry the tenant as a hash tag
(`misybot:nonce:{<company>}:<nonce>`) so that script touches one Redis Cluster slot.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time

import redis

from app.tenancy.config import PLATFORM_REDIS_PREFIX

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_SIG = re.compile(r"^[0-9a-f]{64}$")


class SignatureError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def signing_string(timestamp: str, nonce: str, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}.{nonce}.{method.upper()}.{path}.".encode() + body


def sign(secret: bytes, timestamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    return hmac.new(secret, signing_string(timestamp, nonce, method, path, body), hashlib.sha256).hexdigest()


def nonce_key(company_id: str, nonce: str) -> str:
    return f"{PLATFORM_REDIS_PREFIX}nonce:{{{company_id}}}:{nonce}"


def legacy_nonce_key(company_id: str, nonce: str) -> str:
    """The name before the hash tag; still checked on a single Redis while such nonces live (2 × window)."""
    return f"{PLATFORM_REDIS_PREFIX}nonce:{company_id}:{nonce}"


def check_signature(secrets_: list[bytes], headers, method: str, path: str, body: bytes, window_s: int) -> str:
    """Everything but the replay guard; returns the nonce to record. Raises SignatureError."""
    ts, nonce, sig = (headers.get("X-Misy-Timestamp"), headers.get("X-Misy-Nonce"), headers.get("X-Misy-Signature"))
    if not (ts and nonce and sig):
        raise SignatureError("signature_required", "this call must be signed (X-Misy-Timestamp, X-Misy-Nonce, "
                                                   "X-Misy-Signature)")
    if not re.fullmatch(r"[0-9]{1,12}", ts) or not _NONCE.match(nonce) or not _SIG.match(sig.lower()):
        raise SignatureError("invalid_signature", "malformed signature headers")
    if abs(time.time() - int(ts)) > window_s:
        raise SignatureError("stale_request", f"the timestamp is outside the ±{window_s} s window")
    good = [hmac.compare_digest(sign(s, ts, nonce, method, path, body), sig.lower()) for s in secrets_]
    if not any(good):
        raise SignatureError("invalid_signature", "the signature does not match")
    return nonce


def replayed() -> SignatureError:
    return SignatureError("replayed_request", "this nonce was already used")


def verify_signature(r: redis.Redis, company_id: str, secrets_: list[bytes], headers, method: str, path: str,
                     body: bytes, window_s: int) -> None:
    """The whole check with its own nonce write (the front desk folds the write into its one script)."""
    nonce = check_signature(secrets_, headers, method, path, body, window_s)
    if not r.set(nonce_key(company_id, nonce), 1, nx=True, ex=2 * window_s):
        raise replayed()
