"""Tenant access tokens (TAT) and widget session tokens: RS256 JWTs from PyJWT.

Signing keys are RSA-2048, identified by `kid`, stored encrypted in Redis so every app process signs
and verifies with the same set; the public halves are served at /.well-known/jwks.json. Rotation
adds a key and makes it current; older keys keep verifying until retired. Verification pins RS256
(so `alg: none` and HS/RS confusion fail), requires exp/iat/aud/iss/jti, and checks revocation by jti
and per tenant (every token issued before a time T).
"""
from __future__ import annotations

import json
import secrets
import threading
import time

import jwt
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.security.vault import Vault
from app.tenancy.config import PLATFORM_REDIS_PREFIX

_KEYS = f"{PLATFORM_REDIS_PREFIX}jwks"            # hash kid -> json {private (encrypted), public, created, status}
_CURRENT = f"{PLATFORM_REDIS_PREFIX}jwks:current"
_REVOKED_JTI = f"{PLATFORM_REDIS_PREFIX}tat:revoked:"
_REVOKED_BEFORE = f"{PLATFORM_REDIS_PREFIX}tat:revoked_before:"
LEEWAY_S = 30


class TokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class TokenService:
    def __init__(self, client: redis.Redis, vault: Vault, issuer: str, audience: str):
        self.redis, self.vault = client, vault
        self.issuer, self.audience = issuer, audience
        self._private: dict[str, object] = {}
        self._public: dict[str, object] = {}
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
        with self._lock:
            self._public.pop(kid, None)
            self._private.pop(kid, None)
        return True

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

    def _load(self, kid: str):
        # The Redis set of keys is the truth: a key retired by another process stops verifying here too.
        if not self.redis.hexists(_KEYS, kid):
            with self._lock:
                self._public.pop(kid, None)
                self._private.pop(kid, None)
            return None, None
        with self._lock:
            if kid in self._public:
                return self._private.get(kid), self._public[kid]
        raw = self.redis.hget(_KEYS, kid)
        if not raw:
            return None, None
        record = json.loads(raw)
        public = serialization.load_pem_public_key(record["public"].encode())
        private = serialization.load_pem_private_key(self.vault.decrypt(record["private"]).encode(), None)
        with self._lock:
            self._public[kid], self._private[kid] = public, private
        return private, public

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

    def verify(self, token: str, typ: str) -> dict:
        if not token or len(token) > 8192:
            raise TokenError("invalid_token", "malformed token")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise TokenError("invalid_token", "malformed token") from None
        _, public = self._load(kid) if isinstance(kid, str) and len(kid) < 100 else (None, None)
        if public is None:
            raise TokenError("invalid_token", "unknown signing key")
        try:
            claims = jwt.decode(token, public, algorithms=["RS256"], audience=self.audience, issuer=self.issuer,
                                leeway=LEEWAY_S, options={"require": ["exp", "iat", "aud", "iss", "jti"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the token has expired") from None
        except jwt.PyJWTError:               # bad signature, alg none/HS*, wrong aud/iss, missing claims
            raise TokenError("invalid_token", "the token is not valid") from None
        if claims.get("typ") != typ or not isinstance(claims.get("tenant_id"), str):
            raise TokenError("invalid_token", "wrong kind of token for this endpoint")
        if self.redis.exists(_REVOKED_JTI + str(claims["jti"])):
            raise TokenError("token_revoked", "the token has been revoked")
        before = self.redis.get(_REVOKED_BEFORE + claims["tenant_id"])
        if before and claims["iat"] < float(before):
            raise TokenError("token_revoked", "the token has been revoked")
        return claims

    def revoke_jti(self, jti: str, expires_at: int) -> None:
        ttl = max(int(expires_at - time.time()) + LEEWAY_S, 1)
        self.redis.set(_REVOKED_JTI + jti, 1, ex=ttl)

    def revoke_tenant_tokens(self, tenant_id: str, before: float | None = None) -> float:
        """Every token of the tenant issued before `before` (default now) stops working. iat has one-second
        resolution, so a token issued in the same second just before or after is revoked too (safe side)."""
        before = before or time.time()
        self.redis.set(_REVOKED_BEFORE + tenant_id, before)
        return before
