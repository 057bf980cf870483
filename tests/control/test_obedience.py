"""Simulated actuators answer commands as firmware does (PROTOCOL.md §14)."""

import json
import random
import time

from village_brain.core.catalog import default_catalog
from village_brain.simulator.obey import Obedience, Temper

REPLY = "village/xiashan/sluice-1/command/result"


OBEDIENT = Temper(fail=0, silent=0)


def sluice(temper=OBEDIENT):
    said, reported = [], []
    obedience = Obedience(
        "xiashan",
        "sluice-1",
        default_catalog(),
        ("sluice_position",),
        lambda topic, body: said.append((topic, json.loads(body))),
        random.Random(1),
        temper,
        report=reported.append,
    )
    return obedience, said, reported


def command(command_id="c-1", value=60.0, expires_in_ms=60_000):
    expires = int(time.time() * 1000) + expires_in_ms
    body = {
        "id": command_id,
        "target": "sluice_position",
        "value": value,
        "expires": expires,
        "reply_to": REPLY,
    }
    return json.dumps(body).encode()


def test_it_accepts_then_says_done_with_the_new_state_and_reports_it():
    obedience, said, reported = sluice()
    obedience.on_command(command())
    assert [body["status"] for _, body in said] == ["accepted", "done"]
    assert said[1][1]["state"] == {"sluice_position": 60.0}
    assert obedience.state == {"sluice_position": 60.0} and reported == [{"sluice_position": 60.0}]


def test_a_repeated_id_is_answered_again_without_acting_twice():
    obedience, said, reported = sluice()
    obedience.on_command(command())
    obedience.on_command(command(value=10.0))  # same id: the first command, sent again
    assert len(said) == 4 and obedience.state == {"sluice_position": 60.0}
    assert len(reported) == 1


def test_an_expired_command_is_dropped_unanswered():
    obedience, said, _ = sluice()
    obedience.on_command(command(expires_in_ms=-1))
    assert said == [] and obedience.state == {}


def test_a_stubborn_actuator_fails_and_a_silent_one_says_nothing():
    stubborn, said, _ = sluice(Temper(fail=1, silent=0))
    stubborn.on_command(command())
    assert said[-1][1]["status"] == "failed" and stubborn.state == {}
    silent, heard, _ = sluice(Temper(fail=0, silent=1))
    silent.on_command(command())
    assert heard == []


def test_the_answer_goes_to_the_mqtt5_response_topic_when_given():
    obedience, said, _ = sluice()
    obedience.on_command(command(), response_topic="elsewhere/result")
    assert {topic for topic, _ in said} == {"elsewhere/result"}
