"""CopickPicksDB, CopickMeshDB and CopickSegmentationDB: annotations backed by catalog rows.

Pick points live in the catalog row itself; meshes are GLB files and segmentations OME-Zarr stores, written with the
ordering of :mod:`copick_db.db.bulk`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh

from copick_db.catalog import point_codec
from copick_db.catalog.catalog import Record
from copick_db.catalog.tables import MeshRow, PicksRow, SegmentationRow
from copick_db.db import bulk
from copick_db.db.timestamps import now, to_datetime
from copick_db.db.volume import StoredVolume
from copick_db.models.annotations import CopickMesh, CopickPicks, CopickSegmentation
from copick_db.models.entity import identity_property
from copick_db.models.meta import CopickMeshMeta, CopickPicksFile, CopickSegmentationMeta
from copick_db.models.point_arrays import PointArrays
from copick_db.storage import glb, paths
from copick_db.storage.store import DataStore, prepare_volume

if TYPE_CHECKING:
    from copick_db.db.root import CopickRootDB
    from copick_db.db.run import CopickRunDB

#: Marks a pick set whose meta model has not been built from its row yet.
_PENDING: Any = CopickPicksFile.model_construct(pickable_object_name="")

PICKS_COLUMNS = (
    "id", "object_name", "user_id", "session_id", "trust_orientation", "voxel_spacing", "unit", "created", "modified",
    "read_only",
)  # fmt: skip
MESH_COLUMNS = (
    "id", "object_name", "user_id", "session_id", "root_id", "path", "created", "modified", "read_only"
)  # fmt: skip
SEGMENTATION_COLUMNS = (
    "id", "voxel_size", "user_id", "session_id", "name", "is_multilabel", "is_instance", "is_panoptic", "root_id",
    "path", "created", "modified", "read_only",
)  # fmt: skip


class CopickPicksDB(CopickPicks):
    """A pick set whose points are stored in its catalog row."""

    run: CopickRunDB
    _row_id: int | None = None

    _row: Any = None
    _meta: CopickPicksFile | None = None

    @classmethod
    def from_row(cls, run: CopickRunDB, row: Record) -> CopickPicksDB:
        """Build a pick set from a ``picks`` row (:data:`PICKS_COLUMNS`, plus the point columns if preloaded).

        The meta model is built only when asked for: cross-run queries return tens of thousands of pick sets.
        """
        picks = cls(run, file=_PENDING, read_only=bool(row.read_only))
        picks._row = row
        picks._row_id = row.id
        if "locations" in row._fields:
            picks._arrays = point_codec.decode(row)
        return picks

    @property
    def meta(self) -> CopickPicksFile:
        """The pick set's metadata (a CopickPicksFile)."""
        meta = self._meta
        if meta is _PENDING or meta is None:
            row = self._row
            meta = self._meta = CopickPicksFile.model_construct(
                pickable_object_name=row.object_name,
                user_id=row.user_id,
                session_id=row.session_id,
                run_name=self.run.name,
                voxel_spacing=row.voxel_spacing,
                unit=row.unit,
                points=self._points,
                trust_orientation=None if row.trust_orientation is None else bool(row.trust_orientation),
                created=to_datetime(row.created),
                modified=to_datetime(row.modified),
            )
        return meta

    @meta.setter
    def meta(self, value: CopickPicksFile) -> None:
        self._meta = value

    @identity_property
    def pickable_object_name(self) -> str:
        """The picked object's name."""
        meta = self._meta
        return self._row.object_name if meta is _PENDING else meta.pickable_object_name

    @identity_property
    def user_id(self) -> str | None:
        """The owner."""
        meta = self._meta
        return self._row.user_id if meta is _PENDING else (meta.user_id or self.config.user_id)

    @identity_property
    def session_id(self) -> str | None:
        """The session."""
        meta = self._meta
        return self._row.session_id if meta is _PENDING else (meta.session_id or self.config.session_id)

    @property
    def path(self) -> Path:
        """Where copick's layout keeps this pick set's JSON file, under the project's default data root.

        The points themselves live in the catalog; export writes the file there, so copick tools find it.
        """
        key = paths.picks_path(self.run.name, self.user_id, self.session_id, self.pickable_object_name)
        return self.run.root.data.default_store.locate(key)

    @property
    def _catalog(self) -> Any:
        return self.run.root.catalog

    def _load_arrays(self) -> PointArrays:
        row = self._catalog.rows(PicksRow, {"id": self._row_id}, columns=point_codec.POINT_COLUMNS)
        if not row:
            raise FileNotFoundError(f"{self!r} no longer exists in the catalog; it was deleted.")
        return point_codec.decode(row[0])

    def _store_arrays(self, arrays: PointArrays) -> None:
        values = {**point_codec.encode(arrays), "modified": now(), "trust_orientation": self.meta.trust_orientation}
        self._catalog.update(PicksRow, self._row_id, values)

    def delete(self) -> None:
        """Delete the pick set.

        Raises:
            PermissionError: The pick set is read-only.
        """
        self._check_writable("delete picks")
        _delete_row(self, PicksRow, None)


