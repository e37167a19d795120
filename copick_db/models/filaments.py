"""Filaments: traced centrelines (ordered polylines) of a filament object, as copick 1.31 models them.

The pydantic models (:class:`CopickFilamentCurve`, :class:`CopickFilament`, :class:`CopickFilamentsFile`) have
copick's fields, defaults, validation and JSON shape, so a copick filaments file validates unchanged and dumps back
to the same keys. :class:`FilamentArrays` is the columnar form a set is validated, stored and converted in, without
one pydantic object per filament; :class:`CopickFilaments` is the abstract API class a backend subclasses.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictStr,
    field_validator,
    model_serializer,
    model_validator,
)

from copick_db.models.annotations import PerObjectMixin
from copick_db.models.curves import (
    CURVE_KINDS,
    check_curve,
    control_points_from_polyline,
    curve_anchors,
    curve_is_current,
    evaluate_curve,
    median_spacing,
    reverse_knots,
)
from copick_db.models.meta import _OwnedMeta
from copick_db.models.values import field_data

if TYPE_CHECKING:
    from copick_db.models.run import CopickRun
    from copick_db.models.values import CopickConfig

__all__ = ["CopickFilament", "CopickFilamentCurve", "CopickFilaments", "CopickFilamentsFile", "FilamentArrays"]

Point3 = tuple[float, float, float]


def _point_tuples(points: Any) -> list[Point3]:
    """(n, 3) points as a list of (x, y, z) tuples of floats."""
    return [tuple(p) for p in np.asarray(points, dtype=np.float64).reshape(-1, 3).tolist()]  # type: ignore[misc]


def _default_step(points: Any) -> float:
    """The median spacing of ``points``, the step of a curve derived from them when none is given."""
    spacing = median_spacing(points)
    if not spacing > 0:
        raise ValueError("cannot derive a step from points that coincide; pass step=")
    return spacing


class CopickFilamentCurve(BaseModel):
    """The editable or fitted curve a filament's ``points`` were regenerated from (optional; points stay canonical).

    Curves of the kinds in :data:`~copick_db.models.curves.CURVE_KINDS` are checked against their kind's rules;
    curves of other kinds, and keys this model does not declare, are kept as they are. Dumps leave out the fields
    that are None. copick's own curve objects are accepted wherever a curve is, validated by value.

    Attributes:
        kind: ``"catmull-rom"`` (passes through its control points), ``"linear"`` or ``"bspline"`` (a fitted
            B-spline, stored exactly); any other non-empty kind is kept but never checked.
        control_points: ``[[x, y, z], ...]`` in Å in the direction of the points; B-spline coefficients for
            ``"bspline"``.
        step: Arc-length spacing of the regenerated points in Å (> 0).
        alpha: Catmull-Rom parameterisation; 0.5 (centripetal) when not given.
        degree: B-spline degree (1-5).
        knots: B-spline knots, clamped.
        smoothing: Smoothing factor of the fit (>= 0); descriptive only.
    """

    model_config = ConfigDict(extra="allow")

    kind: str = Field(min_length=1)
    control_points: list[Point3]
    step: float = Field(gt=0)
    alpha: float | None = None
    degree: int | None = None
    knots: list[float] | None = None
    smoothing: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _read_foreign_curve(cls, data: Any) -> Any:
        return field_data(data, cls)

    @model_validator(mode="after")
    def _check_known_kind(self) -> CopickFilamentCurve:
        if self.kind == "catmull-rom" and self.alpha is None:
            self.alpha = 0.5
        if self.kind in CURVE_KINDS:
            check_curve(self.kind, self.control_points, self.step, self.alpha, self.degree, self.knots)
        return self

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}

    @property
    def is_known(self) -> bool:
        """Whether the curve's kind is one whose rules are known (and which copick evaluates)."""
        return self.kind in CURVE_KINDS

    @property
    def passes_through_control_points(self) -> bool:
        """Whether the curve passes through every control point (all known kinds but ``bspline``)."""
        return self.kind in ("catmull-rom", "linear")

    def evaluate(self) -> np.ndarray:
        """The points regenerated from the curve, at most ``step`` apart, through every anchor (as copick 1.31).

        Returns:
            (N, 3) float64 points in Å.

        Raises:
            ValueError: The curve's kind is not one whose rules are known.
        """
        if not self.is_known:
            raise ValueError(
                f"cannot evaluate a curve of unknown kind {self.kind!r}; the known kinds are {', '.join(CURVE_KINDS)}"
            )
        return evaluate_curve(self.control_points, self.step, self.kind, self.alpha, self.degree, self.knots)

    def anchors(self) -> np.ndarray:
        """(K, 3) points the curve passes through: its control points, or a B-spline at its distinct knots."""
        return curve_anchors(self.control_points, self.kind, self.degree, self.knots)

    def is_current_for(self, points: Any) -> bool:
        """Whether the curve still describes ``points`` (never, for a kind that is not known)."""
        return curve_is_current(points, self.control_points, self.step, self.kind, self.degree, self.knots)

    def reversed(self) -> CopickFilamentCurve:
        """The same curve traversed backwards (control points reversed, knots mirrored)."""
        update: dict[str, Any] = {"control_points": list(reversed(self.control_points))}
        if self.knots is not None:
            update["knots"] = reverse_knots(self.knots).tolist()
        return type(self).model_validate({**self.model_dump(), **update})

    @classmethod
    def from_tck(cls, tck: Any, step: float, smoothing: float | None = None, scale: float = 1.0) -> CopickFilamentCurve:
        """A ``bspline`` curve from scipy's ``splprep`` result ``(knots, [cx, cy, cz], degree)``.

        Args:
            tck: Knots, the x, y and z coefficient arrays, and the degree.
            step: Arc-length spacing of the regenerated points in Å.
            smoothing: The fit's smoothing factor, recorded on the curve.
            scale: Factor from the fit's coordinates to Å (the voxel size for a fit in voxels).

        Raises:
            ValueError: The coefficients are not three arrays, or the curve breaks a B-spline rule.
        """
        knots, coefficients, degree = tck
        coefficients = np.asarray([np.asarray(c, dtype=np.float64) for c in coefficients])
        if coefficients.ndim != 2 or coefficients.shape[0] != 3:
            raise ValueError("tck must hold three coefficient arrays, for x, y and z")
        count = len(knots) - int(degree) - 1  # scipy pads the coefficients to the number of knots
        control = coefficients[:, :count].T * float(scale)
        return cls(
            kind="bspline",
            degree=int(degree),
            knots=[float(u) for u in knots],
            control_points=[tuple(map(float, c)) for c in control],
            step=step,
            smoothing=smoothing,
        )


