"""Real copick 1.31 opens the data root copick_db writes, as a plain copick filesystem project.

These tests run only where copick is installed (``.venv-copick``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

import copick_db

copick = pytest.importorskip("copick")

pytestmark = pytest.mark.copick

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150.0},
    {"name": "membrane", "is_particle": False, "label": 2},
]
RUNS = ["TS_001", "TS_002"]
VOXEL_SIZES = [10.0, 13.48]
TOMO_TYPES = ["wbp", "denoised"]
SHAPE = (17, 24, 30)  # (z, y, x); odd edges exercise the rounding of the pyramid shapes


def _volume(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=SHAPE).astype(np.float32)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """A copick_db project, and a copick filesystem config whose overlay is copick_db's data root (read-only use)."""
    tmp_path = tmp_path_factory.mktemp("shared")
    root = copick_db.create(tmp_path / "project.sqlite", {"name": "shared", "pickable_objects": OBJECTS})
    seed = 0
    for run_name in RUNS:
        run = root.new_run(run_name)
        for voxel_size in VOXEL_SIZES:
            vs = run.new_voxel_spacing(voxel_size)
            for tomo_type in TOMO_TYPES:
                seed += 1
                vs.new_tomogram(tomo_type).from_numpy(_volume(seed), levels=3)
    wbp = root.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp")
    wbp.new_features("sobel").from_numpy(np.random.default_rng(99).normal(size=(3, *SHAPE)))

    data_root = root.data.directories[root.data.default_id]
    config = {
        "config_type": "filesystem",
        "name": "shared",
        "version": "1.31.0",
        "pickable_objects": OBJECTS,
        "overlay_root": "local://" + str(data_root),
        "overlay_fs_args": {"auto_mkdir": True},
    }
    config_path = tmp_path / "copick_config.json"
    config_path.write_text(json.dumps(config))
    yield root, copick.from_file(str(config_path))
    root.close()


def test_copick_sees_the_same_runs_voxel_spacings_and_tomogram_types(project):
    ours, theirs = project
    assert sorted(r.name for r in theirs.runs) == sorted(r.name for r in ours.runs) == RUNS
    for run in ours.runs:
        copick_run = theirs.get_run(run.name)
        assert sorted(vs.voxel_size for vs in copick_run.voxel_spacings) == VOXEL_SIZES
        for vs in run.voxel_spacings:
            copick_vs = copick_run.get_voxel_spacing(vs.voxel_size)
            assert copick_vs is not None
            assert sorted(t.tomo_type for t in copick_vs.tomograms) == sorted(t.tomo_type for t in vs.tomograms)


def test_copick_sees_the_same_pickable_objects(project):
    ours, theirs = project
    assert [(o.name, o.is_particle, o.label) for o in theirs.pickable_objects] == [
        (o.name, o.is_particle, o.label) for o in ours.pickable_objects
    ]


def test_copick_reads_identical_values_for_every_level(project):
    ours, theirs = project
    for run in ours.runs:
        for vs in run.voxel_spacings:
            copick_vs = theirs.get_run(run.name).get_voxel_spacing(vs.voxel_size)
            for tomogram in vs.tomograms:
                (copick_tomogram,) = copick_vs.get_tomograms(tomogram.tomo_type)
                for level in range(3):
                    mine = tomogram.numpy(str(level))
                    copicks = copick_tomogram.numpy(str(level))
                    assert copicks.dtype == mine.dtype == np.float32
                    expected = tuple(-(-n // 2**level) for n in SHAPE)
                    assert copicks.shape == mine.shape == expected
                    np.testing.assert_array_equal(copicks, mine)


def test_copick_applies_region_slices_to_the_same_axes(project):
    ours, theirs = project
    mine = ours.get_run("TS_002").get_voxel_spacing(13.48).get_tomogram("denoised")
    (copicks,) = theirs.get_run("TS_002").get_voxel_spacing(13.48).get_tomograms("denoised")
    region = {"x": slice(3, 25), "y": slice(0, 10), "z": slice(5, 17)}
    np.testing.assert_array_equal(copicks.numpy(**region), mine.numpy(**region))
    assert mine.numpy(**region).shape == (12, 10, 22)


def test_copick_reads_the_feature_map(project):
    ours, theirs = project
    mine = ours.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp").get_features("sobel")
    (copick_tomogram,) = theirs.get_run("TS_001").get_voxel_spacing(10.0).get_tomograms("wbp")
    copicks = copick_tomogram.get_features("sobel")
    assert copicks is not None
    assert [f.feature_type for f in copick_tomogram.features] == ["sobel"]
    stored = copicks.numpy()
    assert stored.dtype == np.float32 and stored.shape == (3, *SHAPE)
    np.testing.assert_array_equal(stored, mine.numpy())


def test_ome_multiscales_are_what_copick_expects(project, tmp_path):
    from copick.util.ome import get_voxel_size_from_zarr

    ours, theirs = project
    for voxel_size in VOXEL_SIZES:
        mine = ours.get_run("TS_001").get_voxel_spacing(voxel_size).get_tomogram("wbp")
        (copicks,) = theirs.get_run("TS_001").get_voxel_spacing(voxel_size).get_tomograms("wbp")
        group = zarr.open(copicks.zarr(), mode="r")
        assert get_voxel_size_from_zarr(group) == pytest.approx(voxel_size)
        (multiscale,) = group.attrs["multiscales"]
        assert multiscale["version"] == "0.4"
        assert multiscale["axes"] == [{"name": axis, "type": "space", "unit": "angstrom"} for axis in "zyx"]
        scales = [d["coordinateTransformations"][0]["scale"] for d in multiscale["datasets"]]
        assert scales == [[voxel_size * 2**i] * 3 for i in range(3)]
        assert [d["path"] for d in multiscale["datasets"]] == ["0", "1", "2"]

        # copick's own writer, on the same volume and voxel size, produces exactly the same metadata
        scratch = copick.from_file(str(_scratch_project(tmp_path / f"scratch-{voxel_size}")))
        copick_vs = scratch.new_run("TS_001").new_voxel_spacing(voxel_size)
        reference = copick_vs.new_tomogram("wbp")
        reference.from_numpy(mine.numpy(), levels=3)
        written_by_copick = zarr.open(reference.zarr(), mode="r").attrs.asdict()
        assert group.attrs.asdict() == written_by_copick
        for level in range(3):
            assert reference.numpy(str(level)).shape == mine.numpy(str(level)).shape


def _scratch_project(directory: Path) -> Path:
    directory.mkdir(parents=True)
    config = {
        "config_type": "filesystem",
        "pickable_objects": OBJECTS,
        "overlay_root": "local://" + str(directory),
        "overlay_fs_args": {"auto_mkdir": True},
    }
    path = directory.parent / f"{directory.name}.json"
    path.write_text(json.dumps(config))
    return path
