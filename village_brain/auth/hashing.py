"""Passwords hashed with Argon2id; tokens and session ids, being long and random, with SHA-256.

A random 256-bit secret cannot be guessed from its digest, so it needs no slow hash; that keeps
looking one up on every request cheap. Passwords are chosen by people and need the slow one.

Argon2 is slow because it fills ARGON2_MEMORY_KIB (64 MiB) for every hash, so the process
computes at most CHECKS_AT_ONCE of them at a time and the others wait their turn: otherwise
memory grows with the number of logins sent at once, 2.5 GB for forty.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

CHECKS_AT_ONCE = 2

_hasher = PasswordHasher()
ARGON2_MEMORY_KIB: int = _hasher.memory_cost
_turns = threading.Semaphore(CHECKS_AT_ONCE)
# Keyed, so that a tag in the log cannot be reversed by hashing guesses; new at every start.
_TAG_KEY = secrets.token_bytes(32)


def hash_password(password: str) -> str:
    with _turns:
        return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        with _turns:
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


def log_tag(text: str) -> str:
    """A short stand-in for text that must not be logged (a name that may be a password): the
    same text gets the same tag until the process restarts, and the tag reveals nothing."""
    return hmac.new(_TAG_KEY, text.encode("utf-8"), hashlib.sha256).hexdigest()[:10]


@cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
