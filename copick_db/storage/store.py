"""The data store: the one object through which copick_db reads, writes, stages, swaps, removes and lists bulk data.

A project keeps its bulk data (OME-Zarr volumes, GLB meshes) under one or more data roots; each root is a
:class:`DataStore`. The rest of copick_db never touches a volume or mesh itself: it addresses data by **key**, the
POSIX path relative to the data root that :mod:`copick_db.storage.paths` builds in copick's layout (the path a catalog
row records), and asks the store. Only ``copick_db.storage`` imports zarr, numcodecs or fsspec, reads zarr metadata
files or renames data.

Store kinds:
    - :class:`LocalStore`: a directory on a local or network filesystem (today's only kind).
    - An fsspec filesystem (S3 and the like; issue 19) will be a second subclass of :class:`DataStore` built by
      :func:`open_data_store` from a URL. Nothing outside this package changes for it; the write protocol below
      states what it must do differently.

The write protocol. :mod:`copick_db.db.bulk` drives it, and every store kind keeps its three promises: a catalog row
is never visible before its complete data; a failed or killed write leaves the previous data readable; a crash leaves
at most data that no row references, which ``copick-db check`` lists and ``--fix`` removes.

    1. :meth:`DataStore.stage` names a fresh place for the new data, and :meth:`~DataStore.write_volume` or
       :meth:`~DataStore.write_mesh` fills it, outside any catalog transaction (slow writes never hold its lock).
    2. Inside the catalog's write transaction the row is written, then :meth:`~DataStore.swap_in` publishes the data,
       then the transaction commits. If the commit fails, :meth:`Swap.undo` puts the previous data back.
    3. After the commit, :meth:`Swap.settle` releases the previous version, and :meth:`~DataStore.discard` removes
       whatever is left of the staging place.

    A delete commits the row removal first; then, under the write lock and only when no row references the key
    again, :meth:`~DataStore.move_to_trash` takes the data off its key, and :meth:`~DataStore.discard` deletes the
    trash after the lock is released.

    On a local disk (:class:`LocalStore`), the staging place is a hidden sibling of the key
    (``.{name}.tmp-{pid}-{hex}``, in the same directory so the rename never crosses a filesystem), and publishing is
    a rename: ``renameat2(RENAME_EXCHANGE)`` swaps old and new in one step where the filesystem has it, else two
    renames (old to a trash sibling, new into place), after which a crash leaves the live key missing and the last
    complete version in the trash sibling that :meth:`~DataStore.restorable` finds and ``check --fix`` puts back.
    The content at a key changes in place, so a reader compares :meth:`~DataStore.version` before and after a read
    and reads again when it changed.

    On an object store (the design for issue 19; not implemented) there is no rename, and copying thousands of
    chunk objects is not atomic, so a write never touches live keys: :meth:`~DataStore.stage` returns a fresh key
    (the entity's key with a unique version suffix), the data is written there, and publishing is a pointer switch:
    the row, changed in the same transaction, records the fresh key (``bulk.write_then_commit`` then hands the
    staged key to the row change). ``swap_in`` moves nothing; undo deletes the fresh key's objects, settle deletes
    the previous version's objects once the commit is durable. A reader holding a key reads one version, so
    ``version`` is constant; leftovers are keys with a version suffix that no row references, found by listing.
    Export writes copick's plain names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from copick_db.errors import ReadOnlyError
from copick_db.storage import atomic, glb, paths, zarr_io
from copick_db.storage.zarr_metadata import ROOT_LEVEL, MetadataError, VolumeInfo, describe, signature

__all__ = [
    "ROOT_LEVEL",
    "DataStore",
    "DirEntry",
    "LocalStore",
    "MetadataError",
    "StoreCopyError",
    "Swap",
    "VolumeCopy",
    "VolumeInfo",
    "open_data_store",
    "prepare_volume",
]


class Swap(Protocol):
    """Data published at its key; the previous version is kept until :meth:`settle` or :meth:`undo`.

    Attributes:
        target: Where the data was published (for messages).
    """

    target: Any

    def undo(self) -> None:
        """Put the previous version back (or take the new data away when there was none)."""

    def settle(self) -> None:
        """Release the previous version; the swap can no longer be undone."""


class DirEntry(Protocol):
    """An entry of a listing (:meth:`DataStore.list_dir`), as ``os.DirEntry`` has it."""

    name: str
    path: str

    def is_dir(self) -> bool:
        """Whether the entry is a directory (a symlink to one counts)."""

    def is_symlink(self) -> bool:
        """Whether the entry is a symlink."""

    def stat(self) -> os.stat_result:
        """The entry's size and times."""


