"""copick_db against copick 1.31's filesystem backend on the same projects of 100, 1,000 and 10,000 runs.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_vs_copick.py --copick-python .venv-copick/bin/python [--quick]

For each size it generates (or reuses) a copick filesystem project with :mod:`copick_projects` under
``bench-data/projects/``, imports it with ``copick_db.import_filesystem`` into ``bench-data/vs-copick/``, and
times the same operations through copick (in ``.venv-copick``: copick 1.31, zarr 2.18) and through copick_db (in
``.venv``: zarr 3). Every sample comes from a fresh process; copick's and copick_db's processes alternate in a
shuffled order (:func:`_timing.interleave_processes`) so load on the machine hits both alike; medians are reported.
Each process first imports its library and runs the operations once on a tiny other project, untimed, so that
lazy imports and one-time set-up (both libraries defer much of it to first use) are not billed to the first
operation timed; that start-up is reported as a row of its own.

Operations (``OBJECT`` = ribosome, ``USER`` = alice):

- open + list runs: ``copick.from_file(config).runs`` / ``copick_db.open(catalog).runs``.
- ``get_run(name)`` on a newly opened root (median of 20 random names per process).
- per-run filtered ``run.get_picks(object_name, user_id)`` + ``numpy()`` of the one match, on a run from a newly
  opened root (median of 20 random runs per process).
- one object's pick sets across all runs with their points, from a fresh open: copick loops runs → ``get_picks``
  → ``numpy``; copick_db asks ``root.get_picks(object_name=…)`` → ``numpy``.
- a 64³ region of a tomogram via ``tomo.numpy(x=…, y=…, z=…)``, interleaved with raw ``zarr`` on the same array
  in the same process (median of the paired ratios).
- the import: ``copick_db.import_filesystem`` into a new catalog; copick's equivalent is listing the runs and
  loading every pick set.
- the peak RSS of every process.

With ``--quick`` (what ``make bench`` runs) copick's two full passes at 10,000 runs, the gather and the load of
every pick set, read every 4th and every 20th run and are scaled up (marked "≈" in the table; the listing of the
runs is always timed whole); full mode reads every run. When a speed-up target is missed, copick_db's side is
profiled on the largest catalog and the profile goes into the document.

It writes a table between ``<!-- vs-copick:start -->`` and ``<!-- vs-copick:end -->`` in ``docs/performance.md``,
the plot ``docs/perf_scaling.png``, and the raw numbers to ``bench-data/vs-copick/results.json``
(``--from-json`` redraws the table and plot from them without measuring).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _timing import (
    PERFORMANCE_DOC,
    REPO,
    Result,
    format_ms,
    fresh_process,
    interleave_processes,
    machine_info,
    markdown_table,
    measured_line,
    peak_rss_mb,
    print_table,
    profile,
    replace_section,
)
from copick_projects import DEFAULT_DIR, Project, ProjectSpec, ensure_project

SECTION = "vs-copick"
HEADING = "copick_db vs copick 1.31 (filesystem backend)"
SCRIPT = "benchmarks/bench_vs_copick.py"
PLOT = REPO / "docs" / "perf_scaling.png"
SIZES = (100, 1_000, 10_000)
OBJECT = "ribosome"
USER = "alice"
LOOKUPS = 20
REGION = 64
LIBS = ("copick", "copick_db")


@dataclass(frozen=True)
class Budget:
    """Processes (or reads) per operation at one project size.

    Attributes:
        lookups: Processes for open + list, ``get_run`` and per-run ``get_picks`` (each library).
        gather_copick: copick processes gathering one object across all runs.
        gather_db: copick_db processes for the same.
        region_pairs: 64³ reads per library process (one process each), each paired with a raw zarr read.
        imports: copick_db import processes.
        load_all: copick processes listing runs and loading every pick set.
        load_stride: copick's load-all reads every ``load_stride``-th run and is scaled up (1: all runs).
        gather_stride: The same for copick's gather (copick_db's always reads every run).
    """

    lookups: int
    gather_copick: int
    gather_db: int
    region_pairs: int
    imports: int
    load_all: int
    load_stride: int = 1
    gather_stride: int = 1


#: Repetitions per mode and size. At 10,000 runs copick's gather takes over a minute and its load of every pick set
#: several, and copick_db's import about two, so ``--quick`` (what `make bench` runs, to stay under 10 minutes)
#: times those once, and copick's two full passes on a sample of the runs, scaled up (marked "≈" in the table).
BUDGETS: dict[str, dict[int, Budget]] = {
    "full": {
        100: Budget(7, 5, 7, 40, 3, 3),
        1_000: Budget(5, 3, 5, 40, 3, 2),
        10_000: Budget(5, 2, 5, 40, 2, 1),
    },
    "quick": {
        100: Budget(3, 3, 3, 15, 2, 2),
        1_000: Budget(3, 2, 3, 15, 1, 1),
        10_000: Budget(3, 1, 3, 15, 1, 1, load_stride=20, gather_stride=4),
    },
}

# ------------------------------------------------------------------------------------------------------------------
# Child snippets. A library prelude defines open_root, gather, get_tomo, tomo_path, raw_array, LIB_VERSION and
# IMPORT_S; the operation snippets are shared by both libraries.
# ------------------------------------------------------------------------------------------------------------------

_COMMON = """
import os as _os, random as _random, statistics as _st
_sys.path.insert(0, "benchmarks")

def done(**values):
    # Report, then exit at once: tearing down a million pydantic points takes copick's process many seconds.
    report(**values)
    _os._exit(0)

