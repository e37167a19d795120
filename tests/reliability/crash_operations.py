"""The operations the crash-safety tests kill a writer in, and what may be visible after each kill.

Each operation has four parts: ``setup`` builds the project the child starts from (in the parent), ``prepare`` looks
up what the child acts on (before any kill is armed), ``act`` is the operation itself (killed somewhere inside), and
``verify`` lists what is wrong with the project after the kill: every entity that is visible must read back as one
complete version, the one before or the one after the operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import trimesh

from copick_db.errors import ZarrGroupNotFoundError
from copick_db.storage import zarr_io

SHAPE = (8, 8, 260)  # two chunks along x at level 0


def volume(version: int) -> np.ndarray:
    """The tomogram of a version (float32), different in every voxel from the other version."""
    return (np.arange(np.prod(SHAPE), dtype=np.float32).reshape(SHAPE) * (version + 1)) + version * 0.5


def labels(version: int) -> np.ndarray:
    """The segmentation of a version (uint8); its two chunks hold different labels."""
    out = np.full(SHAPE, 10 * version + 1, dtype=np.uint8)
    out[..., 256:] = 10 * version + 2
    return out


def points(version: int) -> np.ndarray:
    """The pick points of a version: version 1 has 10, version 2 has 25."""
    n = 10 if version == 1 else 25
    return np.arange(n * 3, dtype=np.float64).reshape(n, 3) + 100.0 * version


def box(version: int) -> trimesh.Trimesh:
    """The mesh of a version."""
    return trimesh.creation.box(extents=[float(version * 10)] * 3)


@cache
def pyramid(version: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Level 0 and level 1 of a version as from_numpy(levels=2) stores them (computed once, in memory)."""
    import tempfile
    from pathlib import Path

    data = volume(version) if kind == "tomogram" else labels(version)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "x.zarr"
        method = "mean" if kind == "tomogram" else "nearest"
        zarr_io.write_multiscale(store, data, voxel_size=10.0, levels=2, dtype=data.dtype, method=method)
        return zarr_io.read(store, "0"), zarr_io.read(store, "1")


@dataclass
class Operation:
    """One operation of the crash tests."""

    setup: Callable[[Any], None]
    prepare: Callable[[Any], Any]
    act: Callable[[Any], None]
    verify: Callable[[Any], list[str]]


def _run(root: Any) -> Any:
    return root.get_run("r")


def _vs(root: Any) -> Any:
    return _run(root).get_voxel_spacing(10.0)


def _base(root: Any) -> Any:
    return root.new_run("r").new_voxel_spacing(10.0)


def _volume_versions(entity: Any, kind: str, allowed: tuple[int, ...], empty_ok: bool) -> list[str]:
    """Problems of a volume that must hold one of ``allowed`` versions completely (or no data, if ``empty_ok``)."""
    try:
        level0 = entity.numpy("0")
    except ZarrGroupNotFoundError:
        return [] if empty_ok else [f"{entity!r} has no data"]
    for version in allowed:
        expected0, expected1 = pyramid(version, kind)
        if np.array_equal(level0, expected0):
            level1 = entity.numpy("1")
            if not np.array_equal(level1, expected1):
                return [f"{entity!r}: level 0 is version {version} but level 1 is not"]
            if kind == "tomogram" and entity.meta.dimensions not in (None, (SHAPE[2], SHAPE[1], SHAPE[0])):
                return [f"{entity!r}: recorded dimensions {entity.meta.dimensions} differ from the data"]
            return []
    return [f"{entity!r}: level 0 is none of versions {allowed}"]


# -- tomograms ------------------------------------------------------------------------------------------------------


def _tomo_setup(written: bool) -> Callable[[Any], None]:
    def setup(root: Any) -> None:
        tomo = _base(root).new_tomogram("wbp")
        if written:
            tomo.from_numpy(volume(1), levels=2)

    return setup


def _tomo_verify(allowed: tuple[int, ...], empty_ok: bool, may_vanish: bool = False) -> Callable[[Any], list[str]]:
    def verify(root: Any) -> list[str]:
        vs = _vs(root)
        tomo = vs.get_tomogram("wbp") if vs is not None else None
        if tomo is None:
            return [] if may_vanish else ["the tomogram vanished"]
        return _volume_versions(tomo, "tomogram", allowed, empty_ok)

    return verify


# -- segmentations --------------------------------------------------------------------------------------------------


def _seg(root: Any) -> Any:
    found = _run(root).get_segmentations(name="membrane") if _run(root) is not None else []
    return found[0] if found else None


def _seg_setup(written: bool) -> Callable[[Any], None]:
    def setup(root: Any) -> None:
        seg = root.new_run("r").new_segmentation(10.0, "membrane", user_id="crash", session_id="1")
        if written:
            seg.from_numpy(labels(1), levels=2)

    return setup


def _seg_verify(allowed: tuple[int, ...], empty_ok: bool, may_vanish: bool = False) -> Callable[[Any], list[str]]:
    def verify(root: Any) -> list[str]:
        seg = _seg(root)
        if seg is None:
            return [] if may_vanish else ["the segmentation vanished"]
        return _volume_versions(seg, "segmentation", allowed, empty_ok)

    return verify


# -- picks ----------------------------------------------------------------------------------------------------------


def _picks(root: Any) -> Any:
    found = _run(root).get_picks("ribosome") if _run(root) is not None else []
    return found[0] if found else None


def _picks_setup(written: bool) -> Callable[[Any], None]:
    def setup(root: Any) -> None:
        picks = root.new_run("r").new_picks("ribosome", user_id="crash", session_id="1")
        if written:
            picks.from_numpy(points(1))

    return setup


