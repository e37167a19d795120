"""Re-imports: idempotent, incremental (only new or changed sources are read), removals reported, pruned on demand."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time

import numpy as np
import pytest


def _catalog(project) -> dict[str, list[tuple]]:
    con = sqlite3.connect(f"file:{project.catalog}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def _touch(path, seconds: float = 5.0) -> None:
    """Change a file's mtime (as an edit would), without relying on the clock having moved."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + int(seconds * 1e9)))


def _populated(project):
    volume = np.ones((4, 5, 6), np.float32)
    for run in ("TS_001", "TS_002"):
        project.picks(run, "alice", "1", "ribosome", [project.point(1, 2, 3)])
        project.picks(run, "bob", "0", "my-object", [project.point(4, 5, 6, score=None)], static=True)
        project.tomogram(run, 10.0, "wbp", volume, static=True)
        project.features(run, 10.0, "wbp", "sobel", volume)
        project.segmentation(run, 10.0, "alice", "1", "membrane", volume.astype(np.uint8))
        project.mesh(run, "alice", "1", "membrane")
    project.object_map("ribosome", volume)
    return project


def test_second_import_of_an_unchanged_project_changes_nothing(project):
    _populated(project)
    first = project.import_()
    before = _catalog(project)
    second = project.import_()
    assert not second.changed and not second.created
    assert second.total("added") == second.total("updated") == second.total("removed") == 0
    assert second.counts["picks"].unchanged == 4 and second.counts["tomograms"].unchanged == 2
    assert second.total("unchanged") == first.total("added")
    assert _catalog(project) == before


