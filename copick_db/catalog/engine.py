"""SQLite connections: pragmas on every connection, and explicit transactions.

Design invariants:
- Every connection runs with ``foreign_keys=ON`` (cascades and parent checks are the catalog's integrity) and a
  ``busy_timeout``, so concurrent writers wait for each other instead of failing with "database is locked".
- pysqlite's implicit transactions are switched off; we issue ``BEGIN`` ourselves. Writers start with
  ``BEGIN IMMEDIATE``: they take the write lock before their first read, so two writers never both read, then
  both try to upgrade to a write lock (which SQLite resolves by failing one of them at once).
- The journal is WAL on a local disk: readers never block the writer, and a killed process leaves no torn commit.
  A read-only root sets ``query_only``, so not even a stray statement can write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

#: How long a writer waits for another writer's lock before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 60_000

_WRITE_OPTION = "copick_db_write"


def is_sqlite_url(url: str) -> bool:
    """Whether ``url`` is an SQLAlchemy URL (as opposed to a file path)."""
    return "://" in url and url.split("://", 1)[0].replace("+", "").isalnum()


def to_url(catalog: str | Path) -> str:
    """The SQLAlchemy URL for a catalog given as a path or URL."""
    text = str(catalog)
    if is_sqlite_url(text):
        return text
    return f"sqlite:///{Path(text).expanduser().absolute()}"


def database_path(url: str) -> Path | None:
    """The file a SQLite URL points to, or None for in-memory and non-SQLite databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str, *, read_only: bool = False, journal_mode: str = "WAL") -> Engine:
    """Create an engine whose connections carry the catalog's pragmas and transaction handling.

    Args:
        url: SQLAlchemy URL of the catalog.
        read_only: Refuse every write at the SQLite level (``PRAGMA query_only``).
        journal_mode: ``WAL`` on local disks; ``DELETE`` where WAL is unsafe (network filesystems).
    """
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
    if engine.dialect.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not read_only:
            mode = cursor.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0]
            if mode.upper() == "WAL":
                cursor.execute("PRAGMA synchronous=NORMAL")
        else:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside ``BEGIN IMMEDIATE``: committed on normal exit, rolled back on any exception."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads (a deferred transaction, released on exit)."""
    with engine.connect() as conn:
        yield conn
