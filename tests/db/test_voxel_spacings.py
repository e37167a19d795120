"""Voxel spacings: sizes in Å kept verbatim, tolerant lookup, identity, keyword routing, cascading deletes."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

import copick_db


@pytest.fixture
def run(root):
    return root.new_run("TS_001")


def _data_dir(root):
    return root.data.directories[root.data.default_id]


def _fill(vs) -> None:
    tomogram = vs.new_tomogram("wbp")
    tomogram.from_numpy(np.ones((16, 16, 16)), levels=2)
    tomogram.new_features("sobel").from_numpy(np.ones((16, 16, 16)))
    vs.new_tomogram("denoised").from_numpy(np.ones((16, 16, 16)), levels=1)


@pytest.mark.parametrize("size", [10.0, 7.84, 13.48, 6.8301, 1.0 / 3.0, 4])
def test_voxel_size_is_stored_verbatim_in_angstrom(run, reopen, size):
    vs = run.new_voxel_spacing(size)
    assert isinstance(vs, copick_db.CopickVoxelSpacingDB)
    assert vs.voxel_size == size
    again = reopen().get_run("TS_001").voxel_spacings[0]
    assert again.voxel_size == float(size)  # no unit conversion, no rounding


def test_voxel_spacing_directory_uses_copick_three_decimal_name(root, run):
    run.new_voxel_spacing(7.84).new_tomogram("wbp").from_numpy(np.ones((16, 16, 16)), levels=1)
    assert (_data_dir(root) / "ExperimentRuns" / "TS_001" / "VoxelSpacing7.840" / "wbp.zarr").is_dir()


@pytest.mark.parametrize("loaded", [False, True])
def test_get_voxel_spacing_matches_within_a_thousandth_of_an_angstrom(run, reopen, loaded):
    run.new_voxel_spacing(10.0)
    run.new_voxel_spacing(13.48)
    fresh = reopen().get_run("TS_001")
    if loaded:
        assert len(fresh.voxel_spacings) == 2
    assert fresh.get_voxel_spacing(10.0).voxel_size == 10.0
    assert fresh.get_voxel_spacing(10.0004).voxel_size == 10.0
    assert fresh.get_voxel_spacing(9.9996).voxel_size == 10.0
    assert fresh.get_voxel_spacing(13.4801).voxel_size == 13.48
    assert fresh.get_voxel_spacing(10.002) is None
    assert fresh.get_voxel_spacing(20.0) is None
    assert fresh.get_voxel_spacing(10) is not None  # an int is a voxel size too


def test_voxel_spacings_are_sorted_by_size(run, reopen):
    for size in (20.0, 5.0, 10.0):
        run.new_voxel_spacing(size)
    assert [vs.voxel_size for vs in reopen().get_run("TS_001").voxel_spacings] == [5.0, 10.0, 20.0]


def test_near_identical_voxel_size_is_a_duplicate_and_changes_nothing(root, run, snapshot):
    first = run.new_voxel_spacing(10.0)
    before = snapshot(root)
    with pytest.raises(ValueError, match="exist_ok"):
        run.new_voxel_spacing(10.0004)
    with pytest.raises(ValueError):
        run.new_voxel_spacing(10.0)
    assert snapshot(root) == before
    same = run.new_voxel_spacing(10.0004, exist_ok=True)
    assert same.voxel_size == 10.0
    assert [vs.voxel_size for vs in run.voxel_spacings] == [10.0]
    assert run.get_voxel_spacing(10.0) is not None and first.voxel_size == 10.0
    assert snapshot(root) == before


@pytest.mark.parametrize("bad", [0, 0.0, -1, -10.0, math.nan, math.inf, "abc", None, 0.0001])
def test_bad_voxel_size_raises_value_error_and_writes_nothing(root, run, snapshot, bad):
    run.new_voxel_spacing(10.0)
    before = snapshot(root)
    with pytest.raises(ValueError):
        run.new_voxel_spacing(bad)
    assert snapshot(root) == before
    assert [vs.voxel_size for vs in run.voxel_spacings] == [10.0]


def test_meta_keyword_arguments_go_to_the_meta(run, reopen):
    created = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    vs = run.new_voxel_spacing(10.0, created=created)
    assert vs.meta.created == created
    again = reopen().get_run("TS_001").get_voxel_spacing(10.0)
    assert again.meta.created == created


def test_config_keyword_argument_goes_to_the_constructor(root, run):
    vs = run.new_voxel_spacing(10.0, config=root.config)
    assert vs.config is root.config


def test_unknown_keyword_argument_raises_type_error_and_writes_nothing(root, run, snapshot):
    before = snapshot(root)
    with pytest.raises(TypeError, match="bogus"):
        run.new_voxel_spacing(10.0, bogus=1)
    assert snapshot(root) == before
    assert run.voxel_spacings == []


def test_get_voxel_spacing_with_keyword_arguments_creates_a_missing_one(run, reopen):
    created = datetime(2024, 1, 1, tzinfo=timezone.utc)
    vs = run.get_voxel_spacing(12.0, created=created)
    assert vs.voxel_size == 12.0
    assert reopen().get_run("TS_001").get_voxel_spacing(12.0).meta.created == created


def test_delete_cascades_to_tomograms_and_features_and_removes_their_data(root, run, reopen, snapshot):
    keep = run.new_voxel_spacing(20.0)
    keep.new_tomogram("wbp").from_numpy(np.ones((16, 16, 16)), levels=1)
    vs = run.new_voxel_spacing(10.0)
    _fill(vs)
    vs_dir = _data_dir(root) / "ExperimentRuns" / "TS_001" / "VoxelSpacing10.000"
    assert (vs_dir / "wbp.zarr").is_dir() and (vs_dir / "wbp_sobel_features.zarr").is_dir()

    vs.delete()

    assert not vs_dir.exists()
    assert [v.voxel_size for v in run.voxel_spacings] == [20.0]
    state = snapshot(root)
    assert len(state["catalog"]["voxel_spacing"]) == 1
    assert len(state["catalog"]["tomogram"]) == 1
    assert state["catalog"]["features"] == []
    assert all("VoxelSpacing10.000" not in f for f in state["files"])
    assert reopen().get_run("TS_001").get_voxel_spacing(10.0) is None
    np.testing.assert_array_equal(keep.get_tomogram("wbp").numpy(), 1)


def test_delete_voxel_spacings_by_size_and_all(run, reopen):
    for size in (5.0, 10.0, 20.0):
        run.new_voxel_spacing(size)
    run.delete_voxel_spacings(10.0004)
    assert [v.voxel_size for v in reopen().get_run("TS_001").voxel_spacings] == [5.0, 20.0]
    run.delete_voxel_spacings()
    assert reopen().get_run("TS_001").voxel_spacings == []


def test_ensure_reports_existence_and_recreates(run, reopen):
    vs = run.new_voxel_spacing(10.0)
    assert vs.ensure() is True
    reopen().get_run("TS_001").get_voxel_spacing(10.0).delete()
    assert vs.ensure() is False
    assert vs.ensure(create=True) is True
    assert reopen().get_run("TS_001").get_voxel_spacing(10.0) is not None


def test_a_voxel_spacing_deleted_elsewhere_is_not_resurrected_by_new_tomogram(run, reopen):
    vs = run.new_voxel_spacing(10.0)
    reopen().get_run("TS_001").get_voxel_spacing(10.0).delete()
    with pytest.raises(LookupError):
        vs.new_tomogram("wbp")
    assert reopen().get_run("TS_001").voxel_spacings == []


def test_voxel_spacings_stay_sorted_by_size_after_new_voxel_spacing_on_a_loaded_cache(run):
    assert run.voxel_spacings == []
    run.new_voxel_spacing(20.0)
    run.new_voxel_spacing(10.0)
    assert [vs.voxel_size for vs in run.voxel_spacings] == [10.0, 20.0]


def test_deleting_a_voxel_spacing_already_deleted_elsewhere_leaves_the_one_that_took_its_id(root, run, reopen):
    stale = run.new_voxel_spacing(10.0)
    other = reopen().get_run("TS_001")
    other.get_voxel_spacing(10.0).delete()
    other.new_voxel_spacing(20.0).new_tomogram("wbp").from_numpy(np.ones((16, 16, 16)), levels=1)
    stale.delete()
    again = reopen().get_run("TS_001")
    assert [vs.voxel_size for vs in again.voxel_spacings] == [20.0]
    np.testing.assert_array_equal(again.get_voxel_spacing(20.0).get_tomogram("wbp").numpy(), 1)


def test_deleting_a_voxel_spacing_recreated_elsewhere_keeps_the_new_data(root, run, reopen):
    stale = run.new_voxel_spacing(10.0)
    run.new_voxel_spacing(20.0)  # so the recreated 10.0 gets a new id
    other = reopen().get_run("TS_001")
    other.get_voxel_spacing(10.0).delete()
    other.new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.ones((16, 16, 16)), levels=1)
    stale.delete()
    np.testing.assert_array_equal(reopen().get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp").numpy(), 1)
