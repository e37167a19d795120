"""CopickFilamentsDB: a filament set whose polylines are stored in its catalog row (no bulk data)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from copick_db.catalog import filament_codec
from copick_db.catalog.catalog import Record
from copick_db.catalog.tables import FilamentsRow
from copick_db.db.timestamps import now, to_datetime
from copick_db.models.filaments import CopickFilaments, CopickFilamentsFile, FilamentArrays
from copick_db.storage import paths

if TYPE_CHECKING:
    from copick_db.db.run import CopickRunDB

FILAMENTS_COLUMNS = (
    "id", "object_name", "user_id", "session_id", "voxel_spacing", "unit", "version", "created", "modified",
    "read_only",
)  # fmt: skip


class CopickFilamentsDB(CopickFilaments):
    """A filament set whose polylines live in its catalog row; they are read when first used."""

    run: CopickRunDB
    _row_id: int | None = None

    @classmethod
    def from_row(cls, run: CopickRunDB, row: Record) -> CopickFilamentsDB:
        """Build a set from a ``filaments`` row (:data:`FILAMENTS_COLUMNS`, plus the data columns if preloaded)."""
        meta = CopickFilamentsFile.model_construct(
            pickable_object_name=row.object_name,
            user_id=row.user_id,
            session_id=row.session_id,
            run_name=run.name,
            voxel_spacing=row.voxel_spacing,
            unit=row.unit,
            version=row.version,
            filaments=[],
            created=to_datetime(row.created),
            modified=to_datetime(row.modified),
        )
        filaments = cls(run, meta, read_only=bool(row.read_only))
        filaments._row_id = row.id
        if "points" in row._fields:
            filaments._arrays = filament_codec.decode(row)
        return filaments

    @property
    def path(self) -> Path:
        """Where copick's layout keeps this filament set's JSON file, under the project's default data root.

        The polylines themselves live in the catalog; export writes the file there, so copick tools find it.
        """
        key = paths.filaments_path(self.run.name, self.user_id, self.session_id, self.pickable_object_name)
        return self.run.root.data.default_store.locate(key)

    @property
    def _catalog(self) -> Any:
        return self.run.root.catalog

    def _load_arrays(self) -> FilamentArrays:
        rows = self._catalog.rows(FilamentsRow, {"id": self._row_id}, columns=filament_codec.DATA_COLUMNS)
        if not rows:
            raise FileNotFoundError(f"{self!r} no longer exists in the catalog; it was deleted.")
        return filament_codec.decode(rows[0])

    def _store_arrays(self, arrays: FilamentArrays) -> None:
        meta = self.meta
        values = {
            **filament_codec.encode(arrays),
            "voxel_spacing": meta.voxel_spacing,
            "unit": meta.unit,
            "version": meta.version,
            "modified": now(),
        }
        self._catalog.update(FilamentsRow, self._row_id, values)

    def delete(self) -> None:
        """Delete the set.

        Raises:
            PermissionError: The set is read-only.
        """
        self._check_writable("delete filaments")
        self._catalog.delete(FilamentsRow, self._row_id)
        self.run._forget(self)
