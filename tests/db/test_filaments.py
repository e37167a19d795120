"""Catalog-backed filament sets: one row each, compact storage, one indexed query per getter, guarded writes."""

from __future__ import annotations

import logging
import sqlite3

import numpy as np
import pytest

import copick_db
from copick_db.models import CopickFilament

LINES = [np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]), np.array([[5.0, 5.0, 5.0], [6.0, 6.0, 6.0], [7.5, 7.0, 7.0]])]


@pytest.fixture
def config(config):
    config["pickable_objects"].append(
        {"name": "microtubule", "is_particle": True, "label": 9, "metadata": {"copick": {"filament": {"polar": True}}}}
    )
    return config


@pytest.fixture
def run(root):
    return root.new_run("TS_001")


def _sql(catalog_path, statement, *args):
    con = sqlite3.connect(catalog_path)
    try:
        with con:
            return con.execute(statement, args).fetchall()
    finally:
        con.close()


def test_a_set_is_one_row_with_its_polylines_packed(root, run, catalog_path):
    run.new_filaments("microtubule", "1").from_numpy(LINES, instance_ids=[4, 2], voxel_spacing=7.84)
    rows = _sql(
        catalog_path,
        "SELECT object_name, user_id, session_id, filament_count, point_count, length(points), length(offsets), "
        "length(instance_ids), attributes, voxel_spacing FROM filaments",
    )
    assert rows == [("microtubule", "alice", "1", 2, 5, 5 * 24, 3 * 8, 2 * 8, None, 7.84)]


def test_only_fields_that_differ_from_the_defaults_are_stored(root, run, catalog_path):
    run.new_filaments("microtubule", "1").from_numpy(LINES, scores=[1.0, 0.5], radii=[None, 12.0])
    (attributes,) = _sql(catalog_path, "SELECT attributes FROM filaments")[0]
    assert attributes == '[{},{"score":0.5,"radius":12.0}]'


def test_getters_are_one_indexed_query_and_polylines_load_lazily(root, run, reopen, count_selects):
    for user in ("alice", "bob", "carol"):
        run.new_filaments("microtubule", "1", user_id=user).from_numpy(LINES)
    fresh = reopen()
    fresh_run = fresh.get_run("TS_001")
    with count_selects(fresh) as n:
        found = fresh_run.get_filaments(user_id=["alice", "bob"], object_name="microtubule")
    assert n[0] == 1 and len(found) == 2
    assert fresh_run._filaments is None  # C9: random access does not fill the cache
    with count_selects(fresh) as n:
        lines = found[0].numpy()
    assert n[0] == 1 and len(lines) == 2
    with count_selects(fresh) as n:
        across = fresh.get_filaments(object_name=("microtubule",), session_id="1")
        total = sum(len(f.numpy()) for f in across)
    assert n[0] == 1 and total == 6


def test_the_query_plan_uses_an_index(root, run, catalog_path):
    plan = _sql(
        catalog_path,
        "EXPLAIN QUERY PLAN SELECT id FROM filaments WHERE user_id IN ('a', 'b') AND session_id = '1'",
    )
    assert any("USING INDEX" in row[-1] or "USING COVERING INDEX" in row[-1] for row in plan)


def test_new_filaments_on_an_object_that_is_not_a_filament_logs_a_warning(run, caplog):
    with caplog.at_level(logging.WARNING):
        run.new_filaments("ribosome", "1")
    assert "not declared a filament" in caplog.text


@pytest.mark.parametrize(
    ("lines", "kwargs", "match"),
    [
        ([np.zeros((1, 3))], {}, "two points"),
        (LINES, {"instance_ids": [3, 3]}, "unique"),
        (LINES[:1], {"radii": [0.0]}, "greater than 0"),
        (LINES[:1], {"radii": [-1.0]}, "greater than 0"),
        (LINES[:1], {"instance_ids": [-2]}, "greater than or equal to 1"),
        ([np.zeros((2, 4))], {}, r"\(M, 3\)"),
    ],
)
def test_bad_input_changes_neither_the_catalog_nor_the_loaded_set(root, run, snapshot, lines, kwargs, match):
    filaments = run.new_filaments("microtubule", "1")
    filaments.from_numpy(LINES)
    before = snapshot(root)
    with pytest.raises(ValueError, match=match):
        filaments.from_numpy(lines, **kwargs)
    assert snapshot(root) == before
    assert len(filaments.numpy()) == 2


