"""Filament polylines as catalog columns: compact little-endian arrays plus a small JSON column, one row per set.

Points cost 24 bytes each and every filament 16 more (offset and id); the per-filament fields are stored only for
filaments that differ from the defaults, so a typical set has ``attributes`` NULL.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from copick_db.models.filaments import FilamentArrays

_F8 = np.dtype("<f8")
_I8 = np.dtype("<i8")

#: The filaments columns that hold the polylines (what a load selects).
DATA_COLUMNS = ("filament_count", "point_count", "points", "offsets", "instance_ids", "attributes")


def encode(arrays: FilamentArrays) -> dict[str, Any]:
    """The filaments-row values that store ``arrays``."""
    return {
        "filament_count": len(arrays),
        "point_count": int(arrays.points.shape[0]),
        "points": arrays.points.astype(_F8, copy=False).tobytes(),
        "offsets": arrays.offsets.astype(_I8, copy=False).tobytes(),
        "instance_ids": arrays.instance_ids.astype(_I8, copy=False).tobytes(),
        "attributes": None if arrays.attributes is None else json.dumps(arrays.attributes, separators=(",", ":")),
    }


def decode(row: Any) -> FilamentArrays:
    """The filaments a filaments row (with :data:`DATA_COLUMNS`) stores."""
    k, p = row.filament_count, row.point_count
    if k == 0:
        return FilamentArrays.empty()
    points = np.frombuffer(row.points, dtype=_F8).reshape(p, 3) if p else np.empty((0, 3))
    offsets = np.frombuffer(row.offsets, dtype=_I8)
    ids = np.frombuffer(row.instance_ids, dtype=_I8)
    attributes = None if row.attributes is None else json.loads(row.attributes)
    return FilamentArrays(points, offsets, ids, attributes)
