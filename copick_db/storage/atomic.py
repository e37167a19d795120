"""Crash-safe replacement and removal of files and directories (zarr stores, GLB files).

Design invariants:
    - New data is never written at its final path. :func:`staged` hands out a hidden sibling
      (``.{name}.tmp-{pid}-{hex}``) and only a ``rename`` within the same directory makes it visible, so a reader
      sees either the old complete data or the new complete data, never a half-written store.
    - A directory is never deleted in place: it is first renamed to a hidden trash sibling
      (``.{name}.trash-{pid}-{hex}``) and deleted afterwards. A crash mid-delete therefore leaves only a hidden
      leftover, never a half-deleted store at a live path.
    - Hidden names start with ``"."``, so copick's listings (and ours) skip temporaries and trash. Temporaries
      live in the target's own directory, so the final rename never crosses a filesystem.
    - Replacing an existing directory takes two renames (target to trash, temporary to target). A crash between
      them leaves the target missing with both siblings present; :func:`find_leftovers` reports them and the
      trash still holds the last complete version.
    - The guarantee covers crashes of the writing process. Files are not fsync'ed (a zarr store may hold
      thousands of chunks); the parent directory is fsync'ed after a rename on a best-effort basis.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

__all__ = ["find_leftovers", "is_temporary", "remove_path", "replace_path", "staged", "temporary_sibling"]

_TAG = re.compile(r"[A-Za-z0-9]+")
_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9]+-\d+-[0-9a-f]{8,}")
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

    A directory is renamed to a hidden trash sibling first, so it disappears from its live path in one step.
    If deleting the trash then fails, it is left behind (with a ``RuntimeWarning``) for :func:`find_leftovers`.

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
    trash = temporary_sibling(path, "trash")
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    _fsync_dir(path.parent)
    _delete_trash(trash)


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


def replace_path(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target``, replacing whatever is there; a failure leaves the old ``target`` in place.

    Callers that must order the swap with a catalog commit (``copick_db.db.bulk``) call this directly; everyone
    else uses :func:`staged`.
    """
    parent = target.parent
    if not _lexists(target) or (not tmp.is_dir() and (target.is_symlink() or not target.is_dir())):
        # A rename onto a missing path or onto a file is atomic.
        os.replace(tmp, target)
        _fsync_dir(parent)
        return
    trash = temporary_sibling(target, "trash")
    os.rename(target, trash)
    try:
        os.rename(tmp, target)
    except BaseException:
        # Put the old version back so that the failed replacement changes nothing.
        with contextlib.suppress(OSError):
            os.rename(trash, target)
        raise
    _fsync_dir(parent)
    if trash.is_dir() and not trash.is_symlink():
        _delete_trash(trash)
    else:
        with contextlib.suppress(FileNotFoundError):
            trash.unlink()


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
