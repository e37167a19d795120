"""One bad item never aborts an import: it is skipped, listed with its path and reason, and nothing of it is written."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest

GOOD = {"run": "TS_001", "user": "alice", "session": "1", "obj": "ribosome"}


def _rows(project, table: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{project.catalog}?mode=ro", uri=True)
    try:
        return con.execute(f'SELECT * FROM "{table}"').fetchall()
    finally:
        con.close()


def _sources(project) -> set[str]:
    con = sqlite3.connect(f"file:{project.catalog}?mode=ro", uri=True)
    try:
        return {row[0] for row in con.execute("SELECT path FROM import_source")}
    finally:
        con.close()


def _import_with_one_good_pick_set(project):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    report = project.import_()
    assert project.counts(report, "picks")[0] >= 1  # the good item still went in
    return report


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bob_1_ribosome.json", "", "empty file"),
        ("bob_1_ribosome.json", "{not json", "not valid JSON"),
        ("bob_1_ribosome.json", "[1, 2]", "JSON object, not list"),
        ("bob_1_ribosome.json", '{"pickable_object_name": "ribosome", "user_id": "bob"}', "no 'session_id'"),
        ("bob.json", "{}", "fewer than three"),
        ("bob_1.json", "{}", "fewer than three"),
        ("under_score_1_ribosome.json", "{}", "more than three"),
        ("-bob_1_ribosome.json", "{}", "user id"),
        ("bob_1_unknown.json", "{}", "'unknown' is not a pickable object"),
    ],
)
def test_bad_picks_files_are_skipped(project, name, content, reason):
    path = project.write(f"ExperimentRuns/TS_001/Picks/{name}", content)
    report = _import_with_one_good_pick_set(project)
    reasons = project.reasons(report)
    assert reason in reasons[str(path)]
    assert len(_rows(project, "picks")) == 1
    assert f"ExperimentRuns/TS_001/Picks/{name}" not in _sources(project)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"user_id": 7, "session_id": "1"}, "user_id"),
        ({"user_id": "bob", "session_id": 0}, "session_id"),
        ({"points": [{"location": {"x": 1, "y": 2}}]}, "invalid point"),
        ({"points": [{"location": {"x": 1, "y": 2, "z": 3}, "transformation_": None}]}, "invalid point"),
        ({"points": [{"location": {"x": 1, "y": 2, "z": 3}, "transformation_": [[1, 0], [0, 1]]}]}, "invalid point"),
        (
            {"points": [{"location": {"x": 1, "y": 2, "z": 3}, "transformation_": np.full((4, 4), 2.0).tolist()}]},
            "invalid point",
        ),
        ({"points": [{"location": {"x": "a", "y": 2, "z": 3}}]}, "invalid point"),
        ({"points": [{"location": {"x": float("nan"), "y": 2, "z": 3}}]}, "invalid point"),
        ({"points": {"x": 1}}, "'points' must be a list"),
    ],
)
def test_invalid_picks_content_is_skipped(project, document, reason):
    base = {"pickable_object_name": "ribosome", "user_id": "bob", "session_id": "1", "points": []}
    path = project.write("ExperimentRuns/TS_001/Picks/bob_1_ribosome.json", json.dumps({**base, **document}))
    report = _import_with_one_good_pick_set(project)
    assert reason in project.reasons(report)[str(path)]
    assert [row[2:5] for row in _rows(project, "picks")] == [("ribosome", "alice", "1")]


def test_lenient_picks_content_is_accepted_as_copick_accepts_it(project):
    document = {
        "pickable_object_name": "ribosome",
        "user_id": "bob",
        "session_id": "1",
        "points": [
            {"location": {"x": 1, "y": 2, "z": 3}, "instance_id": -2, "score": 7},  # ints coerced, negative id
            {"location": {"x": "1.5", "y": 2, "z": 3}, "instance_id": 2.0},  # numeric strings, whole floats
        ],
        "unknown_key": "dropped",
    }
    project.write("ExperimentRuns/TS_001/Picks/bob_1_ribosome.json", json.dumps(document))
    project.write("ExperimentRuns/TS_001/Picks/carol_1_ribosome.json", json.dumps({**document, "points": None}))
    report = project.import_()
    assert not report.skipped
    run = project.open().get_run("TS_001")
    (bob,) = run.get_picks(user_id="bob")
    assert [(p.location.x, p.instance_id, p.score) for p in bob.points] == [(1.0, -2, 7.0), (1.5, 2, 1.0)]
    assert run.get_picks(user_id="carol")[0].numpy()[0].shape == (0, 3)


def test_in_file_identity_that_differs_from_the_name_is_noted(project):
    document = {"pickable_object_name": "my-object", "user_id": "mallory", "session_id": "9", "points": []}
    path = project.write("ExperimentRuns/TS_001/Picks/bob_1_ribosome.json", json.dumps(document))
    report = project.import_()
    assert "imported under its file name's identity" in {n.path: n.reason for n in report.notes}[str(path)]
    assert project.open().get_run("TS_001").picks[0].identity == ("ribosome", "bob", "1")


@pytest.mark.parametrize(
    ("directory", "reason"),
    [
        ("VoxelSpacingX", "not a voxel size"),
        ("VoxelSpacing10", "three decimals"),
        ("VoxelSpacing7.5", "VoxelSpacing7.500"),
        ("VoxelSpacing10.0000", "three decimals"),
        ("VoxelSpacing10.000.bak", "not a voxel size"),
        ("VoxelSpacing-1.000", "positive"),
    ],
)
def test_bad_voxel_spacing_directories_are_skipped(project, directory, reason):
    project.store(f"ExperimentRuns/TS_001/{directory}/wbp.zarr", np.ones((2, 2, 2), np.float32))
    report = _import_with_one_good_pick_set(project)
    assert reason in project.reasons(report)[str(project.overlay / "ExperimentRuns/TS_001" / directory)]
    assert _rows(project, "voxel_spacing") == [] and _rows(project, "tomogram") == []


def test_a_voxel_spacing_file_is_skipped(project):
    path = project.write("ExperimentRuns/TS_001/VoxelSpacing10.000", "not a directory")
    report = _import_with_one_good_pick_set(project)
    assert "file named like a voxel spacing" in project.reasons(report)[str(path)]


def test_zarr_folders_without_group_metadata_are_skipped_but_empty_stores_are_entities(project):
    rel = project.voxel_spacing("TS_001", 10.0)
    no_meta = project.write(f"{rel}/broken.zarr/0/0.0.0", b"\x00")
    v3 = project.write(f"{rel}/future.zarr/zarr.json", '{"zarr_format": 3, "node_type": "group"}')
    bad_attrs = project.write(f"{rel}/badattrs.zarr/.zattrs", "{oops")
    project.write(f"{rel}/notastore.zarr", "a file")
    empty = project.store(f"{rel}/empty.zarr", None)
    report = _import_with_one_good_pick_set(project)
    reasons = project.reasons(report)
    assert "no .zgroup or .zattrs" in reasons[str(no_meta.parent.parent)]
    assert "zarr-v3" in reasons[str(v3.parent)]
    assert ".zattrs is not valid JSON" in reasons[str(bad_attrs.parent)]
    assert "not a directory" in reasons[str(project.overlay / rel / "notastore.zarr")]
    vs = project.open().get_run("TS_001").get_voxel_spacing(10.0)
    assert [t.tomo_type for t in vs.tomograms] == ["empty"]
    tomogram = vs.get_tomogram("empty")
    assert tomogram.path == empty and tomogram.meta.dimensions is None
    with pytest.raises(KeyError, match="no data yet"):
        tomogram.numpy()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("myfeatures.zarr", "contains 'features'"),
        ("my_tomo.zarr", "tomogram type"),
        ("a_b_c_features.zarr", "3 '_'-separated part(s)"),
        ("wbp_features.zarr", "1 '_'-separated part(s)"),
        ("missing_sobel_features.zarr", "no tomogram 'missing'"),
    ],
)
def test_bad_tomogram_and_feature_names_are_skipped(project, name, reason):
    project.tomogram("TS_001", 10.0, "wbp", np.ones((2, 2, 2), np.float32))
    path = project.store(f"ExperimentRuns/TS_001/VoxelSpacing10.000/{name}", np.ones((2, 2, 2), np.float32))
    report = _import_with_one_good_pick_set(project)
    assert reason in project.reasons(report)[str(path)]
    assert len(_rows(project, "tomogram")) == 1 and _rows(project, "features") == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("foo.zarr", "1 '_'-separated part(s)"),
        ("10.0_alice_1_membrane.zarr", "10.000_<user>"),
        ("abc_alice_1_membrane.zarr", "not a voxel size"),
        ("10.000_alice_1_unknown.zarr", "'unknown' is not a pickable object"),
        ("10.000_alice_1_a_b-multilabel.zarr", "contains '_'"),
    ],
)
def test_bad_segmentations_are_skipped(project, name, reason):
    labels = np.ones((2, 2, 2), np.uint8)
    path = project.store(f"ExperimentRuns/TS_001/Segmentations/{name}", labels)
    project.segmentation("TS_001", 10.0, "alice", "1", "anything", labels, multilabel=True)
    report = _import_with_one_good_pick_set(project)
    assert reason in project.reasons(report)[str(path)]
    assert [row[6] for row in _rows(project, "segmentation")] == ["anything"]


def test_instance_segmentations_need_an_object_panoptic_ones_do_not(project):
    labels = np.ones((2, 2, 2), np.uint16)
    unknown = project.segmentation("TS_001", 10.0, "u", "1", "nothing", labels, directory="InstanceSegmentations")
    project.segmentation("TS_001", 10.0, "u", "1", "anything", labels, directory="PanopticSegmentations")
    report = _import_with_one_good_pick_set(project)
    assert "'nothing' is not a pickable object" in project.reasons(report)[str(unknown)]
    assert [row[6] for row in _rows(project, "segmentation")] == ["anything"]


def test_bad_meshes_are_skipped(project):
    bad = project.write("ExperimentRuns/TS_001/Meshes/alice_1_ribosome.glb", b"not a glb at all")
    unknown = project.mesh("TS_001", "alice", "1", "unknown")
    short = project.write("ExperimentRuns/TS_001/Meshes/alice_ribosome.glb", unknown.read_bytes())
    report = _import_with_one_good_pick_set(project)
    reasons = project.reasons(report)
    assert "not a readable GLB" in reasons[str(bad)]
    assert "not a pickable object" in reasons[str(unknown)]
    assert "fewer than three" in reasons[str(short)]
    assert _rows(project, "mesh") == []


def test_object_maps_of_unknown_or_non_particle_objects_are_skipped(project):
    volume = np.ones((2, 2, 2), np.float32)
    unknown = project.object_map("nothing", volume)
    membrane = project.object_map("membrane", volume)
    broken = project.write("Objects/my-object.zarr/0/.zarray", "{}")
    report = _import_with_one_good_pick_set(project)
    reasons = project.reasons(report)
    assert "'nothing' is not a pickable object" in reasons[str(unknown)]
    assert "not a particle" in reasons[str(membrane)]
    assert "no .zgroup or .zattrs" in reasons[str(broken.parent.parent)]
    assert all(row[-4] is None for row in _rows(project, "pickable_object"))  # no map_path anywhere


def test_symlinks_outside_the_project_are_skipped_inside_ones_followed(project, tmp_path):
    outside = tmp_path / "outside"
    (outside / "Picks").mkdir(parents=True)
    document = {"pickable_object_name": "ribosome", "user_id": "eve", "session_id": "1"}
    (outside / "Picks" / "eve_1_ribosome.json").write_text(json.dumps(document))
    os.symlink(outside, project.overlay / "ExperimentRuns" / "TS_EVIL")
    project.picks("TS_002", "bob", "1", "ribosome", [project.point(1, 2, 3)], static=True)
    os.symlink(project.static / "ExperimentRuns" / "TS_002", project.overlay / "ExperimentRuns" / "TS_LINKED")
    escaping = project.overlay / "ExperimentRuns/TS_001/Picks/x_1_ribosome.json"
    escaping.parent.mkdir(parents=True)
    os.symlink(outside / "Picks" / "eve_1_ribosome.json", escaping)
    os.symlink(tmp_path / "nowhere", project.overlay / "ExperimentRuns" / "TS_DANGLING")
    report = _import_with_one_good_pick_set(project)
    reasons = project.reasons(report)
    assert "outside the project" in reasons[str(project.overlay / "ExperimentRuns" / "TS_EVIL")]
    assert "outside the project" in reasons[str(project.overlay / "ExperimentRuns/TS_001/Picks/x_1_ribosome.json")]
    assert str(project.overlay / "ExperimentRuns" / "TS_DANGLING") in reasons
    assert sorted(r.name for r in project.open().runs) == ["TS_001", "TS_002", "TS_LINKED"]
    assert len(project.open().get_run("TS_LINKED").picks) == 1


@pytest.mark.parametrize(
    ("filaments", "reason"),
    [
        ([{"instance_id": 1, "points": [[0, 0, 0]]}], "at least two points"),
        ([{"instance_id": 0, "points": [[0, 0, 0], [1, 1, 1]]}], "instance_id"),
        ([{"instance_id": 1, "points": [[0, 0, 0], [1, 1, 1]]}] * 2, "unique"),
        ([{"instance_id": 1, "points": [[0, 0, 0], [1, 1, 1]], "radius": -1.0}], "radius"),
        ({"not": "a list"}, "filaments"),
    ],
)
def test_bad_filaments_files_are_skipped(project, filaments, reason):
    path = project.filaments("TS_001", "alice", "1", "ribosome", filaments)
    broken = project.write("ExperimentRuns/TS_001/Filaments/bob_1_ribosome.json", "{")
    report = _import_with_one_good_pick_set(project)
    reasons = project.reasons(report)
    assert reason in reasons[str(path)]
    assert "not valid JSON" in reasons[str(broken)]
    assert _rows(project, "filaments") == []


def test_a_run_that_cannot_be_listed_is_skipped_and_its_rows_kept(project, monkeypatch):
    locked = project.run("TS_LOCKED")
    project.picks("TS_LOCKED", "bob", "1", "ribosome", [])
    project.import_()
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("copick_db.filesystem.scan.os.scandir", scandir)
    report = _import_with_one_good_pick_set(project)
    assert "cannot be listed: Permission denied" in project.reasons(report)[str(locked)]
    assert report.counts["picks"].removed == 0 and len(_rows(project, "picks")) == 2


def test_an_item_whose_rows_fail_half_way_leaves_nothing_behind(project, monkeypatch):
    from copick_db.catalog.batch import BatchWriter, RowRefusedError
    from copick_db.catalog.tables import ImportSource
    from copick_db.errors import CatalogError

    failing = project.picks("TS_001", "bob", "1", "ribosome", [project.point(9, 9, 9)])
    real_insert = BatchWriter.insert

    def insert(self, table, values):
        if table is ImportSource and values.get("path", "").endswith("bob_1_ribosome.json"):
            raise RowRefusedError(CatalogError("injected failure after the entity row was written"))
        return real_insert(self, table, values)

    monkeypatch.setattr(BatchWriter, "insert", insert)
    report = _import_with_one_good_pick_set(project)
    assert "injected failure" in project.reasons(report)[str(failing)]
    assert [row[2:5] for row in _rows(project, "picks")] == [("ribosome", "alice", "1")]
    monkeypatch.undo()
    assert project.counts(project.import_(), "picks") == (1, 0, 1, 0)  # the next import adds it whole
