"""`serve --role`: a role that could not share its work with the other processes is refused
before anything starts, with what to set."""

import pytest

from village_brain.cli import main


@pytest.mark.parametrize("role", ["ingest", "api"])
def test_a_split_role_on_this_process_s_own_files_is_refused_with_what_to_set(
    role, tmp_path, capsys
):
    assert main(["serve", "--role", role, "--data-dir", str(tmp_path / "data")]) == 2
    message = capsys.readouterr().err
    assert f"--role {role}" in message
    assert "[cluster] postgres_dsn" in message
    assert 'backend = "influxdb"' in message
    assert not (tmp_path / "data").exists()


def test_a_split_role_with_shared_stores_but_a_demo_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VILLAGE_BRAIN_CLUSTER__POSTGRES_DSN", "host=db dbname=vb")
    monkeypatch.setenv("VILLAGE_BRAIN_STORE__BACKEND", "influxdb")
    assert main(["serve", "--role", "api", "--demo", "--data-dir", str(tmp_path)]) == 2
    assert "use --role all" in capsys.readouterr().err
