"""Where bulk data lives: the catalog's data roots, each opened as a data store."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copick_db.errors import ReadOnlyError
from copick_db.storage.store import DataStore, open_data_store

#: Data named either by where it is (a path) or by (data root id, key), as catalog rows record it.
Target = Path | tuple[int, str]


@dataclass
class DataRoots:
    """The data roots of an open catalog, and the data store of each.

    Attributes:
        directories: Root id → absolute directory.
        default_id: The root new bulk data is written under.
        read_only: Ids of roots that are never written (a copick ``static_root``).
    """

    directories: dict[int, Path]
    default_id: int
    read_only: set[int] = field(default_factory=set)
    _stores: dict[int, DataStore] = field(default_factory=dict, init=False, repr=False, compare=False)

    def store(self, root_id: int) -> DataStore:
        """The data store of root ``root_id`` (made once; read-only for a read-only root).

        Raises:
            KeyError: No such root.
        """
        store = self._stores.get(root_id)
        if store is None:
            store = open_data_store(self.directories[root_id], read_only=root_id in self.read_only)
            self._stores[root_id] = store
        return store

    @property
    def default_store(self) -> DataStore:
        """The store new bulk data is written to."""
        return self.store(self.default_id)

    def add(self, root_id: int, directory: Path, *, read_only: bool = False) -> None:
        """Register a data root (e.g. the static root a first import adds)."""
        self.directories[root_id] = directory
        if read_only:
            self.read_only.add(root_id)
        else:
            self.read_only.discard(root_id)
        self._stores.pop(root_id, None)

    def resolve(self, root_id: int, relative: str) -> Path:
        """The absolute path of ``relative`` under root ``root_id`` (never outside it)."""
        return self.store(root_id).locate(relative)

    def writable_ids(self) -> list[int]:
        """Ids of the roots that may be written to."""
        return [i for i in self.directories if i not in self.read_only]

    def places(self, target: Target) -> list[tuple[int, str]]:
        """Every (root id, key) naming ``target``: one per data root the location lies in (roots may nest).

        Args:
            target: An absolute path, or a (root id, key) pair as a catalog row records it.
        """
        location: Any = target if isinstance(target, (str, os.PathLike)) else self.resolve(*target)
        found = []
        for root_id in self.directories:
            key = self.store(root_id).key_of(location)
            if key is not None:
                found.append((root_id, key))
        return found

    def check_default_writable(self) -> None:
        """Raise when the default root cannot take new data."""
        if self.default_id in self.read_only:
            raise ReadOnlyError(f"The default data root {self.directories[self.default_id]} is read-only.")


def stored_root_path(directory: Path, catalog_dir: Path | None) -> str:
    """How a data root is recorded: relative to the catalog's directory when below it (so the folder can move)."""
    directory = Path(os.path.normpath(directory.absolute()))
    if catalog_dir is not None:
        base = Path(os.path.normpath(catalog_dir.absolute()))
        # Only a root inside the catalog's folder moves with it; one elsewhere stays where it is, so it is absolute.
        if directory.is_relative_to(base):
            return directory.relative_to(base).as_posix()
    return str(directory)


def resolve_root_path(stored: str, catalog_dir: Path | None) -> Path:
    """The directory a recorded data-root path denotes."""
    path = Path(stored)
    if not path.is_absolute() and catalog_dir is not None:
        path = catalog_dir / path
    return Path(os.path.normpath(path.absolute()))
