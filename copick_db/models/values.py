"""Value models shared with copick: pickable objects, the project config, and picked points.

Field names, defaults and JSON shape follow copick, so a copick config or picks file validates unchanged and
dumps back to the same keys. Validators raise explicitly (copick uses ``assert``, which ``python -O`` strips).
Assignment is not validated, as in copick; only the property setters check their input.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from copick_db.errors import InvalidTransformError
from copick_db.models.names import validate_name

__all__ = ["CopickConfig", "CopickLocation", "CopickPoint", "FilamentSpec", "PickableObject", "field_data"]

DEFAULT_COLOR = (100, 100, 100, 255)

#: Key of ``PickableObject.metadata`` that copick reserves for its own extensions of the object spec.
COPICK_METADATA_NAMESPACE = "copick"
#: Key in that namespace that declares an object a filament (its value is a :class:`FilamentSpec`).
FILAMENT_METADATA_KEY = "filament"


class FilamentSpec(BaseModel):
    """Declares a pickable object a filament (microtubule, actin, ...): annotated with ordered points along its axis.

    Kept on the object as ``metadata["copick"]["filament"]`` (plain JSON), so clients that know nothing of filaments
    read the object as an ordinary particle and keep the declaration when they rewrite it. Picks of a filament object
    use ``instance_id`` as the filament id (from 1; 0 is unassigned). Keys this model does not declare are kept.

    Attributes:
        polar: Whether the structure has a polarity; None when not stated.
        helical_rise_a: Axial rise per subunit in Å (> 0); descriptive only.
        helical_twist_deg: Twist per subunit in degrees; descriptive only.
    """

    model_config = ConfigDict(extra="allow")

    polar: bool | None = None
    helical_rise_a: float | None = Field(default=None, gt=0)
    helical_twist_deg: float | None = None


def metadata_with_filament(metadata: dict[str, Any] | None, filament: FilamentSpec | dict[str, Any] | None) -> dict:
    """A copy of ``metadata`` with ``filament`` under ``metadata["copick"]["filament"]``, or without it when None.

    Args:
        metadata: Object metadata (not changed).
        filament: The spec, a dict of its fields, or None to remove the declaration.

    Returns:
        The new metadata; an emptied ``"copick"`` namespace is dropped.

    Raises:
        ValueError: The spec is invalid, or ``metadata["copick"]`` holds something other than a dict.
    """
    result = dict(metadata or {})
    namespace = result.get(COPICK_METADATA_NAMESPACE, {})
    if not isinstance(namespace, dict):
        raise ValueError(
            f"metadata[{COPICK_METADATA_NAMESPACE!r}] holds a {type(namespace).__name__}, not a dict; copick reserves "
            "this key for its object spec extensions, so move that value elsewhere first."
        )
    namespace = dict(namespace)
    if filament is None:
        namespace.pop(FILAMENT_METADATA_KEY, None)
    else:
        spec = filament if isinstance(filament, FilamentSpec) else FilamentSpec.model_validate(filament)
        namespace[FILAMENT_METADATA_KEY] = spec.model_dump(exclude_none=True)
    if namespace:
        result[COPICK_METADATA_NAMESPACE] = namespace
    else:
        result.pop(COPICK_METADATA_NAMESPACE, None)
    return result


class PickableObject(BaseModel):
    """A kind of object that can be annotated: a particle (points) or a structure (masks).

    Attributes:
        name: Object name; must follow the name rule (see :mod:`copick_db.models.names`).
        is_particle: True if the object is annotated with points, False if with segmentation masks.
        label: Value of this object in multilabel masks: None or an int >= 1 (0 is background).
        color: RGBA colour, four ints in 0-255, or None.
        emdb_id: EMDB entry of the object's density map.
        pdb_id: PDB entry of the object's structure.
        identifier: Ontology identifier (GO, UniProtKB, ...). Also accepted as ``go_id`` on input.
        map_threshold: Isosurface level for rendering the density map.
        radius: Particle radius in Å (for a filament, the tube radius).
        metadata: Free-form user metadata; None becomes ``{}``. ``metadata["copick"]`` is reserved for copick's
            extensions: ``metadata["copick"]["filament"]`` declares a filament (see :class:`FilamentSpec`) and is
            validated and normalised when present.
    """

    name: str
    is_particle: bool
    label: int | None = 1
    color: tuple[int, int, int, int] | None = DEFAULT_COLOR
    emdb_id: str | None = None
    pdb_id: str | None = None
    # go_id comes first so that it wins when a file carries both keys, as in copick.
    identifier: str | None = Field(default=None, validation_alias=AliasChoices("go_id", "identifier"))
    map_threshold: float | None = None
    radius: float | None = None
    metadata: dict[str, Any] | None = Field(default_factory=dict)

    @property
    def go_id(self) -> str | None:
        """The legacy name of :attr:`identifier`."""
        return self.identifier

    @go_id.setter
    def go_id(self, value: str | None) -> None:
        self.identifier = value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return validate_name(value, "object name")

    @field_validator("label")
    @classmethod
    def _check_label(cls, value: int | None) -> int | None:
        # Stricter than copick (which only rejects 0): masks store labels as unsigned ints.
        if value is not None and value < 1:
            raise ValueError(f"label must be None or an integer >= 1 (0 is reserved for background), got {value}")
        return value

    @field_validator("color")
    @classmethod
    def _check_color(cls, value: tuple[int, int, int, int] | None) -> tuple[int, int, int, int] | None:
        if value is not None and not all(0 <= c <= 255 for c in value):
            raise ValueError(f"color values must be integers in 0-255 (RGBA), got {value}")
        return value

    @field_validator("metadata", mode="before")
    @classmethod
    def _none_to_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _check_filament_spec(self) -> PickableObject:
        # Only the filament key is checked: anything else under "copick" (even a non-dict) is left as it is.
        namespace = (self.metadata or {}).get(COPICK_METADATA_NAMESPACE)
        if not isinstance(namespace, dict) or namespace.get(FILAMENT_METADATA_KEY) is None:
            return self
        spec = FilamentSpec.model_validate(namespace[FILAMENT_METADATA_KEY])
        if not self.is_particle:
            raise ValueError(
                f"object {self.name!r} is declared a filament but is_particle is False; filaments are annotated "
                "with points, so set is_particle=True"
            )
        normalised = {**namespace, FILAMENT_METADATA_KEY: spec.model_dump(exclude_none=True)}
        self.metadata = {**self.metadata, COPICK_METADATA_NAMESPACE: normalised}
        return self

    @property
    def filament(self) -> FilamentSpec | None:
        """The object's filament declaration, or None when it is not a filament."""
        namespace = (self.metadata or {}).get(COPICK_METADATA_NAMESPACE)
        if isinstance(namespace, dict) and namespace.get(FILAMENT_METADATA_KEY) is not None:
            return FilamentSpec.model_validate(namespace[FILAMENT_METADATA_KEY])
        return None

    @property
    def is_filament(self) -> bool:
        """Whether the object is declared a filament."""
        return self.filament is not None

    def set_filament(self, filament: FilamentSpec | dict[str, Any] | None) -> None:
        """Declare the object a filament, change its declaration, or remove it (``None``).

        The whole object is validated before anything changes.

        Args:
            filament: A FilamentSpec, a dict of its fields, or None.

        Raises:
            ValueError: The spec is invalid, the object is not a particle, or ``metadata["copick"]`` is not a dict.
        """
        metadata = metadata_with_filament(self.metadata, filament)
        self.metadata = type(self).model_validate({**self.model_dump(), "metadata": metadata}).metadata


