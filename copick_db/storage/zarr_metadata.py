"""Reading a zarr store's metadata files (``.zgroup``, ``.zattrs``, ``.zarray``, ``zarr.json``) without zarr.

The one place that knows those file names and their JSON: :mod:`copick_db.storage.zarr_io` asks it whether an array
exists before zarr opens it, ``copick-db check`` which levels a store's OME-NGFF ``multiscales`` lists, and an import
what a store holds (:func:`describe`), all without the cost of opening arrays.

A store is a directory in one of these forms:
    - empty: copick's ``new_tomogram``/``new_segmentation`` (and copick_db's ``zarr()``) create the directory before
      any data, so an empty store is an entity without data;
    - a group (zarr format 2: ``.zgroup`` and ``.zattrs``; format 3: ``zarr.json`` with ``node_type: group``) whose
      arrays ``"0"``, ``"1"``… are the levels, described by OME-NGFF ``multiscales`` when copick or copick_db wrote
      it;
    - one array at its root (``zarr.array(data, store=tomo.zarr())``), read as level ``"0"`` (:data:`ROOT_LEVEL`).

Design invariants:
    - Nothing here imports zarr or opens an array: a store is judged by its metadata files alone, which keeps an
      import of thousands of stores fast and makes "no such array" independent of the installed zarr version.
    - Unreadable or impossible metadata raises :class:`MetadataError` (a ``ValueError``) whose message names the
      file relative to the store and says what is wrong; the caller adds where the store is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "METADATA_FILES",
    "ROOT_LEVEL",
    "MetadataError",
    "VolumeInfo",
    "describe",
    "is_array",
    "listed_levels",
    "locate_level",
    "read_attrs",
    "read_json_object",
    "signature",
    "store_format",
]

#: The level a store holding one array at its root reads it as.
ROOT_LEVEL = "0"
#: The files whose size and mtime stand for a store's content in change detection (chunk writes do not count).
METADATA_FILES = (".zgroup", ".zattrs", ".zarray", "0/.zarray")

_V2_ARRAY = ".zarray"
_V2_GROUP = ".zgroup"
_V2_ATTRS = ".zattrs"
_V3_META = "zarr.json"


class MetadataError(ValueError):
    """A store's metadata is unreadable, or describes something that is not a zarr store or not a usable array.

    Attributes:
        zarr_format: The zarr format the store declares (3 when it has a ``zarr.json``), if known.
    """

    def __init__(self, message: str, zarr_format: int | None = None) -> None:
        super().__init__(message)
        self.zarr_format = zarr_format


@dataclass(frozen=True)
class VolumeInfo:
    """A store's content as its metadata describes it.

    Attributes:
        zarr_format: 2 or 3; None for an empty store.
        shape: Shape of level ``"0"`` (array ``"0"``, or the array at the root), or None when there is none.
        voxel_size: Level-0 scale of the OME-NGFF multiscales in Å (the last spatial axis), or None.
    """

    zarr_format: int | None
    shape: tuple[int, ...] | None
    voxel_size: float | None

    @property
    def has_data(self) -> bool:
        """Whether level ``"0"`` exists."""
        return self.shape is not None


def store_format(path: Path) -> int | None:
    """The zarr format of a store's root metadata: 3 (``zarr.json``), 2 (``.zgroup``/``.zarray``), or None.

    ``zarr.json`` wins when both are there, as zarr 3 reads it first.

    Args:
        path: The store directory.

    Returns:
        3, 2, or None when the store is missing or has no root metadata (an empty store).
    """
    path = Path(path)
    if (path / _V3_META).is_file():
        return 3
    if (path / _V2_GROUP).is_file() or (path / _V2_ARRAY).is_file():
        return 2
    return None


def is_array(node: Path) -> int | None:
    """2 or 3 if directory ``node`` holds array metadata of that zarr format, else None.

    A ``zarr.json`` that is not valid JSON counts as an array of format 3, so that zarr reports what is wrong with it.
    """
    node = Path(node)
    if (node / _V2_ARRAY).is_file():
        return 2
    meta = node / _V3_META
    if meta.is_file():
        try:
            node_type = json.loads(meta.read_bytes()).get("node_type")
        except (ValueError, AttributeError):
            return 3
        return 3 if node_type == "array" else None
    return None


def locate_level(path: Path, level: str) -> tuple[str, int | None]:
    """(key in the store, zarr format) of level ``level``: the array ``level``, or the root array for level "0".

    A root array's nested chunk directories are named ``0``, ``1``…, but hold no array metadata, so they are never
    mistaken for levels.

    Returns:
        ``(level, format)`` for an array of that name, ``("", format)`` for the root array read as level "0", and
        ``(level, None)`` when there is no such level.
    """
    path = Path(path)
    zarr_format = is_array(path / level)
    if zarr_format is None and level == ROOT_LEVEL:
        root_format = is_array(path)
        if root_format is not None:
            return "", root_format
    return level, zarr_format


def read_json_object(file: Path, name: str | None = None) -> dict[str, Any]:
    """Parse a metadata file that must hold a JSON object.

    Args:
        file: The file.
        name: How to name the file in messages (default: its full path).

    Raises:
        MetadataError: The file cannot be read, is not valid JSON, or does not hold an object.
    """
    name = str(file) if name is None else name
    try:
        value = json.loads(Path(file).read_bytes())
    except (OSError, ValueError) as exc:
        raise MetadataError(f"{name} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise MetadataError(f"{name} does not hold a JSON object")
    return value


def read_attrs(path: Path) -> dict[str, Any]:
    """The store's root attributes (``.zattrs``, or the ``attributes`` of a format-3 ``zarr.json``).

    Args:
        path: The store directory.

    Returns:
        The attributes; ``{}`` if the store or its attributes do not exist.

    Raises:
        MetadataError: The attributes file is not a JSON object.
    """
    path = Path(path)
    attrs_v2 = path / _V2_ATTRS
    if attrs_v2.is_file():
        return read_json_object(attrs_v2)
    meta_v3 = path / _V3_META
    if meta_v3.is_file():
        attributes = read_json_object(meta_v3).get("attributes") or {}
        if not isinstance(attributes, dict):
            raise MetadataError(f"{meta_v3} has attributes that are not a JSON object")
        return attributes
    return {}


def listed_levels(attrs: dict[str, Any]) -> list[str] | None:
    """The level paths the first OME-NGFF multiscale of ``attrs`` lists, or None without multiscales metadata."""
    multiscales = attrs.get("multiscales")
    if not (isinstance(multiscales, list) and multiscales and isinstance(multiscales[0], dict)):
        return None
    datasets = multiscales[0].get("datasets") or []
    return [d.get("path") for d in datasets if isinstance(d, dict) and isinstance(d.get("path"), str)]


def signature(path: str | os.PathLike) -> tuple[int, int]:
    """``(size, mtime_ns)`` standing for a store's metadata: summed sizes, newest mtime (directory included).

    Replacing a store (a new directory), creating or rewriting its metadata or adding levels changes it; writing
    chunks in place does not.

    Raises:
        OSError: The store directory cannot be stat'ed.
    """
    top = os.stat(path)
    size, mtime = 0, top.st_mtime_ns
    for name in METADATA_FILES:
        try:
            st = os.stat(os.path.join(path, name))
        except OSError:
            continue
        size += st.st_size
        mtime = max(mtime, st.st_mtime_ns)
    return size, mtime


def describe(path: Path) -> VolumeInfo:
    """What a store holds, from its metadata files: its format, the shape of level ``"0"`` and its voxel size.

    Raises:
        MetadataError: Not a directory, cannot be listed, content without zarr metadata, metadata that is not a
            JSON object, or a level-0 array zarr could not read (no valid shape, chunks that do not fit it, an
            unknown dtype). Its ``zarr_format`` is 3 for any problem with a ``zarr.json`` store.
    """
    path = Path(path)
    try:
        entries = set(os.listdir(path))
    except NotADirectoryError:
        raise MetadataError("not a directory (zarr stores are directories)") from None
    except OSError as exc:
        raise MetadataError(f"cannot be listed: {exc.strerror or exc}") from None
    if not entries:
        return VolumeInfo(None, None, None)
    if _V3_META in entries:
        return _describe_v3(path)
    if _V2_ARRAY in entries:  # one array at the root: it is level 0
        return VolumeInfo(2, _v2_shape(read_json_object(path / _V2_ARRAY, _V2_ARRAY), _V2_ARRAY, path.name), None)
    if _V2_GROUP not in entries and _V2_ATTRS not in entries:
        raise MetadataError(
            "not a zarr store: it has content but no .zgroup or .zattrs (a group) and no .zarray (an array)"
        )
    attrs = read_json_object(path / _V2_ATTRS, _V2_ATTRS) if _V2_ATTRS in entries else {}
    if _V2_GROUP in entries:
        read_json_object(path / _V2_GROUP, _V2_GROUP)
    array = path / ROOT_LEVEL / _V2_ARRAY
    shape = None
    if array.is_file():
        shape = _v2_shape(read_json_object(array, _V2_ARRAY), _V2_ARRAY, ROOT_LEVEL)
    return VolumeInfo(2, shape, _voxel_size(attrs))


def _describe_v3(path: Path) -> VolumeInfo:
    try:
        meta = read_json_object(path / _V3_META, _V3_META)
        if meta.get("node_type") == "array":
            return VolumeInfo(3, _v3_shape(meta, path.name), None)
        attrs = meta.get("attributes") or {}
        shape = None
        level = path / ROOT_LEVEL / _V3_META
        if level.is_file():
            level_meta = read_json_object(level, f"{ROOT_LEVEL}/{_V3_META}")
            if level_meta.get("node_type") == "array":
                shape = _v3_shape(level_meta, ROOT_LEVEL)
    except MetadataError as exc:
        raise MetadataError(str(exc), 3) from None
    return VolumeInfo(3, shape, _voxel_size(attrs) if isinstance(attrs, dict) else None)


def _v2_shape(meta: dict[str, Any], file: str, parent: str) -> tuple[int, ...]:
    """The array's shape, once its format-2 metadata is known to describe an array zarr can read."""
    where = f"{parent}/{file}"
    shape, chunks = meta.get("shape"), meta.get("chunks")
    _check_shape(where, shape, chunks)
    try:
        np.dtype(meta.get("dtype"))
    except (TypeError, ValueError):
        raise MetadataError(f"{where} has an unknown dtype {meta.get('dtype')!r}") from None
    return tuple(shape)  # type: ignore[arg-type]