_t0 = _time.perf_counter()
"""

#: Run after a library prelude: the same operations once on a tiny other project (named by an environment
#: variable), untimed, so that the lazy imports and one-time set-up both libraries do on first use are not billed
#: to the first timed operation. Nothing of the measured project is touched, so no cache of it is warm.
_WARMUP = """
WARMUP_S = 0.0
_warm = _os.environ.get(_WARM_ENV)
if _warm:
    _w0 = _time.perf_counter()
    _name = open_root(_warm).runs[0].name
    open_root(_warm).get_run(_name).get_picks(object_name="ribosome", user_id="alice")[0].numpy()
    gather(open_root(_warm), "ribosome")
    _tomo = get_tomo(open_root(_warm), _name)
    _tomo.numpy(x=slice(0, 8), y=slice(0, 8), z=slice(0, 8))
    raw_array(tomo_path(_tomo))[0:8, 0:8, 0:8]
    WARMUP_S = _time.perf_counter() - _w0
"""

COPICK_PRELUDE = (
    _COMMON
    + """
import copick, zarr
IMPORT_S = _time.perf_counter() - _t0
LIB_VERSION = copick.__version__
_WARM_ENV = "BENCH_VS_COPICK_WARMUP_COPICK"

def open_root(path):
    return copick.from_file(path)

def gather(root, obj, stride=1):
    # -> (arrays, runs, runs read, when the listing ended); every stride-th run only, when stride > 1
    runs = root.runs
    listed = _time.perf_counter()
    sample = runs[::stride]
    out = []
    for run in sample:
        for picks in run.get_picks(object_name=obj):
            out.append(picks.numpy())
    return out, len(runs), len(sample), listed

def get_tomo(root, run_name):
    return root.get_run(run_name).get_voxel_spacing(10.0).get_tomograms("wbp")[0]

def tomo_path(tomo):
    return tomo.overlay_path

def raw_array(path):
    return zarr.open(path, mode="r")["0"]
"""
    + _WARMUP
)

DB_PRELUDE = (
    _COMMON
    + """
import copick_db, zarr
IMPORT_S = _time.perf_counter() - _t0
LIB_VERSION = copick_db.__version__
_WARM_ENV = "BENCH_VS_COPICK_WARMUP_DB"

def open_root(path):
    return copick_db.open(path, read_only=True)

def gather(root, obj, stride=1):
    # one query across every run, whatever the stride
    return [picks.numpy() for picks in root.get_picks(object_name=obj)], 1, 1, _time.perf_counter()

def get_tomo(root, run_name):
    return root.get_run(run_name).get_voxel_spacing(10.0).get_tomogram("wbp")

def tomo_path(tomo):
    return str(tomo.path)

def raw_array(path):
    return zarr.open(path, mode="r")["0"]
"""
    + _WARMUP
)

#: argv: project (config or catalog), comma-separated run names, object, user.
LOOKUPS_CHILD = """
path, names, obj, user = _sys.argv[1], _sys.argv[2].split(","), _sys.argv[3], _sys.argv[4]
start = _time.perf_counter()
root = open_root(path)
open_s = _time.perf_counter() - start
n_runs = len(root.runs)
list_s = _time.perf_counter() - start
get_run = []
for name in names:
    fresh = open_root(path)
    start = _time.perf_counter()
    run = fresh.get_run(name)
    get_run.append(_time.perf_counter() - start)
    assert run is not None, name
picks = []
for name in names:
    run = open_root(path).get_run(name)
    start = _time.perf_counter()
    found = run.get_picks(object_name=obj, user_id=user)
    positions, transforms = found[0].numpy()
    picks.append(_time.perf_counter() - start)
    assert len(found) == 1 and len(positions) > 0 and transforms.shape == (len(positions), 4, 4)
done(import_s=IMPORT_S, warmup_s=WARMUP_S, open_s=open_s, list_s=list_s, runs=n_runs, get_run_s=_st.median(get_run),
     picks_s=_st.median(picks), version=LIB_VERSION, zarr=zarr.__version__)
"""

#: argv: project, object, stride. With a stride, the loop over runs is timed on a sample and scaled up.
GATHER_CHILD = """
start = _time.perf_counter()
found, n_runs, n_read, listed = gather(open_root(_sys.argv[1]), _sys.argv[2], int(_sys.argv[3]))
finished = _time.perf_counter()
done(gather_s=(listed - start) + (finished - listed) * n_runs / n_read, measured_s=finished - start,
     sampled=n_read if n_read < n_runs else None, sets=len(found),
     points=sum(len(positions) for positions, _ in found))
"""

#: argv: project, run name, reads, tomogram edge, region edge.
REGION_CHILD = """
import numpy as _np
from _timing import interleave, paired_ratios
path, run_name, reads, edge, size = _sys.argv[1], _sys.argv[2], *map(int, _sys.argv[3:6])
start = _time.perf_counter()
tomo = get_tomo(open_root(path), run_name)
first = tomo.numpy(x=slice(0, size), y=slice(0, size), z=slice(0, size))
first_s = _time.perf_counter() - start
raw = raw_array(tomo_path(tomo))
rng = _random.Random(7)
offsets = [tuple(rng.randrange(0, edge - size + 1) for _ in range(3)) for _ in range(reads)]

def via_lib(o):
    z, y, x = o
    return tomo.numpy(x=slice(x, x + size), y=slice(y, y + size), z=slice(z, z + size))

def via_raw(o):
    z, y, x = o
    return raw[z : z + size, y : y + size, x : x + size]

for o in offsets[:2]:
    _np.testing.assert_array_equal(via_lib(o), via_raw(o))
samples = interleave({"lib": via_lib, "raw": via_raw}, offsets, seed=3)
ratios = paired_ratios(samples["lib"], samples["raw"])
done(lib_s=samples["lib"].median, raw_s=samples["raw"].median, ratio=ratios.median, ratios=ratios.values,
     first_s=first_s, chunks=list(raw.chunks), zarr=zarr.__version__)
