"""Device passwords: made here, shown once, kept only as hashes Mosquitto can check.

The hash is Mosquitto's own password-file format for PBKDF2-SHA512,
`$7$<iterations>$<base64 salt>$<base64 key>`, so a stored hash goes into the broker's
password file as it is and no plain password is ever kept. No maintained Python library
writes this format, and the standard library has PBKDF2, so it is done here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

HASH_ID = "7"
# mosquitto_passwd uses 101; the broker reads the count from each line, so more is
# simply stronger (about a millisecond per device login at this count).
ITERATIONS = 10_000
_SALT_BYTES = 12
_KEY_BYTES = 64
_PASSWORD_BYTES = 18  # 24 URL-safe characters: easy to type into a device's setup page


def new_password() -> str:
    return secrets.token_urlsafe(_PASSWORD_BYTES)


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(password, salt, iterations)
    return f"${HASH_ID}${iterations}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, hashed: str) -> bool:
    """True when `password` matches a `$7$` hash, as the broker would decide."""
    try:
        _, hash_id, iterations, salt, key = hashed.split("$")
        if hash_id != HASH_ID:
            return False
        expected = base64.b64decode(key, validate=True)
        derived = _derive(password, base64.b64decode(salt, validate=True), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(derived, expected)


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, _KEY_BYTES)


def _b64(data: bytes) -> str:
    # Mosquitto decodes the standard alphabet with padding; '.' or '-' would void the entry.
    return base64.b64encode(data).decode("ascii")
