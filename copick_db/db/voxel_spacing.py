"""CopickVoxelSpacingDB: a voxel spacing backed by a catalog row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from copick_db.catalog import queries
from copick_db.catalog.catalog import Record
from copick_db.catalog.tables import TomogramRow, VoxelSpacingRow
from copick_db.db import bulk
from copick_db.db.timestamps import now, to_datetime, to_timestamp
from copick_db.db.tomogram import TOMOGRAM_COLUMNS, CopickTomogramDB
from copick_db.errors import ReadOnlyError
from copick_db.models.meta import CopickTomogramMeta, CopickVoxelSpacingMeta
from copick_db.models.voxel_spacing import CopickVoxelSpacing
from copick_db.storage import paths

if TYPE_CHECKING:
    from copick_db.db.run import CopickRunDB

VS_COLUMNS = ("id", "voxel_size", "created", "modified", "read_only")


class CopickVoxelSpacingDB(CopickVoxelSpacing):
    """A voxel spacing whose metadata is a catalog row."""

    run: CopickRunDB
    _row_id: int | None = None

    @classmethod
    def from_row(cls, run: CopickRunDB, row: Record) -> CopickVoxelSpacingDB:
        """Build a voxel spacing from a ``voxel_spacing`` row (columns :data:`VS_COLUMNS`)."""
        meta = CopickVoxelSpacingMeta(
            voxel_size=row.voxel_size, created=to_datetime(row.created), modified=to_datetime(row.modified)
        )
        vs = cls(run, meta, read_only=bool(row.read_only))
        vs._row_id = row.id
        return vs

    @property
    def _catalog(self) -> Any:
        return self.run.root.catalog

    def _tomogram_factory(self) -> tuple[type[CopickTomogramDB], type[CopickTomogramMeta]]:
        return CopickTomogramDB, CopickTomogramMeta

    def query_tomograms(self) -> list[CopickTomogramDB]:
        """The tomograms of this voxel spacing, in one query."""
        rows = self._catalog.rows(
            TomogramRow, {"voxel_spacing_id": self._row_id}, columns=TOMOGRAM_COLUMNS, order_by=("tomo_type",)
        )
        return [CopickTomogramDB.from_row(self, row) for row in rows]

    def _query_tomograms(self, tomo_type: str) -> list[CopickTomogramDB]:
        rows = self._catalog.rows(
            TomogramRow, {"voxel_spacing_id": self._row_id, "tomo_type": tomo_type}, columns=TOMOGRAM_COLUMNS
        )
        return [CopickTomogramDB.from_row(self, row) for row in rows]

    def _create_child(self, entity: Any) -> None:
        if not isinstance(entity, CopickTomogramDB):
            raise TypeError(f"Voxel spacings cannot hold {type(entity).__name__}")
        data = self.run.root.data
        data.check_default_writable()
        rel = paths.tomogram_path(self.run.name, self.voxel_size, entity.tomo_type)
        stamp = now()
        entity._row_id = self._catalog.insert(
            TomogramRow,
            {
                "voxel_spacing_id": self._row_id,
                "tomo_type": entity.tomo_type,
                "root_id": data.default_id,
                "path": rel,
                "created": to_timestamp(entity.meta.created, stamp),
                "modified": to_timestamp(entity.meta.modified, stamp),
            },
        )
        entity._locate(data.default_id, rel)

    def ensure(self, create: bool = False) -> bool:
        """Whether the row exists; with ``create=True`` it is created when missing."""
        if self._catalog.first(VoxelSpacingRow, {"run_id": self.run._row_id, "voxel_key": self._key}) is not None:
            return True
        if not create:
            return False
        created = self.run.new_voxel_spacing(self.voxel_size, exist_ok=True)
        self._row_id = created._row_id
        return True

    @property
    def _key(self) -> int:
        return paths.voxel_key(self.voxel_size)

    def delete(self) -> None:
        """Delete the voxel spacing, its tomograms and feature maps, and their data.

        Raises:
            PermissionError: It, or anything in it, is read-only (nothing is deleted then).
        """
        self._check_writable(f"delete voxel spacing {self.voxel_size}")
        catalog = self._catalog
        data = self.run.root.data
        identity = {"run_id": self.run._row_id, "voxel_key": self._key}
        deleted = False
        with catalog.writing() as conn:
            # Deleted meanwhile by another root: its id, or its directory, may belong to a new voxel spacing now.
            if catalog.first(VoxelSpacingRow, {"id": self._row_id, **identity}, conn=conn) is not None:
                if queries.voxel_spacing_holds_read_only(conn, self._row_id):
                    raise ReadOnlyError(f"Cannot delete {self!r}: it holds static (read-only) tomograms.")
                stored = queries.data_under_voxel_spacing(conn, self._row_id)
                deleted = catalog.delete(VoxelSpacingRow, self._row_id, conn=conn)
        if deleted:
            vs_dir = paths.voxel_spacing_dir(self.run.name, self.voxel_size)
            released = [*stored, *((root_id, vs_dir) for root_id in data.writable_ids())]
            bulk.remove_released(catalog, data, released)
        self.run._forget(self)
