"""Standard Webhooks signatures, checked with the public `standardwebhooks` library."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from village_brain.alerts.signing import new_secret, standard_signature, valid_secret


def headers(secret: str, body: bytes, msg_id: str = "msg_1") -> dict[str, str]:
    now = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": standard_signature(secret, msg_id, now, body),
    }


def test_a_signed_body_verifies_with_the_standard_library():
    secret = new_secret()
    body = json.dumps({"type": "alert.firing", "data": {"id": 1}}).encode()
    assert Verifier(secret).verify(body, headers(secret, body)) == {
        "type": "alert.firing",
        "data": {"id": 1},
    }


def test_a_changed_body_fails_verification():
    secret = new_secret()
    signed = headers(secret, b'{"a": 1}')
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(b'{"a": 2}', signed)


def test_new_secrets_are_whsec_base64_and_distinct():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and valid_secret(first) and first != second
    assert not valid_secret("whsec_not base64!")
