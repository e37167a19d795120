"""Fidelity against real copick 1.31: projects written with copick's own API, imported, compared entity by entity
through copick's API and copick_db's; each export is opened by ``copick.from_file`` and compared the same way.

Runs only where copick is installed (``.venv-copick``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
import zarr

import copick_db

copick = pytest.importorskip("copick")

pytestmark = pytest.mark.copick

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150.0},
    {"name": "membrane", "is_particle": False, "label": 2, "color": [200, 10, 10, 255]},
    {"name": "my-object", "is_particle": True, "label": 3, "identifier": "GO:0005840", "map_threshold": 0.5},
    {"name": "proteasome", "is_particle": True, "label": 4, "pdb_id": "1YAR"},
    {"name": "actin", "is_particle": True, "label": 5, "metadata": {"copick": {"filament": {"polar": True}}}},
]
SHAPE = (9, 12, 14)  # (z, y, x)
TRANSFORMS = np.stack([np.eye(4)] * 40)
TRANSFORMS[:, :3, 3] = np.arange(120).reshape(40, 3) * 0.5  # translations
TRANSFORMS[1, :3, :3] = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]  # a rotation


def _volume(seed: int, dtype: Any = np.float32) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=SHAPE).astype(dtype)


def _write_features(tomogram: Any, feature_type: str, data: np.ndarray) -> None:
    """copick has no features writer: tools write array "0" into the store themselves."""
    features = tomogram.new_features(feature_type)
    group = zarr.group(store=features.zarr(), overwrite=True)
    group.create_dataset("0", data=data, chunks=(1, *SHAPE), dimension_separator="/")


def _populate_static(root: Any) -> None:
    """The static side: two runs, two voxel spacings, every entity kind."""
    for index, run_name in enumerate(("TS_001", "run-2.b")):
        run = root.new_run(run_name)
        vs10 = run.new_voxel_spacing(10.0)
        wbp = vs10.new_tomogram("wbp")
        wbp.from_numpy(_volume(index), levels=3)
        _write_features(wbp, "sobel", np.stack([_volume(10 + index), _volume(20 + index)]))
        vs13 = run.new_voxel_spacing(13.48)
        vs13.new_tomogram("denoised").from_numpy(_volume(30 + index), levels=1)
        vs13.new_tomogram("placeholder")  # an empty store: a real, data-less entity

        rng = np.random.default_rng(index)
        many = run.new_picks("ribosome", "1234", user_id="test.user")
        many.from_numpy(
            rng.uniform(0, 1000, (40, 3)), TRANSFORMS, instance_ids=np.arange(40), scores=rng.uniform(0, 1, 40)
        )
        many.points[3].score = None
        many.points[4].instance_id = None
        many.store()
        one = run.new_picks("my-object", "0", user_id="tool")
        one.from_numpy(np.array([[12.5, 13.25, 14.0]]))
        run.new_picks("proteasome", "0", user_id="tool")  # zero points
        flagged = run.new_picks("ribosome", "1", user_id="bob")
        flagged.from_numpy(rng.uniform(0, 100, (3, 3)))
        flagged.meta.trust_orientation = False
        flagged.store()

        box = run.new_mesh("membrane", "0", user_id="membrain")
        box.mesh = trimesh.creation.box(extents=(10, 20, 30))
        box.store()
        scene = run.new_mesh("membrane", "1", user_id="test.user")
        scene.mesh = trimesh.Scene([trimesh.creation.box(), trimesh.creation.icosphere(subdivisions=1)])
        scene.store()
        run.new_mesh("my-object", "0", user_id="empty-tool")  # copick's 172-byte empty GLB

        mask = (_volume(40 + index) > 0.5).astype(np.uint8)
        run.new_segmentation(10.0, "membrane", "0", user_id="membrain").from_numpy(mask)
        labels = np.zeros(SHAPE, np.uint8)
        labels[2:5, 3:7, 4:9] = 1
        labels[6:8, 1:4, 2:5] = 4
        multi = run.new_segmentation(13.48, "organelles", "1", is_multilabel=True, user_id="test.user")
        multi.from_numpy(labels)
        instances = run.new_segmentation(10.0, "ribosome", "0", user_id="segmenter", is_instance=True)
        instances.from_numpy((labels > 0).astype(np.uint16) * np.arange(1, SHAPE[2] + 1, dtype=np.uint16))
        scene = run.new_segmentation(10.0, "scene", "0", user_id="segmenter", is_panoptic=True)
        scene.from_numpy(np.stack([labels, (labels > 0).astype(np.uint8) * 3]).astype(np.uint16))

        traced = run.new_filaments("actin", "1", user_id="test.user")
        traced.from_numpy(
            [rng.uniform(0, 500, (5, 3)), rng.uniform(0, 500, (2, 3))],
            instance_ids=[3, 7],
            polarity_known=[True, False],
            scores=[0.9, 0.25],
            radii=[35.0, None],
            voxel_spacing=10.0,
            metadata=[{"source": "tracer"}, None],
        )
    root.get_object("ribosome").from_numpy(_volume(50), voxel_size=10.0)


def _populate_overlay(root: Any) -> None:
    """The overlay side, written through a root that also sees the static side."""
    root.new_run("TS_003").new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(_volume(60), levels=2)
    run = root.get_run("TS_001")
    run.new_picks("my-object", "7", user_id="overlay-user").from_numpy(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    run.new_mesh("ribosome", "7", user_id="overlay-user").mesh = trimesh.creation.icosphere()
    run.get_meshes(user_id="overlay-user")[0].store()
    run.new_segmentation(13.48, "membrane", "7", user_id="overlay-user").from_numpy(np.ones(SHAPE, np.uint8))
    vs = run.get_voxel_spacing(13.48)
    vs.new_tomogram("overlay-tomo").from_numpy(_volume(70), levels=1)
    root.get_object("my-object").from_numpy(_volume(80), voxel_size=13.48)


@pytest.fixture(scope="module")
def copick_project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A static + overlay project written with copick's API; returns its paths."""
    base = tmp_path_factory.mktemp("copick-made")
    static, overlay = base / "static", base / "overlay"
    objects = [copick.models.PickableObject(**o) for o in OBJECTS]
    writer = copick.new_config(str(base / "static_writer.json"), str(static), "fidelity", "made by copick", objects)
    _populate_static(writer)
    config = json.loads((base / "static_writer.json").read_text())
    config.update(
        overlay_root=f"local://{overlay}",
        overlay_fs_args={"auto_mkdir": True},
        static_root=f"local://{static}",
        user_id="test.user",
    )
    (base / "copick_config.json").write_text(json.dumps(config, indent=4))
    _populate_overlay(copick.from_file(str(base / "copick_config.json")))
    # an overlay copy of a static pick set (copick would list both; the overlay copy wins in the catalog)
    picks_dir = overlay / "ExperimentRuns/TS_001/Picks"
    shadow = json.loads((static / "ExperimentRuns/TS_001/Picks/bob_1_ribosome.json").read_text())
    shadow["points"] = shadow["points"][:1]
    (picks_dir / "bob_1_ribosome.json").write_text(json.dumps(shadow, indent=4))
    return {"base": base, "config": base / "copick_config.json", "static": static, "overlay": overlay}


