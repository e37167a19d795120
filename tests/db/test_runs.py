"""Runs: creation, identity, unsafe names, ordering, laziness, refresh, deletion."""

from __future__ import annotations

import numpy as np
import pytest

import copick_db


def _data_dir(root):
    return root.data.directories[root.data.default_id]


def _with_tomogram(root, name: str = "TS_001"):
    run = root.new_run(name)
    run.new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.ones((16, 16, 16)), levels=1)
    return run


def test_new_run_creates_a_run_that_a_reopened_root_sees(root, reopen):
    run = root.new_run("TS_001", description="first tilt series")
    assert isinstance(run, copick_db.CopickRunDB)
    assert run.name == "TS_001"
    again = reopen().get_run("TS_001")
    assert again.name == "TS_001"
    assert again.meta.description == "first tilt series"
    assert again.meta.created is not None


def test_new_run_with_exist_ok_returns_the_existing_run(root, snapshot):
    root.new_run("TS_001", description="kept")
    before = snapshot(root)
    again = root.new_run("TS_001", exist_ok=True, description="ignored")
    assert again.name == "TS_001"
    assert again.meta.description == "kept"
    assert snapshot(root) == before


def test_new_run_with_exist_ok_returns_the_cached_instance_when_runs_are_loaded(root):
    assert root.runs == []  # loaded (empty) cache
    first = root.new_run("TS_001")
    assert root.runs == [first]
    assert root.new_run("TS_001", exist_ok=True) is first
    assert len(root.runs) == 1


def test_duplicate_run_raises_value_error_and_changes_nothing(root, snapshot):
    _with_tomogram(root)
    loaded = list(root.runs)
    before = snapshot(root)
    with pytest.raises(ValueError, match="exist_ok"):
        root.new_run("TS_001")
    assert snapshot(root) == before
    assert root.runs == loaded


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../escape", "a\\b", "a\x00b", "", "tab\there"])
def test_run_name_that_would_escape_the_data_root_raises_value_error_and_writes_nothing(root, snapshot, name):
    _with_tomogram(root)
    before = snapshot(root)
    with pytest.raises(ValueError):
        root.new_run(name)
    with pytest.raises(ValueError):
        root.get_run(name, description="would create")
    assert snapshot(root) == before
    assert [r.name for r in root.runs] == ["TS_001"]
    assert not (_data_dir(root).parent / "escape").exists()


def test_unusual_but_safe_run_names_are_kept_verbatim(root, reopen):
    names = ["TS_001", "run with spaces", "ρun-ü", "a.b"]
    for name in names:
        root.new_run(name)
    assert sorted(r.name for r in reopen().runs) == sorted(names)


def test_runs_are_sorted_by_name(root, reopen):
    for name in ["TS_010", "TS_002", "TS_001", "A"]:
        root.new_run(name)
    assert [r.name for r in reopen().runs] == ["A", "TS_001", "TS_002", "TS_010"]
    root.refresh()
    assert [r.name for r in root.runs] == ["A", "TS_001", "TS_002", "TS_010"]


def test_get_run_on_a_fresh_root_does_not_load_every_run(root, reopen, count_selects):
    for i in range(5):
        root.new_run(f"TS_{i:03d}")
    fresh = reopen()
    with count_selects(fresh) as n:
        run = fresh.get_run("TS_003")
    assert run.name == "TS_003"
    assert fresh._runs is None  # C9 fast path: random access does not fill the cache
    assert n[0] == 1
    assert fresh.get_run("missing") is None
    assert fresh._runs is None


def test_runs_is_loaded_in_one_query_and_then_cached(root, reopen, count_selects):
    for i in range(20):
        root.new_run(f"TS_{i:03d}")
    fresh = reopen()
    with count_selects(fresh) as n:
        runs = fresh.runs
        names = [r.name for r in runs]
    assert n[0] == 1
    assert len(names) == 20
    with count_selects(fresh) as n:
        assert fresh.runs is runs
        assert fresh.get_run("TS_005") is runs[5]
    assert n[0] == 0


def test_get_run_with_keyword_arguments_creates_a_missing_run(root, reopen):
    run = root.get_run("TS_009", description="made on demand")
    assert run is not None
    assert run.meta.description == "made on demand"
    assert reopen().get_run("TS_009").meta.description == "made on demand"
    # an existing run is returned as it is
    assert root.get_run("TS_009", description="other").meta.description == "made on demand"


