"""The shipped behaviour suite, run against the catalog-backed classes: a file catalog and a URL catalog."""

from __future__ import annotations

import pytest

import copick_db
from copick_db.testing import CopickRootBehaviour


class TestFileCatalog(CopickRootBehaviour):
    """A catalog given as a path, with the default data root beside it."""

    def make_root(self, tmp_path, config):
        return copick_db.create(tmp_path / "project.sqlite", config)

    def reopen(self, root, **kwargs):
        return copick_db.open(root.catalog.path, **kwargs)


class TestUrlCatalog(CopickRootBehaviour):
    """A catalog given as an SQLAlchemy URL, with an explicit data root elsewhere."""

    def make_root(self, tmp_path, config):
        return copick_db.create(f"sqlite:///{tmp_path / 'db' / 'c.sqlite'}", config, data_root=tmp_path / "data")

    def reopen(self, root, **kwargs):
        return copick_db.open(root.catalog.url, **kwargs)


def test_the_suite_refuses_to_run_without_a_backend(tmp_path):
    with pytest.raises(NotImplementedError):
        CopickRootBehaviour().make_root(tmp_path, {})
