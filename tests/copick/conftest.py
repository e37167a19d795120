"""A copick sample project built with copick 1.31's own API, for the tests that run copick's checks on copick_db.

It mirrors the sample project copick's own test suite downloads (which needs the network): three runs, voxel
spacings 10 and 20 Å, ``denoised`` and ``wbp`` tomograms, ``sobel`` and ``edge`` feature maps, five pick sets, three
meshes, three segmentations and the objects proteasome (with a density map), ribosome and membrane, under the same
names, users and sessions. The arrays are small random ones; the ``copick_sample`` fixture gives each back, so tests
compare what they read with what was written rather than with copick's sample numbers.

copick is imported inside the functions, so this conftest also loads where copick is not installed (``.venv``).
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SAMPLE_OBJECTS: list[dict[str, Any]] = [
    {
        "name": "proteasome",
        "is_particle": True,
        "label": 1,
        "color": [255, 0, 0, 255],
        "radius": 60.0,
        "map_threshold": 0.0418,
    },
    {"name": "ribosome", "is_particle": True, "label": 2, "color": [0, 255, 0, 255], "radius": 150.0},
    {"name": "membrane", "is_particle": False, "label": 3, "color": [0, 0, 255, 255]},
]
SAMPLE_RUNS = ("TS_001", "TS_002", "TS_003")
TOMO_SHAPE = (64, 64, 64)  # (z, y, x) at 10 Å
COARSE_SHAPE = (32, 32, 32)  # at 20 Å
DENSITY_SHAPE = (42, 36, 36)  # the proteasome's density map

#: Pick sets of TS_001 as (user, session, object, number of points); two are tool output (session "0").
SAMPLE_PICKS = [
    ("pytom", "0", "proteasome", 6),
    ("test.user", "1234", "ribosome", 4),
    ("gapstop", "0", "ribosome", 10),
    ("test.user", "1234", "proteasome", 5),
    ("ArtiaX", "19", "proteasome", 3),
]
#: Meshes of TS_001 as (user, session, object); two are tool output.
SAMPLE_MESHES = [("membrain", "0", "membrane"), ("user.test", "321", "proteasome"), ("gapstop", "0", "ribosome")]
#: Segmentations of TS_001 as (voxel size, user, session, name, multilabel); two are tool output.
SAMPLE_SEGMENTATIONS = [
    (10.0, "cellcanvas", "0", "prediction", True),
    (10.0, "test.user", "123", "painting", True),
    (20.0, "membrain", "0", "membrane", False),
]


@cache
def _sample_array(key: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    kind, _, rest = key.partition(":")
    if kind == "tomogram":
        shape = COARSE_SHAPE if rest.startswith("20") else TOMO_SHAPE
        return rng.normal(size=shape).astype(np.float32)
    if kind == "features":
        return rng.uniform(0, 1, size=TOMO_SHAPE).astype(np.float32)
    if kind == "density":
        return rng.uniform(0, 1, size=DENSITY_SHAPE).astype(np.float32)
    if kind == "segmentation":
        voxel_size, _, name = rest.partition(":")
        shape = COARSE_SHAPE if voxel_size.startswith("20") else TOMO_SHAPE
        labels = np.zeros(shape, np.uint8)
        labels[4:20, 6:30, 8:28] = 1
        if name != "membrane":  # multilabel: a second label
            labels[30:50, 34:60, 10:40] = 2
        return labels
    if kind == "positions":
        return rng.uniform(20, 600, size=(int(rest.rpartition(":")[2]), 3))
    if kind == "transforms":
        n = int(rest.rpartition(":")[2])
        from scipy.spatial.transform import Rotation

        transforms = np.tile(np.eye(4), (n, 1, 1))
        transforms[:, :3, :3] = Rotation.random(n, random_state=int(rng.integers(1 << 31))).as_matrix()
        transforms[:, :3, 3] = rng.uniform(-5, 5, size=(n, 3))
        return transforms
    raise KeyError(key)


def sample_array(key: str) -> np.ndarray:
    """A copy of an array the sample project holds.

    Keys: ``tomogram:<run>:<voxel size>:<type>``, ``features:<run>:<type>`` (of TS_001's wbp tomogram at 10 Å),
    ``density:proteasome``, ``segmentation:<voxel size>:<name>``, ``positions:<user>_<session>_<object>:<n>`` and
    ``transforms:<user>_<session>_<object>:<n>``.

    Args:
        key: Which array.

    Returns:
        The array (a copy, so tests may change it).
    """
    return _sample_array(key).copy()


def pick_arrays(user: str, session: str, obj: str) -> tuple[np.ndarray, np.ndarray]:
    """The positions (N×3, Å) and transforms (N×4×4) of one of TS_001's sample pick sets."""
    n = next(count for u, s, o, count in SAMPLE_PICKS if (u, s, o) == (user, session, obj))
    return sample_array(f"positions:{user}_{session}_{obj}:{n}"), sample_array(f"transforms:{user}_{session}_{obj}:{n}")


def sample_mesh(obj: str) -> Any:
    """The watertight mesh of one of TS_001's sample meshes."""
    import trimesh

    if obj == "membrane":
        return trimesh.creation.box(extents=(300.0, 200.0, 100.0), transform=_translation(320.0, 320.0, 320.0))
    centre = {"proteasome": (200.0, 250.0, 300.0), "ribosome": (400.0, 350.0, 250.0)}[obj]
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=80.0)
    sphere.apply_translation(centre)
    return sphere


