"""Keeping a project healthy: consistency checks between catalog and data, repairs, and schema upgrades.

Design invariants:
- ``check`` changes no data and removes nothing. The one thing it writes (on a writable project) is what the catalog
  records about a store's shape, a cache of the store's metadata: a tomogram's size is refreshed from level 0 when
  it is missing or differs (data written by hand through ``zarr()``). ``fix`` removes catalog rows whose data is
  gone (their entities cannot be read anyway) and temporary or trash files a crashed writer left behind; it removes
  unreferenced data only when asked, because in a project imported in place such data may be the user's own.
- Data a row references is complete when every level its OME-NGFF ``multiscales`` metadata lists (or, without
  such metadata, every array it holds, at its root or inside it) is an array whose metadata opens (a zarr store),
  or when the file is as long as its GLB header says (a mesh). Data is only ever moved into place whole, so an
  incomplete store comes from outside (a copy or an import of damaged data), never from a crash.
- An empty store is an entity without data, not a problem, unless copick_db wrote data to it: copick's ``new_*``
  and ``zarr()`` (for density maps, too) create empty stores that users fill by hand.
- Where a directory is replaced in two renames (filesystems without an atomic exchange, e.g. NFS), a crash between
  them leaves the live path missing and the previous version in a trash sibling: ``check`` reports the row with that
  sibling as ``restorable``, and ``fix`` renames it back instead of deleting the row.
- ``upgrade`` copies the catalog with ``VACUUM INTO`` before migrating, and migrates in one transaction: a failed
  migration leaves the original file as it was, and the backup is there either way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copick_db.catalog import inventory, schema
from copick_db.catalog.catalog import Catalog
from copick_db.catalog.tables import TomogramRow
from copick_db.db.data_roots import DataRoots
from copick_db.db.root import CopickRootDB
from copick_db.db.volume import dimensions_of, size_columns
from copick_db.errors import CatalogError, SchemaOutdatedError
from copick_db.storage.store import ROOT_LEVEL, DataStore


@dataclass
class Problem:
    """One inconsistency between catalog and data.

    Attributes:
        kind: The entity kind ("tomogram", "segmentation", ...), or "data" for unreferenced data.
        path: The data path concerned.
        reason: What is wrong, in words.
        row_id: The catalog row concerned, if any.
        restorable: For missing data, the trash sibling holding its last complete version, if one exists.
    """

    kind: str
    path: Path
    reason: str
    row_id: int | None = None
    restorable: Path | None = None


@dataclass
class CheckReport:
    """What :func:`check` found.

    Attributes:
        missing: Rows whose data is missing or incomplete.
        unreferenced: Data in writable data roots that no row references.
        leftovers: Temporary and trash files left by interrupted writes.
        refreshed: Rows whose recorded shape disagreed with their store (data written by hand through ``zarr()``)
            and that check brought up to date. Not problems.
        stale: The same, left as they were because the project is read-only; :func:`fix` refreshes them. Not
            problems either: reads use the store's own metadata.
    """

    missing: list[Problem] = field(default_factory=list)
    unreferenced: list[Problem] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)
    refreshed: list[Problem] = field(default_factory=list)
    stale: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found (refreshed or stale recorded shapes are not problems)."""
        return not (self.missing or self.unreferenced or self.leftovers)


@dataclass
class FixReport:
    """What :func:`fix` changed.

    Attributes:
        rows_removed: Rows deleted because their data was missing.
        leftovers_removed: Temporary files deleted.
        data_removed: Unreferenced data deleted (only with ``remove_unreferenced``).
        restored: Data put back from the trash sibling an interrupted replacement left.
        refreshed: Rows whose recorded shape was brought up to date with their store.
    """

    rows_removed: list[Problem] = field(default_factory=list)
    restored: list[Path] = field(default_factory=list)
    leftovers_removed: list[Path] = field(default_factory=list)
    data_removed: list[Path] = field(default_factory=list)
    refreshed: list[Problem] = field(default_factory=list)


@dataclass
class _Refresh:
    """A row whose recorded shape differs from its store's: the problem to report and the columns to write."""

    problem: Problem
    values: dict[str, Any]


