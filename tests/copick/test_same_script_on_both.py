"""One user script, run on a copick 1.31 root and on a copick_db root: both must observe the same things.

The script is what copick users write: it creates entities, looks them up again in every way copick offers, deletes
some, writes zarr stores by hand and round-trips picks through RELION data frames. Each step records what it sees
(identity included: ``is``, ``in`` and ``==`` between the objects it was handed); the two records must be equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import copick_db

copick = pytest.importorskip("copick")
zarr = pytest.importorskip("zarr")

pytestmark = pytest.mark.copick

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "radius": 150.0},
    {"name": "membrane", "is_particle": False, "label": 2},
]


def _copick_root(tmp_path: Path) -> Any:
    config = {
        "config_type": "filesystem",
        "name": "script",
        "pickable_objects": OBJECTS,
        "user_id": "alice",
        "session_id": "1",
        "overlay_root": f"local://{tmp_path / 'overlay'}",
        "overlay_fs_args": {"auto_mkdir": True},
    }
    (tmp_path / "overlay" / "ExperimentRuns").mkdir(parents=True)
    path = tmp_path / "copick_config.json"
    path.write_text(json.dumps(config))
    return copick.from_file(str(path))


def _copick_db_root(tmp_path: Path) -> Any:
    config = {"name": "script", "pickable_objects": OBJECTS, "user_id": "alice", "session_id": "1"}
    return copick_db.create(tmp_path / "project.sqlite", config)


def _identity_script(root: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    run = root.new_run("TS_001")
    seen["run in runs"] = run in root.runs
    seen["get_run is run"] = root.get_run("TS_001") is run
    seen["new_run exist_ok is run"] = root.new_run("TS_001", exist_ok=True) is run
    vs = run.new_voxel_spacing(10.0)
    seen["vs is get"] = run.get_voxel_spacing(10.0) is vs
    tomo = vs.new_tomogram("wbp")
    seen["tomo in tomograms"] = tomo in vs.tomograms
    seen["tomo is get"] = vs.get_tomograms("wbp")[0] is tomo
    seen["tomo exist_ok"] = vs.new_tomogram("wbp", exist_ok=True) is tomo
    feat = tomo.new_features("sobel")
    seen["features is get"] = tomo.get_features("sobel") is feat
    seen["features in list"] = feat in tomo.features

    picks = run.new_picks("ribosome", "0", "picker")  # session "0": tool output for copick and copick_db alike
    seen["picks in picks"] = picks in run.picks
    seen["picks in tool_picks"] = picks in run.tool_picks()
    seen["picks not in user_picks"] = picks not in run.user_picks()
    seen["picks exist_ok is"] = run.new_picks("ribosome", "0", "picker", exist_ok=True) is picks
    seen["get_picks holds it"] = picks in run.get_picks(object_name="ribosome", user_id="picker")
    picks.from_numpy(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    seen["points through another handle"] = run.get_picks(object_name="ribosome")[0].numpy()[0].tolist()
    other = run.new_picks("ribosome", "2", "bob")
    seen["picks listed"] = sorted((p.user_id, p.session_id) for p in run.picks)
    other.delete()
    seen["picks after delete"] = sorted((p.user_id, p.session_id) for p in run.picks)
    seen["deleted not in get"] = other not in run.get_picks(user_id="bob")

    mesh = run.new_mesh("membrane", "3", "carol")
    seen["mesh in meshes"] = mesh in run.meshes and run.get_meshes(user_id="carol")[0] is mesh
    seg = run.new_segmentation(10.0, "membrane", "4", False, "dave")
    seen["seg in segmentations"] = seg in run.segmentations
    seen["seg is get"] = run.get_segmentations(user_id="dave", name="membrane")[0] is seg
    seg.delete()
    seen["seg after delete"] = len(run.get_segmentations(user_id="dave"))
    obj = root.get_object("ribosome")
    seen["object is get"] = root.get_object("ribosome") is obj and obj in root.pickable_objects
    return seen


def _hand_written_zarr_script(root: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    run = root.new_run("TS_002")
    vs = run.new_voxel_spacing(10.0)
    data = np.arange(24 * 20 * 16, dtype=np.float32).reshape(24, 20, 16)
    tomo = vs.new_tomogram("handmade")
    group = zarr.open_group(tomo.zarr(), mode="w")
    group.create_dataset("0", data=data, chunks=(8, 8, 8))
    seen["tomogram group"] = tomo.numpy().tolist() == data.tolist()
    feat = vs.new_tomogram("wbp").new_features("sobel")
    zarr.open_group(feat.zarr(), mode="w").create_dataset("0", data=data[:4], chunks=(4, 4, 4))
    seen["features group"] = feat.numpy().shape
    return seen


def _relion_script(root: Any) -> dict[str, Any]:
    run = root.new_run("TS_003")
    run.new_voxel_spacing(10.0)
    picks = run.new_picks("ribosome", "5", "relion")
    rng = np.random.default_rng(0)
    positions = rng.uniform(0, 500, (6, 3))
    transforms = np.tile(np.eye(4), (6, 1, 1))
    transforms[:, :3, 3] = rng.uniform(-5, 5, (6, 3))
    picks.from_numpy(positions, transforms)
    frame = picks.df(format="relion", tilt_series_pixel_size=5.0, tomogram_center=(250.0, 250.0, 250.0))
    back = run.new_picks("ribosome", "6", "relion")
    back.from_df(frame, format="relion", tilt_series_pixel_size=5.0, tomogram_center=(250.0, 250.0, 250.0))
    got_positions, got_transforms = back.numpy()
    return {
        "columns": sorted(frame.columns),
        "rows": len(frame),
        "positions": np.round(got_positions, 4).tolist(),
        "rotations": np.round(got_transforms[:, :3, :3], 6).tolist(),
    }


@pytest.mark.parametrize("script", [_identity_script, _hand_written_zarr_script, _relion_script])
def test_copick_and_copick_db_observe_the_same(tmp_path, script):
    pytest.importorskip("pandas") if script is _relion_script else None
    theirs = script(_copick_root(tmp_path / "copick"))
    with _copick_db_root(tmp_path / "copick_db") as root:
        ours = script(root)
    assert ours == theirs
