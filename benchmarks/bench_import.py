"""Import benchmarks: indexing a copick filesystem project in place, against copick reading the same project.

Run by hand (not a test): ``.venv/bin/python benchmarks/bench_import.py [--quick] [--copick-python PATH]``. It prints
a table and writes it into ``docs/performance.md`` between ``<!-- import:start -->`` and ``<!-- import:end -->``
(appending the section if missing). A missed target is reported as such, with cProfile's top entries for it.

The project (generated once under ``bench-data/import/``, reused while its spec matches): 1,000 runs, picks only,
10 pick sets per run (5 objects × 2 users), 45–55 points each, written directly as copick writes them
(``json.dump(model_dump(), indent=4)``: every point with its ``transformation_``, ``instance_id`` and ``score``).

What is measured, each in a fresh process, timed inside it (interpreter start and imports excluded):

a. copick 1.31 (in ``.venv-copick``): ``copick.from_file``, ``root.runs``, and ``picks.points`` of every pick set
   of every run: listing the project and loading every pick set.
b. ``copick_db.import_filesystem`` of that project into a new catalog (target ≤ 1.5 × a).
c. A re-import of the unchanged project into that catalog (target ≤ 25 % of b).
d. Peak RSS of a process importing a 10,000-run project of the same shape (target < 300 MB).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _timing import (
    REPO,
    Result,
    column,
    format_ms,
    fresh_process,
    interleave_processes,
    machine_info,
    over,
    peak_rss_mb,
    print_table,
    profile,
    replace_section,
    section_markdown,
)
from copick_projects import ProjectSpec
from copick_projects import ensure_project as generate_or_reuse

SECTION = "import"
HEADING = "Import: indexing a copick project in place"
SCRIPT = "benchmarks/bench_import.py"
N_RUNS = 1_000
N_RUNS_RSS = 10_000
OBJECTS = ("ribosome", "proteasome", "apoferritin", "thyroglobulin", "virus-like-particle")
USERS = (("alice", "1"), ("bob", "2"))
GENERATOR_VERSION = 1

COPICK_LOAD = """
import sys, time
import copick
start = time.perf_counter()
root = copick.from_file(sys.argv[1])
sets = points = 0
for run in root.runs:
    for picks in run.picks:
        points += len(picks.points)
        sets += 1
report(seconds=time.perf_counter() - start, sets=sets, points=points)
"""

FIRST_IMPORT = """
import os, sys, time
import copick_db
catalog = sys.argv[2]
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(catalog + suffix):
        os.remove(catalog + suffix)
start = time.perf_counter()
result = copick_db.import_filesystem(sys.argv[1], catalog, progress=False)
seconds = time.perf_counter() - start
report(seconds=seconds, added=result.total("added"), skipped=len(result.skipped))
"""

REIMPORT = """
import sys, time
import copick_db
start = time.perf_counter()
result = copick_db.import_filesystem(sys.argv[1], sys.argv[2], progress=False)
seconds = time.perf_counter() - start
report(seconds=seconds, changed=result.changed, unchanged=result.total("unchanged"))
"""


# ------------------------------------------------------------------------------------------------------------------
# The project
# ------------------------------------------------------------------------------------------------------------------


def ensure_project(directory: Path, n_runs: int) -> Path:
    """A generated project of ``n_runs`` runs under ``directory`` (reused when already there); its config path."""
    spec = ProjectSpec(n_runs, n_tomogram_runs=0, min_points=45, max_points=55, users=USERS)
    return generate_or_reuse(directory, spec, progress=True).config


# ------------------------------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------------------------------


def bench_speed(
    config: Path, catalog: Path, copick_python: str, reps: int, warmup: int, want_profile: bool
) -> list[Result]:
    """(a)–(c): copick's list + load, the first import and a no-change re-import, interleaved."""
    jobs = {
        "copick": (COPICK_LOAD, [str(config)], copick_python),
        "import": (FIRST_IMPORT, [str(config), str(catalog)], None),
    }
    runs = interleave_processes(jobs, n=reps, warmup=warmup)
    copick_s, import_s = column(runs["copick"], "seconds"), column(runs["import"], "seconds")
    sets, points = runs["copick"][0]["sets"], runs["copick"][0]["points"]
    assert runs["import"][0]["skipped"] == 0, runs["import"][0]
    reimports = fresh_process(REIMPORT, n=max(reps, 3), args=[str(config), str(catalog)], warmup=1)
    assert not any(r["changed"] for r in reimports)
    reimport_s = column(reimports, "seconds")

    ratio = import_s.median / copick_s.median
    first = Result(
        "first import of 1,000 runs (10 pick sets each)",
        "≤ 1.5 × copick's list + load",
        f"{import_s.median:.2f} s = {ratio:.2f} × copick",
        f"{sets:,} pick sets, {points:,} points copied into a new catalog; best {import_s.best:.2f} s, worst "
        f"{import_s.worst:.2f} s of {reps}; child peak RSS {max(r['peak_rss_mb'] for r in runs['import']):.0f} MiB",
        ratio <= 1.5,
        over(ratio, 1.5),
    )
    copick_row = Result(
        "copick 1.31: list runs and load every pick set",
        "",
        f"{copick_s.median:.2f} s",
        f"`copick.from_file`, `root.runs`, `picks.points` for every set (zarr 2.18); best {copick_s.best:.2f} s, "
        f"worst {copick_s.worst:.2f} s of {reps}, interleaved with the imports",
        None,
    )
    share = reimport_s.median / import_s.median
    again = Result(
        "re-import of the unchanged project",
        "≤ 25 % of the first import",
        f"{format_ms(reimport_s.median)} = {share * 100:.1f} %",
        f"stats every file, reads none, changes nothing; best {format_ms(reimport_s.best)} of "
        f"{reimport_s.n} fresh processes",
        share <= 0.25,
        over(share, 0.25),
    )
    if want_profile or not first.passed or not again.passed:
        import copick_db

        def run_import() -> None:
            catalog.unlink(missing_ok=True)
            copick_db.import_filesystem(config, catalog, progress=False)

        text = profile(run_import)
        if want_profile or not first.passed:
            first.profile = text
        if want_profile or not again.passed:
            again.profile = profile(lambda: copick_db.import_filesystem(config, catalog, progress=False))
    return [copick_row, first, again]


