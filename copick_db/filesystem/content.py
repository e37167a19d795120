"""Reading a source's content into the catalog columns it fills (only for new or changed sources).

Every function raises :class:`~copick_db.storage.paths.SourceError` with the reason when the content cannot be
imported; nothing is written then.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from copick_db.catalog import filament_codec, point_codec
from copick_db.filesystem.picks_file import PicksContent, read_picks
from copick_db.filesystem.scan import Source
from copick_db.filesystem.stores import StoreInfo, inspect_store
from copick_db.models.filaments import CopickFilamentsFile, FilamentArrays
from copick_db.storage import glb
from copick_db.storage.paths import SourceError

__all__ = ["filaments_values", "mesh_values", "picks_values", "store_values", "tomogram_values"]


def _located(source: Source) -> dict[str, Any]:
    return {
        "root_id": source.side.root_id,
        "path": source.path,
        "read_only": source.read_only,
        "modified": source.stamp,
    }


def store_values(source: Source) -> dict[str, Any]:
    """Columns of a features or segmentation row: where its store is (checked to be a usable store)."""
    inspect_store(source.store, source.path)
    return _located(source)


def tomogram_values(source: Source) -> dict[str, Any]:
    """Columns of a tomogram row: where its store is and the size of level 0 (None while it has no data)."""
    info: StoreInfo = inspect_store(source.store, source.path)
    values = _located(source)
    shape = info.shape if info.shape is not None and len(info.shape) >= 3 else None
    values.update(
        size_x=None if shape is None else shape[-1],
        size_y=None if shape is None else shape[-2],
        size_z=None if shape is None else shape[-3],
    )
    return values


def mesh_values(source: Source) -> dict[str, Any]:
    """Columns of a mesh row: where its GLB is, and its vertex and face counts (every geometry of the scene)."""
    try:
        mesh = source.store.read_mesh(source.path)
    except (OSError, ValueError) as exc:
        raise SourceError(f"not a readable GLB mesh: {exc}") from None
    vertices, faces = glb.mesh_counts(mesh)
    return {**_located(source), "vertex_count": vertices, "face_count": faces}


def picks_values(source: Source) -> tuple[dict[str, Any], PicksContent]:
    """Columns of a picks row (points included) and the parsed file (to compare its in-file identity)."""
    content = read_picks(source.absolute)
    values = {
        **point_codec.encode(content.arrays),
        "trust_orientation": content.trust_orientation,
        "voxel_spacing": content.voxel_spacing,
        "unit": content.unit,
        "read_only": source.read_only,
        "modified": source.stamp,
    }
    return values, content


def filaments_values(source: Source) -> dict[str, Any]:
    """Columns of a filaments row (polylines included), validated as copick 1.31 validates the file."""
    try:
        data = json.loads(source.absolute.read_bytes())
    except OSError as exc:
        raise SourceError(f"cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SourceError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(f"a filaments file holds a JSON object, not {type(data).__name__}")
    for key in ("pickable_object_name", "user_id", "session_id"):
        if key not in data:
            raise SourceError(f"no {key!r} key (copick requires it)")
    try:
        content = CopickFilamentsFile.model_validate(data)
        arrays = FilamentArrays.from_filaments(content.filaments)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ())) or "value"
        raise SourceError(f"{where}: {error.get('msg', exc)}") from None
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    return {
        **filament_codec.encode(arrays),
        "voxel_spacing": content.voxel_spacing,
        "unit": content.unit,
        "version": content.version,
        "read_only": source.read_only,
        "modified": source.stamp,
    }
