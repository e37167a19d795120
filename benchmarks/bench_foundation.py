"""Foundation benchmarks: creating runs, listing them, looking one up, and reading a tomogram region.

Run by hand (not a test): ``.venv/bin/python benchmarks/bench_foundation.py [--quick]``. It prints a table and
writes it into ``docs/performance.md`` between ``<!-- foundation:start -->`` and ``<!-- foundation:end -->``
(creating the document if missing). A missed target is reported as such, with cProfile's top entries for it.

What is measured (medians of several repetitions):

a. ``root.new_run(name)`` 10,000 times into a new catalog (target ≤ 2 s in total).
b. ``root.runs`` on that 10,000-run catalog, right after ``copick_db.open`` in a fresh process (target ≤ 20 ms;
   the open is reported separately).
c. ``root.get_run(name)`` on that catalog, on a newly opened root each time so its run cache is empty
   (target ≤ 1 ms).
d. A 64³ region of a 256³ float32 tomogram via ``tomo.numpy(x=..., y=..., z=...)`` against raw
   ``zarr.open(path)["0"][z, y, x]`` on the same array, interleaved at random offsets (target: within 5 %).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import zarr
from _timing import (
    REPO,
    Result,
    column,
    format_ms,
    fresh_process,
    interleave,
    machine_info,
    over,
    paired_ratios,
    peak_rss_mb,
    print_table,
    profile,
    repeat,
    replace_section,
    section_markdown,
)

import copick_db
from copick_db.demo import synthetic_tomogram

SECTION = "foundation"
HEADING = "Foundation: runs, run lookup, region reads"
SCRIPT = "benchmarks/bench_foundation.py"
N_RUNS = 10_000
REGION = 64
TOMO_EDGE = 256
VOXEL_SIZE = 10.0

#: Fresh process: open the catalog, then list its runs (argv: catalog path).
OPEN_AND_LIST = """
start = _time.perf_counter()
import copick_db
import copick_db.db.project  # copick_db loads its modules on first use; import them before the clock
imported = _time.perf_counter()
root = copick_db.open(_sys.argv[1], read_only=True)
opened = _time.perf_counter()
runs = root.runs
listed = _time.perf_counter()
report(import_s=imported - start, open_s=opened - imported, runs_s=listed - opened, n=len(runs))
"""


def _names(n: int) -> list[str]:
    return [f"TS_{i:05d}" for i in range(1, n + 1)]


def _fresh_catalog(path: Path) -> copick_db.CopickRootDB:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(path.with_suffix(".data"), ignore_errors=True)
    return copick_db.create(path, {"name": "bench", "pickable_objects": []})


# ------------------------------------------------------------------------------------------------------------------
# (a) creating runs
# ------------------------------------------------------------------------------------------------------------------


def bench_create_runs(workdir: Path, reps: int, want_profile: bool) -> tuple[Result, Path]:
    """Create 10,000 runs with ``root.new_run`` into a new catalog, ``reps`` times; keep the last catalog."""
    names = _names(N_RUNS)
    catalog = workdir / "runs.sqlite"
    roots: list[copick_db.CopickRootDB] = []

    def setup() -> copick_db.CopickRootDB:
        roots.append(_fresh_catalog(catalog))
        return roots[-1]

    def create_all(root: copick_db.CopickRootDB) -> None:
        for name in names:
            root.new_run(name)

    samples = repeat(create_all, reps, setup=setup, teardown=lambda root: root.close())
    target = 2.0
    passed = samples.median <= target
    result = Result(
        operation=f"create {N_RUNS:,} runs (`root.new_run`)",
        target="≤ 2 s total",
        measured=f"{samples.median:.2f} s",
        details=(
            f"{samples.median / N_RUNS * 1e6:.0f} µs per run; one transaction per run; "
            f"best {samples.best:.2f} s, worst {samples.worst:.2f} s of {samples.n}"
        ),
        passed=passed,
        miss="" if passed else over(samples.median, target),
    )
    if want_profile or not passed:
        scratch = workdir / "profile-runs.sqlite"
        root = _fresh_catalog(scratch)
        try:
            result.profile = profile(lambda: [root.new_run(n) for n in names[:2000]])
        finally:
            root.close()
    with copick_db.open(catalog) as root:  # the catalog the next benchmarks read
        assert len(root.runs) == N_RUNS
    return result, catalog


# ------------------------------------------------------------------------------------------------------------------
# (b) listing runs from a fresh open
# ------------------------------------------------------------------------------------------------------------------


def bench_list_runs(catalog: Path, reps: int, want_profile: bool) -> list[Result]:
    """``copick_db.open`` then ``root.runs`` in a fresh process, ``reps`` times."""
    reports = fresh_process(OPEN_AND_LIST, n=reps, args=[str(catalog)])
    assert all(r["n"] == N_RUNS for r in reports)
    runs_s, open_s, import_s = column(reports, "runs_s"), column(reports, "open_s"), column(reports, "import_s")
    rss = column(reports, "peak_rss_mb")
    target = 0.020
    passed = runs_s.median <= target
    listed = Result(
        operation=f"`root.runs` on {N_RUNS:,} runs, fresh process",
        target="≤ 20 ms",
        measured=format_ms(runs_s.median),
        details=(
            f"first access after `copick_db.open`, {reps} fresh processes; best {format_ms(runs_s.best)}; "
            f"child peak RSS {rss.median:.0f} MiB"
        ),
        passed=passed,
        miss="" if passed else over(runs_s.median, target),
    )
    opened = Result(
        operation="`copick_db.open(catalog)`, fresh process",
        target="",
        measured=format_ms(open_s.median),
        details=(
            f"schema check, pragmas, project and objects; importing copick_db's modules before it "
            f"{format_ms(import_s.median)}"
        ),
        passed=None,
    )
    if want_profile or not passed:
        root = copick_db.open(catalog, read_only=True)
        try:
            listed.profile = profile(lambda: root.runs)
        finally:
            root.close()
    return [listed, opened]


# ------------------------------------------------------------------------------------------------------------------
# (c) looking one run up on an empty cache
# ------------------------------------------------------------------------------------------------------------------


def bench_get_run(catalog: Path, reps: int, want_profile: bool) -> Result:
    """``root.get_run(name)`` for random names, each on a newly opened root."""
    rng = random.Random(1)
    names = _names(N_RUNS)

    def setup() -> tuple[copick_db.CopickRootDB, str]:
        return copick_db.open(catalog, read_only=True), rng.choice(names)

    def lookup(state: tuple[copick_db.CopickRootDB, str]) -> None:
        root, name = state
        if root.get_run(name) is None:
            raise AssertionError(f"run {name} not found")

    samples = repeat(lookup, reps, setup=setup, teardown=lambda state: state[0].close(), warmup=3)
    target = 0.001
    passed = samples.median <= target
    result = Result(
        operation=f"`root.get_run(name)` on {N_RUNS:,} runs, empty cache",
        target="≤ 1 ms",
        measured=format_ms(samples.median),
        details=(
            f"random names, a newly opened root each time, {samples.n} lookups; "
            f"p90 {format_ms(samples.quantile(0.9))}, best {format_ms(samples.best)}"
        ),
        passed=passed,
        miss="" if passed else over(samples.median, target),
    )
    if want_profile or not passed:
        roots = [copick_db.open(catalog, read_only=True) for _ in range(200)]
        try:
            result.profile = profile(lambda: [r.get_run(rng.choice(names)) for r in roots])
        finally:
            for root in roots:
                root.close()
    return result


# ------------------------------------------------------------------------------------------------------------------
# (d) region reads against raw zarr
# ------------------------------------------------------------------------------------------------------------------


def bench_region(workdir: Path, reps: int, want_profile: bool) -> list[Result]:
    """A 64³ region at random offsets via ``tomo.numpy`` and via raw zarr, interleaved, ``reps`` pairs."""
    catalog = workdir / "region.sqlite"
    root = _fresh_catalog(catalog)
    with root:
        tomogram = root.new_run("TS_001").new_voxel_spacing(VOXEL_SIZE).new_tomogram("wbp")
        tomogram.from_numpy(synthetic_tomogram(0, (TOMO_EDGE,) * 3, VOXEL_SIZE), levels=3)

    root = copick_db.open(catalog, read_only=True)
    try:
        tomo = root.get_run("TS_001").get_voxel_spacing(VOXEL_SIZE).get_tomogram("wbp")
        raw = zarr.open(str(tomo.path), mode="r")["0"]
        chunks = tuple(raw.chunks)
        rng = np.random.default_rng(2)
        offsets = [tuple(int(v) for v in rng.integers(0, TOMO_EDGE - REGION + 1, 3)) for _ in range(reps)]

        def via_copick_db(offset: tuple[int, int, int]) -> np.ndarray:
            z, y, x = offset
            return tomo.numpy(x=slice(x, x + REGION), y=slice(y, y + REGION), z=slice(z, z + REGION))

        def via_zarr(offset: tuple[int, int, int]) -> np.ndarray:
            z, y, x = offset
            return raw[z : z + REGION, y : y + REGION, x : x + REGION]

        for offset in offsets[:3]:  # warm up both paths and check they agree
            np.testing.assert_array_equal(via_copick_db(offset), via_zarr(offset))
        samples = interleave({"copick_db": via_copick_db, "zarr": via_zarr}, offsets, seed=3)
        ours, theirs = samples["copick_db"], samples["zarr"]
        ratios = paired_ratios(ours, theirs)
        overhead = ratios.median - 1
        passed = overhead <= 0.05
        region = Result(
            operation=f"{REGION}³ region of a {TOMO_EDGE}³ float32 tomogram: `tomo.numpy` vs raw zarr",
            target="within 5 %",
            measured=f"{overhead * 100:+.1f} %",
            details=(
                f"median of {ratios.n} paired ratios at random offsets, interleaved; copick_db "
                f"{format_ms(ours.median)}, zarr {format_ms(theirs.median)} (medians; ratio of medians "
                f"{ours.median / theirs.median:.3f}); chunks {chunks}, Blosc LZ4"
            ),
            passed=passed,
            miss="" if passed else f"+{overhead * 100:.1f} % vs ≤ 5 %",
        )
        if want_profile or not passed:
            region.profile = profile(lambda: [via_copick_db(o) for o in offsets[:20]])

        # Why a 64³ read costs what it costs: copick's layout puts a 256³ level in one chunk, and every read
        # decompresses whole chunks (no target; for context).
        one_voxel = repeat(lambda _: tomo.numpy(x=slice(0, 1), y=slice(0, 1), z=slice(0, 1)), 20, warmup=2)
        whole = repeat(lambda _: tomo.numpy(), 20, warmup=2)
        chunk_cost = Result(
            operation=f"1 voxel vs the whole {TOMO_EDGE}³ level, `tomo.numpy`",
            target="",
            measured=f"{format_ms(one_voxel.median)} vs {format_ms(whole.median)}",
            details=f"one {chunks} chunk holds the whole level, so any read decompresses all of it",
            passed=None,
        )
    finally:
        root.close()

    # How long the lookups before the first read take, on a newly opened root (no target; for context).
    def lookup(fresh: copick_db.CopickRootDB) -> None:
        fresh.get_run("TS_001").get_voxel_spacing(VOXEL_SIZE).get_tomogram("wbp")

    chain = repeat(
        lookup, 50, setup=lambda: copick_db.open(catalog, read_only=True), teardown=lambda r: r.close(), warmup=3
    )
    lookups = Result(
        operation="`get_run` → `get_voxel_spacing` → `get_tomogram`, empty caches",
        target="",
        measured=format_ms(chain.median),
        details=f"three indexed queries on a newly opened root, {chain.n} repetitions",
        passed=None,
    )
    return [region, chunk_cost, lookups]


# ------------------------------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the foundation benchmarks, print the table and write it into docs/performance.md.

    Returns:
        0 when every target is met, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (same sizes), for a smoke run")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries for every operation")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark catalogs in the work directory")
    parser.add_argument(
        "--workdir", type=Path, default=REPO / "bench-data" / "foundation", help="scratch directory (replaced)"
    )
    args = parser.parse_args(argv)
    reps_create, reps_list, reps_lookup, reps_region = (2, 5, 50, 60) if args.quick else (5, 15, 300, 400)

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    info = machine_info()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    results: list[Result] = []
    try:
        print(f"(a) creating {N_RUNS:,} runs × {reps_create} …", flush=True)
        created, catalog = bench_create_runs(args.workdir, reps_create, args.profile)
        results.append(created)
        print(f"(b) root.runs in {reps_list} fresh processes …", flush=True)
        results += bench_list_runs(catalog, reps_list, args.profile)
        print(f"(c) get_run × {reps_lookup} …", flush=True)
        results.append(bench_get_run(catalog, reps_lookup, args.profile))
        print(f"(d) {REGION}³ region reads × {reps_region} pairs …", flush=True)
        results += bench_region(args.workdir, reps_region, args.profile)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    seconds = time.perf_counter() - start
    info["load"] = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print_table(results, "copick_db foundation benchmarks")
    print(f"benchmark process peak RSS {peak_rss_mb():.0f} MiB; {seconds:.0f} s in all; load {info['load']}")
    if not args.no_write:
        body = section_markdown(results, info, quick=args.quick, seconds=seconds, heading=HEADING, script=SCRIPT)
        replace_section(SECTION, body, machine=info)
        print(f"wrote the {SECTION!r} section of {REPO / 'docs' / 'performance.md'}")
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
