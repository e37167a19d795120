"""Writing and deleting bulk data so that the catalog and the data never disagree.

Design invariants:
- New data is written under a hidden temporary sibling of its final path, outside any transaction, so slow array
  writes never hold the catalog's write lock.
- Then, inside one write transaction, the row is inserted or updated, the data swapped into place, and the
  transaction committed. The write lock serialises writers, so a swap never lands on data that another writer's
  row owns, and a row is never visible before its data. The previous version is kept until the commit succeeded:
  a failed commit puts it back, so a failed write changes neither the row nor the data.
- A failure before the commit removes the temporary and leaves the old data in place. A crash between the swap and
  the commit leaves the new, complete data under the old row (or, for a new entity, data that no row references);
  ``copick-db check`` lists leftovers and unreferenced data and ``--fix`` removes them.
- A delete commits the row removal first and removes the data afterwards; a crash in between, again, leaves only
  unreferenced data, never a row without data. :func:`remove_released` moves the data away under the write lock
  and only when no written row references it again, so a delete racing with another process that re-creates the
  same entity never removes that process's new data.
"""

from __future__ import annotations

import errno
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from copick_db.catalog import inventory
from copick_db.catalog.catalog import Catalog, Transaction
from copick_db.crashpoints import crash_point
from copick_db.storage import atomic

if TYPE_CHECKING:
    from copick_db.db.data_roots import DataRoots

T = TypeVar("T")

#: errno values that mean "the disk (or the user's quota) is full".
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def write_then_commit(
    catalog: Catalog, target: Path, write: Callable[[Path], None], change: Callable[[Transaction], T]
) -> T:
    """Write data for ``target`` with ``write(tmp)``, then apply ``change`` and move the data in, atomically.

    Args:
        catalog: The catalog to change.
        target: The data's final path (file or directory).
        write: Writes the complete data at the temporary path it is given.
        change: Inserts or updates the row that references ``target``; runs inside the write transaction.

    Returns:
        What ``change`` returned.

    Raises:
        OSError: Writing the data failed (a full disk says so and names the path); nothing was changed.
    """
    tmp = atomic.temporary_sibling(target)
    try:
        try:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
        except OSError as exc:
            raise explain_os_error(exc, target) from exc
        crash_point("write.staged")
        swap: atomic.Swap | None = None
        try:
            with catalog.writing() as conn:
                result = change(conn)
                crash_point("write.changed")
                swap = atomic.swap_in(tmp, target)
                crash_point("write.swapped")
        except BaseException:
            if swap is not None:
                _undo(swap)
            raise
        crash_point("write.committed")
        swap.settle()
        return result
    finally:
        atomic.remove_path(tmp)


def _undo(swap: atomic.Swap) -> None:
    """Put the previous data back after a failed commit, without masking the commit's error."""
    try:
        swap.undo()
    except OSError as exc:
        warnings.warn(
            f"could not restore the previous data at {swap.target} after a failed commit ({exc}); "
            "run `copick-db check` on the project",
            RuntimeWarning,
            3,
        )


def explain_os_error(exc: OSError, target: Path) -> OSError:
    """The error to raise for a failed data write: a full disk gets a message that says so; others pass unchanged.

    Args:
        exc: The error the write raised.
        target: The data's final path.

    Returns:
        An ``OSError`` with the same errno.
    """
    if exc.errno in _NO_SPACE:
        what = "disk quota exceeded" if exc.errno == errno.EDQUOT else "no space left on the device"
        return OSError(
            exc.errno,
            f"Could not write {target.name}: {what} under {target.parent}. Nothing was changed; free some space "
            "and write it again",
            str(target),
        )
    return exc


def remove_released(catalog: Catalog, data: DataRoots, targets: Iterable[Path]) -> list[Path]:
    """Remove data whose rows were deleted (and committed), unless a row has claimed it again meanwhile.

    Under the write lock, each target that no written row references (neither the path itself nor, for a directory,
    anything below it) is renamed to a hidden trash sibling; the trash is deleted after the lock is released. A
    target that a row references again (another process re-created the entity and wrote its data) is kept.

    Args:
        catalog: The catalog whose rows were deleted.
        data: Its data roots (to turn paths into the catalog's relative paths).
        targets: Absolute paths of the released data (files, stores, or run / voxel-spacing directories).

    Returns:
        The targets that were kept: a row references them again, or they lie in a read-only data root.
    """
    pending = [Path(t) for t in targets]
    if not pending:
        return []
    kept: list[Path] = []
    trashed: list[Path] = []
    with catalog.writing() as conn:
        for target in pending:
            if _in_read_only_root(data, target) or _referenced(conn, data, target):
                kept.append(target)
                continue
            trash = atomic.move_to_trash(target)
            if trash is not None:
                trashed.append(trash)
    crash_point("remove.released")
    for trash in trashed:
        atomic.remove_path(trash)
    return kept


def _in_read_only_root(data: DataRoots, target: Path) -> bool:
    """Whether ``target`` lies in a read-only data root (a copick static root: never deleted from)."""
    return any(target.is_relative_to(data.directories[i]) for i in data.read_only if i in data.directories)


def _referenced(conn: Transaction, data: DataRoots, target: Path) -> bool:
    """Whether a written row references ``target`` or something below it (in any data root it lies in)."""
    locations = []
    for root_id, directory in data.directories.items():
        try:
            rel = target.relative_to(directory).as_posix()
        except ValueError:
            continue
        locations.append((root_id, rel))
    return inventory.referenced(conn, locations)
