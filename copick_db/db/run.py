"""CopickRunDB: a run backed by a catalog row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from copick_db.catalog import filament_codec, point_codec, queries
from copick_db.catalog.catalog import Record
from copick_db.catalog.tables import FilamentsRow, MeshRow, PicksRow, RunRow, SegmentationRow, VoxelSpacingRow
from copick_db.db import bulk
from copick_db.db.annotations import (
    MESH_COLUMNS,
    PICKS_COLUMNS,
    SEGMENTATION_COLUMNS,
    CopickMeshDB,
    CopickPicksDB,
    CopickSegmentationDB,
)
from copick_db.db.filaments import FILAMENTS_COLUMNS, CopickFilamentsDB
from copick_db.db.timestamps import now, to_datetime, to_timestamp
from copick_db.db.voxel_spacing import VS_COLUMNS, CopickVoxelSpacingDB
from copick_db.errors import ReadOnlyError
from copick_db.models.entity import identity_property, matches_voxel_size, voxel_sizes_match
from copick_db.models.filaments import CopickFilamentsFile, FilamentArrays
from copick_db.models.meta import (
    CopickMeshMeta,
    CopickPicksFile,
    CopickRunMeta,
    CopickSegmentationMeta,
    CopickVoxelSpacingMeta,
)
from copick_db.models.point_arrays import PointArrays
from copick_db.models.run import CopickRun
from copick_db.storage import glb, paths

if TYPE_CHECKING:
    from copick_db.db.root import CopickRootDB

RUN_COLUMNS = queries.RUN_FIELDS
OWNED_ORDER = ("object_name", "user_id", "session_id")
#: Listings are ordered by identity, as the abstract layer keeps loaded caches (models.entity.insert_sorted).
SEGMENTATION_ORDER = ("voxel_size", "user_id", "session_id", "name", "is_multilabel", "is_instance", "is_panoptic")


class CopickRunDB(CopickRun):
    """A run whose metadata is a catalog row; its meta model is built only when asked for."""

    root: CopickRootDB
    _row_id: int | None = None
    _row: Record | None = None
    _meta: CopickRunMeta | None = None

    @classmethod
    def from_row(cls, root: CopickRootDB, row: Record) -> CopickRunDB:
        """Build a run from a ``run`` row (columns :data:`RUN_COLUMNS`) without validating a meta model."""
        run = cls(root, None, read_only=bool(row.read_only))  # type: ignore[arg-type]
        run._row = row
        run._row_id = row.id
        run._split = row.split
        return run

    @property
    def meta(self) -> CopickRunMeta:
        """The run's metadata."""
        if self._meta is None and self._row is not None:
            row = self._row
            self._meta = CopickRunMeta(
                name=row.name,
                description=row.description,
                created=to_datetime(row.created),
                modified=to_datetime(row.modified),
            )
        return self._meta  # type: ignore[return-value]

    @meta.setter
    def meta(self, value: CopickRunMeta | None) -> None:
        self._meta = value

    @identity_property
    def name(self) -> str:
        """The run name."""
        return self._meta.name if self._meta is not None else self._row.name  # type: ignore[union-attr]

    def __reduce__(self) -> tuple[Any, tuple]:
        """Pickle as (root, name): the copy is the run of that name in the unpickled (reopened) root."""
        return _run_of, (self.root, self.name)

    def _store_split(self, split: str | None) -> None:
        self.root.catalog.update(
            RunRow, self._row_id, {"split": split, "modified": now()}, identity={"name": self.name}
        )

    # -- voxel spacings ---------------------------------------------------------------------------------------

    def _voxel_spacing_factory(self) -> tuple[type[CopickVoxelSpacingDB], type[CopickVoxelSpacingMeta]]:
        return CopickVoxelSpacingDB, CopickVoxelSpacingMeta

    def query_voxelspacings(self) -> list[CopickVoxelSpacingDB]:
        """The run's voxel spacings, in one query."""
        rows = self.root.catalog.rows(
            VoxelSpacingRow, {"run_id": self._row_id}, columns=VS_COLUMNS, order_by=("voxel_size",)
        )
        return [CopickVoxelSpacingDB.from_row(self, row) for row in rows]

    def _query_voxel_spacing(self, voxel_size: float) -> CopickVoxelSpacingDB | None:
        keys = paths.candidate_voxel_keys([voxel_size])
        rows = self.root.catalog.rows(VoxelSpacingRow, {"run_id": self._row_id, "voxel_key": keys}, columns=VS_COLUMNS)
        # The key narrows the search through the index; the tolerance decides between neighbours.
        for row in sorted(rows, key=lambda r: abs(r.voxel_size - voxel_size)):
            if voxel_sizes_match(row.voxel_size, voxel_size):
                return CopickVoxelSpacingDB.from_row(self, row)
        return None

    # -- annotations ------------------------------------------------------------------------------------------

    def _picks_factory(self) -> tuple[type[CopickPicksDB], type[CopickPicksFile]]:
        return CopickPicksDB, CopickPicksFile

    def _mesh_factory(self) -> tuple[type[CopickMeshDB], type[CopickMeshMeta]]:
        return CopickMeshDB, CopickMeshMeta

    def _segmentation_factory(self) -> tuple[type[CopickSegmentationDB], type[CopickSegmentationMeta]]:
        return CopickSegmentationDB, CopickSegmentationMeta

    def _filaments_factory(self) -> tuple[type[CopickFilamentsDB], type[CopickFilamentsFile]]:
        return CopickFilamentsDB, CopickFilamentsFile

    def query_picks(self) -> list[CopickPicksDB]:
        """The run's pick sets (points are loaded when first used), in one query."""
        return self._query_picks(None, None, None)

    def _query_picks(self, object_name: Any, user_id: Any, session_id: Any) -> list[CopickPicksDB]:
        where = owned_where(self._row_id, object_name, user_id, session_id)
        rows = self.root.catalog.rows(PicksRow, where, columns=PICKS_COLUMNS, order_by=OWNED_ORDER)
        return [CopickPicksDB.from_row(self, row) for row in rows]

    def query_filaments(self) -> list[CopickFilamentsDB]:
        """The run's filament sets (polylines are loaded when first used), in one query."""
        return self._query_filaments(None, None, None)

    def _query_filaments(self, object_name: Any, user_id: Any, session_id: Any) -> list[CopickFilamentsDB]:
        where = owned_where(self._row_id, object_name, user_id, session_id)
        rows = self.root.catalog.rows(FilamentsRow, where, columns=FILAMENTS_COLUMNS, order_by=OWNED_ORDER)
        return [CopickFilamentsDB.from_row(self, row) for row in rows]

    def query_meshes(self) -> list[CopickMeshDB]:
        """The run's meshes, in one query."""
        return self._query_meshes(None, None, None)

    def _query_meshes(self, object_name: Any, user_id: Any, session_id: Any) -> list[CopickMeshDB]:
        where = owned_where(self._row_id, object_name, user_id, session_id)
        rows = self.root.catalog.rows(MeshRow, where, columns=MESH_COLUMNS, order_by=OWNED_ORDER)
        return [CopickMeshDB.from_row(self, row) for row in rows]

    def query_segmentations(self) -> list[CopickSegmentationDB]:
        """The run's segmentations, in one query."""
        return self._query_segmentations({})

    def _query_segmentations(self, filters: dict[str, Any]) -> list[CopickSegmentationDB]:
        where, voxel_sizes = segmentation_where(filters)
        where["run_id"] = self._row_id
        rows = self.root.catalog.rows(SegmentationRow, where, columns=SEGMENTATION_COLUMNS, order_by=SEGMENTATION_ORDER)
        return [CopickSegmentationDB.from_row(self, r) for r in rows if matches_voxel_size(r.voxel_size, voxel_sizes)]

    def _create_child(self, entity: Any) -> None:
        catalog = self.root.catalog
        stamp = now()
        stamps = {"created": stamp, "modified": stamp}
        if isinstance(entity, CopickVoxelSpacingDB):
            meta = entity.meta
            entity._row_id = catalog.insert(
                VoxelSpacingRow,
                {
                    "run_id": self._row_id,
                    "voxel_size": meta.voxel_size,
                    "voxel_key": paths.voxel_key(meta.voxel_size),
                    "created": to_timestamp(meta.created, stamp),
                    "modified": to_timestamp(meta.modified, stamp),
                },
            )
        elif isinstance(entity, CopickPicksDB):
            owner = _owner_values(entity)
            values = {**owner, **point_codec.encode(PointArrays.empty()), **stamps, "run_id": self._row_id}
            entity._row_id = catalog.insert(PicksRow, values)
            entity._arrays = PointArrays.empty()
        elif isinstance(entity, CopickFilamentsDB):
            meta = entity.meta
            values = {
                **_owner_values(entity),
                **filament_codec.encode(FilamentArrays.empty()),
                **stamps,
                "run_id": self._row_id,
                "voxel_spacing": meta.voxel_spacing,
                "unit": meta.unit,
                "version": meta.version,
            }
            entity._row_id = catalog.insert(FilamentsRow, values)
            entity._arrays = FilamentArrays.empty()
        elif isinstance(entity, CopickMeshDB):
            self._create_mesh(entity, stamps)
        elif isinstance(entity, CopickSegmentationDB):
            data = self.root.data
            data.check_default_writable()
            meta = entity.meta
            rel = paths.typed_segmentation_path(
                self.name,
                meta.voxel_size,
                meta.user_id,
                meta.session_id,
                meta.name,
                is_multilabel=meta.is_multilabel,
                is_instance=meta.is_instance,
                is_panoptic=meta.is_panoptic,
            )
            values = {
                "run_id": self._row_id,
                "voxel_size": meta.voxel_size,
                "voxel_key": paths.voxel_key(meta.voxel_size),
                "user_id": meta.user_id,
                "session_id": meta.session_id,
                "name": meta.name,
                "is_multilabel": meta.is_multilabel,
                "is_instance": meta.is_instance,
                "is_panoptic": meta.is_panoptic,
                "root_id": data.default_id,
                "path": rel,
                **stamps,
            }
            entity._row_id = catalog.insert(SegmentationRow, values)
            entity._locate(data.default_id, rel)
        else:
            raise TypeError(f"Runs cannot hold {type(entity).__name__}")

    def _create_mesh(self, mesh: CopickMeshDB, stamps: dict[str, float]) -> None:
        """Write the (empty) GLB and insert its row, in the order bulk writes require (copick writes it at once)."""
        data = self.root.data
        data.check_default_writable()
        meta = mesh.meta
        rel = paths.mesh_path(self.name, meta.user_id, meta.session_id, meta.pickable_object_name)
        mesh._root_id, mesh._rel_path = data.default_id, rel
        initial = mesh._mesh
        vertices, faces = glb.mesh_counts(initial)
        values = {
            **_owner_values(mesh),
            "run_id": self._row_id,
            "root_id": data.default_id,
            "path": rel,
            "vertex_count": vertices,
            "face_count": faces,
            **stamps,
        }
        catalog = self.root.catalog

        def insert(conn: Any) -> int:
            return catalog.insert(MeshRow, values, conn=conn)

        store = data.default_store
        mesh._row_id = bulk.write_then_commit(catalog, store, rel, lambda key: store.write_mesh(key, initial), insert)
        if initial is None:
            mesh._mesh = glb.as_trimesh(None)

    # -- existence and deletion -------------------------------------------------------------------------------

    def ensure(self, create: bool = False) -> bool:
        """Whether the run's row exists; with ``create=True`` it is created when missing."""
        if self.root.catalog.first(RunRow, {"name": self.name}) is not None:
            return True
        if not create:
            return False
        self.root.new_run(self.name, exist_ok=True)
        found = self.root._query_run(self.name)
        self._row_id = found._row_id if found is not None else None
        return found is not None

    def delete(self) -> None:
        """Delete the run, everything in it, and its data directory in every writable data root.

        Raises:
            PermissionError: The run, or anything in it, is read-only (nothing is deleted then).
        """
        self._check_writable(f"delete run {self.name!r}")
        catalog = self.root.catalog
        with catalog.writing() as conn:
            if queries.run_holds_read_only(conn, self._row_id):
                raise ReadOnlyError(
                    f"Cannot delete run {self.name!r}: it holds static (read-only) data. Delete your own entities "
                    "in it one by one instead."
                )
            # The identity guard matters: a run deleted meanwhile elsewhere may have left its id to another run.
            deleted = catalog.delete(RunRow, self._row_id, conn=conn, identity={"name": self.name})
        if deleted:
            run_dir = paths.run_dir(self.name)
            released = [(root_id, run_dir) for root_id in self.root.data.writable_ids()]
            bulk.remove_released(catalog, self.root.data, released)
        self.root._forget_run(self)


