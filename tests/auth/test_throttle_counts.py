"""The failure counts themselves: taken before each check, and kept within bounds."""

from __future__ import annotations

import pytest
from login_support import FakeClock

from village_brain.auth.login_queue import LoginBusy, LoginQueue
from village_brain.auth.throttle import LoginThrottle, LoginThrottled


def throttle(clock: FakeClock, **limits: int) -> LoginThrottle:
    settings = {"per_account": 3, "per_address": 1_000} | limits
    return LoginThrottle(900, clock=clock, **settings)


def test_attempts_still_being_checked_count_against_the_limit() -> None:
    counts = throttle(FakeClock())
    for _ in range(3):
        counts.attempt("operator", "10.0.0.1")
    with pytest.raises(LoginThrottled):
        counts.attempt("operator", "10.0.0.2")


def test_a_good_login_is_not_left_counted_against_its_address() -> None:
    counts = throttle(FakeClock(), per_address=2)
    for name in ("wang", "li", "zhao"):
        counts.succeeded(counts.attempt(name, "10.0.0.1"))
    counts.attempt("zhou", "10.0.0.1")


def test_a_flood_of_made_up_names_keeps_a_bounded_number_of_counts() -> None:
    counts = LoginThrottle(900, 3, 1_000_000, clock=FakeClock(), tracked_at_most=100)
    for n in range(5_000):
        counts.attempt(f"nobody-{n}", f"10.0.{n // 250}.{n % 250}")
    assert counts.tracked() <= 100


def test_the_counts_forgotten_first_are_the_stalest() -> None:
    clock = FakeClock()
    counts = LoginThrottle(900, 3, 1_000, clock=clock, tracked_at_most=3)
    for name in ("operator", "wang"):
        clock.advance(1)
        for _ in range(3):
            counts.attempt(name, "10.0.0.1")
    counts.attempt("li", "10.0.0.1")  # one more name than is kept
    with pytest.raises(LoginThrottled):
        counts.attempt("wang", "10.0.0.1")
    counts.attempt("operator", "10.0.0.1")


def test_counts_whose_window_has_passed_make_room_first() -> None:
    clock = FakeClock()
    counts = LoginThrottle(900, 3, 1_000, clock=clock, tracked_at_most=3)
    counts.attempt("operator", "10.0.0.1")
    clock.advance(901)
    counts.attempt("wang", "10.0.0.2")
    assert counts.tracked() == 2


def test_a_full_login_queue_refuses_until_a_place_is_free() -> None:
    queue = LoginQueue(2)
    with queue.place(), queue.place(), pytest.raises(LoginBusy), queue.place():
        pass
    with queue.place():
        pass
