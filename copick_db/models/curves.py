"""Filament curves: the rules a curve of a known kind obeys, the points regenerated from it, and whether it still
describes its filament's points.

A filament's ``points`` are its canonical centreline; a curve (``catmull-rom``, ``linear`` or ``bspline``) is the
editable or fitted form they were regenerated from. copick 1.31 drops a curve when it is stored with points that no
longer pass through the curve's anchors (its control points, or a B-spline at its knots); these functions decide
that.

Regeneration follows copick's filament specification, so both libraries give the same points for the same curve:
the curve is cut into pieces (the segment between two consecutive control points, or one non-empty B-spline knot
span), each piece is sampled finely, and the fine polyline is resampled at equal arc-length steps of at most
``step``, starting exactly at the piece's first anchor. Only numpy is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "CURVE_KINDS",
    "check_curve",
    "control_points_from_polyline",
    "curve_anchors",
    "curve_is_current",
    "distances_to_polyline",
    "evaluate_curve",
    "median_spacing",
    "reverse_knots",
]

#: The curve kinds whose rules are known; curves of other kinds are kept as they are, never checked or evaluated.
CURVE_KINDS = ("catmull-rom", "linear", "bspline")
#: Consecutive Catmull-Rom and linear control points must be further apart than this, in Å.
MIN_CONTROL_POINT_DISTANCE = 1e-6
#: Highest B-spline degree.
MAX_DEGREE = 5
#: A curve is current while its anchors lie within this fraction of its ``step`` of the points.
CURRENT_FRACTION = 0.01
#: Each piece of a curve is sampled at least this many times before it is resampled.
MIN_PIECE_SAMPLES = 16
#: ... and at least this many times per ``step`` of its length (for a B-spline span, of its control polygon).
SAMPLES_PER_STEP = 16
#: Slack in the number of resampled points per piece, so that a piece exactly k steps long gets k, not k + 1.
_STEP_SLACK = 1e-9


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


def _bspline_span(knots: np.ndarray, degree: int, n: int, t: float) -> int:
    """The span k with ``knots[k] <= t < knots[k + 1]``; at the domain's end, the last span that is not empty."""
    k = int(np.searchsorted(knots, t, side="right")) - 1
    k = min(max(k, degree), n - 1)
    while k > degree and knots[k] == knots[k + 1]:
        k -= 1
    return k


def _bspline_in_span(coefficients: np.ndarray, knots: np.ndarray, degree: int, k: int, t: np.ndarray) -> np.ndarray:
    """The B-spline at parameters ``t`` (M,), all in span ``k``, by de Boor's recursion; (M, 3)."""
    d = np.broadcast_to(coefficients[k - degree : k + 1], (len(t), degree + 1, 3)).copy()
    for r in range(1, degree + 1):
        for j in range(degree, r - 1, -1):
            left, right = knots[k - degree + j], knots[k + 1 + j - r]
            a = ((t - left) / (right - left))[:, None]
            d[:, j] = (1.0 - a) * d[:, j - 1] + a * d[:, j]
    return d[:, degree]


def _bspline_point(coefficients: np.ndarray, knots: np.ndarray, degree: int, t: float) -> np.ndarray:
    """The B-spline at parameter ``t`` in the clamped domain."""
    k = _bspline_span(knots, degree, len(coefficients), t)
    return _bspline_in_span(coefficients, knots, degree, k, np.array([float(t)]))[0]


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


# -- regenerating points from a curve ---------------------------------------------------------------------------


def _sample_count(length: float, step: float) -> int:
    return max(MIN_PIECE_SAMPLES, math.ceil(SAMPLES_PER_STEP * length / step))


