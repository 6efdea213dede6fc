"""Tenant access tokens (TAT) and widget session tokens: RS256 JWTs from PyJWT.

Signing keys are RSA-2048, identified by `kid`, stored encrypted in Redis so every app process signs
and verifies with the same set; the public halves are served at /.well-known/jwks.json. Rotation
adds a key and makes it current; older keys keep verifying until retired. Verification pins RS256
(so `alg: none` and HS/RS confusion fail), requires exp/iat/aud/iss/jti, and checks revocation by jti
and per tenant (every token issued before a time T).

What a process keeps, so that a request costs one Redis round trip (app/security/frontdesk.py):
- the parsed public keys, each trusted for KEY_CACHE_S before Redis is asked again: a key retired in
  another process stops verifying here within KEY_CACHE_S (at once in the process that retires it); a new
  key (rotation) verifies at once, since an unknown kid is looked up;
- the claims of tokens it has fully verified (by SHA-256 of the token), so a token seen again skips the
  RSA check and the JSON parsing. Expiry is checked again on every use, and an entry is only used while its
  key is still trusted as above. Revocation is never cached: every request asks Redis (the same round trip
  as the nonce and the rate limits), so a revoked token is refused at once everywhere.

Keys (each group on one Redis Cluster hash slot):
  misybot:{jwks}                              hash kid -> json {private (encrypted), public, created, status}
  misybot:{jwks}:current                      the kid that signs
  misybot:tat:{<company>}:revoked:<jti>       a revoked token (until it would have expired)
  misybot:tat:{<company>}:revoked_before      every token of the company issued before this time is revoked
"""
from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from typing import Any

import jwt
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.security.frontdesk import Admission, Gate, Outcome
from app.security.vault import Vault
from app.storage.redis_store import is_cluster
from app.tenancy.config import PLATFORM_REDIS_PREFIX

# The JWKS hash and its current-kid pointer are written together (MULTI): one hash tag, one slot.
_KEYS = f"{PLATFORM_REDIS_PREFIX}{{jwks}}"
_CURRENT = f"{PLATFORM_REDIS_PREFIX}{{jwks}}:current"
# Names before the hash tags, still honoured on a single Redis (a cluster needs them renamed; see the
# lead's migration): tokens revoked by jti under the old name are found until they expire.
_LEGACY_REVOKED_JTI = f"{PLATFORM_REDIS_PREFIX}tat:revoked:"
_LEGACY_REVOKED_BEFORE = f"{PLATFORM_REDIS_PREFIX}tat:revoked_before:"
LEEWAY_S = 30
KEY_CACHE_S = 2.0               # how long a process trusts its copy of a public key (key retirement delay)
VERIFIED_CACHE_MAX = 10_000     # fully verified tokens remembered per process


def revoked_jti_key(tenant_id: str, jti: str) -> str:
    return f"{PLATFORM_REDIS_PREFIX}tat:{{{tenant_id}}}:revoked:{jti}"


def revoked_before_key(tenant_id: str) -> str:
    return f"{PLATFORM_REDIS_PREFIX}tat:{{{tenant_id}}}:revoked_before"


class TokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class _Key:
    __slots__ = ("raw", "public", "private", "checked")

    def __init__(self, raw: str, public, checked: float):
        self.raw, self.public, self.checked = raw, public, checked
        self.private: Any = None            # decrypted on the first signature only


