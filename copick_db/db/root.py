"""CopickRootDB: the project root backed by a catalog."""

from __future__ import annotations

import json
import os
from collections import namedtuple
from operator import attrgetter
from pathlib import Path
from typing import Any

from copick_db.catalog import filament_codec, point_codec, queries
from copick_db.catalog.catalog import Catalog
from copick_db.catalog.queries import RUN_FIELDS, VS_FIELDS
from copick_db.catalog.tables import FilamentsRow, MeshRow, PickableObjectRow, PicksRow, RunRow, SegmentationRow
from copick_db.db.annotations import (
    MESH_COLUMNS,
    PICKS_COLUMNS,
    SEGMENTATION_COLUMNS,
    CopickMeshDB,
    CopickPicksDB,
    CopickSegmentationDB,
)
from copick_db.db.data_roots import DataRoots
from copick_db.db.filaments import FILAMENTS_COLUMNS, CopickFilamentsDB
from copick_db.db.gc_pause import gc_paused
from copick_db.db.object import CopickObjectDB, object_values
from copick_db.db.run import OWNED_ORDER, RUN_COLUMNS, SEGMENTATION_ORDER, CopickRunDB, owned_where, segmentation_where
from copick_db.db.timestamps import now, to_datetime, to_timestamp
from copick_db.db.tomogram import TOMOGRAM_COLUMNS, CopickTomogramDB
from copick_db.db.voxel_spacing import CopickVoxelSpacingDB
from copick_db.models.entity import as_filter, matches_voxel_size, run_names
from copick_db.models.meta import CopickRunMeta
from copick_db.models.root import CopickRoot
from copick_db.models.run import segmentation_filters
from copick_db.models.values import CopickConfig, PickableObject
from copick_db.storage import paths

