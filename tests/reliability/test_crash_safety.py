"""A writer killed with SIGKILL anywhere in a write or a delete leaves a project that opens, checks clean and reads
back complete.

For every operation of ``crash_operations`` a child process first runs it once to list its kill points: every named
crash point it passes (``copick_db.crashpoints``: data staged, row changed, data swapped in, commit, settle, trash)
and every change it makes to the filesystem (seen through an audit hook: each file opened for writing, each rename,
mkdir, unlink...). Then, for each kill point, a fresh copy of the project is handed to a child that is killed exactly
there. After each kill:

- the catalog opens;
- ``maintenance.check`` and ``copick-db check`` report no entity whose data is missing or partial;
- every visible entity reads back as one complete version (the one before or the one after the operation);
- ``copick-db check --fix --yes`` removes the leftover temporaries (``--remove-unreferenced`` the data a killed
  delete or create left without a row), after which the project checks clean and still reads back complete.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import crash_operations
import numpy as np
import pytest
import reliability_workers as workers

import copick_db
from copick_db import crashpoints, maintenance
from copick_db.db import bulk
from copick_db.storage import atomic

#: Filesystem-change kill points tried per operation (spread evenly over all of them; named points are all tried).
FS_KILLS_PER_OPERATION = 8


def _copy(base: Path, into: Path) -> Path:
    shutil.copytree(base, into)
    return into


def _base(tmp_path: Path, operation: str) -> Path:
    base = tmp_path / "base"
    base.mkdir()
    root = copick_db.create(base / "project.sqlite", workers.CONFIG)
    crash_operations.OPERATIONS[operation].setup(root)
    root.close()
    return base


def _child(ctx, operation: str, project: Path, kill: tuple) -> tuple[int, dict | None]:
    results = ctx.SimpleQueue() if kill[0] == "record" else None
    process = ctx.Process(target=workers.crash_child, args=(operation, str(project), kill, results))
    process.start()
    record = results.get() if results is not None else None
    process.join(timeout=120)
    if process.is_alive():  # pragma: no cover - a hung child is a failure, not a hang of the suite
        process.kill()
        process.join()
    return process.exitcode, record


def _data_dir(project: Path) -> Path:
    return project / "project.data"


def after_kill(project: Path, operation: str) -> list[str]:
    """Everything wrong with a project after its writer was killed (empty when all guarantees hold)."""
    catalog = str(project / "project.sqlite")
    verify = crash_operations.OPERATIONS[operation].verify
    problems: list[str] = []
    root = copick_db.open(catalog)  # the catalog opens
    try:
        report = maintenance.check(root)
        problems += [f"check: {p.kind} {p.path.name}: {p.reason}" for p in report.missing]
        problems += verify(root)
    finally:
        root.close()
    code, output = workers.run_cli(["check", "-c", catalog])
    if code != (0 if report.ok else 1) or (report.ok and "No problems found" not in output):
        problems.append(f"`copick-db check` exited {code}: {output}")
    code, output = workers.run_cli(["check", "-c", catalog, "--fix", "--yes"])
    leftovers = atomic.find_leftovers(_data_dir(project), inside_stores=True)
    problems += [f"leftover after check --fix: {p.name}" for p in leftovers]
    if report.unreferenced:
        code, output = workers.run_cli(["check", "-c", catalog, "--fix", "--yes", "--remove-unreferenced"])
    if code != 0:
        problems.append(f"`copick-db check --fix --yes` exited {code}: {output}")
    root = copick_db.open(catalog)
    try:
        final = maintenance.check(root)
        if not final.ok:
            problems.append(f"not clean after --fix: {final}")
        problems += verify(root)
    finally:
        root.close()
    return problems


def _plan(record: dict) -> list[tuple]:
    named = [("point", name, n) for name, n in record["points"]]
    total, n = record["fs"], FS_KILLS_PER_OPERATION
    spread = sorted({round(1 + i * (total - 1) / max(1, n - 1)) for i in range(n)}) if total else []
    return named + [("fs", k) for k in spread]


@pytest.mark.slow
@pytest.mark.parametrize("operation", list(crash_operations.OPERATIONS))
def test_a_writer_killed_at_any_point_leaves_a_consistent_project(operation: str, forkserver, tmp_path: Path) -> None:
    base = _base(tmp_path, operation)

    # One uninterrupted run lists the kill points, and must itself end clean.
    done = _copy(base, tmp_path / "uninterrupted")
    code, record = _child(forkserver, operation, done, ("record",))
    assert code == 0 and record is not None
    assert after_kill(done, operation) == []
    plan = _plan(record)
    assert len(plan) >= 2, record

    killed, failures = 0, []
    for i, kill in enumerate(plan):
        project = _copy(base, tmp_path / f"kill-{i}")
        code, _ = _child(forkserver, operation, project, kill)
        if kill[0] == "fs" and code == 0:
            continue  # zarr 3 writes chunks from threads: the count of filesystem changes may differ by one or two
        assert code == -signal.SIGKILL, f"{operation}: the child was not killed at {kill} (exit code {code})"
        killed += 1
        problems = after_kill(project, operation)
        if problems:
            failures.append((kill, problems))
        shutil.rmtree(project)
    assert failures == [], failures[:3]
    _note_figures(operation, killed, record)


def _note_figures(operation: str, killed: int, record: dict) -> None:
    """Print the kill counts (shown with ``pytest -s``; docs/reliability.md quotes them)."""
    named = sorted({p for p, _ in record["points"]})
    print(f"\n{operation}: {killed} kill points survived ({record['fs']} filesystem changes, named points {named})")


@pytest.mark.slow
@pytest.mark.parametrize("operation", ["tomogram-replace", "picks-replace", "segmentation-replace"])
def test_a_writer_killed_by_a_timer_leaves_a_consistent_project(operation: str, forkserver, tmp_path: Path) -> None:
    """Kills that land wherever a timer fires (also inside SQLite's commit), not only at the named points."""
    base = _base(tmp_path, operation)
    done = _copy(base, tmp_path / "uninterrupted")
    code, record = _child(forkserver, operation, done, ("record",))
    assert code == 0
    duration = max(record["seconds"], 0.002)
    failures, killed = [], 0
    for i, fraction in enumerate(np.linspace(0.05, 1.2, 6)):
        project = _copy(base, tmp_path / f"timed-{i}")
        code, _ = _child(forkserver, operation, project, ("time", float(duration * fraction)))
        killed += code == -signal.SIGKILL  # a late timer finds the operation finished: also checked
        problems = after_kill(project, operation)
        if problems:
            failures.append((fraction, problems))
        shutil.rmtree(project)
    assert failures == [], failures[:3]
    print(f"\n{operation}: {killed} of 6 timed kills landed inside the operation")


# -- the two-rename fallback (filesystems without an atomic exchange, e.g. NFS) ------------------------------------


def test_a_crash_between_the_two_renames_of_the_fallback_is_reported_and_restored_by_check_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``renameat2(RENAME_EXCHANGE)`` is missing, a crash between "target to trash" and "new to target" leaves
    the live path missing: check names the trash that holds the last version, and --fix puts it back."""
    base = _base(tmp_path, "segmentation-replace")
    root = copick_db.open(base / "project.sqlite")
    (seg,) = root.get_run("r").segmentations
    monkeypatch.setattr(atomic, "exchange", lambda first, second: False)
    state: dict = {}

    def interrupted(tmp: Path, target: Path):  # what a process killed at "replace.trashed" leaves behind
        trash = atomic.temporary_sibling(target, "trash")
        os.rename(target, trash)
        state["trash"] = trash
        raise SystemExit("killed")

    monkeypatch.setattr(atomic, "swap_in", interrupted)
    monkeypatch.setattr(bulk, "_undo", lambda swap: None)
    with pytest.raises(SystemExit):
        seg.from_numpy(crash_operations.labels(2), levels=2)
    # The staging directory is gone with the "killed" process's finally; the trash holds version 1.
    report = maintenance.check(root)
    (problem,) = report.missing
    assert problem.restorable == state["trash"] and "check --fix" in problem.reason
    fixed = maintenance.fix(root, report)
    assert fixed.restored == [seg.path] and fixed.rows_removed == []
    root.close()
    assert after_kill(base, "segmentation-replace") == []


def test_the_fallback_path_replaces_and_undoes_directories_completely(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(atomic, "exchange", lambda first, second: False)
    target = tmp_path / "x.zarr"
    (target / "0").mkdir(parents=True)
    (target / "0" / "old").write_text("old")
    staged = tmp_path / ".x.zarr.tmp-1-0123abcd"
    (staged / "0").mkdir(parents=True)
    (staged / "0" / "new").write_text("new")
    swap = atomic.swap_in(staged, target)
    assert workers.project_files(target) == ["0", "0/new"]
    swap.undo()
    assert workers.project_files(target) == ["0", "0/old"] and (staged / "0" / "new").exists()
    atomic.swap_in(staged, target).settle()
    assert workers.project_files(target) == ["0", "0/new"]
    assert atomic.find_leftovers(tmp_path) == []


@pytest.mark.parametrize("exchange_available", [True, False])
def test_a_failed_commit_puts_the_previous_data_back(tmp_path, monkeypatch, exchange_available: bool) -> None:
    base = _base(tmp_path, "tomogram-replace")
    if not exchange_available:
        monkeypatch.setattr(atomic, "exchange", lambda first, second: False)
    root = copick_db.open(base / "project.sqlite")
    tomo = root.get_run("r").get_voxel_spacing(10.0).get_tomogram("wbp")
    before = json.dumps(sorted(workers.project_files(_data_dir(base))))

    def fail_commit(name: str) -> None:
        if name == "txn.commit":
            raise OSError(28, "No space left on device (simulated, at commit)")

    monkeypatch.setattr("copick_db.catalog.engine.crash_point", fail_commit)
    with pytest.raises(OSError, match="No space left"):
        tomo.from_numpy(crash_operations.volume(2), levels=2)
    monkeypatch.undo()
    assert json.dumps(sorted(workers.project_files(_data_dir(base)))) == before
    root.close()
    assert after_kill(base, "tomogram-replace") == []
    root = copick_db.open(base / "project.sqlite")
    tomo = root.get_run("r").get_voxel_spacing(10.0).get_tomogram("wbp")
    assert np.array_equal(tomo.numpy(), crash_operations.pyramid(1, "tomogram")[0])
    root.close()


def test_crash_points_cost_nothing_when_disarmed_and_kill_only_at_the_armed_pass() -> None:
    crashpoints.disarm()
    crashpoints.crash_point("write.swapped")  # no effect
    with crashpoints.recording() as seen:
        crashpoints.crash_point("a")
        crashpoints.crash_point("b")
    assert seen == ["a", "b"]
    with pytest.raises(ValueError):
        crashpoints.arm("x#0")
    crashpoints.arm("never-reached#2")
    crashpoints.crash_point("never-reached")  # first pass: still alive
    crashpoints.disarm()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2(RENAME_EXCHANGE) is Linux-only")
def test_stores_are_replaced_by_one_atomic_exchange_on_this_machine(tmp_path: Path) -> None:
    """The guarantee that a replaced store never goes missing rests on this; the fallback is tested above."""
    old, new = tmp_path / "old.zarr", tmp_path / ".old.zarr.tmp-1-0123abcd"
    (old / "0").mkdir(parents=True)
    (new / "0").mkdir(parents=True)
    (new / "0" / "new").write_text("new")
    assert atomic.exchange(new, old)
    assert workers.project_files(old) == ["0", "0/new"] and workers.project_files(new) == ["0"]
    swap = atomic.swap_in(new, old)  # exchanges back: the previous version is kept at the staged name
    assert swap.previous == new and workers.project_files(old) == ["0"]
    swap.undo()
    assert workers.project_files(old) == ["0", "0/new"]
