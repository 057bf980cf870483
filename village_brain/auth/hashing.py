"""Passwords hashed with Argon2id; tokens and session ids, being long and random, with SHA-256.

A random 256-bit secret cannot be guessed from its digest, so it needs no slow hash; that keeps
looking one up on every request cheap. Passwords are chosen by people and need the slow one.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_like_a_check(password: str) -> None:
    """Take as long as checking a real password, so a wrong name is not told apart by timing."""
    password_matches(_decoy_hash(), password)


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))
