"""The catalog seam: backends by URL, placeholders from the driver, one error translation, bulk writes, maintenance."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import copick_db
from copick_db.catalog import engine, inventory, sqlite
from copick_db.catalog.backend import Backend, placeholder_for, translate_error
from copick_db.catalog.batch import RowRefusedError
from copick_db.catalog.catalog import Catalog, _select_sql
from copick_db.catalog.tables import ImportSource, RunRow, metadata
from copick_db.errors import CatalogError, DuplicateEntityError, NotFoundError

# -- URLs and backends ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "is_sqlite"),
    [
        ("sqlite:///tmp/p.sqlite", True),
        ("sqlite+pysqlite:///tmp/p.sqlite", True),
        ("sqlite://", True),
        ("postgresql://user@host/copick", False),
        ("postgresql+psycopg://user@host/copick", False),
        ("mysql://host/db", False),
        ("/data/project.sqlite", False),
        ("project.sqlite", False),
    ],
)
def test_is_sqlite_url_is_true_only_for_sqlite_urls(text: str, is_sqlite: bool) -> None:
    assert engine.is_sqlite_url(text) is is_sqlite


def test_a_postgresql_url_is_a_url_served_by_the_generic_backend_and_a_path_is_a_sqlite_file(tmp_path: Path) -> None:
    url = "postgresql+psycopg://user@host/copick"
    assert engine.to_url(url) == url
    assert engine.backend_for(url) is engine.GENERIC
    assert engine.database_path(url) is None
    path = tmp_path / "runs?" / "50%.sqlite"
    assert engine.backend_for(engine.to_url(path)) is sqlite.BACKEND
    assert engine.database_path(engine.to_url(path)) == path


# -- placeholders -----------------------------------------------------------------------------------------------


def test_placeholders_follow_the_drivers_paramstyle() -> None:
    assert placeholder_for("qmark") == "?"
    assert placeholder_for("pyformat") == "%s"  # psycopg
    assert placeholder_for("format") == "%s"
    assert placeholder_for("numeric_dollar") == "${}"
    with pytest.raises(ValueError, match="named"):
        placeholder_for("named")


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        ("?", 'SELECT "id" FROM "run" WHERE "name" IN (?, ?) AND "split" = ? AND "description" IS NULL'),
        ("%s", 'SELECT "id" FROM "run" WHERE "name" IN (%s, %s) AND "split" = %s AND "description" IS NULL'),
        ("${}", 'SELECT "id" FROM "run" WHERE "name" IN ($1, $2) AND "split" = $3 AND "description" IS NULL'),
    ],
)
def test_the_hot_read_path_writes_the_drivers_placeholders(mark: str, expected: str) -> None:
    where = {"name": ("a", "b"), "split": "train", "description": None}
    sql, args = _select_sql(RunRow.__table__, ["id"], where, (), mark)
    assert (sql, args) == (expected, ["a", "b", "train"])


def test_a_sqlite_catalog_reads_with_question_marks(root) -> None:
    assert root.catalog.placeholder == "?"
    root.new_run("TS_001")
    assert [r.name for r in root.catalog.rows(RunRow, {"name": ["TS_001", "x"]}, columns=("name",))] == ["TS_001"]


# -- one error translation --------------------------------------------------------------------------------------


def test_driver_errors_translate_to_copick_db_errors_and_programming_errors_stay_as_they_are() -> None:
    backend = sqlite.BACKEND
    unique = translate_error(sqlite3.IntegrityError("UNIQUE constraint failed: run.name"), "p", backend)
    assert isinstance(unique, DuplicateEntityError)
    parent = translate_error(sqlite3.IntegrityError("FOREIGN KEY constraint failed"), "p", backend)
    assert isinstance(parent, NotFoundError)
    assert isinstance(translate_error(sqlite3.OperationalError("database is locked"), "p", backend), CatalogError)
    overflow = translate_error(OverflowError("Python int too large to convert to SQLite INTEGER"), "p", backend)
    assert isinstance(overflow, ValueError)
    bug = sqlite3.ProgrammingError("Incorrect number of bindings supplied")
    assert translate_error(bug, "p", backend) is bug
    assert translate_error(sqlite3.OperationalError("x"), "p", Backend()).args == ("x",)  # generic: no codes known


# -- bulk writes ------------------------------------------------------------------------------------------------


def test_a_batch_item_refused_by_the_catalog_is_undone_whole_and_the_batch_goes_on(root) -> None:
    catalog = root.catalog
    with catalog.batch() as w:
        first = w.insert(RunRow, {"name": "a", "created": 1.0, "modified": 1.0})
        with pytest.raises(RowRefusedError) as refused, w.item():
            w.insert(RunRow, {"name": "b", "created": 1.0, "modified": 1.0})
            w.insert(RunRow, {"name": "a", "created": 1.0, "modified": 1.0})  # a duplicate: the item is refused
        assert isinstance(refused.value.reason, DuplicateEntityError)
        with w.item():
            w.insert(RunRow, {"name": "c", "created": 1.0, "modified": 1.0})
        assert w.exists(RunRow, first) and not w.exists(RunRow, first + 100)
    assert sorted(r.name for r in catalog.rows(RunRow, columns=("name",))) == ["a", "c"]


def test_a_refusal_nobody_skips_leaves_the_batch_as_the_catalogs_error_and_nothing_is_written(root) -> None:
    catalog = root.catalog
    with pytest.raises(DuplicateEntityError), catalog.batch() as w:
        w.insert(RunRow, {"name": "a", "created": 1.0, "modified": 1.0})
        w.insert(RunRow, {"name": "a", "created": 1.0, "modified": 1.0})
    assert catalog.rows(RunRow, columns=("name",)) == []


def test_an_item_whose_transaction_the_database_ended_raises_the_original_error_not_a_rollback_error(root) -> None:
    catalog = root.catalog

    class Original(Exception):
        pass

    with pytest.raises(Original, match="the error that matters"), catalog.batch() as w, w.item():
        w.insert(RunRow, {"name": "a", "created": 1.0, "modified": 1.0})
        w.conn.connection.driver_connection.execute("ROLLBACK")  # as SQLite does itself on a full disk
        raise Original("the error that matters")
    assert catalog.rows(RunRow, columns=("name",)) == []


def test_a_refusal_after_which_the_transaction_is_gone_cannot_be_skipped_as_one_items(root) -> None:
    catalog = root.catalog
    with pytest.raises(CatalogError, match="disk I/O") as raised, catalog.batch() as w:
        try:
            with w.item():
                w.conn.connection.driver_connection.execute("ROLLBACK")
                raise RowRefusedError(CatalogError("disk I/O error"))
        except RowRefusedError:  # what an import catches to skip one item
            pytest.fail("a refusal that ended the transaction was skipped as one item's")
    assert not isinstance(raised.value, RowRefusedError)


def test_batch_inserts_fill_in_the_model_defaults(root) -> None:
    with root.catalog.batch() as w:
        w.insert(RunRow, {"name": "a"})
    (row,) = root.catalog.rows(RunRow, columns=("read_only", "split"))
    assert (row.read_only, row.split) == (0, None)


# -- the registry of tables that reference data -----------------------------------------------------------------


def test_every_table_with_a_data_location_is_in_the_data_registry() -> None:
    registered = {entry.table.__table__.name for entry in inventory.DATA_TABLES}
    located = {
        t.name
        for t in metadata.sorted_tables
        # What an import read is not data an entity owns.
        if any(fk.column.table.name == "data_root" for fk in t.foreign_keys) and t.name != ImportSource.__tablename__
    }
    assert located == registered
    for entry in inventory.DATA_TABLES:
        columns = entry.table.__table__.columns
        assert entry.root_column in columns and entry.path_column in columns


def test_referenced_sees_written_data_at_a_path_or_below_it_and_ignores_unwritten_volumes(root) -> None:
    import numpy as np

    run = root.new_run("TS_001")
    tomo = run.new_voxel_spacing(10.0).new_tomogram("wbp")
    default = root.data.default_id
    where = tomo._rel_path
    with root.catalog.reading() as conn:
        assert not inventory.referenced(conn, [(default, where)])  # made by new_*: no data written yet
    tomo.from_numpy(np.zeros((4, 4, 4), np.float32), levels=1)
    run_dir = where.split("/VoxelSpacing")[0]
    with root.catalog.reading() as conn:
        assert inventory.referenced(conn, [(default, where)])
        assert inventory.referenced(conn, [(default, run_dir)])  # the run's directory holds it
        assert not inventory.referenced(conn, [(default, run_dir + "-other")])
        assert not inventory.referenced(conn, [(default + 1, where)])
        assert not inventory.referenced(conn, [])


# -- maintenance operations -------------------------------------------------------------------------------------


def test_backup_writes_a_complete_copy_and_refuses_to_overwrite(root, tmp_path: Path) -> None:
    root.new_run("TS_001")
    copy = root.catalog.backup(tmp_path / "copy.sqlite")
    with copick_db.open(copy) as restored:
        assert [r.name for r in restored.runs] == ["TS_001"]
    with pytest.raises(FileExistsError):
        root.catalog.backup(copy)


def test_integrity_check_finds_a_sound_catalog_sound_and_a_dangling_reference_not(root, catalog_path) -> None:
    root.new_run("TS_001").new_voxel_spacing(10.0)
    assert root.catalog.integrity_problems() == []
    con = sqlite3.connect(catalog_path)
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("DELETE FROM run")
    con.commit()
    con.close()
    problems = root.catalog.integrity_problems()
    assert len(problems) == 1 and "voxel_spacing" in problems[0] and "run" in problems[0]


def test_vacuum_gives_the_space_of_deleted_rows_back(root, catalog_path) -> None:
    for i in range(200):
        root.new_run(f"run-{i:03d}", description="x" * 2000)
    with root.catalog.writing() as conn:
        conn.exec_driver_sql("DELETE FROM run")
    root.catalog.engine.dispose()  # checkpoints the WAL into the file
    before = catalog_path.stat().st_size
    root.catalog.vacuum()
    root.catalog.engine.dispose()
    assert catalog_path.stat().st_size < before / 2


def test_maintenance_operations_refuse_a_read_only_catalog(root, catalog_path) -> None:
    root.close()
    catalog = Catalog.open(catalog_path, read_only=True)
    try:
        with pytest.raises(PermissionError):
            catalog.vacuum()
        with pytest.raises(PermissionError):
            catalog.migrate()
        assert catalog.integrity_problems() == []
    finally:
        catalog.close()
