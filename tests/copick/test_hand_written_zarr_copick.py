"""One copick user script, run on a copick 1.31 root and on a copick_db root: what it observes must be the same.

The script writes tomograms, feature maps, segmentations and density maps by hand through ``zarr()`` (a root array
with ``zarr.array`` or ``zarr.create``, or a multiscale group built with ``zarr.open_group(mode="w")``), then reads
them back with zarr and with ``numpy()``. The one documented difference (api-contract §3 "Hand-written zarr"):
copick's ``numpy()`` cannot read a store whose data is one array at its root (``zarr.open(store)["0"]`` indexes the
array with a field name and raises IndexError), while copick_db reads that array as level "0".

A copick_db project exported to copick's layout is then opened with copick, which must observe what it observes on
its own project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import copick_db

pytestmark = pytest.mark.copick
copick = pytest.importorskip("copick")

SHAPE = (12, 20, 28)  # (z, y, x)
RNG = np.random.default_rng(31)
TOMOGRAM = RNG.normal(size=SHAPE).astype(np.float32)
FEATURES = RNG.normal(size=(2, *SHAPE)).astype(np.float32)
LABELS = RNG.integers(0, 2, size=SHAPE).astype(np.uint8)
PATTERNS = ("zarr.array", "zarr.create", "ome-group")
#: A region of the feature map, on its raw (c, z, y, x) axes.
FEATURES_REGION = (slice(1, 2), slice(4, 12), slice(0, 5), slice(3, 17))
#: Particles, one per pattern: a project has one density map per object.
PARTICLES = {"zarr.array": "ribosome", "zarr.create": "proteasome", "ome-group": "apoferritin"}
OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "radius": 150.0},
    {"name": "proteasome", "is_particle": True, "label": 2, "radius": 90.0},
    {"name": "apoferritin", "is_particle": True, "label": 3, "radius": 60.0},
    {"name": "membrane", "is_particle": False, "label": 4},
]


def _copick_root(directory: Path) -> Any:
    config = {
        "config_type": "filesystem",
        "name": "hand-written zarr",
        "description": "",
        "version": "1.31.0",
        "user_id": "alice",
        "pickable_objects": OBJECTS,
        "overlay_root": f"local://{directory}",
        "overlay_fs_args": {"auto_mkdir": True},
    }
    directory.mkdir()
    path = directory / "copick_config.json"
    path.write_text(json.dumps(config))
    return copick.from_file(str(path))


def _copick_db_root(directory: Path) -> Any:
    directory.mkdir()
    config = {"name": "hand-written zarr", "pickable_objects": OBJECTS, "user_id": "alice"}
    return copick_db.create(directory / "project.sqlite", config)


# -- the user script ----------------------------------------------------------------------------------------------


def _chunks(data: np.ndarray) -> tuple[int, ...]:
    return (1, 8, 8, 8) if data.ndim == 4 else (8, 8, 8)


def _write(store: Any, pattern: str, data: np.ndarray) -> None:
    if pattern == "zarr.array":
        zarr.array(data, store=store, chunks=_chunks(data))
    elif pattern == "zarr.create":
        zarr.create(data.shape, store=store, chunks=_chunks(data))[...] = data
    else:
        group = zarr.open_group(store, mode="w")
        group.create_dataset("0", data=data, chunks=_chunks(data))
        group.create_dataset("1", data=data[..., ::2, ::2, ::2], chunks=_chunks(data))
        axes = [{"name": axis, "type": "space", "unit": "angstrom"} for axis in "zyx"]
        if data.ndim == 4:
            axes.insert(0, {"name": "c", "type": "channel"})
        lead = [1.0] if data.ndim == 4 else []
        datasets = [
            {"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": lead + [10.0 * 2**i] * 3}]}
            for i in range(2)
        ]
        group.attrs["multiscales"] = [{"version": "0.4", "name": "/", "axes": axes, "datasets": datasets}]


def write_everything(root: Any) -> None:
    """Make one entity of each kind per pattern and write its data by hand."""
    run = root.new_run("TS_001")
    vs = run.new_voxel_spacing(10.0)
    for session, pattern in enumerate(PATTERNS, start=1):
        tomogram = vs.new_tomogram(f"tomo-{session}")
        _write(tomogram.zarr(), pattern, TOMOGRAM)
        _write(tomogram.new_features("sobel").zarr(), pattern, FEATURES)
        segmentation = run.new_segmentation(10.0, "membrane", str(session), False, user_id="alice")
        _write(segmentation.zarr(), pattern, LABELS)
        _write(root.get_object(PARTICLES[pattern]).zarr(), pattern, TOMOGRAM)


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "data", np.asarray(call())
    except Exception as exc:  # what the user sees is the observation
        return "error", type(exc).__name__


def _zarr_view(store: Any) -> dict[str, np.ndarray]:
    """What plain zarr reads from an entity's store: the root array, or every array of the group."""
    node = zarr.open(store, mode="r")
    if isinstance(node, zarr.Array):
        return {"<root>": node[...]}
    return {key: node[key][...] for key in sorted(node.array_keys())}


