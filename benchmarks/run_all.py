"""Run every benchmark script in this directory, one after the other, and print how long each and all took.

``make bench`` calls ``.venv/bin/python benchmarks/run_all.py --copick-python .venv-copick/bin/python``. By default
every script runs in its ``--quick`` mode (the same sizes with fewer repetitions; copick's 10,000-run load sampled)
so that the whole run fits in 10 minutes on a 2-core machine; ``--full`` runs their full modes instead. Each
script rewrites its own section of ``docs/performance.md``. Scratch data goes under ``bench-data/`` (gitignored):
generated copick projects in ``bench-data/projects/`` are kept and reused by later runs (regenerated when the
generator changes), everything else is removed by the script that made it.

Exit status: 0 when every script ran (targets missed are reported, not failures), 1 when one crashed or is
missing, 2 when the total went over ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass
class Script:
    """One benchmark script and how ``run_all`` calls it.

    Attributes:
        name: File name in ``benchmarks/``.
        optional: Skip silently when the file does not exist (written by someone else, maybe not yet).
        takes_copick: Whether it accepts ``--copick-python``.
    """

    name: str
    optional: bool = False
    takes_copick: bool = False


SCRIPTS = (
    Script("bench_foundation.py"),
    Script("bench_annotations.py"),
    Script("bench_import.py", optional=True),
    Script("bench_vs_copick.py", takes_copick=True),
)


@dataclass
class Outcome:
    """How one script's run went.

    Attributes:
        script: The script's file name.
        seconds: Wall time.
        status: ``ok``, ``targets missed``, ``crashed (exit N)`` or ``skipped (…)``.
    """

    script: str
    seconds: float
    status: str


def _flags(path: Path) -> set[str]:
    """The ``--options`` a script's ``--help`` lists (so optional scripts get only the flags they accept)."""
    proc = subprocess.run(
        [sys.executable, str(path), "--help"], capture_output=True, text=True, cwd=REPO, check=False, timeout=120
    )
    return {word.rstrip(",]") for word in proc.stdout.split() if word.startswith("--")}


def run_script(script: Script, *, quick: bool, copick_python: str, extra: list[str]) -> Outcome:
    """Run one script, streaming its output, and classify how it ended.

    A script exits 1 both when a target is missed and when it crashes; a Python traceback on its output tells
    the two apart.

    Args:
        script: The script.
        quick: Pass ``--quick`` when the script takes it.
        copick_python: The copick environment's interpreter.
        extra: More arguments for every script.

    Returns:
        The outcome.
    """
    path = HERE / script.name
    if not path.exists():
        return Outcome(script.name, 0.0, "skipped (not written yet)" if script.optional else "missing")
    flags = _flags(path)
    argv = [sys.executable, str(path)]
    if quick and "--quick" in flags:
        argv.append("--quick")
    if "--copick-python" in flags:
        argv += ["--copick-python", copick_python]
    argv += extra
    print(f"\n=== {' '.join(argv[1:])}", flush=True)
    start = time.perf_counter()
    crashed = False
    with subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            crashed = crashed or line.startswith("Traceback (most recent call last)")
        code = proc.wait()
    seconds = time.perf_counter() - start
    if code == 0:
        status = "ok"
    elif code == 1 and not crashed:
        status = "targets missed"
    else:
        status = f"crashed (exit {code})"
    return Outcome(script.name, seconds, status)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print a summary.

    Returns:
        The exit status described in the module docstring.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--copick-python", default=str(REPO / ".venv-copick" / "bin" / "python"), help="copick's interpreter"
    )
    parser.add_argument("--full", action="store_true", help="full modes (more repetitions; takes far longer)")
    parser.add_argument("--only", nargs="+", metavar="SCRIPT", help="run only these scripts (e.g. bench_vs_copick)")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds the whole run should stay under")
    args = parser.parse_args(argv)

    chosen = [
        s for s in SCRIPTS if not args.only or s.name.removesuffix(".py") in {o.removesuffix(".py") for o in args.only}
    ]
    start = time.perf_counter()
    outcomes = [run_script(s, quick=not args.full, copick_python=args.copick_python, extra=[]) for s in chosen]
    total = time.perf_counter() - start

    print("\n=== benchmarks")
    for o in outcomes:
        print(f"  {o.script:<24} {o.seconds:7.1f} s  {o.status}")
    print(f"  {'total':<24} {total:7.1f} s  ({total / 60:.1f} min; budget {args.budget / 60:.0f} min)")
    if any(o.status.startswith(("crashed", "missing")) for o in outcomes):
        return 1
    if total > args.budget:
        print(f"over budget by {total - args.budget:.0f} s", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
