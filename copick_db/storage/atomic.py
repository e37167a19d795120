"""Crash-safe replacement and removal of files and directories (zarr stores, GLB files).

Design invariants:
    - New data is never written at its final path. :func:`staged` hands out a hidden sibling
      (``.{name}.tmp-{pid}-{hex}``) and only a ``rename`` within the same directory makes it visible, so a reader
      sees either the old complete data or the new complete data, never a half-written store.
    - Replacing existing data is one atomic step where the platform allows it: Linux ``renameat2`` with
      ``RENAME_EXCHANGE`` swaps the staged temporary and the target, so the target path never stops existing
      (no reader ever finds it missing) and the previous version sits at the temporary's name until it is deleted.
      Elsewhere (other systems, filesystems without the flag such as NFS) a directory is replaced in two renames
      (target to trash, temporary to target); a crash between them leaves the target missing and the previous
      version in a trash sibling that :func:`trash_siblings` finds and ``copick-db check --fix`` puts back.
    - A replacement can be undone until it is settled (:class:`Swap`), so a caller that orders the swap with a
      catalog commit puts the previous version back when the commit fails.
    - A directory is never deleted in place: it is first renamed to a hidden trash sibling
      (``.{name}.trash-{pid}-{hex}``) and deleted afterwards. A crash mid-delete therefore leaves only a hidden
      leftover, never a half-deleted store at a live path.
    - Hidden names start with ``"."``, so copick's listings (and ours) skip temporaries and trash. Temporaries
      live in the target's own directory, so the final rename never crosses a filesystem.
    - The guarantee covers crashes of the writing process. Files are not fsync'ed (a zarr store may hold
      thousands of chunks); the parent directory is fsync'ed after a rename on a best-effort basis.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from copick_db.crashpoints import crash_point

__all__ = [
    "Swap",
    "exchange",
    "find_leftovers",
    "is_temporary",
    "move_to_trash",
    "remove_path",
    "replace_path",
    "staged",
    "swap_in",
    "temporary_sibling",
    "trash_siblings",
    "writer_pid",
]

_TAG = re.compile(r"[A-Za-z0-9]+")
_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9]+-\d+-[0-9a-f]{8,}")
_WRITER_PID = re.compile(r"\.[A-Za-z0-9]+-(\d+)-[0-9a-f]{8,}$")
_HEX_BYTES = 4
_NAME_MAX = 255


def temporary_sibling(target: Path, tag: str = "tmp") -> Path:
    """A fresh hidden path next to ``target``, for staging or trashing it.

    Args:
        target: The path the temporary stands in for.
        tag: What the temporary is for (letters and digits), e.g. ``"tmp"`` or ``"trash"``.

    Returns:
        ``target.parent / f".{target.name}.{tag}-{pid}-{random hex}"``. Nothing is created on disk. A very long
        ``target.name`` is shortened so that the sibling's name still fits in 255 bytes.

    Raises:
        ValueError: If ``tag`` is not alphanumeric, or ``target`` has no name.
    """
    target = Path(target)
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise ValueError(f"temporary tag must be a non-empty string of letters and digits, got {tag!r}")
    if not target.name:
        raise ValueError(f"cannot make a sibling of {str(target)!r}: it has no file name")
    suffix = f".{tag}-{os.getpid()}-{secrets.token_hex(_HEX_BYTES)}"
    name = target.name
    budget = _NAME_MAX - 1 - len(suffix.encode())
    if len(os.fsencode(name)) > budget:
        name = os.fsencode(name)[:budget].decode("utf-8", errors="ignore") or "x"
    return target.parent / f".{name}{suffix}"


def is_temporary(name: str) -> bool:
    """Whether a file name is a temporary or trash sibling made by :func:`temporary_sibling`.

    Args:
        name: A file or directory name (not a path).

    Returns:
        True for names like ``.wbp.zarr.tmp-1234-0a1b2c3d``.
    """
    return bool(_TEMPORARY.fullmatch(name))


def writer_pid(name: str) -> int | None:
    """The id of the process that made a temporary or trash sibling (it is part of the name), or None.

    Args:
        name: A file or directory name (not a path).

    Returns:
        The pid in names like ``.wbp.zarr.tmp-1234-0a1b2c3d``; None for other names.
    """
    match = _WRITER_PID.search(name)
    return int(match.group(1)) if match is not None and is_temporary(name) else None


@contextlib.contextmanager
def staged(target: Path) -> Iterator[Path]:
    """Write ``target`` under a temporary name and move it into place only when the writing succeeded.

    The caller writes a file or a directory at the yielded path. On normal exit it replaces ``target`` (creating
    the parent directories as needed); if the body raises, the temporary is deleted, ``target`` is left exactly
    as it was, and the exception propagates.

    Example:
        >>> with staged(root / "wbp.zarr") as tmp:  # doctest: +SKIP
        ...     write_multiscale(tmp, volume, voxel_size=10.0)

    Args:
        target: The final path.

    Yields:
        A hidden sibling path of ``target`` that does not exist yet.

    Raises:
        FileNotFoundError: If the body wrote nothing at the temporary path.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(target, "tmp")
    try:
        yield tmp
    except BaseException:
        _discard(tmp)
        raise
    if not _lexists(tmp):
        raise FileNotFoundError(f"nothing was written to the staging path {tmp} for {target}; {target} is unchanged")
    try:
        replace_path(tmp, target)
    except BaseException:
        _discard(tmp)
        raise


