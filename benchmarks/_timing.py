"""Shared helpers for the benchmark scripts in this directory.

- :func:`repeat` times a callable several times (with untimed per-repetition set-up) and returns :class:`Samples`
  (median, best, spread).
- :func:`fresh_process` runs a snippet in a fresh Python process per repetition, for anything measured "from a
  fresh open": nothing imported, cached or pooled carries over. The snippet reports with ``report(**values)``
  (defined by :data:`CHILD_PRELUDE`), which adds the child's own peak RSS (``VmHWM`` on Linux: ``ru_maxrss``
  would include the parent's, inherited through fork and exec).
- :func:`interleave` times competing callables on the same inputs in shuffled order, so drift (CPU frequency,
  page cache, other load) hits them alike and paired ratios cancel it; :func:`interleave_processes` does the same
  for whole fresh processes (e.g. copick's and copick_db's, each in its own virtual environment).
- :func:`peak_rss_mb`, :func:`rss_mb`: memory of this process.
- :func:`machine_info`, :func:`machine_markdown`: the machine and library versions a result was measured with.
- :func:`replace_section`: rewrite one marked section of ``docs/performance.md`` (creating the document if
  missing), leaving the sections other benchmarks own untouched.
- :func:`profile`: cProfile's top entries for a callable, as text.

Times are in seconds unless a name says otherwise (``*_ms``).
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: The repository root (this file is ``benchmarks/_timing.py``).
REPO = Path(__file__).resolve().parent.parent
#: The performance document the benchmarks write.
PERFORMANCE_DOC = REPO / "docs" / "performance.md"

#: Code run before every :func:`fresh_process` snippet: defines ``report(**values)``.
CHILD_PRELUDE = """
import json as _json, resource as _resource, sys as _sys, time as _time

def _peak_rss_mb():
    # Linux: VmHWM is this process image's own high-water mark. ru_maxrss is not: exec keeps the maximum of the
    # forked copy of the parent, so every child would report at least the parent's RSS.
    try:
        with open("/proc/self/status") as _status:
            for _line in _status:
                if _line.startswith("VmHWM:"):
                    return int(_line.split()[1]) / 1024
    except OSError:
        pass
    _scale = 1024 * 1024 if _sys.platform == "darwin" else 1024
    return _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / _scale

def report(**values):
    values["peak_rss_mb"] = _peak_rss_mb()
    print("@@RESULT@@" + _json.dumps(values), flush=True)
"""
_RESULT_TAG = "@@RESULT@@"


@dataclass
class Samples:
    """Repeated measurements of one quantity (seconds, or whatever unit the caller uses).

    Attributes:
        values: One value per repetition.
    """

    values: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        """How many repetitions."""
        return len(self.values)

    @property
    def median(self) -> float:
        """The median."""
        return statistics.median(self.values)

    @property
    def best(self) -> float:
        """The smallest value."""
        return min(self.values)

    @property
    def worst(self) -> float:
        """The largest value."""
        return max(self.values)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0 ≤ q ≤ 1), by linear interpolation between the sorted values."""
        ordered = sorted(self.values)
        if len(ordered) == 1:
            return ordered[0]
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    def scaled(self, factor: float) -> Samples:
        """The same samples times ``factor`` (e.g. 1000 for seconds → ms)."""
        return Samples([v * factor for v in self.values])


def repeat(
    action: Callable[[Any], Any],
    n: int,
    *,
    setup: Callable[[], Any] | None = None,
    teardown: Callable[[Any], None] | None = None,
    warmup: int = 0,
) -> Samples:
    """Time ``action`` ``n`` times; set-up and tear-down run outside the clock.

    Args:
        action: Called with what ``setup`` returned (None without set-up).
        n: Timed repetitions.
        setup: Called before each repetition (and warm-up).
        teardown: Called with the set-up's result after each repetition, e.g. to close a root.
        warmup: Untimed repetitions first.

    Returns:
        The wall times in seconds.
    """
    samples = Samples()
    for i in range(warmup + n):
        state = setup() if setup is not None else None
        try:
            start = time.perf_counter()
            action(state)
            elapsed = time.perf_counter() - start
        finally:
            if teardown is not None:
                teardown(state)
        if i >= warmup:
            samples.values.append(elapsed)
    return samples