def test_unchanged_sources_are_not_read_again(project, monkeypatch):
    _populated(project)
    project.import_()
    calls = []
    import copick_db.filesystem.content as content

    for name in ("read_picks", "inspect_store"):
        original = getattr(content, name)
        monkeypatch.setattr(content, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    monkeypatch.setattr(content.glb, "read_glb", lambda *a: calls.append("read_glb"))
    project.import_()
    assert calls == []


def test_reimport_takes_a_fraction_of_the_first_import(make_project):
    project = make_project("timed", static=False)
    rng = np.random.default_rng(1)
    for r in range(150):
        for obj in ("ribosome", "my-object"):
            points = [project.point(*map(float, xyz)) for xyz in rng.uniform(0, 1000, (120, 3))]
            project.picks(f"TS_{r:03d}", "alice", "1", obj, points)
    start = time.perf_counter()
    project.import_()
    first = time.perf_counter() - start
    again = []
    for _ in range(3):
        start = time.perf_counter()
        report = project.import_()
        again.append(time.perf_counter() - start)
        assert not report.changed
    assert min(again) <= 0.25 * first, (first, again)


def test_new_runs_picks_and_segmentations_are_added_and_only_they(project):
    _populated(project)
    project.import_()
    project.picks("TS_003", "carol", "1", "ribosome", [project.point(9, 9, 9)])
    project.picks("TS_001", "carol", "1", "ribosome", [])
    project.segmentation("TS_002", 10.0, "carol", "1", "mix", np.zeros((2, 2, 2), np.uint8), multilabel=True)
    report = project.import_()
    assert project.counts(report, "runs") == (1, 0, 2, 0)
    assert project.counts(report, "picks") == (2, 0, 4, 0)
    assert project.counts(report, "segmentations") == (1, 0, 2, 0)
    assert project.counts(report, "tomograms") == (0, 0, 2, 0)
    root = project.open()
    assert [r.name for r in root.runs] == ["TS_001", "TS_002", "TS_003"]
    assert root.get_run("TS_003").picks[0].numpy()[0].tolist() == [[9.0, 9.0, 9.0]]


def test_a_changed_picks_file_is_re_read(project):
    path = project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.import_()
    document = json.loads(path.read_text())
    document["points"].append(project.point(7, 8, 9, score=0.5))
    path.write_text(json.dumps(document))
    _touch(path)
    report = project.import_()
    assert project.counts(report, "picks") == (0, 1, 0, 0)
    (picks,) = project.open().get_run("TS_001").picks
    assert picks.numpy()[0].tolist() == [[1, 2, 3], [7, 8, 9]]
    assert [p.score for p in picks.points] == [1.0, 0.5]


def test_a_changed_store_updates_its_row(project):
    path = project.tomogram("TS_001", 10.0, "wbp", None)  # created empty, as copick's new_tomogram does
    project.import_()
    assert project.open().get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp").meta.dimensions is None
    shutil.rmtree(path)
    project.tomogram("TS_001", 10.0, "wbp", np.ones((3, 4, 5), np.float32))
    report = project.import_()
    assert project.counts(report, "tomograms") == (0, 1, 0, 0)
    tomogram = project.open().get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp")
    assert tomogram.meta.dimensions == (5, 4, 3)


def test_a_file_that_turns_invalid_keeps_its_row_and_is_listed(project):
    path = project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.import_()
    path.write_text("{broken")
    _touch(path)
    report = project.import_()
    assert "not valid JSON" in project.reasons(report)[str(path)]
    assert report.total("removed") == 0
    assert len(project.open().get_run("TS_001").picks[0].points) == 1


def test_deleted_sources_are_reported_and_kept_without_prune(project):
    _populated(project)
    project.import_()
    picks = project.overlay / "ExperimentRuns/TS_001/Picks/alice_1_ribosome.json"
    picks.unlink()
    shutil.rmtree(project.overlay / "ExperimentRuns/TS_001/Segmentations")
    report = project.import_()
    assert project.counts(report, "picks") == (0, 0, 3, 1)
    assert project.counts(report, "segmentations") == (0, 0, 1, 1)
    assert {r.path for r in report.removed} >= {str(picks)}
    assert all("kept" in r.reason for r in report.removed)
    assert len(project.open().get_run("TS_001").picks) == 2  # the row is still there
    assert project.import_().counts["picks"].removed == 1  # and still reported


def test_prune_deletes_the_rows_of_deleted_sources(project):
    _populated(project)
    project.import_()
    (project.overlay / "ExperimentRuns/TS_001/Picks/alice_1_ribosome.json").unlink()
    shutil.rmtree(project.overlay / "Objects/ribosome.zarr")
    shutil.rmtree(project.overlay / "ExperimentRuns/TS_002")
    shutil.rmtree(project.static / "ExperimentRuns/TS_002")
    report = project.import_(prune=True)
    assert report.pruned
    assert project.counts(report, "runs") == (0, 0, 1, 1)
    assert project.counts(report, "picks") == (0, 0, 1, 3)
    assert project.counts(report, "object_maps") == (0, 0, 0, 1)
    root = project.open()
    assert [r.name for r in root.runs] == ["TS_001"]
    assert [p.user_id for p in root.get_run("TS_001").picks] == ["bob"]
    with pytest.raises(KeyError, match="no density map"):
        root.get_object("ribosome").numpy()
    again = project.import_(prune=True)
    assert not again.changed


def test_prune_keeps_a_run_that_still_holds_copick_db_data(project):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.import_()
    root = project.open()
    root.get_run("TS_001").new_picks("ribosome", "7", user_id="dora").from_numpy(np.zeros((1, 3)))
    root.close()
    shutil.rmtree(project.overlay / "ExperimentRuns/TS_001")
    report = project.import_(prune=True)
    assert project.counts(report, "runs") == (0, 0, 0, 1)
    assert any("still holds" in r.reason for r in report.removed)
    (picks,) = project.open().get_run("TS_001").picks
    assert picks.user_id == "dora"


def test_a_run_left_on_one_side_is_not_removed(project):
    project.picks("TS_001", "alice", "1", "ribosome", [], static=True)
    project.run("TS_001")
    project.import_()
    shutil.rmtree(project.overlay / "ExperimentRuns/TS_001")
    report = project.import_(prune=True)
    assert project.counts(report, "runs") == (0, 0, 1, 0) and not report.removed


def test_overlay_copy_takes_over_from_static_and_back(project):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 1, 1)], static=True)
    project.import_()
    assert project.open().get_run("TS_001").picks[0].read_only
    overlay = project.picks("TS_001", "alice", "1", "ribosome", [project.point(2, 2, 2)])
    report = project.import_()
    assert project.counts(report, "picks") == (0, 1, 0, 0) and len(report.shadowed) == 1
    (picks,) = project.open().get_run("TS_001").picks
    assert not picks.read_only and picks.numpy()[0].tolist() == [[2, 2, 2]]
    overlay.unlink()
    report = project.import_()
    assert project.counts(report, "picks") == (0, 1, 0, 0) and not report.removed
    (picks,) = project.open().get_run("TS_001").picks
    assert picks.read_only and picks.numpy()[0].tolist() == [[1, 1, 1]]


