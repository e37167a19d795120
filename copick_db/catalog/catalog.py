"""An open catalog: the engine plus the row operations the catalog-backed classes are built on.

Filters are equality or IN over indexed columns (``where={"run_id": 3, "user_id": ("a", "b")}``), so every getter
is one indexed query. Unique violations become DuplicateEntityError, a vanished parent NotFoundError.

Every other database error leaves this module as one of copick_db's errors with a message that says what to do
(:func:`database_error`): a damaged file is a CatalogError, a full disk an ``OSError`` (``ENOSPC``), a read-only
file a ReadOnlyError, a lock held too long a CatalogError, never a raw SQLAlchemy or sqlite3 traceback.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, Select, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from copick_db.catalog import schema
from copick_db.catalog.engine import (
    BUSY_TIMEOUT_MS,
    database_path,
    make_engine,
    read_connection,
    to_url,
    write_transaction,
)
from copick_db.catalog.tables import CatalogTable
from copick_db.errors import CatalogError, DuplicateEntityError, NotACatalogError, NotFoundError, ReadOnlyError

Where = dict[str, Any]


class Catalog:
    """A connection to one catalog database.

    Use :meth:`open` or :meth:`create` rather than the constructor.

    Args:
        engine: The engine (made by :func:`copick_db.catalog.engine.make_engine`).
        url: Its URL.
        read_only: Whether writes are refused.
    """

    def __init__(self, engine: Engine, url: str, read_only: bool = False) -> None:
        self.engine = engine
        self.url = url
        self.read_only = read_only

    @property
    def path(self) -> Path | None:
        """The catalog file, or None for a non-file database."""
        return database_path(self.url)

    @property
    def where(self) -> str:
        """How to name this catalog in messages."""
        return str(self.path) if self.path is not None else self.url

    def __repr__(self) -> str:
        return f"Catalog({self.where!r}, read_only={self.read_only})"

    # -- opening ----------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, catalog: str | Path, *, read_only: bool = False) -> Catalog:
        """Open an existing catalog after checking, without writing anything, that its schema is current.

        A WAL catalog in a directory this process cannot write to (a read-only share, someone else's project) is
        opened read-only in SQLite's immutable mode: SQLite cannot create the ``-shm`` file it needs to coordinate
        with writers there, and none can be writing (no ``-wal`` file exists).

        Raises:
            FileNotFoundError: No catalog file at that path.
            NotACatalogError: The file is not a copick_db catalog, or is damaged.
            ReadOnlyError: The catalog's directory is read-only and ``read_only`` is False.
            CatalogError: A read-only open is impossible (uncommitted changes in a ``-wal`` file nobody can apply).
            SchemaTooNewError, SchemaOutdatedError: The schema version differs from this release's.
        """
        url = to_url(catalog)
        path = database_path(url)
        if path is not None:
            if not path.is_file():
                raise FileNotFoundError(
                    f"No catalog at {path}. Create one with copick_db.create() or `copick-db create`, "
                    "or import a copick project with `copick-db import`."
                )
            immutable = _needs_immutable(path, read_only)
            _probe_version(path, immutable)  # read-only: a foreign file must stay byte-for-byte unchanged
        else:
            immutable = False
        engine = make_engine(url, read_only=read_only, immutable=immutable)
        try:
            with read_connection(engine) as conn:
                schema.check_version(conn, str(path or url))
        except (DBAPIError, sqlite3.DatabaseError) as exc:
            engine.dispose()
            translated = database_error(exc, str(path or url))
            if translated is exc:
                raise
            raise translated from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url, read_only=read_only)

    @classmethod
    def create(cls, catalog: str | Path) -> Catalog:
        """Create the tables of a new, empty catalog (the database must hold no tables yet)."""
        url = to_url(catalog)
        path = database_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        try:
            if schema.has_tables(engine):
                raise FileExistsError(f"{path or url} already holds tables; pass overwrite=True to replace it.")
            schema.upgrade(engine)
        except (DBAPIError, sqlite3.DatabaseError) as exc:
            engine.dispose()
            translated = database_error(exc, str(path or url))
            if translated is exc:
                raise
            raise translated from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    # -- transactions -----------------------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on normal exit.

        Raises:
            PermissionError: The catalog was opened read-only.
        """
        if self.read_only:
            raise PermissionError(f"{self.where} was opened read-only; open it with read_only=False to write.")
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except IntegrityError as exc:
            raise _integrity_error(exc) from None
        except (DBAPIError, sqlite3.DatabaseError, OverflowError) as exc:
            translated = database_error(exc, self.where)
            if translated is exc:
                raise
            raise translated from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for a group of reads."""
        try:
            with read_connection(self.engine) as conn:
                yield conn
        except (DBAPIError, sqlite3.DatabaseError, OverflowError) as exc:
            translated = database_error(exc, self.where)
            if translated is exc:
                raise
            raise translated from exc

    # -- rows -------------------------------------------------------------------------------------------------

    def rows(
        self,
        table: type[CatalogTable],
        where: Where | None = None,
        *,
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] = (),
        conn: Connection | None = None,
    ) -> list:
        """Rows of ``table`` matching ``where`` (a value means equality, a collection IN, None IS NULL).

        The SQL is built straight from the table's metadata (every name is checked against it) rather than compiled
        by SQLAlchemy: listings such as ``root.runs`` must take milliseconds, and a first compile in a fresh process
        alone costs tens of them.
        """
        t = table.__table__
        names = list(columns) if columns else [c.name for c in t.columns]
        sql, args = _select_sql(t, names, where or {}, order_by)
        if sql is None:
            return []
        if conn is not None:
            return _fetch(conn, sql, args)
        with self.reading() as c:
            return _fetch(c, sql, args)

    def first(self, table: type[CatalogTable], where: Where, *, conn: Connection | None = None) -> Any:
        """The first row matching ``where``, or None."""
        found = self.rows(table, where, conn=conn)
        return found[0] if found else None

    def count(self, table: type[CatalogTable], where: Where | None = None) -> int:
        """How many rows match ``where``."""
        t = table.__table__
        with self.reading() as conn:
            return conn.execute(select(func.count()).select_from(t).where(*conditions(t, where))).scalar_one()

    def insert(self, table: type[CatalogTable], values: dict[str, Any], *, conn: Connection | None = None) -> int:
        """Insert a row and return its id.

        Raises:
            DuplicateEntityError: A row with the same identity exists.
            NotFoundError: The parent row no longer exists.
        """
        stmt = insert(table.__table__).values(**values)
        if conn is not None:
            try:
                return int(conn.execute(stmt).inserted_primary_key[0])
            except IntegrityError as exc:
                raise _integrity_error(exc) from None
        with self.writing() as c:
            return int(c.execute(stmt).inserted_primary_key[0])

    def insert_many(self, table: type[CatalogTable], rows: Iterable[dict[str, Any]], *, conn: Connection) -> None:
        """Insert many rows in one statement batch (inside the caller's transaction)."""
        batch = list(rows)
        if batch:
            try:
                conn.execute(insert(table.__table__), batch)
            except IntegrityError as exc:
                raise _integrity_error(exc) from None

    def update(
        self,
        table: type[CatalogTable],
        row_id: int,
        values: dict[str, Any],
        *,
        conn: Connection | None = None,
        identity: Where | None = None,
    ) -> None:
        """Update one row by id (and, if given, only while it still has ``identity``, as :meth:`delete`).

        Raises:
            NotFoundError: The row no longer exists (deleted by someone else).
        """
        t = table.__table__
        stmt = update(t).where(t.c.id == row_id, *conditions(t, identity)).values(**values)
        if conn is not None:
            result = conn.execute(stmt)
        else:
            with self.writing() as c:
                result = c.execute(stmt)
        if result.rowcount == 0:
            raise NotFoundError(f"{t.name} {row_id} no longer exists in {self.where}; it was deleted meanwhile.")

    def delete(
        self,
        table: type[CatalogTable],
        row_id: int,
        *,
        conn: Connection | None = None,
        identity: Where | None = None,
    ) -> bool:
        """Delete one row by id (its children cascade); return whether it existed.

        ``identity`` adds conditions the row must also meet (e.g. its name): SQLite reuses the id of a deleted last
        row, so an object that outlived its row must not delete whichever row took its id since.
        """
        t = table.__table__
        stmt = delete(t).where(t.c.id == row_id, *conditions(t, identity))
        if conn is not None:
            return conn.execute(stmt).rowcount > 0
        with self.writing() as c:
            return c.execute(stmt).rowcount > 0


@lru_cache(maxsize=256)
def _record_type(fields: tuple[str, ...]) -> type:
    return namedtuple("Record", fields)


def fetch_all(conn: Connection, stmt: Select) -> list:
    """Run a SQLAlchemy SELECT and return its rows as namedtuples with attribute access by column label.

    The rows come straight from the driver's ``fetchall``, several times faster than SQLAlchemy's per-row result
    processing. Only plain column types are selected (integers, floats, text, blobs; booleans arrive as 0/1).
    """
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = [params[name] for name in compiled.positiontup] if compiled.positiontup else params
    return _fetch(conn, str(compiled), args)


def _select_sql(t: Any, names: list[str], where: Where, order_by: Sequence[str]) -> tuple[str | None, list]:
    for name in (*names, *where, *order_by):
        t.c[name]
    clauses, args = [], []
    for name, value in where.items():
        if isinstance(value, (tuple, list, set, frozenset)):
            values = list(value)
            if not values:
                return None, []
            clauses.append(f'"{name}" IN ({", ".join("?" * len(values))})')
            args.extend(values)
        elif value is None:
            clauses.append(f'"{name}" IS NULL')
        else:
            clauses.append(f'"{name}" = ?')
            args.append(value)
    sql = f'SELECT {", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)} FROM "{t.name}"'
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    if order_by:
        sql += " ORDER BY " + ", ".join(f'"{n}"' for n in order_by)
    return sql, args


def _fetch(conn: Connection, sql: str, args: Any) -> list:
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, args)
        record = _record_type(tuple(d[0] for d in cursor.description))
        return list(map(record._make, cursor.fetchall()))
    finally:
        cursor.close()


def conditions(t: Any, where: Where | None) -> list:
    """SQL conditions for a ``where`` mapping: a value means equality, a collection IN, None IS NULL."""
    conditions = []
    for name, value in (where or {}).items():
        column = t.c[name]
        if isinstance(value, (tuple, list, set, frozenset)):
            conditions.append(column.in_(list(value)))
        elif value is None:
            conditions.append(column.is_(None))
        else:
            conditions.append(column == value)
    return conditions


def _integrity_error(exc: IntegrityError) -> Exception:
    message = str(exc.orig)
    if "UNIQUE" in message:
        return DuplicateEntityError(f"An entity with the same identity already exists ({message}).")
    if "FOREIGN KEY" in message:
        return NotFoundError("The parent entity no longer exists; it was deleted meanwhile. Refresh and retry.")
    return exc


def database_error(exc: BaseException, where: str) -> BaseException:
    """copick_db's error for a database error raised by SQLAlchemy or sqlite3 (``exc`` itself if none fits).

    Args:
        exc: The error (a ``sqlalchemy.exc.DBAPIError``, a ``sqlite3.DatabaseError``, or the ``OverflowError`` of an
            integer beyond SQLite's 64 bits, which becomes a ValueError).
        where: How to name the catalog in the message.

    Returns:
        A CatalogError (damaged file, lock held too long, other database errors), an ``OSError`` (full disk,
        I/O error), a ReadOnlyError (read-only file or directory), DuplicateEntityError / NotFoundError (constraint
        violations), or ``exc`` unchanged for programming errors (a bug in copick_db, not a problem of the file).
    """
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, OverflowError) and "SQLite INTEGER" in str(orig):
        return ValueError(f"A number is too large to be stored in or looked up in the catalog {where}: {orig}.")
    if not isinstance(orig, sqlite3.DatabaseError) or isinstance(orig, sqlite3.ProgrammingError):
        return exc
    message = str(orig)
    name = getattr(orig, "sqlite_errorname", "") or ""
    lowered = message.lower()
    if isinstance(orig, sqlite3.IntegrityError):
        return _integrity_message(message)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in lowered:
        return CatalogError(
            f"{where} stayed locked by another process for more than {BUSY_TIMEOUT_MS // 1000} s ({message}). "
            "Another copick_db process may be stuck in a long write, or a tool holds the file open; retry later."
        )
    if name == "SQLITE_FULL" or "disk is full" in lowered:
        return OSError(
            errno.ENOSPC,
            f"No space left on the device holding the catalog {where}; the change was rolled back and nothing is "
            "lost. Free some space and retry",
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in lowered:
        return ReadOnlyError(
            f"{where} cannot be written: the file or its directory is read-only ({message}). Open it with "
            "read_only=True to read it, or make it and its directory writable."
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
        return CatalogError(
            f"{where} cannot be opened ({message}). Check that it exists and that its directory is writable: "
            "SQLite keeps its -wal and -shm files beside the catalog."
        )
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in lowered or "not a database" in lowered:
        return CatalogError(
            f"{where} is damaged ({message}). Restore it from a backup (`copick-db upgrade` keeps "
            "<name>.v<N>-backup-<time>.sqlite copies), or re-import the project with `copick-db import`."
        )
    if name.startswith("SQLITE_IOERR") or "i/o error" in lowered:
        return OSError(errno.EIO, f"Reading or writing the catalog {where} failed with an I/O error ({message})")
    return CatalogError(f"The catalog {where} reported a database error: {message}")


def _integrity_message(message: str) -> Exception:
    if "UNIQUE" in message:
        return DuplicateEntityError(f"An entity with the same identity already exists ({message}).")
    if "FOREIGN KEY" in message:
        return NotFoundError("The parent entity no longer exists; it was deleted meanwhile. Refresh and retry.")
    return CatalogError(f"The catalog refused the change: {message}")


def _needs_immutable(path: Path, read_only: bool) -> bool:
    """Whether ``path`` must be opened in SQLite's immutable mode (a read-only open of a WAL catalog whose directory
    cannot take the ``-shm`` and ``-wal`` files SQLite needs).

    Raises:
        ReadOnlyError: The directory is read-only and the open is not.
        CatalogError: A ``-wal`` file holds changes that cannot be applied (its directory is read-only).
    """
    if os.access(path.parent, os.W_OK):
        return False
    if not read_only:
        raise ReadOnlyError(
            f"{path} is in a directory this process cannot write to ({path.parent}); SQLite needs to create its "
            "-wal and -shm files there to write. Open it with read_only=True (copick-db commands that only read do)."
        )
    if not _is_wal(path):
        return False
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if wal.exists() and shm.exists():
        return False  # SQLite reads through existing -wal/-shm files
    if wal.exists() and wal.stat().st_size > 0:
        raise CatalogError(
            f"{path} has changes in {wal.name} that were never merged into it, and its directory is read-only, so "
            "they cannot be read. Open it once where its directory is writable (read_only=False) to merge them."
        )
    return True


def _is_wal(path: Path) -> bool:
    """Whether a SQLite file's header says it is in WAL mode (file format versions 2)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[:16] == b"SQLite format 3\x00" and header[18] == 2


def _probe_version(path: Path, immutable: bool = False) -> None:
    """Check that a file is a copick_db catalog without writing to it (no WAL switch, no journal)."""
    uri = f"file:{quote(str(path.absolute()))}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise NotACatalogError(f"{path} cannot be opened as a catalog: {exc}") from None
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise _probe_error(path, exc) from None
    finally:
        con.close()
    # Everything that can reject the file is decided here, before an engine (which switches the journal to WAL, a
    # write) touches it: another application's database, even one that uses alembic too, must stay unchanged.
    version = schema.parse_version(None if row is None else row[0], str(path))
    if version <= schema.SCHEMA_VERSION and not tables >= _CORE_TABLES:  # a newer schema may rename tables
        missing = ", ".join(sorted(_CORE_TABLES - tables))
        raise NotACatalogError(f"{path} is not a copick_db catalog: it has no {missing} table.")
    schema.compare_version(version, str(path))


def _probe_error(path: Path, exc: sqlite3.DatabaseError) -> Exception:
    """The error for a file that failed the version probe: damaged, unopenable, or simply not a catalog."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    message = str(exc)
    if name == "SQLITE_CORRUPT" or "malformed" in message:
        return NotACatalogError(
            f"{path} is damaged ({message}): it is a SQLite database whose contents are cut short or overwritten. "
            "Restore it from a backup (`copick-db upgrade` keeps <name>.v<N>-backup-<time>.sqlite copies), or "
            "re-import the project with `copick-db import`."
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in message:
        return CatalogError(
            f"{path} cannot be opened ({message}). Check that it is readable and that its directory is writable, or "
            "open it with read_only=True."
        )
    return NotACatalogError(
        f"{path} is not a copick_db catalog ({message}). Create one with copick_db.create() "
        "or import a copick project with copick_db.import_filesystem()."
    )


#: Tables every copick_db catalog has had since schema version 1.
_CORE_TABLES = frozenset({"project", "data_root"})