_RunRecord = namedtuple("_RunRecord", RUN_FIELDS)
_run_fields = attrgetter(*(f"run__{f}" for f in RUN_FIELDS))
_VsRecord = namedtuple("_VsRecord", VS_FIELDS)


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

    #: The ``data_root`` given to :func:`copick_db.open`, if any: a pickled root reopens with it.
    _data_root_override: str | None = None

    def __reduce__(self) -> tuple[Any, tuple]:
        """Pickle as the arguments that reopen this catalog: process pools (copick's ``map_runs``) send roots.

        The copy is a new root on the same catalog, as the same user and session, read-only or not; no cache, open
        connection or entity object travels with it.
        """
        where = str(self.catalog.path.absolute()) if self.catalog.path is not None else self.catalog.url
        args = (where, self.config.user_id, self.config.session_id, self._read_only, self._data_root_override)
        return _reopen, args

    def reconnect(self) -> None:
        """Reopen the catalog connection and drop every cache (copick 1.31's ``reconnect``).

        Use it after the catalog was replaced or restored on disk, or when a connection went stale; entity objects
        handed out before are no longer this root's (get them again).
        """
        self.catalog.close()
        self.catalog = Catalog.open(self.catalog.url, read_only=self.catalog.read_only)
        self.refresh()

    # -- runs -------------------------------------------------------------------------------------------------

    def query(self) -> list[CopickRunDB]:
        """Every run, sorted by name, in one query."""
        with gc_paused():
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

    # -- ML splits --------------------------------------------------------------------------------------------

    @property
    def splits(self) -> dict[str, list[str]]:
        """``{split: [run names, sorted]}`` for the runs that have a split, in one indexed query."""
        with self.catalog.reading() as conn:
            return queries.run_splits(conn)

    def get_runs_in_split(self, split: str) -> list[CopickRunDB]:
        """The runs assigned to ``split``, sorted by name, in one indexed query."""
        rows = self.catalog.rows(RunRow, {"split": split}, columns=RUN_COLUMNS, order_by=("name",))
        return self._run_index.share_all(CopickRunDB.from_row(self, row) for row in rows)

    def _store_splits(self, assignments: dict[str, str | None], clear_existing: bool) -> None:
        with self.catalog.writing() as conn:
            stamp = now()
            if clear_existing:
                queries.clear_run_splits(conn, stamp)
            missing = queries.set_run_splits(conn, assignments, stamp)
            if missing:  # raising inside the transaction rolls every change back
                shown = ", ".join(repr(n) for n in missing[:10]) + (" ..." if len(missing) > 10 else "")
                raise ValueError(f"No such run(s): {shown}; create them first or drop them from the splits.")
        for run in self._run_index.by_key.values():  # the objects handed out show the new splits at once
            if run.name in assignments:
                run._split = assignments[run.name]
            elif clear_existing:
                run._split = None

    # -- objects ----------------------------------------------------------------------------------------------

    def _object_factory(self) -> tuple[type[CopickObjectDB], type[PickableObject]]:
        return CopickObjectDB, PickableObject

    def query_objects(self) -> list[CopickObjectDB]:
        """The pickable objects, in the order they were added, read from the catalog."""
        rows = self.catalog.rows(PickableObjectRow, order_by=("position",))
        objects = [CopickObjectDB.from_row(self, row) for row in rows]
        stored = {o.name for o in objects}
        # Objects appended to the config by hand stay listed there, to be stored on first use (see get_object).
        appended = [m for m in self.config.pickable_objects if getattr(m, "name", None) not in stored]
        self.config.pickable_objects = [o.meta for o in objects] + appended
        return objects

    def _create_object(self, obj: CopickObjectDB) -> None:
        position = self.catalog.count(PickableObjectRow)
        obj._row_id = self.catalog.insert(PickableObjectRow, {**object_values(obj.meta), "position": position})

    def _update_object(self, obj: CopickObjectDB) -> None:
        self.catalog.update(PickableObjectRow, obj._row_id, object_values(obj.meta))

    # -- across runs: one query each --------------------------------------------------------------------------

    def _run_binder(self) -> Any:
        """A function giving the run object of a cross-run row: the one this root handed out, or a new recorded one."""
        known = self._run_index.by_key

        def run_for(row: Any) -> CopickRunDB:
            run = known.get(row.run__name)
            if run is None:
                run = known[row.run__name] = CopickRunDB.from_row(self, _RunRecord(*_run_fields(row)))
            return run

        return run_for

    def _across_runs(
        self,
        table: type,
        where: dict,
        columns: tuple,
        factory: Any,
        children: str,
        runs: Any,
        order_by: tuple,
        keep: Any = None,
        preloaded: bool = False,
        split: Any = None,
    ) -> list:
        """Rows of an annotation table across runs in one indexed query, as entities bound to their runs.

        Each entity is its run's one object for it (``children`` names the run's record), so a cross-run result
        holds the objects that ``run.get_*`` returns; with ``preloaded``, the rows carry the entities' data, which
        objects handed out earlier take over when they have none loaded.
        """
        with gc_paused(), self.catalog.reading() as conn:
            rows = queries.across_runs(
                conn,
                table,
                where,
                columns=columns,
                run_names=run_names(runs),
                splits=as_filter(split),
                order_by=order_by,
            )
        run_for = self._run_binder()
        with gc_paused():
            result = []
            for row in rows:
                if keep is None or keep(row):
                    run = run_for(row)
                    fresh = factory(run, row)
                    entity = getattr(run, children).share(fresh)
                    if entity is not fresh and preloaded:
                        entity._adopt_preloaded(fresh)
                    result.append(entity)
            return result

    def _owned_across_runs(
        self,
        table: type,
        columns: tuple,
        factory: Any,
        children: str,
        object_name: Any,
        user_id: Any,
        session_id: Any,
        runs: Any,
        split: Any,
        preloaded: bool = False,
    ) -> list:
        where = owned_where(None, as_filter(object_name), as_filter(user_id), as_filter(session_id))
        return self._across_runs(
            table, where, columns, factory, children, runs, OWNED_ORDER, preloaded=preloaded, split=split
        )

    def get_picks(
        self,
        object_name: Any = None,
        user_id: Any = None,
        session_id: Any = None,
        *,
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickPicksDB]:
        """Pick sets across runs, points included, in one indexed query; each is bound to its run.

        Args:
            object_name: Object name(s).
            user_id: User id(s).
            session_id: Session id(s).
            runs: Only these runs (names or run objects); every run when None.
            split: Only runs in this ML split (or these splits); every run when None.
        """
        columns = PICKS_COLUMNS + point_codec.POINT_COLUMNS
        return self._owned_across_runs(
            PicksRow,
            columns,
            CopickPicksDB.from_row,
            "_picks_index",
            object_name,
            user_id,
            session_id,
            runs,
            split,
            preloaded=True,
        )

    def get_meshes(
        self,
        object_name: Any = None,
        user_id: Any = None,
        session_id: Any = None,
        *,
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickMeshDB]:
        """Meshes across runs in one indexed query; each is bound to its run (arguments as for get_picks)."""
        return self._owned_across_runs(
            MeshRow, MESH_COLUMNS, CopickMeshDB.from_row, "_mesh_index", object_name, user_id, session_id, runs, split
        )

    def get_filaments(
        self,
        object_name: Any = None,
        user_id: Any = None,
        session_id: Any = None,
        *,
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickFilamentsDB]:
        """Filament sets across runs, polylines included, in one query; each is bound to its run (as get_picks)."""
        columns = FILAMENTS_COLUMNS + filament_codec.DATA_COLUMNS
        factory = CopickFilamentsDB.from_row
        return self._owned_across_runs(
            FilamentsRow,
            columns,
            factory,
            "_filament_index",
            object_name,
            user_id,
            session_id,
            runs,
            split,
            preloaded=True,
        )

    def get_segmentations(
        self,
        user_id: Any = None,
        session_id: Any = None,
        is_multilabel: bool | None = None,
        name: Any = None,
        voxel_size: Any = None,
        *,
        is_instance: bool | None = False,
        is_panoptic: bool | None = False,
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickSegmentationDB]:
        """Segmentations across runs in one indexed query; each is bound to its run.

        Binary and multilabel segmentations by default, as per run; ``is_instance=None, is_panoptic=None`` selects
        every type.
        """
        filters = segmentation_filters(user_id, session_id, is_multilabel, name, voxel_size, is_instance, is_panoptic)
        where, voxel_sizes = segmentation_where(filters)
        return self._across_runs(
            SegmentationRow,
            where,
            SEGMENTATION_COLUMNS,
            CopickSegmentationDB.from_row,
            "_segmentation_index",
            runs,
            SEGMENTATION_ORDER,
            keep=lambda row: matches_voxel_size(row.voxel_size, voxel_sizes),
            split=split,
        )

    def get_tomograms(
        self, tomo_type: Any = None, voxel_size: Any = None, *, runs: Any = None, split: Any = None
    ) -> list[CopickTomogramDB]:
        """Tomograms across runs in one indexed query; each is bound to its voxel spacing and run."""
        types, sizes = as_filter(tomo_type), as_filter(voxel_size)
        where = {} if types is None else {"tomo_type": types}
        keys = None if sizes is None else paths.candidate_voxel_keys(sizes)
        with self.catalog.reading() as conn:
            rows = queries.tomograms_across_runs(
                conn, where, keys, columns=TOMOGRAM_COLUMNS, run_names=run_names(runs), splits=as_filter(split)
            )
        run_for = self._run_binder()
        spacings: dict[int, CopickVoxelSpacingDB] = {}
        result = []
        for row in rows:
            if not matches_voxel_size(row.vs__voxel_size, sizes):
                continue
            vs = spacings.get(row.vs__id)
            if vs is None:
                run = run_for(row)
                record = _VsRecord(*(getattr(row, f"vs__{f}") for f in VS_FIELDS))
                vs = spacings[row.vs__id] = run._voxel_spacing_index.share(CopickVoxelSpacingDB.from_row(run, record))
            result.append(vs._tomogram_index.share(CopickTomogramDB.from_row(vs, row)))
        return result

    def stats(self) -> dict[str, Any]:
        """Counts per entity kind, points, and pick sets per object and per user, from the catalog alone."""
        with self.catalog.reading() as conn:
            counts = queries.stats(conn)
            filaments = queries.filament_stats(conn)
        per_kind = {k: v for k, v in counts.items() if not k.startswith("picks_per_")}
        per_group = {k: v for k, v in counts.items() if k.startswith("picks_per_")}
        return {**per_kind, **filaments, **per_group}

    def save_config(self, config_path: str) -> None:
        """Write a copick_db pointer config (JSON) that :func:`copick_db.from_file` opens.

        A catalog file is named relative to the config's directory, so the two can move together.

        Args:
            config_path: Where to write the JSON file.
        """
        catalog: str = self.catalog.url
        if self.catalog.path is not None:
            catalog = os.path.relpath(self.catalog.path, Path(config_path).absolute().parent)
        payload: dict[str, Any] = {
            "config_type": "copick_db",
            "catalog": catalog,
            **self.config.model_dump(exclude={"pickable_objects"}, exclude_none=True),
        }
        with open(config_path, "w") as fh:
            json.dump(payload, fh, indent=4)

    def refresh(self) -> None:
        """Forget cached runs and objects; the next access queries the catalog again."""
        super().refresh()
        self._objects = self.query_objects()  # also re-syncs config.pickable_objects


def _reopen(
    catalog: str, user_id: str | None, session_id: str | None, read_only: bool, data_root: str | None
) -> CopickRootDB:
    """Unpickle a root: open its catalog again (see :meth:`CopickRootDB.__reduce__`)."""
    from copick_db.db.project import open as open_catalog  # project imports this module

    return open_catalog(catalog, user_id=user_id, session_id=session_id, read_only=read_only, data_root=data_root)