class TokenService:
    def __init__(self, client: redis.Redis, vault: Vault, issuer: str, audience: str):
        self.redis, self.vault = client, vault
        self.issuer, self.audience = issuer, audience
        self.gate = Gate(client)
        self._cluster = is_cluster(client)
        self._keys: dict[str, _Key] = {}
        self._verified: dict[bytes, tuple[dict, str]] = {}     # sha256(token) -> (claims, kid)
        self._lock = threading.Lock()

    # -- keys -------------------------------------------------------------------------------------
    def rotate_signing_key(self) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = "k" + time.strftime("%Y%m%d") + "-" + secrets.token_hex(4)
        private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
        public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        record = {"private": self.vault.encrypt(private_pem), "public": public_pem, "created": time.time(),
                  "status": "active"}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(_KEYS, kid, json.dumps(record))
        pipe.set(_CURRENT, kid)
        pipe.execute()
        return kid

    def retire_signing_key(self, kid: str) -> bool:
        raw = self.redis.hget(_KEYS, kid)
        if not raw or self.redis.get(_CURRENT) == kid:
            return False
        self.redis.hdel(_KEYS, kid)
        self._forget(kid)
        return True

    def _forget(self, kid: str) -> None:
        with self._lock:
            self._keys.pop(kid, None)
            for h in [h for h, (_, k) in self._verified.items() if k == kid]:
                del self._verified[h]

    def rotate_encryption(self) -> int:
        """Re-encrypt the stored private keys under the first master key."""
        n = 0
        for kid, raw in self.redis.hgetall(_KEYS).items():
            record = json.loads(raw)
            record["private"] = self.vault.rotate(record["private"])
            self.redis.hset(_KEYS, kid, json.dumps(record))
            n += 1
        return n

    def _current_kid(self) -> str:
        kid = self.redis.get(_CURRENT)
        if kid and self.redis.hexists(_KEYS, kid):
            return kid
        # First use: one process creates the key, the others wait on the same lock and read it.
        with self.redis.lock(f"{PLATFORM_REDIS_PREFIX}lock:jwks", timeout=30, blocking_timeout=30):
            kid = self.redis.get(_CURRENT)
            return kid if kid and self.redis.hexists(_KEYS, kid) else self.rotate_signing_key()

    def _key(self, kid: str) -> _Key | None:
        """The key `kid` if Redis still has it, asking Redis at most every KEY_CACHE_S. The Redis set of keys is
        the truth: a key retired by another process stops verifying here too, within KEY_CACHE_S."""
        now = time.monotonic()
        entry = self._keys.get(kid)
        if entry is not None and now - entry.checked < KEY_CACHE_S:
            return entry
        raw = self.redis.hget(_KEYS, kid)
        if not raw:
            self._forget(kid)
            return None
        if entry is None or entry.raw != raw:
            entry = _Key(raw, serialization.load_pem_public_key(json.loads(raw)["public"].encode()), now)
        entry.checked = now
        with self._lock:
            self._keys[kid] = entry
        return entry

    def _load(self, kid: str):
        """(private, public) of `kid`, or (None, None) once it is retired. The private half is decrypted on the
        first signature only (verifying processes never need it)."""
        entry = self._key(kid)
        if entry is None:
            return None, None
        if entry.private is None:
            pem = self.vault.decrypt(json.loads(entry.raw)["private"])
            entry.private = serialization.load_pem_private_key(pem.encode(), None)
        return entry.private, entry.public

    def jwks(self) -> dict:
        keys = []
        for kid, raw in sorted(self.redis.hgetall(_KEYS).items()):
            public = serialization.load_pem_public_key(json.loads(raw)["public"].encode())
            assert isinstance(public, rsa.RSAPublicKey)      # we only ever store RS256 keys
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    # -- tokens -----------------------------------------------------------------------------------
    def issue(self, *, tenant_id: str, site_id: str, origin: str, permissions: list[str], ttl_s: int,
              typ: str = "tat", visitor_id: str | None = None) -> tuple[str, dict]:
        kid = self._current_kid()
        private, _ = self._load(kid)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "iat": now, "nbf": now, "exp": now + ttl_s,
                  "jti": secrets.token_urlsafe(16), "typ": typ, "tenant_id": tenant_id, "site_id": site_id,
                  "origin": origin, "permissions": sorted(permissions)}
        if visitor_id:
            claims["visitor_id"] = visitor_id
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid}), claims

    def verify_claims(self, token: str, typ: str) -> dict:
        """Signature, algorithm, expiry, audience, issuer and kind, without revocation (see `revocation`).
        Costs no Redis round trip while the token's key is trusted (KEY_CACHE_S)."""
        if not token or len(token) > 8192:
            raise TokenError("invalid_token", "malformed token")
        digest = hashlib.sha256(token.encode()).digest()
        hit = self._verified.get(digest)
        if hit is not None and self._key(hit[1]) is not None:
            claims = hit[0]
            # The one check that can change with time once a token verified (nbf/iat only ever pass later):
            # the same test as PyJWT's, with the same leeway.
            if claims["exp"] <= time.time() - LEEWAY_S:
                with self._lock:
                    self._verified.pop(digest, None)
                raise TokenError("token_expired", "the token has expired")
            return self._of_kind(claims, typ)
        claims, kid = self._decode(token)
        with self._lock:
            if len(self._verified) >= VERIFIED_CACHE_MAX:
                self._verified.pop(next(iter(self._verified)), None)        # the oldest
            self._verified[digest] = (claims, kid)
        return self._of_kind(claims, typ)

    def _decode(self, token: str) -> tuple[dict, str]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise TokenError("invalid_token", "malformed token") from None
        entry = self._key(kid) if isinstance(kid, str) and 0 < len(kid) < 100 else None
        if entry is None:
            raise TokenError("invalid_token", "unknown signing key")
        try:
            claims = jwt.decode(token, entry.public, algorithms=["RS256"], audience=self.audience,
                                issuer=self.issuer, leeway=LEEWAY_S,
                                options={"require": ["exp", "iat", "aud", "iss", "jti"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the token has expired") from None
        except jwt.PyJWTError:               # bad signature, alg none/HS*, wrong aud/iss, missing claims
            raise TokenError("invalid_token", "the token is not valid") from None
        if not isinstance(claims.get("tenant_id"), str) or not isinstance(claims.get("iat"), (int, float)):
            raise TokenError("invalid_token", "the token is not valid")
        return claims, str(kid)

    @staticmethod
    def _of_kind(claims: dict, typ: str) -> dict:
        if claims.get("typ") != typ:
            raise TokenError("invalid_token", "wrong kind of token for this endpoint")
        return dict(claims)          # the cached claims stay as verified whatever a caller does with its copy

    def revocation(self, claims: dict) -> Admission:
        """The revocation checks of a verified token, for the front desk's one round trip (more may be added
        to the same Admission: the nonce, the rate-limit windows)."""
        tenant, jti = claims["tenant_id"], str(claims["jti"])
        a = Admission(iat=claims["iat"], revoked=[revoked_jti_key(tenant, jti)],
                      revoked_before=[revoked_before_key(tenant)])
        if not self._cluster:            # names from before the hash tags (another slot: single Redis only)
            a.revoked.append(_LEGACY_REVOKED_JTI + jti)
            a.revoked_before.append(_LEGACY_REVOKED_BEFORE + tenant)
        return a

    @staticmethod
    def refuse_revoked(outcome: Outcome) -> None:
        if outcome.status == "revoked":
            raise TokenError("token_revoked", "the token has been revoked")

    def verify(self, token: str, typ: str) -> dict:
        """The whole check: verify_claims, then revocation (one Redis round trip)."""
        claims = self.verify_claims(token, typ)
        self.refuse_revoked(self.gate.admit(self.revocation(claims), time.time()))
        return claims

    def revoke_jti(self, jti: str, expires_at: int, tenant_id: str | None = None) -> None:
        """Revoke one token. `tenant_id` (the token's company) puts the mark on that company's slot, where the
        front desk looks; without it (older callers) the mark goes under the old name, which only a single
        Redis still honours."""
        ttl = max(int(expires_at - time.time()) + LEEWAY_S, 1)
        if tenant_id is not None:
            self.redis.set(revoked_jti_key(tenant_id, jti), 1, ex=ttl)
        elif self._cluster:
            raise ValueError("revoking a token on Redis Cluster needs its tenant_id")
        else:
            self.redis.set(_LEGACY_REVOKED_JTI + jti, 1, ex=ttl)

    def revoke_tenant_tokens(self, tenant_id: str, before: float | None = None) -> float:
        """Every token of the tenant issued before `before` (default now) stops working. iat has one-second
        resolution, so a token issued in the same second just before or after is revoked too (safe side)."""
        before = before or time.time()
        self.redis.set(revoked_before_key(tenant_id), before)
        return before
