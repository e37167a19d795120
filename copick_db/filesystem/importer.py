"""``import_filesystem``: index a copick filesystem project in place, and keep the index in step with the disk.

The catalog's ``default`` data root is the project's overlay root, so new data written through copick_db lands in
copick's layout there, and its ``static`` root (read-only) is the static root. Zarr stores and GLB files are
referenced where they are; pick points are copied into the catalog.

Design invariants:
    - One bad item never aborts the import: it is skipped with the reason, and nothing of it is written (each item's
      rows go in one savepoint). Only a problem with the config or the catalog itself raises.
    - Runs are processed in sorted batches, one write transaction each, so memory stays bounded by a batch and an
      interrupted import keeps what it committed (the next import continues from there).
    - An unchanged project costs a directory walk and a stat per file: no file is read whose size and mtime match
      what the catalog recorded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from copick_db.catalog.batch import RowRefusedError
from copick_db.catalog.engine import database_path, to_url
from copick_db.catalog.tables import DataRoot, PickableObjectRow, Project
from copick_db.db import project
from copick_db.db.data_roots import stored_root_path
from copick_db.db.object import object_values
from copick_db.db.root import CopickRootDB
from copick_db.filesystem.config import FilesystemConfig, read_config
from copick_db.filesystem.objects import plan_objects
from copick_db.filesystem.progress import progress_bar
from copick_db.filesystem.reconcile import ObjectRecord, Reconciler, load_sources
from copick_db.filesystem.report import ImportReport, ReportItem
from copick_db.filesystem.scan import Scanner, Side
from copick_db.storage import paths

__all__ = ["STATIC_ROOT", "import_filesystem"]

#: The name of the read-only data root a copick static_root becomes.
STATIC_ROOT = "static"
#: Runs per write transaction.
BATCH_RUNS = 100


def import_filesystem(
    copick_config_path: str | os.PathLike,
    catalog: str | os.PathLike,
    *,
    data_root: str | os.PathLike | None = None,
    progress: bool = True,
    prune: bool = False,
) -> ImportReport:
    """Import a copick filesystem project into a catalog, in place; re-importing updates only what changed.

    The first import creates the catalog, whose default data root is the project's overlay root (copick_db writes
    new data there, in copick's layout) and whose ``static`` data root is the static root (never written; its
    entities are read-only). Pickable objects and project settings come from the config; duplicate labels get free
    ones (listed in the report's notes). Runs, voxel spacings, tomograms, features, picks (points copied into the
    catalog), meshes, segmentations and object density maps are indexed; zarr stores and GLB files stay where they
    are. Where an entity exists on both sides, the overlay copy is imported and the static one reported as
    shadowed. Runs and voxel spacings are never read-only (as in copick, new entities can be added to a static
    run; they go to the overlay).

    A later import of the same project stats every file, re-reads only new or changed ones, adds new entities, and
    reports sources that disappeared; with ``prune=True`` their rows are deleted.

    Args:
        copick_config_path: The copick config JSON (``config_type: "filesystem"``); copick need not be installed.
        catalog: The catalog file (or SQLAlchemy URL) to create or update.
        data_root: Use this directory as the overlay root instead of the config's ``overlay_root`` (e.g. when the
            config names a path on another machine). If the catalog records another overlay directory, it is
            updated to this one (the project moved); its sources are then found there again.
        progress: Show a progress bar (on stderr).
        prune: Delete the rows of sources that no longer exist on disk.

    Returns:
        What was added, updated, unchanged and removed per entity kind, what was skipped and why, and the time.

    Raises:
        FileNotFoundError: The config or one of its root directories does not exist.
        ValueError: The config is not a readable copick filesystem config, names a non-local root, or the existing
            catalog belongs to another project (its data roots differ and no ``data_root`` was given).

    Example:
        >>> report = copick_db.import_filesystem("copick_config.json", "project.sqlite")
        >>> print(report)
    """
    start = time.perf_counter()
    config = read_config(copick_config_path, overlay_root=data_root)
    root, created, moved_from = _open_or_create(catalog, config, relocate=data_root is not None)
    report = ImportReport(config=str(config.path), catalog=root.catalog.where, created=created, pruned=prune)
    report.notes.extend(ReportItem(subject, message) for subject, message in config.notes)
    if moved_from is not None:
        report.notes.append(
            ReportItem("data_root", f"the overlay root moved from {moved_from} to {config.overlay_root}")
        )
    try:
        sides = _sides(root, config)
        objects = _sync_settings_and_objects(root, config, report)
        scanner = Scanner(sides)
        skipped: list[tuple[str, str]] = []
        runs = scanner.runs(skipped)
        maps = scanner.object_maps(skipped)
        report.skipped.extend(ReportItem(path, reason) for path, reason in skipped)
        reconciler = Reconciler(root.catalog, load_sources(root.catalog), report, objects, root.data.directories)
        names = list(runs)
        with progress_bar(progress, "Importing runs", len(names)) as advance:
            with reconciler.transaction():
                reconciler.object_maps(maps)
            for start_index in range(0, len(names), BATCH_RUNS):
                batch = names[start_index : start_index + BATCH_RUNS]
                scans = []
                for name in batch:
                    try:
                        scans.append(scanner.scan_run(name, runs[name]))
                    except OSError as exc:
                        path = str(runs[name][-1].store.locate(paths.run_dir(name)))
                        reconciler.abandon(name, path, f"the run cannot be listed: {exc.strerror or exc}")
                with reconciler.transaction():
                    reconciler.runs(scans)
                advance(len(batch))
            with reconciler.transaction():
                reconciler.finish(prune)
    finally:
        root.close()
    report.elapsed = time.perf_counter() - start
    return report


def _open_or_create(
    catalog: str | os.PathLike, config: FilesystemConfig, *, relocate: bool
) -> tuple[CopickRootDB, bool, Path | None]:
    """The catalog's root, creating the catalog (default root = overlay root) when it does not exist.

    Returns:
        The root, whether the catalog was created, and the overlay root's former directory when ``relocate``
        (an explicit ``data_root``) moved it.
    """
    path = database_path(to_url(catalog))
    if path is None or path.exists():
        root = project.open(catalog)
        current = root.data.directories[root.data.default_id]
        if os.path.realpath(current) == os.path.realpath(config.overlay_root):
            return root, False, None
        where = root.catalog.where
        if not relocate:
            root.close()
            raise ValueError(
                f"{where} keeps its data in {current}, not in this project's overlay root {config.overlay_root}: "
                "it is another project's catalog. Import into a new catalog, or pass data_root= to record that the "
                "overlay root has moved."
            )
        catalog_dir = root.catalog.path.parent if root.catalog.path is not None else None
        stored = stored_root_path(config.overlay_root, catalog_dir)
        root.catalog.update(DataRoot, root.data.default_id, {"path": stored})
        root.close()
        return project.open(catalog), False, current
    settings = {**config.settings, "pickable_objects": []}
    root = project.create(catalog, settings, data_root=config.overlay_root)
    root.close()
    return project.open(catalog), True, None


def _sides(root: CopickRootDB, config: FilesystemConfig) -> list[Side]:
    """The project's roots as data roots of the catalog (static first); the static root is added when missing."""
    data = root.data
    overlay = Side(data.default_id, data.default_store)
    if config.static_root is None:
        return [overlay]
    rows = root.catalog.rows(DataRoot, {"name": STATIC_ROOT})
    if rows:
        static_id = rows[0].id
        if os.path.realpath(data.directories[static_id]) != os.path.realpath(config.static_root):
            raise ValueError(
                f"{root.catalog.where} has its static root at {data.directories[static_id]}, not at this project's "
                f"static_root {config.static_root}: it is another project's catalog; import into a new catalog."
            )
    else:
        catalog_dir = root.catalog.path.parent if root.catalog.path is not None else None
        values = {"name": STATIC_ROOT, "path": stored_root_path(config.static_root, catalog_dir), "read_only": True}
        static_id = root.catalog.insert(DataRoot, values)
        data.add(static_id, config.static_root, read_only=True)
    return [Side(static_id, data.store(static_id)), overlay]