class CopickFilament(BaseModel):
    """One traced filament: an ordered centreline in tomogram coordinates.

    copick's own filament objects are accepted wherever a filament is, validated by value.

    Attributes:
        instance_id: Filament id (>= 1), unique within its set; picks sampled from it carry it as instance id.
        points: Ordered vertices ``[[x, y, z], ...]`` in Å; at least two, all finite.
        polarity_known: Whether the point order follows the structure's polarity.
        score: Confidence score.
        radius: Tube radius in Å (> 0), or None when not measured.
        metadata: Free-form metadata; None becomes ``{}``.
        curve: The curve the points were regenerated from, if any.
    """

    instance_id: int = Field(ge=1)
    points: list[Point3]
    polarity_known: bool = False
    score: float = 1.0
    radius: float | None = Field(default=None, gt=0)
    metadata: dict[str, Any] = Field(default_factory=dict)
    curve: CopickFilamentCurve | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_foreign_filament(cls, data: Any) -> Any:
        return field_data(data, cls)

    @field_validator("points")
    @classmethod
    def _check_points(cls, value: list[Point3]) -> list[Point3]:
        if len(value) < 2:
            raise ValueError(f"a filament needs at least two points, got {len(value)}")
        if not np.isfinite(np.asarray(value, dtype=np.float64)).all():
            raise ValueError("filament points must be finite numbers")
        return value

    @field_validator("metadata", mode="before")
    @classmethod
    def _none_to_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @classmethod
    def from_curve(cls, instance_id: int, curve: CopickFilamentCurve | dict[str, Any], **fields: Any) -> CopickFilament:
        """A filament whose points are regenerated from ``curve``.

        Args:
            instance_id: Filament id (>= 1).
            curve: The curve, of a known kind (a CopickFilamentCurve, copick's own, or a dict of its fields).
            **fields: Other filament fields (``polarity_known``, ``score``, ``radius``, ``metadata``).

        Raises:
            ValueError: The curve or a field is invalid, or the curve's kind is unknown.
        """
        curve = CopickFilamentCurve.model_validate(curve)
        return cls(instance_id=instance_id, points=_point_tuples(curve.evaluate()), curve=curve, **fields)

    @classmethod
    def from_control_points(
        cls,
        instance_id: int,
        control_points: Any,
        step: float,
        kind: str = "catmull-rom",
        alpha: float = 0.5,
        **fields: Any,
    ) -> CopickFilament:
        """A filament traced through ``control_points`` (a ``catmull-rom`` or ``linear`` curve), points regenerated.

        Args:
            instance_id: Filament id (>= 1).
            control_points: (n, 3) control points in Å, n >= 2, in order along the filament.
            step: Arc-length spacing of the regenerated points in Å (usually the voxel size).
            kind: ``"catmull-rom"`` or ``"linear"``; a B-spline is made with :meth:`from_curve`.
            alpha: Catmull-Rom parameterisation (0.5: centripetal).
            **fields: Other filament fields.

        Raises:
            ValueError: ``kind`` is neither, or the curve or a field is invalid.
        """
        if kind not in ("catmull-rom", "linear"):
            raise ValueError(
                f"from_control_points makes catmull-rom or linear curves, not {kind!r}; make a B-spline with "
                "from_curve(instance_id, CopickFilamentCurve(kind='bspline', ...))"
            )
        curve = CopickFilamentCurve(
            kind=kind,
            control_points=_point_tuples(control_points),
            step=step,
            alpha=alpha if kind == "catmull-rom" else None,
        )
        return cls.from_curve(instance_id, curve, **fields)

    def curve_is_current(self) -> bool:
        """Whether the filament has a curve of a known kind that still describes its points."""
        return self.curve is not None and self.curve.is_current_for(self.points)

    def with_control_points(self, control_points: Any, step: float | None = None) -> CopickFilament:
        """A copy with moved, added or removed control points and regenerated points, keeping the curve's kind.

        A ``bspline`` keeps its degree and knots, so it needs as many control points as before. A filament without a
        current curve of a known kind gets a ``catmull-rom`` curve.

        Args:
            control_points: The new (n, 3) control points in Å.
            step: Arc-length spacing of the regenerated points; by default the curve's (without a current curve,
                the median spacing of the points).

        Raises:
            ValueError: A B-spline gets a different number of control points, or the new curve is invalid.
        """
        control = _point_tuples(control_points)
        curve = self.curve
        if curve is not None and self.curve_is_current():
            if curve.kind == "bspline" and len(control) != len(curve.control_points):
                raise ValueError(
                    f"a bspline keeps its knots, so it needs {len(curve.control_points)} control points, got "
                    f"{len(control)}; convert it with editable_curve(kinds=('catmull-rom',)) to add or remove points"
                )
            data = {**curve.model_dump(), "control_points": control, "step": step or curve.step}
        else:
            data = {
                "kind": "catmull-rom",
                "alpha": 0.5,
                "control_points": control,
                "step": step or _default_step(self.points),
            }
        fields = self.model_dump(exclude={"instance_id", "points", "curve"})
        return type(self).from_curve(self.instance_id, CopickFilamentCurve.model_validate(data), **fields)

    def editable_curve(
        self, tolerance: float | None = None, step: float | None = None, kinds: Iterable[str] = CURVE_KINDS
    ) -> CopickFilamentCurve:
        """The curve an editor shows: the filament's own while it is current and of one of ``kinds``, otherwise a
        ``catmull-rom`` curve derived from the points (see
        :func:`~copick_db.models.curves.control_points_from_polyline`).

        Args:
            tolerance: Largest distance of a derived curve from the points in Å; by default half ``step``.
            step: Point spacing of a derived curve in Å; by default the median spacing of the points.
            kinds: The curve kinds the editor supports.

        Raises:
            ValueError: A curve has to be derived but the points coincide, or ``tolerance`` is not positive.
        """
        if self.curve is not None and self.curve_is_current() and self.curve.kind in tuple(kinds):
            return self.curve
        step = step or _default_step(self.points)
        control = control_points_from_polyline(self.points, tolerance or step / 2)
        return CopickFilamentCurve(kind="catmull-rom", alpha=0.5, control_points=_point_tuples(control), step=step)

    def editable_control_points(
        self, tolerance: float | None = None, step: float | None = None, kinds: Iterable[str] = CURVE_KINDS
    ) -> np.ndarray:
        """The (n, 3) float64 control points of :meth:`editable_curve` (same arguments)."""
        curve = self.editable_curve(tolerance=tolerance, step=step, kinds=kinds)
        return np.asarray(curve.control_points, dtype=np.float64)

    def reversed(self) -> CopickFilament:
        """The filament traversed backwards: points and curve reversed."""
        return type(self).model_validate(
            {
                **self.model_dump(exclude={"curve"}),
                "points": list(reversed(self.points)),
                "curve": None if self.curve is None else self.curve.reversed(),
            }
        )


