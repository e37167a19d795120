"""Filament curves: the rules a curve of a known kind obeys, and whether it still describes its filament's points.

A filament's ``points`` are its canonical centreline; a curve (``catmull-rom``, ``linear`` or ``bspline``) is the
editable or fitted form they were regenerated from. copick 1.31 drops a curve when it is stored with points that no
longer pass through the curve's anchors (its control points, or a B-spline at its knots); these functions decide
that. Only numpy is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["CURVE_KINDS", "check_curve", "curve_anchors", "curve_is_current", "distances_to_polyline"]

#: The curve kinds whose rules are known; curves of other kinds are kept as they are, never checked or evaluated.
CURVE_KINDS = ("catmull-rom", "linear", "bspline")
#: Consecutive Catmull-Rom and linear control points must be further apart than this, in Å.
MIN_CONTROL_POINT_DISTANCE = 1e-6
#: Highest B-spline degree.
MAX_DEGREE = 5
#: A curve is current while its anchors lie within this fraction of its ``step`` of the points.
CURRENT_FRACTION = 0.01


def _xyz(points: Any) -> np.ndarray:
    return np.asarray(points, dtype=np.float64).reshape(-1, 3)


def check_curve(
    kind: str,
    control_points: Any,
    step: float,
    alpha: float | None = None,
    degree: int | None = None,
    knots: Sequence[float] | None = None,
) -> None:
    """Check a curve of a known kind against the rules of its kind.

    Catmull-Rom and linear curves need at least two control points, no two consecutive ones coinciding, and (for
    Catmull-Rom) ``alpha`` in [0, 1]. A B-spline of degree ``p`` (1 to 5) with ``n`` control points needs ``n > p``
    and ``n + p + 1`` finite, non-decreasing, clamped knots: the first and the last ``p + 1`` equal (and no more),
    the domain non-empty, and no interior knot repeated more than ``p`` times.

    Raises:
        ValueError: The kind is unknown or a rule is broken; the message names the rule.
    """
    if kind not in CURVE_KINDS:
        raise ValueError(f"unknown curve kind {kind!r}; the known kinds are {', '.join(CURVE_KINDS)}")
    points = _xyz(control_points)
    if not np.isfinite(points).all():
        raise ValueError("curve control points must be finite numbers")
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"curve step must be a positive number of Å, got {step}")
    if kind != "bspline":
        if len(points) < 2:
            raise ValueError(f"a {kind} curve needs at least two control points, got {len(points)}")
        close = np.linalg.norm(np.diff(points, axis=0), axis=1) <= MIN_CONTROL_POINT_DISTANCE
        if close.any():
            i = int(np.flatnonzero(close)[0])
            raise ValueError(f"control points {i} and {i + 1} coincide; consecutive control points must differ")
        if kind == "catmull-rom" and alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError(f"Catmull-Rom alpha must lie in [0, 1], got {alpha}")
        return
    _check_bspline(len(points), degree, knots)


def _check_bspline(n: int, degree: Any, knots: Sequence[float] | None) -> None:
    if degree is None or knots is None:
        raise ValueError("a bspline curve needs a degree and knots")
    if isinstance(degree, bool) or int(degree) != degree or not 1 <= degree <= MAX_DEGREE:
        raise ValueError(f"B-spline degree must be an integer from 1 to {MAX_DEGREE}, got {degree}")
    p = int(degree)
    if n < p + 1:
        raise ValueError(f"a degree-{p} B-spline needs at least {p + 1} control points, got {n}")
    u = np.asarray(knots, dtype=np.float64)
    if u.ndim != 1 or u.size != n + p + 1:
        raise ValueError(f"a degree-{p} B-spline with {n} control points needs {n + p + 1} knots, got {u.size}")
    if not np.isfinite(u).all():
        raise ValueError("B-spline knots must be finite numbers")
    if (np.diff(u) < 0).any():
        raise ValueError("B-spline knots must not decrease")
    start, end = u[0], u[-1]
    if not ((u[: p + 1] == start).all() and (u[-(p + 1) :] == end).all() and end > start):
        raise ValueError(f"B-spline knots must be clamped: the first {p + 1} equal, the last {p + 1} equal")
    if u[p + 1] == start or u[-(p + 2)] == end:
        raise ValueError(f"B-spline end knots must repeat exactly {p + 1} times")
    _, repeats = np.unique(u[p + 1 : n], return_counts=True)
    if repeats.size and repeats.max() > p:
        raise ValueError(f"interior B-spline knots may repeat at most {p} times")


def _bspline_point(coefficients: np.ndarray, knots: np.ndarray, degree: int, t: float) -> np.ndarray:
    """The B-spline at parameter ``t`` (de Boor's recursion), ``t`` in the clamped domain."""
    n = len(coefficients)
    # The span k with knots[k] <= t < knots[k + 1]; at the domain's end, the last span that is not empty.
    k = int(np.searchsorted(knots, t, side="right")) - 1
    k = min(max(k, degree), n - 1)
    while k > degree and knots[k] == knots[k + 1]:
        k -= 1
    d = coefficients[k - degree : k + 1].copy()
    for r in range(1, degree + 1):
        for j in range(degree, r - 1, -1):
            left, right = knots[k - degree + j], knots[k + 1 + j - r]
            a = (t - left) / (right - left)
            d[j] = (1.0 - a) * d[j - 1] + a * d[j]
    return d[degree]


def curve_anchors(
    control_points: Any, kind: str, degree: int | None = None, knots: Sequence[float] | None = None
) -> np.ndarray:
    """The points a curve passes through for certain: its control points, or a B-spline at each distinct knot.

    Returns:
        (K, 3) float64 anchors in Å.
    """
    points = _xyz(control_points)
    if kind != "bspline":
        return points
    u = np.asarray(knots, dtype=np.float64)
    p = int(degree)  # type: ignore[arg-type]
    domain = np.unique(u[p : len(points) + 1])
    return np.array([_bspline_point(points, u, p, float(t)) for t in domain])


def distances_to_polyline(queries: Any, polyline: Any) -> np.ndarray:
    """The distance of each query point to the nearest segment of a polyline (to its point if it has one)."""
    q = _xyz(queries)
    line = _xyz(polyline)
    if len(line) == 1:
        return np.linalg.norm(q - line[0], axis=1)
    start, seg = line[:-1], np.diff(line, axis=0)
    length2 = np.maximum(np.einsum("ij,ij->i", seg, seg), 1e-300)
    out = np.empty(len(q))
    rows = max(1, 1_000_000 // max(len(seg), 1))  # bounds the (queries × segments) temporaries
    for lo in range(0, len(q), rows):
        block = q[lo : lo + rows, None, :] - start[None]
        t = np.clip(np.einsum("qsk,sk->qs", block, seg) / length2, 0.0, 1.0)
        gap = block - t[..., None] * seg[None]
        out[lo : lo + rows] = np.sqrt(np.einsum("qsk,qsk->qs", gap, gap).min(axis=1))
    return out


def curve_is_current(
    points: Any,
    control_points: Any,
    step: float,
    kind: str,
    degree: int | None = None,
    knots: Sequence[float] | None = None,
) -> bool:
    """Whether a curve still describes ``points``.

    It does when the first and last anchors lie within ``0.01 * step`` of the first and last points and every
    anchor lies within that distance of the polyline. Points regenerated from a curve contain its anchors, so moving
    points without regenerating them shows. A curve of an unknown kind, or one that cannot be evaluated, is never
    current.
    """
    if kind not in CURVE_KINDS:
        return False
    line = _xyz(points)
    if len(line) < 2:
        return False
    try:
        anchors = curve_anchors(control_points, kind, degree, knots)
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return False
    if len(anchors) == 0:
        return False
    tolerance = CURRENT_FRACTION * float(step)
    ends = max(np.linalg.norm(line[0] - anchors[0]), np.linalg.norm(line[-1] - anchors[-1]))
    return bool(ends <= tolerance and (distances_to_polyline(anchors, line) <= tolerance).all())