def _v3_shape(meta: dict[str, Any], parent: str) -> tuple[int, ...]:
    """The array's shape from format-3 metadata (a regular chunk grid)."""
    where = f"{parent}/{_V3_META}"
    shape = meta.get("shape")
    grid = meta.get("chunk_grid")
    chunks = grid.get("configuration", {}).get("chunk_shape") if isinstance(grid, dict) else None
    _check_shape(where, shape, chunks)
    return tuple(shape)  # type: ignore[arg-type]


def _check_shape(where: str, shape: Any, chunks: Any) -> None:
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise MetadataError(f"{where} has no valid shape: {shape!r}")
    if (
        not isinstance(chunks, list)
        or len(chunks) != len(shape)
        or not all(isinstance(n, int) and n > 0 for n in chunks)
    ):
        raise MetadataError(f"{where} has chunks {chunks!r} that do not fit shape {shape!r}")


def _voxel_size(attrs: dict[str, Any]) -> float | None:
    """The level-0 scale of OME-NGFF multiscales, in Å (nanometre axes converted), or None when absent."""
    try:
        multiscale = attrs["multiscales"][0]
        scale = multiscale["datasets"][0]["coordinateTransformations"][0]["scale"]
        value = float(scale[-1])
        unit = str(multiscale.get("axes", [{}])[-1].get("unit", "angstrom")).lower()
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None
    if unit in ("nanometer", "nanometre", "nm"):
        value *= 10.0
    return value if value > 0 else None