class CopickFilamentsFile(_OwnedMeta):
    """A filament set: copick's filaments JSON file (``{run}/Filaments/{user}_{session}_{object}.json``).

    Dumps have copick's keys in copick's order; ``created`` / ``modified`` are appended only when set.

    Attributes:
        pickable_object_name: Name of the traced object.
        user_id: User or tool that traced them.
        session_id: Session id; ``"0"`` marks tool output.
        run_name: Name of the run.
        voxel_spacing: Voxel size in Å of the data they were traced in, if any.
        unit: Unit of the coordinates.
        version: Version of the file format.
        filaments: The filaments; instance ids are unique within the file.
        created: Creation time.
        modified: Last modification time.
    """

    pickable_object_name: str
    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    run_name: str | None = None
    voxel_spacing: float | None = None
    unit: str = "angstrom"
    version: int = 1
    filaments: list[CopickFilament] = Field(default_factory=list)
    created: datetime | None = None
    modified: datetime | None = None

    @model_validator(mode="after")
    def _unique_instance_ids(self) -> CopickFilamentsFile:
        ids = [f.instance_id for f in self.filaments]
        if len(ids) != len(set(ids)):
            duplicated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"filament instance ids must be unique within a set; duplicated: {duplicated}")
        return self

    @model_serializer(mode="wrap")
    def _drop_unset_timestamps(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in ("created", "modified"):
            if key in data and data[key] is None:
                del data[key]
        return data


# -- columnar form ---------------------------------------------------------------------------------------------

#: Per-filament fields and the values left out of :attr:`FilamentArrays.attributes` because they are the defaults.
_DEFAULTS: dict[str, Any] = {"polarity_known": False, "score": 1.0, "radius": None, "metadata": {}, "curve": None}


@dataclass
class FilamentArrays:
    """A filament set as arrays: every polyline's points in one block, cut by offsets.

    Attributes:
        points: float64 (P, 3), x y z in Å, filament after filament.
        offsets: int64 (K + 1,): filament ``i`` is ``points[offsets[i]:offsets[i + 1]]``.
        instance_ids: int64 (K,).
        attributes: Per filament, its fields that differ from the defaults (``polarity_known``, ``score``,
            ``radius``, ``metadata``, ``curve`` as a dict); None when every filament has the defaults.
    """

    points: np.ndarray
    offsets: np.ndarray
    instance_ids: np.ndarray
    attributes: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return int(self.instance_ids.shape[0])

    @classmethod
    def empty(cls) -> FilamentArrays:
        """No filaments."""
        return cls(np.empty((0, 3)), np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64))

    @classmethod
    def from_filaments(cls, filaments: Iterable[CopickFilament | dict[str, Any]]) -> FilamentArrays:
        """Convert filaments (models or dicts shaped like one) into arrays, checking them again.

        Models are re-checked with array operations, so points changed in place are caught too.

        Raises:
            ValueError: A filament has fewer than two points or a non-finite one, an instance id below 1, a radius
                that is not positive, or two filaments share an instance id.
        """
        models = [f if isinstance(f, CopickFilament) else CopickFilament.model_validate(f) for f in filaments]
        if not models:
            return cls.empty()
        blocks, ids, attributes = [], [], []
        for f in models:
            block = np.asarray(f.points, dtype=np.float64)
            if block.ndim != 2 or block.shape[1] != 3 or block.shape[0] < 2:
                raise ValueError(f"filament {f.instance_id} needs at least two [x, y, z] points, got {block.shape}")
            if not np.isfinite(block).all():
                raise ValueError(f"filament {f.instance_id} has a point that is not finite")
            if not isinstance(f.instance_id, (int, np.integer)) or f.instance_id < 1:
                raise ValueError(f"filament instance ids must be integers >= 1, got {f.instance_id!r}")
            if f.radius is not None and not f.radius > 0:
                raise ValueError(f"filament {f.instance_id} has radius {f.radius}; a radius must be > 0 (or None)")
            blocks.append(block)
            ids.append(int(f.instance_id))
            attributes.append(_attributes(f))
        if len(set(ids)) != len(ids):
            duplicated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"filament instance ids must be unique within a set; duplicated: {duplicated}")
        offsets = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in blocks], out=offsets[1:])
        return cls(
            np.ascontiguousarray(np.concatenate(blocks)),
            offsets,
            np.asarray(ids, dtype=np.int64),
            attributes if any(attributes) else None,
        )

    def polylines(self) -> list[np.ndarray]:
        """One (M, 3) float64 array per filament (new arrays the caller owns)."""
        return [self.points[a:b].copy() for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]

    def to_filaments(self) -> list[CopickFilament]:
        """Build the filament models (from checked data, so without validating the points again)."""
        result = []
        coords = self.points.tolist()
        for i, instance_id in enumerate(self.instance_ids.tolist()):
            fields = {**_DEFAULTS, **(self.attributes[i] if self.attributes is not None else {})}
            curve = fields["curve"]
            result.append(
                CopickFilament.model_construct(
                    instance_id=instance_id,
                    points=[tuple(p) for p in coords[self.offsets[i] : self.offsets[i + 1]]],
                    polarity_known=fields["polarity_known"],
                    score=fields["score"],
                    radius=fields["radius"],
                    metadata=dict(fields["metadata"]),
                    curve=None if curve is None else CopickFilamentCurve.model_validate(curve),
                )
            )
        return result


