"""CopickObjectDB: a pickable object whose row also locates its density map."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from copick_db.catalog.catalog import Record
from copick_db.catalog.tables import PickableObjectRow
from copick_db.db import bulk
from copick_db.db.volume import StoredVolume
from copick_db.errors import ZarrGroupNotFoundError
from copick_db.models.object import CopickObject
from copick_db.models.values import PickableObject
from copick_db.storage import paths
from copick_db.storage.store import DataStore, prepare_volume

if TYPE_CHECKING:
    from copick_db.db.root import CopickRootDB


def object_values(meta: PickableObject) -> dict[str, Any]:
    """The catalog columns of a PickableObject.

    Raises:
        ValueError: The name cannot name the object's density map store (``.``, ``..``): copick's name rule allows
            them, but ``Objects/<name>.zarr`` must stay a plain file name.
    """
    return {
        "name": paths.check_component(meta.name, "object name"),
        "is_particle": meta.is_particle,
        "label": meta.label,
        "color": None if meta.color is None else json.dumps(list(meta.color)),
        "emdb_id": meta.emdb_id,
        "pdb_id": meta.pdb_id,
        "identifier": meta.identifier,
        "map_threshold": meta.map_threshold,
        "radius": meta.radius,
        "metadata_json": json.dumps(meta.metadata or {}),
    }


def object_meta(row: Record) -> PickableObject:
    """The PickableObject a ``pickable_object`` row describes."""
    return PickableObject(
        name=row.name,
        is_particle=row.is_particle,
        label=row.label,
        color=None if row.color is None else tuple(json.loads(row.color)),
        emdb_id=row.emdb_id,
        pdb_id=row.pdb_id,
        identifier=row.identifier,
        map_threshold=row.map_threshold,
        radius=row.radius,
        metadata=json.loads(row.metadata_json),
    )


class CopickObjectDB(StoredVolume, CopickObject):
    """A pickable object; particles may carry a density map stored as a one-level OME-Zarr."""

    root: CopickRootDB
    _row_id: int | None = None
    _root_id: int | None = None  # type: ignore[assignment]
    _rel_path: str | None = None  # type: ignore[assignment]

    @classmethod
    def from_row(cls, root: CopickRootDB, row: Record) -> CopickObjectDB:
        """Build an object from a ``pickable_object`` row."""
        obj = cls(root, object_meta(row), read_only=bool(row.read_only))
        obj._row_id = row.id
        if row.map_path is not None:
            obj._locate(row.map_root_id, row.map_path)
        return obj

    @property
    def _db_root(self) -> CopickRootDB:
        return self.root

    @property
    def _data_store(self) -> DataStore:
        """The data store of the map's data root; the default one while there is no map."""
        data = self.root.data
        return data.store(data.default_id if self._root_id is None else self._root_id)

    @property
    def path(self) -> Any:
        """Where the density map is, or where a new one would be written."""
        if self._rel_path is None:
            return self._data_store.locate(paths.object_path(self.name))
        return super().path

    def zarr(self) -> Any:
        """The density map's zarr store, or None for objects that are not particles.

        On a writable particle without a map, the store's location is recorded first and the store is empty, so
        that a map written through it by hand (as copick tools do: ``zarr.array(data, store=obj.zarr())``, or a
        group with arrays ``"0"``, … ) is what :meth:`numpy` reads afterwards; a root array reads as level ``"0"``.
        A store left empty is a map not written yet, not a problem for ``copick-db check``.
        """
        if not self.is_particle:
            return None
        if self._rel_path is None and not self.read_only:
            self._record_map_location()
        if self._rel_path is None:  # read-only, without a map: an empty read-only store where a map would be
            return self._data_store.zarr_store(paths.object_path(self.name), writable=False)
        return super().zarr()

    def _record_map_location(self) -> None:
        data_roots = self.root.data
        data_roots.check_default_writable()
        rel = paths.object_path(self.name)
        values = {"map_root_id": data_roots.default_id, "map_path": rel, "map_voxel_size": None}
        self.root.catalog.update(PickableObjectRow, self._row_id, values)
        self._locate(data_roots.default_id, rel)

    def _array(self, zarr_group: str, writable: bool = False) -> Any:
        self._check_has_map()
        return super()._array(zarr_group, writable)

    def _read_region(self, zarr_group: str, selection: tuple) -> np.ndarray:
        self._check_has_map()
        return super()._read_region(zarr_group, selection)

    def _write_region(self, data: np.ndarray, zarr_group: str, selection: tuple) -> None:
        self._check_has_map()
        super()._write_region(data, zarr_group, selection)

    def _check_has_map(self) -> None:
        if self._rel_path is None:
            raise ZarrGroupNotFoundError(
                f"Object {self.name!r} has no density map; store one with obj.from_numpy(data, voxel_size)."
            )

    def from_numpy(self, data: np.ndarray, voxel_size: float, dtype: Any = np.float32) -> None:
        """Store a density map (z, y, x) sampled at ``voxel_size`` Å as a one-level OME-Zarr.

        Raises:
            ValueError: The object is not a particle, ``data`` is not 3-D, or the voxel size is not positive.
            PermissionError: The map is read-only.
        """
        self._check_writable(f"store the density map of {self.name!r}")
        if not self.is_particle:
            raise ValueError(f"Object {self.name!r} is not a particle; only particles have density maps.")
        volume = np.asarray(data)
        if volume.ndim != 3:
            raise ValueError(f"A density map must be a 3-D (z, y, x) array; got shape {volume.shape}")
        # Bad arguments are rejected before any directory is made, so a failed call leaves the data root as it was.
        volume = prepare_volume(volume, voxel_size=voxel_size, levels=1, dtype=dtype)
        data_roots = self.root.data
        data_roots.check_default_writable()
        rel = paths.object_path(self.name)
        catalog = self.root.catalog
        store = data_roots.default_store

        def write(staging: str) -> None:
            store.write_volume(staging, volume, voxel_size=voxel_size, levels=1, dtype=dtype, method="mean")

        def record(conn: Any) -> None:
            values = {"map_root_id": data_roots.default_id, "map_path": rel, "map_voxel_size": float(voxel_size)}
            catalog.update(PickableObjectRow, self._row_id, values, conn=conn)

        bulk.write_then_commit(catalog, store, rel, write, record)
        self._locate(data_roots.default_id, rel)

    def delete(self) -> None:
        """Delete the density map; the object itself stays in the project (as in copick).

        Raises:
            PermissionError: The map is read-only.
        """
        self._check_writable(f"delete the density map of {self.name!r}")
        if self._rel_path is None:
            return
        target = (self._root_id, self._rel_path)
        values = {"map_root_id": None, "map_path": None, "map_voxel_size": None}
        self.root.catalog.update(PickableObjectRow, self._row_id, values)
        bulk.remove_released(self.root.catalog, self.root.data, [target])
        self._root_id, self._rel_path, self._arrays = None, None, None
