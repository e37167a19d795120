"""The backends a project can live on, as factories for tests: a catalog factory × a store factory.

Like pyiceberg's catalog tests, every behaviour and reliability test takes one ``backend`` fixture whose parameters
are :data:`BACKEND_IDS`, so one suite holds every backend to the same behaviour. A new catalog backend (PostgreSQL) adds
a :class:`CatalogFactory`, a new store (S3) a :class:`StoreFactory`; the tests themselves do not change.

Example (a ``conftest.py``)::

    import pytest
    from copick_db.testing.backends import BACKEND_IDS, backend_named

    @pytest.fixture(params=BACKEND_IDS)
    def backend(request):
        backend = backend_named(request.param)
        yield backend
        backend.close_all()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copick_db


@dataclass(frozen=True)
class CatalogFactory:
    """Where a test's catalog lives.

    Attributes:
        name: Short name, used in test ids.
        locate: Gives the catalog's location (a path or an SQLAlchemy URL) for a test's private directory.
        kind: The database system (``"sqlite"``); heavy tests run once per kind.
    """

    name: str
    locate: Callable[[Path], str]
    kind: str = "sqlite"


@dataclass(frozen=True)
class StoreFactory:
    """Where a test's bulk data lives.

    Attributes:
        name: Short name, used in test ids.
        data_root: Gives the data root for a test's private directory; None means the default beside the catalog.
    """

    name: str
    data_root: Callable[[Path], str | None]


@dataclass(frozen=True)
class Backend:
    """A catalog factory with a store factory: everything a test needs to make and reopen projects.

    Attributes:
        catalog: Where the catalog goes.
        store: Where the data goes.
    """

    catalog: CatalogFactory
    store: StoreFactory
    _opened: list = field(default_factory=list, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.catalog.name}-{self.store.name}"

    def location(self, directory: Path) -> str:
        """The catalog location (path or URL) of a project made in ``directory``; pass it to worker processes."""
        return self.catalog.locate(Path(directory))

    def create(self, directory: Path, config: dict[str, Any]) -> copick_db.CopickRootDB:
        """Create an empty project with ``config`` in ``directory`` (closed by :meth:`close_all`)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        root = copick_db.create(self.location(directory), config, data_root=self.store.data_root(directory))
        self._opened.append(root)
        return root

    def open(self, location: str, **kwargs: Any) -> copick_db.CopickRootDB:
        """Open the project at ``location`` again, with ``open()``'s keywords (closed by :meth:`close_all`)."""
        root = copick_db.open(location, **kwargs)
        self._opened.append(root)
        return root

    def reopen(self, root: copick_db.CopickRootDB, **kwargs: Any) -> copick_db.CopickRootDB:
        """A fresh root (empty caches) on the same catalog and data as ``root``."""
        return self.open(root.catalog.url, **kwargs)

    def close_all(self) -> None:
        """Close every root this backend made or opened (tests never leak a connection)."""
        while self._opened:
            self._opened.pop().close()


def _file(directory: Path) -> str:
    return str(directory / "project.sqlite")


def _url(directory: Path) -> str:
    (directory / "db").mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'db' / 'catalog.sqlite'}"


SQLITE_FILE = CatalogFactory("sqlite", _file)
SQLITE_URL = CatalogFactory("sqlite-url", _url)
LOCAL_BESIDE = StoreFactory("local", lambda directory: None)
LOCAL_ELSEWHERE = StoreFactory("local-dir", lambda directory: str(directory / "data"))


def backends() -> list[Backend]:
    """Every backend this installation can test, each a fresh :class:`Backend` (they record the roots they open)."""
    return [Backend(SQLITE_FILE, LOCAL_BESIDE), Backend(SQLITE_URL, LOCAL_ELSEWHERE)]


#: The backends' names, for a fixture's ``params`` (see :func:`backend_named`).
BACKEND_IDS = [str(b) for b in backends()]


def one_per_catalog_kind() -> list[str]:
    """One backend name per kind of catalog database, for the heavy tests (concurrency, crashes): they test the
    database's locking, which a second path form of the same database adds nothing to."""
    seen: dict[str, str] = {}
    for backend in backends():
        seen.setdefault(backend.catalog.kind, str(backend))
    return list(seen.values())


def backend_named(name: str) -> Backend:
    """A fresh backend by its name in :data:`BACKEND_IDS`.

    Raises:
        LookupError: No backend has that name.
    """
    for backend in backends():
        if str(backend) == name:
            return backend
    raise LookupError(f"No backend {name!r}; choose one of {', '.join(BACKEND_IDS)}.")
