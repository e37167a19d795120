"""Annotation benchmarks: storing and loading pick sets, filtered getters, and the cross-run gather.

Run by hand (not a test): ``.venv/bin/python benchmarks/bench_annotations.py [--quick]``. It prints a table and
writes it into ``docs/performance.md`` between ``<!-- annotations:start -->`` and ``<!-- annotations:end -->``.

What is measured (medians of several repetitions):

a. ``picks.from_numpy(points)`` of 100,000 points, stored (target ≤ 100 ms).
b. Loading a 100,000-point set: ``picks.numpy()`` on a pick set fetched from a newly opened root (target ≤ 50 ms).
c. ``run.get_picks(object_name=…, user_id=…)`` on a run holding 500 pick sets, cache empty (target ≤ 1 ms).
d. ``root.get_picks(object_name=…)`` across 10,000 runs plus ``to_numpy()`` of every result, in a fresh process
   right after ``copick_db.open`` (target ≤ 0.2 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from _timing import (
    REPO,
    Result,
    column,
    format_ms,
    fresh_process,
    machine_info,
    over,
    peak_rss_mb,
    print_table,
    profile,
    repeat,
    replace_section,
    section_markdown,
)

import copick_db

SECTION = "annotations"
HEADING = "Annotations: pick sets, filtered getters, cross-run gather"
SCRIPT = "benchmarks/bench_annotations.py"
N_POINTS = 100_000
N_OBJECTS, N_USERS = 50, 10  # 500 pick sets in one run
N_RUNS = 10_000
POINTS_PER_SET = 50

GATHER_CHILD = """
import copick_db
root = copick_db.open(_sys.argv[1], read_only=True)
start = _time.perf_counter()
found = root.get_picks(object_name="ribosome")
queried = _time.perf_counter()
arrays = [p.to_numpy() for p in found]
done = _time.perf_counter()
report(query_s=queried - start, total_s=done - start, sets=len(found), points=sum(len(a[0]) for a in arrays))
"""


def _objects(n: int) -> list[dict]:
    return [{"name": f"object-{i}", "is_particle": True, "label": i + 1} for i in range(n)]


def bench_store_and_load(workdir: Path, reps: int, want_profile: bool) -> list[Result]:
    """(a) and (b): one 100,000-point set stored, then loaded through a fresh root."""
    catalog = workdir / "points.sqlite"
    root = copick_db.create(catalog, {"pickable_objects": _objects(1), "user_id": "bench"})
    picks = root.new_run("TS_001").new_picks("object-0", "1")
    points = np.random.default_rng(0).uniform(0, 4000, size=(N_POINTS, 3))
    stored = repeat(lambda _: picks.from_numpy(points), reps, warmup=1).scaled(1000)
    results = [
        Result(
            f"`from_numpy` + store, {N_POINTS:,} points",
            "≤ 100 ms",
            format_ms(stored.median / 1000),
            f"one catalog row update; best {stored.best:.1f} ms, worst {stored.worst:.1f} ms of {reps}",
            stored.median <= 100,
            over(stored.median, 100),
            profile(lambda: picks.from_numpy(points)) if want_profile or stored.median > 100 else "",
        )
    ]

    def fetch(_: object) -> object:
        fresh = copick_db.open(catalog, read_only=True)
        return fresh.get_run("TS_001").get_picks("object-0")[0]

    loaded = repeat(lambda p: p.numpy(), reps, setup=lambda: fetch(None), warmup=1).scaled(1000)
    results.append(
        Result(
            f"load a {N_POINTS:,}-point set (`picks.numpy()`)",
            "≤ 50 ms",
            format_ms(loaded.median / 1000),
            f"pick set fetched from a newly opened root; best {loaded.best:.1f} ms of {reps}",
            loaded.median <= 50,
            over(loaded.median, 50),
            profile(lambda: fetch(None).numpy()) if want_profile or loaded.median > 50 else "",
        )
    )
    root.close()
    return results


def bench_filtered_get(workdir: Path, reps: int, want_profile: bool) -> Result:
    """(c): a filtered getter on a run with 500 pick sets, its cache empty each time."""
    catalog = workdir / "busy-run.sqlite"
    root = copick_db.create(catalog, {"pickable_objects": _objects(N_OBJECTS), "user_id": "bench"})
    run = root.new_run("TS_001")
    for i in range(N_OBJECTS):
        for u in range(N_USERS):
            run.new_picks(f"object-{i}", "1", user_id=f"user-{u}").from_numpy(np.ones((10, 3)))
    root.close()
    fresh = copick_db.open(catalog, read_only=True)
    busy = fresh.get_run("TS_001")

    def lookup(_: object) -> None:
        busy.refresh_picks()
        found = busy.get_picks(object_name="object-17", user_id="user-3")
        assert len(found) == 1

    samples = repeat(lookup, reps, warmup=5).scaled(1000)
    return Result(
        "`run.get_picks(object_name=…, user_id=…)`, run with 500 pick sets",
        "≤ 1 ms",
        format_ms(samples.median / 1000),
        f"cache emptied before each call (one indexed query); p90 {samples.quantile(0.9):.3f} ms, {reps} calls",
        samples.median <= 1,
        over(samples.median, 1),
        profile(lambda: lookup(None)) if want_profile or samples.median > 1 else "",
    )


def build_many_runs(catalog: Path) -> None:
    """10,000 runs, each with a ribosome pick set by one user and a proteasome set by another."""
    objects = [
        {"name": "ribosome", "is_particle": True, "label": 1},
        {"name": "proteasome", "is_particle": True, "label": 2},
    ]
    root = copick_db.create(catalog, {"pickable_objects": objects, "user_id": "alice"})
    rng = np.random.default_rng(1)
    for i in range(N_RUNS):
        run = root.new_run(f"TS_{i:05d}")
        run.new_picks("ribosome", "1").from_numpy(rng.uniform(0, 4000, size=(POINTS_PER_SET, 3)))
        run.new_picks("proteasome", "0", user_id="picker").from_numpy(rng.uniform(0, 4000, size=(20, 3)))
    root.close()


def bench_gather(workdir: Path, reps: int, want_profile: bool) -> Result:
    """(d): one object's picks across 10,000 runs, with their points, in fresh processes."""
    catalog = workdir / "many-runs.sqlite"
    build_many_runs(catalog)
    reports = fresh_process(GATHER_CHILD, n=reps, args=[str(catalog)])
    total = column(reports, "total_s").scaled(1000)
    query = column(reports, "query_s").scaled(1000)
    sets = reports[0]["sets"]
    text = ""
    if want_profile or total.median > 200:
        root = copick_db.open(catalog, read_only=True)
        text = profile(lambda: [p.to_numpy() for p in root.get_picks(object_name="ribosome")])
    return Result(
        f"`root.get_picks(object_name=…)` across {N_RUNS:,} runs + `to_numpy()` of each",
        "≤ 0.2 s",
        format_ms(total.median / 1000),
        f"{sets:,} pick sets of {POINTS_PER_SET} points; the query alone {query.median:.0f} ms; fresh process after "
        f"`open`, {reps} processes; best {total.best:.0f} ms",
        total.median <= 200,
        over(total.median, 200),
        text,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the annotation benchmarks, print the table and write it into docs/performance.md.

    Returns:
        0 when every target is met, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (same sizes), for a smoke run")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries for every operation")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    parser.add_argument(
        "--workdir", type=Path, default=REPO / "bench-data" / "annotations", help="scratch directory (replaced)"
    )
    args = parser.parse_args(argv)
    reps_points, reps_get, reps_gather = (5, 50, 3) if args.quick else (15, 300, 9)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    info = machine_info()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        print(f"(a, b) {N_POINTS:,} points × {reps_points} …", flush=True)
        results = bench_store_and_load(args.workdir, reps_points, args.profile)
        print(f"(c) filtered get_picks × {reps_get} …", flush=True)
        results.append(bench_filtered_get(args.workdir, reps_get, args.profile))
        print(f"(d) building {N_RUNS:,} runs, then {reps_gather} fresh-process gathers …", flush=True)
        results.append(bench_gather(args.workdir, reps_gather, args.profile))
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)
    seconds = time.perf_counter() - start
    info["load"] = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print_table(results, "copick_db annotation benchmarks")
    print(f"benchmark process peak RSS {peak_rss_mb():.0f} MiB; {seconds:.0f} s in all; load {info['load']}")
    if not args.no_write:
        body = section_markdown(results, info, quick=args.quick, seconds=seconds, heading=HEADING, script=SCRIPT)
        replace_section(SECTION, body, machine=info)
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
