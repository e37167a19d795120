"""Named crash points: where the crash-safety tests kill a writer with SIGKILL, deterministically.

Writers call :func:`crash_point` at the moments that matter for crash safety (data staged, row changed, data swapped
in, transaction committed, data trashed...). In normal use nothing is armed and a call costs one global lookup.

A test arms one point, in the environment of a process it starts or inside that process::

    COPICK_DB_CRASH_AT="write.swapped"      # the first time that point is reached
    COPICK_DB_CRASH_AT="write.swapped#3"    # the third time

and the process kills itself there with ``SIGKILL`` (no ``finally`` blocks, no atexit handlers, no buffered output
flushed: exactly what ``kill -9`` or the OOM killer does). :func:`recording` lists the points an operation passes, so
a test can enumerate every kill point of it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ENV_VAR", "arm", "crash_point", "disarm", "recording"]

#: The environment variable that arms a crash point when the module is imported.
ENV_VAR = "COPICK_DB_CRASH_AT"

#: (point name, how many more passes before the kill); None when nothing is armed.
_armed: list | None = None
#: Point names passed so far, while :func:`recording` is active.
_record: list[str] | None = None


def arm(spec: str | None) -> None:
    """Arm a crash point: ``"name"`` or ``"name#n"`` (kill on the n-th pass, counting from 1); None disarms.

    Raises:
        ValueError: The pass count is not a positive integer.
    """
    global _armed
    if not spec:
        _armed = None
        return
    name, _, count = spec.partition("#")
    passes = int(count) if count else 1
    if passes < 1:
        raise ValueError(f"crash point pass count must be >= 1, got {spec!r}")
    _armed = [name, passes]


def disarm() -> None:
    """Disarm the crash point, if any."""
    arm(None)


@contextmanager
def recording() -> Iterator[list[str]]:
    """Collect the names of the crash points passed inside the block, in order (nothing is killed)."""
    global _record
    previous, _record = _record, []
    try:
        yield _record
    finally:
        _record = previous


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL if ``name`` is the armed point (on its n-th pass); otherwise do nothing.

    Args:
        name: The point's name, e.g. ``"write.swapped"``.
    """
    if _armed is None and _record is None:
        return
    if _record is not None:
        _record.append(name)
    if _armed is not None and _armed[0] == name:
        _armed[1] -= 1
        if _armed[1] == 0:
            os.kill(os.getpid(), signal.SIGKILL)


arm(os.environ.get(ENV_VAR))