def _translation(x: float, y: float, z: float) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = (x, y, z)
    return matrix


def _populate_sample(root: Any) -> None:
    """Write the sample entities with copick's API."""
    from copick.util.ome import write_ome_zarr_3d

    for run_name in SAMPLE_RUNS:
        run = root.new_run(run_name)
        for voxel_size in (10.0, 20.0):
            vs = run.new_voxel_spacing(voxel_size)
            tomo_types = ("denoised", "wbp") if voxel_size == 10.0 else ("wbp",)
            for tomo_type in tomo_types:
                data = sample_array(f"tomogram:{run_name}:{voxel_size}:{tomo_type}")
                vs.new_tomogram(tomo_type).from_numpy(data, levels=3 if voxel_size == 10.0 else 1)
    wbp = root.get_run("TS_001").get_voxel_spacing(10.0).get_tomograms("wbp")[0]
    for feature_type in ("sobel", "edge"):
        features = wbp.new_features(feature_type)
        write_ome_zarr_3d(features.zarr(), {10.0: sample_array(f"features:TS_001:{feature_type}")}, (32, 32, 32))

    run = root.get_run("TS_001")
    for user, session, obj, _ in SAMPLE_PICKS:
        positions, transforms = pick_arrays(user, session, obj)
        run.new_picks(obj, session, user_id=user).from_numpy(positions, transforms)
    for user, session, obj in SAMPLE_MESHES:
        mesh = run.new_mesh(obj, session, user_id=user)
        mesh.mesh = sample_mesh(obj)
        mesh.store()
    for voxel_size, user, session, name, multilabel in SAMPLE_SEGMENTATIONS:
        segmentation = run.new_segmentation(voxel_size, name, session, is_multilabel=multilabel, user_id=user)
        segmentation.from_numpy(sample_array(f"segmentation:{voxel_size}:{name}"))
    root.get_object("proteasome").from_numpy(sample_array("density:proteasome"), 10.0)


class CopickSample:
    """The sample project written once per session, and what it was written from.

    Args:
        template: The directory holding the sample project's files.
    """

    objects = SAMPLE_OBJECTS
    picks = SAMPLE_PICKS
    meshes = SAMPLE_MESHES
    segmentations = SAMPLE_SEGMENTATIONS

    def __init__(self, template: Path) -> None:
        self.template = template

    array = staticmethod(sample_array)
    pick_arrays = staticmethod(pick_arrays)
    mesh = staticmethod(sample_mesh)

    def copy(
        self,
        destination: Path,
        *,
        static: bool,
        extra_objects: Sequence[dict[str, Any]] = (),
        source: Path | None = None,
    ) -> Path:
        """Copy the sample project to ``destination`` and write a copick config for it.

        Args:
            destination: An empty directory for the copy.
            static: Make the sample the static root and an empty directory the overlay (copick's ``local`` case);
                otherwise the sample is the overlay root (copick's ``local_overlay_only`` case).
            extra_objects: Pickable objects the config declares besides the sample's.
            source: The project directory to copy (the sample by default), e.g. a copy a test added data to.

        Returns:
            The path of the config.
        """
        sample = destination / "sample_project"
        shutil.copytree(self.template if source is None else source, sample)
        config: dict[str, Any] = {
            "config_type": "filesystem",
            "name": "test",
            "description": "A test project.",
            "version": "1.31.0",
            "pickable_objects": [*SAMPLE_OBJECTS, *extra_objects],
        }
        if static:
            overlay = destination / "sample_overlay"
            (overlay / "ExperimentRuns").mkdir(parents=True)
            config.update(
                overlay_root=f"local://{overlay}",
                overlay_fs_args={"auto_mkdir": True},
                static_root=f"local://{sample}",
                static_fs_args={"auto_mkdir": False},
            )
        else:
            config.update(overlay_root=f"local://{sample}", overlay_fs_args={"auto_mkdir": True})
        path = destination / "copick_config.json"
        path.write_text(json.dumps(config, indent=4))
        return path


@pytest.fixture(scope="session")
def copick_sample(tmp_path_factory: pytest.TempPathFactory) -> CopickSample:
    """The sample project, written once per session with copick's API (skips where copick is not installed)."""
    copick = pytest.importorskip("copick")
    from copick.models import PickableObject

    base = tmp_path_factory.mktemp("copick-sample")
    sample = base / "sample_project"
    objects = [PickableObject(**o) for o in SAMPLE_OBJECTS]
    root = copick.new_config(str(base / "writer.json"), str(sample), "test", "A test project.", objects)
    _populate_sample(root)
    return CopickSample(sample)
