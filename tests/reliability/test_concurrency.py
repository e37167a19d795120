"""Concurrent writers and readers on one local catalog: nothing lost, nothing duplicated, nothing half-written.

Eight writer processes (``spawn``) commit more than 1,000 write transactions between them (runs, pick sets with
points, segmentations, meshes; some replaced, some deleted) while two reader processes list and load everything in
a loop. Afterwards every write is present exactly once, no reader saw a half-written entity, and no process failed
(in particular none with "database is locked"). Same-identity races end with one winner.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from pathlib import Path

import numpy as np
import pytest
import reliability_workers as workers

from copick_db import maintenance
from copick_db.db import bulk
from copick_db.storage import atomic

WRITERS = 8
READERS = 2
UNITS = 20  # per writer; every unit commits 7 or 8 write transactions


def _collect(results: multiprocessing.Queue, expected: int, processes: list, timeout: float) -> list[dict]:
    """Gather one report per process (before joining, so a full pipe never blocks a child)."""
    reports, deadline = [], time.monotonic() + timeout
    while len(reports) < expected:
        try:
            reports.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            break
    for process in processes:
        process.join(timeout=max(1.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
    return reports


@pytest.mark.slow
def test_eight_writers_and_two_readers_lose_nothing_and_never_see_half_written_data(tmp_path: Path, backend) -> None:
    backend.create(tmp_path, workers.CONFIG).close()
    catalog = backend.location(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    barrier, stop, results = ctx.Barrier(WRITERS + READERS), ctx.Event(), ctx.Queue()
    writer_procs = [
        ctx.Process(target=workers.writer, args=(str(catalog), w, UNITS, barrier, results)) for w in range(WRITERS)
    ]
    reader_procs = [
        ctx.Process(target=workers.reader, args=(str(catalog), r, barrier, stop, results)) for r in range(READERS)
    ]
    for process in writer_procs + reader_procs:
        process.start()
    reports = []
    deadline = time.monotonic() + 240
    while len([r for r in reports if r["role"] == "writer"]) < WRITERS and time.monotonic() < deadline:
        try:
            reports.append(results.get(timeout=1.0))
        except queue.Empty:
            if not any(p.is_alive() for p in writer_procs):
                break
    stop.set()
    reports += _collect(results, WRITERS + READERS - len(reports), writer_procs + reader_procs, timeout=120)
    writers = sorted((r for r in reports if r["role"] == "writer"), key=lambda r: r["w"])
    readers = [r for r in reports if r["role"] == "reader"]

    # Every process finished cleanly: no "database is locked", no error at all.
    assert len(writers) == WRITERS and len(readers) == READERS
    errors = [e for r in reports for e in r["errors"]]
    assert errors == [], errors[0]
    assert all(p.exitcode == 0 for p in writer_procs + reader_procs)
    commits = sum(r["commits"] for r in writers)
    assert commits >= 1000, commits

    # No reader ever saw a half-written entity, and the readers really ran alongside the writers.
    violations = [v for r in readers for v in r["violations"]]
    assert violations == [], violations[:5]
    assert all(r["iterations"] >= 2 for r in readers), [r["iterations"] for r in readers]

    # Every write is present exactly once, complete, in its final version; deleted meshes are gone.
    root = backend.open(catalog)
    try:
        expected_runs = {name for r in writers for name in r["runs"]} | set(workers.SHARED_RUNS)
        assert sorted(run.name for run in root.runs) == sorted(expected_runs)
        picks = root.get_picks()
        expected_picks = {(run, f"w{r['w']}", session) for r in writers for run, session in r["picks"]}
        seen_picks = [(p.run.name, p.user_id, p.session_id) for p in picks]
        assert len(seen_picks) == len(set(seen_picks)) == len(expected_picks)
        assert set(seen_picks) == expected_picks
        for p in picks:
            w, (unit, count) = workers.writer_of(p.user_id), workers.parse_session(p.session_id)
            assert np.array_equal(p.numpy()[0], workers.pick_points(w, unit, count))
        segs = root.get_segmentations()
        expected_segs = {(run, f"w{r['w']}", s): v for r in writers for run, s, v in r["segs"]}
        assert sorted((s.run.name, s.user_id, s.session_id) for s in segs) == sorted(expected_segs)
        for seg in segs:
            version = expected_segs[(seg.run.name, seg.user_id, seg.session_id)]
            assert workers.check_segmentation(seg, (version,)) is None
        meshes = root.get_meshes()
        expected_meshes = {(run, f"w{r['w']}", s) for r in writers for run, s in r["meshes"]}
        assert sorted((m.run.name, m.user_id, m.session_id) for m in meshes) == sorted(expected_meshes)
        assert all(workers.check_mesh(m) is None and len(m.mesh.faces) == 12 for m in meshes)
        report = maintenance.check(root)
        assert report.ok, (report.missing, report.unreferenced, report.leftovers)
    finally:
        root.close()
    print(  # the figures docs/reliability.md quotes
        f"\n{WRITERS} writers x {READERS} readers: {commits} commits, {len(picks)} pick sets, {len(segs)} "
        f"segmentations, {len(meshes)} meshes; reader passes {[r['iterations'] for r in readers]}, entities "
        f"checked {sum(r['picks_checked'] + r['segs_checked'] + r['meshes_checked'] for r in readers)}"
    )


def _race(tmp_path: Path, backend, target, processes: int = 4) -> tuple[str, list[dict]]:
    backend.create(tmp_path, workers.CONFIG).close()
    catalog = backend.location(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=target, args=(str(catalog), k, barrier, results)) for k in range(processes)]
    for process in procs:
        process.start()
    reports = _collect(results, processes, procs, timeout=180)
    assert len(reports) == processes
    assert all(p.exitcode == 0 for p in procs)
    return catalog, sorted(reports, key=lambda r: r["k"])


@pytest.mark.slow
def test_same_identity_races_end_with_one_winner_and_clean_errors_for_the_others(tmp_path: Path, backend) -> None:
    catalog, reports = _race(tmp_path, backend, workers.racer)
    assert [r["errors"] for r in reports] == [[]] * len(reports), reports[0]["errors"]

    def outcomes(step: str) -> list[str]:
        return sorted(r[step][0] for r in reports)

    # exist_ok=False: exactly one creates it; every other gets a ValueError (DuplicateEntityError).
    for step in ("run", "picks", "mesh"):
        assert outcomes(step) == ["ValueError"] * (len(reports) - 1) + ["ok"], (step, [r[step] for r in reports])
    # exist_ok=True, and writes through the entity every racer got back: all succeed.
    for step in ("run_exist_ok", "picks_exist_ok", "picks_store", "seg_exist_ok", "seg_store"):
        assert outcomes(step) == ["ok"] * len(reports), (step, [r[step] for r in reports])
    for step in ("vs_exist_ok", "tomo_exist_ok", "tomo_store"):
        assert outcomes(step) == ["ok"] * len(reports), (step, [r[step] for r in reports])

    root = backend.open(catalog)
    try:
        assert [r.name for r in root.runs] == ["contested", "contested-ok"]
        run = root.get_run("contested-ok")
        assert len(run.get_picks(user_id="race")) == 2 and len(run.get_meshes(user_id="race")) == 1
        # The last writer won, completely: the stored points are exactly one racer's.
        stored = run.get_picks(user_id="race", session_id="2")[0].numpy()[0]
        assert any(np.array_equal(stored, workers.pick_points(k, 0, 10 + k)) for k in range(len(reports)))
        (seg,) = run.get_segmentations(user_id="race")
        assert any(np.array_equal(seg.numpy(), workers.seg_volume(k, 0, 1)) for k in range(len(reports)))
        (tomo,) = run.get_voxel_spacing(10.0).tomograms
        level0 = tomo.numpy()
        assert any(np.array_equal(level0, np.full((8, 8, 8), float(k), np.float32)) for k in range(len(reports)))
        report = maintenance.check(root)
        assert report.ok, (report.missing, report.unreferenced, report.leftovers)
    finally:
        root.close()


@pytest.mark.slow
def test_concurrent_new_object_calls_succeed_with_exist_ok_and_with_free_labels(tmp_path: Path, backend) -> None:
    catalog, reports = _race(tmp_path, backend, workers.object_racer)
    assert [r["same_name_exist_ok"] for r in reports] == ["ok"] * len(reports)
    assert [r["own_name_free_label"] for r in reports] == ["ok"] * len(reports)
    root = backend.open(catalog)
    try:
        labels = [o.label for o in root.pickable_objects]
        assert len(labels) == len(set(labels)) == len(workers.OBJECTS) + 1 + len(reports)
    finally:
        root.close()


# -- a delete racing with another process that re-creates the same entity -----------------------------------------
#
# Simulated deterministically with two roots on one catalog: the first root's delete commits its row deletion, then
# (before it removes the data) the second root re-creates the entity and writes its data. The delete must not remove
# the new entity's data.


def _interleave(monkeypatch: pytest.MonkeyPatch, action) -> None:
    """Run ``action`` once, right before the next data removal after a delete commits."""
    pending = [action]

    def wrap(original):
        def wrapped(*args, **kwargs):
            while pending:
                pending.pop()()
            return original(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(bulk, "remove_released", wrap(bulk.remove_released))


@pytest.fixture
def two_roots(tmp_path: Path, backend):
    backend.create(tmp_path, workers.CONFIG).close()
    catalog = backend.location(tmp_path)
    return backend.open(catalog, user_id="u", session_id="1"), backend.open(catalog, user_id="u", session_id="1")


def _assert_consistent(root) -> None:
    root.refresh()
    report = maintenance.check(root)
    assert report.missing == [], report.missing


def test_deleting_a_tomogram_never_removes_the_data_of_one_re_created_meanwhile(two_roots, monkeypatch) -> None:
    first, second = two_roots
    first.new_run("r").new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.zeros((4, 4, 4)), levels=1)
    doomed = first.get_run("r").get_voxel_spacing(10.0).get_tomogram("wbp")

    def recreate() -> None:
        vs = second.get_run("r").get_voxel_spacing(10.0)
        vs.new_tomogram("wbp").from_numpy(np.ones((4, 4, 4)), levels=1)

    _interleave(monkeypatch, recreate)
    doomed.delete()
    again = second.get_run("r").get_voxel_spacing(10.0).get_tomogram("wbp")
    assert np.array_equal(again.numpy(), np.ones((4, 4, 4), np.float32))
    _assert_consistent(second)


def test_deleting_a_voxel_spacing_never_removes_the_data_of_one_re_created_meanwhile(two_roots, monkeypatch) -> None:
    first, second = two_roots
    first.new_run("r").new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.zeros((4, 4, 4)), levels=1)
    doomed = first.get_run("r").get_voxel_spacing(10.0)

    def recreate() -> None:
        vs = second.get_run("r").new_voxel_spacing(10.0)
        vs.new_tomogram("wbp").from_numpy(np.ones((4, 4, 4)), levels=1)

    _interleave(monkeypatch, recreate)
    doomed.delete()
    again = second.get_run("r").get_voxel_spacing(10.0).get_tomogram("wbp")
    assert np.array_equal(again.numpy(), np.ones((4, 4, 4), np.float32))
    _assert_consistent(second)


def test_deleting_a_segmentation_never_removes_the_data_of_one_re_created_meanwhile(two_roots, monkeypatch) -> None:
    first, second = two_roots
    first.new_run("r").new_segmentation(10.0, "membrane").from_numpy(np.zeros((4, 4, 4), np.uint8))
    (doomed,) = first.get_run("r").segmentations

    def recreate() -> None:
        second.get_run("r").new_segmentation(10.0, "membrane").from_numpy(np.ones((4, 4, 4), np.uint8))

    _interleave(monkeypatch, recreate)
    doomed.delete()
    (again,) = second.get_run("r").get_segmentations()
    assert np.array_equal(again.numpy(), np.ones((4, 4, 4), np.uint8))
    _assert_consistent(second)


def test_deleting_a_mesh_never_removes_the_glb_of_one_re_created_meanwhile(two_roots, monkeypatch) -> None:
    import trimesh

    first, second = two_roots
    first.new_run("r").new_mesh("proteasome")
    (doomed,) = first.get_run("r").meshes

    def recreate() -> None:
        mesh = second.get_run("r").new_mesh("proteasome")
        mesh.mesh = trimesh.creation.box()
        mesh.store()

    _interleave(monkeypatch, recreate)
    doomed.delete()
    (again,) = second.get_run("r").get_meshes()
    assert len(again.mesh.faces) == 12
    _assert_consistent(second)


def test_deleting_a_run_never_removes_the_data_of_one_re_created_meanwhile(two_roots, monkeypatch) -> None:
    first, second = two_roots
    first.new_run("r").new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.zeros((4, 4, 4)), levels=1)
    doomed = first.get_run("r")

    def recreate() -> None:
        second.refresh()
        second.new_run("r").new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.ones((4, 4, 4)), levels=1)

    _interleave(monkeypatch, recreate)
    doomed.delete()
    second.refresh()
    again = second.get_run("r").get_voxel_spacing(10.0).get_tomogram("wbp")
    assert np.array_equal(again.numpy(), np.ones((4, 4, 4), np.float32))
    _assert_consistent(second)


def test_bulk_remove_released_keeps_data_a_written_row_references_and_removes_the_rest(two_roots) -> None:
    first, _ = two_roots
    tomo = first.new_run("r").new_voxel_spacing(10.0).new_tomogram("wbp")
    tomo.from_numpy(np.zeros((4, 4, 4)), levels=1)
    data = first.data.directories[first.data.default_id]
    stray = data / "ExperimentRuns" / "r" / "VoxelSpacing10.000" / "stray.zarr"
    stray.mkdir()
    kept = bulk.remove_released(first.catalog, first.data, [tomo.path, stray, data / "ExperimentRuns" / "r"])
    assert kept == [tomo.path, data / "ExperimentRuns" / "r"]
    assert tomo.path.exists() and not stray.exists()
    assert atomic.find_leftovers(data) == []


def test_a_read_that_overlaps_a_replacement_returns_one_version_never_a_mix(two_roots, monkeypatch) -> None:
    from copick_db.storage import zarr_io

    first, second = two_roots
    first.new_run("r").new_segmentation(10.0, "membrane").from_numpy(workers.seg_volume(0, 0, 1))
    (reader,) = first.get_run("r").segmentations
    (writer,) = second.get_run("r").segmentations
    replace = [lambda: writer.from_numpy(workers.seg_volume(0, 0, 2))]
    open_array = zarr_io.open_array

    class ReplacedHalfway:
        """Reads the first chunk, lets the other process replace the store, then reads the second chunk."""

        def __init__(self, array) -> None:
            self.array = array

        def __getitem__(self, selection):
            head = np.asarray(self.array[..., :256])
            while replace:
                replace.pop()()
            return np.concatenate([head, np.asarray(self.array[..., 256:])], axis=-1)

    monkeypatch.setattr(zarr_io, "open_array", lambda *a, **k: ReplacedHalfway(open_array(*a, **k)))
    assert np.array_equal(reader.numpy(), workers.seg_volume(0, 0, 2))
    assert replace == []  # the replacement did happen in the middle of the first read
