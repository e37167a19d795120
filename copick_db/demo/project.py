"""Build a demo project and time a few queries on it: ``python -m copick_db.demo DIR`` (``make demo``).

The project is ``DIR/demo.sqlite`` with its data in ``DIR/demo.data/``; an earlier demo in ``DIR`` is replaced
(only those two, and the pointer config ``DIR/copick_db.json``, are removed; nothing else in ``DIR`` is touched).

It holds four pickable objects (three particles with density maps, one membrane), ``--runs`` runs named
``TS_001``, ``TS_002``, …, a 10 Å voxel spacing on every run and a 20 Å one on some, small synthetic tomograms
(particles as soft dark blobs, a curved membrane, noise; fixed seeds, so every build is identical) on about ten
runs at both spacings, and a gradient feature map on a few of them.

The pieces are small functions (:func:`build_objects`, :func:`build_runs`, :func:`summarize`,
:func:`timed_queries`) so that later features (picks, meshes, segmentations, cross-run queries) can extend it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

import copick_db
from copick_db.db.root import CopickRootDB

#: The catalog file inside the demo directory.
CATALOG_NAME = "demo.sqlite"
#: The pointer config (``copick_db.from_file``) written beside it.
POINTER_NAME = "copick_db.json"
#: Voxel spacings in Å: every run has the first; some runs also have the second.
FINE, COARSE = 10.0, 20.0
#: Tomogram shape (z, y, x) at the fine spacing; the coarse one is binned 2×.
TOMO_SHAPE = (48, 64, 64)
TOMO_TYPE = "wbp"
FEATURE_TYPE = "gradient"
#: About this many runs get tomograms, and the first few of those a feature map.
TOMOGRAM_RUNS = 10
FEATURE_RUNS = 3

#: The demo's pickable objects: name → (is_particle, colour RGBA, radius Å, PDB id).
OBJECTS: dict[str, tuple[bool, tuple[int, int, int, int], float | None, str | None]] = {
    "ribosome": (True, (0, 117, 220, 255), 150.0, "6QZP"),
    "apoferritin": (True, (240, 163, 255, 255), 60.0, "4V1W"),
    "thyroglobulin": (True, (153, 63, 0, 255), 130.0, "6SCJ"),
    "membrane": (False, (43, 206, 72, 255), None, None),
}


@dataclass(frozen=True)
class DemoLayout:
    """Which runs get what, for a demo of ``n_runs`` runs.

    Attributes:
        run_names: Every run name, in order.
        coarse_runs: Runs that also get the 20 Å voxel spacing.
        tomogram_runs: Runs that get a tomogram at both spacings.
        feature_runs: Runs whose 10 Å tomogram gets a feature map.
        query_run: The run the timed queries read from (one with a tomogram, ``TS_120`` for 240 runs).
    """

    run_names: tuple[str, ...]
    coarse_runs: frozenset[str]
    tomogram_runs: tuple[str, ...]
    feature_runs: frozenset[str]
    query_run: str

    @classmethod
    def for_runs(cls, n_runs: int) -> DemoLayout:
        """The layout for ``n_runs`` runs (at least 1): tomograms on every ``n_runs // 10``-th run, up to ten."""
        if n_runs < 1:
            raise ValueError(f"The demo needs at least one run, got {n_runs}")
        width = max(3, len(str(n_runs)))
        names = tuple(f"TS_{i:0{width}d}" for i in range(1, n_runs + 1))
        step = max(1, n_runs // TOMOGRAM_RUNS)
        tomograms = tuple(names[i - 1] for i in range(step, n_runs + 1, step))[:TOMOGRAM_RUNS]
        coarse = frozenset(names[::4]) | frozenset(tomograms)
        return cls(
            run_names=names,
            coarse_runs=coarse,
            tomogram_runs=tomograms,
            feature_runs=frozenset(tomograms[:FEATURE_RUNS]),
            query_run=tomograms[(len(tomograms) - 1) // 2],
        )


# ------------------------------------------------------------------------------------------------------------------
# Synthetic volumes
# ------------------------------------------------------------------------------------------------------------------


def _grid(shape: Sequence[int]) -> tuple[np.ndarray, ...]:
    """Open (broadcastable) z, y, x voxel coordinates for ``shape``."""
    return tuple(np.ogrid[tuple(slice(0, n) for n in shape)])


def _soft_ball(distance: np.ndarray, radius: float, edge: float = 1.0) -> np.ndarray:
    """1 inside ``radius``, 0 outside, with a smooth edge ``edge`` voxels wide."""
    return 1.0 / (1.0 + np.exp(np.clip((distance - radius) / edge, -50, 50)))


def density_map(name: str, radius: float, voxel_size: float = FINE) -> np.ndarray:
    """A small synthetic density map for a particle (z, y, x), float32, values 0–1.

    Args:
        name: The object; apoferritin is a hollow shell, the ribosome two subunits, anything else an ellipsoid.
        radius: The particle radius in Å.
        voxel_size: The map's voxel size in Å.
    """
    r = radius / voxel_size
    n = int(2 * np.ceil(r) + 8)
    z, y, x = (axis - (n - 1) / 2 for axis in _grid((n, n, n)))
    if name == "apoferritin":
        d = np.sqrt(z**2 + y**2 + x**2)
        volume = _soft_ball(d, r) - _soft_ball(d, 0.6 * r)
    elif name == "ribosome":
        large = _soft_ball(np.sqrt((z + 0.25 * r) ** 2 + y**2 + x**2), 0.75 * r)
        small = _soft_ball(np.sqrt(((z - 0.55 * r) / 0.6) ** 2 + y**2 + (x / 1.2) ** 2), 0.55 * r)
        volume = np.maximum(large, small)
    else:
        volume = _soft_ball(np.sqrt((z / 0.6) ** 2 + (y / 0.6) ** 2 + x**2), r)
    return volume.astype(np.float32)


def synthetic_tomogram(seed: int, shape: Sequence[int] = TOMO_SHAPE, voxel_size: float = FINE) -> np.ndarray:
    """A small tomogram-like volume (z, y, x), float32: dark particles, a curved membrane, Gaussian noise.

    Args:
        seed: Seeds the particle positions and the noise (same seed, same volume).
        shape: The volume shape.
        voxel_size: The voxel size in Å (particle sizes follow the objects' radii).
    """
    rng = np.random.default_rng(seed)
    z, y, x = _grid(shape)
    volume = np.zeros(tuple(shape), dtype=np.float64)
    for is_particle, _, radius, _ in OBJECTS.values():
        if not is_particle or radius is None:
            continue
        r = radius / voxel_size
        for _ in range(int(rng.integers(2, 6))):
            cz, cy, cx = (rng.uniform(0, n) for n in shape)
            volume -= _soft_ball(np.sqrt((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2), 0.5 * r, 1.5)
    # A membrane: a sheet bending along x, two voxels thick.
    height = shape[0] * (0.25 + 0.5 * rng.uniform()) + 4.0 * np.sin(x / shape[2] * 2 * np.pi + rng.uniform(0, 6))
    volume -= np.exp(-(((z - height) / 1.5) ** 2)) * (0.5 + 0.05 * y / shape[1])
    volume += rng.normal(0.0, 0.3, size=volume.shape)
    return volume.astype(np.float32)


def bin2(volume: np.ndarray) -> np.ndarray:
    """Bin a (z, y, x) volume 2× by local means (edges of odd length are dropped)."""
    z, y, x = (n // 2 * 2 for n in volume.shape)
    v = volume[:z, :y, :x]
    return v.reshape(z // 2, 2, y // 2, 2, x // 2, 2).mean(axis=(1, 3, 5)).astype(volume.dtype)


def gradient_features(volume: np.ndarray) -> np.ndarray:
    """A three-channel feature map (c, z, y, x): the volume's gradient along z, y and x."""
    return np.stack(np.gradient(volume.astype(np.float32))).astype(np.float32)


# ------------------------------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------------------------------


def _progress(quiet: bool, console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    )


def remove_demo(directory: Path) -> None:
    """Remove an earlier demo from ``directory``: its catalog, its data directory and its pointer config."""
    catalog = directory / CATALOG_NAME
    for path in (catalog, Path(f"{catalog}-wal"), Path(f"{catalog}-shm"), directory / POINTER_NAME):
        path.unlink(missing_ok=True)
    data = directory / f"{catalog.stem}.data"
    if data.is_dir():
        shutil.rmtree(data)


def build_objects(root: CopickRootDB, progress: Progress | None = None) -> None:
    """Add the demo's pickable objects, with a density map for every particle.

    Args:
        root: The project.
        progress: Advanced by one per object when given.
    """
    task = progress.add_task("objects", total=len(OBJECTS)) if progress is not None else None
    for label, (name, (is_particle, color, radius, pdb_id)) in enumerate(OBJECTS.items(), start=1):
        obj = root.new_object(name, is_particle, label=label, color=color, radius=radius, pdb_id=pdb_id)
        if is_particle and radius is not None:
            obj.from_numpy(density_map(name, radius), voxel_size=FINE)
        if progress is not None and task is not None:
            progress.advance(task)


def build_runs(root: CopickRootDB, layout: DemoLayout, progress: Progress | None = None) -> None:
    """Create the runs and voxel spacings of ``layout``, then write its tomograms and feature maps.

    Args:
        root: The project.
        layout: Which runs to create and which of them get tomograms and features.
        progress: Shows one bar for runs and one for tomograms when given.
    """
    runs_task = progress.add_task("runs", total=len(layout.run_names)) if progress is not None else None
    for name in layout.run_names:
        run = root.new_run(name)
        run.new_voxel_spacing(FINE)
        if name in layout.coarse_runs:
            run.new_voxel_spacing(COARSE)
        if progress is not None and runs_task is not None:
            progress.advance(runs_task)

    n_volumes = 2 * len(layout.tomogram_runs) + len(layout.feature_runs)
    tomo_task = progress.add_task("tomograms", total=n_volumes) if progress is not None else None
    for seed, name in enumerate(layout.tomogram_runs):
        run = root.get_run(name)
        fine = synthetic_tomogram(seed)
        for voxel_size, volume in ((FINE, fine), (COARSE, bin2(fine))):
            tomogram = run.get_voxel_spacing(voxel_size).new_tomogram(TOMO_TYPE)
            tomogram.from_numpy(volume, levels=3)
            if progress is not None and tomo_task is not None:
                progress.advance(tomo_task)
            if voxel_size == FINE and name in layout.feature_runs:
                tomogram.new_features(FEATURE_TYPE).from_numpy(gradient_features(volume))
                if progress is not None and tomo_task is not None:
                    progress.advance(tomo_task)


def build_picks(root: CopickRootDB, layout: DemoLayout, progress: Progress | None = None) -> None:
    """Give every run picks of each particle: a person's (session "1") and a picking tool's (session "0", scored).

    Args:
        root: The project.
        layout: Which runs exist.
        progress: Shows a bar for the runs when given.
    """
    rng = np.random.default_rng(42)
    particles = [name for name, (is_particle, *_rest) in OBJECTS.items() if is_particle]
    extent = np.array(TOMO_SHAPE[::-1]) * FINE  # x, y, z in Å
    task = progress.add_task("picks", total=len(layout.run_names)) if progress is not None else None
    for name in layout.run_names:
        run = root.get_run(name)
        for obj in particles:
            run.new_picks(obj, "1").from_numpy(rng.uniform(0, 1, size=(int(rng.integers(10, 30)), 3)) * extent)
            found = rng.uniform(0, 1, size=(int(rng.integers(20, 60)), 3)) * extent
            run.new_picks(obj, "0", user_id="particle-picker").from_numpy(found, rng.uniform(0.3, 1.0, len(found)))
        if progress is not None and task is not None:
            progress.advance(task)


def build(directory: Path, n_runs: int, *, quiet: bool = False, console: Console | None = None) -> DemoLayout:
    """Build the demo project in ``directory``, replacing an earlier one.

    Args:
        directory: Where ``demo.sqlite`` and ``demo.data/`` go (created if missing).
        n_runs: How many runs.
        quiet: Show no progress bars.
        console: Where progress goes (a new console by default).

    Returns:
        The layout that was built.
    """
    layout = DemoLayout.for_runs(n_runs)
    console = console or Console(quiet=quiet)
    directory.mkdir(parents=True, exist_ok=True)
    remove_demo(directory)
    config = {
        "name": "copick_db demo",
        "description": f"A synthetic demo project with {n_runs} runs, made by python -m copick_db.demo.",
        "user_id": "demo",
        "pickable_objects": [],
    }
    with copick_db.create(directory / CATALOG_NAME, config) as root, _progress(quiet, console) as progress:
        build_objects(root, progress)
        build_runs(root, layout, progress)
        build_picks(root, layout, progress)
        root.save_config(str(directory / POINTER_NAME))
    return layout


# ------------------------------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------------------------------


def _size_on_disk(path: Path) -> int:
    """Total bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _has_map(obj: Any) -> bool:
    """Whether a pickable object has a density map to read."""
    try:
        obj.numpy()
    except KeyError:
        return False
    return True


def summarize(catalog: Path) -> dict[str, int]:
    """Count what the demo catalog holds, through the API on a fresh root.

    Args:
        catalog: The catalog file.

    Returns:
        Counts of runs, voxel spacings, tomograms, features, objects, density maps, pick sets and points, and the
        data size in bytes.
    """
    with copick_db.open(catalog, read_only=True) as root:
        spacings = [vs for run in root.runs for vs in run.voxel_spacings]
        tomograms = [t for vs in spacings for t in vs.tomograms]
        features = [f for t in tomograms for f in t.features]
        objects = root.pickable_objects
        density_maps = [o for o in objects if o.is_particle and _has_map(o)]
        stats = root.stats()
        return {
            "runs": len(root.runs),
            "voxel_spacings": len(spacings),
            "tomograms": len(tomograms),
            "features": len(features),
            "objects": len(objects),
            "particles": sum(o.is_particle for o in objects),
            "density_maps": len(density_maps),
            "picks": stats["picks"],
            "points": stats["points"],
            "data_bytes": _size_on_disk(catalog.parent / f"{catalog.stem}.data"),
        }


@dataclass(frozen=True)
class QueryTiming:
    """One timed query.

    Attributes:
        label: What was run (a line of Python).
        ms: Median wall time in milliseconds.
        result: A short description of what it returned.
    """

    label: str
    ms: float
    result: str


def _median_ms(catalog: Path, query: Callable[[CopickRootDB], str], repeat: int, *, include_open: bool) -> QueryTiming:
    """Median time of ``query`` on a fresh root (its caches empty), opening it inside or outside the clock."""
    times, result = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        root = copick_db.open(catalog, read_only=True)
        if not include_open:
            start = time.perf_counter()
        try:
            result = query(root)
            times.append(time.perf_counter() - start)
        finally:
            root.close()
    return QueryTiming("", 1000 * statistics.median(times), result)


def timed_queries(catalog: Path, run_name: str, repeat: int = 5) -> list[QueryTiming]:
    """Time a few typical queries, each on a fresh root so that nothing is cached (median of ``repeat``).

    Args:
        catalog: The catalog file.
        run_name: A run with a 10 Å tomogram.
        repeat: Repetitions per query.

    Returns:
        One timing per query, in the order shown.
    """

    def open_runs(root: CopickRootDB) -> str:
        return f"{len(root.runs)} runs"

    def get_run(root: CopickRootDB) -> str:
        return repr(root.get_run(run_name).name)

    def region(root: CopickRootDB) -> str:
        tomogram = root.get_run(run_name).get_voxel_spacing(FINE).get_tomogram(TOMO_TYPE)
        data = tomogram.numpy(x=slice(0, 32), y=slice(0, 32), z=slice(0, 32))
        return f"array {data.shape} {data.dtype}"

    def all_tomograms(root: CopickRootDB) -> str:
        return f"{len(root.get_tomograms())} tomograms"

    def ribosome_picks(root: CopickRootDB) -> str:
        points = sum(len(p.to_numpy()[0]) for p in root.get_picks(object_name="ribosome"))
        return f"{points:,} points"

    queries = [
        ("copick_db.open(catalog).runs", open_runs, True),
        (f'root.get_run("{run_name}")', get_run, False),
        (
            f'root.get_run("{run_name}").get_voxel_spacing({FINE}).get_tomogram("{TOMO_TYPE}").numpy(32³ region)',
            region,
            False,
        ),
        ("root.get_tomograms() (every tomogram of every run, one query)", all_tomograms, False),
        ('root.get_picks(object_name="ribosome") + to_numpy() of each', ribosome_picks, False),
    ]
    timings = []
    for label, query, include_open in queries:
        timing = _median_ms(catalog, query, repeat, include_open=include_open)
        timings.append(QueryTiming(label, timing.ms, timing.result))
    return timings


def print_report(
    console: Console, catalog: Path, counts: dict[str, int], timings: list[QueryTiming], seconds: float
) -> None:
    """Print the counts table and the query timings table."""
    table = Table(title=f"Demo project {catalog} (built in {seconds:.1f} s)")
    table.add_column("entity")
    table.add_column("count", justify="right")
    keys = (
        "runs",
        "voxel_spacings",
        "tomograms",
        "features",
        "objects",
        "particles",
        "density_maps",
        "picks",
        "points",
    )
    for key in keys:
        table.add_row(key.replace("_", " "), f"{counts[key]:,}")
    table.add_row("bulk data", f"{counts['data_bytes'] / 1e6:.1f} MB")
    console.print(table)

    queries = Table(title="Queries on a fresh root (median of 5)")
    queries.add_column("query", overflow="fold")
    queries.add_column("result")
    queries.add_column("ms", justify="right")
    for timing in timings:
        queries.add_row(escape(timing.label), escape(timing.result), f"{timing.ms:.2f}")
    console.print(queries)
    console.print(
        f"Open it with [bold]copick_db.open({str(catalog)!r})[/bold] "
        f"or [bold]copick_db.from_file({str(catalog.parent / POINTER_NAME)!r})[/bold]."
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Build the demo project, then print what it holds and how long a few queries take.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The counts :func:`summarize` found, plus ``"query_run"`` and the ``"timings"`` in ms by query.
    """
    parser = argparse.ArgumentParser(
        prog="python -m copick_db.demo",
        description=(
            "Build a synthetic copick_db demo project in DIRECTORY (DIRECTORY/demo.sqlite and DIRECTORY/demo.data/, "
            "replacing an earlier demo there), then print its contents and time a few queries."
        ),
    )
    parser.add_argument("directory", type=Path, help="where to write the demo project (created if missing)")
    parser.add_argument("--runs", type=int, default=240, help="number of runs (default: 240)")
    parser.add_argument("--quiet", action="store_true", help="print nothing (no progress bars, no tables)")
    parser.add_argument(
        "--no-migration", action="store_true", help="skip exporting to copick's layout and importing it back"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    console = Console(quiet=args.quiet)
    start = time.perf_counter()
    layout = build(args.directory, args.runs, quiet=args.quiet, console=console)
    seconds = time.perf_counter() - start
    catalog = args.directory / CATALOG_NAME
    counts = summarize(catalog)
    timings = timed_queries(catalog, layout.query_run)
    print_report(console, catalog, counts, timings, seconds)
    result = {**counts, "query_run": layout.query_run, "timings": {t.label: t.ms for t in timings}}
    if not args.no_migration:
        from copick_db.demo.migration import show_migration

        console.rule("Migration: a copick filesystem project, imported in place and re-imported")
        result["migration"] = show_migration(args.directory, catalog, console, quiet=args.quiet)
    return result


if __name__ == "__main__":
    main()