def _sync_settings_and_objects(
    root: CopickRootDB, config: FilesystemConfig, report: ImportReport
) -> dict[str, ObjectRecord]:
    """Bring project settings and pickable objects in line with the config; return the objects by name."""
    catalog = root.catalog
    with catalog.batch() as w:
        current = w.rows(Project, {"id": 1}, tuple(config.settings))[0]
        changed = {k: v for k, v in config.settings.items() if getattr(current, k) != v}
        w.update(Project, 1, changed)
        rows = w.rows(PickableObjectRow, {}, tuple(c.name for c in PickableObjectRow.__table__.columns))
        defined = {e.get("name") for e in config.objects if isinstance(e, dict)}
        reserved = {r.label for r in rows if r.label is not None and r.name not in defined}
        plan = plan_objects(config.objects, reserved)
        report.notes.extend(ReportItem(subject, message) for subject, message in plan.notes)
        report.skipped.extend(ReportItem(subject, reason) for subject, reason in plan.skipped)
        by_name = {r.name: r for r in rows}
        wanted: list[tuple[Any, dict[str, Any]]] = []
        for obj in plan.objects:
            try:
                wanted.append((obj, object_values(obj)))
            except ValueError as exc:
                report.skipped.append(ReportItem(f"pickable object {obj.name!r}", str(exc)))
        updates = {}
        for obj, values in wanted:
            row = by_name.get(obj.name)
            if row is not None:
                differs = {k: v for k, v in values.items() if getattr(row, k) != v}
                if differs:
                    updates[row.id] = differs
                else:
                    report.count("objects", "unchanged")
        relabelled = [row_id for row_id, values in updates.items() if "label" in values]
        for row_id in relabelled:  # labels are UNIQUE: free the old ones before any is reused
            w.update(PickableObjectRow, row_id, {"label": None})
        for row_id, values in updates.items():
            w.update(PickableObjectRow, row_id, values)
            report.count("objects", "updated")
        position = max((r.position for r in rows), default=-1)
        for obj, values in wanted:
            if obj.name in by_name:
                continue
            position += 1
            try:
                with w.item():
                    w.insert(PickableObjectRow, {**values, "position": position})
            except RowRefusedError as exc:
                report.skipped.append(ReportItem(f"pickable object {obj.name!r}", f"the catalog refused it: {exc}"))
                continue
            report.count("objects", "added")
        columns = ("id", "name", "is_particle", "map_root_id", "map_path")
        final = w.rows(PickableObjectRow, {}, columns)
    return {r.name: ObjectRecord(r.id, bool(r.is_particle), r.map_root_id, r.map_path) for r in final}
