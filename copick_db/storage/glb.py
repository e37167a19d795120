"""Meshes as binary glTF (GLB) files, the format copick stores them in.

copick loads a GLB as a ``trimesh.Scene``; copick_db hands out one ``trimesh.Trimesh`` (every geometry of the scene
concatenated in world coordinates). Vertices are in Å in the tomogram frame; no axis conversion is applied.

Design invariants:
    - A GLB is written to a hidden temporary and renamed into place (:func:`copick_db.storage.atomic.staged`), so
      a reader never sees a truncated file; the bytes are fsync'ed before the rename.
    - An empty mesh is written exactly as copick writes one (a 172-byte GLB with one node and no geometry), and
      every reader accepts such a file as an empty mesh.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from copick_db.storage.atomic import staged

__all__ = ["as_trimesh", "empty_scene", "file_problem", "mesh_counts", "read_glb", "write_glb"]

#: A GLB file starts with this 12-byte header: magic ``glTF``, version, total length (little-endian uint32s).
_HEADER_SIZE = 12
_MAGIC = b"glTF"


def empty_scene() -> trimesh.Scene:
    """A scene with one empty geometry, as copick's ``new_mesh`` creates (trimesh cannot export a bare ``Scene()``).

    Returns:
        A ``trimesh.Scene`` holding an empty ``Trimesh``.
    """
    return trimesh.Trimesh().scene()


def write_glb(path: Path, mesh: trimesh.Trimesh | trimesh.Scene | None) -> None:
    """Write a mesh or scene as a GLB file, replacing ``path`` atomically.

    Args:
        path: Destination file; parent directories are created.
        mesh: A ``Trimesh``, a ``Scene`` (node transforms kept), or None / an empty scene for an empty mesh.

    Raises:
        ValueError: If ``mesh`` is not a Trimesh, Scene or None.
    """
    payload = _glb_bytes(mesh)
    with staged(Path(path)) as tmp, open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def read_glb(path: Path) -> trimesh.Trimesh:
    """Read a GLB file as one mesh.

    Args:
        path: The GLB file.

    Returns:
        Every triangle geometry of the file concatenated, with its node transform applied; an empty ``Trimesh``
        for a file without geometry (such as copick's empty mesh).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a readable GLB.
    """
    payload = Path(path).read_bytes()
    try:
        loaded = trimesh.load(io.BytesIO(payload), file_type="glb", process=False)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable GLB mesh file: {exc}") from exc
    return as_trimesh(loaded)


def file_problem(path: Path) -> str | None:
    """Why a GLB file is incomplete or foreign, from its header alone (no parsing), or None.

    Args:
        path: The GLB file.

    Returns:
        A sentence saying what is wrong (unreadable, not GLB, or shorter than the length its header declares), or
        None.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(_HEADER_SIZE)
        size = path.stat().st_size
    except OSError as exc:
        return f"mesh file cannot be read ({exc.strerror or exc})"
    if len(header) < _HEADER_SIZE or header[:4] != _MAGIC:
        return "mesh file is not a GLB file (truncated or foreign)"
    declared = int.from_bytes(header[8:12], "little")
    if size < declared:
        return f"mesh file is truncated ({size} of {declared} bytes)"
    return None


def as_trimesh(obj: trimesh.Trimesh | trimesh.Scene | None) -> trimesh.Trimesh:
    """One ``Trimesh`` for a mesh, a scene or nothing.

    Args:
        obj: A ``Trimesh`` (returned as is), a ``Scene`` (its triangle geometries concatenated in world
            coordinates, each instance of a geometry counted once per node), or None.

    Returns:
        The mesh; an empty ``Trimesh`` for None or a scene without triangle geometry.

    Raises:
        ValueError: If ``obj`` is of another type.
    """
    if obj is None:
        return trimesh.Trimesh()
    if isinstance(obj, trimesh.Trimesh):
        return obj
    if isinstance(obj, trimesh.Scene):
        parts = [mesh for mesh, _ in _scene_parts(obj)]
        nonempty = [part for part in parts if len(part.vertices)]
        if not nonempty:
            return trimesh.Trimesh()
        if len(nonempty) == 1:
            return nonempty[0]
        return trimesh.util.concatenate(nonempty)
    raise ValueError(f"expected a trimesh.Trimesh, a trimesh.Scene or None, got {type(obj).__name__}")


def mesh_counts(mesh: trimesh.Trimesh | trimesh.Scene | None) -> tuple[int, int]:
    """Vertex and face counts of a mesh, as :func:`as_trimesh` would return it, without concatenating.

    Args:
        mesh: A ``Trimesh``, a ``Scene`` or None.

    Returns:
        ``(vertices, faces)``.

    Raises:
        ValueError: If ``mesh`` is of another type.
    """
    if mesh is None:
        return 0, 0
    if isinstance(mesh, trimesh.Trimesh):
        return len(mesh.vertices), len(mesh.faces)
    if isinstance(mesh, trimesh.Scene):
        vertices = faces = 0
        for geometry, _ in _scene_parts(mesh, transform=False):
            vertices += len(geometry.vertices)
            faces += len(geometry.faces)
        return vertices, faces
    raise ValueError(f"expected a trimesh.Trimesh, a trimesh.Scene or None, got {type(mesh).__name__}")


def _scene_parts(scene: trimesh.Scene, *, transform: bool = True) -> list[tuple[trimesh.Trimesh, str]]:
    """Each triangle geometry instance of a scene (a copy moved to world coordinates when ``transform``)."""
    parts = []
    for node in scene.graph.nodes_geometry:
        matrix, name = scene.graph[node]
        geometry = scene.geometry.get(name)
        if not isinstance(geometry, trimesh.Trimesh):
            continue  # point clouds and paths are not part of a triangle mesh
        if transform:
            geometry = geometry.copy()
            if not np.allclose(matrix, np.eye(4)):
                geometry.apply_transform(matrix)
        parts.append((geometry, node))
    return parts


def _glb_bytes(mesh: Any) -> bytes:
    """GLB bytes for a Trimesh, Scene or None; empty input gives copick's empty GLB."""
    if mesh is None:
        mesh = empty_scene()
    elif isinstance(mesh, trimesh.Scene):
        if not mesh.geometry:
            mesh = empty_scene()
    elif not isinstance(mesh, trimesh.Trimesh):
        raise ValueError(f"a mesh must be a trimesh.Trimesh, a trimesh.Scene or None, got {type(mesh).__name__}")
    return mesh.export(file_type="glb")