def check(root: CopickRootDB) -> CheckReport:
    """Compare the catalog with the data on disk; bring recorded shapes up to date with the stores.

    Args:
        root: An open project. When it is writable, recorded shapes that disagree with a store (a tomogram's size
            after data was written by hand through ``zarr()``) are refreshed from the store's metadata.

    Returns:
        Rows whose data is missing or incomplete, data no row references, leftovers of interrupted writes, and
        the recorded shapes refreshed (or, on a read-only project, found stale).
    """
    report = CheckReport()
    data = root.data
    with root.catalog.reading() as conn:
        references = inventory.data_references(conn)
        imported = inventory.imported_entities(conn)
        sizes = _recorded_sizes(root, conn)
    referenced: set[Path] = set()
    refreshes: list[_Refresh] = []
    for ref in references:
        store = data.store(ref.root_id)
        path = store.locate(ref.path)
        referenced.add(path)
        reason = _data_problem(ref, store, (ref.kind, ref.row_id) in imported)
        if reason is not None:
            trash = store.restorable(ref.path)
            restorable = None if trash is None else store.locate(trash)
            if restorable is not None:
                reason += f"; its previous version is in {restorable.name}, which `check --fix` puts back"
            report.missing.append(Problem(ref.kind, path, reason, ref.row_id, restorable))
        elif ref.kind == "tomogram":
            refresh = _size_refresh(ref.row_id, store, ref.path, sizes.get(ref.row_id))
            if refresh is not None:
                refreshes.append(refresh)
    stale = [refresh.problem for refresh in refreshes]
    if stale and not (root.read_only or root.catalog.read_only):
        report.refreshed = _refresh_sizes(root, stale)
    else:
        report.stale = stale
    for root_id in data.writable_ids():
        store = data.store(root_id)
        report.leftovers.extend(store.locate(key) for key in store.leftovers())
        for key in store.layout_data():
            found = store.locate(key)
            if found not in referenced:
                report.unreferenced.append(Problem("data", found, "no catalog row references it"))
    return report


def _recorded_sizes(
    root: CopickRootDB, conn: Any, row_ids: list[int | None] | None = None
) -> dict[int, tuple[int | None, int | None, int | None]]:
    """The recorded (size_x, size_y, size_z) of every tomogram (or of ``row_ids``), by row id, in one query."""
    where = None if row_ids is None else {"id": row_ids}
    rows = root.catalog.rows(TomogramRow, where, columns=("id", "size_x", "size_y", "size_z"), conn=conn)
    return {row.id: (row.size_x, row.size_y, row.size_z) for row in rows}


def _size_refresh(row_id: int | None, store: DataStore, key: str, recorded: tuple | None) -> _Refresh | None:
    """The refresh tomogram row ``row_id`` needs when its recorded size is not its volume's level 0, or None.

    Reads only the level-0 array's metadata; a volume without data keeps whatever is recorded.
    """
    if recorded is None:
        return None
    path = store.locate(key)
    try:
        info = store.array_info(key, ROOT_LEVEL)
    except (OSError, ValueError):
        return None  # unreadable metadata is reported as a problem elsewhere, or the store is not ours to judge
    if info is None:
        return None
    actual = dimensions_of(info[0]) or (None, None, None)
    if tuple(recorded) == actual:
        return None
    said = "no size" if recorded == (None, None, None) else f"size {tuple(recorded)}"
    reason = f"the catalog recorded {said} (x, y, z); level 0 of the store is {actual}"
    return _Refresh(Problem("tomogram", path, reason, row_id), size_columns(dimensions_of(info[0])))


def _refresh_sizes(root: CopickRootDB, stale: list[Problem]) -> list[Problem]:
    """Record the size of level 0 of each stale tomogram, in one transaction; return those whose row changed.

    Row and store are measured again under the write lock, where no copick_db writer swaps a store in: a size
    measured before could belong to a store that ``from_numpy`` has replaced since (rows deleted meanwhile, and
    sizes already right, are skipped).
    """
    done = []
    with root.catalog.writing() as conn:
        recorded = _recorded_sizes(root, conn, [problem.row_id for problem in stale])
        for problem in stale:
            store, key = _place(root.data, problem.path)
            refresh = _size_refresh(problem.row_id, store, key, recorded.get(problem.row_id))  # type: ignore[arg-type]
            if refresh is not None:
                root.catalog.update(TomogramRow, problem.row_id, refresh.values, conn=conn)  # type: ignore[arg-type]
                done.append(refresh.problem)
    return done