class StoreCopyError(ValueError):
    """A volume cannot be copied out of a store (the message says why)."""


@dataclass(frozen=True)
class VolumeCopy:
    """What copying a volume out of a store changed on the way.

    Attributes:
        converted: The source was in zarr format 3 and was written as format 2 (which copick reads).
        rewritten: Keys (inside the store) of arrays whose flat ``.`` chunk keys became nested ``/`` keys.
        size: Bytes written.
    """

    converted: bool
    rewritten: list[str] = field(default_factory=list)
    size: int = 0


def prepare_volume(
    data: np.ndarray, *, voxel_size: float, levels: int = 3, dtype: Any = np.float32, method: str = "mean"
) -> np.ndarray:
    """Check the arguments of :meth:`DataStore.write_volume` without any I/O and return level 0 cast to ``dtype``.

    Callers validate with this before staging anything, so that bad input leaves the data root untouched.

    Raises:
        ValueError: ``data`` is not 3D or 4D or has an empty axis, ``levels`` < 1, ``method`` is unknown, the voxel
            size is not positive and finite, or a value would change when cast to ``dtype`` (the message names a
            dtype that holds it).
    """
    return zarr_io.prepare_multiscale(data, voxel_size=voxel_size, levels=levels, dtype=dtype, method=method)


