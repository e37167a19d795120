"""One Python object per entity: the children of one kind under one parent, by identity key.

copick users compare entities with ``is``, ``==`` and ``in``: after ``p = run.new_picks(...)`` they expect
``p in run.picks`` and ``run.new_picks(..., exist_ok=True) is p``, and two objects for one pick set could otherwise
hold different unsaved points. copick gets this by always loading the parent's whole list and appending to it.
copick_db answers getters by key without loading siblings, so it keeps an identity map instead: each parent holds a
:class:`Children` per child kind, and every child object the parent hands out goes through it.

Design invariants:

- Every child object handed out (by a listing, a keyed lookup, a cross-run query, ``new_*`` or ``exist_ok``) is
  recorded under its identity key; a later lookup of the same entity returns the recorded object. Parents are
  themselves unique (the root records its runs, each run its voxel spacings, ...), so identity holds per root.
- The listing, once loaded, is ordered by identity (as the catalog orders listings) and holds only recorded
  objects. ``new_*`` loads it first and appends the new child (:meth:`Children.append_new`), as copick does, so
  copick code that inspects the loaded list after a write sees it.
- ``remove`` drops a deleted child from the record and the listing; ``clear`` (refresh) forgets every object, so
  the next access builds new ones. Roots opened separately share nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable
from operator import attrgetter
from typing import Any, Generic, TypeVar

from copick_db.errors import DuplicateEntityError

T = TypeVar("T")

identity_key: Callable[[Any], Hashable] = attrgetter("identity")


class Children(Generic[T]):
    """The children of one kind under one parent: each entity's one object, and the full listing once loaded.

    Args:
        key: The identity of a child within its parent (its ``identity`` tuple by default).
    """

    __slots__ = ("_key", "by_key", "listing")

    def __init__(self, key: Callable[[T], Hashable] = identity_key) -> None:
        self._key = key
        #: Every object handed out, by identity key.
        self.by_key: dict[Hashable, T] = {}
        #: The full listing, or None until it is loaded.
        self.listing: list[T] | None = None

    def __repr__(self) -> str:
        loaded = "unloaded" if self.listing is None else f"{len(self.listing)} listed"
        return f"Children({len(self.by_key)} known, {loaded})"

    def load(self, entities: Iterable[T]) -> list[T]:
        """Make ``entities`` (a fresh, ordered query result) the listing, keeping the objects already handed out.

        Objects recorded earlier whose entity is no longer listed (deleted elsewhere) are forgotten.
        """
        key, known = self._key, self.by_key
        if known:
            by_key: dict[Hashable, T] = {}
            listing = []
            for entity in entities:
                k = key(entity)
                entity = by_key[k] = known.get(k, entity)
                listing.append(entity)
        else:
            listing = list(entities)
            by_key = {key(e): e for e in listing}
        self.by_key, self.listing = by_key, listing
        return listing

    def listed(self, query: Callable[[], Iterable[T]]) -> list[T]:
        """The listing, loaded with ``query()`` on first use (copick's lazy list of children)."""
        listing = self.listing
        return listing if listing is not None else self.load(query())

    def share(self, entity: T) -> T:
        """The object already handed out for ``entity``'s identity, or ``entity`` itself, now recorded."""
        k = self._key(entity)
        known = self.by_key.get(k)
        if known is None:
            self.by_key[k] = entity
            return entity
        return known

    def share_all(self, entities: Iterable[T]) -> list[T]:
        """:meth:`share` for each of ``entities`` (a query result), in order."""
        share = self.share
        return [share(e) for e in entities]

    def get(self, key: Hashable) -> T | None:
        """The object recorded under ``key``, or None (on a loaded listing, the O(1) lookup by key)."""
        return self.by_key.get(key)

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        """The object recorded under ``key``; otherwise ``make()``'s, recorded (for binding rows to parents)."""
        known = self.by_key.get(key)
        if known is None:
            known = self.by_key[key] = make()
        return known

    def add(self, entity: T) -> T:
        """Record a newly created child, and list it where a fresh query would when the listing is loaded."""
        k = self._key(entity)
        stale = self.by_key.get(k)
        self.by_key[k] = entity
        if self.listing is not None:
            if stale is not None and stale in self.listing:  # deleted elsewhere and made again here
                self.listing.remove(stale)
            bisect.insort(self.listing, entity, key=self._key)
        return entity

    def append_new(
        self,
        entity: T,
        persist: Callable[[T], None],
        *,
        query: Callable[[], Iterable[T]],
        lookup: Callable[[], T | None],
        exist_ok: bool,
    ) -> T:
        """Persist a new child and append it to the listing (loaded first with ``query``, as copick does).

        Args:
            entity: The new child.
            persist: Writes it; raises DuplicateEntityError when its identity is taken.
            query: Lists every child (loads the listing).
            lookup: Finds the existing child with ``entity``'s identity in storage, or None.
            exist_ok: On a duplicate, return the existing child's object instead of raising.

        Raises:
            DuplicateEntityError: The identity is taken and ``exist_ok`` is False.
        """
        self.listed(query)
        try:
            persist(entity)
        except DuplicateEntityError:
            existing = self.get(self._key(entity)) if exist_ok else None
            if existing is None and exist_ok:  # made by another writer after the listing was loaded
                found = lookup()
                existing = None if found is None else self.add(found)
            if existing is None:
                raise DuplicateEntityError(
                    f"{entity!r} already exists; pass exist_ok=True to get the existing one."
                ) from None
            return existing
        return self.add(entity)

    def remove(self, entity: T) -> None:
        """Forget a deleted child: it leaves the record and the listing."""
        k = self._key(entity)
        if self.by_key.get(k) is entity:
            del self.by_key[k]
        if self.listing is not None:
            self.listing = [e for e in self.listing if e is not entity]

    def set_listing(self, entities: list[T]) -> None:
        """Replace the listing (and the record) with ``entities``, as given."""
        self.listing = list(entities)
        self.by_key = {self._key(e): e for e in self.listing}

    def clear(self) -> None:
        """Forget every object and the listing; the next access builds new objects."""
        self.by_key = {}
        self.listing = None