def _picks_verify(allowed: tuple[int, ...], may_vanish: bool = False) -> Callable[[Any], list[str]]:
    def verify(root: Any) -> list[str]:
        picks = _picks(root)
        if picks is None:
            return [] if may_vanish else ["the pick set vanished"]
        found = picks.numpy()[0]
        if any(np.array_equal(found, points(v) if v else np.empty((0, 3))) for v in allowed):
            return []
        return [f"{picks!r} holds {len(found)} points: none of versions {allowed}"]

    return verify


# -- meshes ---------------------------------------------------------------------------------------------------------


def _mesh(root: Any) -> Any:
    found = _run(root).get_meshes("proteasome") if _run(root) is not None else []
    return found[0] if found else None


def _mesh_setup(written: bool) -> Callable[[Any], None]:
    def setup(root: Any) -> None:
        run = root.new_run("r")
        if written:
            mesh = run.new_mesh("proteasome", user_id="crash", session_id="1")
            mesh.mesh = box(1)
            mesh.store()

    return setup


def _mesh_create(run: Any) -> None:
    mesh = run.new_mesh("proteasome", user_id="crash", session_id="1")
    mesh.mesh = box(2)
    mesh.store()


def _mesh_replace(mesh: Any) -> None:
    mesh.mesh = box(2)
    mesh.store()


def _mesh_verify(allowed: tuple[int, ...], may_vanish: bool) -> Callable[[Any], list[str]]:
    def verify(root: Any) -> list[str]:
        mesh = _mesh(root)
        if mesh is None:
            return [] if may_vanish else ["the mesh vanished"]
        loaded = mesh.mesh
        for version in allowed:
            expected = box(version) if version else trimesh.Trimesh()
            if len(loaded.vertices) == len(expected.vertices) and np.allclose(
                np.sort(loaded.vertices, axis=0), np.sort(expected.vertices, axis=0)
            ):
                return []
        return [f"{mesh!r} holds {len(loaded.vertices)} vertices: none of versions {allowed}"]

    return verify


# -- deletes of whole branches --------------------------------------------------------------------------------------


def _everything_setup(root: Any) -> None:
    run = root.new_run("r")
    run.new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(volume(1), levels=2)
    run.new_segmentation(10.0, "membrane", user_id="crash", session_id="1").from_numpy(labels(1), levels=2)
    run.new_picks("ribosome", user_id="crash", session_id="1").from_numpy(points(1))
    mesh = run.new_mesh("proteasome", user_id="crash", session_id="1")
    mesh.mesh = box(1)
    mesh.store()


def _everything_verify(root: Any) -> list[str]:
    """Whatever of the branch is still visible must be complete (version 1)."""
    problems = []
    run = _run(root)
    if run is None:
        return problems
    vs = run.get_voxel_spacing(10.0)
    tomo = vs.get_tomogram("wbp") if vs is not None else None
    if tomo is not None:
        problems += _volume_versions(tomo, "tomogram", (1,), empty_ok=False)
    problems += _seg_verify((1,), empty_ok=False, may_vanish=True)(root)
    problems += _picks_verify((1,), may_vanish=True)(root)
    problems += _mesh_verify((1,), may_vanish=True)(root)
    return problems


OPERATIONS: dict[str, Operation] = {
    "tomogram-first-write": Operation(
        _tomo_setup(False),
        lambda root: _vs(root).get_tomogram("wbp"),
        lambda tomo: tomo.from_numpy(volume(2), levels=2),
        _tomo_verify((2,), empty_ok=True),
    ),
    "tomogram-replace": Operation(
        _tomo_setup(True),
        lambda root: _vs(root).get_tomogram("wbp"),
        lambda tomo: tomo.from_numpy(volume(2), levels=2),
        _tomo_verify((1, 2), empty_ok=False),
    ),
    "segmentation-first-write": Operation(
        _seg_setup(False), _seg, lambda seg: seg.from_numpy(labels(2), levels=2), _seg_verify((2,), empty_ok=True)
    ),
    "segmentation-replace": Operation(
        _seg_setup(True), _seg, lambda seg: seg.from_numpy(labels(2), levels=2), _seg_verify((1, 2), empty_ok=False)
    ),
    "picks-first-write": Operation(
        _picks_setup(False), _picks, lambda picks: picks.from_numpy(points(2)), _picks_verify((0, 2))
    ),
    "picks-replace": Operation(
        _picks_setup(True), _picks, lambda picks: picks.from_numpy(points(2)), _picks_verify((1, 2))
    ),
    "mesh-create-and-store": Operation(_mesh_setup(False), _run, _mesh_create, _mesh_verify((0, 2), may_vanish=True)),
    "mesh-replace": Operation(_mesh_setup(True), _mesh, _mesh_replace, _mesh_verify((1, 2), may_vanish=False)),
    "delete-tomogram": Operation(
        _tomo_setup(True),
        lambda root: _vs(root).get_tomogram("wbp"),
        lambda tomo: tomo.delete(),
        _tomo_verify((1,), empty_ok=False, may_vanish=True),
    ),
    "delete-segmentation": Operation(
        _seg_setup(True), _seg, lambda seg: seg.delete(), _seg_verify((1,), empty_ok=False, may_vanish=True)
    ),
    "delete-picks": Operation(
        _picks_setup(True), _picks, lambda picks: picks.delete(), _picks_verify((1,), may_vanish=True)
    ),
    "delete-mesh": Operation(_mesh_setup(True), _mesh, lambda mesh: mesh.delete(), _mesh_verify((1,), may_vanish=True)),
    "delete-voxel-spacing": Operation(_everything_setup, _vs, lambda vs: vs.delete(), _everything_verify),
    "delete-run": Operation(_everything_setup, _run, lambda run: run.delete(), _everything_verify),
}
