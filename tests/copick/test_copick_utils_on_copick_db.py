"""copick-utils 1.10, run on a copick_db root, gives what it gives on a copick root.

Two copies of one project: the copick sample project (``conftest.py``) plus converter inputs, all written with copick
1.31's API. One copy is opened with ``copick.from_file``, the other imported (``copick_db.import_filesystem``) and
opened with copick_db. Each test runs one copick-utils call with the same arguments on both roots (each call writes
under its own user id), then compares, entity by entity:

- what the call returned (entities, stats, arrays), and
- every pick set, mesh, segmentation and filament set stored under the call's user id, read back through a freshly
  opened root of each kind.

Numbers are compared with ``np.testing.assert_allclose``; meshes by their vertex set, face count, area and bounds
(copick hands out the GLB's Scene, copick_db a Trimesh: api-surface C13). A call must succeed on copick, or the test
itself is wrong.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import trimesh
import zarr

import copick_db

copick = pytest.importorskip("copick")
pytest.importorskip("copick_utils")

pytestmark = pytest.mark.copick

RUN = "TS_001"
IN = "input"  # the user id of every input written for these tests
MICROTUBULE = {
    "name": "microtubule",
    "is_particle": True,
    "label": 4,
    "radius": 40.0,
    "metadata": {"copick": {"filament": {"polar": True}}},
}
SHAPE = (64, 64, 64)  # the 10 Å tomograms


# -- the inputs, written with copick's API ------------------------------------------------------------------------


def _ball(volume: np.ndarray, centre: tuple[int, int, int], radius: float, value: int = 1) -> None:
    z, y, x = np.indices(volume.shape)
    inside = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius**2
    volume[inside] = value


def _rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    transforms = np.tile(np.eye(4), (n, 1, 1))
    transforms[:, :3, :3] = Rotation.random(n, random_state=int(rng.integers(1 << 31))).as_matrix()
    transforms[:, :3, 3] = rng.uniform(-3, 3, size=(n, 3))
    return transforms


def _write_inputs(root: Any) -> None:
    """The converters' inputs in TS_001, besides the sample's own entities."""
    run = root.get_run(RUN)
    rng = np.random.default_rng(7)

    directions = rng.normal(size=(40, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    sphere = run.new_picks("ribosome", "sphere", user_id=IN)
    sphere.from_numpy(
        320.0 + 120.0 * directions, _rotations(rng, 40), instance_ids=np.arange(40), scores=rng.uniform(size=40)
    )

    clusters = np.vstack([rng.normal(150.0, 20.0, (20, 3)), rng.normal(480.0, 20.0, (20, 3))])
    run.new_picks("proteasome", "clusters", user_id=IN).from_numpy(clusters)

    xy = rng.uniform(100.0, 540.0, (30, 2))
    plane = np.column_stack([xy, 300.0 + 0.2 * xy[:, 0] + rng.normal(0.0, 2.0, 30)])
    run.new_picks("membrane", "plane", user_id=IN).from_numpy(plane)

    for obj, session, centre in (("proteasome", "bool-a", 300.0), ("ribosome", "bool-b", 380.0)):
        ball = trimesh.creation.icosphere(subdivisions=2, radius=100.0)
        ball.apply_translation((centre, 300.0, 300.0))
        mesh = run.new_mesh(obj, session, user_id=IN)
        mesh.mesh = ball
        mesh.store()

    blobs = np.zeros(SHAPE, np.uint8)
    for centre in ((16, 16, 16), (16, 40, 44), (44, 20, 30), (46, 46, 46)):
        _ball(blobs, centre, 5)
    run.new_segmentation(10.0, "ribosome", "blobs", user_id=IN).from_numpy(blobs)

    slab = np.zeros(SHAPE, np.uint8)
    slab[12:22, 4:60, 4:60] = 1
    run.new_segmentation(10.0, "membrane", "slab", user_id=IN).from_numpy(slab)

    tube = np.zeros(SHAPE, np.uint8)
    z, y = np.indices(SHAPE[:2])
    tube[:, :, 6:58][((z - 32) ** 2 + (y - 32) ** 2 <= 16)] = 1
    run.new_segmentation(10.0, "microtubule", "tube", user_id=IN).from_numpy(tube)

    t = np.linspace(0.0, 1.0, 11)[:, None]
    curved = np.column_stack([100.0 + 400.0 * t[:, 0], 320.0 + 30.0 * np.sin(6.0 * t[:, 0]), np.full(11, 320.0)])
    straight = np.array([100.0, 150.0, 200.0]) + t[::2] * np.array([400.0, 0.0, 50.0])
    run.new_filaments("microtubule", "traced", user_id=IN).from_numpy(
        [curved, straight], instance_ids=[1, 2], radii=[45.0, None], voxel_spacing=10.0
    )


@pytest.fixture(scope="module")
def roots(copick_sample, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """A copick root and a copick_db root on two copies of the same project (inputs written by copick)."""
    base = tmp_path_factory.mktemp("copick-utils")
    (base / "copick").mkdir()
    config = copick_sample.copy(base / "copick", static=False, extra_objects=[MICROTUBULE])
    _write_inputs(copick.from_file(str(config)))
    (base / "copick_db").mkdir()
    source = base / "copick" / "sample_project"
    db_config = copick_sample.copy(base / "copick_db", static=False, extra_objects=[MICROTUBULE], source=source)
    catalog = base / "copick_db" / "project.sqlite"
    report = copick_db.import_filesystem(db_config, catalog, progress=False)
    assert not report.skipped, report.skipped
    db_root = copick_db.open(catalog)
    opened = [db_root]

    def fresh_db() -> Any:
        reopened = copick_db.open(catalog)
        opened.append(reopened)
        return reopened

    yield SimpleNamespace(
        copick=copick.from_file(str(config)),
        copick_db=db_root,
        fresh_copick=lambda: copick.from_file(str(config)),
        fresh_copick_db=fresh_db,
    )
    for root in opened:
        root.close()


# -- looking entities up the same way on both roots ---------------------------------------------------------------


def _run(root: Any) -> Any:
    return root.get_run(RUN)


def _picks(root: Any, obj: str, session: str, user: str = IN) -> Any:
    (found,) = _run(root).get_picks(object_name=obj, user_id=user, session_id=session)
    return found


def _mesh(root: Any, obj: str, session: str, user: str = IN) -> Any:
    (found,) = _run(root).get_meshes(object_name=obj, user_id=user, session_id=session)
    return found


def _segmentation(root: Any, name: str, session: str, user: str = IN, voxel_size: float = 10.0, **kinds: Any) -> Any:
    (found,) = _run(root).get_segmentations(name=name, user_id=user, session_id=session, voxel_size=voxel_size, **kinds)
    return found


def _filaments(root: Any, session: str = "traced") -> Any:
    (found,) = _run(root).get_filaments(object_name="microtubule", user_id=IN, session_id=session)
    return found


def _tomogram(root: Any, voxel_size: float = 10.0, tomo_type: str = "wbp") -> Any:
    return _run(root).get_voxel_spacing(voxel_size).get_tomograms(tomo_type)[0]


def _centres(picks: Any) -> np.ndarray:
    from copick_utils.util.picks import pick_centres

    return pick_centres(picks)


# -- the calls: each writes under the user id it is given ---------------------------------------------------------

CALLS: dict[str, Callable[[Any, str], Any]] = {}


def call(name: str) -> Callable:
    """Register a copick-utils call under ``name`` (also the user id its outputs are written under)."""

    def register(function: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
        CALLS[name] = function
        return function

    return register


# picks -> mesh


@call("picks2mesh-hull")
def _(root, user):
    from copick_utils.converters.mesh_from_picks import mesh_from_picks

    return mesh_from_picks(_centres(_picks(root, "ribosome", "sphere")), _run(root), "ribosome", "1", user)


@call("picks2mesh-clusters")
def _(root, user):
    from copick_utils.converters.mesh_from_picks import mesh_from_picks

    points = _centres(_picks(root, "proteasome", "clusters"))
    return mesh_from_picks(
        points,
        _run(root),
        "proteasome",
        "1",
        user,
        use_clustering=True,
        clustering_params={"eps": 60.0, "min_samples": 3},
        all_clusters=True,
    )


@call("picks2mesh-individual")
def _(root, user):
    from copick_utils.converters.mesh_from_picks import mesh_from_picks

    points = _centres(_picks(root, "proteasome", "clusters"))
    return mesh_from_picks(
        points,
        _run(root),
        "proteasome",
        "1",
        user,
        use_clustering=True,
        clustering_method="kmeans",
        clustering_params={"n_clusters": 2},
        all_clusters=True,
        individual_meshes=True,
    )


@call("picks2mesh-standard")
def _(root, user):
    from copick_utils.converters.mesh_from_picks import mesh_from_picks_standard

    return mesh_from_picks_standard(_picks(root, "ribosome", "sphere"), _run(root), "ribosome", "1", user)


@call("picks2sphere")
def _(root, user):
    from copick_utils.converters.sphere_from_picks import sphere_from_picks_standard

    return sphere_from_picks_standard(_picks(root, "ribosome", "sphere"), _run(root), "ribosome", "1", user)


@call("picks2sphere-clusters")
def _(root, user):
    from copick_utils.converters.sphere_from_picks import sphere_from_picks

    points = _centres(_picks(root, "proteasome", "clusters"))
    return sphere_from_picks(
        points, _run(root), "proteasome", "1", user, use_clustering=True, clustering_params={"eps": 60.0}
    )


@call("picks2ellipsoid")
def _(root, user):
    from copick_utils.converters.ellipsoid_from_picks import ellipsoid_from_picks_standard

    return ellipsoid_from_picks_standard(_picks(root, "ribosome", "sphere"), _run(root), "ribosome", "1", user)


@call("picks2plane")
def _(root, user):
    from copick_utils.converters.plane_from_picks import plane_from_picks_standard

    return plane_from_picks_standard(_picks(root, "membrane", "plane"), _run(root), "membrane", "1", user)


@call("picks2surface-delaunay")
def _(root, user):
    from copick_utils.converters.surface_from_picks import surface_from_picks_standard

    return surface_from_picks_standard(_picks(root, "membrane", "plane"), _run(root), "membrane", "1", user)


@call("picks2surface-rbf")
def _(root, user):
    from copick_utils.converters.surface_from_picks import surface_from_picks

    points = _centres(_picks(root, "membrane", "plane"))
    return surface_from_picks(points, _run(root), "membrane", "1", user, surface_method="rbf", grid_resolution=12)


@call("picks2surface-grid")
def _(root, user):
    from copick_utils.converters.surface_from_picks import surface_from_picks

    points = _centres(_picks(root, "membrane", "plane"))
    return surface_from_picks(points, _run(root), "membrane", "1", user, surface_method="grid", grid_resolution=12)


# mesh -> picks


def _mesh_to_picks(root: Any, user: str, sampling_type: str, **kwargs: Any) -> Any:
    from copick_utils.converters.picks_from_mesh import picks_from_mesh_standard

    mesh = _mesh(root, "ribosome", "0", user="gapstop")
    return picks_from_mesh_standard(
        mesh, _run(root), "ribosome", "1", user, sampling_type, 30, 10.0, edge_dist=2.0, seed=11, **kwargs
    )


@call("mesh2picks-vertices")
def _(root, user):
    return _mesh_to_picks(root, user, "vertices")


@call("mesh2picks-surface-normals")
def _(root, user):
    return _mesh_to_picks(root, user, "surface", include_normals=True)


@call("mesh2picks-inside")
def _(root, user):
    return _mesh_to_picks(root, user, "inside", min_dist=30.0)


@call("mesh2picks-outside")
def _(root, user):
    return _mesh_to_picks(root, user, "outside", min_dist=60.0)


@call("mesh2picks-random-orientations")
def _(root, user):
    return _mesh_to_picks(root, user, "surface", random_orientations=True)


# mesh <-> segmentation


@call("mesh2seg")
def _(root, user):
    from copick_utils.converters.segmentation_from_mesh import segmentation_from_mesh

    mesh = _mesh(root, "ribosome", "0", user="gapstop")
    return segmentation_from_mesh(mesh, _run(root), "ribosome", "1", user, 10.0)


@call("mesh2seg-inverted-multilabel")
def _(root, user):
    from copick_utils.converters.segmentation_from_mesh import segmentation_from_mesh

    mesh = _mesh(root, "membrane", "0", user="membrain")
    return segmentation_from_mesh(mesh, _run(root), "membrane", "1", user, 20.0, is_multilabel=True, invert=True)


@call("seg2mesh")
def _(root, user):
    from copick_utils.converters.mesh_from_segmentation import mesh_from_segmentation

    segmentation = _segmentation(root, "membrane", "0", user="membrain", voxel_size=20.0)
    return mesh_from_segmentation(segmentation, _run(root), "membrane", "1", user)


@call("seg2mesh-coarse")
def _(root, user):
    from copick_utils.converters.mesh_from_segmentation import mesh_from_segmentation

    return mesh_from_segmentation(
        _segmentation(root, "ribosome", "blobs"), _run(root), "ribosome", "1", user, step_size=2
    )


# picks <-> segmentation


@call("picks2seg")
def _(root, user):
    from copick_utils.converters.segmentation_from_picks import segmentation_from_picks

    return segmentation_from_picks(_picks(root, "ribosome", "sphere"), _run(root), "ribosome", "1", user, 40.0, 10.0)


@call("picks2seg-sample")
def _(root, user):
    from copick_utils.converters.segmentation_from_picks import segmentation_from_picks

    picks = _picks(root, "ribosome", "0", user="gapstop")
    return segmentation_from_picks(picks, _run(root), "painted", "1", user, 60.0, 10.0, tomo_type="denoised")


@call("seg2picks")
def _(root, user):
    from copick_utils.converters.picks_from_segmentation import picks_from_segmentation

    segmentation = _segmentation(root, "ribosome", "blobs")
    return picks_from_segmentation(
        segmentation, _run(root), "ribosome", "1", user, 1, maxima_filter_size=3, min_particle_size=50
    )


@call("seg2picks-multilabel")
def _(root, user):
    from copick_utils.converters.picks_from_segmentation import picks_from_segmentation

    segmentation = _segmentation(root, "prediction", "0", user="cellcanvas", is_multilabel=True)
    return picks_from_segmentation(
        segmentation, _run(root), "ribosome", "1", user, 2, maxima_filter_size=5, min_particle_size=100
    )


# grid picks


@call("grid-picks")
def _(root, user):
    from copick_utils.pickers.grid_picker import grid_picker

    return grid_picker(root.get_object("ribosome"), _run(root), _tomogram(root), 0.1, session_id="1", user_id=user)


# filaments


@call("fil2picks")
def _(root, user):
    from copick_utils.converters.picks_from_filaments import picks_from_filaments

    return picks_from_filaments(_filaments(root), _run(root), "microtubule", "1", user, 20.0)


@call("fil2picks-start-random-roll")
def _(root, user):
    from copick_utils.converters.picks_from_filaments import picks_from_filaments

    return picks_from_filaments(
        _filaments(root),
        _run(root),
        "microtubule",
        "1",
        user,
        30.0,
        anchor="start",
        roll="random",
        seed=5,
    )


@call("fil2seg")
def _(root, user):
    from copick_utils.converters.segmentation_from_filaments import segmentation_from_filaments

    return segmentation_from_filaments(_filaments(root), _run(root), "microtubule", "1", user, 10.0)


@call("seg2fil")
def _(root, user):
    from copick_utils.converters.filaments_from_segmentation import filaments_from_segmentation

    segmentation = _segmentation(root, "microtubule", "tube")
    return filaments_from_segmentation(segmentation, _run(root), "microtubule", "1", user)


@call("seg2fil-bspline-instances")
def _(root, user):
    from copick_utils.converters.filaments_from_segmentation import filaments_from_segmentation

    segmentation = _segmentation(root, "microtubule", "tube")
    return filaments_from_segmentation(
        segmentation,
        _run(root),
        "microtubule",
        "1",
        user,
        curve_kind="bspline",
        instances_object_name="microtubule",
        instances_user_id=user,
        instances_session_id="2",
    )


@call("seg2spline-picks-and-filaments")
def _(root, user):
    from copick_utils.process.spline_fitting import fit_spline_to_segmentation

    segmentation = _segmentation(root, "microtubule", "tube")
    return fit_spline_to_segmentation(
        segmentation,
        _run(root),
        "microtubule",
        "1",
        user,
        40.0,
        filaments_object_name="microtubule",
        filaments_user_id=user,
        filaments_session_id="2",
    )


# meshes: caps, hull, boolean operations, distance and inclusion


@call("mesh2caps")
def _(root, user):
    from copick_utils.converters.caps_from_mesh import caps_from_mesh

    return caps_from_mesh(_mesh(root, "membrane", "0", user="membrain"), _run(root), "membrane", "1", user)


@call("mesh-hull")
def _(root, user):
    from copick_utils.process.hull import compute_hull

    return compute_hull(_mesh(root, "membrane", "0", user="membrain"), _run(root), "membrane", "1", user)


def _boolean(root: Any, user: str, operation: str) -> Any:
    from copick_utils.logical import mesh_operations

    a, b = _mesh(root, "proteasome", "bool-a"), _mesh(root, "ribosome", "bool-b")
    return getattr(mesh_operations, f"mesh_{operation}")(a, b, _run(root), "proteasome", "1", user)


@call("mesh-union")
def _(root, user):
    return _boolean(root, user, "union")


@call("mesh-difference")
def _(root, user):
    return _boolean(root, user, "difference")


@call("mesh-intersection")
def _(root, user):
    return _boolean(root, user, "intersection")


@call("mesh-exclusion")
def _(root, user):
    return _boolean(root, user, "exclusion")


@call("mesh-concatenate")
def _(root, user):
    return _boolean(root, user, "concatenate")


@call("mesh-multi-union")
def _(root, user):
    from copick_utils.logical.mesh_operations import mesh_multi_union

    meshes = [_mesh(root, "proteasome", "bool-a"), _mesh(root, "ribosome", "bool-b")]
    meshes.append(_mesh(root, "ribosome", "0", user="gapstop"))
    return mesh_multi_union(meshes, _run(root), "proteasome", "1", user)


@call("mesh-multi-concatenate")
def _(root, user):
    from copick_utils.logical.mesh_operations import mesh_multi_concatenate

    meshes = [_mesh(root, "proteasome", "bool-a"), _mesh(root, "membrane", "0", user="membrain")]
    return mesh_multi_concatenate(meshes, _run(root), "proteasome", "1", user)


@call("limit-mesh-by-distance")
def _(root, user):
    from copick_utils.logical.distance_operations import limit_mesh_by_distance

    return limit_mesh_by_distance(
        _mesh(root, "ribosome", "bool-b"),
        _run(root),
        "ribosome",
        "1",
        user,
        reference_mesh=_mesh(root, "proteasome", "bool-a"),
        max_distance=40.0,
    )


@call("limit-segmentation-by-distance")
def _(root, user):
    from copick_utils.logical.distance_operations import limit_segmentation_by_distance

    return limit_segmentation_by_distance(
        _segmentation(root, "ribosome", "blobs"),
        _run(root),
        "ribosome",
        "1",
        user,
        reference_segmentation=_segmentation(root, "microtubule", "tube"),
        max_distance=150.0,
        voxel_spacing=10.0,
    )


@call("limit-picks-by-distance")
def _(root, user):
    from copick_utils.logical.distance_operations import limit_picks_by_distance

    return limit_picks_by_distance(
        _picks(root, "ribosome", "sphere"),
        _run(root),
        "ribosome",
        "1",
        user,
        reference_mesh=_mesh(root, "proteasome", "bool-a"),
        max_distance=15.0,
    )


@call("picks-inside-mesh")
def _(root, user):
    from copick_utils.logical.point_operations import picks_inclusion_by_mesh

    picks = _picks(root, "ribosome", "sphere")
    return picks_inclusion_by_mesh(
        picks, _run(root), "ribosome", "1", user, reference_mesh=_mesh(root, "proteasome", "bool-a")
    )


@call("picks-outside-segmentation")
def _(root, user):
    from copick_utils.logical.point_operations import picks_exclusion_by_mesh

    picks = _picks(root, "ribosome", "sphere")
    reference = _segmentation(root, "prediction", "0", user="cellcanvas", is_multilabel=True)
    return picks_exclusion_by_mesh(picks, _run(root), "ribosome", "1", user, reference_segmentation=reference)


@call("picks-subset")
def _(root, user):
    from copick_utils.util.picks import store_pick_subset

    points = _picks(root, "ribosome", "sphere").points
    keep = np.arange(len(points)) % 3 == 0
    return store_pick_subset(points, keep, _run(root), "ribosome", "1", user)


# segmentations: boolean operations and processing


def _seg_boolean(root: Any, user: str, operation: str) -> Any:
    from copick_utils.logical import segmentation_operations

    a, b = _segmentation(root, "ribosome", "blobs"), _segmentation(root, "membrane", "slab")
    return getattr(segmentation_operations, f"segmentation_{operation}")(a, b, _run(root), "ribosome", "1", user, 10.0)


@call("seg-union")
def _(root, user):
    return _seg_boolean(root, user, "union")


@call("seg-difference")
def _(root, user):
    return _seg_boolean(root, user, "difference")


@call("seg-intersection")
def _(root, user):
    return _seg_boolean(root, user, "intersection")


@call("seg-exclusion")
def _(root, user):
    return _seg_boolean(root, user, "exclusion")


@call("seg-multi-union")
def _(root, user):
    from copick_utils.logical.segmentation_operations import segmentation_multi_union

    segmentations = [_segmentation(root, "ribosome", "blobs"), _segmentation(root, "membrane", "slab")]
    segmentations.append(_segmentation(root, "microtubule", "tube"))
    return segmentation_multi_union(segmentations, _run(root), "ribosome", "1", user, 10.0)


@call("seg-enclosed")
def _(root, user):
    from copick_utils.logical.enclosed_operations import segmentation_enclosed

    return segmentation_enclosed(
        _segmentation(root, "ribosome", "blobs"),
        _segmentation(root, "microtubule", "tube"),
        _run(root),
        "ribosome",
        "1",
        user,
        10.0,
        margin=1,
    )


@call("seg-components-instances")
def _(root, user):
    from copick_utils.process.connected_components import separate_components_converter

    segmentation = _segmentation(root, "ribosome", "blobs")
    return separate_components_converter(
        segmentation, _run(root), "ribosome", "1", user, output_segmentation_type="instance"
    )


@call("seg-components-separate")
def _(root, user):
    from copick_utils.process.connected_components import separate_segmentation_components

    segmentation = _segmentation(root, "ribosome", "blobs")
    return separate_segmentation_components(segmentation, min_size=10, output_user_id=user)


@call("seg-expand-labels")
def _(root, user):
    from copick_utils.process.expand_labels import expand_labels_segmentation

    return expand_labels_segmentation(
        _segmentation(root, "ribosome", "blobs"), _run(root), "ribosome", "1", user, distance=20.0
    )


@call("seg-filter-components")
def _(root, user):
    from copick_utils.process.filter_components import filter_segmentation_components

    segmentation = _segmentation(root, "prediction", "0", user="cellcanvas", is_multilabel=True)
    return filter_segmentation_components(
        segmentation, _run(root), "prediction", "1", user, min_size=100, keep_largest=True
    )


@call("seg-rescale")
def _(root, user):
    from copick_utils.process.rescale import rescale_segmentation

    return rescale_segmentation(_segmentation(root, "ribosome", "blobs"), _run(root), "ribosome", "1", user, 20.0)


@call("seg-skeletonize")
def _(root, user):
    from copick_utils.process.skeletonize import skeletonize_converter

    return skeletonize_converter(_segmentation(root, "microtubule", "tube"), _run(root), "microtubule", "1", user)


@call("seg-thickness-filter")
def _(root, user):
    from copick_utils.process.thickness_filter import thickness_filter_segmentation

    segmentation = _segmentation(root, "ribosome", "blobs")
    return thickness_filter_segmentation(segmentation, _run(root), "ribosome", "1", user, min_thickness=90.0)


@call("seg-split-labels")
def _(root, user):
    from copick_utils.process.split_labels import split_multilabel_segmentation

    segmentation = _segmentation(root, "prediction", "0", user="cellcanvas", is_multilabel=True)
    return split_multilabel_segmentation(segmentation, _run(root), output_user_id=user)


@call("seg-combine-labels")
def _(root, user):
    from copick_utils.process.combine_labels import combine_labels

    segmentations = [_segmentation(root, "ribosome", "blobs"), _segmentation(root, "microtubule", "tube")]
    return combine_labels(segmentations, _run(root), "combined", "1", user)


@call("validbox")
def _(root, user):
    from copick_utils.process.validbox import generate_validbox

    return generate_validbox(_run(root), 10.0, "membrane", user, "1", angle=10.0)


# features, readers and writers


@call("skimage-features")
def _(root, user):
    from copick_utils.features.skimage import compute_skimage_features

    tomogram = _tomogram(root, 20.0)
    return compute_skimage_features(tomogram, user, root, texture=False, sigma_max=2.0)


@call("io-write-segmentation")
def _(root, user):
    from copick_utils.io import readers, writers

    volume = (readers.tomogram(_run(root), 10.0, "denoised") > 1.0).astype(np.uint8)
    writers.segmentation(_run(root), volume, user, name="bright", session_id="1", voxel_size=10.0)
    return readers.segmentation(_run(root), 10.0, "bright", user_id=user, session_id="1")


@call("io-write-tomogram")
def _(root, user):
    from copick_utils.io import readers, writers

    coordinates = readers.coordinates(_run(root), "ribosome", "gapstop", session_id="0", voxel_size=10.0)
    writers.tomogram(_run(root), readers.tomogram(_run(root), 20.0, "wbp")[::2, ::2, ::2], 40.0, user)
    return coordinates, readers.tomogram(_run(root), 40.0, user)


# the lazy batch converters behind copick-utils' CLI (``copick convert ...``), over threads


def _batch(root: Any, user: str, converter: Callable, input_uri: str, kinds: tuple[str, str], output_uri: str, **kw):
    from copick_utils.util.config_models import create_simple_config

    config = create_simple_config(input_uri, kinds[0], output_uri, kinds[1], command_name="test")
    return converter(root=root, config=config, run_names=[RUN], workers=2, **kw)


@call("batch-picks2mesh")
def _(root, user):
    from copick_utils.converters.mesh_from_picks import mesh_from_picks_lazy_batch

    return _batch(
        root, user, mesh_from_picks_lazy_batch, "ribosome:input/sphere", ("picks", "mesh"), f"ribosome:{user}/1"
    )


@call("batch-mesh2seg")
def _(root, user):
    from copick_utils.converters.segmentation_from_mesh import segmentation_from_mesh_lazy_batch

    return _batch(
        root,
        user,
        segmentation_from_mesh_lazy_batch,
        "proteasome:input/bool-a",
        ("mesh", "segmentation"),
        f"proteasome:{user}/1@10.0",
        voxel_spacing=10.0,
        tomo_type="wbp",
    )


@call("batch-seg2picks")
def _(root, user):
    from copick_utils.converters.picks_from_segmentation import picks_from_segmentation_lazy_batch

    return _batch(
        root,
        user,
        picks_from_segmentation_lazy_batch,
        "ribosome:input/blobs@10.0",
        ("segmentation", "picks"),
        f"ribosome:{user}/1",
        segmentation_idx=1,
        maxima_filter_size=3,
        min_particle_size=50,
    )


@call("batch-picks2seg")
def _(root, user):
    from copick_utils.converters.segmentation_from_picks import segmentation_from_picks_lazy_batch

    return _batch(
        root,
        user,
        segmentation_from_picks_lazy_batch,
        "proteasome:input/clusters",
        ("picks", "segmentation"),
        f"proteasome:{user}/1@10.0",
        radius=30.0,
        voxel_spacing=10.0,
    )


@call("process-pool-picks2mesh")
def _(root, user):
    # copick's map_runs in a process pool sends the root to the worker, as copick tools that use processes do
    from functools import partial

    from copick.ops.run import map_runs
    from copick_utils.converters.lazy_converter import lazy_conversion_worker
    from copick_utils.converters.mesh_from_picks import mesh_from_picks_standard
    from copick_utils.util.config_models import create_simple_config

    config = create_simple_config("ribosome:input/sphere", "picks", f"ribosome:{user}/1", "mesh", command_name="test")
    callback = partial(lazy_conversion_worker, config=config, converter_func=mesh_from_picks_standard)
    return map_runs(callback, root, [RUN], workers=1, parallelism="process", show_progress=False)


# -- observing what a call returned and what it stored ------------------------------------------------------------


def _mesh_observation(mesh: Any) -> dict[str, Any]:
    """A mesh, independent of vertex order and of Scene vs Trimesh (api-surface C13)."""
    if isinstance(mesh, trimesh.Scene):
        parts = [g for g in mesh.dump() if isinstance(g, trimesh.Trimesh)]
        mesh = trimesh.util.concatenate(parts) if parts else trimesh.Trimesh()
    vertices = np.asarray(mesh.vertices, dtype=float)
    order = np.lexsort(vertices.T[::-1]) if len(vertices) else np.arange(0)
    return {
        "vertices": vertices[order],
        "faces": len(mesh.faces),
        "area": float(mesh.area) if len(mesh.faces) else 0.0,
        "bounds": np.asarray(mesh.bounds, dtype=float) if len(vertices) else None,
    }


def _points_observation(points: Any) -> dict[str, Any]:
    points = list(points or [])
    return {
        "locations": np.array([[p.location.x, p.location.y, p.location.z] for p in points], dtype=float),
        "transforms": np.array([np.asarray(p.transformation, dtype=float) for p in points]),
        "instance_ids": [p.instance_id for p in points],
        "scores": [p.score for p in points],
    }


def _kind(entity: Any) -> str | None:
    from copick_db import models as ours

    for name in ("Filaments", "Picks", "Mesh", "Segmentation", "Features", "Tomogram"):
        if isinstance(entity, (getattr(copick.models, f"Copick{name}"), getattr(ours, f"Copick{name}"))):
            return name
    return None


def _volume(entity: Any) -> np.ndarray:
    """A volume entity's data: array "0" of its group, or the root array a tool wrote by hand."""
    store = zarr.open(entity.zarr(), mode="r")
    return np.asarray(store[:] if isinstance(store, zarr.Array) else store["0"][:])


