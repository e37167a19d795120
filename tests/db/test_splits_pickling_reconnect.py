"""Run splits, roots and runs sent to worker processes, and reconnecting: the process-pool parts of copick 1.31."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import copick_db


@pytest.fixture
def three_runs(root):
    for name in ("TS_001", "TS_002", "TS_003"):
        root.new_run(name)
    return root


# -- splits ------------------------------------------------------------------------------------------------------


def test_a_run_has_no_split_until_one_is_set_and_the_split_is_stored(three_runs, reopen):
    run = three_runs.get_run("TS_001")
    assert run.split is None
    run.split = "train"
    assert run.split == "train"
    assert reopen().get_run("TS_001").split == "train"
    run.split = ""
    assert reopen().get_run("TS_001").split is None


@pytest.mark.parametrize("bad", [3, " train", "train\n", "x" * 65, ["train"]])
def test_a_bad_split_raises_value_error_and_changes_nothing(three_runs, reopen, bad):
    run = three_runs.get_run("TS_001")
    run.split = "val"
    with pytest.raises(ValueError, match="split"):
        run.split = bad
    assert run.split == "val"
    assert reopen().get_run("TS_001").split == "val"


def test_splits_cannot_be_set_on_a_read_only_root(three_runs, reopen):
    with pytest.raises(PermissionError):
        reopen(read_only=True).get_run("TS_001").split = "train"
    with pytest.raises(PermissionError):
        reopen(read_only=True).set_splits({"train": ["TS_001"]})


def test_set_splits_assigns_many_runs_at_once_and_lists_them_by_split(three_runs, reopen):
    three_runs.set_splits({"train": ["TS_001", "TS_002"], "test": [three_runs.get_run("TS_003")]})
    fresh = reopen()
    assert fresh.splits == {"test": ["TS_003"], "train": ["TS_001", "TS_002"]}
    train = fresh.get_runs_in_split("train")
    assert [r.name for r in train] == ["TS_001", "TS_002"]
    assert train[0] is fresh.get_run("TS_001")  # the root's one object for the run
    assert fresh.get_runs_in_split("val") == []


def test_set_splits_with_clear_existing_leaves_exactly_the_mapping(three_runs, reopen):
    three_runs.set_splits({"train": ["TS_001", "TS_002"]})
    three_runs.set_splits({"val": ["TS_003"]}, clear_existing=True)
    assert reopen().splits == {"val": ["TS_003"]}
    assert three_runs.get_run("TS_001").split is None  # objects handed out see the change at once


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"train": ["TS_001"], "test": ["TS_001"]}, "two splits"),
        ({"train": ["TS_001", "TS_404"]}, "TS_404"),
        ({"": ["TS_001"]}, "clear_splits"),
    ],
)
def test_set_splits_refuses_bad_mappings_as_a_whole(three_runs, reopen, mapping, message):
    three_runs.set_splits({"val": ["TS_002"]})
    with pytest.raises(ValueError, match=message):
        three_runs.set_splits(mapping)
    assert reopen().splits == {"val": ["TS_002"]}


def test_clear_splits_clears_the_named_runs_or_every_run(three_runs, reopen):
    three_runs.set_splits({"train": ["TS_001", "TS_002"], "test": ["TS_003"]})
    three_runs.clear_splits(["TS_001"])
    assert reopen().splits == {"test": ["TS_003"], "train": ["TS_002"]}
    three_runs.clear_splits()
    assert reopen().splits == {}


def test_cross_run_queries_filter_by_split(three_runs):
    for run in three_runs.runs:
        run.new_picks("ribosome", "1").from_numpy(np.ones((2, 3)))
        run.new_voxel_spacing(10.0).new_tomogram("wbp")
        run.new_segmentation(10.0, "membrane", "1")
        run.new_mesh("membrane", "1")
    three_runs.set_splits({"train": ["TS_001", "TS_002"], "test": ["TS_003"]})
    assert [p.run.name for p in three_runs.get_picks(split="train")] == ["TS_001", "TS_002"]
    assert [p.run.name for p in three_runs.get_picks(split=["test"], runs=["TS_001", "TS_003"])] == ["TS_003"]
    assert [t.voxel_spacing.run.name for t in three_runs.get_tomograms(split="test")] == ["TS_003"]
    assert len(three_runs.get_segmentations(split="train")) == 2
    assert len(three_runs.get_meshes(split="val")) == 0


# -- pickling and reconnecting ---------------------------------------------------------------------------------------


def test_a_pickled_root_reopens_the_same_catalog_as_the_same_user(three_runs):
    three_runs.user_id = "bob"
    copy = pickle.loads(pickle.dumps(three_runs))
    try:
        assert copy is not three_runs
        assert copy.catalog.path == three_runs.catalog.path
        assert copy.user_id == "bob" and not copy.read_only
        assert [r.name for r in copy.runs] == ["TS_001", "TS_002", "TS_003"]
    finally:
        copy.close()


def test_a_pickled_read_only_root_stays_read_only(catalog_path, three_runs):
    with copick_db.open(catalog_path, read_only=True) as ro:
        copy = pickle.loads(pickle.dumps(ro))
        with pytest.raises(PermissionError):
            copy.new_run("TS_new")
        copy.close()


def test_a_pickled_root_keeps_a_data_root_given_to_open(catalog_path, three_runs, tmp_path):
    moved = tmp_path / "moved-data"
    with copick_db.open(catalog_path, data_root=moved) as root:
        copy = pickle.loads(pickle.dumps(root))
        copy.get_run("TS_001").new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.zeros((4, 4, 4)), levels=1)
        copy.close()
    assert (moved / "ExperimentRuns" / "TS_001" / "VoxelSpacing10.000" / "wbp.zarr").is_dir()


def _write_picks(run, count: int) -> int:
    """Runs in a worker process: the run arrives pickled, the root is reopened there."""
    picks = run.new_picks("ribosome", "0", user_id="worker")
    picks.from_numpy(np.full((count, 3), float(count)))
    return len(picks.numpy()[0])


def test_roots_and_runs_go_to_worker_processes_and_their_writes_come_back(three_runs, reopen):
    context = multiprocessing.get_context("spawn")  # nothing inherited: the worker must reopen the catalog
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        counts = list(pool.map(_write_picks, three_runs.runs, [1, 2, 3]))
    assert counts == [1, 2, 3]
    found = reopen().get_picks(user_id="worker")
    assert [(p.run.name, len(p.numpy()[0])) for p in found] == [("TS_001", 1), ("TS_002", 2), ("TS_003", 3)]


def test_unpickling_a_deleted_run_raises_lookup_error(three_runs):
    data = pickle.dumps(three_runs.get_run("TS_002"))
    three_runs.delete_run("TS_002")
    with pytest.raises(LookupError, match="TS_002"):
        pickle.loads(data)


def test_reconnect_drops_every_cache_and_sees_other_writers(three_runs, reopen):
    run = three_runs.get_run("TS_001")
    assert len(three_runs.runs) == 3
    reopen().new_run("TS_004")
    three_runs.reconnect()
    assert [r.name for r in three_runs.runs] == ["TS_001", "TS_002", "TS_003", "TS_004"]
    assert three_runs.get_run("TS_001") is not run
    three_runs.get_run("TS_004").new_picks("ribosome", "1")  # the new connection writes
    assert len(reopen().get_picks()) == 1