"""

#: argv: config, stride.
LOAD_ALL_CHILD = """
stride = int(_sys.argv[2])
start = _time.perf_counter()
root = open_root(_sys.argv[1])
runs = root.runs
listed = _time.perf_counter()
sets = points = 0
sample = runs[::stride]
for run in sample:
    for picks in run.picks:
        points += len(picks.numpy()[0])
        sets += 1
finished = _time.perf_counter()
done(list_s=listed - start, load_s=finished - listed, runs=len(runs), sampled=len(sample), sets=sets, points=points,
     total_s=(listed - start) + (finished - listed) * len(runs) / len(sample))
"""

#: argv: config, catalog. Replaces the catalog first.
IMPORT_CHILD = """
import pathlib, shutil
config, catalog = _sys.argv[1], _sys.argv[2]
for suffix in ("", "-wal", "-shm", "-journal"):
    pathlib.Path(catalog + suffix).unlink(missing_ok=True)
shutil.rmtree(pathlib.Path(catalog).with_suffix(".data"), ignore_errors=True)
start = _time.perf_counter()
result = copick_db.import_filesystem(config, catalog, progress=False)
import_s = _time.perf_counter() - start
done(import_s=import_s, runs=result.counts["runs"].added, sets=result.counts["picks"].added,
     skipped=len(result.skipped))
"""


# ------------------------------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------------------------------


def _median(reports: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in reports)


def _entry(reports: list[dict[str, Any]], key: str, **extra: Any) -> dict[str, Any]:
    """The median of ``key`` over processes, its samples, and the median peak RSS."""
    return {
        "median": _median(reports, key),
        "values": [float(r[key]) for r in reports],
        "rss_mb": _median(reports, "peak_rss_mb"),
        **extra,
    }


def measure_size(
    project: Project, catalog: Path, budget: Budget, copick_python: str, *, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Every operation at one project size, for both libraries.

    Args:
        project: The generated project.
        catalog: Where copick_db's catalog goes (replaced).
        budget: Repetitions.
        copick_python: The interpreter of the copick environment.
        seed: Seeds the choice of run names.

    Returns:
        Operation → library → measurement (``median`` in seconds or MiB, ``values``, ``rss_mb`` and extras).
    """
    config = str(project.config)
    cat = str(catalog)
    out: dict[str, dict[str, Any]] = {}
    n = len(project.run_names)

    clock = [time.perf_counter()]

    def step(text: str) -> None:
        now = time.perf_counter()
        print(f"  [{n:,} runs, +{now - clock[0]:.0f} s] {text}", flush=True)
        clock[0] = now

    step(f"import (copick_db ×{budget.imports}) and list + load every pick set (copick ×{budget.load_all})")
    done = interleave_processes(
        {
            "copick_db": (DB_PRELUDE + IMPORT_CHILD, [config, cat], None),
            "copick": (COPICK_PRELUDE + LOAD_ALL_CHILD, [config, str(budget.load_stride)], copick_python),
        },
        n={"copick_db": budget.imports, "copick": budget.load_all},
        seed=seed,
    )
    db, cp = done["copick_db"], done["copick"]
    assert all(r["runs"] == n and r["sets"] == project.pick_sets and not r["skipped"] for r in db), db
    assert all(r["runs"] == n for r in cp), cp
    if budget.load_stride == 1:
        assert all(r["sets"] == project.pick_sets for r in cp), cp
    out["import"] = {
        "copick_db": _entry(db, "import_s"),
        "copick": _entry(cp, "total_s", sampled=cp[0]["sampled"], list_s=_median(cp, "list_s")),
    }

    rng = random.Random(seed + n)
    names = ",".join(rng.sample(project.run_names, min(LOOKUPS, n)))
    step(f"open + list, get_run, per-run get_picks (×{budget.lookups} each)")
    done = interleave_processes(
        {
            "copick_db": (DB_PRELUDE + LOOKUPS_CHILD, [cat, names, OBJECT, USER], None),
            "copick": (COPICK_PRELUDE + LOOKUPS_CHILD, [config, names, OBJECT, USER], copick_python),
        },
        n=budget.lookups,
        seed=seed + 1,
    )
    for lib, reports in done.items():
        assert all(r["runs"] == n for r in reports), reports
        versions = {"version": reports[0]["version"], "zarr": reports[0]["zarr"]}
        out.setdefault("list", {})[lib] = _entry(
            reports,
            "list_s",
            runs=n,
            open_s=_median(reports, "open_s"),
            import_s=_median(reports, "import_s"),
            **versions,
        )
        out.setdefault("get_run", {})[lib] = _entry(reports, "get_run_s")
        out.setdefault("picks", {})[lib] = _entry(reports, "picks_s")
        for r in reports:
            r["startup_s"] = r["import_s"] + r["warmup_s"]
        out.setdefault("startup", {})[lib] = _entry(reports, "startup_s", import_s=_median(reports, "import_s"))

    step(f"gather {OBJECT!r} across runs (copick ×{budget.gather_copick}, copick_db ×{budget.gather_db})")
    done = interleave_processes(
        {
            "copick_db": (DB_PRELUDE + GATHER_CHILD, [cat, OBJECT, "1"], None),
            "copick": (COPICK_PRELUDE + GATHER_CHILD, [config, OBJECT, str(budget.gather_stride)], copick_python),
        },
        n={"copick_db": budget.gather_db, "copick": budget.gather_copick},
        seed=seed + 2,
    )
    per_run = len(project.spec.users)  # every user picked every object in every run
    for lib, reports in done.items():
        read = reports[0]["sampled"] or n
        assert all(r["sets"] == read * per_run for r in reports), (lib, reports)
        out.setdefault("gather", {})[lib] = _entry(reports, "gather_s", sets=reports[0]["sets"], sampled=read)
    out["gather"]["points"] = done["copick_db"][0]["points"]

    step(f"{REGION}³ region reads (×{budget.region_pairs} pairs with raw zarr, one process each)")
    tomo_run = project.tomogram_runs[-1]
    region_args = [tomo_run, str(budget.region_pairs), str(project.spec.tomogram_edge), str(REGION)]
    done = interleave_processes(
        {
            "copick_db": (DB_PRELUDE + REGION_CHILD, [cat, *region_args], None),
            "copick": (COPICK_PRELUDE + REGION_CHILD, [config, *region_args], copick_python),
            # copick_db also runs on zarr 2.18: the copick environment has it too, which separates the library
            # from the zarr version.
            "copick_db_zarr2": (DB_PRELUDE + REGION_CHILD, [cat, *region_args], copick_python),
        },
        n=1,
        seed=seed + 3,
    )
    for lib, reports in done.items():
        out.setdefault("region", {})[lib] = _entry(
            reports,
            "lib_s",
            raw_s=_median(reports, "raw_s"),
            ratio=_median(reports, "ratio"),
            ratios=[v for r in reports for v in r["ratios"]],
            first_s=_median(reports, "first_s"),
            chunks=reports[0]["chunks"],
            zarr=reports[0]["zarr"],
        )
    step("done")
    return out


