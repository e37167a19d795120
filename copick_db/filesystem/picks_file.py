"""copick picks JSON files: read into point arrays, and written back from them, without one model per point.

Reading accepts exactly what copick's ``CopickPicksFile`` accepts. Well-formed points (numbers, 4×4 matrices,
integer or null ids, numeric or null scores) take a vectorised path; anything else falls back to validating each
point with :class:`~copick_db.models.values.CopickPoint`, which either accepts it as copick would or gives the
reason it is refused. Null scores and instance ids stay null (NaN score, null-id mask), never 1.0 / 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from copick_db.models.meta import CopickPicksFile
from copick_db.models.point_arrays import IDENTITY, PointArrays
from copick_db.storage.paths import SourceError

__all__ = ["PicksContent", "picks_document", "read_picks", "write_picks"]

_MISSING = object()
_IDENTITY_LIST = IDENTITY.tolist()
_LAST_ROW = np.array([0.0, 0.0, 0.0, 1.0])


@dataclass
class PicksContent:
    """A picks file's content.

    Attributes:
        object_name, user_id, session_id: The identity written inside the file.
        voxel_spacing: The informational voxel size, or None.
        unit: The unit of the locations.
        trust_orientation: Whether orientations are meaningful (None when the file says null).
        arrays: The points.
    """

    object_name: str
    user_id: str
    session_id: str
    voxel_spacing: float | None
    unit: str
    trust_orientation: bool | None
    arrays: PointArrays


def read_picks(path: Path) -> PicksContent:
    """Read and validate a picks JSON file.

    Raises:
        SourceError: The file is empty, not valid JSON, not an object, lacks a required key, has a non-string id
            (``"session_id": 0``), or holds an invalid point (the message says which and why).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot be read: {exc.strerror or exc}") from None
    if not raw.strip():
        raise SourceError("empty file (not valid JSON)")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SourceError(f"a picks file holds a JSON object, not {type(data).__name__}")
    points = data.get("points", [])
    header = {key: value for key, value in data.items() if key != "points"}
    for key in ("pickable_object_name", "user_id", "session_id"):
        if key not in header:
            raise SourceError(f"no {key!r} key (copick requires it)")
    try:
        meta = CopickPicksFile.model_validate(header)
    except ValidationError as exc:
        raise SourceError(_first_error(exc)) from None
    if points is None:
        points = []  # copick keeps None and then fails on numpy(); an empty set is the useful reading
    if not isinstance(points, list):
        raise SourceError(f"'points' must be a list, not {type(points).__name__}")
    return PicksContent(
        meta.pickable_object_name,
        meta.user_id,  # type: ignore[arg-type]
        meta.session_id,  # type: ignore[arg-type]
        meta.voxel_spacing,
        meta.unit,
        meta.trust_orientation,
        points_to_arrays(points),
    )


def points_to_arrays(points: list[Any]) -> PointArrays:
    """Point dicts of a picks file as arrays.

    Raises:
        SourceError: A point is invalid.
    """
    if not points:
        return PointArrays.empty()
    try:
        return _fast(points)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError):
        pass
    try:
        return PointArrays.from_points(points)
    except ValidationError as exc:
        raise SourceError(f"invalid point: {_first_error(exc)}") from None
    except ValueError as exc:
        raise SourceError(f"invalid point: {exc}") from None


def _fast(points: list[Any]) -> PointArrays:
    """The vectorised path; raises (any of the caught errors) whenever a point is not plainly well-formed."""
    n = len(points)
    locations = np.array([_xyz(p["location"]) for p in points], dtype=np.float64)
    raw_transforms = [p.get("transformation_", _MISSING) for p in points]
    transforms = None
    if any(t is not _MISSING for t in raw_transforms):
        transforms = np.array([_IDENTITY_LIST if t is _MISSING else t for t in raw_transforms], dtype=np.float64)
        if transforms.shape != (n, 4, 4):
            raise ValueError("transform shape")
        if not (transforms[:, 3, 3] == 1.0).all() or not np.allclose(transforms[:, 3, :], _LAST_ROW):
            raise ValueError("transform last row")
    ids = [p.get("instance_id", 0) for p in points]
    scores = [p.get("score", 1.0) for p in points]
    null_ids = np.array([i is None for i in ids])
    if not all(type(i) is int for i, null in zip(ids, null_ids, strict=True) if not null):
        raise TypeError("instance id type")
    instance_ids = np.array([0 if i is None else i for i in ids], dtype=np.int64)
    if not all(type(s) in (float, int) for s in scores if s is not None):
        raise TypeError("score type")
    score_values = np.array([np.nan if s is None else s for s in scores], dtype=np.float64)
    if not np.isfinite(locations).all():
        raise ValueError("non-finite location")
    has_nulls = bool(null_ids.any()) or bool(np.isnan(score_values).any())
    if not has_nulls and (instance_ids >= 0).all():
        return PointArrays.build(locations, transforms, instance_ids, score_values)
    arrays = PointArrays.build(locations, transforms, None, None)
    arrays.instance_ids = instance_ids
    arrays.instance_id_null = null_ids if null_ids.any() else None
    arrays.scores = score_values
    return arrays


def _xyz(location: dict[str, Any]) -> tuple[Any, Any, Any]:
    x, y, z = location["x"], location["y"], location["z"]
    for value in (x, y, z):
        if type(value) not in (float, int):
            raise TypeError("coordinate type")
    return x, y, z


def picks_document(
    *,
    object_name: str,
    user_id: str,
    session_id: str,
    run_name: str | None,
    voxel_spacing: float | None,
    unit: str,
    trust_orientation: bool | None,
    arrays: PointArrays,
) -> dict[str, Any]:
    """The JSON document copick writes for a pick set (its keys, in its order; nulls kept)."""
    transforms = arrays.full_transforms().tolist()
    ids = arrays.instance_ids.tolist()
    nulls = arrays.instance_id_null.tolist() if arrays.instance_id_null is not None else None
    points = []
    for i, (x, y, z) in enumerate(arrays.locations.tolist()):
        score = float(arrays.scores[i])
        points.append(
            {
                "location": {"x": x, "y": y, "z": z},
                "transformation_": transforms[i],
                "instance_id": None if nulls is not None and nulls[i] else ids[i],
                "score": None if score != score else score,
            }
        )
    return {
        "pickable_object_name": object_name,
        "user_id": user_id,
        "session_id": session_id,
        "run_name": run_name,
        "voxel_spacing": voxel_spacing,
        "unit": unit,
        "points": points,
        "trust_orientation": trust_orientation,
    }


def write_picks(path: Path, document: dict[str, Any]) -> int:
    """Write a picks document as copick does (``indent=4``); return the bytes written."""
    text = json.dumps(document, indent=4)
    Path(path).write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ())) or "value"
    return f"{where}: {error.get('msg', exc)}"
