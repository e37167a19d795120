"""Behaviour every entity of the abstract API shares: the read-only guard, filters and keyword routing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel

from copick_db.errors import ReadOnlyError

#: Voxel sizes (Å) closer than this are the same voxel spacing (copick's directories keep 3 decimals).
VOXEL_SIZE_TOLERANCE = 1e-3


def voxel_sizes_match(a: float, b: float) -> bool:
    """Whether two voxel sizes in Å denote the same voxel spacing."""
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=VOXEL_SIZE_TOLERANCE)


def as_filter(value: Any) -> tuple | None:
    """Normalise a getter filter: None matches anything, a scalar one value, an iterable any of its values.

    Strings and numbers are scalars (copick treats only ``float`` as a scalar voxel size and fails on ``int``;
    we accept any real number).
    """
    if value is None:
        return None
    if isinstance(value, (str, bytes, int, float, bool)):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    return (value,)


def run_names(runs: Any) -> list[str] | None:
    """The names a ``runs=`` filter gives (one name or run, or an iterable of them); None selects every run."""
    if runs is None:
        return None
    return [r if isinstance(r, str) else r.name for r in ([runs] if isinstance(runs, str) else runs)]


def matches(value: Any, allowed: tuple | None) -> bool:
    """Whether ``value`` passes a filter made by :func:`as_filter`."""
    return allowed is None or value in allowed


def matches_voxel_size(value: float, allowed: tuple | None) -> bool:
    """Whether a voxel size passes a filter made by :func:`as_filter`, within the voxel-size tolerance."""
    return allowed is None or any(voxel_sizes_match(value, v) for v in allowed)


def split_kwargs(meta_cls: type[BaseModel], kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route ``new_*`` keyword arguments: fields of the meta model go to the meta, the rest to the constructor.

    This reconciles the spec (kwargs go to the class) with copick (kwargs go to the meta), contract C11.
    """
    fields = meta_cls.model_fields
    meta_kwargs = {k: v for k, v in kwargs.items() if k in fields}
    ctor_kwargs = {k: v for k, v in kwargs.items() if k not in fields}
    return meta_kwargs, ctor_kwargs


def check_ctor_kwargs(what: str, ctor_kwargs: dict[str, Any], allowed: Iterable[str] = ("config",)) -> None:
    """Raise TypeError for a ``new_*`` keyword that is neither a meta field nor a constructor argument."""
    unknown = sorted(set(ctor_kwargs) - set(allowed))
    if unknown:
        raise TypeError(f"{what} got unexpected keyword argument(s): {', '.join(unknown)}")


class ReadOnlyGuard:
    """Mixin: the ``read_only`` flag of an entity and the check every write makes first.

    An entity is read-only when it was imported from a copick ``static_root`` (its own flag) or when anything above
    it is: a root opened with ``read_only=True`` makes every entity read-only.
    """

    _read_only: bool = False

    def _parent_entity(self) -> ReadOnlyGuard | None:
        return None

    @property
    def read_only(self) -> bool:
        """True when writes to this entity raise PermissionError."""
        if self._read_only:
            return True
        parent = self._parent_entity()
        return parent is not None and parent._root_read_only()

    def _root_read_only(self) -> bool:
        parent = self._parent_entity()
        return parent._root_read_only() if parent is not None else self._read_only

    def _check_writable(self, action: str) -> None:
        if not self.read_only:
            return
        if self._root_read_only():
            raise ReadOnlyError(
                f"Cannot {action}: the project was opened read-only. Open it with read_only=False to write."
            )
        raise ReadOnlyError(
            f"Cannot {action}: {self!r} is read-only (static data imported from a copick static_root). "
            "Write a new entity under your own user or session instead."
        )


def identity_property(getter: Callable[[Any], Any]) -> property:
    """A read-only property for a field of an entity's identity, whose setter says why it cannot change.

    A name (or voxel size, user id, ...) is the entity's key in the catalog and its path on disk, so changing it in
    memory would only make the object disagree with what is stored (copick changes the in-memory value and leaves
    the files under the old name).
    """
    field = getter.__name__

    def refuse(self: Any, value: Any) -> None:
        raise AttributeError(
            f"{field} of {self!r} cannot change: it is part of the entity's identity (its key in the catalog and its "
            "path on disk). Create a new entity with the new value, copy the data into it, and delete the old one."
        )

    return property(getter, refuse, doc=getter.__doc__)
