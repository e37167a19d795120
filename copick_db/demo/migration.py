"""The migration part of the demo: a copick filesystem project, imported in place, changed on disk, re-imported.

The demo project is exported to copick's layout (``DIR/copick-project/``, which copick opens as it is), imported
into ``DIR/imported.sqlite`` without copying bulk data, then changed the way copick users change projects (new
runs with picks files, a picks file rewritten by a tool), and imported again: only what changed is read.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import copick_db
from copick_db.models.meta import CopickPicksFile
from copick_db.models.values import CopickLocation, CopickPoint

COPICK_DIR = "copick-project"
IMPORTED_NAME = "imported.sqlite"
#: Runs the demo adds to the copick project on disk before re-importing.
NEW_RUNS = ("TS_new_1", "TS_new_2", "TS_new_3")


def _remove_previous(directory: Path) -> None:
    shutil.rmtree(directory / COPICK_DIR, ignore_errors=True)
    for name in (IMPORTED_NAME, f"{IMPORTED_NAME}-wal", f"{IMPORTED_NAME}-shm"):
        (directory / name).unlink(missing_ok=True)


def _write_picks(path: Path, run: str, object_name: str, user_id: str, session_id: str, points: np.ndarray) -> None:
    """Write a picks file as copick would (``CopickPicksFile`` as JSON)."""
    document = CopickPicksFile(
        pickable_object_name=object_name,
        user_id=user_id,
        session_id=session_id,
        run_name=run,
        points=[CopickPoint(location=CopickLocation(x=x, y=y, z=z)) for x, y, z in points.tolist()],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document.model_dump(), indent=4))


def change_on_disk(project: Path, seed: int = 7) -> list[str]:
    """Change the copick project as its users would: add runs with picks, and rewrite one picks file.

    Returns:
        What was changed, in words.
    """
    rng = np.random.default_rng(seed)
    runs = project / "ExperimentRuns"
    for run in NEW_RUNS:
        (runs / run).mkdir(parents=True, exist_ok=True)
        (runs / run / ".meta").write_text("meta")
        points = rng.uniform(0, 640, size=(25, 3))
        _write_picks(runs / run / "Picks" / "demo_1_ribosome.json", run, "ribosome", "demo", "1", points)
    first = sorted((runs).glob("*/Picks/demo_1_apoferritin.json"))[0]
    run = first.parent.parent.name
    _write_picks(first, run, "apoferritin", "demo", "1", rng.uniform(0, 640, size=(40, 3)))
    return [f"added runs {', '.join(NEW_RUNS)} with ribosome picks", f"rewrote {first.relative_to(project)}"]


def _timed(label: str, action: Any) -> tuple[str, str, float]:
    start = time.perf_counter()
    result = action()
    return label, result, (time.perf_counter() - start) * 1000


def show_migration(directory: Path, catalog: Path, console: Console, *, quiet: bool = False) -> dict[str, Any]:
    """Export the demo project to copick's layout, import it, change it on disk, and re-import it.

    Args:
        directory: The demo directory.
        catalog: The demo catalog to export.
        console: Where the reports go.
        quiet: No progress bars.

    Returns:
        The two import reports and the timings (ms by label).
    """
    _remove_previous(directory)
    project = directory / COPICK_DIR
    with copick_db.open(catalog, read_only=True) as root:
        exported = copick_db.export_filesystem(root, project, progress=not quiet)
    console.print(exported)
    config = project / "copick_config.json"
    imported = directory / IMPORTED_NAME
    first = copick_db.import_filesystem(config, imported, progress=not quiet)
    console.print(first)
    changes = change_on_disk(project)
    console.print("Changed the copick project on disk: " + "; ".join(changes) + ".")
    second = copick_db.import_filesystem(config, imported, progress=not quiet)
    console.print(second)

    with copick_db.open(imported) as root:
        rows = [
            _timed("copick_db.open(imported).runs", lambda: f"{len(copick_db.open(imported).runs)} runs"),
            _timed(
                'root.get_picks(object_name="ribosome") + to_numpy() of each',
                lambda: f"{sum(len(p.to_numpy()[0]) for p in root.get_picks(object_name='ribosome')):,} points",
            ),
            _timed(
                'root.get_picks(user_id="demo", runs=["TS_new_1"])',
                lambda: f"{len(root.get_picks(user_id='demo', runs=['TS_new_1']))} pick sets",
            ),
            _timed("root.stats()", lambda: f"{root.stats()['picks']:,} pick sets"),
        ]
    table = Table(title=f"Queries on the imported project {imported}")
    for column in ("query", "result", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left", overflow="fold")
    for label, result, ms in rows:
        table.add_row(escape(label), escape(result), f"{ms:.2f}")
    console.print(table)
    return {"first": first, "second": second, "timings": {label: ms for label, _, ms in rows}}
