"""The demo builder: ``python -m copick_db.demo DIR`` builds what it reports, and replaces an earlier demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import copick_db
from copick_db.demo import project as demo


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A 20-run demo, built once for the module (with its tables printed, to exercise the report)."""
    directory = tmp_path_factory.mktemp("demo-build") / "demo"
    return directory, demo.main([str(directory), "--runs", "20"])


def test_layout_for_240_runs_queries_ts_120() -> None:
    layout = demo.DemoLayout.for_runs(240)
    assert layout.run_names[0] == "TS_001" and layout.run_names[-1] == "TS_240"
    assert len(layout.tomogram_runs) == demo.TOMOGRAM_RUNS
    assert layout.query_run == "TS_120"
    assert set(layout.tomogram_runs) <= layout.coarse_runs
    assert layout.feature_runs <= set(layout.tomogram_runs)


def test_catalog_holds_what_the_demo_reports(built: tuple[Path, dict]) -> None:
    directory, report = built
    layout = demo.DemoLayout.for_runs(20)
    with copick_db.open(directory / demo.CATALOG_NAME) as root:
        runs = root.runs
        assert [r.name for r in runs] == [f"TS_{i:03d}" for i in range(1, 21)]
        spacings = [vs for r in runs for vs in r.voxel_spacings]
        tomograms = [t for vs in spacings for t in vs.tomograms]
        features = [f for t in tomograms for f in t.features]
        objects = root.pickable_objects

        assert report["runs"] == len(runs) == 20
        assert all(r.get_voxel_spacing(demo.FINE) is not None for r in runs)
        assert report["voxel_spacings"] == len(spacings) == 20 + len(layout.coarse_runs)
        assert report["tomograms"] == len(tomograms) == 2 * len(layout.tomogram_runs)
        assert report["features"] == len(features) == len(layout.feature_runs) > 0
        assert report["objects"] == len(objects) == 4
        assert report["particles"] == report["density_maps"] == 3
        assert [o.name for o in objects if not o.is_particle] == ["membrane"]
        assert all(o.radius and o.color for o in objects if o.is_particle)


def test_tomograms_and_maps_are_readable(built: tuple[Path, dict]) -> None:
    directory, report = built
    with copick_db.open(directory / demo.CATALOG_NAME, read_only=True) as root:
        run = root.get_run(report["query_run"])
        fine = run.get_voxel_spacing(demo.FINE).get_tomogram(demo.TOMO_TYPE)
        coarse = run.get_voxel_spacing(demo.COARSE).get_tomogram(demo.TOMO_TYPE)
        assert fine.numpy().shape == demo.TOMO_SHAPE
        assert fine.numpy("2").shape == tuple(n // 4 for n in demo.TOMO_SHAPE)
        assert coarse.numpy().shape == tuple(n // 2 for n in demo.TOMO_SHAPE)
        region = fine.numpy(x=slice(0, 32), y=slice(0, 16), z=slice(0, 8))
        assert region.shape == (8, 16, 32) and region.dtype == np.float32
        assert np.isfinite(region).all() and region.std() > 0
        ribosome = root.get_object("ribosome").numpy()
        assert ribosome.ndim == 3 and ribosome.max() > 0.9


def test_timings_are_reported(built: tuple[Path, dict]) -> None:
    _, report = built
    assert len(report["timings"]) == 5
    assert all(ms > 0 for ms in report["timings"].values())


def test_a_second_build_replaces_the_first(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    demo.main([str(directory), "--runs", "12", "--quiet"])
    (directory / "keep.txt").write_text("not the demo's")
    report = demo.main([str(directory), "--runs", "5", "--quiet"])
    assert report["runs"] == 5
    with copick_db.open(directory / demo.CATALOG_NAME) as root:
        assert [r.name for r in root.runs] == ["TS_001", "TS_002", "TS_003", "TS_004", "TS_005"]
    assert not (directory / "demo.data" / "ExperimentRuns" / "TS_012").exists()
    assert (directory / "keep.txt").read_text() == "not the demo's"
    with copick_db.from_file(directory / demo.POINTER_NAME) as root:
        assert root.get_run("TS_005") is not None


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo.main([str(tmp_path / "demo"), "--runs", "1", "--quiet"])
    assert capsys.readouterr().out == ""


def test_rejects_zero_runs(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        demo.main([str(tmp_path / "demo"), "--runs", "0"])


def test_the_migration_imports_the_exported_project_then_only_what_changed_on_disk(built: tuple[Path, dict]) -> None:
    directory, report = built
    first, second = report["migration"]["first"], report["migration"]["second"]
    assert first.created and first.counts["runs"].added == 20
    assert first.counts["picks"].added == report["picks"] == 20 * 6
    assert not second.created
    assert (second.counts["runs"].added, second.counts["runs"].unchanged) == (3, 20)
    assert (second.counts["picks"].added, second.counts["picks"].updated) == (3, 1)
    imported = copick_db.open(directory / "imported.sqlite")
    assert len(imported.get_picks(object_name="ribosome", runs=["TS_new_1"])[0].numpy()[0]) == 25
    imported.close()


def test_demo_picks_come_from_a_person_and_a_tool(built: tuple[Path, dict]) -> None:
    directory, _ = built
    with copick_db.open(directory / "demo.sqlite") as root:
        run = root.runs[0]
        assert len(run.user_picks()) == 3 and len(run.tool_picks()) == 3
        assert all(p.to_numpy()[1] is not None for p in run.tool_picks())
