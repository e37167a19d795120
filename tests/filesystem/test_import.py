"""import_filesystem on hand-written copick projects: what is indexed, where data stays, static vs overlay."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import copick_db
from copick_db.errors import ReadOnlyError


def test_first_import_creates_a_catalog_whose_default_root_is_the_overlay(project):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    report = project.import_()
    assert report.created and report.changed and not report.skipped
    root = project.open()
    assert root.data.directories[root.data.default_id] == project.overlay
    static_ids = [i for i, d in root.data.directories.items() if d == project.static]
    assert static_ids and static_ids[0] in root.data.read_only
    assert (root.config.name, root.config.description, root.config.version) == (
        "hand-made",
        "written without copick",
        "1.31.0",
    )
    assert root.config.user_id == "alice"


def test_objects_come_from_the_config(project):
    project.import_()
    root = project.open()
    got = [(o.name, o.is_particle, o.label, o.color, o.radius) for o in root.pickable_objects]
    assert got == [
        ("ribosome", True, 1, (0, 117, 220, 255), 150.0),
        ("membrane", False, 2, (100, 100, 100, 255), None),
        ("my-object", True, 3, (100, 100, 100, 255), None),
    ]


def test_duplicate_labels_get_free_labels_deterministically_and_are_reported(project):
    objects = [{"name": n, "is_particle": True} for n in ("a", "b", "c")]  # every label defaults to 1
    objects.append({"name": "d", "is_particle": False, "label": 2})
    objects.append({"name": "e", "is_particle": False, "label": -4})
    project.write_config(pickable_objects=objects)
    report = project.import_()
    root = project.open()
    assert {o.name: o.label for o in root.pickable_objects} == {"a": 1, "b": 3, "c": 4, "d": 2, "e": 5}
    assert [n.path for n in report.notes] == [
        "pickable_objects[1] 'b'",
        "pickable_objects[2] 'c'",
        "pickable_objects[4] 'e'",
    ]
    assert "label 1 is already used" in report.notes[0].reason
    again = project.import_()
    assert not again.changed
    assert {o.name: o.label for o in project.open().pickable_objects} == {"a": 1, "b": 3, "c": 4, "d": 2, "e": 5}


def test_invalid_and_repeated_objects_are_skipped_not_fatal(project):
    objects = [
        {"name": "ok", "is_particle": True},
        {"name": "bad_name", "is_particle": True},
        {"name": "ok", "is_particle": False},
        "not an object",
    ]
    project.write_config(pickable_objects=objects)
    report = project.import_()
    assert [o.name for o in project.open().pickable_objects] == ["ok"]
    reasons = project.reasons(report)
    assert "invalid name" in reasons["pickable_objects[1] 'bad_name'"]
    assert "first definition is kept" in reasons["pickable_objects[2] 'ok'"]
    assert "not a JSON object" in reasons["pickable_objects[3]"]


def test_config_settings_fall_back_to_copick_defaults_and_bad_ids_are_ignored(project):
    config = {k: v for k, v in project.config.items() if k not in ("name", "description", "version")}
    config["user_id"] = 7
    project.config_path.write_text(json.dumps(config))
    report = project.import_()
    root = project.open()
    assert (root.config.name, root.config.description, root.config.version) == ("CoPick", "Let's CoPick!", "0.2.0")
    assert root.config.user_id is None
    assert any(n.path == "user_id" and "JSON string" in n.reason for n in report.notes)


def test_every_entity_kind_is_indexed_in_place(project):
    volume = np.arange(6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8)
    labels = (volume > 100).astype(np.uint8)
    tomo = project.tomogram("TS_001", 10.0, "wbp", volume)
    project.features("TS_001", 10.0, "wbp", "sobel", np.stack([volume, volume * 2]))
    project.segmentation("TS_001", 10.0, "alice", "1", "membrane", labels)
    project.segmentation("TS_001", 10.0, "tool", "0", "organelles", labels * 2, multilabel=True)
    project.mesh("TS_001", "alice", "1", "membrane")
    project.object_map("ribosome", volume, voxel_size=7.84)
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    instances = labels.astype(np.uint16) * 5
    project.segmentation("TS_001", 10.0, "tool", "0", "ribosome", instances, directory="InstanceSegmentations")
    panoptic = np.stack([labels.astype(np.uint16), instances])
    project.segmentation("TS_001", 10.0, "tool", "0", "scene", panoptic, directory="PanopticSegmentations")
    strands = [{"instance_id": 2, "points": [[0, 0, 0], [1, 2, 3]], "score": 0.5}]
    project.filaments("TS_001", "alice", "1", "my-object", strands)
    report = project.import_()
    assert not report.skipped
    for kind in ("runs", "voxel_spacings", "tomograms", "features", "meshes", "object_maps", "filaments"):
        assert project.counts(report, kind) == (1, 0, 0, 0), kind
    assert project.counts(report, "segmentations") == (4, 0, 0, 0)

    run = project.open().get_run("TS_001")
    tomogram = run.get_voxel_spacing(10.0).get_tomogram("wbp")
    assert tomogram.path == tomo  # referenced where it is, not copied
    np.testing.assert_array_equal(tomogram.numpy(), volume)
    assert tomogram.meta.dimensions == (8, 7, 6)
    np.testing.assert_array_equal(tomogram.get_features("sobel").numpy(), np.stack([volume, volume * 2]))
    (single,) = run.get_segmentations(is_multilabel=False)
    (multi,) = run.get_segmentations(is_multilabel=True)
    assert (single.name, multi.name, multi.user_id, multi.session_id) == ("membrane", "organelles", "tool", "0")
    np.testing.assert_array_equal(multi.numpy(), labels * 2)
    (mesh,) = run.meshes
    assert len(mesh.mesh.vertices) == 8 and len(mesh.mesh.faces) == 12
    (instance,) = run.get_segmentations(is_instance=True)
    np.testing.assert_array_equal(instance.numpy(), instances)
    (scene,) = run.get_segmentations(is_panoptic=True)
    assert scene.name == "scene" and scene.numpy().shape == (2, 6, 7, 8)
    (traced,) = run.filaments
    assert [(f.instance_id, f.score, [tuple(p) for p in f.points]) for f in traced.filaments] == [
        (2, 0.5, [(0.0, 0.0, 0.0), (1.0, 2.0, 3.0)])
    ]
    ribosome = project.open().get_object("ribosome")
    np.testing.assert_array_equal(ribosome.numpy(), volume)
    assert not any(project.base.glob("catalog.data"))  # nothing copied into a data directory of its own


def test_picks_points_are_copied_with_nulls_transforms_and_flags(project):
    transform = [[0.0, -1.0, 0.0, 5.5], [1.0, 0.0, 0.0, -2.0], [0.0, 0.0, 1.0, 0.25], [0.0, 0.0, 0.0, 1.0]]
    points = [
        project.point(1.5, 2.5, 3.5),
        project.point(4, 5, 6, score=None, instance_id=None),
        project.point(7.125, 8, 9, score=0.25, instance_id=12, transformation_=transform),
    ]
    path = project.picks("TS_001", "alice", "1", "ribosome", points, trust_orientation=False, voxel_spacing=10.0)
    project.picks("TS_001", "tool", "0", "ribosome", [])
    project.import_()
    path.unlink()  # the points live in the catalog now
    run = project.open().get_run("TS_001")
    (picks,) = run.get_picks(user_id="alice")
    assert picks.trust_orientation is False and picks.meta.voxel_spacing == 10.0
    positions, transforms = picks.numpy()
    np.testing.assert_array_equal(positions, [[1.5, 2.5, 3.5], [4, 5, 6], [7.125, 8, 9]])
    np.testing.assert_array_equal(transforms[2], transform)
    np.testing.assert_array_equal(transforms[:2], [np.eye(4), np.eye(4)])
    got = [(p.score, p.instance_id) for p in picks.points]
    assert got == [(1.0, 0), (None, None), (0.25, 12)]
    (empty,) = run.get_picks(user_id="tool")
    assert empty.numpy()[0].shape == (0, 3) and empty.from_tool


def test_static_entities_are_read_only_and_overlay_ones_writable(project):
    volume = np.ones((4, 4, 4), dtype=np.float32)
    project.tomogram("TS_001", 10.0, "wbp", volume, static=True)
    project.picks("TS_001", "bob", "1", "ribosome", [project.point(1, 2, 3)], static=True)
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.import_()
    run = project.open().get_run("TS_001")
    assert not run.read_only and not run.get_voxel_spacing(10.0).read_only
    static_picks = run.get_picks(user_id="bob")[0]
    overlay_picks = run.get_picks(user_id="alice")[0]
    assert static_picks.read_only and not overlay_picks.read_only
    with pytest.raises(ReadOnlyError):
        static_picks.from_numpy(np.zeros((1, 3)))
    overlay_picks.from_numpy(np.zeros((2, 3)))
    tomogram = run.get_voxel_spacing(10.0).get_tomogram("wbp")
    assert tomogram.read_only
    with pytest.raises(PermissionError):
        tomogram.from_numpy(volume)
    # new data goes to the overlay, in copick's layout, even inside a static-only run and voxel spacing
    created = run.get_voxel_spacing(10.0).new_tomogram("denoised")
    created.from_numpy(volume, levels=1)
    assert created.path == project.overlay / "ExperimentRuns/TS_001/VoxelSpacing10.000/denoised.zarr"


def test_overlay_copy_shadows_the_static_one(project):
    static = project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 1, 1)], static=True)
    overlay = project.picks("TS_001", "alice", "1", "ribosome", [project.point(2, 2, 2), project.point(3, 3, 3)])
    project.run("TS_002", static=True)
    project.run("TS_002")
    report = project.import_()
    assert project.counts(report, "picks") == (1, 0, 0, 0)
    assert project.counts(report, "runs") == (2, 0, 0, 0)  # a run on both sides is one run
    assert [(s.path, s.reason) for s in report.shadowed] == [(str(static), f"shadowed by {overlay}")]
    (picks,) = project.open().get_run("TS_001").picks
    assert not picks.read_only and len(picks.points) == 2


def test_an_empty_overlay_density_map_does_not_hide_the_static_one(project):
    volume = np.ones((3, 3, 3), dtype=np.float32)
    project.object_map("ribosome", volume, static=True)
    project.object_map("ribosome", None)  # copick's obj.zarr() leaves an empty store behind
    report = project.import_()
    ribosome = project.open().get_object("ribosome")
    np.testing.assert_array_equal(ribosome.numpy(), volume)
    assert ribosome.read_only
    assert report.shadowed[0].path == str(project.overlay / "Objects/ribosome.zarr")


@pytest.mark.parametrize(
    "form", ["local://{path}", "file://{path}", "{path}", "{path}/", "local://{path}/", "relative", "~"]
)
def test_root_urls_and_paths(project, form, monkeypatch):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    if form == "relative":
        monkeypatch.chdir(project.base)
        value = "overlay"
    elif form == "~":
        monkeypatch.setenv("HOME", str(project.base))
        value = "~/overlay"
    else:
        value = form.format(path=project.overlay)
    project.write_config(overlay_root=value, static_root=None)
    report = project.import_()
    assert project.counts(report, "picks") == (1, 0, 0, 0)
    root = project.open()
    assert root.data.directories[root.data.default_id] == project.overlay


def test_same_static_and_overlay_root_is_an_overlay_only_project(project):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.write_config(static_root=str(project.overlay))
    project.import_()
    root = project.open()
    assert len(root.data.directories) == 1
    assert not root.get_run("TS_001").picks[0].read_only


def test_data_root_overrides_the_configured_overlay_root(project):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.write_config(overlay_root="local:///nonexistent/elsewhere")
    report = copick_db.import_filesystem(
        project.config_path, project.catalog, data_root=project.overlay, progress=False
    )
    assert project.counts(report, "picks") == (1, 0, 0, 0)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"overlay_root": "s3://bucket/project"}, ValueError, "local projects in place only"),
        ({"config_type": "cryoet_data_portal"}, ValueError, "only copick filesystem projects"),
        ({"config_type": "copick_db"}, ValueError, "copick_db.from_file"),
        ({"overlay_root": None}, ValueError, "no overlay_root"),
        ({"pickable_objects": None}, ValueError, "pickable_objects"),
        ({"static_root": "/nonexistent/static"}, FileNotFoundError, "not a directory"),
    ],
)
def test_unusable_configs_raise(project, change, error, message):
    project.write_config(**change)
    with pytest.raises(error, match=message):
        project.import_()
    assert not project.catalog.exists()


def test_missing_or_broken_config_files_raise(project):
    with pytest.raises(FileNotFoundError):
        copick_db.import_filesystem(project.base / "missing.json", project.catalog, progress=False)
    project.config_path.write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        project.import_()


def test_a_catalog_of_another_project_is_refused(project, make_project):
    project.import_()
    other = make_project("other")
    with pytest.raises(ValueError, match="another project"):
        copick_db.import_filesystem(other.config_path, project.catalog, progress=False)
    with pytest.raises(ValueError, match="another project"):  # same overlay root, another static root
        copick_db.import_filesystem(other.config_path, project.catalog, data_root=project.overlay, progress=False)


def test_data_root_records_a_moved_overlay_root(project, tmp_path):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.import_()
    moved = tmp_path / "moved-overlay"
    shutil.move(project.overlay, moved)
    report = copick_db.import_filesystem(project.config_path, project.catalog, data_root=moved, progress=False)
    assert not report.changed and report.counts["picks"].unchanged == 1
    assert any(n.path == "data_root" and "moved" in n.reason for n in report.notes)
    root = project.open()
    assert root.data.directories[root.data.default_id] == moved


def test_legacy_config_without_config_type_imports(project):
    config = dict(project.config)
    del config["config_type"]
    project.config_path.write_text(json.dumps(config))
    project.picks("TS_001", "alice", "1", "ribosome", [])
    assert project.counts(project.import_(), "picks") == (1, 0, 0, 0)


def test_run_index_in_config_is_ignored_with_a_note(project):
    project.run("TS_001")
    project.write_config(runs=["TS_009"])
    report = project.import_()
    assert [r.name for r in project.open().runs] == ["TS_001"]
    assert any(n.path == "runs" for n in report.notes)


def test_hidden_entries_and_unrelated_files_are_ignored(project):
    run = project.run("TS_001")
    (run / "notes.txt").write_text("hello")
    project.write("ExperimentRuns/.hidden-run/.meta", "meta")
    project.write("ExperimentRuns/TS_001/Picks/.alice_1_ribosome.json.tmp-1-abcdef12", "{")
    project.write("ExperimentRuns/TS_001/Picks/alice_1_ribosome.JSON", "{")
    project.write("ExperimentRuns/file-not-run", "x")
    report = project.import_()
    assert not report.skipped
    assert [r.name for r in project.open().runs] == ["TS_001"]
    assert os.path.exists(run / "notes.txt")


def test_features_of_a_static_tomogram_are_written_to_the_overlay(project):
    volume = np.ones((4, 4, 4), dtype=np.float32)
    project.tomogram("TS_001", 10.0, "wbp", volume, static=True)
    project.import_()
    tomogram = project.open().get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp")
    assert tomogram.read_only
    features = tomogram.new_features("sobel")
    features.from_numpy(np.zeros((2, 4, 4, 4), dtype=np.float32))
    assert not features.read_only
    assert features.path == project.overlay / "ExperimentRuns/TS_001/VoxelSpacing10.000/wbp_sobel_features.zarr"
    assert [f.feature_type for f in project.open().get_run("TS_001").get_voxel_spacing(10.0).tomograms[0].features] == [
        "sobel"
    ]


def test_a_store_holding_one_root_array_is_imported_as_level_zero(project):
    """What ``zarr.array(data, store=tomo.zarr())`` leaves: a ``.zarray`` at the store's root, no group."""
    data = np.arange(6 * 5 * 4, dtype=np.float32).reshape(6, 5, 4)
    store = project.tomogram("TS_1", 10.0, "handmade", None)
    store.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(store)
    zarr = pytest.importorskip("zarr")
    kwargs = {"zarr_format": 2} if zarr.__version__.startswith("3") else {}
    zarr.array(data, store=str(store), chunks=(3, 3, 3), **kwargs)
    report = project.import_()
    assert not report.skipped
    tomo = project.open().get_run("TS_1").get_voxel_spacing(10.0).get_tomogram("handmade")
    np.testing.assert_array_equal(tomo.numpy(), data)
    assert tomo.meta.dimensions == (4, 5, 6)