@pytest.fixture(scope="module")
def imported(copick_project: dict[str, Path]) -> Any:
    report = copick_db.import_filesystem(copick_project["config"], copick_project["base"] / "p.sqlite", progress=False)
    root = copick_db.open(copick_project["base"] / "p.sqlite")
    yield report, root
    root.close()


# -- comparison through the shared API ----------------------------------------------------------------------------


def _mesh_arrays(mesh: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(mesh, trimesh.Scene):
        parts = [g for g in mesh.dump() if isinstance(g, trimesh.Trimesh) and len(g.vertices)]
        mesh = trimesh.util.concatenate(parts) if parts else trimesh.Trimesh()
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def _points(picks: Any) -> list[tuple]:
    return [
        (p.location.x, p.location.y, p.location.z, tuple(map(tuple, p.transformation_)), p.instance_id, p.score)
        for p in picks.points
    ]


def _winning(entities: list[Any], key: Any) -> dict[Any, Any]:
    """copick lists a static and an overlay copy of one identity; the overlay copy is the one that counts."""
    found: dict[Any, Any] = {}
    for entity in entities:
        k = key(entity)
        if k not in found or not entity.read_only:
            found[k] = entity
    return found


def _compare(expected: Any, actual: Any, *, check_read_only: bool = True) -> None:
    """Compare two roots (copick's or copick_db's) entity by entity through the API they share."""
    assert sorted(r.name for r in actual.runs) == sorted(r.name for r in expected.runs)
    for obj in expected.pickable_objects:
        other = actual.get_object(obj.name)
        assert other is not None, obj.name
        for field in ("is_particle", "label", "emdb_id", "pdb_id", "identifier", "map_threshold", "radius", "metadata"):
            assert getattr(other.meta, field) == getattr(obj.meta, field), (obj.name, field)
        assert tuple(other.meta.color) == tuple(obj.meta.color)
    for name in ("ribosome", "my-object"):
        np.testing.assert_array_equal(actual.get_object(name).numpy(), expected.get_object(name).numpy())
    for run in expected.runs:
        other = actual.get_run(run.name)
        assert sorted(v.voxel_size for v in other.voxel_spacings) == sorted({v.voxel_size for v in run.voxel_spacings})
        for vs in run.voxel_spacings:
            other_vs = other.get_voxel_spacing(vs.voxel_size)
            assert sorted(t.tomo_type for t in other_vs.tomograms) == sorted({t.tomo_type for t in vs.tomograms})
            for tomo in vs.tomograms:
                (mine,) = other_vs.get_tomograms(tomo.tomo_type)
                if tomo.tomo_type == "placeholder":
                    continue  # an empty store: nothing to read on either side
                for level in zarr.open(tomo.zarr(), mode="r").array_keys():
                    np.testing.assert_array_equal(mine.numpy(level), tomo.numpy(level))
                assert sorted(f.feature_type for f in mine.features) == sorted(f.feature_type for f in tomo.features)
                for features in tomo.features:
                    np.testing.assert_array_equal(mine.get_features(features.feature_type).numpy(), features.numpy())
        expected_picks = _winning(run.picks, lambda p: (p.pickable_object_name, p.user_id, p.session_id))
        actual_picks = {(p.pickable_object_name, p.user_id, p.session_id): p for p in other.picks}
        assert set(actual_picks) == set(expected_picks)
        for key, picks in expected_picks.items():
            mine = actual_picks[key]
            assert _points(mine) == _points(picks), key
            assert mine.trust_orientation == picks.trust_orientation
            if check_read_only:
                assert mine.read_only == picks.read_only, key
        expected_meshes = _winning(run.meshes, lambda m: (m.pickable_object_name, m.user_id, m.session_id))
        actual_meshes = {(m.pickable_object_name, m.user_id, m.session_id): m for m in other.meshes}
        assert set(actual_meshes) == set(expected_meshes)
        for key, mesh in expected_meshes.items():
            vertices, faces = _mesh_arrays(mesh.mesh)
            mine_vertices, mine_faces = _mesh_arrays(actual_meshes[key].mesh)
            np.testing.assert_allclose(mine_vertices, vertices)
            np.testing.assert_array_equal(mine_faces, faces)

        def seg_key(s: Any) -> tuple:
            return (s.name, s.user_id, s.session_id, s.is_multilabel, s.voxel_size)

        any_type = {"is_instance": None, "is_panoptic": None}
        expected_segs = _winning(run.get_segmentations(**any_type), seg_key)
        actual_segs = {seg_key(s): s for s in other.get_segmentations(**any_type)}
        assert set(actual_segs) == set(expected_segs)
        for key, seg in expected_segs.items():
            np.testing.assert_array_equal(actual_segs[key].numpy(), seg.numpy())
            assert (actual_segs[key].is_instance, actual_segs[key].is_panoptic) == (seg.is_instance, seg.is_panoptic)

        expected_filaments = _winning(run.filaments, lambda f: (f.pickable_object_name, f.user_id, f.session_id))
        actual_filaments = {(f.pickable_object_name, f.user_id, f.session_id): f for f in other.filaments}
        assert set(actual_filaments) == set(expected_filaments)
        for key, traced in expected_filaments.items():
            mine = actual_filaments[key]
            assert [f.model_dump() for f in mine.filaments] == [f.model_dump() for f in traced.filaments], key
            assert mine.meta.voxel_spacing == traced.meta.voxel_spacing


def test_import_of_a_copick_made_project_matches_copick(copick_project, imported):
    report, root = imported
    assert not report.skipped, report.skipped
    added = {kind: c.added for kind, c in report.counts.items()}
    assert added == {
        "objects": 5,
        "object_maps": 2,
        "runs": 3,
        "voxel_spacings": 5,
        "tomograms": 8,
        "features": 2,
        "picks": 9,
        "meshes": 7,
        "segmentations": 9,
        "filaments": 2,
    }
    assert [s.path for s in report.shadowed] == [
        str(copick_project["static"] / "ExperimentRuns/TS_001/Picks/bob_1_ribosome.json")
    ]
    _compare(copick.from_file(str(copick_project["config"])), root)


def test_reimporting_the_copick_project_changes_nothing(copick_project, imported):
    again = copick_db.import_filesystem(copick_project["config"], copick_project["base"] / "p.sqlite", progress=False)
    assert not again.changed


def test_users_tools_and_read_only_flags_match(copick_project, imported):
    _report, root = imported
    theirs = copick.from_file(str(copick_project["config"])).get_run("run-2.b")
    mine = root.get_run("run-2.b")
    assert sorted((p.user_id, p.session_id) for p in mine.tool_picks()) == sorted(
        (p.user_id, p.session_id) for p in theirs.tool_picks()
    )
    assert all(p.read_only for p in mine.picks) and all(m.read_only for m in mine.meshes)
    assert not root.get_run("TS_003").get_voxel_spacing(10.0).get_tomogram("wbp").read_only
    assert root.get_object("ribosome").read_only and not root.get_object("my-object").read_only


def test_export_opens_in_copick_with_identical_content(copick_project, imported, tmp_path):
    _report, root = imported
    report = copick_db.export_filesystem(root, tmp_path / "export", progress=False)
    assert not report.skipped
    exported = copick.from_file(str(tmp_path / "export" / "copick_config.json"))
    original = copick.from_file(str(copick_project["config"]))
    _compare(original, exported, check_read_only=False)
    # and copick_db's own view equals copick's view of the export
    _compare(exported, root, check_read_only=False)


def test_copick_reads_data_written_through_copick_db_into_the_overlay(copick_project, tmp_path):
    base = tmp_path / "writable"
    shutil.copytree(copick_project["base"], base, ignore=shutil.ignore_patterns("p.sqlite*"))
    config = json.loads((base / "copick_config.json").read_text())
    config["overlay_root"] = f"local://{base / 'overlay'}"
    config["static_root"] = f"local://{base / 'static'}"
    (base / "copick_config.json").write_text(json.dumps(config))
    copick_db.import_filesystem(base / "copick_config.json", base / "p.sqlite", progress=False)
    root = copick_db.open(base / "p.sqlite")
    try:
        run = root.get_run("run-2.b")
        run.get_voxel_spacing(10.0).new_tomogram("fresh").from_numpy(_volume(90), levels=1)
        run.new_segmentation(10.0, "ribosome", "5", user_id="writer").from_numpy(np.ones(SHAPE, np.uint8))
    finally:
        root.close()
    theirs = copick.from_file(str(base / "copick_config.json")).get_run("run-2.b")
    (fresh,) = theirs.get_voxel_spacing(10.0).get_tomograms("fresh")
    np.testing.assert_array_equal(fresh.numpy(), _volume(90))
    (seg,) = theirs.get_segmentations(user_id="writer")
    assert not seg.read_only and seg.numpy().sum() == np.prod(SHAPE)
