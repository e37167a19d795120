"""Shared fixtures: small real projects built in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import copick_db
from copick_db.db.root import CopickRootDB

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150.0},
    {"name": "proteasome", "is_particle": True, "label": 2, "radius": 90.0},
    {"name": "membrane", "is_particle": False, "label": 3},
]


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
