"""Shared fixtures: small real projects built in ``tmp_path``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

import copick_db
from copick_db.db.root import CopickRootDB
from copick_db.testing.backends import BACKEND_IDS, Backend, backend_named

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150.0},
    {"name": "proteasome", "is_particle": True, "label": 2, "radius": 90.0},
    {"name": "membrane", "is_particle": False, "label": 3},
]


@pytest.fixture(params=BACKEND_IDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each backend a project can live on (catalog × store); every root it opens is closed afterwards."""
    chosen = backend_named(request.param)
    yield chosen
    chosen.close_all()


@pytest.fixture
def config() -> dict:
    """A copick-style config dict with three objects and a default user."""
    return {"name": "test project", "pickable_objects": [dict(o) for o in OBJECTS], "user_id": "alice"}


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    """Where a test's catalog lives."""
    return tmp_path / "project.sqlite"


@pytest.fixture
def root(catalog_path: Path, config: dict) -> Iterator[CopickRootDB]:
    """A fresh, empty project."""
    project = copick_db.create(catalog_path, config)
    yield project
    project.close()


@pytest.fixture
def reopen(catalog_path: Path) -> Iterator:
    """Open the test catalog again (a fresh root with empty caches); closes every root it made."""
    opened: list[CopickRootDB] = []

    def _reopen(**kwargs) -> CopickRootDB:
        project = copick_db.open(catalog_path, **kwargs)
        opened.append(project)
        return project

    yield _reopen
    for project in opened:
        project.close()


# -- observing the catalog and the data root from outside ------------------------------------------------------


def catalog_rows(catalog: Path) -> dict[str, list[tuple]]:
    """Every row of every table of a catalog file, read with a separate read-only sqlite3 connection."""
    con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def data_files(directory: Path) -> list[str]:
    """Every file and directory under ``directory``, as sorted relative POSIX paths."""
    directory = Path(directory)
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))


def data_dir(root: CopickRootDB) -> Path:
    """The directory new bulk data of ``root`` goes to."""
    return root.data.directories[root.data.default_id]


@pytest.fixture
def snapshot(catalog_path: Path):
    """``snapshot(root)``: the catalog's rows and the data root's file list, to compare before and after."""

    def _snapshot(root: CopickRootDB) -> dict:
        return {"catalog": catalog_rows(catalog_path), "files": data_files(data_dir(root))}

    return _snapshot


@pytest.fixture
def count_selects():
    """``with count_selects(root) as n: ...``, then ``n[0]`` is how many SELECT statements the block ran.

    Statements are traced at the sqlite3 driver, so queries that bypass SQLAlchemy's execution events count too.
    """

    @contextmanager
    def _count(root: CopickRootDB) -> Iterator[list[int]]:
        counter = [0]
        active = [True]

        def trace(statement: str) -> None:
            if active[0] and statement.lstrip().upper().startswith("SELECT"):
                counter[0] += 1

        def on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.set_trace_callback(trace)

        engine = root.catalog.engine
        engine.dispose()  # pooled connections would not be traced
        event.listen(engine, "connect", on_connect)
        try:
            yield counter
        finally:
            active[0] = False
            event.remove(engine, "connect", on_connect)
            engine.dispose()

    return _count