def _run_of(root: CopickRootDB, name: str) -> CopickRunDB:
    """Unpickle a run: look it up in its (reopened) root."""
    run = root.get_run(name)
    if run is None:
        raise LookupError(f"Run {name!r} no longer exists in {root.catalog.where}; it was deleted meanwhile.")
    return run


def _owner_values(entity: Any) -> dict[str, str]:
    meta = entity.meta
    return {"object_name": meta.pickable_object_name, "user_id": meta.user_id, "session_id": meta.session_id}


def owned_where(run_id: Any, object_name: Any, user_id: Any, session_id: Any) -> dict[str, Any]:
    """Catalog filters for picks and mesh getters (one run, or every run when ``run_id`` is None)."""
    where: dict[str, Any] = {} if run_id is None else {"run_id": run_id}
    for column, allowed in (("object_name", object_name), ("user_id", user_id), ("session_id", session_id)):
        if allowed is not None:
            where[column] = allowed
    return where


def segmentation_where(filters: dict[str, Any]) -> tuple[dict[str, Any], tuple | None]:
    """Catalog filters for segmentation getters, and the voxel sizes still to match within tolerance."""
    where: dict[str, Any] = {}
    for column in ("user_id", "session_id", "name", "is_multilabel", "is_instance", "is_panoptic"):
        if filters.get(column) is not None:
            where[column] = filters[column]
    voxel_sizes = filters.get("voxel_size")
    if voxel_sizes is not None:
        where["voxel_key"] = paths.candidate_voxel_keys(voxel_sizes)
    return where, voxel_sizes
