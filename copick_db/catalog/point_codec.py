"""Pick points as catalog columns: compact little-endian arrays, one row per pick set.

Identity transforms, zero instance ids and 1.0 scores (what nearly every pick set holds) are not stored at all, so a
typical set costs 24 bytes per point. A set in which no point has a score stores an empty ``scores`` blob.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from copick_db.models.point_arrays import IDENTITY, PointArrays, identities

_F8 = np.dtype("<f8")
_I8 = np.dtype("<i8")
_I4 = np.dtype("<i4")

#: The picks columns that hold points (what a load selects).
POINT_COLUMNS = (
    "point_count", "locations", "transform_index", "transforms", "instance_ids", "instance_id_null", "scores"
)  # fmt: skip


def encode(arrays: PointArrays) -> dict[str, Any]:
    """The picks-row values that store ``arrays``."""
    n = len(arrays)
    values: dict[str, Any] = {
        "point_count": n,
        "locations": arrays.locations.astype(_F8, copy=False).tobytes(),
        "transform_index": None,
        "transforms": None,
        "instance_ids": None,
        "instance_id_null": None,
        "scores": None,
    }
    if arrays.transforms is not None:
        differs = ~np.isclose(arrays.transforms, IDENTITY, rtol=0.0, atol=0.0).all(axis=(1, 2))
        index = np.flatnonzero(differs)
        if index.size:
            values["transform_index"] = index.astype(_I4).tobytes()
            values["transforms"] = arrays.transforms[index].astype(_F8, copy=False).tobytes()
    if arrays.instance_ids.any():
        values["instance_ids"] = arrays.instance_ids.astype(_I8, copy=False).tobytes()
    if arrays.instance_id_null is not None and arrays.instance_id_null.any():
        values["instance_id_null"] = arrays.instance_id_null.astype(np.uint8).tobytes()
    scores = arrays.scores
    nulls = np.isnan(scores)
    if n and nulls.all():
        values["scores"] = b""  # no point has a score (a bare from_numpy): nothing to store, and cheap to decode
    elif not (scores == 1.0).all():  # NaN != 1.0, so a partly null set is stored in full
        values["scores"] = scores.astype(_F8, copy=False).tobytes()
    return values


def decode(row: Any) -> PointArrays:
    """The points a picks row (with :data:`POINT_COLUMNS`) stores."""
    n = row.point_count
    locations = np.frombuffer(row.locations, dtype=_F8).reshape(n, 3) if n else np.empty((0, 3))
    transforms = None
    if row.transform_index is not None:
        index = np.frombuffer(row.transform_index, dtype=_I4)
        transforms = identities(n)
        transforms[index] = np.frombuffer(row.transforms, dtype=_F8).reshape(-1, 4, 4)
    ids = np.frombuffer(row.instance_ids, dtype=_I8) if row.instance_ids is not None else np.zeros(n, np.int64)
    nulls = np.frombuffer(row.instance_id_null, dtype=np.uint8).astype(bool) if row.instance_id_null else None
    if row.scores is None:
        return PointArrays(locations, transforms, ids, nulls, np.ones(n), no_null_scores=True)
    if row.scores == b"":
        return PointArrays(locations, transforms, ids, nulls, np.full(n, np.nan), no_null_scores=n == 0)
    return PointArrays(locations, transforms, ids, nulls, np.frombuffer(row.scores, dtype=_F8))