def fresh_process(
    code: str,
    *,
    n: int,
    args: Sequence[str] = (),
    python: str | None = None,
    warmup: int = 1,
    timeout: float = 600.0,
) -> list[dict[str, Any]]:
    """Run ``code`` in a fresh Python process ``warmup + n`` times; return what each timed run reported.

    The snippet sees ``sys.argv[1:] == args`` and must call ``report(key=value, ...)`` once; the values must be
    JSON-serialisable. ``peak_rss_mb`` (the child's peak resident set size) is added to every report.

    Args:
        code: The snippet (runs after :data:`CHILD_PRELUDE`).
        n: Processes whose reports are kept.
        args: Command-line arguments for the snippet.
        python: The interpreter (this one by default).
        warmup: Processes run first and discarded (they warm the page cache and bytecode cache).
        timeout: Seconds before a child is killed.

    Returns:
        One dict per kept process.

    Raises:
        RuntimeError: A child failed or reported nothing.
    """
    python = python or sys.executable
    reports = []
    for i in range(warmup + n):
        proc = subprocess.run(
            [python, "-c", CHILD_PRELUDE + code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith(_RESULT_TAG)]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"benchmark child failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        if i >= warmup:
            reports.append(json.loads(lines[-1][len(_RESULT_TAG) :]))
    return reports


def interleave_processes(
    jobs: dict[str, tuple[str, Sequence[str], str | None]],
    *,
    n: int | dict[str, int],
    warmup: int = 0,
    seed: int = 0,
    timeout: float = 1800.0,
) -> dict[str, list[dict[str, Any]]]:
    """Run competing :func:`fresh_process` snippets alternately, in a shuffled order per repetition.

    Like :func:`interleave` for whole processes: repetition ``i`` of every job runs right next to the others', so
    slow drift (other load on the machine, CPU frequency) hits them alike.

    Args:
        jobs: Name → (snippet, its arguments, interpreter or None for this one).
        n: Kept processes per job, or job name → its own count (a job with fewer stops early; the others go on).
        warmup: Processes per job run first and discarded.
        seed: Seeds the shuffling.
        timeout: Seconds before a child is killed.

    Returns:
        Name → one report per kept process, in repetition order.
    """
    rng = random.Random(seed)
    names = list(jobs)
    counts = n if isinstance(n, dict) else dict.fromkeys(names, n)
    reports: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for i in range(warmup + max(counts.values())):
        rng.shuffle(names)
        for name in names:
            if i >= warmup + counts[name]:
                continue
            code, args, python = jobs[name]
            (one,) = fresh_process(code, n=1, args=args, python=python, warmup=0, timeout=timeout)
            if i >= warmup:
                reports[name].append(one)
    return reports


def column(reports: list[dict[str, Any]], key: str) -> Samples:
    """One key of :func:`fresh_process` reports as samples."""
    return Samples([float(r[key]) for r in reports])


def interleave(
    candidates: dict[str, Callable[[Any], Any]], inputs: Sequence[Any], *, seed: int = 0
) -> dict[str, Samples]:
    """Time every candidate on every input, in a shuffled order per input.

    Sample ``i`` of each candidate is taken on ``inputs[i]`` right next to the others', so
    ``a.values[i] / b.values[i]`` is a paired ratio in which slow drift cancels.

    Args:
        candidates: Name → callable taking one input.
        inputs: The inputs, e.g. random region offsets.
        seed: Seeds the shuffling.

    Returns:
        Name → wall times in seconds, in input order.
    """
    rng = random.Random(seed)
    names = list(candidates)
    samples = {name: Samples() for name in names}
    for item in inputs:
        rng.shuffle(names)
        for name in names:
            start = time.perf_counter()
            candidates[name](item)
            samples[name].values.append(time.perf_counter() - start)
    return samples


def paired_ratios(numerator: Samples, denominator: Samples) -> Samples:
    """``numerator[i] / denominator[i]`` for samples taken side by side (see :func:`interleave`)."""
    return Samples([a / b for a, b in zip(numerator.values, denominator.values, strict=True)])


# ------------------------------------------------------------------------------------------------------------------
# Memory
# ------------------------------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB."""
    import resource

    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def rss_mb() -> float:
    """This process's current resident set size, in MiB (psutil)."""
    import psutil

    return psutil.Process().memory_info().rss / (1024 * 1024)


# ------------------------------------------------------------------------------------------------------------------
# Machine and versions
# ------------------------------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.machine()


def _version(module: str) -> str:
    try:
        imported = __import__(module)
    except ImportError:
        return "not installed"
    return str(getattr(imported, "__version__", "?"))


def machine_info() -> dict[str, str]:
    """The machine and the versions of what the benchmarks exercise."""
    import sqlite3

    import psutil

    physical = psutil.cpu_count(logical=False)
    logical = psutil.cpu_count(logical=True)
    return {
        "cpu": _cpu_model(),
        "cores": f"{logical} logical" + (f", {physical} physical" if physical else ""),
        "ram": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "zarr": _version("zarr"),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": _version("sqlalchemy"),
        "copick_db": _version("copick_db"),
    }


def versions_line(info: dict[str, str]) -> str:
    """A one-line summary of the library versions in ``info``."""
    return (
        f"Python {info['python']}, numpy {info['numpy']}, zarr {info['zarr']}, SQLite {info['sqlite']}, "
        f"SQLAlchemy {info['sqlalchemy']}, copick_db {info['copick_db']}"
    )


def machine_markdown(info: dict[str, str]) -> str:
    """The machine section of the performance document."""
    return "\n".join(
        [
            f"- CPU: {info['cpu']} ({info['cores']} cores available)",
            f"- RAM: {info['ram']}",
            f"- OS: {info['os']}",
            f"- Versions (`.venv`): {versions_line(info)}",
        ]
    )


# ------------------------------------------------------------------------------------------------------------------
# The performance document
# ------------------------------------------------------------------------------------------------------------------

DOC_INTRO = """# Performance

How fast copick_db's everyday operations are, measured on one machine by the scripts in `benchmarks/`. Each
script rewrites only its own section of this file (between `<!-- name:start -->` and `<!-- name:end -->`
markers); `make bench` runs them all, or run one by hand, e.g. `.venv/bin/python benchmarks/bench_foundation.py`.
Numbers are medians of several repetitions on a warm page cache; "fresh" means a new process or a newly opened
root, so no cache of copick_db's helps.
"""


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_section(
    name: str, body: str, *, doc: Path = PERFORMANCE_DOC, machine: dict[str, str] | None = None
) -> None:
    """Put ``body`` between the ``name`` markers of the performance document.

    A missing document is created with an introduction and a machine section; a missing section is appended.

    Args:
        name: The section's marker name, e.g. ``"foundation"``.
        body: Markdown for the section.
        doc: The document.
        machine: Machine facts (:func:`machine_info`) for a newly created document's machine section.
    """
    if doc.exists():
        text = doc.read_text()
    else:
        machine = machine or machine_info()
        start, end = _markers("machine")
        text = f"{DOC_INTRO}\n## Machine\n\n{start}\n{machine_markdown(machine)}\n{end}\n"
    start, end = _markers(name)
    section = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n{section}\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_name(f".{doc.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, doc)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------------
# Profiling
# ------------------------------------------------------------------------------------------------------------------


def profile(action: Callable[[], Any], *, top: int = 25, sort: str = "cumulative") -> str:
    """Run ``action`` under cProfile and return the ``top`` entries, sorted by ``sort``."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        action()
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    return out.getvalue()


def format_ms(seconds: float) -> str:
    """Seconds as milliseconds with sensible precision."""
    ms = seconds * 1000
    if ms >= 100:
        return f"{ms:,.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


# ------------------------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    """One row of the results table.

    Attributes:
        operation: What was measured.
        target: The target as text ("" when there is none).
        measured: The headline number as text.
        details: How it was measured, and secondary numbers.
        passed: Whether the target was met (None when there is no target).
        miss: By how much the target was missed, as text.
        profile: cProfile's top entries when the target was missed (or ``--profile``).
    """

    operation: str
    target: str
    measured: str
    details: str
    passed: bool | None
    miss: str = ""
    profile: str = ""

    @property
    def verdict(self) -> str:
        """``pass``, ``MISS (by …)`` or ``–``."""
        if self.passed is None:
            return "–"
        return "pass" if self.passed else f"**MISS** ({self.miss})"


def over(measured: float, target: float) -> str:
    """How far ``measured`` exceeds ``target``, in words."""
    return f"{measured / target:.2f}× the target, +{(measured / target - 1) * 100:.0f} %"


def print_table(results: list[Result], title: str) -> None:
    """Print the results as a rich table."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for name in ("operation", "target", "measured", "result", "details"):
        table.add_column(name, overflow="fold")
    for r in results:
        verdict = "[green]pass[/green]" if r.passed else ("–" if r.passed is None else f"[red]MISS[/red] ({r.miss})")
        table.add_row(escape(r.operation), r.target or "–", r.measured, verdict, escape(r.details))
    console = Console(width=max(160, Console().width))
    console.print(table)
    for r in results:
        if r.profile:
            console.rule(f"cProfile: {escape(r.operation)}")
            print(r.profile)


def measured_line(info: dict[str, str], *, quick: bool, seconds: float, script: str) -> str:
    """The "Measured <when> by <script> on <machine>" sentence that opens a benchmark's section.

    Args:
        info: :func:`machine_info` plus ``"load"`` (the load average before and after, as text).
        quick: Whether the script ran in ``--quick`` mode.
        seconds: How long the script ran.
        script: The script's path, as shown.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "`--quick` (fewer repetitions)" if quick else "full"
    return (
        f"Measured {stamp} by `{script}` ({mode} mode, {seconds:.0f} s) on {info['cpu']} "
        f"({info['cores']}), {info['ram']} RAM; {versions_line(info)}. 1-minute load average "
        f"{info['load']} (other work on the machine shows up as spread, so the medians are what count)."
    )


def section_markdown(
    results: list[Result], info: dict[str, str], *, quick: bool, seconds: float, heading: str, script: str
) -> str:
    """A benchmark's section of the performance document: when and where it ran, the table, and any misses."""
    rows = [[r.operation, r.target or "–", r.measured, r.verdict, r.details] for r in results]
    lines = [
        f"## {heading}",
        "",
        measured_line(info, quick=quick, seconds=seconds, script=script),
        "",
        markdown_table(["Operation", "Target", "Measured (median)", "Result", "How"], rows),
    ]
    misses = [r for r in results if r.passed is False]
    if misses:
        lines += ["", "**Missed targets.** " + " ".join(f"{r.operation}: {r.measured} ({r.miss})." for r in misses)]
        for r in misses:
            top = "\n".join(r.profile.strip().splitlines()[:40])
            lines += ["", f"<details><summary>cProfile of {r.operation}</summary>", "", "```", top, "```", "</details>"]
    else:
        lines += ["", "Every target is met."]
    return "\n".join(lines)
