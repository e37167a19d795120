"""What every catalog-backed entity shares: its row id, and for volumes the data path and region access."""

from __future__ import annotations

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
        return array

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
        """A zarr store for this volume: ``zarr.open(store)["0"]`` reads level 0 (writable unless read-only)."""
        return zarr_io.open_store(self.path, writable=not self.read_only)  # type: ignore[attr-defined]
