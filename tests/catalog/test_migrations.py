"""The schema is made only by migrations, and migrations match the table models."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import copick_db
from copick_db.catalog import schema
from copick_db.catalog.tables import metadata


def test_migrations_produce_exactly_the_table_models(root, catalog_path):
    with root.catalog.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_schema_version_is_the_newest_migration():
    config = Config()
    config.set_main_option("script_location", str(schema.migrations_dir()))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert int(head) == schema.SCHEMA_VERSION


def test_every_migration_file_is_numbered_like_its_revision():
    for path in (schema.migrations_dir() / "versions").glob("*.py"):
        revision = re.search(r"^revision = ['\"](\d+)['\"]", path.read_text(), re.M)
        assert revision is not None and path.name.startswith(revision.group(1) + "_"), path.name


def test_connections_enforce_foreign_keys_and_wal(root):
    with root.catalog.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_migrations_dir_is_found_in_a_source_checkout():
    assert schema.migrations_dir() == Path(copick_db.__file__).resolve().parent.parent / "migrations"