def test_an_entity_deleted_through_copick_db_comes_back_from_its_file(project):
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    project.import_()
    root = project.open()
    root.get_run("TS_001").picks[0].delete()
    root.close()
    report = project.import_()
    assert project.counts(report, "picks") == (1, 0, 0, 0)


def test_data_written_through_copick_db_is_adopted_not_duplicated(project):
    project.run("TS_001")
    project.import_()
    root = project.open()
    vs = root.get_run("TS_001").new_voxel_spacing(10.0)
    vs.new_tomogram("wbp").from_numpy(np.ones((4, 4, 4), np.float32), levels=1)
    root.get_run("TS_001").new_mesh("ribosome", "1", user_id="alice")
    root.close()
    report = project.import_()
    assert project.counts(report, "voxel_spacings") == (0, 0, 1, 0)
    assert project.counts(report, "tomograms") == (0, 1, 0, 0)
    assert project.counts(report, "meshes") == (0, 1, 0, 0)
    assert not report.skipped
    assert not project.import_().changed


def test_a_file_clashing_with_copick_db_picks_is_skipped(project):
    project.run("TS_001")
    project.import_()
    root = project.open()
    root.get_run("TS_001").new_picks("ribosome", "1", user_id="alice").from_numpy(np.ones((2, 3)))
    root.close()
    path = project.picks("TS_001", "alice", "1", "ribosome", [project.point(5, 5, 5)])
    report = project.import_()
    assert "made with copick_db" in project.reasons(report)[str(path)]
    assert project.open().get_run("TS_001").picks[0].numpy()[0].tolist() == [[1, 1, 1], [1, 1, 1]]


def test_config_changes_update_objects_and_settings(project):
    project.import_()
    objects = [dict(o) for o in project.config["pickable_objects"]]
    objects[0]["radius"] = 99.0
    objects.append({"name": "proteasome", "is_particle": True, "label": 9})
    project.write_config(pickable_objects=objects, name="renamed")
    report = project.import_()
    assert project.counts(report, "objects") == (1, 1, 2, 0)
    root = project.open()
    assert root.config.name == "renamed"
    assert root.get_object("ribosome").radius == 99.0
    assert root.get_object("proteasome").label == 9


def test_swapped_labels_are_applied(project):
    project.import_()
    objects = [dict(o) for o in project.config["pickable_objects"]]
    objects[0]["label"], objects[1]["label"] = objects[1]["label"], objects[0]["label"]
    project.write_config(pickable_objects=objects)
    report = project.import_()
    assert project.counts(report, "objects") == (0, 2, 1, 0)
    assert {o.name: o.label for o in project.open().pickable_objects} == {"ribosome": 2, "membrane": 1, "my-object": 3}


@pytest.mark.parametrize("batch", [1, 2])
def test_batches_do_not_change_the_result(project, monkeypatch, batch):
    monkeypatch.setattr("copick_db.filesystem.importer.BATCH_RUNS", batch)
    for r in range(5):
        project.picks(f"TS_{r}", "alice", "1", "ribosome", [project.point(r, r, r)])
    report = project.import_()
    assert project.counts(report, "picks") == (5, 0, 0, 0)
    assert not project.import_().changed
