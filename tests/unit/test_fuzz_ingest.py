"""Fuzzing the codecs and the pipeline: whatever a device sends, the outcome is a rule's.

Payloads are drawn around the protocol's own shapes (native messages, SenML packs, events)
with the values that break naive code: numbers beyond a double, times of hundreds of digits,
lone surrogates, NaN, deep nesting, and truncated or spliced bytes. The runs are
derandomized with a fixed number of examples, so CI sees the same cases every time.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Decoded, PayloadError
from village_brain.core.timefmt import is_time_ms
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.codecs.jsontext import MAX_DEPTH, nested_deeper_than
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.validate import TimeWindow
from village_brain.ingest.writer import _registry_changes
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

NOW = 1_795_939_200_000
CATALOG = default_catalog()
PROTOCOL = (Path(__file__).parents[2] / "PROTOCOL.md").read_text("utf-8")
REJECTIONS = PROTOCOL.split("## 10. Rejections")[1].split("\n## ")[0]
DOCUMENTED = set(re.findall(r"^\| `([a-z_]+)` \|", REJECTIONS, flags=re.MULTILINE))


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# --- what the payloads are made of ----------------------------------------------------------

SENSORS = [*CATALOG.types, "temperature", "voltage", "no_such_sensor", "", "\ud800", "\udfff x"]
UNITS = sorted({u for t in CATALOG.types.values() for u in [t.unit, *t.aliases, *t.units]})
# The values that break naive code come first: Hypothesis draws early entries more often.
TIMES = [
    *(10**400, -(10**400), 1e306, -1e306, 1e308, math.nan, 2**63, -(2**63) - 1),
    *("1" * 30, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", ""),
    *(NOW, NOW - 60_000, NOW + 3_600_000, 0, -1, 1.5e12),
    *("2026-11-29T08:00:00Z", "2026-11-29T08:00:00", "1795939200000"),
]
SECONDS = [1e306, -1e306, 1e308, 10**400, 2**63, math.nan, 0, -60, 1.5, 1_795_939_200, 2**28]
NUMBERS = [1e308, -1e308, 10**400, -(10**400), 1e-320, 2**53 + 1, 10**20, -0.0, 1.42, -87]
TEXT = ["\ud800", "\udfff x", "on", "off", "NaN", "[[", '"', "\\", "水位", "\x00", True]
LEVELS = [0, 0, 0, 0, 1, MAX_DEPTH - 4, MAX_DEPTH, MAX_DEPTH + 1, 300, 1000]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
keys = st.sampled_from(["v", "u", "ts", "values", "batch", "type", "data", *SENSORS]) | st.text(
    max_size=8
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=16,
)


def mostly(edge_cases: list, otherwise: st.SearchStrategy = scalars) -> st.SearchStrategy:
    """Usually one of the edge cases that matter here, sometimes anything at all."""
    return st.one_of(st.sampled_from(edge_cases), st.sampled_from(edge_cases), otherwise)


def with_odd(good: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    """A valid object with some of its fields replaced or added by odd ones: the readings
    that stay valid carry the odd parts deep into the pipeline."""
    return st.builds(lambda base, extra: {**base, **extra}, good, odd)


KNOWN = sorted(CATALOG.types)
GOOD = st.sampled_from([1.0, 0, 1])  # valid for every sensor type of the catalog
native_time = mostly(TIMES)
reading_value = st.one_of(
    mostly(NUMBERS),
    mostly(TEXT),
    st.fixed_dictionaries({"v": mostly(NUMBERS)}, optional={"u": mostly(UNITS), "ts": native_time}),
    json_values,
)
values_object = with_odd(
    st.dictionaries(st.sampled_from(KNOWN), GOOD, min_size=1, max_size=3),
    st.dictionaries(mostly(SENSORS, keys), reading_value, max_size=2),
)
native_entry = st.fixed_dictionaries({"values": values_object}, optional={"ts": native_time})
native = with_odd(
    native_entry,
    st.fixed_dictionaries(
        {},
        optional={"batch": st.lists(native_entry | json_values, max_size=3), "values": json_values},
    ),
)
senml_record = with_odd(
    st.fixed_dictionaries({"n": st.sampled_from(KNOWN), "v": GOOD}),
    st.fixed_dictionaries(
        {},
        optional={
            "n": mostly(SENSORS),
            "v": mostly(NUMBERS),
            "t": mostly(SECONDS),
            "u": mostly(UNITS),
            "vb": scalars,
            "vs": mostly(TEXT),
            "vd": scalars,
            "s": mostly(NUMBERS),
        },
    ),
)
senml_base = st.fixed_dictionaries(
    {},
    optional={
        "bn": mostly(["urn:dev:ow:10e2073a01080063:", "", "a/"]),
        "bt": mostly(SECONDS),
        "bu": mostly(UNITS),
        "bv": mostly(NUMBERS),
        "bs": mostly(NUMBERS),
        "bver": mostly([1, 10, 11, 10**400]),
        "x_": scalars,
    },
)
senml = st.lists(st.one_of(senml_record, senml_record, senml_base, json_values), max_size=5)
event = with_odd(
    st.fixed_dictionaries({"type": st.just("door_opened"), "data": st.just({"door": "pump"})}),
    st.fixed_dictionaries(
        {},
        optional={
            "type": mostly(["Bad Type", ""]),
            "ts": native_time,
            "data": st.dictionaries(keys, json_values, max_size=4) | json_values,
        },
    ),
)
any_document = st.one_of(native, senml, event, json_values)
content_types = st.sampled_from(
    [None, "application/senml+json", "application/vnd.village-brain+json", "text/plain"]
)
WRAPPERS = {
    "arrays": (b"[", b"]"),
    "objects": (b'{"values": ', b"}"),
    "batch": (b'{"batch": [', b"]}"),
}


def wrapped(body: bytes, levels: int, how: str) -> bytes:
    """`body` under `levels` levels of nesting, written out (json.dumps would run out of stack)."""
    opening, closing = WRAPPERS[how]
    return opening * levels + body + closing * levels


def json_text(document: object) -> bytes:
    return json.dumps(document, allow_nan=True).encode()  # escapes lone surrogates, writes NaN


@st.composite
def payloads(draw: st.DrawFn, documents: st.SearchStrategy) -> bytes:
    """JSON text of a document; sometimes buried deep, cut short or spliced with junk."""
    body = json_text(draw(documents))
    how = draw(st.sampled_from(["as is"] * 5 + ["deep", "cut", "spliced"]))
    if how == "deep":
        levels = draw(st.sampled_from([level for level in LEVELS if level > 1]))
        return wrapped(body, levels, draw(st.sampled_from(sorted(WRAPPERS))))
    if how == "cut":
        return body[: draw(st.integers(0, len(body)))]
    if how == "spliced":
        at = draw(st.integers(0, len(body)))
        return body[:at] + draw(st.binary(max_size=8)) + body[at:]
    return body


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


# --- the properties -------------------------------------------------------------------------


@fuzz(200)
@given(
    document=any_document,
    levels=st.sampled_from(LEVELS),
    how=st.sampled_from(["arrays", "objects"]),
    limit=st.integers(0, MAX_DEPTH + 2),
)
def test_the_depth_check_agrees_with_the_real_depth(document, levels, how, limit):
    payload = wrapped(json_text(document), levels, how)
    assert nested_deeper_than(payload, limit) == (levels + depth(document) > limit)


@fuzz(300)
@given(payload=payloads(any_document), content_type=content_types)
def test_a_codec_either_decodes_or_refuses_the_payload_with_a_documented_reason(
    payload, content_type
):
    codecs = default_registry(CATALOG)
    try:
        _, decoded = codecs.decode(payload, NOW, content_type)
    except PayloadError as refusal:
        assert refusal.reason in DOCUMENTED
        return
    assert isinstance(decoded, Decoded)
    assert {p.reason for p in decoded.problems} <= DOCUMENTED
    for raw in decoded.readings:
        assert type(raw.value) in (float, bool, str)
        assert raw.ts_ms is None or (type(raw.ts_ms) is int and is_time_ms(raw.ts_ms))


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    series = SqliteSeriesStore(path / "series.sqlite3", "normal")
    registry = RegistryStore(path / "registry.sqlite3", "normal")
    yield series, registry
    series.close()
    registry.close()


MESSAGES = {
    "native": st.tuples(st.just("telemetry"), payloads(native)),
    "senml": st.tuples(st.just("telemetry"), payloads(senml)),
    "event": st.tuples(st.just("event"), payloads(event)),
    "anything": st.tuples(
        st.sampled_from(["telemetry", "event", "status"]),
        payloads(any_document) | st.binary(max_size=64),
    ),
}


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@fuzz(150)
@given(data=st.data(), content_type=content_types)
def test_every_message_ends_in_a_rule_and_what_it_yields_can_be_stored(
    stores, kind, data, content_type
):
    channel, payload = data.draw(MESSAGES[kind], label="channel and payload")
    series, registry = stores
    pipeline = Pipeline(
        CATALOG,
        default_registry(CATALOG),
        DeviceDirectory({}, auto_register=True),
        Limits(65_536, 1000, TimeWindow(300_000, 7 * 86_400_000)),
    )
    msg = InboundMessage(f"village/fuzz/dev-1/{channel}", payload, NOW, content_type)
    outcome = pipeline.process(msg)
    reasons = {r.reason for r in outcome.rejections}
    assert "internal_error" not in reasons, outcome.rejections
    assert reasons <= DOCUMENTED
    assert all(math.isfinite(r.value) for r in outcome.readings)
    series.write(outcome.readings)
    registry.commit(_registry_changes([msg], [outcome]))
