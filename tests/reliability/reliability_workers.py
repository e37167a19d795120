"""Code that runs in the child processes of the reliability tests (spawn and forkserver need it importable).

Everything a child writes is a deterministic function of its identity, so a reader (or the parent, afterwards) can
tell a complete entity from a half-written one without talking to the writer:

- pick sets: user ``w<writer>``, session ``u<unit>n<count>``: exactly ``count`` points, :func:`pick_points`;
- segmentations: user ``w<writer>``, session ``u<unit>``: :func:`seg_volume` of version 1 or 2;
- meshes: user ``w<writer>``, session ``u<unit>``: a box of :func:`mesh_extent`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

import copick_db
from copick_db import crashpoints
from copick_db.catalog import catalog as catalog_module
from copick_db.errors import ZarrGroupNotFoundError

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "radius": 150.0},
    {"name": "membrane", "is_particle": False, "label": 2},
    {"name": "proteasome", "is_particle": True, "label": 3, "radius": 90.0},
]
CONFIG = {"name": "reliability", "pickable_objects": OBJECTS, "user_id": "parent", "session_id": "0"}
SEG_SHAPE = (6, 6, 260)  # two chunks along x at level 0: a mix of versions would be visible
SHARED_RUNS = ("shared-a", "shared-b", "shared-c")

# -- deterministic content ------------------------------------------------------------------------------------------


def pick_count(writer: int, unit: int) -> int:
    """How many points the pick set of (writer, unit) holds."""
    return 1 + (writer * 37 + unit * 11) % 60


def pick_points(writer: int, unit: int, count: int | None = None) -> np.ndarray:
    """The points of the pick set of (writer, unit), float64 (N, 3)."""
    n = pick_count(writer, unit) if count is None else count
    return np.arange(n * 3, dtype=np.float64).reshape(n, 3) + writer * 1000.0 + unit


def seg_volume(writer: int, unit: int, version: int = 1) -> np.ndarray:
    """The labels of segmentation (writer, unit) in a given version, uint8 of :data:`SEG_SHAPE`."""
    base = (writer * 31 + unit * 7 + version * 101) % 200 + 1
    volume = np.full(SEG_SHAPE, base, dtype=np.uint8)
    volume[..., 256:] = base + 1  # the second chunk differs from the first
    return volume


def mesh_extent(writer: int, unit: int, version: int = 1) -> float:
    """The edge length of the box mesh (writer, unit) in a given version."""
    return 1.0 + writer + unit / 64.0 + (version - 1) * 0.5  # exact in float32, as GLB stores vertices


def parse_session(session: str) -> tuple[int, int | None]:
    """(unit, count) from a session id ``u<unit>`` or ``u<unit>n<count>``."""
    match = re.fullmatch(r"u(\d+)(?:n(\d+))?", session)
    if match is None:
        raise ValueError(f"unexpected session id {session!r}")
    return int(match.group(1)), None if match.group(2) is None else int(match.group(2))


def writer_of(user: str) -> int:
    """The writer number of a user id ``w<n>``."""
    return int(user[1:])


# -- checking what a reader sees ------------------------------------------------------------------------------------


def written(entity: Any) -> bool:
    """Whether data was stored for an entity (the catalog moves ``modified`` past ``created`` when it is)."""
    meta = entity.meta
    return meta.modified is not None and meta.created is not None and meta.modified > meta.created


def check_picks(picks: Any) -> str | None:
    """Why a pick set seen by a reader is half-written, or None when it is empty (not stored yet) or complete."""
    w, (unit, count) = writer_of(picks.user_id), parse_session(picks.session_id)
    points = picks.numpy()[0]
    if len(points) == 0 and not written(picks):
        return None
    expected = pick_points(w, unit, count)
    if points.shape != expected.shape or not np.array_equal(points, expected):
        return f"picks {picks!r}: {len(points)} points, expected {len(expected)} (written={written(picks)})"
    return None


def check_segmentation(seg: Any, versions: tuple[int, ...] = (1, 2)) -> str | None:
    """Why a segmentation seen by a reader is half-written, or None (no data yet, or one complete version)."""
    w, (unit, _) = writer_of(seg.user_id), parse_session(seg.session_id)
    try:
        data = seg.numpy()
    except ZarrGroupNotFoundError:
        return None if not written(seg) else f"segmentation {seg!r} is marked written but has no data"
    if any(np.array_equal(data, seg_volume(w, unit, v)) for v in versions):
        return None
    return f"segmentation {seg!r} reads back as none of versions {versions}: values {np.unique(data)[:6]}"


def check_mesh(mesh: Any, versions: tuple[int, ...] = (1,)) -> str | None:
    """Why a mesh seen by a reader is half-written, or None (empty as created, or one complete box)."""
    w, (unit, _) = writer_of(mesh.user_id), parse_session(mesh.session_id)
    loaded = mesh.mesh
    if len(loaded.vertices) == 0:
        return None
    extent = float(np.ptp(loaded.vertices[:, 0]))
    if len(loaded.faces) == 12 and any(abs(extent - mesh_extent(w, unit, v)) < 1e-4 for v in versions):
        return None
    return f"mesh {mesh!r}: {len(loaded.vertices)} vertices, {len(loaded.faces)} faces, extent {extent}"


# -- concurrency: writers and readers -------------------------------------------------------------------------------


def _count_commits() -> list[int]:
    """Count committed write transactions of this process (wraps the catalog's ``write_transaction``)."""
    counter = [0]
    original = catalog_module.write_transaction

    @contextlib.contextmanager
    def counting(engine: Any):
        with original(engine) as conn:
            yield conn
        counter[0] += 1  # reached only when the block committed

    catalog_module.write_transaction = counting
    return counter


def writer(catalog: str, w: int, units: int, barrier: Any, results: Any) -> None:
    """Create runs, pick sets with points, segmentations and meshes; report what was created.

    Even units write into this writer's own new run, odd units into one of the shared runs (which every writer
    creates with ``exist_ok=True``, so those creations race too).
    """
    report: dict[str, Any] = {"role": "writer", "w": w, "runs": [], "picks": [], "segs": [], "meshes": []}
    report.update(deleted_meshes=[], errors=[], commits=0)
    commits = _count_commits()
    try:
        root = copick_db.open(catalog, user_id=f"w{w}", session_id="0")
        barrier.wait(timeout=120)
        for unit in range(units):
            if unit % 2 == 0:
                run_name = f"w{w}-run{unit}"
                run = root.new_run(run_name)
                report["runs"].append(run_name)
            else:
                run_name = SHARED_RUNS[unit % len(SHARED_RUNS)]
                run = root.new_run(run_name, exist_ok=True)
            count = pick_count(w, unit)
            picks = run.new_picks("ribosome", session_id=f"u{unit}n{count}")
            picks.from_numpy(pick_points(w, unit))
            report["picks"].append((run_name, f"u{unit}n{count}"))
            seg = run.new_segmentation(10.0, "membrane", session_id=f"u{unit}")
            seg.from_numpy(seg_volume(w, unit, 1))
            if unit % 3 == 0:
                seg.from_numpy(seg_volume(w, unit, 2))  # replace: readers must see version 1 or 2, whole
            report["segs"].append((run_name, f"u{unit}", 2 if unit % 3 == 0 else 1))
            mesh = run.new_mesh("proteasome", session_id=f"u{unit}")
            mesh.mesh = trimesh.creation.box(extents=[mesh_extent(w, unit)] * 3)
            mesh.store()
            if unit % 5 == 4:
                mesh.delete()
                report["deleted_meshes"].append((run_name, f"u{unit}"))
            else:
                report["meshes"].append((run_name, f"u{unit}"))
        root.close()
    except BaseException:
        report["errors"].append(traceback.format_exc())
    report["commits"] = commits[0]
    results.put(report)


def reader(catalog: str, r: int, barrier: Any, stop: Any, results: Any) -> None:
    """List and load everything, again and again, until told to stop; report every half-written entity seen."""
    report: dict[str, Any] = {"role": "reader", "r": r, "iterations": 0, "violations": [], "errors": []}
    report.update(picks_checked=0, segs_checked=0, meshes_checked=0, max_picks_seen=0)
    try:
        root = copick_db.open(catalog, read_only=True)
        barrier.wait(timeout=120)
        while True:
            last = stop.is_set()
            root.refresh()
            found = []
            # Cross-run query: rows with their points, one consistent snapshot.
            all_picks = root.get_picks()
            report["max_picks_seen"] = max(report["max_picks_seen"], len(all_picks))
            found += [check_picks(p) for p in all_picks]
            for run in root.runs:
                found += [check_picks(p) for p in run.picks]  # points loaded lazily, by a second query
                found += [check_segmentation(s) for s in run.segmentations]
                for mesh in run.meshes:
                    # FileNotFoundError: deleted between the listing and the load (its writer deletes every fifth).
                    with contextlib.suppress(FileNotFoundError):
                        found.append(check_mesh(mesh))
            report["picks_checked"] += len(all_picks)
            report["segs_checked"] += sum(len(run.segmentations) for run in root.runs)
            report["meshes_checked"] += sum(len(run.meshes) for run in root.runs)
            report["violations"] += [f for f in found if f is not None]
            report["iterations"] += 1
            if last:
                break
        root.close()
    except BaseException:
        report["errors"].append(traceback.format_exc())
    results.put(report)


def racer(catalog: str, k: int, barrier: Any, results: Any) -> None:
    """Create the same entities as every other racer at the same moment; report each outcome."""
    outcomes: dict[str, Any] = {"k": k, "errors": []}

    def attempt(step: str, action: Any) -> Any:
        barrier.wait(timeout=120)
        try:
            value = action()
        except ValueError as exc:
            outcomes[step] = ("ValueError", type(exc).__name__)
            return None
        except BaseException as exc:
            outcomes[step] = ("other", f"{type(exc).__name__}: {exc}")
            return None
        outcomes[step] = ("ok", None)
        return value

    try:
        root = copick_db.open(catalog, user_id="racer", session_id="1")
        attempt("run", lambda: root.new_run("contested"))
        run = attempt("run_exist_ok", lambda: root.new_run("contested-ok", exist_ok=True))
        attempt("picks", lambda: run.new_picks("ribosome", user_id="race", session_id="1"))
        picks = attempt(
            "picks_exist_ok", lambda: run.new_picks("ribosome", user_id="race", session_id="2", exist_ok=True)
        )
        attempt("picks_store", lambda: picks.from_numpy(pick_points(k, 0, 10 + k)))
        attempt("mesh", lambda: run.new_mesh("proteasome", user_id="race", session_id="1"))
        seg = attempt(
            "seg_exist_ok",
            lambda: run.new_segmentation(10.0, "membrane", user_id="race", session_id="1", exist_ok=True),
        )
        attempt("seg_store", lambda: seg.from_numpy(seg_volume(k, 0, 1)))
        vs = attempt("vs_exist_ok", lambda: run.new_voxel_spacing(10.0, exist_ok=True))
        tomo = attempt("tomo_exist_ok", lambda: vs.new_tomogram("wbp", exist_ok=True))
        attempt("tomo_store", lambda: tomo.from_numpy(np.full((8, 8, 8), float(k)), levels=2))
        root.close()
    except BaseException:
        outcomes["errors"].append(traceback.format_exc())
    results.put(outcomes)


def object_racer(catalog: str, k: int, barrier: Any, results: Any) -> None:
    """Add pickable objects at the same moment as the other racers; report each outcome."""
    outcomes: dict[str, Any] = {"k": k}
    root = copick_db.open(catalog, user_id="racer", session_id="1")
    for step, action in (
        ("same_name_exist_ok", lambda: root.new_object("contested-object", is_particle=True, exist_ok=True)),
        ("own_name_free_label", lambda: root.new_object(f"object-{k}", is_particle=True)),
    ):
        barrier.wait(timeout=120)
        try:
            action()
            outcomes[step] = "ok"
        except Exception as exc:
            outcomes[step] = f"{type(exc).__name__}: {exc}"
    root.close()
    results.put(outcomes)


# -- crash safety: a child that performs one operation and is killed somewhere in it --------------------------------

#: Audit events that change the filesystem; the crash tests can kill a child at each of them.
_MUTATING_EVENTS = frozenset({"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.link", "os.truncate"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _mutating(event: str, args: tuple, under: str) -> bool:
    """Whether an audit event changes something under the directory ``under``."""
    if event == "open":
        path, mode, flags = args
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
        return writes and os.fsdecode(path).startswith(under)
    if event in _MUTATING_EVENTS and args and isinstance(args[0], (str, bytes, os.PathLike)):
        if event in ("os.remove", "os.rmdir") and isinstance(args[-1], int):
            return True  # shutil.rmtree removes entries relative to a directory descriptor: one of ours
        return os.fsdecode(args[0]).startswith(under)
    return False


def crash_child(operation: str, project: str, kill: tuple, results: Any) -> None:
    """Run one crash-test operation; kill this process at the point ``kill`` names.

    Args:
        operation: A key of ``crash_operations.OPERATIONS``.
        project: The project directory (catalog ``project.sqlite`` inside).
        kill: ``("record",)`` to list the kill points without killing; ``("point", name, n)`` for a named crash
            point; ``("fs", n)`` for the n-th filesystem change under the project; ``("time", seconds)`` for a kill
            by a timer.
        results: A queue for the recorded points (record mode only).
    """
    import crash_operations

    under = os.path.realpath(project)
    counter = [0]
    recorded: list[str] = []
    mode = kill[0]

    def hook(event: str, args: tuple) -> None:
        if _mutating(event, args, under):
            counter[0] += 1
            if mode == "record":
                recorded.append(f"fs:{event}")
            elif mode == "fs" and counter[0] == kill[1]:
                os.kill(os.getpid(), signal.SIGKILL)

    root = copick_db.open(os.path.join(project, "project.sqlite"), user_id="crash", session_id="1")
    prepared = crash_operations.OPERATIONS[operation].prepare(root)
    if mode in ("record", "fs"):
        sys.addaudithook(hook)
    if mode == "point":
        crashpoints.arm(f"{kill[1]}#{kill[2]}")
    if mode == "time":
        signal.setitimer(signal.ITIMER_REAL, kill[1])
        signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGKILL))
    started = time.perf_counter()
    if mode == "record":
        with crashpoints.recording() as points:
            crash_operations.OPERATIONS[operation].act(prepared)
        counts: dict[str, int] = {}
        named = []
        for name in points:
            counts[name] = counts.get(name, 0) + 1
            named.append((name, counts[name]))
        results.put(
            {"points": named, "fs": counter[0], "fs_events": recorded, "seconds": time.perf_counter() - started}
        )
        return
    crash_operations.OPERATIONS[operation].act(prepared)
    root.close()


def run_cli(args: list[str]) -> tuple[int, str]:
    """Run ``copick-db`` in this process; return (exit code, output)."""
    from click.testing import CliRunner

    from copick_db.cli import db

    result = CliRunner().invoke(db, args, catch_exceptions=False)
    return result.exit_code, result.output


def project_files(directory: Path) -> list[str]:
    """Every path under a directory, relative, sorted."""
    return sorted(p.relative_to(directory).as_posix() for p in Path(directory).rglob("*"))
