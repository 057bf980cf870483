"""Every file or directory a user hands us is checked before start, with what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from village_brain.core.config import ConfigError, load_settings
from village_brain.preflight import check_inputs, data_dir_problem


def _settings(tmp_path: Path, text: str):
    config = tmp_path / "village.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n' + text)
    return load_settings(config)


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        check_inputs(_settings(tmp_path, text))
    return str(caught.value)


def test_a_config_file_that_is_not_toml_names_the_file_and_the_line(tmp_path):
    config = tmp_path / "village.toml"
    config.write_text('[ingest\nregistration = "auto"\n')
    with pytest.raises(ConfigError, match=r"config file .*village\.toml: .*\(at line 1"):
        load_settings(config)


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path):
    config = tmp_path / "village.toml"
    config.write_bytes(b'[http]\nhost = "\xff"\n')
    with pytest.raises(ConfigError, match=r"config file .*village\.toml"):
        load_settings(config)


def test_a_config_file_named_in_the_environment_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("VILLAGE_BRAIN_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        load_settings()


def test_good_files_pass(tmp_path):
    (tmp_path / "devices.toml").write_text('[[device]]\nid = "g1"\nvillage = "xiashan"\n')
    (tmp_path / "rules.toml").write_text(
        '[[rule]]\nid = "high"\nname = "High"\nseverity = "major"\nkind = "threshold"\n'
        'sensor = "water_level"\nabove = 3.0\n'
    )
    text = (
        f'devices_file = "{tmp_path / "devices.toml"}"\n'
        f'[alerts]\nrules_file = "{tmp_path / "rules.toml"}"\n'
    )
    check_inputs(_settings(tmp_path, text))


def test_a_devices_file_that_is_not_toml_is_named(tmp_path):
    (tmp_path / "devices.toml").write_text("[[device]\n")
    problems = _problems(tmp_path, f'devices_file = "{tmp_path / "devices.toml"}"\n')
    assert "devices file" in problems and "devices.toml" in problems and "line 1" in problems


def test_a_device_with_a_bad_id_is_named_with_its_file(tmp_path):
    (tmp_path / "devices.toml").write_text('[[device]]\nid = "gauge 1"\nvillage = "x"\n')
    problems = _problems(tmp_path, f'devices_file = "{tmp_path / "devices.toml"}"\n')
    assert "device #1 (gauge 1)" in problems and "characters outside" in problems


def test_devices_written_as_a_value_instead_of_tables_say_how_to_write_them(tmp_path):
    (tmp_path / "devices.toml").write_text("device = 5\n")
    problems = _problems(tmp_path, f'devices_file = "{tmp_path / "devices.toml"}"\n')
    assert "write each device as a [[device]] table" in problems


def test_a_missing_devices_file_is_named(tmp_path):
    problems = _problems(tmp_path, f'devices_file = "{tmp_path / "gone.toml"}"\n')
    assert "gone.toml" in problems and "No such file" in problems


def test_a_bad_rule_is_named_with_its_file(tmp_path):
    (tmp_path / "rules.toml").write_text('[[rule]]\nid = "x"\nkind = "bogus"\n')
    problems = _problems(tmp_path, f'[alerts]\nrules_file = "{tmp_path / "rules.toml"}"\n')
    assert "rules file" in problems and "rule 'x'" in problems and "kind" in problems


def test_a_rules_file_that_is_not_toml_is_named(tmp_path):
    (tmp_path / "rules.toml").write_text("[[rule\n")
    problems = _problems(tmp_path, f'[alerts]\nrules_file = "{tmp_path / "rules.toml"}"\n')
    assert "rules file" in problems and "line 1" in problems


def test_a_rules_file_is_not_checked_when_alerts_are_off(tmp_path):
    text = f'[alerts]\nenabled = false\nrules_file = "{tmp_path / "gone.toml"}"\n'
    check_inputs(_settings(tmp_path, text))


def test_a_bad_catalog_file_is_named(tmp_path):
    (tmp_path / "catalog.toml").write_text("water_level = 3\n")
    problems = _problems(tmp_path, f'catalog_file = "{tmp_path / "catalog.toml"}"\n')
    assert "catalog file" in problems and "as a [water_level] table" in problems


def test_a_data_dir_that_cannot_be_created_says_which_setting_to_change(tmp_path):
    (tmp_path / "a-file").write_text("")
    problem = data_dir_problem(tmp_path / "a-file" / "data")
    assert problem is not None
    assert "store.data_dir" in problem and "Not a directory" in problem


def test_every_problem_is_reported_at_once(tmp_path):
    (tmp_path / "devices.toml").write_text("[[device]\n")
    (tmp_path / "rules.toml").write_text("[[rule\n")
    text = (
        f'devices_file = "{tmp_path / "devices.toml"}"\n'
        f'[alerts]\nrules_file = "{tmp_path / "rules.toml"}"\n'
    )
    problems = _problems(tmp_path, text)
    assert "devices file" in problems and "rules file" in problems


@pytest.mark.parametrize("command", ["config", "serve"])
def test_the_command_line_says_what_to_fix_without_a_traceback(tmp_path, command):
    (tmp_path / "rules.toml").write_text('[[rule]]\nid = "x"\nkind = "bogus"\n')
    config = tmp_path / "village.toml"
    config.write_text(
        f'[store]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[alerts]\nrules_file = "{tmp_path / "rules.toml"}"\n'
        # Never reached: the check comes first, so no broker or port is needed.
        '[mqtt]\nurl = "mqtt://127.0.0.1:9"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "village_brain.cli", command, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "rules file" in done.stderr and "Traceback" not in done.stderr


def test_checking_a_data_dir_leaves_nothing_behind(tmp_path):
    assert data_dir_problem(tmp_path / "new" / "data") is None
    assert list(tmp_path.iterdir()) == []


def test_a_bad_source_is_named_with_its_table(tmp_path):
    text = '[[ingest.sources]]\nadapter = "zigbee2mqtt"\nvillage = "x"\nbase_topik = "z2m"\n'
    problems = _problems(tmp_path, text)
    assert "ingest.sources[0] (zigbee2mqtt)" in problems and "base_topik" in problems