def _catmull_rom_piece(window: np.ndarray, alpha: float, m: int) -> np.ndarray:
    """``m`` samples from ``window[1]`` (included) towards ``window[2]`` (excluded) of the Catmull-Rom curve through
    the four points of ``window``, by the Barry-Goldman pyramid with knot intervals ``|distance| ** alpha``."""
    t = np.zeros(4)
    t[1:] = np.cumsum(np.linalg.norm(np.diff(window, axis=0), axis=1) ** alpha)
    u = (t[1] + (t[2] - t[1]) * np.arange(m) / m)[:, None]

    def lerp(p: np.ndarray, q: np.ndarray, lo: float, hi: float) -> np.ndarray:
        # The point of the line through p (at parameter lo) and q (at hi), at each u.
        return ((hi - u) * p + (u - lo) * q) / (hi - lo)

    a0, a1, a2 = (lerp(window[i], window[i + 1], t[i], t[i + 1]) for i in range(3))
    b0, b1 = lerp(a0, a1, t[0], t[2]), lerp(a1, a2, t[1], t[3])
    samples = lerp(b0, b1, t[1], t[2])
    samples[0] = window[1]  # exact, whatever the rounding of the pyramid
    return samples


#: A resampled piece: its points from its start up to (not including) its end, and its end.
_Piece = tuple[np.ndarray, np.ndarray]


def _pieces(
    control: np.ndarray,
    step: float,
    kind: str,
    alpha: float,
    degree: int | None,
    knots: np.ndarray | None,
    memo: dict[bytes, _Piece] | None = None,
) -> list[_Piece]:
    """Each piece of the curve (a segment between consecutive control points, or a non-empty B-spline knot span),
    sampled finely from the anchor that starts it to the anchor that ends it, then resampled.

    A Catmull-Rom or linear segment depends only on its window of four points, so ``memo`` (window bytes to piece)
    lets a caller that evaluates many curves sharing segments compute each segment once.
    """
    pieces = []
    if kind == "bspline":
        # check_curve has made sure that a B-spline has a degree and knots.
        p, n, u = int(degree), len(control), np.asarray(knots)  # type: ignore[arg-type]
        for k in range(p, n):
            lo, hi = u[k], u[k + 1]
            if not lo < hi:
                continue  # an empty span (a repeated interior knot) is no piece
            polygon = float(np.linalg.norm(np.diff(control[k - p : k + 1], axis=0), axis=1).sum())
            m = _sample_count(polygon, step)
            inside = _bspline_in_span(control, u, p, k, lo + (hi - lo) * np.arange(m) / m)
            end = _bspline_point(control, u, p, hi)
            pieces.append((_resample(np.vstack([inside, end]), step), end))
        return pieces
    # Catmull-Rom segments need a neighbour on each side: the ends are mirrored through the first and last points.
    padded = np.vstack([2.0 * control[0] - control[1], control, 2.0 * control[-1] - control[-2]])
    for i in range(len(control) - 1):
        window = padded[i : i + 4]
        key = window.tobytes()
        piece = memo.get(key) if memo is not None else None
        if piece is None:
            start, end = window[1], window[2]
            m = _sample_count(float(np.linalg.norm(end - start)), step)
            if kind == "linear":
                samples = start + (np.arange(m) / m)[:, None] * (end - start)
            else:
                samples = _catmull_rom_piece(window, alpha, m)
            piece = (_resample(np.vstack([samples, end]), step), end)
            if memo is not None:
                memo[key] = piece
        pieces.append(piece)
    return pieces


def _resample(fine: np.ndarray, step: float) -> np.ndarray:
    """Equally spaced points, at most ``step`` apart along ``fine``'s arc length: its first point exactly, up to but
    not including its last. No points for a piece of zero length."""
    gaps = np.linalg.norm(np.diff(fine, axis=0), axis=1)
    moving = gaps > 0
    fine = fine[np.concatenate([[True], moving])]  # repeated samples would give np.interp a flat stretch
    arc = np.concatenate([[0.0], np.cumsum(gaps[moving])])
    length = float(arc[-1])
    if length <= 0:
        return np.empty((0, 3))
    count = max(1, math.ceil(length / step - _STEP_SLACK))
    targets = np.arange(count) * (length / count)
    out = np.stack([np.interp(targets, arc, fine[:, axis]) for axis in range(3)], axis=1)
    out[0] = fine[0]
    return out


