"""PROTOCOL.md is the device maker's reference: it must not drift from the code."""

import re
from pathlib import Path

import village_brain.ingest as ingest_package
from village_brain.core.catalog import default_catalog
from village_brain.dashboards.web.mount import STATIC_DIR
from village_brain.ingest.codecs import default_registry

PROTOCOL = (Path(__file__).parents[2] / "PROTOCOL.md").read_text("utf-8")


def test_every_sensor_type_is_in_the_protocol_table_with_its_unit_and_interval():
    for sensor in default_catalog().types.values():
        row = next(line for line in PROTOCOL.splitlines() if line.startswith(f"| `{sensor.id}` |"))
        assert f"`{sensor.unit}`" in row and f"| {sensor.interval} |" in row


def test_every_rejection_reason_the_code_can_give_is_documented():
    source = "".join(
        p.read_text("utf-8") for p in Path(ingest_package.__file__).parent.rglob("*.py")
    )
    documented = {line.split("`")[1] for line in PROTOCOL.splitlines() if line.startswith("| `")}
    used = set(re.findall(r'Problem\(\s*"([a-z_]+)"', source))
    used |= set(re.findall(r'PayloadError\(\s*"([a-z_]+)"', source))
    assert used, "no reason codes found in the ingest code"
    assert used <= documented, f"undocumented reasons: {sorted(used - documented)}"


def test_every_telemetry_example_decodes_without_a_problem():
    catalog = default_catalog()
    codecs = default_registry(catalog)
    blocks = re.findall(r"```json\n(.*?)```", PROTOCOL, flags=re.DOTALL)
    telemetry = [b.encode() for b in blocks if '"type"' not in b]
    assert len(telemetry) >= 4
    for block in telemetry:
        _, decoded = codecs.decode(block, received_ms=1_795_939_200_000)
        assert decoded.readings and not decoded.problems, block
        for raw in decoded.readings:
            assert catalog.get(raw.sensor) is not None, raw.sensor


def test_the_dashboard_has_words_for_every_rejection_reason_in_both_languages():
    rejections = PROTOCOL.split("## 10. Rejections")[1].split("\n## ")[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", rejections, flags=re.MULTILINE))
    script = (Path(STATIC_DIR) / "js" / "i18n.js").read_text("utf-8")
    table = script.split("const REASONS = {")[1].split("};")[0]
    worded = dict(re.findall(r'^  (\w+): \["[^"]+", "([^"]+)"\],$', table, flags=re.MULTILINE))
    assert documented and set(worded) == documented
