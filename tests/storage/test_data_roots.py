"""Behaviour of copick_db.db.data_roots: a catalog's data roots, each opened as a data store."""

from __future__ import annotations

from pathlib import Path

import pytest

from copick_db.db.data_roots import DataRoots
from copick_db.errors import ReadOnlyError


@pytest.fixture
def roots(tmp_path: Path) -> DataRoots:
    return DataRoots({1: tmp_path / "overlay", 2: tmp_path / "static"}, default_id=1, read_only={2})


def test_each_root_is_one_store_and_a_static_root_is_a_read_only_one(roots: DataRoots, tmp_path: Path) -> None:
    assert roots.store(1) is roots.store(1) is roots.default_store
    assert roots.store(1).location == str(tmp_path / "overlay") and not roots.store(1).read_only
    assert roots.store(2).read_only
    with pytest.raises(ReadOnlyError):
        roots.store(2).stage("Objects/ribosome.zarr")
    assert roots.writable_ids() == [1]


def test_a_path_or_a_row_location_names_the_same_places(roots: DataRoots, tmp_path: Path) -> None:
    key = "ExperimentRuns/TS_001"
    assert roots.places((1, key)) == [(1, key)]
    assert roots.places(tmp_path / "overlay" / key) == [(1, key)]
    assert roots.places(tmp_path / "elsewhere") == []
    assert roots.resolve(2, key) == tmp_path / "static" / key


def test_nested_roots_both_name_data_inside_the_inner_one(tmp_path: Path) -> None:
    roots = DataRoots({1: tmp_path, 2: tmp_path / "static"}, default_id=1, read_only={2})
    assert roots.places((2, "Objects/a.zarr")) == [(1, "static/Objects/a.zarr"), (2, "Objects/a.zarr")]


def test_an_added_root_replaces_the_store_it_had(roots: DataRoots, tmp_path: Path) -> None:
    before = roots.store(2)
    roots.add(2, tmp_path / "moved", read_only=True)
    assert roots.store(2) is not before and roots.store(2).location == str(tmp_path / "moved")
    roots.add(3, tmp_path / "extra")
    assert roots.writable_ids() == [1, 3] and not roots.store(3).read_only
