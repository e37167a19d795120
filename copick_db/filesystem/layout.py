"""copick's directory and file names, parsed into entity identities. Pure functions: no I/O.

The names follow ``copick-filesystem-format.md`` §2 (copick 1.31):

    ExperimentRuns/<run>/VoxelSpacing<vs:.3f>/<tomo_type>.zarr
    ExperimentRuns/<run>/VoxelSpacing<vs:.3f>/<tomo_type>_<feature_type>_features.zarr
    ExperimentRuns/<run>/Picks/<user>_<session>_<object>.json
    ExperimentRuns/<run>/Meshes/<user>_<session>_<object>.glb
    ExperimentRuns/<run>/Segmentations/<vs:.3f>_<user>_<session>_<name>[-multilabel].zarr
    ExperimentRuns/<run>/InstanceSegmentations/<vs:.3f>_<user>_<session>_<name>.zarr
    ExperimentRuns/<run>/PanopticSegmentations/<vs:.3f>_<user>_<session>_<name>.zarr
    ExperimentRuns/<run>/Filaments/<user>_<session>_<object>.json
    Objects/<object>.zarr

Design invariants:
    - A name is accepted only if copick would list it *and* find it again under the same name: copick rebuilds
      every path from the parsed parts (``.3f`` voxel sizes, three ``_`` parts), so a name that does not survive
      that round trip (``VoxelSpacing10``, ``a_b_c_d.json``) is refused with the reason, never half-understood.
    - Every part that becomes an identity (user, session, object, tomogram and feature types, segmentation names)
      follows copick's name rule (:func:`copick_db.models.names.validate_name`); run names only need to be a valid
      path component, as in copick (``TS_001`` is normal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from copick_db.models.names import validate_name
from copick_db.storage.paths import check_component, format_voxel_size

__all__ = [
    "FILAMENTS_DIR",
    "MESHES_DIR",
    "OBJECTS_DIR",
    "PICKS_DIR",
    "RUNS_DIR",
    "SEGMENTATIONS_DIR",
    "SEGMENTATION_DIRS",
    "VOXEL_SPACING_PREFIX",
    "OwnedName",
    "SegmentationName",
    "SourceError",
    "is_hidden",
    "parse_features_name",
    "parse_filaments_name",
    "parse_mesh_name",
    "parse_object_map_name",
    "parse_picks_name",
    "parse_run_name",
    "parse_segmentation_name",
    "parse_tomogram_name",
    "parse_voxel_spacing_dir",
]

RUNS_DIR = "ExperimentRuns"
OBJECTS_DIR = "Objects"
PICKS_DIR = "Picks"
MESHES_DIR = "Meshes"
SEGMENTATIONS_DIR = "Segmentations"
FILAMENTS_DIR = "Filaments"
VOXEL_SPACING_PREFIX = "VoxelSpacing"
FEATURES_SUFFIX = "_features.zarr"
MULTILABEL_SUFFIX = "-multilabel"

#: Run subdirectories holding segmentations, and the type each holds (``Segmentations``: binary, or multilabel
#: when the name ends in ``-multilabel``).
SEGMENTATION_DIRS = {"Segmentations": None, "InstanceSegmentations": "instance", "PanopticSegmentations": "panoptic"}


class SourceError(ValueError):
    """Why a file or directory of a copick project cannot be imported (the message is the reason)."""


@dataclass(frozen=True)
class OwnedName:
    """The identity in a picks or mesh file name: ``<user>_<session>_<object>``."""

    user_id: str
    session_id: str
    object_name: str


@dataclass(frozen=True)
class SegmentationName:
    """The identity of a segmentation store: its name ``<vs>_<user>_<session>_<name>[-multilabel]`` and type."""

    voxel_size: float
    user_id: str
    session_id: str
    name: str
    is_multilabel: bool
    is_instance: bool = False
    is_panoptic: bool = False

    @property
    def needs_object(self) -> bool:
        """Whether the name must be a pickable object (binary and instance segmentations, as in copick)."""
        return not (self.is_multilabel or self.is_panoptic)


def is_hidden(name: str) -> bool:
    """Whether copick skips an entry (a leading ``.``: markers, temporaries, trash)."""
    return name.startswith(".")


def parse_run_name(name: str) -> str:
    """A run directory's name, if it can name a run.

    Raises:
        SourceError: The name cannot be a path component (control characters, too long).
    """
    return _checked(check_component, name, "run name")


def parse_voxel_spacing_dir(name: str) -> float:
    """The voxel size (Å) of a ``VoxelSpacing<vs:.3f>`` directory.

    Raises:
        SourceError: The text after ``VoxelSpacing`` is not a positive number, or is not written with exactly
            three decimals (copick would list it but look for its tomograms elsewhere).
    """
    return _voxel_size(name[len(VOXEL_SPACING_PREFIX) :], f"{VOXEL_SPACING_PREFIX}{{size}}")


def parse_tomogram_name(name: str) -> str:
    """The tomogram type of a ``<tomo_type>.zarr`` store in a voxel spacing directory.

    Raises:
        SourceError: The type contains ``features`` (copick never lists such a tomogram) or breaks the name rule.
    """
    tomo_type = _strip(name, ".zarr")
    if "features" in tomo_type:
        raise SourceError(f"copick ignores tomogram stores whose type contains 'features' ({tomo_type!r})")
    return _valid(tomo_type, "tomogram type")


def parse_features_name(name: str) -> tuple[str, str]:
    """``(tomo_type, feature_type)`` of a ``<tomo_type>_<feature_type>_features.zarr`` store.

    Raises:
        SourceError: The stem does not split into exactly two ``_`` parts, or a part breaks the name rule.
    """
    parts = _strip(name, FEATURES_SUFFIX).split("_")
    if len(parts) != 2:
        raise SourceError(
            f"feature store names are <tomo_type>_<feature_type>_features.zarr; {name!r} has "
            f"{len(parts)} '_'-separated part(s) before '_features'"
        )
    return _valid(parts[0], "tomogram type"), _valid(parts[1], "feature type")


def parse_picks_name(name: str) -> OwnedName:
    """The identity of a ``<user>_<session>_<object>.json`` picks file.

    Raises:
        SourceError: The stem does not have exactly three ``_`` parts, or a part breaks the name rule.
    """
    return _owned(_strip(name, ".json"), name)


def parse_mesh_name(name: str) -> OwnedName:
    """The identity of a ``<user>_<session>_<object>.glb`` mesh file.

    Raises:
        SourceError: As :func:`parse_picks_name`.
    """
    return _owned(_strip(name, ".glb"), name)


def parse_filaments_name(name: str) -> OwnedName:
    """The identity of a ``<user>_<session>_<object>.json`` filaments file.

    Raises:
        SourceError: As :func:`parse_picks_name`.
    """
    return _owned(_strip(name, ".json"), name)


def parse_segmentation_name(name: str, directory: str = SEGMENTATIONS_DIR) -> SegmentationName:
    """The identity of a ``<vs:.3f>_<user>_<session>_<name>[-multilabel].zarr`` segmentation store.

    Args:
        name: The store's name.
        directory: The run directory it is in (:data:`SEGMENTATION_DIRS`), which decides its type except in
            ``Segmentations``, where the ``-multilabel`` suffix does.

    Raises:
        SourceError: Fewer than four ``_`` parts, a voxel size prefix that is not a ``.3f`` number, a name with
            ``_`` in it, or a part that breaks the name rule.
    """
    parts = _strip(name, ".zarr").split("_", 3)
    if len(parts) != 4:
        raise SourceError(
            f"segmentation store names are <voxel size>_<user>_<session>_<name>.zarr; {name!r} has "
            f"{len(parts)} '_'-separated part(s)"
        )
    voxel_size = _voxel_size(parts[0], "{size}_<user>_<session>_<name>.zarr")
    seg_name = parts[3]
    kind = SEGMENTATION_DIRS[directory]
    multilabel = kind is None and seg_name.endswith(MULTILABEL_SUFFIX)
    if multilabel:
        seg_name = seg_name[: -len(MULTILABEL_SUFFIX)]
    if "_" in seg_name:
        raise SourceError(f"segmentation name {seg_name!r} contains '_', which copick uses to separate name parts")
    return SegmentationName(
        voxel_size,
        _valid(parts[1], "user id"),
        _valid(parts[2], "session id"),
        _valid(seg_name, "segmentation name"),
        multilabel,
        kind == "instance",
        kind == "panoptic",
    )


def parse_object_map_name(name: str) -> str:
    """The object name of an ``Objects/<object>.zarr`` density map.

    Raises:
        SourceError: The name breaks the name rule.
    """
    return _valid(_strip(name, ".zarr"), "object name")


# -- helpers -----------------------------------------------------------------------------------------------------


def _strip(name: str, suffix: str) -> str:
    if not name.endswith(suffix):
        raise SourceError(f"{name!r} does not end with {suffix!r}")
    return name[: -len(suffix)]


def _owned(stem: str, name: str) -> OwnedName:
    parts = stem.split("_")
    if len(parts) != 3:
        problem = "fewer" if len(parts) < 3 else "more"
        raise SourceError(
            f"file names are <user>_<session>_<object>; {name!r} has {problem} than three '_'-separated parts "
            "(copick would mis-read it)"
        )
    return OwnedName(_valid(parts[0], "user id"), _valid(parts[1], "session id"), _valid(parts[2], "object name"))


def _voxel_size(text: str, pattern: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SourceError(f"{text!r} is not a voxel size (a number of Å)") from None
    if not math.isfinite(value) or value <= 0:
        raise SourceError(f"voxel size {text!r} is not a positive finite number")
    try:
        canonical = format_voxel_size(value)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    if canonical != text:
        raise SourceError(
            f"voxel size {text!r} is not written with three decimals; copick would look for "
            f"{pattern.format(size=canonical)!r} instead (rename it to that)"
        )
    return value


def _valid(value: str, what: str) -> str:
    return _checked(validate_name, value, what)


def _checked(check: object, value: str, what: str) -> str:
    try:
        return check(value, what)  # type: ignore[operator]
    except ValueError as exc:
        raise SourceError(str(exc)) from None
