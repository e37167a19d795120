"""CopickRunDB: a run backed by a catalog row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Row

from copick_db.catalog import queries
from copick_db.catalog.tables import RunRow, VoxelSpacingRow
from copick_db.db import bulk
from copick_db.db.stored import now, to_datetime, to_timestamp
from copick_db.db.voxel_spacing import VS_COLUMNS, CopickVoxelSpacingDB
from copick_db.errors import ReadOnlyError
from copick_db.models.entity import voxel_sizes_match
from copick_db.models.meta import CopickRunMeta, CopickVoxelSpacingMeta
from copick_db.models.run import CopickRun
from copick_db.storage import paths

if TYPE_CHECKING:
    from copick_db.db.root import CopickRootDB

RUN_COLUMNS = ("id", "name", "description", "created", "modified", "read_only")


class CopickRunDB(CopickRun):
    """A run whose metadata is a catalog row; its meta model is built only when asked for."""

    root: CopickRootDB
    _row_id: int | None = None
    _row: Row | None = None
    _meta: CopickRunMeta | None = None

    @classmethod
    def from_row(cls, root: CopickRootDB, row: Row) -> CopickRunDB:
        """Build a run from a ``run`` row (columns :data:`RUN_COLUMNS`) without validating a meta model."""
        run = cls(root, None, read_only=bool(row.read_only))  # type: ignore[arg-type]
        run._row = row
        run._row_id = row.id
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

    @property
    def name(self) -> str:
        """The run name."""
        return self._meta.name if self._meta is not None else self._row.name  # type: ignore[union-attr]

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
        key = paths.voxel_key(voxel_size)
        rows = self.root.catalog.rows(
            VoxelSpacingRow, {"run_id": self._row_id, "voxel_key": (key - 1, key, key + 1)}, columns=VS_COLUMNS
        )
        # The key narrows the search through the index; the tolerance decides between neighbours.
        for row in sorted(rows, key=lambda r: abs(r.voxel_size - voxel_size)):
            if voxel_sizes_match(row.voxel_size, voxel_size):
                return CopickVoxelSpacingDB.from_row(self, row)
        return None

    def _create_child(self, entity: Any) -> None:
        if isinstance(entity, CopickVoxelSpacingDB):
            meta = entity.meta
            stamp = now()
            entity._row_id = self.root.catalog.insert(
                VoxelSpacingRow,
                {
                    "run_id": self._row_id,
                    "voxel_size": meta.voxel_size,
                    "voxel_key": paths.voxel_key(meta.voxel_size),
                    "created": to_timestamp(meta.created, stamp),
                    "modified": to_timestamp(meta.modified, stamp),
                },
            )
            return
        raise TypeError(f"Runs cannot hold {type(entity).__name__}")

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
            catalog.delete(RunRow, self._row_id, conn=conn)
        run_dir = paths.run_dir(self.name)
        bulk.remove_data(root / run_dir for root in self.root.data.writable())
        self.root._forget_run(self)