def observe(value: Any) -> Any:
    """Plain data (dicts, lists, arrays, numbers) for what a call returned, entities included."""
    kind = _kind(value)
    if kind == "Picks":
        return {
            "picks": (value.pickable_object_name, value.user_id, value.session_id),
            **_points_observation(value.points),
        }
    if kind == "Mesh":
        return {"mesh": (value.pickable_object_name, value.user_id, value.session_id), **_mesh_observation(value.mesh)}
    if kind == "Segmentation":
        return {"segmentation": _segmentation_key(value), "data": value.numpy()}
    if kind == "Filaments":
        return {
            "filaments": (value.pickable_object_name, value.user_id, value.session_id),
            "items": [f.model_dump() for f in value.filaments],
        }
    if kind == "Features":
        return {"features": (value.tomo_type, value.feature_type), "data": _volume(value)}
    if kind == "Tomogram":
        return {"tomogram": (value.voxel_size, value.tomo_type), "data": _volume(value)}
    if isinstance(value, (trimesh.Trimesh, trimesh.Scene)):
        return _mesh_observation(value)
    if isinstance(value, dict):
        return {k: observe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [observe(v) for v in value]
    if hasattr(value, "model_dump"):
        return observe(value.model_dump())
    return value


def _segmentation_key(s: Any) -> tuple:
    return (s.name, s.user_id, s.session_id, float(s.voxel_size), s.is_multilabel, s.is_instance, s.is_panoptic)


def stored(root: Any, user: str) -> dict[str, Any]:
    """Every pick set, mesh, segmentation and filament set of TS_001 stored under ``user``."""
    run = _run(root)
    found: dict[str, Any] = {}
    for picks in run.get_picks(user_id=user):
        found[f"picks {picks.pickable_object_name}/{picks.session_id}"] = _points_observation(picks.points)
    for mesh in run.get_meshes(user_id=user):
        found[f"mesh {mesh.pickable_object_name}/{mesh.session_id}"] = _mesh_observation(mesh.mesh)
    for segmentation in run.get_segmentations(user_id=user, is_instance=None, is_panoptic=None):
        found[f"segmentation {_segmentation_key(segmentation)}"] = segmentation.numpy()
    for filaments in run.get_filaments(user_id=user):
        found[f"filaments {filaments.pickable_object_name}/{filaments.session_id}"] = [
            f.model_dump() for f in filaments.filaments
        ]
    return found


def assert_same(actual: Any, expected: Any, where: str = "") -> None:
    """Recursive equality; numbers within rtol 1e-6 / atol 1e-6."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {type(actual).__name__} instead of a dict"
        assert sorted(map(str, actual)) == sorted(map(str, expected)), f"{where}: keys differ"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}/{key}")
    elif isinstance(expected, (list, tuple)) and not _numeric(expected):
        assert isinstance(actual, (list, tuple)), f"{where}: {type(actual).__name__} instead of a sequence"
        assert len(actual) == len(expected), f"{where}: {len(actual)} items instead of {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray) or _numeric(expected):
        a, e = np.asarray(actual), np.asarray(expected)
        assert a.shape == e.shape, f"{where}: shape {a.shape} instead of {e.shape}"
        if e.dtype == object or a.dtype == object:
            assert a.tolist() == e.tolist(), where
        else:
            np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-6, err_msg=where)
    else:
        assert actual == expected, f"{where}: {actual!r} instead of {expected!r}"


def _numeric(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(_numeric(v) for v in value)
    return False


class _Errors(logging.Handler):
    """Collects the errors copick-utils logs (it logs and returns None where it catches an exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        cause = f" ({record.exc_info[1]!r})" if record.exc_info else ""
        self.messages.append(record.getMessage() + cause)


def _run_call(name: str, root: Any) -> tuple[Any, list[str]]:
    """Run a call with fixed seeds; return its observed result and the errors copick-utils logged.

    The handler sits on the ``copick_utils`` and ``copick`` loggers, not the root logger: copick's ``get_logger``
    replaces the root logger's handlers whenever a module is first imported.
    """
    np.random.seed(1234)
    random.seed(1234)
    errors = _Errors()
    loggers = [logging.getLogger("copick_utils"), logging.getLogger("copick")]
    for logger in loggers:
        logger.addHandler(errors)
    try:
        result = observe(CALLS[name](root, name))
    finally:
        for logger in loggers:
            logger.removeHandler(errors)
    return result, errors.messages


@pytest.mark.parametrize("name", list(CALLS))
def test_copick_utils_call_gives_copicks_result_on_copick_db(name: str, roots: SimpleNamespace):
    expected, copick_errors = _run_call(name, roots.copick)
    assert expected is not None and not copick_errors, f"the call fails on copick itself: {copick_errors}"
    expected_stored = stored(roots.fresh_copick(), name)

    actual, errors = _run_call(name, roots.copick_db)
    assert not errors, f"copick-utils logged errors on copick_db: {errors}"
    assert_same(actual, expected, "returned")
    assert_same(stored(roots.fresh_copick_db(), name), expected_stored, "stored")