def test_get_run_without_keyword_arguments_never_creates(root, reopen):
    assert root.get_run("TS_404") is None
    assert reopen().runs == []


def test_refresh_clears_caches_and_sees_runs_written_by_another_root(root, reopen):
    other = reopen()
    assert root.runs == []
    run = other.new_run("TS_001")
    run.new_voxel_spacing(10.0)
    assert root.runs == []  # still the cached list
    root.refresh()
    (seen,) = root.runs
    assert seen.name == "TS_001"
    assert [vs.voxel_size for vs in seen.voxel_spacings] == [10.0]
    other.get_run("TS_001").new_voxel_spacing(20.0)
    assert [vs.voxel_size for vs in seen.voxel_spacings] == [10.0]
    seen.refresh()
    assert [vs.voxel_size for vs in seen.voxel_spacings] == [10.0, 20.0]


def test_refresh_also_sees_objects_added_by_another_root(root, reopen):
    assert root.get_object("virus") is None
    reopen().new_object("virus", is_particle=True)
    root.refresh()
    assert root.get_object("virus") is not None


def test_delete_removes_the_rows_and_the_run_directory(root, reopen, snapshot):
    keep = _with_tomogram(root, "TS_002")
    run = _with_tomogram(root, "TS_001")
    run_dir = _data_dir(root) / "ExperimentRuns" / "TS_001"
    assert run_dir.is_dir()
    assert [r.name for r in root.runs] == ["TS_001", "TS_002"]
    run.delete()
    assert not run_dir.exists()
    assert [r.name for r in root.runs] == ["TS_002"]
    assert root.get_run("TS_001") is None
    state = snapshot(root)
    assert len(state["catalog"]["run"]) == 1
    assert len(state["catalog"]["voxel_spacing"]) == 1
    assert len(state["catalog"]["tomogram"]) == 1
    assert all(not f.startswith("ExperimentRuns/TS_001") for f in state["files"])
    assert reopen().get_run("TS_001") is None
    np.testing.assert_array_equal(keep.get_voxel_spacing(10.0).get_tomogram("wbp").numpy(), 1)


def test_delete_run_by_name_removes_it(root, reopen):
    _with_tomogram(root)
    root.delete_run("TS_001")
    assert root.get_run("TS_001") is None
    assert reopen().runs == []
    assert not (_data_dir(root) / "ExperimentRuns" / "TS_001").exists()


def test_delete_run_on_a_missing_name_is_a_no_op(root, snapshot):
    _with_tomogram(root)
    before = snapshot(root)
    root.delete_run("TS_404")
    assert snapshot(root) == before


def test_a_run_can_be_recreated_after_deletion(root, reopen):
    _with_tomogram(root).delete()
    run = root.new_run("TS_001")
    assert run.voxel_spacings == []
    assert reopen().get_run("TS_001").voxel_spacings == []


def test_ensure_reports_existence_and_creates_on_request(root, reopen):
    run = root.new_run("TS_001")
    assert run.ensure() is True
    reopen().delete_run("TS_001")
    assert run.ensure() is False
    assert run.ensure(create=True) is True
    assert reopen().get_run("TS_001") is not None
    run.new_voxel_spacing(10.0)  # the recreated run is usable through the old object
    assert [vs.voxel_size for vs in reopen().get_run("TS_001").voxel_spacings] == [10.0]


def test_runs_stay_sorted_by_name_after_new_run_on_a_loaded_cache(root):
    assert root.runs == []
    root.new_run("TS_002")
    root.new_run("TS_001")
    assert [r.name for r in root.runs] == ["TS_001", "TS_002"]


def test_deleting_a_run_already_deleted_elsewhere_leaves_the_run_that_took_its_id(root, reopen):
    stale = root.new_run("TS_001")
    other = reopen()
    other.delete_run("TS_001")
    other.new_run("TS_002").new_voxel_spacing(10.0)  # SQLite gives it the freed id
    stale.delete()
    again = reopen()
    assert [r.name for r in again.runs] == ["TS_002"]
    assert [vs.voxel_size for vs in again.get_run("TS_002").voxel_spacings] == [10.0]
