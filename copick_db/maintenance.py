"""Keeping a project healthy: consistency checks between catalog and data, repairs, and schema upgrades.

Design invariants:
- ``check`` only reads. ``fix`` removes catalog rows whose data is gone (their entities cannot be read anyway) and
  temporary or trash files a crashed writer left behind; it removes unreferenced data only when asked, because in a
  project imported in place such data may be the user's own.
- ``upgrade`` copies the catalog with ``VACUUM INTO`` before migrating, and migrates in one transaction: a failed
  migration leaves the original file as it was, and the backup is there either way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from copick_db.catalog import inventory, schema
from copick_db.catalog.catalog import Catalog
from copick_db.catalog.engine import database_path, make_engine, to_url
from copick_db.db.root import CopickRootDB
from copick_db.errors import CatalogError, SchemaOutdatedError
from copick_db.storage import atomic, zarr_io

#: Data the copick layout keeps per run, relative to a run directory: (subdirectory glob, what it holds).
_RUN_DATA_GLOBS = (
    "VoxelSpacing*/*.zarr",
    "Segmentations/*.zarr",
    "InstanceSegmentations/*.zarr",
    "PanopticSegmentations/*.zarr",
    "Meshes/*.glb",
)


@dataclass
class Problem:
    """One inconsistency between catalog and data.

    Attributes:
        kind: The entity kind ("tomogram", "segmentation", ...), or "data" for unreferenced data.
        path: The data path concerned.
        reason: What is wrong, in words.
        row_id: The catalog row concerned, if any.
    """

    kind: str
    path: Path
    reason: str
    row_id: int | None = None


@dataclass
class CheckReport:
    """What :func:`check` found.

    Attributes:
        missing: Rows whose data is missing or incomplete.
        unreferenced: Data in writable data roots that no row references.
        leftovers: Temporary and trash files left by interrupted writes.
    """

    missing: list[Problem] = field(default_factory=list)
    unreferenced: list[Problem] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing at all was found."""
        return not (self.missing or self.unreferenced or self.leftovers)


@dataclass
class FixReport:
    """What :func:`fix` changed.

    Attributes:
        rows_removed: Rows deleted because their data was missing.
        leftovers_removed: Temporary files deleted.
        data_removed: Unreferenced data deleted (only with ``remove_unreferenced``).
    """

    rows_removed: list[Problem] = field(default_factory=list)
    leftovers_removed: list[Path] = field(default_factory=list)
    data_removed: list[Path] = field(default_factory=list)


def check(root: CopickRootDB) -> CheckReport:
    """Compare the catalog with the data on disk (reads only).

    Args:
        root: An open project.

    Returns:
        Rows whose data is missing or incomplete, data no row references, and leftovers of interrupted writes.
    """
    report = CheckReport()
    data = root.data
    with root.catalog.reading() as conn:
        references = inventory.data_references(conn)
    referenced: set[Path] = set()
    for ref in references:
        path = data.resolve(ref.root_id, ref.path)
        referenced.add(path)
        reason = _data_problem(ref, path)
        if reason is not None:
            report.missing.append(Problem(ref.kind, path, reason, ref.row_id))
    for directory in data.writable():
        report.leftovers.extend(atomic.find_leftovers(directory))
        for found in _layout_data(directory):
            if found not in referenced:
                report.unreferenced.append(Problem("data", found, "no catalog row references it"))
    return report


def _data_problem(ref: inventory.DataReference, path: Path) -> str | None:
    if not ref.written:
        return None  # created with new_*, no data written yet: an empty entity, not a broken one
    if not path.exists():
        return "data is missing"
    if ref.kind != "mesh" and not zarr_io.has_data(path):
        return "zarr store has no readable array"
    return None


def _layout_data(directory: Path) -> list[Path]:
    found = [p for p in (directory / "Objects").glob("*.zarr") if not atomic.is_temporary(p.name)]
    runs = directory / "ExperimentRuns"
    if runs.is_dir():
        for run_dir in runs.iterdir():
            if run_dir.is_dir() and not run_dir.name.startswith("."):
                for pattern in _RUN_DATA_GLOBS:
                    found.extend(p for p in run_dir.glob(pattern) if not atomic.is_temporary(p.name))
    return sorted(found)


def fix(root: CopickRootDB, report: CheckReport | None = None, *, remove_unreferenced: bool = False) -> FixReport:
    """Repair what :func:`check` found: delete rows whose data is gone, and leftovers of interrupted writes.

    Args:
        root: An open, writable project.
        report: A report from :func:`check` (made afresh when None).
        remove_unreferenced: Also delete data in writable roots that no row references.

    Returns:
        What was removed.

    Raises:
        PermissionError: The project is read-only.
    """
    root._check_writable("repair the project")
    report = report or check(root)
    result = FixReport()
    with root.catalog.writing() as conn:
        for problem in report.missing:
            if problem.row_id is None:
                continue
            table = inventory.table_for(problem.kind)
            if problem.kind == "object":
                values = {"map_root_id": None, "map_path": None, "map_voxel_size": None}
                root.catalog.update(table, problem.row_id, values, conn=conn)
            else:
                root.catalog.delete(table, problem.row_id, conn=conn)
            result.rows_removed.append(problem)
    for leftover in report.leftovers:
        atomic.remove_path(leftover)
        result.leftovers_removed.append(leftover)
    if remove_unreferenced:
        for problem in report.unreferenced:
            atomic.remove_path(problem.path)
            result.data_removed.append(problem.path)
    root.refresh()
    return result


@dataclass
class UpgradeReport:
    """What :func:`upgrade` did.

    Attributes:
        from_version: The schema version before.
        to_version: The schema version after.
        backup: The copy made before migrating (None when nothing needed doing).
    """

    from_version: int
    to_version: int
    backup: Path | None


def upgrade(catalog: str | os.PathLike, *, backup: bool = True) -> UpgradeReport:
    """Migrate a catalog to this release's schema, keeping a backup copy first.

    Args:
        catalog: Path or URL of the catalog.
        backup: Copy the catalog (``VACUUM INTO``) beside it before migrating.

    Returns:
        The versions before and after, and where the backup is.

    Raises:
        FileNotFoundError: There is no catalog there.
        NotACatalogError: The file is not a copick_db catalog.
        SchemaTooNewError: The catalog is newer than this copick_db.
    """
    url = to_url(catalog)
    path = database_path(url)
    try:
        Catalog.open(catalog, read_only=True).close()
        current = schema.SCHEMA_VERSION
        return UpgradeReport(current, current, None)
    except SchemaOutdatedError:
        pass
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = schema.read_version(conn, str(path or url))
        backup_path = None
        if backup and path is not None:
            backup_path = path.with_name(f"{path.stem}.v{before}-backup-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
            with engine.connect() as conn:  # VACUUM refuses to run inside a transaction: bypass SQLAlchemy's BEGIN
                conn.connection.driver_connection.execute("VACUUM INTO ?", (str(backup_path),))
        try:
            schema.upgrade(engine)
        except Exception as exc:
            where = f"; the backup is at {backup_path}" if backup_path else ""
            raise CatalogError(f"Upgrading {path or url} failed and changed nothing ({exc}){where}.") from exc
        return UpgradeReport(before, schema.SCHEMA_VERSION, backup_path)
    finally:
        engine.dispose()
