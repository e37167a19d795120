"""Shared set-up of the reliability tests: child processes need the worker modules of this folder importable."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

from copick_db.testing.backends import Backend, backend_named, one_per_catalog_kind

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    # spawn and forkserver children get the parent's sys.path, and import the workers from here.
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def forkserver():
    """A multiprocessing context whose children fork from a server that has copick_db and the workers imported.

    Forking from that clean, single-threaded server costs milliseconds per child instead of the second a fresh
    interpreter needs to import numpy, zarr and SQLAlchemy.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["copick_db", "copick_db.maintenance", "reliability_workers", "crash_operations"])
    return context


@pytest.fixture(params=one_per_catalog_kind())
def backend(request: pytest.FixtureRequest):
    """One backend per kind of catalog database: the concurrency tests test its locking and transactions."""
    chosen: Backend = backend_named(request.param)
    yield chosen
    chosen.close_all()