def bench_rss(config: Path, catalog: Path) -> Result:
    """(d): peak RSS of importing 10,000 runs, in a fresh process."""
    (one,) = fresh_process(FIRST_IMPORT, n=1, args=[str(config), str(catalog)], warmup=0, timeout=3600)
    rss = one["peak_rss_mb"]
    return Result(
        f"peak RSS importing {N_RUNS_RSS:,} runs",
        "< 300 MB",
        f"{rss:.0f} MiB",
        f"{one['added']:,} entities added in {one['seconds']:.1f} s ({N_RUNS_RSS * 10:,} picks files); "
        "`ru_maxrss` of the importing process",
        rss * 1.048576 < 300,
        over(rss * 1.048576, 300),
    )


# ------------------------------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the import benchmarks, print the table and write it into docs/performance.md.

    Returns:
        0 when every target is met, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one timed repetition (same sizes), for a smoke run")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries for every operation")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    parser.add_argument("--skip-rss", action="store_true", help=f"skip the {N_RUNS_RSS:,}-run memory measurement")
    parser.add_argument(
        "--copick-python",
        default=str(REPO / ".venv-copick" / "bin" / "python"),
        help="the interpreter that has copick 1.31 installed",
    )
    parser.add_argument(
        "--workdir", type=Path, default=REPO / "bench-data" / "import", help="where projects and catalogs live"
    )
    args = parser.parse_args(argv)
    if not Path(args.copick_python).exists():
        parser.error(f"no copick interpreter at {args.copick_python}; pass --copick-python")
    reps, warmup = (1, 1) if args.quick else (3, 1)

    info = machine_info()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    print(f"project of {N_RUNS:,} runs …", flush=True)
    config = ensure_project(args.workdir / f"runs-{N_RUNS}", N_RUNS)
    catalog = args.workdir / f"runs-{N_RUNS}.sqlite"
    print(f"(a)–(c) copick list + load, first import, re-import × {reps} …", flush=True)
    results = bench_speed(config, catalog, args.copick_python, reps, warmup, args.profile)
    if not args.skip_rss:
        print(f"project of {N_RUNS_RSS:,} runs …", flush=True)
        big = ensure_project(args.workdir / f"runs-{N_RUNS_RSS}", N_RUNS_RSS)
        print("(d) peak RSS of the import …", flush=True)
        results.append(bench_rss(big, args.workdir / f"runs-{N_RUNS_RSS}.sqlite"))
    seconds = time.perf_counter() - start
    info["load"] = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print_table(results, "copick_db import benchmarks")
    print(f"benchmark process peak RSS {peak_rss_mb():.0f} MiB; {seconds:.0f} s in all; load {info['load']}")
    if not args.no_write:
        body = section_markdown(results, info, quick=args.quick, seconds=seconds, heading=HEADING, script=SCRIPT)
        replace_section(SECTION, body, machine=info)
        print(f"wrote the {SECTION!r} section of {REPO / 'docs' / 'performance.md'}")
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
