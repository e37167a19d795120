"""Reports print as readable tables; progress bars show on request."""

from __future__ import annotations

import io
import shutil

import numpy as np
from rich.console import Console

import copick_db
from copick_db.filesystem import ImportReport, ReportItem
from copick_db.filesystem.report import MAX_LISTED


def test_import_report_prints_counts_skipped_shadowed_removed_and_notes(project):
    project.write_config(pickable_objects=[*project.config["pickable_objects"], {"name": "x", "is_particle": True}])
    static = project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)], static=True)
    project.picks("TS_001", "alice", "1", "ribosome", [project.point(1, 2, 3)])
    gone = project.picks("TS_002", "bob", "1", "ribosome", [])
    bad = project.write("ExperimentRuns/TS_001/Picks/broken.json", "{}")
    project.import_()
    shutil.rmtree(gone.parent.parent)
    report = project.import_()
    text = str(report)
    assert f"Import of {project.config_path}" in text and f"into {project.catalog}: updated in" in text
    for header in ("kind", "added", "updated", "unchanged", "removed"):
        assert header in text
    assert "voxel spacings" in text and "object maps" in text
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") == 6}
    assert lines["picks"].split("│")[2:6] == ["     0 ", "       0 ", "         1 ", "       1 "]
    assert "Skipped (not imported): 1" in text and "fewer than three" in text
    assert "Shadowed static copies" in text and "shadowed by" in text
    assert "Removed from disk (rows kept; import with prune=True to delete them): 2" in text
    assert "Notes: 1" in text and "label 1 is already used" in text
    first_cells = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.count("│") == 3)
    for path in (bad, static, gone.parent.parent):
        assert str(path) in first_cells  # full paths, folded rather than cut


def test_long_lists_are_cut_when_printed_but_kept_in_the_report():
    report = ImportReport(config="c.json", catalog="c.sqlite")
    report.skipped = [ReportItem(f"/p/{i}", "bad") for i in range(MAX_LISTED + 7)]
    text = str(report)
    assert f"Skipped (not imported): {MAX_LISTED + 7}" in text
    assert "… and 7 more" in text and f"/p/{MAX_LISTED - 1}" in text and f"/p/{MAX_LISTED}" not in text
    assert len(report.skipped) == MAX_LISTED + 7


def test_reports_render_with_rich(project, tmp_path):
    project.run("TS_001")
    report = project.import_()
    buffer = io.StringIO()
    Console(file=buffer, width=100).print(report)
    assert "runs" in buffer.getvalue()
    export = copick_db.export_filesystem(project.open(), tmp_path / "out", progress=False)
    text = str(export)
    assert f"Export to {tmp_path / 'out'}" in text and "copick config:" in text and "exported" in text
    assert "runs" in text and "│ runs           │        1 │" in text


def test_progress_bars_show_when_asked(project, tmp_path, monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr(
        "copick_db.filesystem.progress._console", lambda: Console(file=buffer, force_terminal=True, width=100)
    )
    for r in range(3):
        project.tomogram(f"TS_{r}", 10.0, "wbp", np.ones((2, 2, 2), np.float32))
    copick_db.import_filesystem(project.config_path, project.catalog)
    assert "Importing runs" in buffer.getvalue() and "3/3" in buffer.getvalue()
    root = project.open()
    copick_db.export_filesystem(root, tmp_path / "out")
    assert "Exporting runs" in buffer.getvalue()
    silent = io.StringIO()
    monkeypatch.setattr("copick_db.filesystem.progress._console", lambda: Console(file=silent))
    copick_db.import_filesystem(project.config_path, project.catalog, progress=False)
    assert silent.getvalue() == ""