def _attributes(filament: CopickFilament) -> dict[str, Any]:
    """The per-filament fields of ``filament`` that differ from the defaults, as plain JSON values."""
    found: dict[str, Any] = {}
    if filament.polarity_known:
        found["polarity_known"] = True
    if filament.score != 1.0:  # NaN too
        found["score"] = float(filament.score)
    if filament.radius is not None:
        found["radius"] = float(filament.radius)
    if filament.metadata:
        try:
            json.dumps(filament.metadata)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"metadata of filament {filament.instance_id} is not JSON data: {exc}") from None
        found["metadata"] = dict(filament.metadata)
    if filament.curve is not None:
        found["curve"] = filament.curve.model_dump(mode="json")
    return found


def _per_filament_fields(
    count: int,
    instance_ids: Sequence[int] | None,
    polarity_known: Sequence[bool] | None,
    scores: Sequence[float] | None,
    radii: Sequence[float | None] | None,
    metadata: Sequence[dict[str, Any] | None] | None,
) -> list[dict[str, Any]]:
    """The fields of ``count`` filaments from per-filament lists (each None or of length ``count``)."""
    for name, values in (
        ("instance_ids", instance_ids),
        ("polarity_known", polarity_known),
        ("scores", scores),
        ("radii", radii),
        ("metadata", metadata),
    ):
        if values is not None and len(values) != count:
            raise ValueError(f"{name} must have one entry per filament ({count}), got {len(values)}")
    return [
        {
            "instance_id": int(instance_ids[i]) if instance_ids is not None else i + 1,
            "polarity_known": bool(polarity_known[i]) if polarity_known is not None else False,
            "score": float(scores[i]) if scores is not None else 1.0,
            "radius": None if radii is None or radii[i] is None else float(radii[i]),
            "metadata": {} if metadata is None or metadata[i] is None else dict(metadata[i]),  # type: ignore[arg-type]
        }
        for i in range(count)
    ]