def evaluate_curve(
    control_points: Any,
    step: float,
    kind: str = "catmull-rom",
    alpha: float | None = 0.5,
    degree: int | None = None,
    knots: Sequence[float] | None = None,
) -> np.ndarray:
    """The points regenerated from a curve: from its start to its end, at most ``step`` apart, through every anchor.

    Each piece (a segment between consecutive control points, or a non-empty B-spline knot span) is resampled on its
    own, evenly along its arc length, so every anchor (:func:`curve_anchors`) is one of the points. The result equals
    copick 1.31's ``copick.util.filaments.evaluate_curve`` for the same curve.

    Args:
        control_points: (n, 3) control points in Å (B-spline coefficients for ``bspline``).
        step: Largest spacing of the points, in Å.
        kind: One of :data:`CURVE_KINDS`.
        alpha: Catmull-Rom parameterisation; None means 0.5 (centripetal).
        degree: B-spline degree.
        knots: B-spline knots (clamped).

    Returns:
        (N, 3) float64 points in Å, N >= 2.

    Raises:
        ValueError: The curve breaks a rule of its kind (see :func:`check_curve`) or has zero length.
    """
    alpha = 0.5 if alpha is None else float(alpha)
    check_curve(kind, control_points, step, alpha, degree, knots)
    u = None if knots is None else np.asarray(knots, dtype=np.float64)
    return _joined(_pieces(_xyz(control_points), float(step), kind, alpha, None if degree is None else int(degree), u))


def _joined(pieces: list[_Piece]) -> np.ndarray:
    """The curve's points from its resampled pieces: each piece's points, then the last piece's end."""
    if not any(len(points) for points, _ in pieces):
        raise ValueError("the curve has zero length; its control points must not all lie at one place")
    return np.vstack([*(points for points, _ in pieces), pieces[-1][1][None]])


def median_spacing(points: Any) -> float:
    """The median distance between consecutive points in Å, or 0.0 for fewer than two points."""
    line = _xyz(points)
    if len(line) < 2:
        return 0.0
    return float(np.median(np.linalg.norm(np.diff(line, axis=0), axis=1)))


def reverse_knots(knots: Sequence[float]) -> np.ndarray:
    """The knots of the same B-spline traversed backwards: each knot mirrored in the domain, in reverse order."""
    u = np.asarray(knots, dtype=np.float64)
    return (u[0] + u[-1] - u)[::-1]


def control_points_from_polyline(points: Any, tolerance: float) -> np.ndarray:
    """Catmull-Rom (alpha 0.5) control points, chosen among ``points``, whose curve stays within ``tolerance``.

    Starts with the first and last points, then keeps adding the point farthest from the curve regenerated with
    ``step = tolerance`` (the first one on ties) until no point is farther than ``tolerance``. Consecutive
    duplicate points are ignored. This is how copick 1.31 derives an editable curve from a filament's points.

    Args:
        points: (M, 3) ordered points in Å.
        tolerance: Largest distance of a point from the curve, in Å (> 0).

    Returns:
        (n, 3) float64 control points, n >= 2, in the order of ``points``.

    Raises:
        ValueError: ``tolerance`` is not positive, the points have fewer than two distinct ones, or the polyline
            ends where it starts (closed filaments are not supported).
    """
    if not (np.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a positive number of Å, got {tolerance}")
    line = _xyz(points)
    if len(line) > 1:
        distinct = np.linalg.norm(np.diff(line, axis=0), axis=1) > MIN_CONTROL_POINT_DISTANCE
        line = line[np.concatenate([[True], distinct])]
    if len(line) < 2:
        raise ValueError("a filament needs at least two distinct points to derive a curve from")
    if np.linalg.norm(line[-1] - line[0]) <= MIN_CONTROL_POINT_DISTANCE:
        raise ValueError("the polyline ends where it starts; closed filaments are not supported")
    chosen = {0, len(line) - 1}
    memo: dict[bytes, _Piece] = {}  # each round adds one control point, which changes at most four segments
    while True:
        control = line[sorted(chosen)]
        check_curve("catmull-rom", control, tolerance, 0.5)
        curve = _joined(_pieces(control, float(tolerance), "catmull-rom", 0.5, None, None, memo))
        distance = distances_to_polyline(line, curve)
        farthest = int(np.argmax(distance))
        if distance[farthest] <= tolerance or farthest in chosen:
            return control
        chosen.add(farthest)
