"""Volumes whose catalog row locates their data: region reads and writes, whole-volume writes, hand-written zarr.

Tomograms, feature maps, segmentations and density maps share :class:`StoredVolume`: the row records (data root id,
key), and every read and write goes through that root's data store (:mod:`copick_db.storage.store`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from copick_db.db import bulk
from copick_db.db.timestamps import now
from copick_db.errors import CopickDBError
from copick_db.storage.store import ROOT_LEVEL, DataStore

if TYPE_CHECKING:
    from copick_db.db.root import CopickRootDB

__all__ = ["StoredVolume", "dimensions_of", "size_columns"]

#: How often a read is retried when the volume was replaced while it was being read.
_READ_ATTEMPTS = 20


def dimensions_of(shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """A tomogram's recorded dimensions (x, y, z) for a level-0 array of ``shape``: its last three axes reversed.

    Args:
        shape: The shape of level ``"0"`` (or of a store's root array).

    Returns:
        ``(x, y, z)``, or None for an array of fewer than three axes.
    """
    if len(shape) < 3:
        return None
    size_z, size_y, size_x = (int(n) for n in shape[-3:])
    return size_x, size_y, size_z


def size_columns(dimensions: tuple[int, int, int] | None) -> dict[str, int | None]:
    """The ``tomogram`` row's size columns for ``dimensions`` (x, y, z); all None for unknown dimensions."""
    size_x, size_y, size_z = dimensions if dimensions is not None else (None, None, None)
    return {"size_x": size_x, "size_y": size_y, "size_z": size_z}


class StoredVolume:
    """Region access to a volume that a catalog row locates as (data root id, key).

    Opened arrays are cached per level, so repeated region reads cost what raw zarr costs.

    A writer replaces a volume by publishing a complete new one at its key, while zarr reads chunks by key: a reader
    that opened the old arrays could read some chunks of the old version and some of the new. So every read notes the
    volume's version (:meth:`~copick_db.storage.store.DataStore.version`) before and after, and reads again (with
    freshly opened arrays) when it changed: a read returns one version, never a mix.
    """

    _root_id: int
    _rel_path: str
    _arrays: dict[str, Any] | None = None
    _arrays_version: Hashable | None = None

    @property
    def _records_dimensions(self) -> bool:
        """Whether the row records the size of level 0 (``size_x``/``size_y``/``size_z``; meta ``dimensions``)."""
        table = getattr(self, "_table", None)
        return table is not None and "size_x" in table.__table__.columns

    @property
    def _db_root(self) -> CopickRootDB:
        raise NotImplementedError

    def _locate(self, root_id: int, rel_path: str) -> None:
        self._root_id = root_id
        self._rel_path = rel_path
        self._arrays = None

    @property
    def _data_store(self) -> DataStore:
        """The data store of the volume's data root."""
        return self._db_root.data.store(self._root_id)

    @property
    def path(self) -> Path:
        """The absolute path of the zarr store."""
        return self._data_store.locate(self._rel_path)

    def _array(self, zarr_group: str, writable: bool = False) -> Any:
        if writable:
            return self._data_store.open_array(self._rel_path, zarr_group, writable=True)
        if self._arrays is None:
            self._arrays = {}
        array = self._arrays.get(zarr_group)
        if array is None:
            array = self._arrays[zarr_group] = self._data_store.open_array(self._rel_path, zarr_group)
            if zarr_group == ROOT_LEVEL and self._records_dimensions:
                # Data written by hand through zarr() has no recorded size: what the store says is the truth.
                # Checked once per opened store, so repeated region reads cost nothing more.
                self._refresh_dimensions(tuple(array.shape))
        return array

    def _level_shape(self, zarr_group: str = "0") -> tuple[int, ...]:
        return tuple(self._array(str(zarr_group)).shape)

    def _refresh_dimensions(self, shape: tuple[int, ...]) -> None:
        """Record the size of level 0 in the row and the meta model when it differs from what they hold.

        A refresh that cannot be written (read-only project, busy or changed row) leaves the row for the next read
        or ``copick-db check``: it never fails the read.
        """
        meta = self.meta  # type: ignore[attr-defined]
        dims = dimensions_of(shape)
        if dims == meta.dimensions:
            return
        meta.dimensions = dims
        if self._root_read_only():  # type: ignore[attr-defined]
            return
        catalog = self._db_root.catalog
        with contextlib.suppress(CopickDBError, OSError, ValueError), catalog.writing() as conn:
            # Measured again under the write lock, where no from_numpy swaps a store in: the array opened before may
            # belong to a store replaced since.
            info = self._data_store.array_info(self._rel_path, ROOT_LEVEL)
            if info is not None:
                dims = dimensions_of(info[0])
                columns = size_columns(dims)
                catalog.update(self._table, self._row_id, columns, conn=conn, identity=self._row_identity())  # type: ignore[attr-defined]
                meta.dimensions = dims

    def _read_region(self, zarr_group: str, selection: tuple) -> np.ndarray:
        store, key = self._data_store, self._rel_path
        for _ in range(_READ_ATTEMPTS):
            before = store.version(key)
            if before != self._arrays_version:
                self._arrays, self._arrays_version = None, before
            data = np.asarray(self._array(zarr_group)[selection or ...])
            if store.version(key) == before:
                return data
        raise CopickDBError(
            f"{store.locate(key)} was replaced {_READ_ATTEMPTS} times while it was being read; another process keeps "
            "rewriting it. Read it again later."
        )

    def _write_region(self, data: np.ndarray, zarr_group: str, selection: tuple) -> None:
        self._data_store.write_region(self._rel_path, data, zarr_group, selection)

    def _row_identity(self) -> dict[str, Any]:
        """Columns that must still match for the entity's row to be this entity's (its id may have been reused)."""
        raise NotImplementedError

    def _write_volume(
        self,
        volume: np.ndarray,
        *,
        voxel_size: float,
        levels: int,
        dtype: Any,
        method: str,
        values: dict[str, Any] | None = None,
    ) -> None:
        """Write a checked volume (see :func:`copick_db.storage.store.prepare_volume`) and record it in the row.

        The order is :mod:`copick_db.db.bulk`'s: data staged first, then row updated and data published within one
        transaction.
        """
        catalog = self._db_root.catalog
        table = self._table  # type: ignore[attr-defined]
        store = self._data_store

        def write(staging: str) -> None:
            store.write_volume(staging, volume, voxel_size=voxel_size, levels=levels, dtype=dtype, method=method)

        def record(conn: Any) -> None:
            changes = {**(values or {}), "modified": now()}
            catalog.update(table, self._row_id, changes, conn=conn, identity=self._row_identity())  # type: ignore[attr-defined]

        bulk.write_then_commit(catalog, store, self._rel_path, write, record)
        self._forget_arrays()

    def _forget_arrays(self) -> None:
        self._arrays = None

    def zarr(self) -> Any:
        """The volume's zarr store, writable unless the entity is read-only, as copick's ``zarr()``.

        With data, ``zarr.open(store)["0"]`` reads level 0. Without data yet, the store is empty (its directory is
        created, nothing is written in it), so users can write into it with zarr 2 or 3 whatever they like:
        ``zarr.array(data, store=store)`` or ``zarr.create(shape, store=store)`` (one array at the root, which
        :meth:`numpy` reads as level ``"0"``), or ``zarr.open_group(store, mode="w")`` and arrays ``"0"``,
        ``"1"``, … Such writes go straight into the live store, as in copick; ``from_numpy`` stays atomic.
        Under zarr 3 pass ``zarr_format=2`` for stores copick can read as they are (an export converts format 3).

        Returns:
            A zarr 2 ``DirectoryStore`` or a zarr 3 ``LocalStore``.
        """
        return self._data_store.zarr_store(self._rel_path, writable=not self.read_only)  # type: ignore[attr-defined]