class CopickConfig(BaseModel):
    """A copick project configuration.

    Keys this model does not declare (``config_type``, ``overlay_root``, ...) are kept as extra attributes and
    dumped back, so a backend config survives a load/save round trip.

    Attributes:
        name: Project name (free text).
        description: Project description (free text).
        version: Version of the copick API the project was written for.
        pickable_objects: The objects that can be annotated. Names and labels are not checked for uniqueness here.
        user_id: Default user id; must follow the name rule.
        session_id: Default session id; must follow the name rule.
        runs: Optional index of run names.
        voxel_spacings: Optional index of voxel sizes in Å.
        tomograms: Optional index from voxel size to tomogram types.
    """

    model_config = ConfigDict(extra="allow")

    name: str | None = "CoPick"
    description: str | None = "Let's CoPick!"
    version: str | None = "0.2.0"
    pickable_objects: list[PickableObject]
    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    runs: list[str] | None = None
    voxel_spacings: list[float] | None = None
    tomograms: dict[float, list[str]] | None = Field(default_factory=dict)

    @field_validator("user_id", "session_id", mode="before")
    @classmethod
    def _check_id(cls, value: Any, info: ValidationInfo) -> Any:
        return None if value is None else validate_name(value, info.field_name)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CopickConfig:
        """Read a config from a JSON file.

        Args:
            path: Path to the JSON file.

        Returns:
            The validated config.

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If the file is not a JSON object, or (as a ``ValidationError``) not a valid config.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"copick config file not found: {path}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"copick config {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"copick config {path} must hold a JSON object, not {type(data).__name__}")
        return cls.model_validate(data)


def field_data(value: Any, model: type[BaseModel]) -> Any:
    """The input for validating ``model`` from ``value``, read by value when it is another library's object.

    copick's own model instances (``copick.models.CopickPoint``, its filaments and curves) and any object with
    ``model``'s fields as attributes are accepted wherever copick accepts its own instances; pydantic alone accepts
    only dicts and instances of ``model``. A pydantic model gives its ``model_dump()`` (which keeps extra keys, such
    as those of a curve of an unknown kind); any other object its attributes named like ``model``'s fields. Dicts,
    instances of ``model`` and objects with none of its fields are returned unchanged, for pydantic to judge.

    Args:
        value: The input.
        model: The model it is validated as.

    Returns:
        ``value``, or a dict of its field values.
    """
    if isinstance(value, (dict, model)) or value is None:
        return value
    if isinstance(value, BaseModel):
        return value.model_dump()
    found = {name: getattr(value, name) for name in model.model_fields if hasattr(value, name)}
    return found or value


class CopickLocation(BaseModel):
    """A position in the tomogram frame, in Å.

    Accepts, besides x/y/z values, any object with ``x``, ``y`` and ``z`` attributes (copick's own
    ``CopickLocation``), validated by value.

    Attributes:
        x: x coordinate (finite).
        y: y coordinate (finite).
        z: z coordinate (finite).
    """

    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)
    z: float = Field(allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _read_foreign_location(cls, data: Any) -> Any:
        return field_data(data, cls)


def _identity() -> list[list[float]]:
    return np.eye(4).tolist()


def _checked_transform(value: Any) -> np.ndarray:
    """Return ``value`` as a 4x4 float64 array, or raise InvalidTransformError."""
    try:
        matrix = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidTransformError(f"transformation must be a 4x4 matrix of numbers, got {value!r}") from exc
    if matrix.shape != (4, 4):
        raise InvalidTransformError(f"transformation must be a 4x4 matrix, got shape {matrix.shape}")
    # The exact [3, 3] check is copick's; without it we could write files copick refuses to read.
    if matrix[3, 3] != 1.0 or not np.allclose(matrix[3], [0.0, 0.0, 0.0, 1.0]):
        raise InvalidTransformError(f"last row of transformation must be [0, 0, 0, 1], got {matrix[3].tolist()}")
    return matrix


def _finite(value: Any, axis: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{axis} must be a finite number, got {number}")
    return number


class CopickPoint(BaseModel):
    """A picked point: location, orientation, instance id and score.

    Besides copick's ``CopickPoint(location=CopickLocation(...))``, the point can be built and read flat, as
    ``CopickPoint(x=1, y=2, z=3, score=0.5)`` and ``point.x``. Dumps keep copick's nested shape. Validation also
    accepts copick's own ``CopickPoint`` and any object with its fields as attributes (``location``, or flat
    ``x``/``y``/``z``; ``transformation_``, ``instance_id``, ``score``), checked by value like a dict.

    Attributes:
        location: Position in Å.
        transformation_: Row-major 4x4 matrix from object to tomogram space; last row ``[0, 0, 0, 1]``.
        instance_id: Instance id (0 when unassigned).
        score: Score, or None for "no score".
    """

    location: CopickLocation
    # Optional only to keep copick's schema; None is rejected by the validator.
    transformation_: list[list[float]] | None = Field(default_factory=_identity)
    instance_id: int | None = 0
    score: float | None = 1.0

    @model_validator(mode="before")
    @classmethod
    def _pack_flat_coordinates(cls, data: Any) -> Any:
        read = field_data(data, cls)
        if not isinstance(data, (dict, BaseModel)) and data is not None and not hasattr(data, "location"):
            # An object with flat coordinates, as the spec's points have: its x/y/z are packed below.
            flat = {axis: getattr(data, axis) for axis in "xyz" if hasattr(data, axis)}
            read = {**(read if isinstance(read, dict) else {}), **flat} if flat else read
        data = read
        if not isinstance(data, dict) or not any(axis in data for axis in "xyz"):
            return data
        if "location" in data:
            raise ValueError("give either location or x/y/z, not both")
        missing = [axis for axis in "xyz" if axis not in data]
        if missing:
            raise ValueError(f"x, y and z must all be given, missing {', '.join(missing)}")
        packed = {key: value for key, value in data.items() if key not in ("x", "y", "z")}
        packed["location"] = {axis: data[axis] for axis in "xyz"}
        return packed

    @field_validator("transformation_")
    @classmethod
    def _check_transformation(cls, value: list[list[float]] | None) -> list[list[float]]:
        if value is None:
            raise InvalidTransformError("transformation_ may not be null; omit it for the identity")
        _checked_transform(value)
        return value

    @property
    def transformation(self) -> np.ndarray:
        """A copy of the 4x4 transformation as a float64 array.

        Raises (setter):
            InvalidTransformError: If the new matrix is not 4x4 with last row ``[0, 0, 0, 1]``.
        """
        return np.array(self.transformation_, dtype=np.float64)

    @transformation.setter
    def transformation(self, value: Any) -> None:
        self.transformation_ = _checked_transform(value).tolist()

    @property
    def x(self) -> float:
        """``location.x``; the setter rejects non-finite values."""
        return self.location.x

    @x.setter
    def x(self, value: float) -> None:
        self.location.x = _finite(value, "x")

    @property
    def y(self) -> float:
        """``location.y``; the setter rejects non-finite values."""
        return self.location.y

    @y.setter
    def y(self, value: float) -> None:
        self.location.y = _finite(value, "y")

    @property
    def z(self) -> float:
        """``location.z``; the setter rejects non-finite values."""
        return self.location.z

    @z.setter
    def z(self, value: float) -> None:
        self.location.z = _finite(value, "z")
