"""What an import needs to know about a zarr store on disk, read from its metadata files only (no zarr import).

A copick store is a zarr-format-2 group: ``.zgroup``, ``.zattrs`` (OME-NGFF multiscales) and arrays ``0``, ``1``…
copick's ``new_tomogram``/``new_features``/``new_segmentation`` create the store directory before any data, so an
**empty directory is a real entity without data**. Users also write one array at the store's root
(``zarr.array(data, store=tomo.zarr())``): its ``.zarray`` is level 0. A directory with content but neither group
nor array metadata is not a zarr store, and a zarr-v3 store (``zarr.json``) is unreadable for copick; both are
refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from copick_db.filesystem.layout import SourceError

__all__ = ["METADATA_FILES", "StoreInfo", "inspect_store", "store_signature"]

#: The files whose size and mtime stand for a store's content in change detection (chunk writes do not count).
METADATA_FILES = (".zgroup", ".zattrs", ".zarray", "0/.zarray")


@dataclass(frozen=True)
class StoreInfo:
    """A store's content as its metadata describes it.

    Attributes:
        has_data: Whether array ``"0"`` exists.
        shape: Shape of array ``"0"``, or None.
        voxel_size: Scale of the first multiscale level in Å (the last spatial axis), or None.
    """

    has_data: bool
    shape: tuple[int, ...] | None
    voxel_size: float | None


def store_signature(path: str) -> tuple[int, int]:
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


def inspect_store(path: Path) -> StoreInfo:
    """Read a store's metadata.

    Raises:
        SourceError: Not a directory, not a zarr-format-2 group (content but no ``.zgroup``/``.zattrs``, or a
            zarr-v3 ``zarr.json``), or metadata that is not valid JSON.
    """
    path = Path(path)
    try:
        entries = set(os.listdir(path))
    except NotADirectoryError:
        raise SourceError("not a directory (zarr stores are directories)") from None
    except OSError as exc:
        raise SourceError(f"cannot be listed: {exc.strerror or exc}") from None
    if not entries:
        return StoreInfo(False, None, None)
    if "zarr.json" in entries:
        raise SourceError("a zarr-v3 store (zarr.json); copick reads only zarr format 2 (.zgroup/.zarray)")
    if ".zarray" in entries:  # one array at the root: it is level 0
        return StoreInfo(True, _shape(_json_object(path / ".zarray"), path / ".zarray"), None)
    if ".zgroup" not in entries and ".zattrs" not in entries:
        raise SourceError("not a zarr store: it has content but no .zgroup, .zattrs or .zarray")
    attrs = _json_object(path / ".zattrs") if ".zattrs" in entries else {}
    if ".zgroup" in entries:
        _json_object(path / ".zgroup")
    array = path / "0" / ".zarray"
    shape = None
    if array.is_file():
        shape = _shape(_json_object(array), array)
    return StoreInfo(shape is not None, shape, _voxel_size(attrs))


def _json_object(file: Path) -> dict[str, Any]:
    try:
        value = json.loads(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise SourceError(f"{file.name} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SourceError(f"{file.name} does not hold a JSON object")
    return value


def _shape(meta: dict[str, Any], file: Path) -> tuple[int, ...]:
    """The array's shape, once its metadata is known to describe an array zarr can read."""
    where = f"{file.parent.name}/{file.name}"
    shape, chunks = meta.get("shape"), meta.get("chunks")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise SourceError(f"{where} has no valid shape: {shape!r}")
    if (
        not isinstance(chunks, list)
        or len(chunks) != len(shape)
        or not all(isinstance(n, int) and n > 0 for n in chunks)
    ):
        raise SourceError(f"{where} has chunks {chunks!r} that do not fit shape {shape!r}")
    try:
        np.dtype(meta.get("dtype"))
    except (TypeError, ValueError):
        raise SourceError(f"{where} has an unknown dtype {meta.get('dtype')!r}") from None
    return tuple(shape)


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