def remove_path(path: Path) -> None:
    """Remove a file, symlink or directory tree; a missing path is fine.

    A directory is renamed to a hidden trash sibling first, so it disappears from its live path in one step
    (a temporary or trash path is deleted directly: it is hidden already). If deleting the trash then fails, it is
    left behind (with a ``RuntimeWarning``) for :func:`find_leftovers`.

    Args:
        path: What to remove. A symlink is removed itself, never its target.
    """
    path = Path(path)
    if not _lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    if is_temporary(path.name):
        _delete_trash(path)
        return
    trash = move_to_trash(path)
    if trash is not None:
        _delete_trash(trash)


def move_to_trash(path: Path) -> Path | None:
    """Move a file, symlink or directory off its live path to a hidden trash sibling, in one rename.

    Args:
        path: What to move away.

    Returns:
        The trash path (for the caller to delete, e.g. with :func:`remove_path`), or None when ``path`` is missing.
    """
    path = Path(path)
    if not _lexists(path):
        return None
    trash = temporary_sibling(path, "trash")
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return None
    crash_point("remove.trashed")
    _fsync_dir(path.parent)
    return trash


def find_leftovers(root: Path, *, inside_stores: bool = False) -> list[Path]:
    """Temporary and trash siblings that an interrupted write or delete left under ``root``.

    Symlinks are not followed. Leftovers are reported, not descended into.

    Args:
        root: Directory to search (e.g. a project's data root). A missing root has no leftovers.
        inside_stores: Also search inside ``*.zarr`` directories. Off by default: whole stores are staged, so
            leftovers sit next to stores, and skipping their chunk trees keeps the scan fast.

    Returns:
        The leftover paths, sorted.
    """
    root = Path(root)
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            if is_temporary(name):
                found.append(Path(dirpath, name))
        keep = []
        for name in dirnames:
            if is_temporary(name):
                found.append(Path(dirpath, name))
            elif inside_stores or not name.endswith(".zarr"):
                keep.append(name)
        dirnames[:] = keep
    return sorted(found)


def trash_siblings(target: Path) -> list[Path]:
    """Trash siblings of ``target`` (previous versions moved aside by a replacement or a delete), newest first.

    When ``target`` itself is missing, the newest of them is what an interrupted two-rename replacement left behind:
    the last complete version.

    Args:
        target: The live path.

    Returns:
        Existing ``.{name}.trash-{pid}-{hex}`` siblings, most recently changed first.
    """
    target = Path(target)
    probe = temporary_sibling(target, "trash").name
    prefix = probe[: probe.rindex("-", 0, probe.rindex("-")) + 1]  # ".{name}.trash-"
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix) and is_temporary(n)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [target.parent / n for n in names]
    return sorted(found, key=lambda p: p.lstat().st_mtime_ns, reverse=True)


