"""Retry timing: exponential backoff with jitter, capped, and a limit on attempts."""

from __future__ import annotations

import random

from village_brain.alerts.dispatcher import RetryPolicy, next_attempt_ms, retry_delay_ms

POLICY = RetryPolicy(first_retry_ms=10_000, max_retry_ms=3_600_000, max_attempts=15)


def test_each_retry_waits_about_twice_as_long_as_the_one_before():
    rng = random.Random(1)
    for attempts in range(1, 8):
        step = 10_000 * 2 ** (attempts - 1)
        delay = retry_delay_ms(attempts, POLICY, rng)
        assert step / 2 <= delay <= step


def test_the_wait_never_exceeds_the_longest_retry_interval():
    rng = random.Random(2)
    assert all(retry_delay_ms(14, POLICY, rng) <= 3_600_000 for _ in range(100))


def test_jitter_spreads_retries_of_many_deliveries():
    rng = random.Random(3)
    assert len({retry_delay_ms(3, POLICY, rng) for _ in range(20)}) > 10


def test_a_delivery_is_given_up_after_the_last_allowed_attempt():
    rng = random.Random(4)
    assert next_attempt_ms(14, 0, POLICY, rng) is not None
    assert next_attempt_ms(15, 0, POLICY, rng) is None
