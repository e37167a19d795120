"""An open catalog: the engine plus the row operations the catalog-backed classes are built on.

Filters are equality or IN over indexed columns (``where={"run_id": 3, "user_id": ("a", "b")}``), so every getter
is one indexed query. Unique violations become DuplicateEntityError, a vanished parent NotFoundError.
"""

from __future__ import annotations

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
from sqlalchemy.exc import IntegrityError

from copick_db.catalog import schema
from copick_db.catalog.engine import database_path, make_engine, read_connection, to_url, write_transaction
from copick_db.catalog.tables import CatalogTable
from copick_db.errors import DuplicateEntityError, NotACatalogError, NotFoundError

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

        Raises:
            FileNotFoundError: No catalog file at that path.
            NotACatalogError: The file is not a copick_db catalog.
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
            _probe_version(path)  # read-only: a foreign file must stay byte-for-byte unchanged
        engine = make_engine(url, read_only=read_only)
        try:
            with read_connection(engine) as conn:
                schema.check_version(conn, str(path or url))
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

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for a group of reads."""
        with read_connection(self.engine) as conn:
            yield conn

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
        with read_connection(self.engine) as c:
            return _fetch(c, sql, args)

    def first(self, table: type[CatalogTable], where: Where, *, conn: Connection | None = None) -> Any:
        """The first row matching ``where``, or None."""
        found = self.rows(table, where, conn=conn)
        return found[0] if found else None

    def count(self, table: type[CatalogTable], where: Where | None = None) -> int:
        """How many rows match ``where``."""
        t = table.__table__
        with read_connection(self.engine) as conn:
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
        self, table: type[CatalogTable], row_id: int, values: dict[str, Any], *, conn: Connection | None = None
    ) -> None:
        """Update one row by id.

        Raises:
            NotFoundError: The row no longer exists (deleted by someone else).
        """
        t = table.__table__
        stmt = update(t).where(t.c.id == row_id).values(**values)
        if conn is not None:
            result = conn.execute(stmt)
        else:
            with self.writing() as c:
                result = c.execute(stmt)
        if result.rowcount == 0:
            raise NotFoundError(f"{t.name} {row_id} no longer exists in {self.where}; it was deleted meanwhile.")

    def delete(self, table: type[CatalogTable], row_id: int, *, conn: Connection | None = None) -> bool:
        """Delete one row by id (its children cascade); return whether it existed."""
        t = table.__table__
        stmt = delete(t).where(t.c.id == row_id)
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


def _probe_version(path: Path) -> None:
    """Check that a file is a copick_db catalog without writing to it (no WAL switch, no journal)."""
    try:
        con = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise NotACatalogError(f"{path} cannot be opened as a catalog: {exc}") from None
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise NotACatalogError(
            f"{path} is not a copick_db catalog ({exc}). Create one with copick_db.create() "
            "or import a copick project with copick_db.import_filesystem()."
        ) from None
    finally:
        con.close()
    # Everything that can reject the file is decided here, before an engine (which switches the journal to WAL, a
    # write) touches it: another application's database, even one that uses alembic too, must stay unchanged.
    version = schema.parse_version(None if row is None else row[0], str(path))
    if version <= schema.SCHEMA_VERSION and not tables >= _CORE_TABLES:  # a newer schema may rename tables
        missing = ", ".join(sorted(_CORE_TABLES - tables))
        raise NotACatalogError(f"{path} is not a copick_db catalog: it has no {missing} table.")
    schema.compare_version(version, str(path))


#: Tables every copick_db catalog has had since schema version 1.
_CORE_TABLES = frozenset({"project", "data_root"})
