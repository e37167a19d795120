"""Reading and writing zarr stores: the only module of copick_db that imports zarr.

Works with zarr-python 2.18 and 3.x. Whatever the installed version, stores are written in **zarr format 2** with
nested ``"/"`` chunk keys (``0/0/0/0``), so that copick (which pins zarr 2 and looks chunks up as ``z/y/x``) reads
them; the layout and ``.zattrs`` are those of copick's ``write_ome_zarr_3d`` (OME-NGFF 0.4 multiscales).

Design invariants:
    - :func:`write_multiscale` writes a complete store at the path it is given and is meant to be called on a
      staged temporary (see :mod:`copick_db.storage.atomic`); it never writes in place at a live path itself.
      :func:`write` (``set_region``) is the only in-place writer.
    - Every value written goes through :func:`_checked_cast`, so a cast never wraps, truncates to a different
      integer or turns NaN into a number: it raises ``ValueError`` instead.
    - Whether an array exists is decided from its metadata file (``.zarray`` / ``zarr.json``) before zarr is
      asked to open it, so "no such group" is always :class:`~copick_db.errors.ZarrGroupNotFoundError` and a
      corrupt store is always a ``ValueError`` naming the path, whichever zarr version is installed.
    - Nothing is cached between calls: every function opens its store afresh, so a store replaced by a rename
      is seen at once.
    - A store is read however its data was written (:func:`open_store` hands it to users, who write into it with
      zarr directly): a group of arrays ``"0"``, ``"1"``, … (OME multiscales or not), or a single array at its
      root, which is read as level ``"0"`` (:data:`ROOT_LEVEL`); zarr format 2 or, under zarr 3, format 3.
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import zarr

from copick_db.errors import ReadOnlyError, ZarrGroupNotFoundError
from copick_db.storage.atomic import remove_path
from copick_db.storage.paths import check_component
from copick_db.storage.zarr_metadata import (
    ROOT_LEVEL,
    is_array,
    listed_levels,
    locate_level,
    read_attrs,
    read_json_object,
    store_format,
)

__all__ = [
    "ROOT_LEVEL",
    "ZARR_MAJOR",
    "array_info",
    "copy_store_as_format2",
    "copy_store_nested",
    "has_data",
    "levels",
    "list_arrays",
    "open_array",
    "open_store",
    "prepare_multiscale",
    "read",
    "read_attrs",
    "store_format",
    "volume_problem",
    "write",
    "write_multiscale",
]

#: Major version of the installed zarr-python (2 or 3).
ZARR_MAJOR: int = int(zarr.__version__.split(".")[0])
if ZARR_MAJOR not in (2, 3):  # pragma: no cover - guarded by the dependency pin
    raise ImportError(f"copick_db supports zarr-python 2.18 and 3.x, not {zarr.__version__}")

#: Largest chunk edge along a spatial axis (copick writes 256³ chunks).
CHUNK_EDGE = 256
_METHODS = ("mean", "nearest")
_SPATIAL_AXES = ({"name": "z", "type": "space", "unit": "angstrom"}, {"name": "y", "type": "space", "unit": "angstrom"})
_X_AXIS = {"name": "x", "type": "space", "unit": "angstrom"}
_CHANNEL_AXIS = {"name": "c", "type": "channel"}
#: Elements examined at a time when validating a cast, to bound temporary memory.
_CHECK_BLOCK = 1 << 24


def _compressor() -> numcodecs.Blosc:
    """The compressor copick writes with: Blosc LZ4, level 5, byte shuffle."""
    return numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)


# ------------------------------------------------------------------------------------------------------------------
# Writing a multiscale store
# ------------------------------------------------------------------------------------------------------------------


def write_multiscale(
    path: Path,
    data: np.ndarray,
    *,
    voxel_size: float,
    levels: int = 3,
    dtype: Any = np.float32,
    method: str = "mean",
) -> None:
    """Write an OME-NGFF 0.4 multiscale pyramid as a zarr-format-2 group, replacing whatever is at ``path``.

    Level ``i`` is array ``"i"`` with ``ceil(n / 2**i)`` voxels along each spatial axis, chunked by at most 256
    voxels per spatial axis (one channel per chunk), compressed with Blosc LZ4, fill value 0, nested ``/``
    chunk keys. The group's ``.zattrs`` match copick's ``write_ome_zarr_3d``.

    Args:
        path: The store directory to write; pass a staged temporary (:func:`copick_db.storage.atomic.staged`).
        data: Volume ``(z, y, x)``, or ``(c, z, y, x)`` with a channel axis that is never downsampled.
        voxel_size: Voxel size of level 0 in Å; level ``i`` gets ``voxel_size * 2**i``.
        levels: Number of pyramid levels, at least 1.
        dtype: Stored dtype (bool, integer or floating point). Level 0 is ``data`` cast to it.
        method: ``"mean"`` for a 2×2×2 local mean (odd edges padded with zeros, like copick's tomograms) or
            ``"nearest"`` for every second voxel (labels; like copick's segmentations).

    Raises:
        ValueError: If ``data`` is not 3D or 4D or has an empty axis, ``levels`` < 1, ``method`` is unknown, the
            voxel size is not positive and finite, or a value would change when cast to ``dtype`` (out of range,
            non-integral or non-finite values into an integer dtype; the message names a dtype that holds them).
    """
    level = prepare_multiscale(data, voxel_size=voxel_size, levels=levels, dtype=dtype, method=method)
    voxel_size = float(voxel_size)
    target = level.dtype
    channel_axis = level.ndim == 4
    remove_path(path)
    group = _new_group(Path(path))
    for index in range(int(levels)):
        if index:
            level = _downsample(level, method, target)
        chunks = tuple(min(CHUNK_EDGE, n) for n in level.shape[-3:])
        if channel_axis:
            chunks = (1, *chunks)
        array = _create_array(group, str(index), level.shape, chunks, target)
        array[...] = level
    _put_attrs(group, _multiscale_attrs(voxel_size, int(levels), channel_axis))


def prepare_multiscale(
    data: np.ndarray, *, voxel_size: float, levels: int = 3, dtype: Any = np.float32, method: str = "mean"
) -> np.ndarray:
    """Check the arguments of :func:`write_multiscale` without any I/O and return level 0 cast to ``dtype``.

    Callers validate with this before they create directories or staging paths, so that bad input leaves the
    data root untouched; passing the result on to :func:`write_multiscale` costs no second cast or check.

    Raises:
        ValueError: As :func:`write_multiscale`.
    """
    data = np.asarray(data)
    if data.ndim not in (3, 4):
        raise ValueError(f"volume must be 3D (z, y, x) or 4D (c, z, y, x), got {data.ndim}D with shape {data.shape}")
    if 0 in data.shape:
        raise ValueError(f"volume must have at least one voxel along every axis, got shape {data.shape}")
    if isinstance(levels, bool) or not isinstance(levels, numbers.Integral) or levels < 1:
        raise ValueError(f"levels must be an integer >= 1, got {levels!r}")
    if method not in _METHODS:
        raise ValueError(f"downsampling method must be one of {_METHODS}, got {method!r}")
    _check_voxel_size(voxel_size)
    return _checked_cast(data, _check_dtype(dtype), "volume")


def _multiscale_attrs(voxel_size: float, levels: int, channel_axis: bool) -> dict[str, Any]:
    """The ``.zattrs`` copick's ``write_ome_zarr_3d`` writes (keys in sorted order, as zarr 2 serializes them)."""
    axes = [dict(axis) for axis in (*_SPATIAL_AXES, _X_AXIS)]
    if channel_axis:
        axes.insert(0, dict(_CHANNEL_AXIS))
    datasets = []
    for index in range(levels):
        scale = voxel_size * 2**index
        values = [1.0, scale, scale, scale] if channel_axis else [scale, scale, scale]
        datasets.append({"coordinateTransformations": [{"scale": values, "type": "scale"}], "path": str(index)})
    return {"multiscales": [{"axes": axes, "datasets": datasets, "metadata": {}, "name": "/", "version": "0.4"}]}


def _downsample(level: np.ndarray, method: str, dtype: np.dtype) -> np.ndarray:
    """Halve the last three axes (rounding up): 2×2×2 local mean with zero padding, or every second voxel."""
    if method == "nearest":
        return np.ascontiguousarray(level[..., ::2, ::2, ::2])
    shape = level.shape[:-3] + tuple((n + 1) // 2 for n in level.shape[-3:])
    total = np.zeros(shape, dtype=np.float64)
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                part = level[..., dz::2, dy::2, dx::2]
                total[..., : part.shape[-3], : part.shape[-2], : part.shape[-1]] += part
    total /= 8.0
    return total.astype(dtype)


# ------------------------------------------------------------------------------------------------------------------
# Reading and writing regions
# ------------------------------------------------------------------------------------------------------------------


def open_array(path: Path, group: str = "0", *, writable: bool = False) -> Any:
    """Open one array of a store, for repeated region reads (index it like a numpy array).

    A store that holds a single array at its root (written by hand with ``zarr.array(data, store=...)`` or
    ``zarr.create(..., store=...)``) has one level: ``group`` :data:`ROOT_LEVEL` (``"0"``) opens that array.

    Args:
        path: The store directory.
        group: The array's key in the store, e.g. ``"0"`` for full resolution.
        writable: Open for writing in place; otherwise writes through the returned array fail.

    Returns:
        The ``zarr.Array`` (zarr 2 or 3, whichever is installed).

    Raises:
        ZarrGroupNotFoundError: If the store does not exist, has no data yet, or has no array ``group`` (the
            message lists the arrays it has).
        ValueError: If ``group`` is not a valid key, the array's metadata is unreadable, or it is in zarr format 3
            and the installed zarr is 2.
    """
    path = Path(path)
    _check_group(group)
    key, zarr_format = locate_level(path, group)
    if zarr_format is None:
        raise _group_not_found(path, group)
    what = f"array {group!r} of zarr store {path}" if key else f"the array at the root of zarr store {path}"
    if zarr_format == 3 and ZARR_MAJOR == 2:
        raise ValueError(
            f"{what} is in zarr format 3 (written with zarr 3), which zarr {zarr.__version__} cannot read; read it "
            "where zarr 3 is installed, or write it again with zarr_format=2"
        )
    mode = "r+" if writable else "r"
    try:
        if ZARR_MAJOR == 2:
            return zarr.open_array(store=zarr.storage.DirectoryStore(str(path)), path=key or None, mode=mode)
        store = zarr.storage.LocalStore(path, read_only=not writable)
        return zarr.open_array(store=store, path=key, mode=mode, zarr_format=zarr_format)
    except Exception as exc:
        raise ValueError(f"{what} cannot be opened: {exc}") from exc


def read(path: Path, group: str = "0", selection: tuple = ()) -> np.ndarray:
    """Read an array, or a region of it, into memory.

    Args:
        path: The store directory.
        group: The array's key in the store.
        selection: A tuple of slices and integers over the raw axes, e.g. ``(slice(0, 64), slice(None), 5)``
            (a single slice or integer applies to the first axis); ``()`` reads everything.

    Returns:
        A numpy array that the caller owns.

    Raises:
        ZarrGroupNotFoundError: If the array does not exist.
        ValueError: If ``selection`` holds something other than slices and integers.
        IndexError: If an integer index is out of bounds.
    """
    array = open_array(path, group)
    return np.asarray(array[_selection(selection)])


def write(path: Path, data: np.ndarray, group: str = "0", selection: tuple = ()) -> None:
    """Write ``data`` into an existing array in place.

    Args:
        path: The store directory.
        data: Values whose shape is exactly the shape of the selected region.
        group: The array's key in the store.
        selection: A tuple of slices and integers over the raw axes; ``()`` selects the whole array.

    Raises:
        ZarrGroupNotFoundError: If the array does not exist.
        ValueError: If ``data``'s shape differs from the selection's, ``selection`` is malformed, or a value would
            change when cast to the array's dtype.
    """
    array = open_array(path, group, writable=True)
    index = _selection(selection)
    expected = _selected_shape(tuple(array.shape), index)
    data = np.asarray(data)
    if data.shape != expected:
        raise ValueError(
            f"data of shape {data.shape} does not match the selected region of shape {expected} "
            f"(array {group!r} has shape {tuple(array.shape)})"
        )
    array[index] = _checked_cast(data, np.dtype(array.dtype), f"array {group!r}")


def array_info(path: Path, group: str = "0") -> tuple[tuple[int, ...], np.dtype] | None:
    """Shape and dtype of an array, without reading data.

    Args:
        path: The store directory.
        group: The array's key in the store.

    Returns:
        ``(shape, dtype)``, or None if the store or the array does not exist.

    Raises:
        ValueError: If ``group`` is not a valid key, or the array's metadata is unreadable.
    """
    try:
        array = open_array(path, group)
    except ZarrGroupNotFoundError:
        return None
    return tuple(int(n) for n in array.shape), np.dtype(array.dtype)


def list_arrays(path: Path) -> list[str]:
    """Keys of the arrays directly inside a store, in natural order (``"0"``, ``"1"``, …, ``"10"``).

    Args:
        path: The store directory.

    Returns:
        The array keys; empty if the store is missing or has no data yet.
    """
    path = Path(path)
    try:
        entries = [entry.name for entry in os.scandir(path) if entry.is_dir() and not entry.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = [name for name in entries if is_array(path / name) is not None]
    return sorted(names, key=lambda name: (0, int(name), "") if name.isdigit() else (1, 0, name))


def levels(path: Path) -> list[str]:
    """The levels a store can be read at: its arrays (as :func:`list_arrays`), or ``["0"]`` for a root array.

    Args:
        path: The store directory.

    Returns:
        The level keys; empty if the store is missing or has no data yet.
    """
    path = Path(path)
    if is_array(path) is not None:
        return [ROOT_LEVEL]
    return list_arrays(path)


def has_data(path: Path) -> bool:
    """Whether a store holds at least one array (inside it or at its root).

    copick creates empty store directories before any data is written; those have no data.

    Args:
        path: The store directory.

    Returns:
        True if the store has an array.
    """
    return bool(levels(path))


def volume_problem(path: Path) -> str | None:
    """Why a store that holds data is incomplete, or None when every level it should have opens.

    The levels a store should have are those its OME-NGFF ``multiscales`` metadata lists or, without such metadata
    (a store written by hand), every array it holds; each must exist and have array metadata zarr opens.

    Args:
        path: The store directory.

    Returns:
        A sentence saying what is wrong, or None.
    """
    try:
        attrs = read_attrs(path)
    except (OSError, ValueError) as exc:
        return f"zarr store metadata cannot be read ({exc})"
    present = levels(path)
    listed = listed_levels(attrs)
    if listed is None:
        listed = present
    missing = [level for level in listed if level not in present]
    if missing:
        return f"zarr store lacks level(s) {', '.join(missing)} that its metadata lists"
    for level in listed:
        try:
            array_info(path, level)
        except (OSError, ValueError) as exc:
            return f"zarr array {level!r} has unreadable metadata ({exc})"
    return None


def open_store(path: Path, *, writable: bool) -> Any:
    """A zarr store for callers that use zarr directly (copick's ``zarr()``).

    ``zarr.open(store)["0"]`` reads level 0 of a multiscale store with the installed zarr. A writable store's
    directory is created if missing, and nothing is written into it, as copick's ``FSStore(create=True)`` does:
    users fill an empty store with whatever they like, ``zarr.array(data, store=store)`` or ``zarr.create(...,
    store=store)`` (an array at the root) or ``zarr.open_group(store, mode="w")`` and arrays ``"0"``, ``"1"``, …
    (any metadata already in the store would make zarr 2 refuse the first two with ``ContainsGroupError``).

    The format is the installed zarr's default: under zarr 2, format 2 with nested ``/`` chunk keys (the store's
    default, as in copick's ``FSStore``); under zarr 3, format 3 unless the caller passes ``zarr_format=2``.
    Both are read back; an export converts format 3 to format 2 for copick.

    Args:
        path: The store directory.
        writable: Whether writes are allowed; a read-only store raises ``PermissionError`` on any write.

    Returns:
        A zarr 2 ``DirectoryStore`` or a zarr 3 ``LocalStore``.
    """
    path = Path(path)
    if writable:
        path.mkdir(parents=True, exist_ok=True)
    if ZARR_MAJOR == 2:
        store_class = zarr.storage.DirectoryStore if writable else _ReadOnlyDirectoryStore
        return store_class(str(path), dimension_separator="/")
    return zarr.storage.LocalStore(path, read_only=not writable)


# ------------------------------------------------------------------------------------------------------------------
# zarr-version-specific helpers
# ------------------------------------------------------------------------------------------------------------------


def _new_group(path: Path) -> Any:
    """Create an empty zarr-format-2 root group at ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    if ZARR_MAJOR == 2:
        return zarr.open_group(zarr.storage.DirectoryStore(str(path), dimension_separator="/"), mode="w")
    return zarr.open_group(zarr.storage.LocalStore(path), mode="w", zarr_format=2)


def _create_array(group: Any, name: str, shape: tuple[int, ...], chunks: tuple[int, ...], dtype: np.dtype) -> Any:
    """Create an empty format-2 array with copick's encoding (Blosc LZ4, order C, fill 0, nested keys)."""
    if ZARR_MAJOR == 2:
        return group.create_dataset(
            name,
            shape=shape,
            chunks=chunks,
            dtype=dtype,
            compressor=_compressor(),
            filters=None,
            fill_value=0,
            order="C",
            dimension_separator="/",
            write_empty_chunks=False,
        )
    return group.create_array(
        name,
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressors=_compressor(),
        filters=None,
        fill_value=0,
        order="C",
        chunk_key_encoding={"name": "v2", "separator": "/"},
        config={"write_empty_chunks": False},
    )


def _put_attrs(group: Any, attrs: dict[str, Any]) -> None:
    """Replace a group's attributes."""
    group.attrs.put(attrs)


if ZARR_MAJOR == 2:

    class _ReadOnlyDirectoryStore(zarr.storage.DirectoryStore):
        """A zarr 2 ``DirectoryStore`` that refuses every write (zarr 2 has no read-only local store)."""

        _writeable = False

        def _refuse(self, *_args: Any, **_kwargs: Any) -> None:
            raise ReadOnlyError(f"zarr store {self.path} is read-only")

        __setitem__ = _refuse
        __delitem__ = _refuse
        rmdir = _refuse
        rename = _refuse
        clear = _refuse


# ------------------------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------------------------


def _check_voxel_size(voxel_size: float) -> float:
    """A positive finite float, or ValueError."""
    if isinstance(voxel_size, bool) or not isinstance(voxel_size, numbers.Real):
        raise ValueError(f"voxel_size must be a positive number in Å, got {voxel_size!r}")
    value = float(voxel_size)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"voxel_size must be positive and finite, got {voxel_size!r}")
    return value


def _check_dtype(dtype: Any) -> np.dtype:
    """A numpy dtype zarr can store for copick: bool, integer or floating point."""
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype {dtype!r} is not a numpy dtype") from exc
    if result.kind not in "biuf":
        raise ValueError(f"dtype must be bool, integer or floating point, got {result}")
    return result.newbyteorder("=") if result.byteorder not in "=|" else result


def _check_group(group: str) -> None:
    """A group key: '/'-separated valid path components."""
    if not isinstance(group, str) or not group:
        raise ValueError(f"zarr group must be a non-empty string such as '0', got {group!r}")
    for part in group.split("/"):
        check_component(part, "zarr group")


def _selection(selection: Any) -> Any:
    """Normalize a selection to a tuple of slices and integers (``...`` for everything)."""
    if selection is None or (isinstance(selection, tuple) and not selection):
        return Ellipsis
    if not isinstance(selection, tuple):
        selection = (selection,)
    for item in selection:
        if item is Ellipsis or isinstance(item, slice):
            continue
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            continue
        raise ValueError(f"selection must hold slices and integers, got {item!r} in {selection!r}")
    return tuple(selection)


def _selected_shape(shape: tuple[int, ...], index: Any) -> tuple[int, ...]:
    """Shape numpy would give ``array[index]``, computed on a zero-stride view (no allocation)."""
    view = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.uint8), shape=shape, strides=(0,) * len(shape))
    return view[index].shape


def _checked_cast(data: np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    """``data`` as ``dtype``, refusing any cast that would change a value into an integer dtype.

    Raises ValueError for non-finite or non-integral floats into an integer dtype, values outside the integer
    dtype's range (naming the smallest dtype that holds them), finite values that overflow a narrower float, and
    source dtypes that are not bool, integer or floating point.
    """
    source = data.dtype
    if source.kind not in "biuf":
        raise ValueError(f"{what}: values must be bool, integer or floating point, got dtype {source}")
    if source == dtype:
        return data
    if dtype.kind in "biu" and not np.can_cast(source, dtype, casting="safe") and data.size:
        _check_integer_fit(data, dtype, what)
    elif dtype.kind == "f" and source.kind == "f" and source.itemsize > dtype.itemsize and data.size:
        limit = float(np.finfo(dtype).max)
        for block in _blocks(data):
            # fmin/fmax skip NaN; infinities stay infinities in any float dtype, so only finite values can overflow.
            lo, hi = float(np.fmin.reduce(block, axis=None)), float(np.fmax.reduce(block, axis=None))
            if (math.isfinite(lo) and lo < -limit) or (math.isfinite(hi) and hi > limit):
                raise ValueError(f"{what}: values from {lo} to {hi} overflow {dtype}; store them as float64")
    return data.astype(dtype)


def _check_integer_fit(data: np.ndarray, dtype: np.dtype, what: str) -> None:
    """Raise ValueError unless every value of ``data`` is representable in integer or bool ``dtype``."""
    bounds: list[int] = []
    for block in _blocks(data):
        if block.dtype.kind == "f":
            if not np.isfinite(block).all():
                raise ValueError(f"{what}: NaN or infinite values cannot be stored as {dtype}; use a float dtype")
            if (block != np.trunc(block)).any():
                raise ValueError(
                    f"{what}: non-integral values cannot be stored as {dtype} without losing them; "
                    "round them first (e.g. np.rint) or use a float dtype"
                )
        bounds += [int(block.min()), int(block.max())]
    lo, hi = min(bounds), max(bounds)
    low_limit, high_limit = (0, 1) if dtype.kind == "b" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
    if lo < low_limit or hi > high_limit:
        holder = _smallest_integer_dtype(lo, hi)
        advice = f"{holder} holds them; pass dtype=np.{holder}" if holder else "no integer dtype holds them"
        raise ValueError(
            f"{what}: values from {lo} to {hi} do not fit {dtype} (range {low_limit}..{high_limit}); {advice}"
        )


def _smallest_integer_dtype(lo: int, hi: int) -> np.dtype | None:
    """The narrowest unsigned (when ``lo >= 0``) or signed integer dtype holding ``lo..hi``."""
    candidates = ("uint8", "uint16", "uint32", "uint64") if lo >= 0 else ("int8", "int16", "int32", "int64")
    for name in candidates:
        info = np.iinfo(name)
        if info.min <= lo and hi <= info.max:
            return np.dtype(name)
    return None


def _blocks(data: np.ndarray) -> Iterator[np.ndarray]:
    """Slabs of ``data`` along its first axis holding about ``_CHECK_BLOCK`` elements each."""
    if data.ndim == 0:
        yield data.reshape(1)
        return
    per_row = max(1, data.size // max(1, data.shape[0]))
    step = max(1, _CHECK_BLOCK // per_row)
    for start in range(0, data.shape[0], step):
        yield data[start : start + step]


# ------------------------------------------------------------------------------------------------------------------
# Metadata on disk
# ------------------------------------------------------------------------------------------------------------------


def _group_not_found(path: Path, group: str) -> ZarrGroupNotFoundError:
    """The error for a missing array, saying what the store does have."""
    if not path.is_dir():
        return ZarrGroupNotFoundError(f"zarr store {path} does not exist (looked for array {group!r})")
    if is_array(path) is not None:
        return ZarrGroupNotFoundError(
            f"zarr store {path} holds a single array at its root, read as level {ROOT_LEVEL!r}; it has no "
            f"level {group!r}"
        )
    available = list_arrays(path)
    if not available:
        return ZarrGroupNotFoundError(
            f"zarr store {path} has no data yet (no array {group!r}); write the data first, e.g. with from_numpy()"
        )
    names = ", ".join(repr(name) for name in available)
    return ZarrGroupNotFoundError(f"zarr store {path} has no array {group!r}; available arrays: {names}")


# ------------------------------------------------------------------------------------------------------------------
# Copying stores (export to copick)
# ------------------------------------------------------------------------------------------------------------------


def copy_store_nested(source: Path, target: Path) -> list[str]:
    """Copy a zarr-format-2 store directory so that copick reads it: every array with nested ``/`` chunk keys.

    The tree is copied as is (symlinks followed); then each array whose chunks are stored under flat ``.`` keys
    (files like ``0.0.0``, which copick's ``/``-separated lookups miss, reading zeros) has them moved to nested
    paths (``0/0/0``) and its ``.zarray`` set to ``"dimension_separator": "/"``. No data is decoded or re-encoded.

    Args:
        source: The store to copy.
        target: Where to create the copy (must not exist).

    Returns:
        The keys (paths inside the store) of the arrays whose chunk keys were rewritten.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        FileExistsError: ``target`` exists.
        ValueError: An array's ``.zarray`` is not a JSON object.
    """
    source, target = Path(source), Path(target)
    shutil.copytree(source, target, symlinks=False)
    rewritten = []
    for dirpath, dirnames, filenames in os.walk(target):
        if ".zarray" not in filenames:
            continue
        dirnames[:] = []  # an array's subdirectories hold chunks only
        meta_file = Path(dirpath) / ".zarray"
        meta = read_json_object(meta_file)
        flat = [name for name in filenames if _is_flat_chunk_key(name)]
        if not flat and meta.get("dimension_separator") == "/":
            continue
        for name in flat:
            nested = Path(dirpath, *name.split("."))
            nested.parent.mkdir(parents=True, exist_ok=True)
            os.replace(Path(dirpath, name), nested)
        meta["dimension_separator"] = "/"
        meta_file.write_text(json.dumps(meta, indent=4, sort_keys=True, ensure_ascii=True))
        if flat:
            rewritten.append(Path(dirpath).relative_to(target).as_posix())
    return rewritten


def _is_flat_chunk_key(name: str) -> bool:
    """Whether a file name is a flat multi-dimensional chunk key such as ``0.1.2``."""
    parts = name.split(".")
    return len(parts) > 1 and all(part.isdigit() for part in parts)


def copy_store_as_format2(source: Path, target: Path) -> None:
    """Copy a zarr-format-3 store as a zarr-format-2 store that copick reads (zarr 3 only).

    Under zarr 3, data users write by hand into ``zarr()`` is format 3 unless they ask otherwise; copick (zarr 2)
    reads only format 2. The hierarchy (a root array, or groups of arrays), attributes, shapes, chunk shapes, dtypes
    and fill values are kept; arrays are written with copick's encoding (Blosc LZ4, nested ``/`` chunk keys), one
    chunk at a time, and chunks holding only the fill value are not written.

    Args:
        source: The format-3 store.
        target: Where to create the copy (must not exist).

    Raises:
        FileExistsError: ``target`` exists.
        ValueError: zarr 2 is installed (it cannot read format 3), or the source's metadata is not valid format 3.
    """
    source, target = Path(source), Path(target)
    if ZARR_MAJOR == 2:
        raise ValueError(
            f"zarr store {source} is in zarr format 3; zarr {zarr.__version__} cannot read it, so it cannot be "
            "converted here. Export where zarr 3 is installed."
        )
    meta = read_json_object(source / "zarr.json")
    if meta.get("zarr_format") != 3 or meta.get("node_type") not in ("array", "group"):
        raise ValueError(f"{source / 'zarr.json'} is not zarr format 3 metadata of an array or a group")
    target.mkdir(parents=True)
    try:
        node = zarr.open(zarr.storage.LocalStore(source, read_only=True), mode="r", zarr_format=3)
    except Exception as exc:
        raise ValueError(f"zarr store {source} cannot be opened: {exc}") from exc
    store = zarr.storage.LocalStore(target)
    if isinstance(node, zarr.Array):
        _copy_array_as_format2(node, store, "")
    else:
        _copy_group_as_format2(node, store, "")


def _copy_group_as_format2(group: Any, store: Any, key: str) -> None:
    """Recreate ``group`` (and everything below it) as format 2 at ``key`` of ``store``."""
    copy = zarr.open_group(store, path=key, mode="w", zarr_format=2)
    copy.attrs.put(dict(group.attrs))
    for name, member in group.members():
        child = f"{key}/{name}" if key else name
        if isinstance(member, zarr.Array):
            _copy_array_as_format2(member, store, child)
        else:
            _copy_group_as_format2(member, store, child)


def _copy_array_as_format2(array: Any, store: Any, key: str) -> None:
    """Write ``array`` as a format-2 array at ``key`` of ``store``, one source chunk at a time."""
    copy = zarr.create_array(
        store,
        name=key or None,
        shape=array.shape,
        chunks=array.chunks,
        dtype=array.dtype,
        fill_value=array.fill_value,
        compressors=_compressor(),
        filters=None,
        order="C",
        chunk_key_encoding={"name": "v2", "separator": "/"},
        zarr_format=2,
        attributes=dict(array.attrs),
        config={"write_empty_chunks": False},
    )
    if not array.shape:
        copy[...] = array[...]
        return
    ranges = [range(0, n, c) for n, c in zip(array.shape, array.chunks, strict=True)]
    for starts in itertools.product(*ranges):
        region = tuple(slice(s, s + c) for s, c in zip(starts, array.chunks, strict=True))
        copy[region] = array[region]
