"""export_filesystem without copick: layout, file contents, target checks, flat chunk keys, round trip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import copick_db
from copick_db.storage import zarr_io

TRANSFORM = [[0.0, -1.0, 0.0, 5.5], [1.0, 0.0, 0.0, -2.0], [0.0, 0.0, 1.0, 0.25], [0.0, 0.0, 0.0, 1.0]]
FILAMENTS = [
    {"instance_id": 1, "points": [[0.0, 0.0, 0.0], [10.0, 5.0, 2.5]]},
    {"instance_id": 4, "points": [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.5, 4.0]], "polarity_known": True,
     "score": 0.5, "radius": 12.0, "metadata": {"source": "hand"}},
]  # fmt: skip


@pytest.fixture
def imported(project):
    """A project with every kind of entity, imported."""
    volume = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    points = [
        project.point(1.5, 2.5, 3.5),
        project.point(4, 5, 6, score=None, instance_id=None, transformation_=TRANSFORM),
    ]
    project.picks("TS_001", "test.user", "1234", "my-object", points, trust_orientation=False)
    project.picks("TS_001", "tool", "0", "ribosome", [], static=True)
    project.tomogram("TS_001", 13.48, "wbp", volume, static=True)
    project.features("TS_001", 13.48, "wbp", "sobel", volume)
    project.tomogram("TS_001", 10.0, "empty", None)
    project.segmentation("TS_001", 13.48, "tool", "0", "membrane", (volume > 50).astype(np.uint8))
    project.segmentation("TS_001", 13.48, "tool", "0", "parts", (volume > 50).astype(np.uint8) * 3, multilabel=True)
    project.mesh("TS_002", "alice", "1", "membrane")
    instances = (volume > 50).astype(np.uint16) * 7
    project.segmentation("TS_002", 10.0, "tool", "0", "ribosome", instances, directory="InstanceSegmentations")
    panoptic = np.stack([(volume > 50).astype(np.uint16), instances])
    project.segmentation("TS_002", 10.0, "tool", "0", "scene", panoptic, directory="PanopticSegmentations")
    project.filaments("TS_002", "alice", "1", "my-object", FILAMENTS)
    project.object_map("ribosome", volume, static=True)
    project.import_()
    return project


def test_export_writes_copicks_layout_and_config(imported, tmp_path):
    out = tmp_path / "export"
    report = copick_db.export_filesystem(imported.open(), out, progress=False)
    assert report.counts == {
        "objects": 3,
        "object_maps": 1,
        "runs": 2,
        "voxel_spacings": 2,
        "tomograms": 2,
        "features": 1,
        "picks": 2,
        "meshes": 1,
        "segmentations": 4,
        "filaments": 1,
    }
    assert not report.skipped and report.bytes_written > 0
    config = json.loads((out / "copick_config.json").read_text())
    assert config["config_type"] == "filesystem"
    assert config["overlay_root"] == f"local://{out}"
    assert config.get("runs") is None and "static_root" not in config
    assert [o["name"] for o in config["pickable_objects"]] == ["ribosome", "membrane", "my-object"]
    assert config["pickable_objects"][0]["color"] == [0, 117, 220, 255]
    assert config["user_id"] == "alice"
    run = out / "ExperimentRuns/TS_001"
    expected = [
        ".meta",
        "Picks/test.user_1234_my-object.json",
        "Picks/tool_0_ribosome.json",
        "Segmentations/13.480_tool_0_membrane.zarr/.zgroup",
        "Segmentations/13.480_tool_0_parts-multilabel.zarr/0/.zarray",
        "VoxelSpacing10.000/.meta",
        "VoxelSpacing10.000/empty.zarr",
        "VoxelSpacing13.480/.meta",
        "VoxelSpacing13.480/wbp.zarr/1/.zarray",
        "VoxelSpacing13.480/wbp_sobel_features.zarr/.zattrs",
    ]
    for rel in expected:
        assert (run / rel).exists(), rel
    assert (out / "ExperimentRuns/TS_002/Meshes/alice_1_membrane.glb").is_file()
    assert (out / "ExperimentRuns/TS_002/InstanceSegmentations/10.000_tool_0_ribosome.zarr/0/.zarray").is_file()
    assert (out / "ExperimentRuns/TS_002/PanopticSegmentations/10.000_tool_0_scene.zarr/0/.zarray").is_file()
    filaments = json.loads((out / "ExperimentRuns/TS_002/Filaments/alice_1_my-object.json").read_text())
    assert filaments["version"] == 1 and [f["instance_id"] for f in filaments["filaments"]] == [1, 4]
    assert filaments["filaments"][1]["points"] == FILAMENTS[1]["points"]
    assert filaments["filaments"][1]["radius"] == 12.0 and filaments["filaments"][1]["metadata"] == {"source": "hand"}
    assert (out / "Objects/ribosome.zarr/0/.zarray").is_file()
    assert not any((run / "VoxelSpacing10.000/empty.zarr").iterdir())


def test_exported_picks_json_is_copicks(imported, tmp_path):
    out = tmp_path / "export"
    copick_db.export_filesystem(imported.open(), out, progress=False)
    document = json.loads((out / "ExperimentRuns/TS_001/Picks/test.user_1234_my-object.json").read_text())
    assert list(document) == [
        "pickable_object_name",
        "user_id",
        "session_id",
        "run_name",
        "voxel_spacing",
        "unit",
        "points",
        "trust_orientation",
    ]
    assert (document["user_id"], document["session_id"], document["run_name"]) == ("test.user", "1234", "TS_001")
    assert document["trust_orientation"] is False
    assert document["points"] == [
        {"location": {"x": 1.5, "y": 2.5, "z": 3.5}, "transformation_": np.eye(4).tolist(), "instance_id": 0,
         "score": 1.0},
        {"location": {"x": 4.0, "y": 5.0, "z": 6.0}, "transformation_": TRANSFORM, "instance_id": None,
         "score": None},
    ]  # fmt: skip
    assert json.loads((out / "ExperimentRuns/TS_001/Picks/tool_0_ribosome.json").read_text())["points"] == []


def test_export_then_import_round_trips(imported, tmp_path):
    original = imported.open()
    out = tmp_path / "export"
    copick_db.export_filesystem(original, out, progress=False)
    report = copick_db.import_filesystem(out / "copick_config.json", tmp_path / "again.sqlite", progress=False)
    assert not report.skipped
    again = copick_db.open(tmp_path / "again.sqlite")
    try:
        assert [r.name for r in again.runs] == [r.name for r in original.runs]
        for run in original.runs:
            other = again.get_run(run.name)
            for picks in run.picks:
                (copy,) = other.get_picks(picks.pickable_object_name, picks.user_id, picks.session_id)
                assert copy.points == picks.points and copy.trust_orientation == picks.trust_orientation
            for vs in run.voxel_spacings:
                for tomo in vs.tomograms:
                    copy = other.get_voxel_spacing(vs.voxel_size).get_tomogram(tomo.tomo_type)
                    if tomo.meta.dimensions is not None:
                        np.testing.assert_array_equal(copy.numpy(), tomo.numpy())
            for seg in run.get_segmentations(is_instance=None, is_panoptic=None):
                (copy,) = other.get_segmentations(
                    name=seg.name,
                    is_multilabel=seg.is_multilabel,
                    is_instance=seg.is_instance,
                    is_panoptic=seg.is_panoptic,
                )
                np.testing.assert_array_equal(copy.numpy(), seg.numpy())
            for filaments in run.filaments:
                (copy,) = other.get_filaments(filaments.pickable_object_name, filaments.user_id, filaments.session_id)
                assert [f.model_dump() for f in copy.filaments] == [f.model_dump() for f in filaments.filaments]
        np.testing.assert_array_equal(again.get_object("ribosome").numpy(), original.get_object("ribosome").numpy())
    finally:
        again.close()


def test_export_refuses_a_non_empty_directory_but_replaces_a_previous_export(imported, tmp_path):
    root = imported.open()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty and is not a previous copick_db export"):
        copick_db.export_filesystem(root, busy, progress=False)
    assert (busy / "precious.txt").read_text() == "keep me" and len(os.listdir(busy)) == 1
    file = tmp_path / "a-file"
    file.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        copick_db.export_filesystem(root, file, progress=False)

    out = tmp_path / "export"
    out.mkdir()  # an empty directory is fine
    copick_db.export_filesystem(root, out, progress=False)
    root.get_run("TS_002").delete()
    (out / "ExperimentRuns/TS_001/stale.txt").write_text("from the previous export")
    report = copick_db.export_filesystem(root, out, progress=False)
    assert report.counts["runs"] == 1
    assert sorted(os.listdir(out / "ExperimentRuns")) == ["TS_001"]
    assert not (out / "ExperimentRuns/TS_001/stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export")]  # no staging leftovers


def test_export_refuses_the_projects_own_data(imported, tmp_path):
    root = imported.open()
    for target in (imported.overlay, imported.base):
        with pytest.raises(ValueError, match="holds this project's data"):
            copick_db.export_filesystem(root, target, progress=False)
    # an export imported in place is a previous export *and* the data root: it is never replaced by itself
    out = tmp_path / "export"
    copick_db.export_filesystem(root, out, progress=False)
    copick_db.import_filesystem(out / "copick_config.json", tmp_path / "in-place.sqlite", progress=False)
    in_place = copick_db.open(tmp_path / "in-place.sqlite")
    try:
        with pytest.raises(ValueError, match="holds this project's data"):
            copick_db.export_filesystem(in_place, out, progress=False)
    finally:
        in_place.close()
    assert (out / "ExperimentRuns/TS_001/Picks/tool_0_ribosome.json").is_file()


def test_flat_chunk_keys_are_rewritten_nested(project, tmp_path):
    volume = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    store = project.tomogram("TS_001", 10.0, "flat", volume, levels=1)
    array = store / "0"
    meta = json.loads((array / ".zarray").read_text())
    meta["dimension_separator"] = "."
    (array / ".zarray").write_text(json.dumps(meta))
    for chunk in [p for p in array.rglob("*") if p.is_file() and not p.name.startswith(".")]:
        flat = ".".join(chunk.relative_to(array).parts)
        chunk.rename(array / flat)
    for leftover in sorted((p for p in array.rglob("*") if p.is_dir()), reverse=True):
        leftover.rmdir()
    assert (array / "0.0.0").is_file()
    project.import_()
    out = tmp_path / "export"
    report = copick_db.export_filesystem(project.open(), out, progress=False)
    assert any("nested" in note.reason for note in report.notes)
    exported = out / "ExperimentRuns/TS_001/VoxelSpacing10.000/flat.zarr"
    assert (exported / "0/0/0/0").is_file() and not (exported / "0/0.0.0").exists()
    assert json.loads((exported / "0/.zarray").read_text())["dimension_separator"] == "/"
    np.testing.assert_array_equal(zarr_io.read(exported, "0"), volume)
    assert (array / "0.0.0").is_file()  # the source is untouched


def test_missing_data_is_exported_as_empty_entities_or_listed(project, tmp_path):
    mesh = project.mesh("TS_001", "alice", "1", "membrane")
    v3 = project.write("ExperimentRuns/TS_001/VoxelSpacing10.000/v3.zarr/.zgroup", '{"zarr_format": 2}')
    project.import_()
    mesh.unlink()
    (v3.parent / "zarr.json").write_text("{}")
    report = copick_db.export_filesystem(project.open(), tmp_path / "export", progress=False)
    assert "exported as an empty mesh" in report.notes[0].reason
    assert report.counts["meshes"] == 1 and report.counts["tomograms"] == 0
    assert "zarr-v3" in report.skipped[0].reason
    assert (tmp_path / "export/ExperimentRuns/TS_001/Meshes/alice_1_membrane.glb").stat().st_size > 0


def test_export_of_a_project_made_with_copick_db(tmp_path):
    objects = [{"name": "ribosome", "is_particle": True, "label": 1}]
    root = copick_db.create(tmp_path / "p.sqlite", {"name": "native", "pickable_objects": objects})
    try:
        run = root.new_run("TS_9")
        run.new_voxel_spacing(7.84).new_tomogram("wbp").from_numpy(np.ones((3, 3, 3), np.float32), levels=1)
        run.new_picks("ribosome", "0", user_id="tool").from_numpy(np.array([[1.0, 2.0, 3.0]]), np.array([0.5]))
        report = copick_db.export_filesystem(root, Path(tmp_path / "out"), progress=False)
    finally:
        root.close()
    assert report.counts["tomograms"] == 1
    assert (tmp_path / "out/ExperimentRuns/TS_9/VoxelSpacing7.840/wbp.zarr/0/.zarray").is_file()
    document = json.loads((tmp_path / "out/ExperimentRuns/TS_9/Picks/tool_0_ribosome.json").read_text())
    assert document["points"][0]["score"] == 0.5
