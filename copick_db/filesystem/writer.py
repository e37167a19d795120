"""Row writes for an import, inside one write transaction, with a savepoint per item.

An import writes tens of thousands of rows, so statements go straight to the SQLite driver (the SQL is built once
per table and column set, from the table models, so every name is checked) instead of being compiled by SQLAlchemy
per row. :meth:`CatalogWriter.item` wraps the rows of one item (an entity row and its source record) in a
savepoint: they are written together or, on any error, not at all, and the batch goes on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy.engine import Connection

from copick_db.catalog.catalog import Catalog
from copick_db.catalog.tables import CatalogTable

__all__ = ["CatalogWriter", "DatabaseError"]

#: What a failed statement raises (the driver's error: constraints, locks, I/O).
DatabaseError = sqlite3.DatabaseError


@cache
def _defaults(table: type[CatalogTable]) -> dict[str, Any]:
    """The scalar Python-side defaults of a table's columns (raw SQL inserts do not apply them by themselves)."""
    defaults = {}
    for column in table.__table__.columns:
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            defaults[column.name] = default.arg
    return defaults


class CatalogWriter:
    """Inserts, updates and deletes by id on a connection that is inside a write transaction.

    Args:
        catalog: The catalog (for its row queries).
        conn: A connection from ``catalog.writing()``.
    """

    def __init__(self, catalog: Catalog, conn: Connection) -> None:
        self.catalog = catalog
        self.conn = conn
        self._cursor = conn.connection.driver_connection.cursor()
        self._sql: dict[tuple, str] = {}

    def rows(self, table: type[CatalogTable], where: dict[str, Any], columns: tuple[str, ...]) -> list:
        """Rows of ``table`` (see :meth:`copick_db.catalog.catalog.Catalog.rows`), inside this transaction."""
        return self.catalog.rows(table, where, columns=columns, conn=self.conn)

    def insert(self, table: type[CatalogTable], values: dict[str, Any]) -> int:
        """Insert a row; return its id. Columns not given get their model's default (as an ORM insert would)."""
        values = {**_defaults(table), **values}
        names = tuple(values)
        sql = self._statement(("insert", table, names), table, names)
        self._cursor.execute(sql, tuple(values.values()))
        return int(self._cursor.lastrowid)

    def update(self, table: type[CatalogTable], row_id: int, values: dict[str, Any]) -> None:
        """Update columns of one row."""
        if not values:
            return
        names = tuple(values)
        sql = self._statement(("update", table, names), table, names)
        self._cursor.execute(sql, (*values.values(), row_id))

    def delete(self, table: type[CatalogTable], row_id: int) -> None:
        """Delete one row (its children cascade)."""
        sql = self._statement(("delete", table, ()), table, ())
        self._cursor.execute(sql, (row_id,))

    def exists(self, table: type[CatalogTable], row_id: int) -> bool:
        """Whether a row with this id exists."""
        sql = self._statement(("exists", table, ()), table, ())
        return self._cursor.execute(sql, (row_id,)).fetchone() is not None

    @contextmanager
    def item(self) -> Iterator[None]:
        """A savepoint: the statements inside are kept together, or all undone when the block raises."""
        self._cursor.execute("SAVEPOINT import_item")
        try:
            yield
        except BaseException:
            self._cursor.execute("ROLLBACK TO import_item")
            self._cursor.execute("RELEASE import_item")
            raise
        self._cursor.execute("RELEASE import_item")

    def _statement(self, key: tuple, table: type[CatalogTable], names: tuple[str, ...]) -> str:
        sql = self._sql.get(key)
        if sql is None:
            t = table.__table__
            for name in names:
                t.c[name]  # an unknown column is a bug: KeyError here, before any SQL runs
            quoted = [f'"{name}"' for name in names]
            action = key[0]
            if action == "insert":
                sql = f'INSERT INTO "{t.name}" ({", ".join(quoted)}) VALUES ({", ".join("?" * len(names))})'
            elif action == "update":
                sql = f'UPDATE "{t.name}" SET {", ".join(f"{q} = ?" for q in quoted)} WHERE "id" = ?'
            elif action == "delete":
                sql = f'DELETE FROM "{t.name}" WHERE "id" = ?'
            else:
                sql = f'SELECT 1 FROM "{t.name}" WHERE "id" = ?'
            self._sql[key] = sql
        return sql