# -- the abstract API class ------------------------------------------------------------------------------------


class CopickFilaments(PerObjectMixin):
    """The traced filaments of one object by one (user, session) in one run.

    Accepts the spec's ``(run, meta, config)`` and copick's ``(run, file)`` forms. The filaments are read from
    storage when first used; :meth:`numpy` reads them without building one model per filament.

    Args:
        run: The run.
        meta: The set's metadata (a CopickFilamentsFile).
        config: The configuration; the run's when None.
        file: copick's name for ``meta``.
        read_only: True for static data.
    """

    def __init__(
        self,
        run: CopickRun,
        meta: CopickFilamentsFile | None = None,
        config: CopickConfig | None = None,
        *,
        file: CopickFilamentsFile | None = None,
        read_only: bool = False,
    ) -> None:
        self._attach(run, meta, file, config, read_only)
        self._arrays: FilamentArrays | None = None
        self._filaments: list[CopickFilament] | None = None

    @property
    def voxel_spacing(self) -> float | None:
        """Voxel size in Å of the data the filaments were traced in, if recorded."""
        return self.meta.voxel_spacing

    # -- storage hooks ----------------------------------------------------------------------------------------

    def _load_arrays(self) -> FilamentArrays:
        """Read the stored filaments (backend hook)."""
        raise NotImplementedError

    def _store_arrays(self, arrays: FilamentArrays) -> None:
        """Write the filaments and the meta's ``voxel_spacing``, ``unit`` and ``version``, replacing what is stored
        (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the set (backend hook)."""
        raise NotImplementedError

    # -- data -------------------------------------------------------------------------------------------------

    def _current_arrays(self) -> FilamentArrays:
        if self._filaments is not None:
            return FilamentArrays.from_filaments(self._filaments)
        if self._arrays is None:
            self._arrays = self._load_arrays()
        return self._arrays

    @property
    def is_loaded(self) -> bool:
        """Whether filaments were loaded or set (``store()`` does nothing otherwise)."""
        return self._filaments is not None or self._arrays is not None

    @property
    def filaments(self) -> list[CopickFilament]:
        """The filaments as models, built on first access (this list is also ``meta.filaments``).

        The setter validates the whole set (instance ids unique) before anything changes.
        """
        if self._filaments is None:
            self._filaments = self._current_arrays().to_filaments()
            self._arrays = None
            self.meta.filaments = self._filaments
        return self._filaments

    @filaments.setter
    def filaments(self, value: Iterable[CopickFilament | dict[str, Any]]) -> None:
        checked = CopickFilamentsFile.model_validate(
            {"pickable_object_name": self.pickable_object_name, "filaments": list(value)}
        ).filaments
        self._filaments, self._arrays = checked, None
        self.meta.filaments = checked

    def load(self) -> CopickFilamentsFile:
        """Re-read the filaments from storage and return the metadata with them."""
        self.refresh()
        _ = self.filaments
        return self.meta

    def refresh(self) -> None:
        """Forget loaded filaments; the next access reads storage."""
        self._filaments = None
        self._arrays = None

    def store(self) -> None:
        """Write the loaded or set filaments; does nothing when nothing was loaded or set.

        A curve of a known kind that no longer describes its filament's points is dropped with a warning, as
        copick 1.31 does, rather than stored.

        Raises:
            ValueError: A filament is invalid (checked again, so in-place edits are caught).
            PermissionError: The set is read-only.
        """
        if not self.is_loaded:
            return
        self._check_writable("store filaments")
        if self._filaments is not None:
            self._drop_stale_curves()
        self._store_arrays(self._current_arrays())

    def _drop_stale_curves(self) -> None:
        filaments = self._filaments or []
        stale = {
            f.instance_id for f in filaments if f.curve is not None and f.curve.is_known and not f.curve_is_current()
        }
        if not stale:
            return
        warnings.warn(
            f"Dropping the curves of filaments {sorted(stale)} of {self!r}: their points were changed without "
            "regenerating them from the curve.",
            UserWarning,
            stacklevel=3,
        )
        for i, f in enumerate(filaments):
            if f.instance_id in stale:
                filaments[i] = f.model_copy(update={"curve": None})

    def get(self, instance_id: int) -> CopickFilament | None:
        """The filament with this instance id, or None."""
        return next((f for f in self.filaments if f.instance_id == instance_id), None)

    def instance_ids(self) -> np.ndarray:
        """The filaments' instance ids, int64 (K,), in set order."""
        return self._current_arrays().instance_ids.copy()

    def numpy(self) -> list[np.ndarray]:
        """The centrelines: one float64 (M, 3) array of [x, y, z] in Å per filament, in set order."""
        return self._current_arrays().polylines()

    def control_points(self) -> list[np.ndarray | None]:
        """Per filament, the (n, 3) control points of its curve while that is current, else None."""
        return [
            np.asarray(f.curve.control_points, dtype=np.float64) if f.curve_is_current() else None  # type: ignore[union-attr]
            for f in self.filaments
        ]

    def from_numpy(
        self,
        polylines: Sequence[Any],
        instance_ids: Sequence[int] | None = None,
        polarity_known: Sequence[bool] | None = None,
        scores: Sequence[float] | None = None,
        radii: Sequence[float | None] | None = None,
        voxel_spacing: float | None = None,
        metadata: Sequence[dict[str, Any] | None] | None = None,
        *,
        store: bool = True,
    ) -> None:
        """Set the filaments from (M, 3) arrays of ordered points in Å, and store them unless ``store=False``.

        The filaments get no curves. Per-filament lists default to ids 1..K, ``polarity_known`` False, score 1.0,
        no radius and empty metadata.

        Args:
            polylines: One (M, 3) array per filament, M >= 2, in order along the filament.
            instance_ids: Filament ids (>= 1, unique).
            polarity_known: Per filament, whether the point order follows the polarity.
            scores: Per filament score.
            radii: Per filament tube radius in Å (> 0), or None.
            voxel_spacing: Voxel size the filaments were traced at, recorded on the set (kept when None).
            metadata: Per filament metadata, or None.
            store: Write to storage (default); False only sets.

        Raises:
            ValueError: A list's length differs from the number of polylines, or a filament is invalid.
            PermissionError: The set is read-only (checked before anything changes).
        """
        lines = list(polylines)
        fields = _per_filament_fields(len(lines), instance_ids, polarity_known, scores, radii, metadata)
        filaments = []
        for line, values in zip(lines, fields, strict=True):
            block = np.asarray(line, dtype=np.float64)
            if block.ndim != 2 or block.shape[1] != 3:
                raise ValueError(f"each polyline must have shape (M, 3) (x, y, z in Å); got shape {block.shape}")
            filaments.append(CopickFilament(points=[tuple(p) for p in block.tolist()], **values))
        self._set_filaments(filaments, voxel_spacing, store)

    def from_curves(
        self,
        curves: Sequence[CopickFilamentCurve | dict[str, Any]],
        instance_ids: Sequence[int] | None = None,
        polarity_known: Sequence[bool] | None = None,
        scores: Sequence[float] | None = None,
        radii: Sequence[float | None] | None = None,
        voxel_spacing: float | None = None,
        metadata: Sequence[dict[str, Any] | None] | None = None,
        *,
        store: bool = True,
    ) -> None:
        """Set the filaments from curves, regenerating their points, and store them unless ``store=False``.

        Args:
            curves: One curve of a known kind per filament: a CopickFilamentCurve (for example
                ``CopickFilamentCurve.from_tck(...)`` for a scipy spline fit), copick's own, or a dict of its fields.
            instance_ids: Filament ids (>= 1, unique); 1..K by default.
            polarity_known: Per filament, whether the point order follows the polarity.
            scores: Per filament score.
            radii: Per filament tube radius in Å (> 0), or None.
            voxel_spacing: Voxel size the filaments were traced at, recorded on the set (kept when None).
            metadata: Per filament metadata, or None.
            store: Write to storage (default); False only sets.

        Raises:
            ValueError: A list's length differs from the number of curves, or a curve or filament is invalid.
            PermissionError: The set is read-only (checked before anything changes).
        """
        curves = list(curves)
        fields = _per_filament_fields(len(curves), instance_ids, polarity_known, scores, radii, metadata)
        filaments = [CopickFilament.from_curve(curve=c, **f) for c, f in zip(curves, fields, strict=True)]
        self._set_filaments(filaments, voxel_spacing, store)

    def from_control_points(
        self,
        control_points: Sequence[Any],
        instance_ids: Sequence[int] | None = None,
        step: float | None = None,
        kind: str = "catmull-rom",
        alpha: float = 0.5,
        polarity_known: Sequence[bool] | None = None,
        scores: Sequence[float] | None = None,
        radii: Sequence[float | None] | None = None,
        voxel_spacing: float | None = None,
        metadata: Sequence[dict[str, Any] | None] | None = None,
        *,
        store: bool = True,
    ) -> None:
        """Set the filaments from traced control points (``catmull-rom`` or ``linear`` curves), regenerating their
        points, and store them unless ``store=False``.

        Args:
            control_points: One (n, 3) array per filament, n >= 2, in order along the filament, in Å.
            instance_ids: Filament ids (>= 1, unique); 1..K by default.
            step: Arc-length spacing of the regenerated points in Å; by default ``voxel_spacing``, else the set's.
            kind: ``"catmull-rom"`` or ``"linear"``.
            alpha: Catmull-Rom parameterisation (0.5: centripetal).
            polarity_known: Per filament, whether the point order follows the polarity.
            scores: Per filament score.
            radii: Per filament tube radius in Å (> 0), or None.
            voxel_spacing: Voxel size the filaments were traced at, recorded on the set (kept when None).
            metadata: Per filament metadata, or None.
            store: Write to storage (default); False only sets.

        Raises:
            ValueError: No step can be found, a list's length differs from the number of filaments, or a curve or
                filament is invalid.
            PermissionError: The set is read-only (checked before anything changes).
        """
        step = step or voxel_spacing or self.meta.voxel_spacing
        if not step:
            raise ValueError("pass step= or voxel_spacing=: the spacing of the regenerated points in Å")
        lines = list(control_points)
        fields = _per_filament_fields(len(lines), instance_ids, polarity_known, scores, radii, metadata)
        filaments = [
            CopickFilament.from_control_points(control_points=c, step=step, kind=kind, alpha=alpha, **f)
            for c, f in zip(lines, fields, strict=True)
        ]
        self._set_filaments(filaments, voxel_spacing, store)

    def editable_curve(
        self, instance_id: int, tolerance: float | None = None, kinds: Iterable[str] = CURVE_KINDS
    ) -> CopickFilamentCurve:
        """:meth:`CopickFilament.editable_curve` of one filament, a derived curve taking the set's voxel size as
        its step (and half of it as its tolerance) when the set records one.

        Raises:
            KeyError: No filament has this instance id.
        """
        filament = self.get(instance_id)
        if filament is None:
            raise KeyError(f"{self!r} has no filament with instance id {instance_id}; see instance_ids()")
        step = self.voxel_spacing or None
        return filament.editable_curve(tolerance=tolerance or (step / 2 if step else None), step=step, kinds=kinds)

    def _set_filaments(self, filaments: list[CopickFilament], voxel_spacing: float | None, store: bool) -> None:
        """Validate the whole set, then store it (unless ``store`` is False) and keep it as the loaded filaments."""
        checked = CopickFilamentsFile.model_validate(
            {"pickable_object_name": self.pickable_object_name, "filaments": filaments}
        ).filaments
        arrays = FilamentArrays.from_filaments(checked)
        previous_spacing = self.meta.voxel_spacing
        if voxel_spacing is not None:
            self.meta.voxel_spacing = float(voxel_spacing)
        if store:
            try:
                self._check_writable("store filaments")
                self._store_arrays(arrays)
            except BaseException:
                self.meta.voxel_spacing = previous_spacing
                raise
        self._filaments, self._arrays = checked, None
        self.meta.filaments = checked