class DataStore(ABC):
    """Bulk data under one data root, addressed by keys (POSIX paths relative to the root, in copick's layout).

    Every method takes keys that :mod:`copick_db.storage.paths` built or that a catalog row recorded; a key can
    never reach outside the root (``ValueError``). A read-only store (a copick ``static_root``) refuses every write
    with :class:`~copick_db.errors.ReadOnlyError`.

    Attributes:
        read_only: Whether copick_db never writes here.
    """

    read_only: bool = False

    @property
    @abstractmethod
    def location(self) -> str:
        """The root's location, as a user would name it: a directory path or a URL."""

    # -- where data is ----------------------------------------------------------------------------------------

    @abstractmethod
    def locate(self, key: str) -> Any:
        """The absolute location of ``key``: what users, copick tools and messages see (a ``Path`` on a disk).

        Raises:
            ValueError: The key is absolute, malformed or leaves the root.
        """

    @abstractmethod
    def key_of(self, location: Any) -> str | None:
        """The key of an absolute location under this root (the inverse of :meth:`locate`), or None outside it."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether data (a file or a store) is at ``key``."""

    @abstractmethod
    def has_entry(self, key: str) -> bool:
        """Whether ``key`` names anything at all, even a link to data that is not there (e.g. on a disk offline)."""

    @abstractmethod
    def size(self, key: str) -> int:
        """Bytes stored at ``key`` (a file, or every file of a store); 0 when nothing is there."""

    @abstractmethod
    def modified(self, key: str) -> float:
        """When the data at ``key`` last changed (seconds since the epoch); 0.0 when that is unknown."""

    @abstractmethod
    def list_dir(self, key: str) -> list[DirEntry]:
        """The entries directly under ``key``, sorted by name; empty when nothing or a file is there.

        Raises:
            OSError: ``key`` exists but cannot be listed.
        """

    @abstractmethod
    def layout_data(self) -> list[str]:
        """Keys of every volume and mesh in copick's layout under the root (no temporaries), sorted."""

    # -- volumes ----------------------------------------------------------------------------------------------

    @abstractmethod
    def open_array(self, key: str, level: str = ROOT_LEVEL, *, writable: bool = False) -> Any:
        """One level of a volume, to index like a numpy array (for repeated region reads).

        Raises:
            ZarrGroupNotFoundError: The volume or the level does not exist (the message lists the levels it has).
            ValueError: The level's metadata is unreadable.
        """

    @abstractmethod
    def write_region(self, key: str, data: np.ndarray, level: str = ROOT_LEVEL, selection: tuple = ()) -> None:
        """Write ``data`` into a region of an existing level, in place.

        Raises:
            ZarrGroupNotFoundError: The level does not exist.
            ValueError: ``data`` does not fit the region, or its values do not fit the level's dtype.
        """

    @abstractmethod
    def array_info(self, key: str, level: str = ROOT_LEVEL) -> tuple[tuple[int, ...], np.dtype] | None:
        """Shape and dtype of one level, from its metadata; None when the volume or the level does not exist."""

    @abstractmethod
    def volume_levels(self, key: str) -> list[str]:
        """The levels a volume can be read at, in natural order; empty without data."""

    @abstractmethod
    def has_volume_data(self, key: str) -> bool:
        """Whether a volume holds an array (copick creates empty stores before any data)."""

    @abstractmethod
    def volume_attrs(self, key: str) -> dict[str, Any]:
        """A volume's root attributes (OME-NGFF ``multiscales``…); ``{}`` without any."""

    @abstractmethod
    def volume_format(self, key: str) -> int | None:
        """The zarr format of a volume (2 or 3), or None for an empty or missing one."""

    @abstractmethod
    def describe_volume(self, key: str) -> VolumeInfo:
        """What a volume holds, from its metadata alone (format, shape of level 0, voxel size).

        Raises:
            MetadataError: Not a volume, or its metadata is unreadable or impossible.
        """

    @abstractmethod
    def volume_signature(self, key: str) -> tuple[int, int]:
        """``(size, mtime_ns)`` of a volume's metadata, which changes whenever the volume is replaced.

        Raises:
            OSError: The volume cannot be examined.
        """

    @abstractmethod
    def volume_problem(self, key: str) -> str | None:
        """Why a volume with data is incomplete (a listed level missing or unreadable), or None."""

    @abstractmethod
    def version(self, key: str) -> Hashable | None:
        """A token that changes whenever the data at ``key`` is replaced; None when nothing is there."""

    @abstractmethod
    def zarr_store(self, key: str, *, writable: bool) -> Any:
        """A zarr store object for users who write or read with zarr directly (copick's ``zarr()``).

        A writable store of a volume without data is empty and ready for any zarr 2 or 3 write.
        """

    @abstractmethod
    def make_empty_volume(self, key: str) -> None:
        """Create an empty volume (an entity without data, as copick's ``new_*`` leaves one)."""

    @abstractmethod
    def copy_volume_to(self, key: str, target: DataStore, target_key: str) -> VolumeCopy:
        """Copy a volume to another store so that copick reads it (zarr format 2, nested ``/`` chunk keys).

        Raises:
            StoreCopyError: It is not a volume, or it cannot be copied or converted (nothing is left at the target).
        """

    # -- meshes -----------------------------------------------------------------------------------------------

    @abstractmethod
    def read_mesh(self, key: str) -> Any:
        """A GLB mesh as one ``trimesh.Trimesh``.

        Raises:
            FileNotFoundError: Nothing is at ``key``.
            ValueError: It is not a readable GLB file.
        """

    @abstractmethod
    def mesh_problem(self, key: str) -> str | None:
        """Why a GLB file is incomplete or foreign (from its header), or None."""

    @abstractmethod
    def copy_file_to(self, key: str, target: DataStore, target_key: str) -> int:
        """Copy a file (a mesh) to another store as it is; returns the bytes written.

        Raises:
            FileNotFoundError: Nothing is at ``key``.
            OSError: The copy failed.
        """

    # -- the write protocol -----------------------------------------------------------------------------------

    @abstractmethod
    def stage(self, key: str) -> str:
        """A fresh staging key for new data meant for ``key`` (nothing is created yet)."""

    @abstractmethod
    def write_volume(
        self,
        staging: str,
        volume: np.ndarray,
        *,
        voxel_size: float,
        levels: int,
        dtype: Any,
        method: str,
    ) -> None:
        """Write a complete OME-NGFF multiscale pyramid at a staging key (see :func:`prepare_volume`).

        Raises:
            OSError: The write failed (e.g. the disk is full).
        """

    @abstractmethod
    def write_mesh(self, key: str, mesh: Any) -> None:
        """Write a mesh (a ``Trimesh``, a ``Scene`` or None for an empty one) as a GLB file at ``key``."""

    @abstractmethod
    def swap_in(self, staging: str, key: str) -> Swap:
        """Publish staged data at ``key``, keeping the previous version until the swap is settled or undone."""

    @abstractmethod
    def discard(self, staging: str) -> None:
        """Remove whatever is at a staging key (a missing one is fine)."""

    @abstractmethod
    def remove(self, key: str) -> bool:
        """Remove the data at ``key``, taking it off its key in one step first; returns whether anything was there."""

    @abstractmethod
    def move_to_trash(self, key: str) -> str | None:
        """Take the data at ``key`` off its key in one step; returns the trash key (for :meth:`remove`) or None."""

    @abstractmethod
    def restorable(self, key: str) -> str | None:
        """When ``key`` is missing, the trash key holding its last complete version (an interrupted replacement)."""

    @abstractmethod
    def restore(self, trash: str, key: str) -> bool:
        """Put a trashed version back at ``key`` unless something is there; returns whether it was put back."""

    @abstractmethod
    def leftovers(self, *, inside_volumes: bool = False) -> list[str]:
        """Keys of staging and trash data that interrupted writes and deletes left behind, sorted."""

    @abstractmethod
    def is_being_written(self, key: str) -> bool:
        """Whether a leftover belongs to a write still running (so it must not be removed)."""


