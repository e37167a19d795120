"""Engines and transactions, whatever the database: the backend of a URL, and explicit write and read transactions.

A catalog is named by a path (a SQLite file) or an SQLAlchemy URL. Everything specific to one database system is
its backend's (:mod:`copick_db.catalog.backend`); this module only picks the backend and runs transactions:

- Writers run in :func:`write_transaction`, marked with :data:`~copick_db.catalog.backend.WRITE_OPTION`, so a
  backend can take its write lock before the first read (SQLite's ``BEGIN IMMEDIATE``).
- Readers run in :func:`read_connection`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from copick_db.catalog.backend import WRITE_OPTION, Backend
from copick_db.catalog.sqlite import BACKEND as SQLITE
from copick_db.catalog.sqlite import url_for_path
from copick_db.crashpoints import crash_point

#: The generic backend, for URLs of database systems without a backend module of their own.
GENERIC = Backend()


def is_url(text: str) -> bool:
    """Whether ``text`` is an SQLAlchemy URL (``dialect[+driver]://...``) rather than a file path."""
    if "://" not in text:
        return False
    scheme = text.split("://", 1)[0]
    return bool(scheme) and scheme.replace("+", "").replace("_", "").isalnum() and scheme[0].isalpha()


def is_sqlite_url(url: str) -> bool:
    """Whether ``url`` is an SQLAlchemy URL of a SQLite database (``sqlite://``, ``sqlite+pysqlite://``...)."""
    if not is_url(url):
        return False
    try:
        return make_url(url).get_backend_name() == "sqlite"
    except ArgumentError:
        return False


def to_url(catalog: str | Path) -> str:
    """The SQLAlchemy URL for a catalog given as a path (a SQLite file) or a URL (returned as it is)."""
    text = str(catalog)
    return text if is_url(text) else url_for_path(text)


def backend_for(url: str) -> Backend:
    """The backend that serves a catalog URL: SQLite's for ``sqlite`` URLs, the generic one otherwise."""
    return SQLITE if is_sqlite_url(url) else GENERIC


def backend_of(engine: Engine) -> Backend:
    """The backend an engine's dialect belongs to."""
    return SQLITE if engine.dialect.name == SQLITE.name else GENERIC


def database_path(url: str) -> Path | None:
    """The file a catalog URL points to, or None for in-memory and non-file databases."""
    return backend_for(url).database_path(url)


def make_engine(
    url: str, *, read_only: bool = False, journal_mode: str | None = None, immutable: bool = False
) -> Engine:
    """Create an engine through the URL's backend (see :meth:`copick_db.catalog.backend.Backend.make_engine`)."""
    return backend_for(url).make_engine(url, read_only=read_only, journal_mode=journal_mode, immutable=immutable)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a write transaction: committed on normal exit, rolled back on any exception."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn
            crash_point("txn.commit")
        crash_point("txn.committed")


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads (a deferred transaction, released on exit)."""
    with engine.connect() as conn:
        yield conn
