"""CopickRootDB: the project root backed by a catalog."""

from __future__ import annotations

import json
from typing import Any

from copick_db.catalog.catalog import Catalog
from copick_db.catalog.tables import PickableObjectRow, RunRow
from copick_db.db.data_roots import DataRoots
from copick_db.db.object import CopickObjectDB, object_values
from copick_db.db.run import RUN_COLUMNS, CopickRunDB
from copick_db.db.stored import now, to_datetime, to_timestamp
from copick_db.models.meta import CopickRunMeta
from copick_db.models.root import CopickRoot
from copick_db.models.values import CopickConfig, PickableObject
from copick_db.storage import paths


class CopickRootDB(CopickRoot):
    """A CoPick project whose metadata lives in a SQLite catalog and whose arrays live in zarr stores.

    Create one with :func:`copick_db.create`, :func:`copick_db.open` or :func:`copick_db.from_file`.

    Args:
        catalog: The open catalog.
        config: The project configuration (built from the catalog).
        data: The data roots bulk data lives under.
        read_only: Refuse every write.
    """

    def __init__(self, catalog: Catalog, config: CopickConfig, data: DataRoots, *, read_only: bool = False) -> None:
        super().__init__(config)
        self.catalog = catalog
        self.data = data
        self._read_only = read_only

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.catalog.where!r}, name={self.config.name!r})"

    def __enter__(self) -> CopickRootDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the catalog's connections (the root cannot be used afterwards)."""
        self.catalog.close()

    # -- runs -------------------------------------------------------------------------------------------------

    def query(self) -> list[CopickRunDB]:
        """Every run, sorted by name, in one query."""
        rows = self.catalog.rows(RunRow, columns=RUN_COLUMNS, order_by=("name",))
        from_row = CopickRunDB.from_row
        return [from_row(self, row) for row in rows]

    def _query_run(self, name: str) -> CopickRunDB | None:
        rows = self.catalog.rows(RunRow, {"name": name}, columns=RUN_COLUMNS)
        return CopickRunDB.from_row(self, rows[0]) if rows else None

    def _run_factory(self) -> tuple[type[CopickRunDB], type[CopickRunMeta]]:
        return CopickRunDB, CopickRunMeta

    def _create_run(self, run: CopickRunDB) -> None:
        name = paths.check_component(run.meta.name, "run name")
        run.meta.created = run.meta.created or to_datetime(now())
        run.meta.modified = run.meta.modified or run.meta.created
        run._row_id = self.catalog.insert(
            RunRow,
            {
                "name": name,
                "description": run.meta.description,
                "created": to_timestamp(run.meta.created),
                "modified": to_timestamp(run.meta.modified),
            },
        )

    # -- objects ----------------------------------------------------------------------------------------------

    def _object_factory(self) -> tuple[type[CopickObjectDB], type[PickableObject]]:
        return CopickObjectDB, PickableObject

    def query_objects(self) -> list[CopickObjectDB]:
        """The pickable objects, in the order they were added, read from the catalog."""
        rows = self.catalog.rows(PickableObjectRow, order_by=("position",))
        objects = [CopickObjectDB.from_row(self, row) for row in rows]
        self.config.pickable_objects = [o.meta for o in objects]
        return objects

    def _create_object(self, obj: CopickObjectDB) -> None:
        position = self.catalog.count(PickableObjectRow)
        obj._row_id = self.catalog.insert(PickableObjectRow, {**object_values(obj.meta), "position": position})

    def _update_object(self, obj: CopickObjectDB) -> None:
        self.catalog.update(PickableObjectRow, obj._row_id, object_values(obj.meta))

    def save_config(self, config_path: str) -> None:
        """Write a copick_db pointer config (JSON) that :func:`copick_db.from_file` opens.

        Args:
            config_path: Where to write the JSON file.
        """
        payload: dict[str, Any] = {
            "config_type": "copick_db",
            "catalog": self.catalog.url,
            **self.config.model_dump(exclude={"pickable_objects"}, exclude_none=True),
        }
        with open(config_path, "w") as fh:
            json.dump(payload, fh, indent=4)

    def refresh(self) -> None:
        """Forget cached runs and objects; the next access queries the catalog again."""
        super().refresh()
        self._objects = self.query_objects()  # also re-syncs config.pickable_objects