class LocalStore(DataStore):
    """A data root that is a directory on a local or network filesystem.

    Args:
        directory: The root directory (need not exist yet).
        read_only: Refuse every write.
    """

    def __init__(self, directory: str | os.PathLike, *, read_only: bool = False) -> None:
        self.directory = Path(os.path.abspath(directory))
        self.read_only = bool(read_only)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.directory)!r}{', read_only=True' if self.read_only else ''})"

    @property
    def location(self) -> str:
        """The root directory."""
        return str(self.directory)

    def _writable(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"Cannot {action}: the data root {self.directory} is read-only (a static root).")

    # -- where data is ----------------------------------------------------------------------------------------

    def locate(self, key: str) -> Path:
        """The absolute path of ``key`` (checked lexically: never outside the root)."""
        return paths.resolve(self.directory, key)

    def key_of(self, location: Any) -> str | None:
        """The key of an absolute path under the root, or None outside it (``""`` for the root itself)."""
        path = Path(location)
        if not path.is_relative_to(self.directory):
            return None
        rel = path.relative_to(self.directory).as_posix()
        return "" if rel == "." else rel

    def exists(self, key: str) -> bool:
        """Whether a file or directory is at ``key`` (following symlinks)."""
        return self.locate(key).exists()

    def has_entry(self, key: str) -> bool:
        """Whether anything is at ``key``, a dangling symlink included."""
        return os.path.lexists(self.locate(key))

    def size(self, key: str) -> int:
        """Bytes of the file at ``key``, or of every file below it."""
        path = self.locate(key)
        if not path.is_dir():
            try:
                return path.stat().st_size
            except OSError:
                return 0
        total = 0
        for dirpath, _dirnames, filenames in os.walk(path):
            for name in filenames:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(dirpath, name)).st_size
        return total

    def modified(self, key: str) -> float:
        """The mtime of the file or directory at ``key``."""
        try:
            return os.stat(self.locate(key)).st_mtime
        except OSError:
            return 0.0

    def list_dir(self, key: str) -> list[DirEntry]:
        """``os.scandir`` of the directory at ``key``, sorted by name."""
        try:
            with os.scandir(self.locate(key)) as it:
                return sorted(it, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def layout_data(self) -> list[str]:
        """Volumes and meshes found where copick's layout keeps them (``Objects/``, and per run), as keys."""
        found = [p for p in (self.directory / paths.OBJECTS_DIR).glob("*.zarr") if not atomic.is_temporary(p.name)]
        runs = self.directory / paths.RUNS_DIR
        if runs.is_dir():
            for run_dir in runs.iterdir():
                if run_dir.is_dir() and not run_dir.name.startswith("."):
                    for pattern in paths.RUN_DATA_GLOBS:
                        found.extend(p for p in run_dir.glob(pattern) if not atomic.is_temporary(p.name))
        return [p.relative_to(self.directory).as_posix() for p in sorted(found)]

    # -- volumes ----------------------------------------------------------------------------------------------

    def open_array(self, key: str, level: str = ROOT_LEVEL, *, writable: bool = False) -> Any:
        """One level of the volume at ``key`` (a ``zarr.Array``)."""
        if writable:
            self._writable("write a volume")
        return zarr_io.open_array(self.locate(key), level, writable=writable)

    def write_region(self, key: str, data: np.ndarray, level: str = ROOT_LEVEL, selection: tuple = ()) -> None:
        """Write a region of one level in place."""
        self._writable("write a volume")
        zarr_io.write(self.locate(key), data, level, selection)

    def array_info(self, key: str, level: str = ROOT_LEVEL) -> tuple[tuple[int, ...], np.dtype] | None:
        """Shape and dtype of one level, or None."""
        return zarr_io.array_info(self.locate(key), level)

    def volume_levels(self, key: str) -> list[str]:
        """The volume's levels."""
        return zarr_io.levels(self.locate(key))

    def has_volume_data(self, key: str) -> bool:
        """Whether the volume holds an array."""
        return zarr_io.has_data(self.locate(key))

    def volume_attrs(self, key: str) -> dict[str, Any]:
        """The volume's root attributes."""
        return zarr_io.read_attrs(self.locate(key))

    def volume_format(self, key: str) -> int | None:
        """The volume's zarr format."""
        return zarr_io.store_format(self.locate(key))

    def describe_volume(self, key: str) -> VolumeInfo:
        """What the volume's metadata says."""
        return describe(self.locate(key))

    def volume_signature(self, key: str) -> tuple[int, int]:
        """Size and mtime of the volume's metadata."""
        return signature(self.locate(key))

    def volume_problem(self, key: str) -> str | None:
        """Why the volume is incomplete, or None."""
        return zarr_io.volume_problem(self.locate(key))

    def version(self, key: str) -> Hashable | None:
        """(device, inode, ctime) of the directory or file at ``key``: a swapped-in replacement changes it."""
        try:
            st = os.stat(self.locate(key))
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_ctime_ns)

    def zarr_store(self, key: str, *, writable: bool) -> Any:
        """A zarr 2 ``DirectoryStore`` or zarr 3 ``LocalStore`` on the volume's directory (created if writable)."""
        if writable:
            self._writable("write a volume")
        return zarr_io.open_store(self.locate(key), writable=writable)

    def make_empty_volume(self, key: str) -> None:
        """Create the volume's (empty) directory."""
        self._writable("create a volume")
        self.locate(key).mkdir(parents=True)

    def copy_volume_to(self, key: str, target: DataStore, target_key: str) -> VolumeCopy:
        """Copy the volume's directory; a zarr-format-3 volume is converted to format 2."""
        if not isinstance(target, LocalStore):  # pragma: no cover - one store kind so far
            raise NotImplementedError(f"copying from {self!r} to {target!r} is not supported yet")
        target._writable("copy a volume")
        source, dest = self.locate(key), target.locate(target_key)
        if not source.is_dir():
            raise StoreCopyError("not a directory (zarr stores are directories)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        converted = zarr_io.store_format(source) == 3
        try:
            if converted:  # written by hand with zarr 3 (its default format); copick reads only format 2
                zarr_io.copy_store_as_format2(source, dest)
                rewritten: list[str] = []
            else:
                rewritten = zarr_io.copy_store_nested(source, dest)
        except (OSError, ValueError) as exc:
            atomic.remove_path(dest)
            how = "a zarr-v3 store that cannot be converted to format 2 for copick" if converted else "cannot be copied"
            raise StoreCopyError(f"{how}: {exc}") from exc
        return VolumeCopy(converted, rewritten, target.size(target_key))

    # -- meshes -----------------------------------------------------------------------------------------------

    def read_mesh(self, key: str) -> Any:
        """The GLB file at ``key`` as one ``Trimesh``."""
        return glb.read_glb(self.locate(key))

    def mesh_problem(self, key: str) -> str | None:
        """Why the GLB file at ``key`` is incomplete, or None."""
        return glb.file_problem(self.locate(key))

    def copy_file_to(self, key: str, target: DataStore, target_key: str) -> int:
        """Copy the file at ``key`` byte for byte."""
        if not isinstance(target, LocalStore):  # pragma: no cover - one store kind so far
            raise NotImplementedError(f"copying from {self!r} to {target!r} is not supported yet")
        target._writable("copy a file")
        dest = target.locate(target_key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.locate(key), dest)
        return dest.stat().st_size

    # -- the write protocol -----------------------------------------------------------------------------------

    def stage(self, key: str) -> str:
        """A hidden sibling of ``key`` (``.{name}.tmp-{pid}-{hex}``), so that publishing is one rename."""
        self._writable("write data")
        return atomic.temporary_sibling(Path(key)).as_posix()

    def write_volume(
        self,
        staging: str,
        volume: np.ndarray,
        *,
        voxel_size: float,
        levels: int,
        dtype: Any,
        method: str,
    ) -> None:
        """Write the pyramid at the staging key (its directory is created first)."""
        self._writable("write a volume")
        path = self.locate(staging)
        path.parent.mkdir(parents=True, exist_ok=True)
        zarr_io.write_multiscale(path, volume, voxel_size=voxel_size, levels=levels, dtype=dtype, method=method)

    def write_mesh(self, key: str, mesh: Any) -> None:
        """Write a GLB file at ``key`` (itself staged, fsync'ed and renamed into place)."""
        self._writable("write a mesh")
        path = self.locate(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        glb.write_glb(path, mesh)

    def swap_in(self, staging: str, key: str) -> Swap:
        """Rename (or atomically exchange) the staged data into place."""
        self._writable("write data")
        return atomic.swap_in(self.locate(staging), self.locate(key))

    def discard(self, staging: str) -> None:
        """Delete whatever is at the staging key."""
        atomic.remove_path(self.locate(staging))

    def remove(self, key: str) -> bool:
        """Delete the file or directory at ``key`` (a directory is renamed to a hidden trash sibling first)."""
        self._writable("remove data")
        path = self.locate(key)
        if not os.path.lexists(path):
            return False
        atomic.remove_path(path)
        return True

    def move_to_trash(self, key: str) -> str | None:
        """Rename the data to a hidden trash sibling."""
        self._writable("remove data")
        trash = atomic.move_to_trash(self.locate(key))
        return None if trash is None else self.key_of(trash)

    def restorable(self, key: str) -> str | None:
        """The newest trash sibling of a missing key."""
        path = self.locate(key)
        if os.path.lexists(path):
            return None
        trash = atomic.trash_siblings(path)
        return self.key_of(trash[0]) if trash else None

    def restore(self, trash: str, key: str) -> bool:
        """Rename the trash sibling back to ``key`` when ``key`` is still missing."""
        self._writable("restore data")
        path = self.locate(key)
        if os.path.lexists(path):
            return False
        os.rename(self.locate(trash), path)
        return True

    def leftovers(self, *, inside_volumes: bool = False) -> list[str]:
        """Temporary and trash siblings under the root (inside volumes only when asked: whole volumes are staged)."""
        found = atomic.find_leftovers(self.directory, inside_stores=inside_volumes)
        return [p.relative_to(self.directory).as_posix() for p in found]

    def is_being_written(self, key: str) -> bool:
        """Whether the process that made the leftover (its pid is in the name) still runs on this machine."""
        pid = atomic.writer_pid(Path(key).name)
        if pid is None or pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True  # exists, owned by someone else
        return True


def open_data_store(location: str | os.PathLike, *, read_only: bool = False) -> DataStore:
    """The store for a data root's location: a directory path (or ``file://``/``local://`` URL) today.

    Args:
        location: Where the data root is.
        read_only: Refuse every write.

    Raises:
        ValueError: The location names a filesystem other than the local one (object stores come with issue 19).
    """
    text = os.fspath(location)
    if isinstance(text, bytes):  # pragma: no cover - os.PathLike[bytes]
        text = os.fsdecode(text)
    scheme, sep, rest = text.partition("://")
    if sep and len(scheme) > 1:  # a Windows drive letter is not a scheme
        if scheme not in ("file", "local"):
            raise ValueError(
                f"data root {text!r} is on {scheme!r}, which copick_db cannot store data on yet; use a local or "
                "network-mounted directory"
            )
        text = rest
    return LocalStore(text, read_only=read_only)