def exchange(first: Path, second: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``), files or directories alike.

    Args:
        first: One path.
        second: The other, in the same filesystem.

    Returns:
        True when swapped; False when the platform or filesystem cannot (nothing changed then).

    Raises:
        OSError: The swap was possible in principle but failed (e.g. a path vanished).
    """
    func = _renameat2()
    if func is None:
        return False
    if func(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


@dataclass
class Swap:
    """Staged data moved to its live path; the previous version is kept until :meth:`settle` or :meth:`undo`.

    Attributes:
        target: The live path, now holding the new data.
        staged: Where the new data was staged (after an exchange it holds the previous version).
        previous: Where the previous version is kept, or None (there was none, or it could not be kept).
        created: Whether the target did not exist before.
    """

    target: Path
    staged: Path
    previous: Path | None
    created: bool

    def undo(self) -> None:
        """Put the previous version back (or take the new data away when there was none), as before the swap.

        The new data ends up at :attr:`staged`, for the caller to discard. When the previous version of a file could
        not be kept (no hard links on that filesystem), the new data stays.
        """
        previous, self.previous = self.previous, None
        if self.created:
            os.rename(self.target, self.staged)
        elif previous is None:
            return
        elif previous == self.staged:  # exchanged: exchange back
            if not exchange(self.staged, self.target):
                aside = temporary_sibling(self.target, "tmp")
                os.rename(self.target, aside)
                os.rename(self.staged, self.target)
                _discard(aside)
        elif previous.is_dir() and not previous.is_symlink():
            os.rename(self.target, self.staged)
            os.rename(previous, self.target)
        else:
            os.replace(previous, self.target)
        _fsync_dir(self.target.parent)

    def settle(self) -> None:
        """Delete the previous version; the swap can no longer be undone."""
        previous, self.previous = self.previous, None
        if previous is None:
            return
        crash_point("replace.settling")
        if previous.is_dir() and not previous.is_symlink():
            _delete_trash(previous)
        else:
            with contextlib.suppress(FileNotFoundError):
                previous.unlink()


def swap_in(tmp: Path, target: Path) -> Swap:
    """Move ``tmp`` to ``target``, keeping whatever ``target`` held until the returned swap is settled or undone.

    A missing target is created by one rename; an existing one is exchanged atomically where possible, else moved to
    a trash sibling first (a file is hard-linked there and then replaced atomically). A failure leaves the old
    ``target`` in place.

    Args:
        tmp: The complete staged data.
        target: Its live path.

    Returns:
        The swap, to :meth:`Swap.settle` once the change is final or :meth:`Swap.undo` if it is abandoned.
    """
    tmp, target = Path(tmp), Path(target)
    parent = target.parent
    if not _lexists(target):
        os.rename(tmp, target)
        _fsync_dir(parent)
        return Swap(target, tmp, None, created=True)
    if exchange(tmp, target):
        crash_point("replace.exchanged")
        _fsync_dir(parent)
        return Swap(target, tmp, tmp, created=False)
    trash = temporary_sibling(target, "trash")
    if not tmp.is_dir() and (target.is_symlink() or not target.is_dir()):
        # A rename onto a file is atomic; a hard link keeps the previous version for undo where links exist.
        try:
            os.link(target, trash, follow_symlinks=False)
        except OSError:
            trash = None
        os.replace(tmp, target)
        _fsync_dir(parent)
        return Swap(target, tmp, trash, created=False)
    os.rename(target, trash)
    crash_point("replace.trashed")
    try:
        os.rename(tmp, target)
    except BaseException:
        # Put the old version back so that the failed replacement changes nothing.
        with contextlib.suppress(OSError):
            os.rename(trash, target)
        raise
    _fsync_dir(parent)
    return Swap(target, tmp, trash, created=False)


def replace_path(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target``, replacing whatever is there; a failure leaves the old ``target`` in place.

    Callers that must order the swap with a catalog commit (``copick_db.db.bulk``) use :func:`swap_in`, which can be
    undone; everyone else uses :func:`staged`.
    """
    swap_in(tmp, target).settle()


#: ``renameat2`` arguments: the current directory as base, and the exchange flag.
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
#: errno values meaning "this platform or filesystem cannot exchange": fall back to two renames.
_UNSUPPORTED = frozenset(
    code for code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", None)) if code
)
_RENAMEAT2: list = []


def _renameat2() -> Callable | None:
    """The C library's ``renameat2``, or None where there is none (looked up once)."""
    if not _RENAMEAT2:
        func = None
        if sys.platform.startswith("linux"):
            try:
                func = ctypes.CDLL(None, use_errno=True).renameat2
            except (OSError, AttributeError):
                func = None
            else:
                func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                func.restype = ctypes.c_int
        _RENAMEAT2.append(func)
    return _RENAMEAT2[0]


def _delete_trash(trash: Path) -> None:
    """Delete a renamed-away directory; a failure leaves it for :func:`find_leftovers`."""
    try:
        shutil.rmtree(trash)
    except FileNotFoundError:
        pass
    except OSError as exc:
        warnings.warn(f"could not delete {trash} ({exc}); it is hidden and safe to remove by hand", RuntimeWarning, 3)


def _discard(path: Path) -> None:
    """Best-effort removal of a temporary after a failure (never masks the original error)."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    except OSError:
        pass


def _lexists(path: Path) -> bool:
    """Whether ``path`` exists, counting a dangling symlink as existing."""
    return os.path.lexists(path)


def _fsync_dir(directory: Path) -> None:
    """Flush a directory entry change to disk where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
