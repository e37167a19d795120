"""Writing and deleting bulk data so that the catalog and the data never disagree.

Design invariants:
- Every byte goes through the data store of its root (:mod:`copick_db.storage.store`, whose docstring states how
  each store kind keeps these promises: renames on a local disk, fresh keys and a pointer switch on object stores).
- New data is written at a staging key of the store (on a local disk: a hidden temporary sibling of its final path),
  outside any transaction, so slow array writes never hold the catalog's write lock.
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

if TYPE_CHECKING:
    from copick_db.db.data_roots import DataRoots, Target
    from copick_db.storage.store import DataStore, Swap

T = TypeVar("T")

#: errno values that mean "the disk (or the user's quota) is full".
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def write_then_commit(
    catalog: Catalog, store: DataStore, key: str, write: Callable[[str], None], change: Callable[[Transaction], T]
) -> T:
    """Write data for ``key`` with ``write(staging)``, then apply ``change`` and publish the data, atomically.

    Args:
        catalog: The catalog to change.
        store: The data store the data goes to.
        key: The data's key in the store (a file or a volume).
        write: Writes the complete data at the staging key it is given (with ``store.write_volume`` or
            ``store.write_mesh``).
        change: Inserts or updates the row that references ``key``; runs inside the write transaction.

    Returns:
        What ``change`` returned.

    Raises:
        OSError: Writing the data failed (a full disk says so and names the path); nothing was changed.
    """
    staging = store.stage(key)
    try:
        try:
            write(staging)
        except OSError as exc:
            raise explain_os_error(exc, Path(store.locate(key))) from exc
        crash_point("write.staged")
        swap: Swap | None = None
        try:
            with catalog.writing() as conn:
                result = change(conn)
                crash_point("write.changed")
                swap = store.swap_in(staging, key)
                crash_point("write.swapped")
        except BaseException:
            if swap is not None:
                _undo(swap)
            raise
        crash_point("write.committed")
        swap.settle()
        return result
    finally:
        store.discard(staging)


def _undo(swap: Swap) -> None:
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


def remove_released(catalog: Catalog, data: DataRoots, targets: Iterable[Target]) -> list[Target]:
    """Remove data whose rows were deleted (and committed), unless a row has claimed it again meanwhile.

    Under the write lock, each target that no written row references (neither the key itself nor, for a directory,
    anything below it) is taken off its key by its data store (on a local disk: renamed to a hidden trash sibling);
    the trash is removed after the lock is released. A target that a row references again (another process
    re-created the entity and wrote its data) is kept.

    Args:
        catalog: The catalog whose rows were deleted.
        data: Its data roots.
        targets: The released data (files, stores, or run / voxel-spacing directories), as (data root id, key) pairs
            or absolute paths.

    Returns:
        The targets that were kept: a row references them again, they lie in a read-only data root, or in none.
    """
    pending = list(targets)
    if not pending:
        return []
    kept: list[Target] = []
    trashed: list[tuple[DataStore, str]] = []
    with catalog.writing() as conn:
        for target in pending:
            places = data.places(target)
            if not places or _in_read_only_root(data, places) or inventory.referenced(conn, places):
                kept.append(target)
                continue
            store = data.store(places[0][0])
            trash = store.move_to_trash(places[0][1])
            if trash is not None:
                trashed.append((store, trash))
    crash_point("remove.released")
    for store, trash in trashed:
        store.discard(trash)
    return kept


def _in_read_only_root(data: DataRoots, places: list[tuple[int, str]]) -> bool:
    """Whether data lies in a read-only data root (a copick static root: never deleted from)."""
    return any(root_id in data.read_only for root_id, _ in places)
