"""Where bulk data lives: the catalog's data roots, resolved to directories on this machine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from copick_db.errors import ReadOnlyError
from copick_db.storage import paths


@dataclass
class DataRoots:
    """The data roots of an open catalog.

    Attributes:
        directories: Root id → absolute directory.
        read_only: Ids of roots that are never written (a copick ``static_root``).
        default_id: The root new bulk data is written under.
    """

    directories: dict[int, Path]
    default_id: int
    read_only: set[int] = field(default_factory=set)

    def resolve(self, root_id: int, relative: str) -> Path:
        """The absolute path of ``relative`` under root ``root_id`` (never outside it)."""
        return paths.resolve(self.directories[root_id], relative)

    def writable(self) -> list[Path]:
        """Directories that may be written to."""
        return [d for i, d in self.directories.items() if i not in self.read_only]

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
