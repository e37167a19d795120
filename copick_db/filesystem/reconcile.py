"""Reconciling scanned sources with the catalog: what to add, re-read, leave alone, or report as removed.

Each source is looked up by ``(root id, path)`` in the ``import_source`` table and each entity by its identity:

- tracked, entity present, same signature: **unchanged** (nothing is read);
- tracked, signature changed: re-read, row **updated**;
- not tracked, no entity with its identity: read, row **added**;
- not tracked, but the entity exists and is backed by another source (its static copy became shadowed, or the
  overlay copy disappeared) or is a copick_db row at this very path: **updated** and re-attached to this source;
- not tracked, and a copick_db-made entity holds the identity elsewhere: **skipped** (neither overwrites the other).

Sources that were tracked but not seen again are **removed**: reported, and with ``prune`` their rows are deleted
(a run or voxel spacing only when nothing else is left in it). A tracked source whose entity was deleted through
copick_db is imported again: after an import, every valid file of the project has its row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copick_db.catalog.batch import BatchWriter, RowRefusedError
from copick_db.catalog.catalog import Catalog
from copick_db.catalog.tables import (
    CatalogTable,
    FeaturesRow,
    FilamentsRow,
    ImportSource,
    MeshRow,
    PickableObjectRow,
    PicksRow,
    RunRow,
    SegmentationRow,
    TomogramRow,
    VoxelSpacingRow,
)
from copick_db.filesystem.content import (
    filaments_values,
    mesh_values,
    picks_values,
    store_values,
    tomogram_values,
)
from copick_db.filesystem.report import ImportReport, ReportItem
from copick_db.filesystem.scan import RunScan, Source, VoxelSpacingScan
from copick_db.filesystem.stores import StoreInfo, inspect_store
from copick_db.storage.paths import SourceError

__all__ = ["SOURCE_COLUMNS", "Reconciler", "load_sources"]

SOURCE_COLUMNS = ("id", "root_id", "path", "kind", "entity_id", "size", "mtime_ns")
TABLES: dict[str, type[CatalogTable]] = {
    "run": RunRow,
    "voxel_spacing": VoxelSpacingRow,
    "tomogram": TomogramRow,
    "features": FeaturesRow,
    "picks": PicksRow,
    "mesh": MeshRow,
    "filaments": FilamentsRow,
    "segmentation": SegmentationRow,
    "object_map": PickableObjectRow,
}
REPORT_KINDS = {
    "run": "runs",
    "voxel_spacing": "voxel_spacings",
    "tomogram": "tomograms",
    "features": "features",
    "picks": "picks",
    "mesh": "meshes",
    "filaments": "filaments",
    "segmentation": "segmentations",
    "object_map": "object_maps",
}
#: Removed sources are handled leaves first, so that a container is pruned only once it is empty.
_REMOVAL_ORDER = (
    "features", "tomogram", "segmentation", "mesh", "picks", "filaments", "object_map", "voxel_spacing", "run"
)  # fmt: skip
_CHILDREN: dict[str, tuple[tuple[type[CatalogTable], str], ...]] = {
    "run": tuple((table, "run_id") for table in (VoxelSpacingRow, PicksRow, MeshRow, FilamentsRow, SegmentationRow)),
    "voxel_spacing": ((TomogramRow, "voxel_spacing_id"),),
}


def load_sources(catalog: Catalog) -> dict[tuple[int, str], Any]:
    """Every tracked source, by ``(root id, path)``."""
    return {(r.root_id, r.path): r for r in catalog.rows(ImportSource, columns=SOURCE_COLUMNS)}


@dataclass
class ObjectRecord:
    """What reconciliation needs of a pickable object row."""

    id: int
    is_particle: bool
    map_root_id: int | None
    map_path: str | None


@dataclass
class _Leaf:
    kind: str
    table: type[CatalogTable]
    existing: Any
    source: Source
    identity: dict[str, Any]
    read: Callable[[Source], dict[str, Any]]


@dataclass
class _Existing:
    runs: dict
    spacings: dict
    tomograms: dict
    features: dict
    picks: dict
    meshes: dict
    filaments: dict
    segmentations: dict


class Reconciler:
    """Applies scans to the catalog, one write transaction per batch, and reports what happened.

    Args:
        catalog: The catalog.
        sources: Tracked sources (:func:`load_sources`); entries are removed as sources are seen.
        report: The report to fill.
        objects: The catalog's pickable objects by name.
        directories: Data root id → directory (for paths in the report).
    """

    def __init__(
        self,
        catalog: Catalog,
        sources: dict[tuple[int, str], Any],
        report: ImportReport,
        objects: dict[str, ObjectRecord],
        directories: dict[int, Path],
    ) -> None:
        self.catalog = catalog
        self.sources = sources
        self.report = report
        self.objects = objects
        self.directories = directories
        self._w: BatchWriter | None = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; every reconciling call must happen inside one."""
        with self.catalog.batch() as w:
            self._w = w
            try:
                yield
            finally:
                self._w = None

    @property
    def w(self) -> BatchWriter:
        if self._w is None:
            raise RuntimeError("Reconciler calls must run inside Reconciler.transaction()")
        return self._w

    # -- runs -------------------------------------------------------------------------------------------------

    def runs(self, scans: list[RunScan]) -> None:
        """Reconcile a batch of scanned runs."""
        existing = self._existing(scans)
        for scan in scans:
            self._run(scan, existing)

    def abandon(self, name: str, path: str, reason: str) -> None:
        """A run that could not be scanned: its tracked sources count as seen (not removed), and it is skipped."""
        prefix = f"ExperimentRuns/{name}"
        for key in [k for k in self.sources if k[1] == prefix or k[1].startswith(prefix + "/")]:
            del self.sources[key]
        self.report.skipped.append(ReportItem(path, reason))

    def _run(self, scan: RunScan, ex: _Existing) -> None:
        self.report.skipped.extend(ReportItem(path, reason) for path, reason in scan.skipped)
        for static, overlay in scan.shadowed:
            self.sources.pop(static.key, None)
            self.report.shadowed.append(ReportItem(str(static.absolute), f"shadowed by {overlay.absolute}"))
        run_id = ex.runs.get(scan.name)
        stamp = min(d.stamp for d in scan.dirs)
        values = {"name": scan.name, "created": stamp, "modified": stamp, "read_only": False}
        run_id = self._container("run", RunRow, run_id, values, scan.dirs, list(scan.sources()))
        if run_id is None:
            return
        for key, vs in scan.spacings.items():
            self._voxel_spacing(run_id, key, vs, ex)
        for owned, source in scan.picks.items():
            self._owned("picks", PicksRow, run_id, owned, source, ex.picks, self._picks_reader(owned))
        for owned, source in scan.meshes.items():
            self._owned("mesh", MeshRow, run_id, owned, source, ex.meshes, mesh_values)
        for owned, source in scan.filaments.items():
            self._owned("filaments", FilamentsRow, run_id, owned, source, ex.filaments, filaments_values)
        for key, source in scan.segmentations.items():
            seg = source.identity
            if seg.needs_object and seg.name not in self.objects:
                reason = (
                    "is not a pickable object of the config (binary and instance segmentations are named after one)"
                )
                self._drop(source, f"{seg.name!r} {reason}")
                continue
            identity = {
                "run_id": run_id,
                "voxel_size": seg.voxel_size,
                "voxel_key": key[0],
                "user_id": seg.user_id,
                "session_id": seg.session_id,
                "name": seg.name,
                "is_multilabel": seg.is_multilabel,
                "is_instance": seg.is_instance,
                "is_panoptic": seg.is_panoptic,
            }
            existing = ex.segmentations.get((run_id, *key))
            self._leaf(_Leaf("segmentation", SegmentationRow, existing, source, identity, store_values))

    def _voxel_spacing(self, run_id: int, key: int, vs: VoxelSpacingScan, ex: _Existing) -> None:
        stamp = min(d.stamp for d in vs.dirs)
        values = {
            "run_id": run_id,
            "voxel_size": vs.voxel_size,
            "voxel_key": key,
            "created": stamp,
            "modified": stamp,
            "read_only": False,
        }
        children = [*vs.tomograms.values(), *vs.features.values()]
        row_id = ex.spacings.get((run_id, key))
        vs_id = self._container("voxel_spacing", VoxelSpacingRow, row_id, values, vs.dirs, children)
        if vs_id is None:
            return
        tomograms: dict[str, int | None] = {}
        for tomo_type, source in vs.tomograms.items():
            identity = {"voxel_spacing_id": vs_id, "tomo_type": tomo_type}
            existing = ex.tomograms.get((vs_id, tomo_type))
            leaf = _Leaf("tomogram", TomogramRow, existing, source, identity, tomogram_values)
            tomograms[tomo_type] = self._leaf(leaf)
        for (tomo_type, feature_type), source in vs.features.items():
            tomogram_id = tomograms.get(tomo_type)
            if tomogram_id is None and (vs_id, tomo_type) in ex.tomograms:
                tomogram_id = ex.tomograms[(vs_id, tomo_type)].id
            if tomogram_id is None:
                self._drop(source, f"there is no tomogram {tomo_type!r} in this voxel spacing for these features")
                continue
            identity = {"tomogram_id": tomogram_id, "feature_type": feature_type}
            existing = ex.features.get((tomogram_id, feature_type))
            self._leaf(_Leaf("features", FeaturesRow, existing, source, identity, store_values))

    def _owned(
        self,
        kind: str,
        table: type[CatalogTable],
        run_id: int,
        owned: Any,
        source: Source,
        existing: dict,
        read: Callable[[Source], dict[str, Any]],
    ) -> None:
        if owned.object_name not in self.objects:
            self._drop(source, f"{owned.object_name!r} is not a pickable object of the config")
            return
        identity = {
            "run_id": run_id,
            "object_name": owned.object_name,
            "user_id": owned.user_id,
            "session_id": owned.session_id,
        }
        row = existing.get((run_id, owned.object_name, owned.user_id, owned.session_id))
        self._leaf(_Leaf(kind, table, row, source, identity, read))

    def _picks_reader(self, owned: Any) -> Callable[[Source], dict[str, Any]]:
        def read(source: Source) -> dict[str, Any]:
            values, content = picks_values(source)
            inside = (content.object_name, content.user_id, content.session_id)
            if inside != (owned.object_name, owned.user_id, owned.session_id):
                self.report.notes.append(
                    ReportItem(
                        str(source.absolute),
                        f"the file says object {inside[0]!r}, user {inside[1]!r}, session {inside[2]!r}; it is "
                        "imported under its file name's identity, as copick lists it",
                    )
                )
            return values

        return read

    # -- one item ---------------------------------------------------------------------------------------------

    def _container(
        self,
        kind: str,
        table: type[CatalogTable],
        row_id: int | None,
        values: dict[str, Any],
        dirs: list[Source],
        subtree: list[Source],
    ) -> int | None:
        """A run or voxel spacing row (found or inserted) with its directory sources; None if refused."""
        outcome = "unchanged"
        try:
            with self.w.item():
                if row_id is None:
                    row_id = self.w.insert(table, values)
                    outcome = "added"
                for source in dirs:
                    tracked = self.sources.pop(source.key, None)
                    if tracked is None or tracked.entity_id != row_id or tracked.kind != kind:
                        self._track(tracked, source, row_id)
        except RowRefusedError as exc:
            for source in subtree:
                self.sources.pop(source.key, None)
            self._skip(dirs[0], f"the catalog refused it ({exc}); nothing in it was imported")
            return None
        self.report.count(REPORT_KINDS[kind], outcome)
        return row_id

    def _leaf(self, leaf: _Leaf) -> int | None:
        """Reconcile one file or store with its entity row; the entity id, or None if it has none."""
        source, row, kind = leaf.source, leaf.existing, leaf.kind
        tracked = self.sources.pop(source.key, None)
        outcome = "added"
        try:
            if row is not None and tracked is not None and tracked.entity_id == row.id and tracked.kind == kind:
                if tracked.size == source.size and tracked.mtime_ns == source.mtime_ns:
                    self.report.count(REPORT_KINDS[kind], "unchanged")
                    return row.id
                values = leaf.read(source)
                with self.w.item():
                    self.w.update(leaf.table, row.id, values)
                    self.w.update(ImportSource, tracked.id, {"size": source.size, "mtime_ns": source.mtime_ns})
                outcome, row_id = "updated", row.id
            elif row is not None:
                others = [
                    s
                    for s in self.w.rows(ImportSource, {"kind": kind, "entity_id": row.id}, SOURCE_COLUMNS)
                    if (s.root_id, s.path) != source.key
                ]
                here = (getattr(row, "root_id", None), getattr(row, "path", None)) == source.key
                if not others and not here:
                    raise SourceError(
                        "the catalog already holds this entity, made with copick_db rather than imported from this "
                        "file; the file is not imported (delete one of the two to resolve it)"
                    )
                values = leaf.read(source)
                with self.w.item():
                    self.w.update(leaf.table, row.id, values)
                    for other in others:
                        self.w.delete(ImportSource, other.id)
                        self.sources.pop((other.root_id, other.path), None)
                    self._track(tracked, source, row.id)
                outcome, row_id = "updated", row.id
            else:
                values = leaf.read(source)
                with self.w.item():
                    row_id = self.w.insert(leaf.table, {**leaf.identity, **values, "created": source.stamp})
                    self._track(tracked, source, row_id)
        except SourceError as exc:
            self._skip(source, str(exc))
            return None if row is None else row.id
        except RowRefusedError as exc:
            self._skip(source, f"the catalog refused it: {exc}")
            return None if row is None else row.id
        self.report.count(REPORT_KINDS[kind], outcome)
        return row_id

    def _track(self, tracked: Any, source: Source, entity_id: int) -> None:
        values = {"kind": source.kind, "entity_id": entity_id, "size": source.size, "mtime_ns": source.mtime_ns}
        if tracked is None:
            self.w.insert(ImportSource, {"root_id": source.side.root_id, "path": source.path, **values})
        else:
            self.w.update(ImportSource, tracked.id, values)

    def _drop(self, source: Source, reason: str) -> None:
        """Skip a source that is on disk (so its tracked record is not reported as removed)."""
        self.sources.pop(source.key, None)
        self._skip(source, reason)

    def _skip(self, source: Source, reason: str) -> None:
        self.report.skipped.append(ReportItem(str(source.absolute), reason))

    # -- object density maps ----------------------------------------------------------------------------------

    def object_maps(self, found: dict[str, list[Source]]) -> None:
        """Reconcile ``Objects/<name>.zarr`` stores: per object, a store with data wins, then the overlay copy."""
        for name in sorted(found):
            candidates = found[name]
            obj = self.objects.get(name)
            if obj is None or not obj.is_particle:
                why = "is not a pickable object of the config" if obj is None else "is not a particle (no density map)"
                for source in candidates:
                    self._drop(source, f"{name!r} {why}")
                continue
            usable: list[tuple[Source, StoreInfo]] = []
            for source in candidates:
                try:
                    usable.append((source, inspect_store(source.store, source.path)))
                except SourceError as exc:
                    self._drop(source, str(exc))
            if not usable:
                continue
            best = max(range(len(usable)), key=lambda i: (usable[i][1].has_data, not usable[i][0].read_only, i))
            for i, (source, _) in enumerate(usable):
                if i != best:
                    self.sources.pop(source.key, None)
                    winner = usable[best][0].absolute
                    self.report.shadowed.append(ReportItem(str(source.absolute), f"shadowed by {winner}"))
            self._object_map(obj, *usable[best])

    def _object_map(self, obj: ObjectRecord, source: Source, info: StoreInfo) -> None:
        tracked = self.sources.pop(source.key, None)
        here = (obj.map_root_id, obj.map_path) == source.key
        same = tracked is not None and (tracked.kind, tracked.entity_id) == ("object_map", obj.id)
        if here and same and (tracked.size, tracked.mtime_ns) == (source.size, source.mtime_ns):
            self.report.count("object_maps", "unchanged")
            return
        values = {
            "map_root_id": source.side.root_id,
            "map_path": source.path,
            "map_voxel_size": info.voxel_size,
            "read_only": source.read_only,
        }
        try:
            with self.w.item():
                self.w.update(PickableObjectRow, obj.id, values)
                for other in self.w.rows(ImportSource, {"kind": "object_map", "entity_id": obj.id}, SOURCE_COLUMNS):
                    if (other.root_id, other.path) != source.key:
                        self.w.delete(ImportSource, other.id)
                        self.sources.pop((other.root_id, other.path), None)
                self._track(tracked, source, obj.id)
        except RowRefusedError as exc:
            self._skip(source, f"the catalog refused it: {exc}")
            return
        self.report.count("object_maps", "added" if obj.map_path is None else "updated")
        obj.map_root_id, obj.map_path = source.side.root_id, source.path

    # -- removed sources --------------------------------------------------------------------------------------

    def finish(self, prune: bool) -> None:
        """Report the tracked sources that were not seen; with ``prune``, delete their rows."""
        remaining = set(self.sources)
        by_kind: dict[str, list[Any]] = {}
        for record in self.sources.values():
            by_kind.setdefault(record.kind, []).append(record)
        for kind in _REMOVAL_ORDER:
            for record in sorted(by_kind.get(kind, []), key=lambda r: (r.root_id, r.path)):
                self._removed(record, remaining, prune)
        self.sources.clear()

    def _removed(self, record: Any, remaining: set[tuple[int, str]], prune: bool) -> None:
        kind, w = record.kind, self.w
        table = TABLES.get(kind)
        if table is None or not w.exists(table, record.entity_id):
            w.delete(ImportSource, record.id)  # the entity was deleted through copick_db meanwhile
            return
        if kind == "object_map":
            rows = w.rows(PickableObjectRow, {"id": record.entity_id}, ("map_root_id", "map_path"))
            if not rows or (rows[0].map_root_id, rows[0].map_path) != (record.root_id, record.path):
                w.delete(ImportSource, record.id)
                return
        if kind in _CHILDREN:
            others = w.rows(ImportSource, {"kind": kind, "entity_id": record.entity_id}, SOURCE_COLUMNS)
            if any((o.root_id, o.path) not in remaining for o in others):
                w.delete(ImportSource, record.id)  # the directory still exists on the other side
                return
        path = str(self.directories.get(record.root_id, Path("?")) / record.path)
        self.report.count(REPORT_KINDS[kind], "removed")
        if not prune:
            self.report.removed.append(ReportItem(path, "no longer on disk; its row is kept"))
            return
        with w.item():
            kept = kind in _CHILDREN and any(
                w.rows(child, {column: record.entity_id}, ("id",)) for child, column in _CHILDREN[kind]
            )
            if kind == "object_map":
                cleared = {"map_root_id": None, "map_path": None, "map_voxel_size": None, "read_only": False}
                w.update(PickableObjectRow, record.entity_id, cleared)
            elif not kept:
                w.delete(table, record.entity_id)
            w.delete(ImportSource, record.id)
        reason = "no longer on disk; row kept, it still holds entities made with copick_db" if kept else "pruned"
        self.report.removed.append(ReportItem(path, reason))

    # -- existing rows of a batch -----------------------------------------------------------------------------

    def _existing(self, scans: list[RunScan]) -> _Existing:
        w = self.w
        runs = {r.name: r.id for r in w.rows(RunRow, {"name": [s.name for s in scans]}, ("id", "name"))}
        run_ids = list(runs.values())
        spacing_rows = w.rows(VoxelSpacingRow, {"run_id": run_ids}, ("id", "run_id", "voxel_key"))
        spacings = {(r.run_id, r.voxel_key): r.id for r in spacing_rows}
        tomogram_columns = ("id", "voxel_spacing_id", "tomo_type", "root_id", "path")
        tomogram_rows = w.rows(TomogramRow, {"voxel_spacing_id": list(spacings.values())}, tomogram_columns)
        tomograms = {(r.voxel_spacing_id, r.tomo_type): r for r in tomogram_rows}
        feature_columns = ("id", "tomogram_id", "feature_type", "root_id", "path")
        feature_rows = w.rows(FeaturesRow, {"tomogram_id": [r.id for r in tomogram_rows]}, feature_columns)
        owned = ("id", "run_id", "object_name", "user_id", "session_id")
        picks = {tuple(r[1:5]): r for r in w.rows(PicksRow, {"run_id": run_ids}, owned)}
        meshes = {tuple(r[1:5]): r for r in w.rows(MeshRow, {"run_id": run_ids}, (*owned, "root_id", "path"))}
        filaments = {tuple(r[1:5]): r for r in w.rows(FilamentsRow, {"run_id": run_ids}, owned)}
        flags = ("is_multilabel", "is_instance", "is_panoptic")
        seg_columns = ("id", "run_id", "voxel_key", "user_id", "session_id", "name", *flags, "root_id", "path")
        segmentations = {
            (*r[1:6], *(bool(getattr(r, f)) for f in flags)): r
            for r in w.rows(SegmentationRow, {"run_id": run_ids}, seg_columns)
        }
        return _Existing(
            runs,
            spacings,
            tomograms,
            {(r.tomogram_id, r.feature_type): r for r in feature_rows},
            picks,
            meshes,
            filaments,
            segmentations,
        )
