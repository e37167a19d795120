"""copick 1.31's own models and ours agree on filaments, filament specs and segmentation types.

Files are made with copick's API (so their points are what copick regenerates from its curves), then read by both
model sets: the dumps must be equal, so a file written by one is what the other writes. These tests run only where
copick is installed (``.venv-copick``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

import copick_db
from copick_db import models as ours
from copick_db.models.curves import curve_anchors, curve_is_current

copick = pytest.importorskip("copick")
from copick import models as theirs  # noqa: E402
from copick.util import filaments as their_curves  # noqa: E402

pytestmark = pytest.mark.copick

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1},
    {"name": "membrane", "is_particle": False, "label": 2},
    {
        "name": "microtubule",
        "is_particle": True,
        "label": 3,
        "radius": 125.0,
        "metadata": {"copick": {"filament": {"polar": True, "helical_rise_a": 9.4, "protofilaments": 13}}},
    },
]


def _copick_file() -> dict:
    """A filaments file as copick 1.31 writes it: every curve kind, every per-filament field."""
    rng = np.random.default_rng(3)
    traced = theirs.CopickFilament.from_control_points(
        1, [(0, 0, 0), (40, 10, 0), (80, 0, 25)], step=7.84, polarity_known=True, radius=120.0
    )
    linear = theirs.CopickFilament.from_control_points(
        2, [(0, 50, 0), (30, 50, 0)], step=5.0, kind="linear", score=0.25
    )
    knots = [0.0, 0.0, 0.0, 0.0, 0.4, 1.0, 1.0, 1.0, 1.0]
    coefficients = [(0, 0, 100), (10, 5, 100), (20, -5, 110), (30, 0, 120), (45, 2, 120)]
    spline = theirs.CopickFilamentCurve(kind="bspline", degree=3, knots=knots, control_points=coefficients, step=4.0)
    fitted = theirs.CopickFilament.from_curve(7, spline.model_copy(update={"smoothing": 1.5}), metadata={"fit": "s"})
    bare = theirs.CopickFilament(instance_id=12, points=rng.uniform(0, 500, (9, 3)).tolist(), metadata={"a": [1, 2]})
    unknown = theirs.CopickFilament(
        instance_id=3,
        points=[(1, 1, 1), (2, 2, 2)],
        curve={"kind": "hermite", "control_points": [(1, 1, 1), (2, 2, 2)], "step": 1.0, "tangents": [[1, 0, 0]]},
    )
    file = theirs.CopickFilamentsFile(
        pickable_object_name="microtubule",
        user_id="alice",
        session_id="1",
        run_name="TS_001",
        voxel_spacing=7.84,
        filaments=[traced, linear, fitted, bare, unknown],
    )
    return json.loads(json.dumps(file.model_dump()))  # exactly what copick's _store writes


def test_a_copick_filaments_file_dumps_identically_through_our_models():
    data = _copick_file()
    reference = theirs.CopickFilamentsFile(**data).model_dump()
    mine = ours.CopickFilamentsFile.model_validate(data)
    assert mine.model_dump() == reference
    assert json.loads(mine.model_dump_json()) == json.loads(json.dumps(reference))
    assert theirs.CopickFilamentsFile(**mine.model_dump()).model_dump() == reference


def test_our_curve_checks_agree_with_copicks_on_its_own_curves():
    for filament in ours.CopickFilamentsFile.model_validate(_copick_file()).filaments:
        copicks = theirs.CopickFilament(**filament.model_dump())
        assert filament.curve_is_current() == copicks.curve_is_current()
        if filament.curve is not None and filament.curve.is_known:
            np.testing.assert_allclose(filament.curve.anchors(), copicks.curve.anchors(), rtol=0, atol=1e-9)
            assert filament.reversed().model_dump() == copicks.reversed().model_dump()


def test_staleness_agrees_with_copick_on_perturbed_points():
    rng = np.random.default_rng(11)
    knots = [0, 0, 0, 0.3, 0.6, 1, 1, 1]
    control = rng.uniform(0, 100, (5, 3))
    points = their_curves.evaluate_curve(control, 2.0, kind="bspline", degree=2, knots=knots)
    np.testing.assert_allclose(
        curve_anchors(control, "bspline", 2, knots),
        their_curves.curve_anchors(control, kind="bspline", degree=2, knots=knots),
        atol=1e-9,
    )
    for shift in (0.0, 0.005, 0.015, 0.5, 5.0):
        moved = points + rng.normal(0, shift, points.shape)
        for kind, args in (("bspline", (2, knots)), ("linear", (None, None)), ("catmull-rom", (None, None))):
            cps = control if kind == "bspline" else points[::4]
            expected = their_curves.curve_is_current(moved, cps, 2.0, kind=kind, degree=args[0], knots=args[1])
            assert curve_is_current(moved, cps, 2.0, kind, *args) == expected, (kind, shift)


@pytest.mark.parametrize(
    "bad",
    [
        {"instance_id": 0, "points": [(0, 0, 0), (1, 1, 1)]},
        {"instance_id": 1, "points": [(0, 0, 0)]},
        {"instance_id": 1, "points": [(0, 0, 0), (1, 1, 1)], "radius": 0.0},
        {"instance_id": 1, "points": [(0, 0, 0), (1, 1, 1)], "radius": -3.0},
        {"instance_id": 1, "points": [(0, 0, 0), (1, np.nan, 1)]},
        {
            "instance_id": 1,
            "points": [(0, 0, 0), (1, 1, 1)],
            "curve": {"kind": "linear", "control_points": [], "step": 1},
        },
        {
            "instance_id": 1,
            "points": [(0, 0, 0), (1, 1, 1)],
            "curve": {"kind": "bspline", "degree": 2, "knots": [0, 0, 1, 1], "control_points": [(0, 0, 0)], "step": 1},
        },
    ],
)
def test_both_refuse_the_same_bad_filaments(bad):
    with pytest.raises(ValueError):
        theirs.CopickFilament(**bad)
    with pytest.raises(ValueError):
        ours.CopickFilament(**bad)


def test_both_refuse_duplicate_instance_ids():
    data = {**_copick_file()}
    data["filaments"] = [data["filaments"][0], {**data["filaments"][1], "instance_id": 1}]
    with pytest.raises(ValueError):
        theirs.CopickFilamentsFile(**data)
    with pytest.raises(ValueError):
        ours.CopickFilamentsFile.model_validate(data)


def test_filament_specs_are_normalised_alike():
    for obj in OBJECTS:
        assert ours.PickableObject(**obj).model_dump() == theirs.PickableObject(**obj).model_dump()
    mine = ours.PickableObject(name="actin", is_particle=True, metadata={"copick": {"x": 1}})
    copicks = theirs.PickableObject(name="actin", is_particle=True, metadata={"copick": {"x": 1}})
    for spec in ({"polar": True, "helical_twist_deg": -166.7, "note": None}, None):
        mine.set_filament(spec)
        copicks.set_filament(spec)
        assert mine.metadata == copicks.metadata
        assert mine.is_filament == copicks.is_filament


def test_segmentation_metas_agree_on_types():
    for flags in ({}, {"is_multilabel": True}, {"is_instance": True}, {"is_panoptic": True}):
        fields = {"user_id": "u", "session_id": "0", "name": "x", "voxel_size": 7.84, "is_multilabel": False, **flags}
        mine = ours.CopickSegmentationMeta(**fields).model_dump(exclude={"created", "modified"})
        assert mine == theirs.CopickSegmentationMeta(**fields).model_dump()
    with pytest.raises(ValueError):
        theirs.CopickSegmentationMeta(
            user_id="u", session_id="0", name="x", voxel_size=1, is_multilabel=True, is_panoptic=True
        )
    with pytest.raises(ValueError):
        ours.CopickSegmentationMeta(
            user_id="u", session_id="0", name="x", voxel_size=1, is_multilabel=True, is_panoptic=True
        )


def test_a_copick_file_round_trips_through_the_catalog(tmp_path):
    data = _copick_file()
    reference = theirs.CopickFilamentsFile(**data).model_dump()
    with copick_db.create(tmp_path / "p.sqlite", {"pickable_objects": OBJECTS}) as root:
        filaments = root.new_run("TS_001").new_filaments("microtubule", "1", user_id="alice")
        filaments.meta.voxel_spacing = data["voxel_spacing"]
        filaments.filaments = data["filaments"]
        filaments.store()
    with copick_db.open(tmp_path / "p.sqlite") as root:
        (again,) = root.get_filaments()
        again.load()
        assert again.meta.model_dump(exclude={"created", "modified"}) == reference
        copicks_lines = [np.asarray(f["points"], dtype=float) for f in data["filaments"]]
        for mine, expected in zip(again.numpy(), copicks_lines, strict=True):
            np.testing.assert_array_equal(mine, expected)


# -- copick reads our instance and panoptic segmentations ------------------------------------------------------


def test_copick_reads_our_instance_and_panoptic_segmentations(tmp_path):
    labels = np.zeros((6, 8, 10), dtype=np.uint8)
    instances = np.zeros((6, 8, 10), dtype=np.uint16)
    labels[1:3, 2:5, 3:9], instances[1:3, 2:5, 3:9] = 1, 4
    ids = np.zeros((6, 8, 10), dtype=np.int64)
    ids[2:4, 1:3, 5:7] = 300
    with copick_db.create(tmp_path / "p.sqlite", {"pickable_objects": OBJECTS}) as root:
        run = root.new_run("TS_001")
        run.new_voxel_spacing(10.0)
        run.new_segmentation(10.0, "ribosome", "1", user_id="alice", is_instance=True).from_numpy(ids)
        run.new_segmentation(10.0, "scene", "0", user_id="tool", is_panoptic=True).from_numpy(
            np.stack([labels, instances]), levels=2
        )
        run.new_segmentation(10.0, "ribosome", "1", user_id="alice").from_numpy(ids > 0)
        data_root = root.data.directories[root.data.default_id]
    config = {
        "config_type": "filesystem",
        "pickable_objects": OBJECTS,
        "overlay_root": "local://" + str(data_root),
        "overlay_fs_args": {"auto_mkdir": True},
    }
    config_path = tmp_path / "copick.json"
    config_path.write_text(json.dumps(config))
    project = copick.from_file(str(config_path))
    copick_run = project.get_run("TS_001")
    assert [s.name for s in copick_run.get_segmentations()] == ["ribosome"]
    (instance,) = copick_run.get_segmentations(is_instance=True)
    (panoptic,) = copick_run.get_segmentations(is_panoptic=True)
    assert (instance.user_id, instance.name, panoptic.user_id, panoptic.name) == ("alice", "ribosome", "tool", "scene")
    np.testing.assert_array_equal(instance.numpy(), ids)
    np.testing.assert_array_equal(instance.instance_ids(), [300])
    np.testing.assert_array_equal(panoptic.numpy(), np.stack([labels, instances]))
    np.testing.assert_array_equal(panoptic.numpy("1", channel="label"), labels[::2, ::2, ::2])
    assert panoptic.segments() == [("ribosome", 4)]
    group = zarr.open(panoptic.zarr(), mode="r")
    assert [axis["name"] for axis in group.attrs["multiscales"][0]["axes"]] == ["c", "z", "y", "x"]


def test_we_read_copicks_instance_and_panoptic_stores_by_path(tmp_path):
    """A panoptic store copick wrote holds the same arrays our reader returns."""
    overlay = tmp_path / "overlay"
    config = {
        "config_type": "filesystem",
        "pickable_objects": OBJECTS,
        "overlay_root": "local://" + str(overlay),
        "overlay_fs_args": {"auto_mkdir": True},
    }
    config_path = tmp_path / "copick.json"
    config_path.write_text(json.dumps(config))
    project = copick.from_file(str(config_path))
    run = project.new_run("TS_001")
    run.new_voxel_spacing(10.0)
    seg = run.new_segmentation(10.0, "scene", "1", user_id="alice", is_panoptic=True)
    volume = np.zeros((2, 4, 4, 4), dtype=np.uint16)
    volume[0, 1:3], volume[1, 1:3] = 3, 2
    seg.from_numpy(volume)
    store = Path(seg.path)
    assert store.parent.name == "PanopticSegmentations"
    from copick_db.storage import paths, zarr_io

    assert paths.panoptic_segmentation_path("TS_001", 10.0, "alice", "1", "scene") == str(
        store.relative_to(overlay).as_posix()
    )
    np.testing.assert_array_equal(zarr_io.read(store, "0"), volume)