class CopickMeshDB(CopickMesh):
    """A mesh whose row locates its GLB file."""

    run: CopickRunDB
    _row_id: int | None = None
    _root_id: int
    _rel_path: str

    @classmethod
    def from_row(cls, run: CopickRunDB, row: Record) -> CopickMeshDB:
        """Build a mesh from a ``mesh`` row (:data:`MESH_COLUMNS`)."""
        meta = CopickMeshMeta(
            pickable_object_name=row.object_name,
            user_id=row.user_id,
            session_id=row.session_id,
            created=to_datetime(row.created),
            modified=to_datetime(row.modified),
        )
        mesh = cls(run, meta, read_only=bool(row.read_only))
        mesh._row_id = row.id
        mesh._root_id, mesh._rel_path = row.root_id, row.path
        return mesh

    @property
    def _data_store(self) -> DataStore:
        """The data store of the mesh's data root."""
        return self.run.root.data.store(self._root_id)

    @property
    def path(self) -> Path:
        """The GLB file."""
        return self._data_store.locate(self._rel_path)

    def _coerce_mesh(self, value: Any) -> trimesh.Trimesh:
        return glb.as_trimesh(value)

    def _load(self) -> trimesh.Trimesh:
        return self._data_store.read_mesh(self._rel_path)

    def _store(self) -> None:
        mesh = self._mesh
        vertices, faces = glb.mesh_counts(mesh)
        catalog = self.run.root.catalog

        def record(conn: Any) -> None:
            values = {"vertex_count": vertices, "face_count": faces, "modified": now()}
            catalog.update(MeshRow, self._row_id, values, conn=conn)

        store = self._data_store
        bulk.write_then_commit(catalog, store, self._rel_path, lambda staging: store.write_mesh(staging, mesh), record)

    def delete(self) -> None:
        """Delete the mesh and its GLB file.

        Raises:
            PermissionError: The mesh is read-only.
        """
        self._check_writable("delete a mesh")
        _delete_row(self, MeshRow, (self._root_id, self._rel_path))


class CopickSegmentationDB(StoredVolume, CopickSegmentation):
    """A segmentation whose row locates its OME-Zarr store."""

    _table = SegmentationRow

    run: CopickRunDB
    _row_id: int | None = None

    @classmethod
    def from_row(cls, run: CopickRunDB, row: Record) -> CopickSegmentationDB:
        """Build a segmentation from a ``segmentation`` row (:data:`SEGMENTATION_COLUMNS`)."""
        meta = CopickSegmentationMeta(
            name=row.name,
            user_id=row.user_id,
            session_id=row.session_id,
            voxel_size=row.voxel_size,
            is_multilabel=bool(row.is_multilabel),
            is_instance=bool(row.is_instance),
            is_panoptic=bool(row.is_panoptic),
            created=to_datetime(row.created),
            modified=to_datetime(row.modified),
        )
        seg = cls(run, meta, read_only=bool(row.read_only))
        seg._row_id = row.id
        seg._locate(row.root_id, row.path)
        return seg

    @property
    def _db_root(self) -> CopickRootDB:
        return self.run.root

    def from_numpy(self, data: np.ndarray, levels: int = 1, dtype: Any = None) -> None:
        """Store ``data`` as an OME-Zarr with nearest-neighbour levels, replacing any previous data.

        Args:
            data: (z, y, x) labels, or (2, z, y, x) for a panoptic segmentation (``np.stack([labels, ids])``).
            levels: Pyramid levels (halving the last three axes).
            dtype: Stored dtype; None means uint8 for binary and multilabel segmentations, and the smallest unsigned
                type from uint16 up that holds the values for instance and panoptic ones.

        Raises:
            ValueError: Wrong shape for the type, labels that do not fit ``dtype`` (the message names one that
                does), or panoptic values without a meaning (unknown label, instance id on background).
            PermissionError: The segmentation is read-only.
        """
        self._check_writable("write segmentation data")
        volume, dtype = self._checked_volume(data, dtype)
        # Bad arguments are rejected before any directory is made, so a failed call leaves the data root as it was.
        volume = prepare_volume(volume, voxel_size=self.voxel_size, levels=levels, dtype=dtype)
        self._write_volume(volume, voxel_size=self.voxel_size, levels=levels, dtype=dtype, method="nearest")

    def _row_identity(self) -> dict[str, Any]:
        return {"run_id": self.run._row_id, "path": self._rel_path}

    def _layout(self, zarr_group: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        array = self._array(zarr_group)
        return tuple(int(n) for n in array.shape), tuple(int(n) for n in array.chunks)

    def delete(self) -> None:
        """Delete the segmentation and its data.

        Raises:
            PermissionError: The segmentation is read-only.
        """
        self._check_writable("delete a segmentation")
        _delete_row(self, SegmentationRow, (self._root_id, self._rel_path))

    @property
    def directory(self) -> str:
        """The run-level directory copick keeps this type in (``Segmentations``, ``InstanceSegmentations``, ...)."""
        return paths.segmentation_directory(self.segmentation_type)


def _delete_row(entity: Any, table: type, data: tuple[int, str] | None) -> None:
    """Delete an annotation's row, then its data unless another process has claimed the path again meanwhile.

    The row must still be this entity's (same run and owner): one deleted elsewhere may have left its id to another.
    """
    meta = entity.meta
    identity = {"run_id": entity.run._row_id, "user_id": entity.user_id, "session_id": entity.session_id}
    identity["name" if table is SegmentationRow else "object_name"] = (
        meta.name if table is SegmentationRow else entity.pickable_object_name
    )
    catalog = entity.run.root.catalog
    if catalog.delete(table, entity._row_id, identity=identity) and data is not None:
        bulk.remove_released(catalog, entity.run.root.data, [data])
    entity.run._forget(entity)
