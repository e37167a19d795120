"""Bulk row writes: many rows in one write transaction, in items that are kept or undone whole (import, sync).

An import writes tens of thousands of rows, so statements go straight to the driver (the SQL is built once per
table and column set, from the table models, so every name is checked, with the backend's placeholder) instead of
being compiled by SQLAlchemy per row. :meth:`BatchWriter.item` wraps the rows of one item (an entity row and its
source record) in a savepoint: they are written together or, on any error, not at all, and the batch goes on.

Design invariants:
- A statement the database refuses raises :class:`RowRefusedError`, whose ``reason`` is copick_db's translation
  of the database's error; a caller catches it per item to skip that item. A refusal nobody catches leaves the
  batch as its reason (:meth:`copick_db.catalog.catalog.Catalog.batch`), as any other write would raise it.
- A savepoint is rolled back only while the transaction is still open: some errors (a full disk) make the database
  end the whole transaction, and a ``ROLLBACK TO`` then would fail and hide the error that matters (sqlite-utils
  guards its savepoints the same way). The item's error then leaves as the refusal's reason, so no caller can skip
  it and carry on writing outside a transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from copick_db.catalog.backend import translate_error
from copick_db.catalog.tables import CatalogTable
from copick_db.errors import CatalogError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from copick_db.catalog.catalog import Catalog

__all__ = ["BatchWriter", "RowRefusedError"]

_SAVEPOINT = "copick_db_item"


class RowRefusedError(CatalogError):
    """The catalog refused a row of a batch (a constraint, a lock, a full disk...).

    Attributes:
        reason: copick_db's error for what the database said (DuplicateEntityError, CatalogError, ``OSError``...).
    """

    def __init__(self, reason: BaseException) -> None:
        super().__init__(str(reason))
        self.reason = reason


@cache
def _defaults(table: type[CatalogTable]) -> dict[str, Any]:
    """The scalar Python-side defaults of a table's columns (raw SQL inserts do not apply them by themselves)."""
    defaults = {}
    for column in table.__table__.columns:
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            defaults[column.name] = default.arg
    return defaults


class BatchWriter:
    """Inserts, updates and deletes by id inside one write transaction (get one from ``Catalog.batch()``).

    Args:
        catalog: The catalog (for its row queries, backend and placeholder).
        conn: A connection inside ``catalog.writing()``.
    """

    def __init__(self, catalog: Catalog, conn: Connection) -> None:
        self.catalog = catalog
        self.conn = conn
        self._backend = catalog.backend
        self._driver = conn.connection.driver_connection
        self._cursor = self._driver.cursor()
        self._mark = catalog.placeholder
        self._errors = (*self._backend.driver_errors, OverflowError)
        self._sql: dict[tuple, str] = {}

    def rows(self, table: type[CatalogTable], where: dict[str, Any], columns: tuple[str, ...]) -> list:
        """Rows of ``table`` (see :meth:`copick_db.catalog.catalog.Catalog.rows`), inside this transaction."""
        return self.catalog.rows(table, where, columns=columns, conn=self.conn)

    def insert(self, table: type[CatalogTable], values: dict[str, Any]) -> int:
        """Insert a row; return its id. Columns not given get their model's default (as an ORM insert would).

        Raises:
            RowRefusedError: The database refused the row (e.g. a duplicate identity).
        """
        values = {**_defaults(table), **values}
        names = tuple(values)
        sql = self._statement("insert", table, names)
        try:
            self._cursor.execute(sql, tuple(values.values()))
            return self._backend.inserted_id(self._cursor)
        except self._errors as exc:
            raise self._refused(exc) from exc

    def update(self, table: type[CatalogTable], row_id: int, values: dict[str, Any]) -> None:
        """Update columns of one row.

        Raises:
            RowRefusedError: The database refused the change.
        """
        if not values:
            return
        sql = self._statement("update", table, tuple(values))
        try:
            self._cursor.execute(sql, (*values.values(), row_id))
        except self._errors as exc:
            raise self._refused(exc) from exc

    def delete(self, table: type[CatalogTable], row_id: int) -> None:
        """Delete one row (its children cascade).

        Raises:
            RowRefusedError: The database refused the deletion.
        """
        try:
            self._cursor.execute(self._statement("delete", table, ()), (row_id,))
        except self._errors as exc:
            raise self._refused(exc) from exc

    def exists(self, table: type[CatalogTable], row_id: int) -> bool:
        """Whether a row with this id exists."""
        try:
            return self._cursor.execute(self._statement("exists", table, ()), (row_id,)).fetchone() is not None
        except self._errors as exc:
            raise self._refused(exc) from exc

    @contextmanager
    def item(self) -> Iterator[None]:
        """A savepoint: the statements inside are kept together, or all undone when the block raises.

        Raises:
            BaseException: Whatever the block raised; a refusal that ended the whole transaction as its reason.
        """
        self._plain(f"SAVEPOINT {_SAVEPOINT}")
        try:
            yield
        except BaseException as exc:
            if not self._backend.in_transaction(self._driver):
                # The database ended the transaction itself: there is no savepoint left to roll back to, and the
                # batch cannot go on, so the error must not be skipped as one item's.
                if isinstance(exc, RowRefusedError):
                    raise exc.reason from exc
                raise
            with contextlib.suppress(*self._errors):  # a failing rollback must not hide the error that matters
                self._cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                self._cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
            raise
        self._plain(f"RELEASE SAVEPOINT {_SAVEPOINT}")

    def _plain(self, sql: str) -> None:
        try:
            self._cursor.execute(sql)
        except self._errors as exc:
            raise self._refused(exc) from exc

    def _refused(self, exc: BaseException) -> BaseException:
        reason = translate_error(exc, self.catalog.where, self._backend)
        return exc if reason is exc else RowRefusedError(reason)

    def _statement(self, action: str, table: type[CatalogTable], names: tuple[str, ...]) -> str:
        key = (action, table, names)
        sql = self._sql.get(key)
        if sql is None:
            t = table.__table__
            for name in names:
                t.c[name]  # an unknown column is a bug: KeyError here, before any SQL runs
            quoted = [f'"{name}"' for name in names]
            mark = self._mark
            if "{}" in mark:
                marks = [mark.format(i) for i in range(1, len(names) + 2)]
            else:
                marks = [mark] * (len(names) + 1)
            if action == "insert":
                sql = f'INSERT INTO "{t.name}" ({", ".join(quoted)}) VALUES ({", ".join(marks[: len(names)])})'
                sql = self._backend.insert_returning_id(sql)
            elif action == "update":
                assignments = ", ".join(f"{q} = {m}" for q, m in zip(quoted, marks[: len(names)], strict=True))
                sql = f'UPDATE "{t.name}" SET {assignments} WHERE "id" = {marks[len(names)]}'
            elif action == "delete":
                sql = f'DELETE FROM "{t.name}" WHERE "id" = {marks[0]}'
            else:
                sql = f'SELECT 1 FROM "{t.name}" WHERE "id" = {marks[0]}'
            self._sql[key] = sql
        return sql
