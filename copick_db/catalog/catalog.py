"""An open catalog: the engine plus the row operations the catalog-backed classes are built on.

Filters are equality or IN over indexed columns (``where={"run_id": 3, "user_id": ("a", "b")}``), so every getter
is one indexed query. Unique violations become DuplicateEntityError, a vanished parent NotFoundError.

Every other database error leaves this module as one of copick_db's errors with a message that says what to do
(:func:`~copick_db.catalog.backend.translate_error`, the one translation every path here goes through): a damaged
file is a CatalogError, a full disk an ``OSError`` (``ENOSPC``), a read-only file a ReadOnlyError, a lock held too
long a CatalogError, never a raw SQLAlchemy or driver traceback.

What depends on the database system (opening, pragmas, error codes, placeholders, backups) is the catalog's
backend's (:mod:`copick_db.catalog.backend`); this module is the same for every backend.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn, TypeAlias

from sqlalchemy import Engine, Select, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from copick_db.catalog import schema
from copick_db.catalog.backend import Backend, translate_error
from copick_db.catalog.batch import BatchWriter, RowRefusedError
from copick_db.catalog.engine import backend_for, read_connection, to_url, write_transaction
from copick_db.catalog.tables import CatalogTable
from copick_db.errors import DuplicateEntityError, NotFoundError

Where = dict[str, Any]
#: A row as the catalog returns it: a namedtuple with one attribute per selected column (never an SQLAlchemy Row,
#: so nothing above the catalog depends on SQLAlchemy's types).
Record: TypeAlias = Any
#: A row as the catalog returns it: a namedtuple whose fields are the selected columns.
Record: TypeAlias = Any
#: A connection inside :meth:`Catalog.reading` or :meth:`Catalog.writing`, handed back to row operations (``conn=``).
Transaction: TypeAlias = Connection


class Catalog:
    """A connection to one catalog database.

    Use :meth:`open` or :meth:`create` rather than the constructor.

    Args:
        engine: The engine (made by the backend's ``make_engine``).
        url: Its URL.
        read_only: Whether writes are refused.
        backend: The database system's backend (the URL's by default).
    """

    def __init__(self, engine: Engine, url: str, read_only: bool = False, backend: Backend | None = None) -> None:
        self.engine = engine
        self.url = url
        self.read_only = read_only
        self.backend = backend if backend is not None else backend_for(url)
        #: The driver's placeholder for SQL written here by hand (see :func:`_select_sql`).
        self.placeholder = self.backend.placeholder(engine)
        self._errors = (DBAPIError, *self.backend.driver_errors, OverflowError)

    @property
    def path(self) -> Path | None:
        """The catalog file, or None for a non-file database."""
        return self.backend.database_path(self.url)

    @property
    def where(self) -> str:
        """How to name this catalog in messages."""
        return str(self.path) if self.path is not None else self.url

    def __repr__(self) -> str:
        return f"Catalog({self.where!r}, read_only={self.read_only})"

    # -- opening ----------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, catalog: str | Path, *, read_only: bool = False, check_version: bool = True) -> Catalog:
        """Open an existing catalog after checking, without writing anything, that its schema is current.

        A WAL catalog in a directory this process cannot write to (a read-only share, someone else's project) is
        opened read-only in SQLite's immutable mode: SQLite cannot create the ``-shm`` file it needs to coordinate
        with writers there, and none can be writing (no ``-wal`` file exists).

        Args:
            catalog: A path (a SQLite file) or an SQLAlchemy URL.
            read_only: Refuse every write.
            check_version: Refuse a catalog whose schema is not this release's. Only :meth:`migrate`'s callers
                (``copick-db upgrade``) open an outdated catalog, to upgrade it.

        Raises:
            FileNotFoundError: No catalog file at that path.
            NotACatalogError: The file is not a copick_db catalog, or is damaged.
            ReadOnlyError: The catalog's directory is read-only and ``read_only`` is False.
            CatalogError: A read-only open is impossible (uncommitted changes in a ``-wal`` file nobody can apply).
            SchemaTooNewError, SchemaOutdatedError: The schema version differs from this release's.
        """
        url = to_url(catalog)
        backend = backend_for(url)
        where = str(backend.database_path(url) or url)
        options = backend.prepare_open(url, read_only=read_only) if check_version else {}
        engine = backend.make_engine(url, read_only=read_only, **options)
        opened = cls(engine, url, read_only=read_only, backend=backend)
        try:
            with opened.reading() as conn:
                if check_version:
                    schema.check_version(conn, where)
                else:
                    schema.read_version(conn, where)
        except BaseException:
            engine.dispose()
            raise
        return opened

    @classmethod
    def create(cls, catalog: str | Path) -> Catalog:
        """Create the tables of a new, empty catalog (the database must hold no tables yet)."""
        url = to_url(catalog)
        backend = backend_for(url)
        path = backend.database_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        created = cls(backend.make_engine(url), url, backend=backend)
        try:
            with created._translated():
                if schema.has_tables(created.engine):
                    raise FileExistsError(f"{path or url} already holds tables; pass overwrite=True to replace it.")
                schema.upgrade(created.engine)
        except BaseException:
            created.engine.dispose()
            raise
        return created

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    # -- errors -----------------------------------------------------------------------------------------------

    def _raise_translated(self, error: BaseException) -> NoReturn:
        """Raise copick_db's error for a database error (:func:`translate_error`), or ``error`` itself."""
        translated = translate_error(error, self.where, self.backend)
        if translated is error:
            raise error
        if isinstance(translated, (DuplicateEntityError, NotFoundError)):
            raise translated from None  # the constraint's SQL says nothing the message does not
        raise translated from error

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Database errors raised inside become copick_db's (see :meth:`_raise_translated`)."""
        try:
            yield
        except self._errors as exc:
            self._raise_translated(exc)

    # -- transactions -----------------------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on normal exit.

        Raises:
            PermissionError: The catalog was opened read-only.
        """
        if self.read_only:
            raise PermissionError(f"{self.where} was opened read-only; open it with read_only=False to write.")
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except self._errors as exc:
            self._raise_translated(exc)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for a group of reads."""
        try:
            with read_connection(self.engine) as conn:
                yield conn
        except self._errors as exc:
            self._raise_translated(exc)

    @contextmanager
    def batch(self) -> Iterator[BatchWriter]:
        """A write transaction for many rows at once (an import): see :class:`~copick_db.catalog.batch.BatchWriter`.

        Raises:
            PermissionError: The catalog was opened read-only.
        """
        try:
            with self.writing() as conn:
                yield BatchWriter(self, conn)
        except RowRefusedError as exc:  # one nobody skipped: raised as any other write would raise it
            raise exc.reason from exc.__cause__

    # -- rows -------------------------------------------------------------------------------------------------

    def rows(
        self,
        table: type[CatalogTable],
        where: Where | None = None,
        *,
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] = (),
        conn: Connection | None = None,
    ) -> list[Record]:
        """Rows of ``table`` matching ``where`` (a value means equality, a collection IN, None IS NULL).

        The SQL is built straight from the table's metadata (every name is checked against it) rather than compiled
        by SQLAlchemy: listings such as ``root.runs`` must take milliseconds, and a first compile in a fresh process
        alone costs tens of them.
        """
        t = table.__table__
        names = list(columns) if columns else [c.name for c in t.columns]
        sql, args = _select_sql(t, names, where or {}, order_by, self.placeholder)
        if sql is None:
            return []
        if conn is not None:
            return _fetch(conn, sql, args)
        with self.reading() as c:
            return _fetch(c, sql, args)

    def first(self, table: type[CatalogTable], where: Where, *, conn: Connection | None = None) -> Record | None:
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
            with self._translated():  # inside the caller's transaction, which may catch the duplicate
                return int(conn.execute(stmt).inserted_primary_key[0])
        with self.writing() as c:
            return int(c.execute(stmt).inserted_primary_key[0])

    def insert_many(self, table: type[CatalogTable], rows: Iterable[dict[str, Any]], *, conn: Connection) -> None:
        """Insert many rows in one statement batch (inside the caller's transaction)."""
        batch = list(rows)
        if batch:
            with self._translated():
                conn.execute(insert(table.__table__), batch)

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
            with self._translated():
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
            with self._translated():
                return conn.execute(stmt).rowcount > 0
        with self.writing() as c:
            return c.execute(stmt).rowcount > 0

    # -- schema and maintenance -------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version recorded in the catalog.

        Raises:
            NotACatalogError: It records none (not a copick_db catalog).
        """
        with self.reading() as conn:
            return schema.read_version(conn, self.where)

    def migrate(self, revision: str = "head") -> None:
        """Migrate the catalog to ``revision`` in one transaction: a failed migration changes nothing.

        Raises:
            PermissionError: The catalog was opened read-only.
        """
        if self.read_only:
            raise PermissionError(f"{self.where} was opened read-only; open it with read_only=False to upgrade it.")
        with self._translated():
            schema.upgrade(self.engine, revision)

    def backup(self, target: str | Path) -> Path:
        """Write a consistent copy of the catalog to ``target`` (SQLite: ``VACUUM INTO``, compacted).

        A failed copy leaves no file at ``target``.

        Returns:
            The copy's path.

        Raises:
            FileExistsError: ``target`` exists.
            OSError, CatalogError: The copy could not be written (a full disk says so).
        """
        target = Path(target)
        if target.exists():
            raise FileExistsError(f"Cannot back {self.where} up to {target}: the file exists; choose a new name.")
        try:
            with self._translated():
                self.backend.backup(self.engine, target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    def integrity_problems(self) -> list[str]:
        """What the database's own consistency check finds wrong with the catalog's storage (empty when sound).

        On SQLite this is ``PRAGMA integrity_check`` (every page, index and constraint; it reads the whole file)
        and ``PRAGMA foreign_key_check``.
        """
        with self._translated():
            return self.backend.integrity_problems(self.engine)

    def vacuum(self) -> None:
        """Give the space of deleted rows back to the filesystem (SQLite: ``VACUUM``, which rewrites the file).

        Raises:
            PermissionError: The catalog was opened read-only.
        """
        if self.read_only:
            raise PermissionError(f"{self.where} was opened read-only; open it with read_only=False to vacuum it.")
        with self._translated():
            self.backend.vacuum(self.engine)


@lru_cache(maxsize=256)
def _record_type(fields: tuple[str, ...]) -> type:
    return namedtuple("Record", fields)


def fetch_all(conn: Connection, stmt: Select) -> list[Record]:
    """Run a SQLAlchemy SELECT and return its rows as namedtuples with attribute access by column label.

    The rows come straight from the driver's ``fetchall``, several times faster than SQLAlchemy's per-row result
    processing. Only plain column types are selected (integers, floats, text, blobs; booleans arrive as 0/1).
    """
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = [params[name] for name in compiled.positiontup] if compiled.positiontup else params
    return _fetch(conn, str(compiled), args)


def _select_sql(
    t: Any, names: list[str], where: Where, order_by: Sequence[str], mark: str = "?"
) -> tuple[str | None, list]:
    """The SELECT of :meth:`Catalog.rows` and its arguments, with the driver's placeholder ``mark``.

    ``mark`` is a placeholder such as ``?`` or ``%s``, or a numbered one such as ``$1``, written ``${}`` (see
    :func:`~copick_db.catalog.backend.placeholder_for`). (None, []) when ``where`` holds an empty collection.
    """
    for name in (*names, *where, *order_by):
        t.c[name]
    numbered = "{}" in mark
    clauses, args = [], []
    for name, value in where.items():
        if isinstance(value, (tuple, list, set, frozenset)):
            values = list(value)
            if not values:
                return None, []
            if numbered:
                marks = ", ".join(mark.format(len(args) + i) for i in range(1, len(values) + 1))
            else:
                marks = ", ".join([mark] * len(values))
            clauses.append(f'"{name}" IN ({marks})')
            args.extend(values)
        elif value is None:
            clauses.append(f'"{name}" IS NULL')
        else:
            args.append(value)
            clauses.append(f'"{name}" = {mark.format(len(args)) if numbered else mark}')
    sql = f'SELECT {", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)} FROM "{t.name}"'
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    if order_by:
        sql += " ORDER BY " + ", ".join(f'"{n}"' for n in order_by)
    return sql, args


def _fetch(conn: Connection, sql: str, args: Any) -> list[Record]:
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
