"""Writing and deleting bulk data so that the catalog and the data never disagree.

Design invariants:
- New data is written under a hidden temporary sibling of its final path, outside any transaction, so slow array
  writes never hold the catalog's write lock.
- Then, inside one write transaction, the row is inserted or updated, the data renamed into place, and the
  transaction committed. The write lock serialises writers, so a rename never lands on data that another writer's
  row owns, and a row is never visible before its data.
- A failure before the commit removes the temporary and leaves the old data in place. A crash between the rename
  and the commit leaves data that no row references; ``copick-db check`` lists it and ``--fix`` removes it.
- A delete commits the row removal first and removes the data afterwards; a crash in between, again, leaves only
  unreferenced data, never a row without data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Connection

from copick_db.catalog.catalog import Catalog
from copick_db.storage import atomic

T = TypeVar("T")


def write_then_commit(
    catalog: Catalog, target: Path, write: Callable[[Path], None], change: Callable[[Connection], T]
) -> T:
    """Write data for ``target`` with ``write(tmp)``, then apply ``change`` and move the data in, atomically.

    Args:
        catalog: The catalog to change.
        target: The data's final path (file or directory).
        write: Writes the complete data at the temporary path it is given.
        change: Inserts or updates the row that references ``target``; runs inside the write transaction.

    Returns:
        What ``change`` returned.
    """
    tmp = atomic.temporary_sibling(target)
    try:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        with catalog.writing() as conn:
            result = change(conn)
            atomic.replace_path(tmp, target)
        return result
    finally:
        atomic.remove_path(tmp)


def remove_data(targets: Iterable[Path]) -> None:
    """Remove data whose rows are already gone (missing paths are fine)."""
    for target in targets:
        atomic.remove_path(target)