def _data_problem(ref: inventory.DataReference, store: DataStore, imported: bool) -> str | None:
    """Why the data a row references is missing or incomplete, or None.

    Data that exists is always checked. Missing data is a problem for rows that had data: written through copick_db
    (``modified`` moved past ``created``) or imported from a file; an entity made by ``new_*`` has none yet.
    """
    if not store.exists(ref.path):
        return "data is missing" if ref.written or imported else None
    if ref.kind == "mesh":
        return store.mesh_problem(ref.path)
    if not store.has_volume_data(ref.path):
        # copick makes empty stores before it writes data: only a store written through copick_db must hold one.
        # A density map's location is recorded when zarr() hands out its (empty) store, so that is no proof.
        return "zarr store has no readable array" if ref.written and ref.kind != "object" else None
    return store.volume_problem(ref.path)


def _place(data: DataRoots, path: Path) -> tuple[DataStore, str]:
    """The data store and key of a path a report names (it lies in a data root: check found it there)."""
    root_id, key = data.places(path)[0]
    return data.store(root_id), key


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
    if report.stale:  # found by a check on a read-only root
        result.refreshed = _refresh_sizes(root, report.stale)
    data = root.data
    with root.catalog.writing() as conn:  # the write lock: no writer swaps data in meanwhile
        for problem in report.missing:
            if problem.restorable is not None:
                store, key = _place(data, problem.path)
                trash = store.key_of(problem.restorable)
                if trash is not None and store.restore(trash, key):
                    result.restored.append(problem.path)
        restored = set(result.restored)
        for problem in report.missing:
            if problem.row_id is None or problem.path in restored:
                continue
            store, key = _place(data, problem.path)
            if problem.reason.startswith("data is missing") and store.has_entry(key):
                continue  # written meanwhile by another process (or a link to data that is offline)
            table = inventory.table_for(problem.kind)
            if problem.kind == "object":
                values = {"map_root_id": None, "map_path": None, "map_voxel_size": None}
                root.catalog.update(table, problem.row_id, values, conn=conn)
            else:
                root.catalog.delete(table, problem.row_id, conn=conn)
            result.rows_removed.append(problem)
    for leftover in report.leftovers:
        store, key = _place(data, leftover)
        if not store.has_entry(key) or store.is_being_written(key):
            continue  # restored above, or still being written by a running process on this machine
        store.remove(key)
        result.leftovers_removed.append(leftover)
    if remove_unreferenced:
        for problem in report.unreferenced:
            store, key = _place(data, problem.path)
            store.remove(key)
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


def _backup_path(path: Path, version: int) -> Path:
    """A backup name beside the catalog that does not exist yet (two upgrades may run within one second)."""
    stem = f"{path.stem}.v{version}-backup-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = path.with_name(f"{stem}{path.suffix}"), 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{stem}-{n}{path.suffix}")
    return candidate


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
    try:
        Catalog.open(catalog, read_only=True).close()
        current = schema.SCHEMA_VERSION
        return UpgradeReport(current, current, None)
    except SchemaOutdatedError:
        pass
    db = Catalog.open(catalog, check_version=False)
    try:
        before = db.schema_version()
        backup_path = None
        if backup and db.path is not None:
            backup_path = _backup_path(db.path, before)
            try:
                db.backup(backup_path)
            except (CatalogError, OSError) as exc:
                raise CatalogError(
                    f"Could not write the backup {backup_path} before upgrading ({exc}); nothing was changed. "
                    "Free some space (or pass --no-backup) and retry."
                ) from exc
        try:
            db.migrate()
        except Exception as exc:
            where = f"; the backup is at {backup_path}" if backup_path else ""
            raise CatalogError(f"Upgrading {db.where} failed and changed nothing ({exc}){where}.") from exc
        return UpgradeReport(before, schema.SCHEMA_VERSION, backup_path)
    finally:
        db.close()