def test_bad_models_assigned_to_filaments_are_refused(run):
    filaments = run.new_filaments("microtubule", "1")
    with pytest.raises(ValueError, match="unique"):
        filaments.filaments = [{"instance_id": 1, "points": LINES[0]}, {"instance_id": 1, "points": LINES[1]}]
    with pytest.raises(ValueError, match="two points"):
        filaments.filaments = [{"instance_id": 1, "points": LINES[0][:1]}]
    assert filaments.filaments == []


def test_a_read_only_root_refuses_every_filament_write(root, run, reopen, snapshot):
    run.new_filaments("microtubule", "1").from_numpy(LINES)
    before = snapshot(root)
    ro = reopen(read_only=True)
    ro_run = ro.get_run("TS_001")
    filaments = ro_run.get_filaments()[0]
    filaments.filaments = [CopickFilament(instance_id=1, points=LINES[0])]  # setting in memory is allowed
    for write in (
        lambda: ro_run.new_filaments("microtubule", "2"),
        filaments.store,
        lambda: filaments.from_numpy(LINES),
        filaments.delete,
        lambda: ro_run.delete_filaments(),
    ):
        with pytest.raises(PermissionError):
            write()
    assert snapshot(root) == before


def test_static_filaments_refuse_writes_and_protect_their_run(root, run, reopen, catalog_path):
    run.new_filaments("microtubule", "1", user_id="static").from_numpy(LINES)
    _sql(catalog_path, "UPDATE filaments SET read_only = 1")
    fresh = reopen()
    static = fresh.get_run("TS_001").get_filaments()[0]
    assert static.read_only
    with pytest.raises(PermissionError, match="read-only"):
        static.delete()
    with pytest.raises(PermissionError, match="static"):
        static.from_numpy(LINES[:1])
    with pytest.raises(PermissionError, match="static"):
        fresh.get_run("TS_001").delete()
    assert len(reopen().get_run("TS_001").get_filaments()[0].numpy()) == 2


def test_deleting_a_run_cascades_to_its_filaments(root, run, catalog_path):
    run.new_filaments("microtubule", "1").from_numpy(LINES)
    root.delete_run("TS_001")
    assert _sql(catalog_path, "SELECT count(*) FROM filaments") == [(0,)]


def test_a_deleted_set_can_be_created_again(root, run, reopen):
    run.new_filaments("microtubule", "1").from_numpy(LINES)
    run.get_filaments()[0].delete()
    assert run.new_filaments("microtubule", "1").numpy() == []
    assert reopen().get_run("TS_001").get_filaments()[0].numpy() == []


def test_filament_sets_of_two_projects_do_not_mix(tmp_path, config):
    first = copick_db.create(tmp_path / "a.sqlite", config)
    second = copick_db.create(tmp_path / "b.sqlite", config)
    try:
        first.new_run("TS_001").new_filaments("microtubule", "1").from_numpy(LINES)
        second.new_run("TS_001")
        assert second.get_filaments() == [] and len(first.get_filaments()) == 1
    finally:
        first.close()
        second.close()


def test_new_object_with_exist_ok_declares_an_existing_object_a_filament(root, reopen):
    root.new_object("ribosome", True, exist_ok=True, filament={"polar": False})
    obj = reopen().get_object("ribosome")
    assert obj.is_filament and obj.filament.polar is False
    assert obj.radius == 150.0  # untouched fields stay


def test_unit_version_and_voxel_spacing_of_the_set_are_kept(root, run, reopen):
    filaments = run.new_filaments("microtubule", "1")
    filaments.meta.unit, filaments.meta.version, filaments.meta.voxel_spacing = "angstrom", 2, 13.48
    filaments.from_numpy(LINES)
    meta = reopen().get_run("TS_001").get_filaments()[0].meta
    assert (meta.unit, meta.version, meta.voxel_spacing, meta.run_name) == ("angstrom", 2, 13.48, "TS_001")


def test_metadata_that_is_not_json_is_refused_before_anything_is_written(root, run, snapshot):
    filaments = run.new_filaments("microtubule", "1")
    before = snapshot(root)
    with pytest.raises(ValueError, match="JSON"):
        filaments.from_numpy(LINES[:1], metadata=[{"when": object()}])
    assert snapshot(root) == before
