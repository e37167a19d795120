"""The shipped behaviour suite, run on every backend (the ``backend`` fixture of tests/conftest.py)."""

from __future__ import annotations

import pytest

from copick_db.testing import CatalogBackendBehaviour, CopickRootBehaviour


class TestEveryBackend(CatalogBackendBehaviour):
    """Each test once per backend: a catalog factory × a store factory."""


def test_the_suite_refuses_to_run_without_a_backend(tmp_path):
    with pytest.raises(NotImplementedError):
        CopickRootBehaviour().make_root(tmp_path, {})
