"""What every catalog-backed entity shares: its row id, and for volumes the data path and region access."""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from copick_db.db import bulk
from copick_db.errors import CopickDBError
from copick_db.storage import zarr_io

if TYPE_CHECKING:
    from copick_db.db.root import CopickRootDB


@contextmanager
def gc_paused() -> Iterator[None]:
    """Defer cyclic garbage collection while thousands of entity objects are built.

    Allocating them triggers collections that walk every object the process holds (all of numpy, SQLAlchemy and
    pydantic), which cost 4× the listing itself on 10,000 runs. Collection is only deferred, never skipped.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def now() -> float:
    """The current time as stored in the catalog (seconds since the epoch)."""
    return time.time()


def to_datetime(timestamp: float | None) -> datetime | None:
    """A catalog timestamp as an aware UTC datetime."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


def to_timestamp(value: datetime | None, default: float | None = None) -> float | None:
    """A meta datetime as a catalog timestamp (naive datetimes are taken as UTC)."""
    if value is None:
        return default
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


#: How often a read is retried when the store was replaced while it was being read.
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


def _store_identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when a store directory is swapped for another: (device, inode, ctime), or None if missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_ctime_ns)


class StoredVolume:
    """Region access to a zarr store that a catalog row locates as (data root id, relative path).

    Opened arrays are cached per level, so repeated region reads cost what raw zarr costs.

    A writer replaces a store by swapping a complete new directory in at its path, while zarr reads chunks by path:
    a reader that opened the old arrays could read some chunks of the old version and some of the new. So every read
    notes the store directory's identity before and after, and reads again (with freshly opened arrays) when it
    changed: a read returns one version, never a mix.
    """

    _root_id: int
    _rel_path: str
    _arrays: dict[str, Any] | None = None
    _arrays_identity: tuple[int, int, int] | None = None

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
    def path(self) -> Path:
        """The absolute path of the zarr store."""
        return self._db_root.data.resolve(self._root_id, self._rel_path)

    def _array(self, zarr_group: str, writable: bool = False) -> Any:
        if writable:
            return zarr_io.open_array(self.path, zarr_group, writable=True)
        if self._arrays is None:
            self._arrays = {}
        array = self._arrays.get(zarr_group)
        if array is None:
            array = self._arrays[zarr_group] = zarr_io.open_array(self.path, zarr_group)
            if zarr_group == zarr_io.ROOT_LEVEL and self._records_dimensions:
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
            info = zarr_io.array_info(self.path, zarr_io.ROOT_LEVEL)
            if info is not None:
                dims = dimensions_of(info[0])
                columns = size_columns(dims)
                catalog.update(self._table, self._row_id, columns, conn=conn, identity=self._row_identity())  # type: ignore[attr-defined]
                meta.dimensions = dims

    def _read_region(self, zarr_group: str, selection: tuple) -> np.ndarray:
        path = self.path
        for _ in range(_READ_ATTEMPTS):
            before = _store_identity(path)
            if before != self._arrays_identity:
                self._arrays, self._arrays_identity = None, before
            data = np.asarray(self._array(zarr_group)[selection or ...])
            if _store_identity(path) == before:
                return data
        raise CopickDBError(
            f"{path} was replaced {_READ_ATTEMPTS} times while it was being read; another process keeps rewriting "
            "it. Read it again later."
        )

    def _write_region(self, data: np.ndarray, zarr_group: str, selection: tuple) -> None:
        zarr_io.write(self.path, data, zarr_group, selection)

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
        """Write a checked volume (see ``zarr_io.prepare_multiscale``) and record it in the entity's row.

        The order is :mod:`copick_db.db.bulk`'s: data staged first, then row updated and data swapped in within one
        transaction.
        """
        catalog = self._db_root.catalog
        table = self._table  # type: ignore[attr-defined]

        def write(tmp: Path) -> None:
            zarr_io.write_multiscale(tmp, volume, voxel_size=voxel_size, levels=levels, dtype=dtype, method=method)

        def record(conn: Any) -> None:
            changes = {**(values or {}), "modified": now()}
            catalog.update(table, self._row_id, changes, conn=conn, identity=self._row_identity())  # type: ignore[attr-defined]

        bulk.write_then_commit(catalog, self.path, write, record)
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
        return zarr_io.open_store(self.path, writable=not self.read_only)  # type: ignore[attr-defined]
