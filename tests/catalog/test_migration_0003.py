"""Revision 0003 (copick 1.31: filaments, instance and panoptic segmentations) upgrades a catalog made by 0002."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

import copick_db
from copick_db import maintenance
from copick_db.catalog import schema
from copick_db.catalog.engine import make_engine, to_url
from copick_db.errors import SchemaOutdatedError


def _catalog_at_0002(path: Path) -> None:
    """A catalog file as copick_db wrote it at schema version 2: a project, a run and two segmentations."""
    engine = make_engine(to_url(path))
    try:
        schema.upgrade(engine, "0002")
    finally:
        engine.dispose()
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute("INSERT INTO project (id, name, user_id, created) VALUES (1, 'old', 'alice', 0)")
            con.execute("INSERT INTO data_root (id, name, path, read_only) VALUES (1, 'default', 'old.data', 0)")
            con.execute(
                "INSERT INTO pickable_object (name, position, is_particle, label, metadata_json, read_only) "
                "VALUES ('membrane', 0, 0, 1, '{}', 0), ('ribosome', 1, 1, 2, '{}', 0)"
            )
            con.execute("INSERT INTO run (id, name, read_only) VALUES (1, 'TS_001', 0)")
            con.executemany(
                "INSERT INTO segmentation (run_id, voxel_size, voxel_key, user_id, session_id, name, is_multilabel, "
                "root_id, path, read_only) VALUES (1, 10.0, 10000, 'alice', '1', ?, ?, 1, ?, 0)",
                [
                    ("membrane", 0, "ExperimentRuns/TS_001/Segmentations/10.000_alice_1_membrane.zarr"),
                    ("prediction", 1, "ExperimentRuns/TS_001/Segmentations/10.000_alice_1_prediction-multilabel.zarr"),
                ],
            )
            con.execute(
                "INSERT INTO picks (run_id, object_name, user_id, session_id, point_count, locations, unit, read_only) "
                "VALUES (1, 'ribosome', 'alice', '1', 1, ?, 'angstrom', 0)",
                (np.array([1.0, 2.0, 3.0]).tobytes(),),
            )
    finally:
        con.close()


def _version(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def old_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "old.sqlite"
    _catalog_at_0002(path)
    return path


def _check_upgraded(path: Path) -> None:
    with copick_db.open(path) as root:
        run = root.get_run("TS_001")
        segs = run.get_segmentations(is_instance=None, is_panoptic=None)
        assert sorted((s.name, s.segmentation_type) for s in segs) == [
            ("membrane", "binary"),
            ("prediction", "multilabel"),
        ]
        assert all(not s.is_instance and not s.is_panoptic for s in segs)
        np.testing.assert_array_equal(run.get_picks("ribosome")[0].numpy()[0], [[1.0, 2.0, 3.0]])
        assert run.filaments == []
        # The new identity: an instance segmentation of the same name and owner is a different segmentation.
        run.new_segmentation(10.0, "membrane", "1", is_instance=True)
        run.new_filaments("ribosome", "1").from_numpy([np.zeros((2, 3))])
    with copick_db.open(path) as root:
        run = root.get_run("TS_001")
        assert len(run.get_segmentations(is_instance=None, is_panoptic=None)) == 3
        assert len(run.get_filaments()[0].numpy()) == 1


def test_a_0002_catalog_must_be_upgraded_before_it_opens(old_catalog):
    with pytest.raises(SchemaOutdatedError, match="copick-db upgrade"):
        copick_db.open(old_catalog)
    assert _version(old_catalog) == "0002"


def test_schema_upgrade_keeps_every_row_and_types_old_segmentations(old_catalog):
    engine = make_engine(to_url(old_catalog))
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()
    assert int(_version(old_catalog)) == schema.SCHEMA_VERSION
    con = sqlite3.connect(old_catalog)
    try:
        rows = con.execute("SELECT name, is_multilabel, is_instance, is_panoptic FROM segmentation ORDER BY name")
        assert rows.fetchall() == [("membrane", 0, 0, 0), ("prediction", 1, 0, 0)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        indexes = {r[1] for r in con.execute("PRAGMA index_list('segmentation')")}
        assert "ix_segmentation_is_multilabel_is_instance_is_panoptic" in indexes
        assert "ix_segmentation_voxel_key" in indexes
    finally:
        con.close()
    _check_upgraded(old_catalog)


def test_copick_db_upgrade_migrates_a_0002_catalog(old_catalog):
    report = maintenance.upgrade(old_catalog)
    assert (report.from_version, report.to_version) == (2, schema.SCHEMA_VERSION)
    _check_upgraded(old_catalog)


def test_the_upgraded_segmentation_table_refuses_two_types(old_catalog):
    maintenance.upgrade(old_catalog, backup=False)
    con = sqlite3.connect(old_catalog)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="one_type"):
            con.execute(
                "INSERT INTO segmentation (run_id, voxel_size, voxel_key, user_id, session_id, name, is_multilabel, "
                "is_instance, is_panoptic, root_id, path, read_only) "
                "VALUES (1, 10.0, 10000, 'alice', '1', 'x', 1, 1, 0, 1, 'p', 0)"
            )
    finally:
        con.close()


def test_0003_downgrades_to_0002_when_no_new_identity_is_used(old_catalog):
    from alembic import command

    maintenance.upgrade(old_catalog, backup=False)
    engine = make_engine(to_url(old_catalog))
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.execute("PRAGMA foreign_keys=OFF")
            with conn.begin():
                command.downgrade(schema._alembic_config(conn), "0002")
    finally:
        engine.dispose()
    assert _version(old_catalog) == "0002"
    con = sqlite3.connect(old_catalog)
    try:
        columns = {r[1] for r in con.execute("PRAGMA table_info('segmentation')")}
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()
    assert "is_instance" not in columns and "filaments" not in tables