def observe(root: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Everything the script reads back, per (kind, pattern)."""
    run = root.get_run("TS_001")
    vs = run.get_voxel_spacing(10.0)
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for session, pattern in enumerate(PATTERNS, start=1):
        (tomogram,) = vs.get_tomograms(f"tomo-{session}")
        features = tomogram.get_features("sobel")
        (segmentation,) = run.get_segmentations(session_id=str(session))
        density = root.get_object(PARTICLES[pattern])
        volumes = {"tomogram": tomogram, "segmentation": segmentation, "density_map": density}
        for kind, entity in volumes.items():
            seen[(kind, pattern)] = {
                "zarr": _zarr_view(entity.zarr()),
                "numpy": _outcome(entity.numpy),
                "region": _outcome(lambda e=entity: e.numpy(x=slice(3, 17), y=slice(0, 5), z=slice(4, 12))),
                "level 1": _outcome(lambda e=entity: e.numpy("1")),
            }
        seen[("features", pattern)] = {
            "zarr": _zarr_view(features.zarr()),
            "numpy": _outcome(features.numpy),
            "region": _outcome(lambda f=features: f.numpy(slices=FEATURES_REGION)),
            "level 1": _outcome(lambda f=features: f.numpy("1")),
        }
    return seen


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# -- the comparison -----------------------------------------------------------------------------------------------


@pytest.fixture
def both(tmp_path: Path) -> tuple[dict, dict, Any]:
    """(what the script observes on copick, on copick_db, the copick_db root)."""
    reference = _copick_root(tmp_path / "copick")
    write_everything(reference)
    ours = _copick_db_root(tmp_path / "copick_db")
    write_everything(ours)
    return observe(reference), observe(ours), ours


def test_the_script_observes_the_same_data_through_zarr_on_copick_and_copick_db(both):
    theirs, ours, _ = both
    assert theirs.keys() == ours.keys()
    for key in theirs:
        assert _same(theirs[key]["zarr"], ours[key]["zarr"]), key


def test_numpy_gives_copicks_results_for_multiscale_groups(both):
    theirs, ours, _ = both
    for kind in ("tomogram", "features", "segmentation", "density_map"):
        assert _same(theirs[(kind, "ome-group")], ours[(kind, "ome-group")]), kind
        assert theirs[(kind, "ome-group")]["numpy"][0] == "data"


@pytest.mark.parametrize("pattern", ["zarr.array", "zarr.create"])
def test_numpy_reads_a_root_array_as_level_zero_where_copick_raises(both, pattern):
    """The documented difference: copick's numpy() raises IndexError on a root array; copick_db reads it."""
    theirs, ours, _ = both
    for kind in ("tomogram", "features", "segmentation", "density_map"):
        assert theirs[(kind, pattern)]["numpy"] == ("error", "IndexError")
        assert theirs[(kind, pattern)]["region"] == ("error", "IndexError")
        root_array = ours[(kind, pattern)]["zarr"]["<root>"]
        assert _same(ours[(kind, pattern)]["numpy"], ("data", root_array))
        assert ours[(kind, pattern)]["level 1"] == ("error", "ZarrGroupNotFoundError")


def test_copick_opens_an_export_of_the_copick_db_project_and_observes_what_it_observes_on_its_own(both, tmp_path):
    theirs, _, ours = both
    report = copick_db.export_filesystem(ours, tmp_path / "export", progress=False)
    assert not report.skipped
    exported = observe(copick.from_file(report.config))
    for key in theirs:
        assert _same(theirs[key], exported[key]), key
