"""What the catalog needs from a database system beyond what SQLAlchemy gives every dialect: the backend seam.

SQLAlchemy carries the portable part (table models, migrations, the SQL most queries compile to). A backend is the
rest, one module per database system: :mod:`copick_db.catalog.sqlite` today, a PostgreSQL module next to it later.
:class:`Backend` states what such a module provides; its defaults are what any SQLAlchemy dialect does on its own,
so a new backend overrides only what its database does differently. :func:`copick_db.catalog.engine.backend_for`
picks the backend of a URL.

Design invariants:
- Nothing outside ``catalog/`` knows which backend is in use; everything database-specific (connection settings,
  error codes, file handling, maintenance statements, placeholder style) is answered here.
- Writers run inside a transaction begun with the :data:`WRITE_OPTION` execution option set; a backend that can
  take its write lock up front (SQLite's ``BEGIN IMMEDIATE``) does so when it sees it.
- SQL the catalog writes by hand (the hot read path, bulk writes) uses :meth:`Backend.placeholder`, never a
  literal ``?``: drivers differ (sqlite3 takes ``?``, psycopg ``%s``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from copick_db.errors import CatalogError

#: The execution option that marks a connection's transaction as a write (see :func:`engine.write_transaction`).
WRITE_OPTION = "copick_db_write"

#: SQL placeholder per DB-API ``paramstyle``; ``{}`` is replaced by the parameter's 1-based position.
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": ":{}", "numeric_dollar": "${}"}


def placeholder_for(paramstyle: str) -> str:
    """The positional placeholder of a DB-API ``paramstyle`` (``{}`` stands for the 1-based position, if numbered).

    Raises:
        ValueError: The style has no positional form (``named``).
    """
    try:
        return _PLACEHOLDERS[paramstyle]
    except KeyError:
        raise ValueError(f"copick_db cannot write SQL for the {paramstyle!r} parameter style") from None


class Backend:
    """A database system behind the catalog. The defaults suit any SQLAlchemy dialect; subclasses specialise.

    Attributes:
        name: The SQLAlchemy backend name this class serves (``"sqlite"``), or ``"generic"``.
        driver_errors: The driver's own error classes, raised by SQL the catalog runs on the raw DB-API cursor (the
            hot read path, bulk writes), where SQLAlchemy does not wrap them.
    """

    name = "generic"
    driver_errors: tuple[type[BaseException], ...] = ()

    # -- locating and opening ---------------------------------------------------------------------------------

    def database_path(self, url: str) -> Path | None:
        """The file holding the database, or None when it is not a local file."""
        return None

    def prepare_open(self, url: str, *, read_only: bool) -> dict[str, Any]:
        """Check, without writing anything, that an existing catalog can be opened; return :meth:`make_engine` options.

        Raises:
            FileNotFoundError, NotACatalogError, ReadOnlyError, CatalogError, SchemaVersionError: As
                :meth:`copick_db.catalog.catalog.Catalog.open` documents.
        """
        return {}

    def make_engine(
        self, url: str, *, read_only: bool = False, journal_mode: str | None = None, immutable: bool = False
    ) -> Engine:
        """An engine whose connections carry the catalog's settings.

        Args:
            url: The database URL.
            read_only: Refuse every write at the database level where it can.
            journal_mode: A journal mode, for backends that have one (SQLite); None chooses.
            immutable: Open a file nobody can be writing without locks (SQLite); ignored elsewhere.
        """
        return create_engine(url)

    def placeholder(self, engine: Engine) -> str:
        """The positional placeholder of ``engine``'s driver (see :func:`placeholder_for`)."""
        return placeholder_for(engine.dialect.paramstyle)

    # -- errors -----------------------------------------------------------------------------------------------

    def translate(self, error: BaseException, where: str) -> BaseException | None:
        """copick_db's error for a driver error (``error`` is the driver's, not SQLAlchemy's wrapper).

        Args:
            error: The driver's exception.
            where: How to name the catalog in the message.

        Returns:
            The error to raise instead, or None when ``error`` is a programming error (a bug in copick_db, raised as
            it is).
        """
        return None

    # -- transactions and statements --------------------------------------------------------------------------

    def in_transaction(self, driver_connection: Any) -> bool:
        """Whether a DB-API connection is inside a transaction (a failed statement may have ended it)."""
        return True

    def insert_returning_id(self, sql: str) -> str:
        """The INSERT statement ``sql`` made to return the new row's id, if the driver needs that."""
        return sql + ' RETURNING "id"'

    def inserted_id(self, cursor: Any) -> int:
        """The id of the row the last :meth:`insert_returning_id` statement on ``cursor`` inserted."""
        return int(cursor.fetchone()[0])

    @contextmanager
    def migrating(self, conn: Connection) -> Iterator[None]:
        """Surround a migration (which runs in one transaction begun inside this block) with what it needs."""
        yield

    def check_foreign_keys(self, conn: Connection) -> list[Any]:
        """Rows a migration left referencing a missing parent (none where the database checks every statement)."""
        return []

    # -- maintenance ------------------------------------------------------------------------------------------

    def backup(self, engine: Engine, target: Path) -> None:
        """Write a consistent copy of the database to ``target``.

        Raises:
            CatalogError: The backend cannot copy itself to a file.
        """
        raise CatalogError(f"{self.name} catalogs cannot be backed up to a file by copick_db; use the database's tools")

    def integrity_problems(self, engine: Engine) -> list[str]:
        """What the database's own consistency check finds wrong with its storage (empty when all is well)."""
        return []

    def vacuum(self, engine: Engine) -> None:
        """Give the space of deleted rows back (and defragment), where the database needs to be asked."""


def translate_error(error: BaseException, where: str, backend: Backend) -> BaseException:
    """copick_db's error for any error a database operation raised: the one translation every catalog path uses.

    Args:
        error: What the operation raised: SQLAlchemy's wrapper of a driver error (``DBAPIError``), a driver error
            raised on a raw cursor, or the ``OverflowError`` of an integer the database cannot hold.
        where: How to name the catalog in the message.
        backend: The catalog's backend, which knows its driver's errors.

    Returns:
        A ValueError (a number too large), the backend's translation (CatalogError, ``OSError``, ReadOnlyError,
        DuplicateEntityError, NotFoundError), or ``error`` itself for programming errors (a bug in copick_db, not
        a problem of the catalog).
    """
    orig = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(orig, OverflowError):
        if "INTEGER" in str(orig):  # sqlite3: "Python int too large to convert to SQLite INTEGER"
            return ValueError(f"A number is too large to be stored in or looked up in the catalog {where}: {orig}.")
        return error
    translated = backend.translate(orig, where)
    return error if translated is None else translated