# ------------------------------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------------------------------

#: Operation key → (label for tables and plot panels, whether an index can make it flat in the number of runs).
OPERATIONS: dict[str, tuple[str, bool]] = {
    "list": ("open + list runs", False),
    "get_run": ("`get_run(name)`, new root", True),
    "picks": ("per-run `get_picks(object, user)` + `numpy()`", True),
    "gather": ("one object across all runs + `numpy()`, fresh open", False),
    "region": (f"{REGION}³ tomogram region read", True),
    "import": ("import (copick: list + load every pick set)", False),
}


def _time_text(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:,.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return format_ms(seconds)


def _ratio_text(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.0f}×"
    return f"{ratio:.1f}×"


#: Largest log-log slope of time against runs that counts as flat (0.2: at most 2.5× slower with 100× the runs),
#: and as at most linear (an operation whose result grows with the runs cannot do better than linear).
FLAT, LINEAR = 0.2, 1.1


def _growth(results: dict[str, Any], op: str, lib: str, *, last_decade: bool = False) -> float:
    """The log-log slope of median time against runs (1 = linear, 0 = flat), over all sizes or the last step."""
    sizes = sorted(int(s) for s in results["sizes"])
    a, b = (sizes[-2] if last_decade else sizes[0]), sizes[-1]
    ta = results["sizes"][str(a)][op][lib]["median"]
    tb = results["sizes"][str(b)][op][lib]["median"]
    return math.log(tb / ta) / math.log(b / a)


def medians_table(results: dict[str, Any]) -> str:
    """The Markdown table of medians and ratios per operation and size."""
    rows = []
    labels = {op: label for op, (label, _) in OPERATIONS.items()}
    labels["startup"] = STARTUP_LABEL
    for op, label in labels.items():
        for size in sorted(int(s) for s in results["sizes"]):
            if op not in results["sizes"][str(size)]:
                continue
            entry = results["sizes"][str(size)][op]
            cp, db = entry["copick"], entry["copick_db"]
            ratio = cp["median"] / db["median"]
            if op in ("import", "gather") and cp.get("sampled", size) < size:
                cp_text = f"≈ {_time_text(cp['median'])} (every {size // cp['sampled']}th run, scaled)"
            else:
                cp_text = _time_text(cp["median"])
            raw = ""
            if op == "region":
                raw = f"{_time_text(cp['raw_s'])} / {_time_text(db['raw_s'])}"
            rss = f"{cp['rss_mb']:,.0f} / {db['rss_mb']:,.0f}"
            reps = f"{len(cp['values'])} / {len(db['values'])}"
            rows.append(
                [label, f"{size:,}", cp_text, _time_text(db["median"]), _ratio_text(ratio), raw or "–", rss, reps]
            )
    headers = [
        "Operation",
        "Runs",
        "copick 1.31",
        "copick_db",
        "copick / copick_db",
        "raw zarr (copick's / ours)",
        "peak RSS MiB (copick / copick_db)",
        "processes",
    ]
    return markdown_table(headers, rows)


def targets(results: dict[str, Any]) -> list[Result]:
    """The issue's targets, judged on the measurements."""
    sizes = sorted(int(s) for s in results["sizes"])
    largest = str(sizes[-1])
    top = results["sizes"][largest]
    out = []
    list_ratio = top["list"]["copick"]["median"] / top["list"]["copick_db"]["median"]
    out.append(
        Result(
            f"open + list runs at {int(largest):,} runs",
            "≥ 20× faster than copick",
            f"{list_ratio:.0f}×",
            f"copick {_time_text(top['list']['copick']['median'])}, "
            f"copick_db {_time_text(top['list']['copick_db']['median'])}",
            list_ratio >= 20,
            f"{list_ratio:.1f}× vs ≥ 20×",
        )
    )
    gather_ratio = top["gather"]["copick"]["median"] / top["gather"]["copick_db"]["median"]
    out.append(
        Result(
            f"gather one object's picks across {int(largest):,} runs",
            "≥ 50× faster than copick",
            f"{gather_ratio:.0f}×",
            f"copick {_time_text(top['gather']['copick']['median'])}, "
            f"copick_db {_time_text(top['gather']['copick_db']['median'])}, "
            f"{top['gather']['copick_db']['sets']:,} pick sets"
            + (" (copick's time estimated from a sample of the runs, see below)" if _sampled(top, "gather") else ""),
            gather_ratio >= 50,
            f"{gather_ratio:.1f}× vs ≥ 50×",
        )
    )
    per_size = [results["sizes"][str(s)]["region"]["copick_db"]["ratio"] - 1 for s in sizes]
    pooled = [v for s in sizes for v in results["sizes"][str(s)]["region"]["copick_db"]["ratios"]]
    overhead = statistics.median(pooled) - 1
    out.append(
        Result(
            f"{REGION}³ tomogram read vs raw zarr (copick_db)",
            "within 5 %",
            f"{overhead * 100:+.1f} %",
            f"median of {len(pooled)} paired ratios (all sizes); per size "
            + ", ".join(f"{s:,}: {o * 100:+.1f} %" for s, o in zip(sizes, per_size, strict=True)),
            overhead <= 0.05,
            f"+{overhead * 100:.1f} % vs ≤ 5 %",
        )
    )
    for op, (label, indexable) in OPERATIONS.items():
        if op == "region" or len(sizes) < 2:
            continue
        slope = _growth(results, op, "copick_db")
        last = _growth(results, op, "copick_db", last_decade=True)
        cp_slope = _growth(results, op, "copick")
        limit = FLAT if indexable else LINEAR
        kind = f"flat (slope ≤ {FLAT})" if indexable else f"≤ linear (slope ≤ {LINEAR}; the result grows with N)"
        out.append(
            Result(
                f"growth of {label}",
                kind,
                f"slope {slope:.2f}",
                f"log-log slope of copick_db's median time, {sizes[0]:,} → {sizes[-1]:,} runs "
                f"({sizes[-2]:,} → {sizes[-1]:,}: {last:.2f}); copick's {cp_slope:.2f}",
                slope <= limit,
                f"slope {slope:.2f} vs ≤ {limit}",
            )
        )
    return out


#: The table row of each child's start-up, which no other row includes.
STARTUP_LABEL = "start-up: `import` + first use on another project (excluded above)"

#: Operation key → short panel title.
PANEL_TITLES = {
    "list": "open + list runs",
    "get_run": "get_run(name) on a new root",
    "picks": "per-run get_picks(object, user) + numpy()",
    "gather": "one object's picks across all runs",
    "region": f"{REGION}³ tomogram region read",
    "import": "import (copick: list + load all picks)",
}


def plot(results: dict[str, Any], path: Path) -> None:
    """Time against the number of runs on log axes, one panel per operation, plus the speed-ups.

    Args:
        results: What :func:`main` measured (or read back from results.json).
        path: The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    sizes = sorted(int(s) for s in results["sizes"])
    at = results["sizes"]
    colours = {"copick": "#d95f02", "copick_db": "#1b9e77"}
    names = {"copick": "copick 1.31", "copick_db": "copick_db"}
    fig, axes = plt.subplots(2, 4, figsize=(16, 8), constrained_layout=True)
    seconds = FuncFormatter(lambda v, _: f"{v * 1000:g} ms" if v < 1 else f"{v:g} s")

    for ax, op in zip(axes.flat, OPERATIONS, strict=False):
        for lib in LIBS:
            ys = [at[str(s)][op][lib]["median"] for s in sizes]
            ax.plot(sizes, ys, "o-", color=colours[lib], label=names[lib], linewidth=2, markersize=6)
            if op == "region":
                raw = [at[str(s)]["region"][lib]["raw_s"] for s in sizes]
                ax.plot(sizes, raw, "x:", color=colours[lib], alpha=0.7, label=f"raw zarr ({names[lib]} env)")
        if op == "region" and all("copick_db_zarr2" in at[str(s)]["region"] for s in sizes):
            z2 = [at[str(s)]["region"]["copick_db_zarr2"]["median"] for s in sizes]
            ax.plot(sizes, z2, "d--", color="#7570b3", label="copick_db on zarr 2.18")
        if op in ("import", "gather"):
            for s in sizes:
                entry = at[str(s)][op]["copick"]
                if _sampled(at[str(s)], op):
                    ax.plot([s], [entry["median"]], "o", color=colours["copick"], markerfacecolor="white", zorder=3)
                    ax.annotate(
                        f"≈ every {s // entry['sampled']}th run,\nscaled up",
                        (s, entry["median"]),
                        textcoords="offset points",
                        xytext=(-10, -28),
                        ha="right",
                        fontsize=8,
                    )
        ax.set_yscale("log")
        if op == "region":
            low = min(
                min(at[str(s)]["region"][lib]["median"], at[str(s)]["region"][lib]["raw_s"])
                for s in sizes
                for lib in LIBS
            )
            high = max(
                max(at[str(s)]["region"][lib]["median"], at[str(s)]["region"][lib]["raw_s"])
                for s in sizes
                for lib in LIBS
            )
            ax.set_ylim(low / 2, high * 2)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(seconds)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(PANEL_TITLES[op], fontsize=11)
        ax.set_ylabel("median time")
        ax.legend(fontsize=8, loc="best")

    ax = axes.flat[len(OPERATIONS)]
    short = {"list": "list", "get_run": "get_run", "picks": "per-run picks", "gather": "gather", "region": "region"}
    short["import"] = "import"
    for op in OPERATIONS:
        ratios = [at[str(s)][op]["copick"]["median"] / at[str(s)][op]["copick_db"]["median"] for s in sizes]
        (line,) = ax.plot(sizes, ratios, "o-", linewidth=1.5, markersize=4)
        ax.annotate(
            short[op],
            (sizes[-1], ratios[-1]),
            textcoords="offset points",
            xytext=(5, -3),
            fontsize=8,
            color=line.get_color(),
        )
    for goal, text in ((20, "list target ≥ 20×"), (50, "gather target ≥ 50×")):
        ax.axhline(goal, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(text, (sizes[0], goal), textcoords="offset points", xytext=(0, 3), fontsize=7, color="grey")
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_title("speed-up: copick time / copick_db time", fontsize=11)

    ax = axes.flat[len(OPERATIONS) + 1]
    for lib in LIBS:
        for op, style in (("gather", "o-"), ("import", "s--")):
            ys = [at[str(s)][op][lib]["rss_mb"] for s in sizes]
            what = "gather" if op == "gather" else ("import" if lib == "copick_db" else "load all")
            ax.plot(sizes, ys, style, color=colours[lib], label=f"{names[lib]}: {what}")
            for s, y in zip(sizes, ys, strict=True):
                if lib == "copick" and _sampled(at[str(s)], op):
                    ax.plot([s], [y], style[0], color=colours[lib], markerfacecolor="white", zorder=3)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} MiB"))
    ax.set_title("peak RSS (hollow: sampled runs)", fontsize=11)
    ax.legend(fontsize=8)

    for ax in axes.flat:
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
        ax.set_xlim(sizes[0] / 1.6, sizes[-1] * (3.5 if ax is axes.flat[len(OPERATIONS)] else 1.6))
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlabel("runs in the project")
    mode = "--quick" if results["quick"] else "full"
    fig.suptitle(
        f"copick_db vs copick 1.31 (filesystem backend), medians over fresh processes, log-log ({mode} mode; "
        f"generated by {SCRIPT})",
        fontsize=12,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def section(results: dict[str, Any], checks: list[Result]) -> str:
    """The vs-copick section of the performance document."""
    info = results["info"]
    sizes = sorted(int(s) for s in results["sizes"])
    any_size = results["sizes"][str(sizes[0])]
    cp_versions = any_size["list"]["copick"]
    spec = results["spec"]
    lines = [
        f"## {HEADING}",
        "",
        measured_line(info, quick=results["quick"], seconds=results["seconds"], script=SCRIPT)
        + f" copick side (`.venv-copick`): copick {cp_versions['version']}, zarr {cp_versions['zarr']}.",
        "",
        f"Projects of {', '.join(f'{s:,}' for s in sizes)} runs generated by `benchmarks/copick_projects.py` in "
        f"copick's filesystem layout: 5 particle objects, one pick set per object for each of 3 users (one a tool "
        f"with session `0` whose points carry random rotations) in every run, {spec['min_points']}–"
        f"{spec['max_points']} points each; on {spec['n_tomogram_runs']} runs a 10 Å voxel spacing with a "
        f"{spec['tomogram_edge']}³ float32 tomogram (3 levels) and a segmentation. copick reads the project "
        "directly; copick_db reads the catalog `copick_db.import_filesystem` built from it"
        + ". Every number is the median over fresh processes; copick's and copick_db's processes alternate.",
        "",
        "![time against number of runs, log-log](perf_scaling.png)",
        "",
        medians_table(results),
        "",
        "The lookups (`get_run`, per-run `get_picks`) are medians of 20 random runs per process, each on a newly "
        "opened root, so no cache helps; open + list and the gather include opening the project. The tomogram "
        "read is the median of paired reads at random offsets in one process, against raw `zarr.open(path)['0']` "
        "in the same environment; a chunk holds the whole level (copick's layout: chunks of up to 256³), so "
        "every 64³ read decompresses one chunk. The import row compares `import_filesystem` with what copick "
        "does to see the same data: list the runs and load every pick set.",
        "",
        "### Targets",
        "",
        markdown_table(
            ["Target", "Goal", "Measured", "Result", "How"],
            [[r.operation, r.target, r.measured, r.verdict, r.details] for r in checks],
        ),
    ]
    for note in results.get("notes") or []:
        lines += ["", note]
    for op, text in (results.get("profiles") or {}).items():
        body = "\n".join(text.strip().splitlines()[:40])
        lines += ["", f"<details><summary>cProfile of copick_db's {PANEL_TITLES[op]}</summary>", "", "```", body]
        lines += ["```", "</details>"]
    return "\n".join(lines)


def _why(result: Result, results: dict[str, Any]) -> str:
    """Why a target was missed, from the measurements (the profiles, when there are any, follow the notes)."""
    sizes = sorted(int(s) for s in results["sizes"])
    top = results["sizes"][str(sizes[-1])]
    op = _target_op(result)
    if op == "list":
        cp, db = top["list"]["copick"], top["list"]["copick_db"]
        runs_only = (cp["median"] - cp.get("open_s", 0.0)) / (db["median"] - db.get("open_s", 0.0))
        return (
            f"copick_db spends {format_ms(db.get('open_s', 0.0))} of its {format_ms(db['median'])} opening the "
            "catalog (schema check, pragmas, project and pickable objects: a fixed cost), the rest on one query and "
            f"a run object per row; copick lists a local directory, warm in the page cache, with one glob "
            f"({(cp['median'] - cp.get('open_s', 0.0)) / sizes[-1] * 1e6:.0f} µs per run). The listing alone, "
            f"without either open, is {runs_only:.0f}× faster. A slower file system (copick on a network share) "
            "would widen the gap; that is not measured here."
        )
    if op == "gather":
        db = top["gather"]["copick_db"]
        per_set = db["median"] / db["sets"] * 1e6
        whole = [s for s in sizes if not _sampled(results["sizes"][str(s)], "gather")]
        at = results["sizes"][str(whole[-1])]["gather"] if whole else None
        measured = (
            f" At {whole[-1]:,} runs, measured whole on both sides, the ratio is "
            f"{at['copick']['median'] / at['copick_db']['median']:.0f}×, so the miss is not an artefact of a sampled "
            "estimate."
            if at and whole[-1] != sizes[-1]
            else ""
        )
        return (
            "copick_db's gather is one indexed query, then a pick object per row, a blob decode, and copick's "
            "`numpy()` form: an N×4×4 float64 transform array per set (identity for most), "
            f"{per_set:.0f} µs per set in all (cProfile below). copick's cost per set is a file open, a JSON parse "
            "and pydantic validation of every point." + measured
        )
    if result.operation.startswith(f"{REGION}³"):
        return (
            "A region read is one chunk decompression either way; the difference is copick_db's per-call work "
            "before zarr (resolving the store's path and checking it is the store it opened)."
        )
    return (
        "An index lookup does not grow with the number of runs by itself; a slope above the limit between sizes "
        "this small is the page cache, SQLite's B-tree depth and noise from other load on the machine."
    )


def _sampled(size_results: dict[str, Any], op: str) -> bool:
    """Whether copick's number for ``op`` at this size was estimated from a sample of the runs."""
    entry = size_results[op]["copick"]
    return bool(entry.get("sampled")) and entry["sampled"] < size_results["list"]["copick"].get("runs", 0)


def explain(results: dict[str, Any], checks: list[Result]) -> list[str]:
    """Paragraphs on missed targets (with why) and on what else a reader must know about these numbers.

    Args:
        results: The measurements.
        checks: The judged targets (:func:`targets`).

    Returns:
        Markdown paragraphs.
    """
    sizes = sorted(int(s) for s in results["sizes"])
    top = results["sizes"][str(sizes[-1])]
    n = f"{sizes[-1]:,}"
    notes = []
    misses = [r for r in checks if r.passed is False]
    if misses:
        parts = []
        for r in misses:
            parts.append(f"*{r.operation}*: {r.measured} ({r.miss}). {_why(r, results)}")
        notes.append("**Missed targets.** " + " ".join(parts))
    else:
        notes.append("**Every target is met.**")

    cp, db = top["get_run"]["copick"]["median"], top["get_run"]["copick_db"]["median"]
    if cp < db:
        notes.append(
            f"`get_run(name)` is the one operation where copick is faster ({format_ms(cp)} against "
            f"{format_ms(db)} at {n} runs): on a root that has not listed its runs, copick only checks that the "
            "run's directory exists (one `stat`), while copick_db runs an indexed query through SQLAlchemy. Both "
            "stay flat as the project grows; copick's answer costs a listing (the first row) as soon as anything "
            "has called `root.runs`."
        )
    gather = top["gather"]
    notes.append(
        f"The gather returns {gather['copick_db']['sets']:,} pick sets with {gather.get('points', 0):,} points at "
        f"{n} runs: copick opens and validates one JSON file per set "
        f"(peak RSS {gather['copick']['rss_mb']:,.0f} MiB), copick_db decodes them from one query's rows "
        f"(peak RSS {gather['copick_db']['rss_mb']:,.0f} MiB)."
    )
    imp = top["import"]
    notes.append(
        f"The import is paid once: {_time_text(imp['copick_db']['median'])} for {n} runs"
        + f", against {_time_text(imp['copick']['median'])} that copick spends in every process that needs all "
        "the picks."
    )
    what = {"gather": "its gather", "import": "its load of every pick set"}
    scaled = [op for op in ("gather", "import") if _sampled(top, op)]
    if scaled:
        parts = [f"{what[op]} every {sizes[-1] // top[op]['copick']['sampled']}th run" for op in scaled]
        notes.append(
            f"**≈ marks an estimate.** At {n} runs copick read only a sample: "
            + " and ".join(parts)
            + "; the time of that loop was scaled up by the inverse of the sample, and its listing of the runs was "
            "timed whole. Those processes' peak RSS is the sample's, so copick's real figure is higher. This is "
            "`--quick` mode, which `make bench` uses to stay under 10 minutes; copick's cost is the same in every "
            "run (compare the 1,000-run rows, measured whole), and full mode (`benchmarks/bench_vs_copick.py` "
            "without `--quick`) reads every run."
        )
    region = top["region"]
    text = (
        f"A {REGION}³ tomogram region costs what zarr costs: at {n} runs copick reads it in "
        f"{format_ms(region['copick']['median'])} (raw zarr {region['copick']['zarr']}: "
        f"{format_ms(region['copick']['raw_s'])}), copick_db in {format_ms(region['copick_db']['median'])} (raw zarr "
        f"{region['copick_db']['zarr']}: {format_ms(region['copick_db']['raw_s'])}); each read decompresses one "
        f"{'×'.join(str(c) for c in region['copick_db']['chunks'])} chunk."
    )
    z2 = region.get("copick_db_zarr2")
    if z2:
        text += (
            f" Under zarr {z2['zarr']} (the copick environment has copick_db too) copick_db reads it in "
            f"{format_ms(z2['median'])} against raw zarr's {format_ms(z2['raw_s'])} in the same process (median "
            f"paired ratio {z2['ratio']:.3f}). copick_db adds nothing measurable to zarr in either environment; "
            "differences between the copick and copick_db columns come from the zarr version (zarr 3 turns "
            "Blosc's threads off) and from the process, as the raw zarr column shows, not from either library."
        )
    notes.append(text)
    start = top.get("startup")
    if start:
        notes.append(
            f"Every row above leaves out start-up, which a brand-new process pays once: importing the library and "
            f"its first use (lazy imports, SQL and pydantic set-up) took {_time_text(start['copick']['median'])} "
            f"for copick and {_time_text(start['copick_db']['median'])} for copick_db, more than any single lookup "
            "or listing here. The children pay it on a tiny separate project before the clock starts (the "
            "start-up row)."
        )
    return notes


def prepare_warmup(directory: Path, catalog: Path) -> None:
    """The tiny project every child process warms its library on, as a copick project and as a catalog.

    Its location reaches the children through the environment variables the preludes read.

    Args:
        directory: Where the copick project goes (reused when it matches).
        catalog: Where its catalog goes (replaced).
    """
    import copick_db

    project = ensure_project(directory, ProjectSpec(2, n_tomogram_runs=1, tomogram_edge=32))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    copick_db.import_filesystem(project.config, catalog, progress=False)
    os.environ["BENCH_VS_COPICK_WARMUP_COPICK"] = str(project.config)
    os.environ["BENCH_VS_COPICK_WARMUP_DB"] = str(catalog)


#: The speed-up targets: operation → minimum copick/copick_db ratio at the largest size.
SPEEDUP_TARGETS = {"list": 20.0, "gather": 50.0}


def _target_op(result: Result) -> str:
    """The operation a speed-up target judges ("" for the others)."""
    text = result.operation
    return "list" if text.startswith("open + list runs at") else ("gather" if text.startswith("gather one") else "")


def profile_misses(results: dict[str, Any], catalog: Path, *, everything: bool = False) -> dict[str, str]:
    """cProfile copick_db's side of every missed speed-up target, on the largest catalog, in this process.

    Args:
        results: The measurements so far.
        catalog: The largest size's catalog (still there).
        everything: Profile the targets met as well.

    Returns:
        Operation → cProfile's top entries (cumulative), for the document.
    """
    import copick_db

    top = results["sizes"][str(max(int(s) for s in results["sizes"]))]
    actions = {
        "list": lambda: copick_db.open(catalog, read_only=True).runs,
        "gather": lambda: [p.numpy() for p in copick_db.open(catalog, read_only=True).get_picks(object_name=OBJECT)],
    }
    texts = {}
    for op, goal in SPEEDUP_TARGETS.items():
        ratio = top[op]["copick"]["median"] / top[op]["copick_db"]["median"]
        if everything or ratio < goal:
            actions[op]()  # once untimed: imports and SQL compilation are not what the profile is after
            texts[op] = profile(actions[op], top=25)
    return texts


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, write the doc section and the plot.

    Returns:
        0 when every target is met, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copick-python", default=str(REPO / ".venv-copick" / "bin" / "python"))
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; copick's 10k load sampled")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="project sizes in runs")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--keep", action="store_true", help="keep the catalogs (projects are always kept)")
    parser.add_argument("--projects", type=Path, default=DEFAULT_DIR, help="where generated projects are kept")
    parser.add_argument("--workdir", type=Path, default=REPO / "bench-data" / "vs-copick", help="catalogs, results")
    parser.add_argument("--from-json", action="store_true", help="redraw doc and plot from the last results.json")
    parser.add_argument("--profile", action="store_true", help="cProfile copick_db's side even of targets met")
    args = parser.parse_args(argv)
    results_path = args.workdir / "results.json"

    if args.from_json:
        results = json.loads(results_path.read_text())
    else:
        if not Path(args.copick_python).exists():
            parser.error(f"no copick interpreter at {args.copick_python} (run `make venv-copick`)")
        args.workdir.mkdir(parents=True, exist_ok=True)
        info = machine_info()
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        mode = "quick" if args.quick else "full"
        prepare_warmup(args.projects / "warmup", args.workdir / "warmup.sqlite")
        # One untimed process per library first, so the first timed one does not pay for cold imports.
        fresh_process(COPICK_PRELUDE + "report()", n=1, warmup=0, python=args.copick_python)
        fresh_process(DB_PRELUDE + "report()", n=1, warmup=0)
        results = {"quick": args.quick, "sizes": {}, "generated_s": {}}
        try:
            for size in sorted(args.sizes):
                spec = ProjectSpec(size)
                print(f"[{size:,} runs] project …", flush=True)
                project = ensure_project(args.projects / f"runs-{size}", spec, progress=True)
                results["generated_s"][str(size)] = project.seconds
                results["spec"] = spec.__dict__
                budget = BUDGETS[mode].get(size) or BUDGETS[mode][min(BUDGETS[mode], key=lambda s: abs(s - size))]
                measured = measure_size(project, args.workdir / f"runs-{size}.sqlite", budget, args.copick_python)
                results["sizes"][str(size)] = measured
                results["seconds"] = time.perf_counter() - start
                results_path.write_text(json.dumps(results | {"info": info}, indent=1))
            largest = max(args.sizes)
            results["profiles"] = profile_misses(
                results, args.workdir / f"runs-{largest}.sqlite", everything=args.profile
            )
        finally:
            if not args.keep:
                for leftover in [*args.workdir.glob("runs-*"), *args.workdir.glob("warmup.*")]:
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink(missing_ok=True)
        info["load"] = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
        results["info"] = info
        results["seconds"] = time.perf_counter() - start
        results_path.write_text(json.dumps(results, indent=1))

    checks = targets(results)
    results["notes"] = explain(results, checks)
    for r in checks:
        r.profile = results.get("profiles", {}).get(_target_op(r), "")
    print_table(checks, "copick_db vs copick 1.31: targets")
    print(medians_table(results))
    print(f"benchmark process peak RSS {peak_rss_mb():.0f} MiB; {results['seconds']:.0f} s in all")
    if not args.no_write:
        plot(results, PLOT)
        replace_section(SECTION, section(results, checks), machine=results["info"])
        print(f"wrote the {SECTION!r} section of {PERFORMANCE_DOC} and {PLOT}")
    return 0 if all(r.passed is not False for r in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
