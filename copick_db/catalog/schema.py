"""Schema versions and migrations.

Migration revisions are numbered ``0001``, ``0002``…, so "newer" and "older" are integer comparisons and the error
can name both versions. Opening never migrates: an older catalog is upgraded only by ``copick-db upgrade`` (or
:func:`upgrade`), which the user runs knowingly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DatabaseError, OperationalError

from copick_db.errors import CatalogError, NotACatalogError, SchemaOutdatedError, SchemaTooNewError

#: The schema version this release reads and writes: the number of the newest migration in ``migrations/versions``.
SCHEMA_VERSION = 5


def migrations_dir() -> Path:
    """Where the alembic environment is: inside the package in a wheel, beside it in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise CatalogError("copick_db's migrations are missing from this installation; reinstall copick_db.")


def _alembic_config(connection: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["connection"] = connection
    return config


def read_version(conn: Connection, where: str) -> int:
    """The schema version recorded in a catalog.

    Raises:
        NotACatalogError: The database is not a copick_db catalog (no version table, or not SQLite at all).
    """
    try:
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, DatabaseError) as exc:
        raise NotACatalogError(
            f"{where} is not a copick_db catalog ({exc.orig}). Create one with copick_db.create() "
            "or import a copick project with copick_db.import_filesystem()."
        ) from None
    return parse_version(None if row is None else row[0], where)


def parse_version(value: object, where: str) -> int:
    """The schema version an ``alembic_version.version_num`` value denotes.

    Raises:
        NotACatalogError: The value is not one of copick_db's numbered revisions (e.g. another application's alembic
            revision hash).
    """
    if value is None or not str(value).isdigit():
        raise NotACatalogError(f"{where} has no copick_db schema version; it is not a copick_db catalog.")
    return int(str(value))


def check_version(conn: Connection, where: str) -> int:
    """Raise unless the catalog's schema is exactly the one this release uses; return the version.

    Raises:
        SchemaTooNewError: The catalog was written by a newer copick_db.
        SchemaOutdatedError: The catalog needs ``copick-db upgrade``.
    """
    return compare_version(read_version(conn, where), where)


def compare_version(version: int, where: str) -> int:
    """Raise unless ``version`` is exactly the schema version this release uses; return it.

    Raises:
        SchemaTooNewError: The catalog was written by a newer copick_db.
        SchemaOutdatedError: The catalog needs ``copick-db upgrade``.
    """
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{where} has catalog schema version {version}, newer than version {SCHEMA_VERSION} that this "
            "copick_db supports. Upgrade copick_db (pip install -U copick-db) to open it."
        )
    if version < SCHEMA_VERSION:
        raise SchemaOutdatedError(
            f"{where} has catalog schema version {version}; this copick_db uses version {SCHEMA_VERSION}. "
            f"Run `copick-db upgrade {where}` (it keeps a backup) and open it again."
        )
    return version


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Silence alembic's INFO chatter ("Context impl SQLiteImpl…") where an application logs at INFO."""
    logger = logging.getLogger("alembic")
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate a catalog to ``revision`` in one transaction (a failed migration changes nothing).

    The backend surrounds the migration with what its database needs (SQLite: foreign keys off while tables are
    rebuilt, since dropping a table's old copy would cascade), and dangling references are checked before the commit.
    """
    from alembic import command

    from copick_db.catalog.backend import WRITE_OPTION
    from copick_db.catalog.engine import backend_of  # the backends read schema versions through this module

    backend = backend_of(engine)
    with _quiet_alembic(), engine.connect() as conn, backend.migrating(conn):
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            command.upgrade(_alembic_config(conn), revision)
            problems = backend.check_foreign_keys(conn)
            if problems:
                raise CatalogError(f"Migration left dangling references ({problems[:5]}); nothing changed.")


def has_tables(engine: Engine) -> bool:
    """Whether the database holds any table (a fresh file holds none)."""
    return bool(inspect(engine).get_table_names())
