"""The installed ``copick-db`` console script, run in a subprocess on real projects."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import copick_db

SCRIPT = Path(sys.executable).parent / "copick-db"


def cli(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """Run the console script; never raises on a non-zero exit."""
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


@pytest.fixture
def project(root, catalog_path):
    """A small project: two runs, picks by a user and a tool, a tomogram, a segmentation and a mesh."""
    for name in ("TS_001", "TS_002"):
        run = root.new_run(name)
        run.new_picks("ribosome", "1").from_numpy(np.ones((3, 3)))
        run.new_picks("proteasome", "0", user_id="picker").from_numpy(np.zeros((2, 3)))
    vs = root.get_run("TS_001").new_voxel_spacing(10.0)
    vs.new_tomogram("wbp").from_numpy(np.ones((8, 8, 8), dtype=np.float32), levels=1)
    root.get_run("TS_001").new_segmentation(10.0, "membrane", "1", False).from_numpy(np.ones((4, 4, 4), np.uint8))
    root.get_run("TS_002").new_mesh("membrane", "1")
    return catalog_path


def test_every_command_has_help_with_an_example():
    for command in ("create", "import", "export", "info", "stats", "query", "check", "upgrade"):
        result = cli(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Example" in result.stdout and "copick-db" in result.stdout


def test_version_prints_package_and_schema_versions():
    from copick_db.catalog.schema import SCHEMA_VERSION

    result = cli("version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"copick-db {copick_db.__version__} (catalog schema {SCHEMA_VERSION})"


def test_create_makes_a_catalog_with_the_objects_of_a_copick_config(tmp_path):
    config = tmp_path / "copick.json"
    config.write_text(json.dumps({"pickable_objects": [{"name": "ribosome", "is_particle": True, "label": 1}]}))
    result = cli("create", str(tmp_path / "new.sqlite"), "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert [o.name for o in copick_db.open(tmp_path / "new.sqlite").pickable_objects] == ["ribosome"]
    again = cli("create", str(tmp_path / "new.sqlite"))
    assert again.returncode == 1
    assert again.stderr.startswith("Error:") and "overwrite" in again.stderr
    assert "Traceback" not in again.stderr


def test_info_summarises_the_project(project):
    result = cli("info", "-c", str(project))
    assert result.returncode == 0, result.stderr
    for expected in ("test project", "ribosome", "proteasome", "Data roots", "picks"):
        assert expected in result.stdout


def test_stats_json_counts_per_kind_object_user_and_voxel_size(project):
    result = cli("stats", "-c", str(project), "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert (stats["runs"], stats["picks"], stats["points"], stats["tomograms"], stats["meshes"]) == (2, 4, 10, 1, 1)
    assert stats["picks_per_object"] == {"proteasome": 2, "ribosome": 2}
    assert stats["picks_per_user"] == {"alice": 2, "picker": 2}
    assert stats["tomograms_per_voxel_size"] == {"10.0": 1}


def test_stats_reads_the_project_from_the_copick_config_env_var(project):
    result = cli("stats", env={"COPICK_CONFIG": str(project)})
    assert result.returncode == 0, result.stderr
    assert "Pick sets per object" in result.stdout


def test_query_filters_picks_and_prints_json(project):
    result = cli("query", "picks", "-c", str(project), "--object", "ribosome", "--run-names", "TS_002", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"run": "TS_002", "object": "ribosome", "user_id": "alice", "session_id": "1", "points": 3, "tool": False}
    ]
    tools = json.loads(cli("query", "picks", "-c", str(project), "--tool", "--json").stdout)
    assert {(p["run"], p["user_id"]) for p in tools} == {("TS_001", "picker"), ("TS_002", "picker")}


@pytest.mark.parametrize(
    ("kind", "count"),
    [("runs", 2), ("voxel-spacings", 1), ("tomograms", 1), ("segmentations", 1), ("meshes", 1), ("objects", 3)],
)
def test_query_lists_every_kind(project, kind, count):
    result = cli("query", kind, "-c", str(project), "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == count


def test_query_as_a_table(project):
    result = cli("query", "tomograms", "-c", str(project))
    assert result.returncode == 0
    assert "wbp" in result.stdout and "1 tomograms" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("info", "-c", "nowhere.sqlite"), "No catalog"),
        (("query", "picks", "--object", "unicorn"), "Unknown object"),
        (("query", "picks", "--run-names", "TS_999"), "Unknown run"),
    ],
)
def test_user_errors_end_with_one_line_and_exit_code_1(project, args, message):
    if "-c" not in args:
        args = (*args, "-c", str(project))
    result = cli(*args)
    assert result.returncode == 1
    assert result.stderr.startswith("Error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    result = cli("--debug", "info", "-c", str(tmp_path / "nowhere.sqlite"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_a_copick_config_given_as_project_says_to_import_it(tmp_path):
    config = tmp_path / "copick.json"
    config.write_text(json.dumps({"config_type": "filesystem", "overlay_root": str(tmp_path), "pickable_objects": []}))
    result = cli("info", "-c", str(config))
    assert result.returncode == 1
    assert "copick-db import" in result.stderr


def test_a_copick_db_pointer_config_opens_the_project(project, tmp_path):
    pointer = tmp_path / "pointer.json"
    pointer.write_text(json.dumps({"config_type": "copick_db", "catalog": project.name}))
    result = cli("query", "runs", "-c", str(pointer), "--json")
    assert result.returncode == 0, result.stderr
    assert [r["run"] for r in json.loads(result.stdout)] == ["TS_001", "TS_002"]


def test_check_reports_missing_data_and_fix_removes_the_rows(project, root):
    tomo = root.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp")
    shutil.rmtree(tomo.path)
    report = cli("check", "-c", str(project))
    assert report.returncode == 1
    assert "data is missing" in report.stdout and "wbp.zarr" in report.stdout
    declined = cli("check", "-c", str(project), "--fix", input="n\n")
    assert declined.returncode == 1
    assert len(copick_db.open(project).get_tomograms()) == 1
    fixed = cli("check", "-c", str(project), "--fix", "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert copick_db.open(project).get_tomograms() == []
    assert cli("check", "-c", str(project)).stdout.strip() == "No problems found."


def test_upgrade_backs_up_an_old_catalog_and_migrates_it(tmp_path):
    from copick_db.catalog import schema
    from copick_db.catalog.engine import make_engine

    old = tmp_path / "old.sqlite"
    engine = make_engine(f"sqlite:///{old}")
    schema.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO project (id, name, created) VALUES (1, 'legacy', 0)")
        conn.exec_driver_sql("INSERT INTO data_root (name, path, read_only) VALUES ('default', 'old.data', 0)")
        conn.exec_driver_sql("INSERT INTO run (name, read_only) VALUES ('TS_001', 0)")
    engine.dispose()
    before = old.read_bytes()
    stale = cli("info", "-c", str(old))
    assert stale.returncode == 1 and "copick-db upgrade" in stale.stderr
    assert old.read_bytes() == before  # opening an outdated catalog never migrates or touches it
    result = cli("upgrade", str(old))
    assert result.returncode == 0, result.stderr
    assert f"from schema version 1 to {schema.SCHEMA_VERSION}" in result.stdout
    (backup,) = tmp_path.glob("old.v1-backup-*.sqlite")
    assert str(backup) in result.stdout
    assert [r.name for r in copick_db.open(old).runs] == ["TS_001"]
    con = sqlite3.connect(backup)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    con.close()


def test_upgrade_of_a_current_catalog_does_nothing(project):
    result = cli("upgrade", str(project))
    assert result.returncode == 0
    assert "nothing to do" in result.stdout
    assert list(project.parent.glob("*backup*")) == []
