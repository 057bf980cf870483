"""`village-brain install-service` writes a systemd unit that runs serve with the options given;
the tests read the unit it wrote (nothing is installed into systemd)."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from village_brain.cli import main
from village_brain.ops.service_unit import UnitOptions, quote, unit_text
from village_brain.service import DRAIN_TIMEOUT_S


def unit_lines(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text("utf-8").splitlines() if "=" in line)


def test_the_unit_runs_serve_with_the_options_given(tmp_path: Path) -> None:
    unit = tmp_path / "village-brain.service"
    data = tmp_path / "data"
    status = main(
        [
            *("install-service", "--output", str(unit), "--data-dir", str(data)),
            *("--http", "0.0.0.0:8080", "--mqtt-listen", "0.0.0.0:1884", "--user", "nobody"),
        ]
    )
    assert status == 0
    lines = unit_lines(unit)
    command = lines["ExecStart"].split()
    assert command[0].endswith("village-brain") and Path(command[0]).is_absolute()
    assert command[1:] == [
        *("serve", "--data-dir", str(data)),
        *("--http", "0.0.0.0:8080", "--mqtt-listen", "0.0.0.0:1884"),
    ]
    assert lines["User"] == "nobody"
    assert lines["ReadWritePaths"] == str(data)
    assert lines["WantedBy"] == "multi-user.target"
    assert data.is_dir()  # the one place the unit may write exists before its first start


def test_the_unit_stops_with_sigterm_and_waits_longer_than_ingest_drains(tmp_path: Path) -> None:
    unit = tmp_path / "u.service"
    assert main(["install-service", "--output", str(unit), "--data-dir", str(tmp_path)]) == 0
    lines = unit_lines(unit)
    assert lines["KillSignal"] == "SIGTERM"
    assert int(lines["TimeoutStopSec"]) > DRAIN_TIMEOUT_S
    assert lines["User"] == getpass.getuser()


def test_a_config_file_is_passed_by_absolute_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "village.toml").write_text("[http]\nport = 8081\n", "utf-8")
    unit = tmp_path / "u.service"
    assert main(["install-service", "--output", str(unit), "--config", "village.toml"]) == 0
    assert f"--config {tmp_path / 'village.toml'}" in unit_lines(unit)["ExecStart"]


def test_an_existing_unit_is_replaced_only_with_force(tmp_path: Path, capsys) -> None:
    unit = tmp_path / "u.service"
    unit.write_text("mine\n", "utf-8")
    args = ["install-service", "--output", str(unit), "--data-dir", str(tmp_path)]
    assert main(args) == 2
    assert "add --force" in capsys.readouterr().err
    assert unit.read_text("utf-8") == "mine\n"
    assert main([*args, "--force"]) == 0
    assert "ExecStart=" in unit.read_text("utf-8")


def test_a_bad_http_flag_is_refused_like_serve_refuses_it(tmp_path: Path, capsys) -> None:
    unit = tmp_path / "u.service"
    assert main(["install-service", "--output", str(unit), "--http", "nowhere"]) == 2
    assert "--http 'nowhere': write HOST:PORT" in capsys.readouterr().err
    assert not unit.exists()


@pytest.mark.parametrize(
    ("word", "written"),
    [
        ("/srv/village brain/data", '"/srv/village brain/data"'),
        ("50%", "50%%"),
        ("$HOME", "$$HOME"),
        ("/plain/path", "/plain/path"),
    ],
)
def test_words_are_quoted_as_systemd_reads_them(word: str, written: str) -> None:
    assert quote(word) == written


def test_a_data_directory_with_spaces_stays_one_word(tmp_path: Path) -> None:
    text = unit_text(UnitOptions(["/opt/vb/bin/village-brain"], "vb", Path("/srv/v b"), []))
    assert 'ExecStart=/opt/vb/bin/village-brain serve --data-dir "/srv/v b"\n' in text


def test_a_role_is_passed_to_serve_when_the_settings_allow_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VILLAGE_BRAIN_CLUSTER__POSTGRES_DSN", "host=db dbname=vb")
    monkeypatch.setenv("VILLAGE_BRAIN_STORE__BACKEND", "influxdb")
    unit = tmp_path / "u.service"
    args = ["install-service", "--output", str(unit), "--data-dir", str(tmp_path)]
    assert main([*args, "--role", "ingest"]) == 0
    assert unit_lines(unit)["ExecStart"].split()[-2:] == ["--role", "ingest"]


def test_a_role_the_settings_cannot_run_writes_no_unit(tmp_path: Path, capsys) -> None:
    unit = tmp_path / "u.service"
    args = ["install-service", "--output", str(unit), "--data-dir", str(tmp_path)]
    assert main([*args, "--role", "api"]) == 2
    assert "[cluster] postgres_dsn" in capsys.readouterr().err
    assert not unit.exists()
