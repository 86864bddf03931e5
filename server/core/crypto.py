"""Passwords, random tokens and their keyed hashes."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# 32 random bytes = 256 bits, well over the 128 bits OWASP ASVS asks of a session token.
TOKEN_BYTES = 32

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps a login for an unknown email as slow as one for a known
    email, so response time does not reveal which accounts exist. Made on first use, not at
    import: a hash costs a fifth of a second, which every command and process would pay."""
    return _hasher.hash("hearth-timing-equaliser")


MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or None. NIST 800-63B: length over composition."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > 256:
        return "The password must be at most 256 characters long."
    return None


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def keyed_hash(secret_key: str, token: str) -> str:
    """HMAC-SHA256 of a token under the server's secret: what the database stores."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# Domain separation: the audit chain's key derived from HEARTH_SECRET_KEY is not any HMAC the
# secret computes elsewhere (session ids, link tokens), so no stored hash doubles as a chain
# hash. "v1" names the derivation, should it ever have to change.
AUDIT_KEY_LABEL = "hearth audit chain v1"


def audit_chain_key(audit_key: str | None, secret_key: str | None) -> bytes | None:
    """The key of the audit log's hash chain: ``HEARTH_AUDIT_KEY`` when it is set, else one
    derived from ``HEARTH_SECRET_KEY``; None when neither is set."""
    if audit_key:
        return audit_key.encode()
    if secret_key:
        return hmac.new(secret_key.encode(), AUDIT_KEY_LABEL.encode(), hashlib.sha256).digest()
    return None


RECORDING_KEY_LABEL = "hearth recordings v1"


def recording_master_key(recording_key: str | None, secret_key: str | None) -> bytes | None:
    """The key visit recordings are sealed under (media/sealed.py derives each file's own
    from it): ``HEARTH_RECORDING_KEY`` when set, else one derived from ``HEARTH_SECRET_KEY``
    (domain-separated like the audit chain's); None when neither is set."""
    if recording_key:
        return hashlib.sha256(recording_key.encode()).digest()
    if secret_key:
        return hmac.new(secret_key.encode(), RECORDING_KEY_LABEL.encode(), hashlib.sha256).digest()
    return None
