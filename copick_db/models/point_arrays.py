"""Columnar pick points: the form points are validated, stored and converted in, without one object per point.

A missing score or instance id (JSON ``null`` in copick files) is kept distinct from a value: scores use NaN for
null (real scores must be finite), instance ids a separate mask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from copick_db.errors import InvalidTransformError
from copick_db.models.values import CopickLocation, CopickPoint

_LAST_ROW = np.array([0.0, 0.0, 0.0, 1.0])
IDENTITY = np.eye(4)
#: A stack of identity matrices, grown on demand; slicing and copying it is several times cheaper than
#: ``np.broadcast_to(IDENTITY, ...).copy()``, which matters when tens of thousands of pick sets are converted.
_identity_stack = np.tile(IDENTITY, (64, 1, 1))


def identities(n: int) -> np.ndarray:
    """A new (n, 4, 4) float64 array of identity matrices."""
    global _identity_stack
    if len(_identity_stack) < n:
        _identity_stack = np.tile(IDENTITY, (max(n, 2 * len(_identity_stack)), 1, 1))
    return _identity_stack[:n].copy()


def as_points(points: Iterable[Any]) -> list[CopickPoint]:
    """Points as our CopickPoint, validated by value: our own instances are kept (the same objects), anything else
    (copick's own ``CopickPoint``, a dict, any object with a point's fields as attributes) is converted.

    Args:
        points: The points.

    Returns:
        A new list.

    Raises:
        ValueError: A point is not a valid pick point (a pydantic ``ValidationError``, which names the field).
    """
    return [point if isinstance(point, CopickPoint) else CopickPoint.model_validate(point) for point in points]


@dataclass
class PointArrays:
    """Pick points as arrays of equal length N.

    Attributes:
        locations: float64 (N, 3), x y z in Å.
        transforms: float64 (N, 4, 4), or None when every transform is the identity.
        instance_ids: int64 (N,).
        instance_id_null: bool (N,) marking null instance ids, or None when none is null.
        scores: float64 (N,), NaN where a score is null.
        no_null_scores: Whether no score is null, when known.
    """

    locations: np.ndarray
    transforms: np.ndarray | None
    instance_ids: np.ndarray
    instance_id_null: np.ndarray | None
    scores: np.ndarray
    no_null_scores: bool | None = None  # cached answer of scores_or_none(); None until known

    def __len__(self) -> int:
        return int(self.locations.shape[0])

    @classmethod
    def empty(cls) -> PointArrays:
        """No points."""
        return cls(np.empty((0, 3)), None, np.empty(0, np.int64), None, np.empty(0))

    @classmethod
    def build(
        cls,
        locations: Any,
        transforms: Any = None,
        instance_ids: Any = None,
        scores: Any = None,
        default_score: float | None = 1.0,
    ) -> PointArrays:
        """Validate numpy-style input and build the arrays.

        Args:
            locations: (N, 3) coordinates in Å, finite.
            transforms: (N, 4, 4) matrices whose last row is 0 0 0 1, or None for identities.
            instance_ids: (N,) non-negative integers, or None for 0.
            scores: (N,) or (N, 1) finite scores, or None for ``default_score``.
            default_score: The score of every point when ``scores`` is None (None means "no score").

        Raises:
            ValueError: Wrong shapes, mismatched lengths, non-finite values or negative instance ids.
            InvalidTransformError: A transform's last row is not 0 0 0 1 (also a ValueError).
        """
        locs = _as_float_array(locations, "points")
        if locs.ndim != 2 or locs.shape[1] != 3:
            raise ValueError(f"points must have shape (N, 3) (x, y, z in Å); got shape {locs.shape}")
        if not np.isfinite(locs).all():
            raise ValueError("points contain NaN or infinite coordinates; every coordinate must be finite")
        n = locs.shape[0]
        return cls(
            np.ascontiguousarray(locs, dtype=np.float64),
            _check_transforms(transforms, n),
            _check_instance_ids(instance_ids, n),
            None,
            _check_scores(scores, n, default_score),
        )

    @classmethod
    def from_points(cls, points: Iterable[Any]) -> PointArrays:
        """Convert points into arrays: CopickPoint, copick's own points, dicts or objects shaped like one.

        Raises:
            ValueError: A point is invalid (see :func:`as_points`).
        """
        points = as_points(points)
        n = len(points)
        if n == 0:
            return cls.empty()
        locations = np.array([(p.location.x, p.location.y, p.location.z) for p in points], dtype=np.float64)
        if not np.isfinite(locations).all():
            raise ValueError("points contain NaN or infinite coordinates; every coordinate must be finite")
        transforms = np.array([p.transformation_ for p in points], dtype=np.float64)
        null_ids = np.array([p.instance_id is None for p in points])
        ids = np.array([0 if p.instance_id is None else p.instance_id for p in points], dtype=np.int64)
        scores = np.array([np.nan if p.score is None else p.score for p in points], dtype=np.float64)
        return cls(
            locations,
            _check_transforms(transforms, n),
            ids,
            null_ids if null_ids.any() else None,
            scores,
        )

    def to_points(self) -> list[CopickPoint]:
        """Build CopickPoint objects (only when a caller asks for ``picks.points``)."""
        identity = IDENTITY.tolist()
        transforms = self.transforms.tolist() if self.transforms is not None else None
        ids = self.instance_ids.tolist()
        nulls = self.instance_id_null.tolist() if self.instance_id_null is not None else None
        points = []
        for i, (x, y, z) in enumerate(self.locations.tolist()):
            score = float(self.scores[i])
            points.append(
                CopickPoint.model_construct(
                    location=CopickLocation.model_construct(x=x, y=y, z=z),
                    transformation_=transforms[i] if transforms is not None else [row[:] for row in identity],
                    instance_id=None if nulls is not None and nulls[i] else ids[i],
                    score=None if score != score else score,
                )
            )
        return points

    def full_transforms(self) -> np.ndarray:
        """(N, 4, 4) float64 transforms, identities filled in."""
        if self.transforms is not None:
            return self.transforms.copy()
        return identities(len(self))

    def scores_or_none(self) -> np.ndarray | None:
        """The scores, or None when any score is null."""
        if self.no_null_scores is None:
            self.no_null_scores = not np.isnan(self.scores).any()
        return self.scores if self.no_null_scores else None


def _as_float_array(value: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a rectangular numeric array (ragged input is not allowed): {exc}") from None
    if np.iscomplexobj(arr):
        raise ValueError(f"{what} must be real numbers, not complex")
    try:
        return arr.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a numeric array: {exc}") from None


def _check_transforms(transforms: Any, n: int) -> np.ndarray | None:
    if transforms is None:
        return None
    arr = _as_float_array(transforms, "transforms")
    if arr.shape != (n, 4, 4):
        raise ValueError(f"transforms must have shape ({n}, 4, 4) to match {n} points; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("transforms contain NaN or infinite values")
    if n and not np.allclose(arr[:, 3, :], _LAST_ROW):
        bad = int(np.flatnonzero(~np.isclose(arr[:, 3, :], _LAST_ROW).all(axis=1))[0])
        raise InvalidTransformError(
            f"transform {bad} has last row {arr[bad, 3].tolist()}; a 4×4 transform's last row must be [0, 0, 0, 1]"
        )
    if np.array_equal(arr, np.broadcast_to(IDENTITY, arr.shape)):
        return None  # identities are implicit: stored transforms are only the non-identity ones
    return np.ascontiguousarray(arr)


def _check_instance_ids(instance_ids: Any, n: int) -> np.ndarray:
    if instance_ids is None:
        return np.zeros(n, dtype=np.int64)
    arr = np.asarray(instance_ids)
    if arr.shape not in ((n,), (n, 1)):
        raise ValueError(f"instance_ids must have shape ({n},) to match {n} points; got shape {arr.shape}")
    whole = np.issubdtype(arr.dtype, np.integer) or (np.isfinite(arr).all() and np.equal(np.mod(arr, 1), 0).all())
    if arr.size and not whole:
        raise ValueError("instance_ids must be whole numbers")
    arr = arr.reshape(n).astype(np.int64)
    if (arr < 0).any():
        raise ValueError("instance_ids must be >= 0")
    return arr


def _check_scores(scores: Any, n: int, default: float | None) -> np.ndarray:
    if scores is None:
        return np.full(n, np.nan if default is None else default, dtype=np.float64)
    arr = _as_float_array(scores, "scores")
    if arr.shape not in ((n,), (n, 1)):
        raise ValueError(f"scores must have shape ({n},) or ({n}, 1) to match {n} points; got shape {arr.shape}")
    arr = arr.reshape(n)
    if not np.isfinite(arr).all():
        raise ValueError("scores must be finite numbers")
    return np.ascontiguousarray(arr)


class CallableArray(np.ndarray):
    """A numpy array that can also be called, so a property serves both the spec and copick 1.31.

    The spec reads ``picks.scores`` as a property; copick 1.31 calls ``picks.scores()``. Calling returns a plain
    array (with ``null_as`` in place of NaN when given, as copick reads a null score as 1.0). Arithmetic on it gives
    plain arrays.
    """

    _null_as: float | None = None

    @classmethod
    def of(cls, values: np.ndarray, null_as: float | None = None) -> CallableArray:
        """Wrap ``values`` (not copied)."""
        array = np.asarray(values).view(cls)
        array._null_as = null_as
        return array

    def __array_finalize__(self, obj: Any) -> None:
        self._null_as = getattr(obj, "_null_as", None)

    def __array_wrap__(self, array: np.ndarray, context: Any = None, return_scalar: bool = False) -> Any:
        result = np.asarray(array).view(np.ndarray)
        return result[()] if return_scalar else result

    def __call__(self) -> np.ndarray:
        plain = np.array(self.view(np.ndarray))
        if self._null_as is not None and plain.dtype.kind == "f":
            plain[np.isnan(plain)] = self._null_as
        return plain

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))
