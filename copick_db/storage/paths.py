"""copick's directory layout: where each kind of bulk data lives, and what a name found there stands for.

The one module that knows copick's layout (``copick-filesystem-format.md`` §2, copick 1.31), both ways: the
``*_path`` functions build the relative POSIX path (a data store's key) of an entity's data, and the ``parse_*``
functions turn a directory or file name found in a copick project back into the entity's identity. Everything here is
pure: it builds or splits strings and does no I/O. A data root written by copick_db opens in copick and vice versa::

    ExperimentRuns/<run>/VoxelSpacing<vs:.3f>/<tomo_type>.zarr
    ExperimentRuns/<run>/VoxelSpacing<vs:.3f>/<tomo_type>_<feature_type>_features.zarr
    ExperimentRuns/<run>/Picks/<user>_<session>_<object>.json
    ExperimentRuns/<run>/Meshes/<user>_<session>_<object>.glb
    ExperimentRuns/<run>/Segmentations/<vs:.3f>_<user>_<session>_<name>[-multilabel].zarr
    ExperimentRuns/<run>/InstanceSegmentations/<vs:.3f>_<user>_<session>_<name>.zarr
    ExperimentRuns/<run>/PanopticSegmentations/<vs:.3f>_<user>_<session>_<name>.zarr
    ExperimentRuns/<run>/Filaments/<user>_<session>_<object>.json
    Objects/<name>.zarr

Design invariants:
    - No value can produce a path outside the data root: every name is checked with :func:`check_component`
      (no separators, no ``.``/``..``, no control characters) before it is joined, and :func:`resolve` rejects
      absolute or escaping relative paths before any I/O happens.
    - Voxel sizes appear in paths only through :func:`format_voxel_size` (``f"{v:.3f}"``), and
      :func:`voxel_key` is derived from that very string, so two sizes share a directory exactly when they share
      a key.
    - A name is parsed only if copick would list it *and* find it again under the same name: copick rebuilds
      every path from the parsed parts (``.3f`` voxel sizes, three ``_`` parts), so a name that does not survive
      that round trip (``VoxelSpacing10``, ``a_b_c_d.json``) is refused with the reason (:class:`SourceError`),
      never half-understood.
    - Every parsed part that becomes an identity (user, session, object, tomogram and feature types, segmentation
      names) follows copick's name rule (:func:`copick_db.models.names.validate_name`); run names only need to be a
      valid path component, as in copick (``TS_001`` is normal).
"""

from __future__ import annotations

import math
import numbers
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from copick_db.models.names import validate_name

__all__ = [
    "FEATURES_SUFFIX",
    "FILAMENTS_DIR",
    "INSTANCE_SEGMENTATIONS_DIR",
    "MESHES_DIR",
    "MULTILABEL_SUFFIX",
    "OBJECTS_DIR",
    "PANOPTIC_SEGMENTATIONS_DIR",
    "PICKS_DIR",
    "RUNS_DIR",
    "RUN_DATA_GLOBS",
    "SEGMENTATIONS_DIR",
    "SEGMENTATION_DIRECTORIES",
    "SEGMENTATION_DIRS",
    "VOXEL_SPACING_PREFIX",
    "OwnedName",
    "SegmentationName",
    "SourceError",
    "candidate_voxel_keys",
    "check_component",
    "features_path",
    "filaments_path",
    "format_voxel_size",
    "instance_segmentation_path",
    "is_hidden",
    "mesh_path",
    "object_path",
    "panoptic_segmentation_path",
    "parse_features_name",
    "parse_filaments_name",
    "parse_mesh_name",
    "parse_object_map_name",
    "parse_picks_name",
    "parse_run_name",
    "parse_segmentation_name",
    "parse_tomogram_name",
    "parse_voxel_spacing_dir",
    "picks_path",
    "resolve",
    "run_dir",
    "segmentation_directory",
    "segmentation_path",
    "tomogram_path",
    "typed_segmentation_path",
    "voxel_key",
    "voxel_spacing_dir",
]

# -- the names of copick's layout ----------------------------------------------------------------------------------

RUNS_DIR = "ExperimentRuns"
OBJECTS_DIR = "Objects"
PICKS_DIR = "Picks"
MESHES_DIR = "Meshes"
FILAMENTS_DIR = "Filaments"
SEGMENTATIONS_DIR = "Segmentations"
INSTANCE_SEGMENTATIONS_DIR = "InstanceSegmentations"
PANOPTIC_SEGMENTATIONS_DIR = "PanopticSegmentations"
VOXEL_SPACING_PREFIX = "VoxelSpacing"
FEATURES_SUFFIX = "_features.zarr"
MULTILABEL_SUFFIX = "-multilabel"

#: The run-level directory of each segmentation type; only ``Segmentations`` marks a type (multilabel) in the name.
SEGMENTATION_DIRECTORIES = {
    "binary": SEGMENTATIONS_DIR,
    "multilabel": SEGMENTATIONS_DIR,
    "instance": INSTANCE_SEGMENTATIONS_DIR,
    "panoptic": PANOPTIC_SEGMENTATIONS_DIR,
}
#: Run subdirectories holding segmentations, and the type each decides (None in ``Segmentations``: binary, or
#: multilabel when the name ends in ``-multilabel``).
SEGMENTATION_DIRS = {
    SEGMENTATIONS_DIR: None,
    INSTANCE_SEGMENTATIONS_DIR: "instance",
    PANOPTIC_SEGMENTATIONS_DIR: "panoptic",
}
#: Where a run directory keeps volumes and meshes (glob patterns relative to it); picks and filaments live in the
#: catalog, so their files are not data a store holds.
RUN_DATA_GLOBS = (
    f"{VOXEL_SPACING_PREFIX}*/*.zarr",
    *(f"{directory}/*.zarr" for directory in SEGMENTATION_DIRS),
    f"{MESHES_DIR}/*.glb",
)

#: Longest file-name component most filesystems accept (``NAME_MAX``), in UTF-8 bytes.
MAX_COMPONENT_BYTES = 255

_ALLOWED = (
    "a non-empty string of at most 255 UTF-8 bytes, other than '.' and '..', "
    "without '/', '\\\\', NUL or other control characters"
)


def format_voxel_size(voxel_size: float) -> str:
    """Format a voxel size the way copick names directories and segmentation prefixes.

    Args:
        voxel_size: Voxel size in Å; a positive, finite real number.

    Returns:
        ``f"{voxel_size:.3f}"``, e.g. ``"10.000"`` for 10 and ``"10.012"`` for 10.0125.

    Raises:
        ValueError: If ``voxel_size`` is not a finite real number, or is not positive once rounded to 3 decimals.
    """
    if isinstance(voxel_size, bool) or not isinstance(voxel_size, numbers.Real):
        raise ValueError(f"voxel size must be a real number in Å, got {voxel_size!r}")
    value = float(voxel_size)
    if not math.isfinite(value):
        raise ValueError(f"voxel size must be finite, got {voxel_size!r}")
    text = f"{value:.3f}"
    if value <= 0 or float(text) <= 0:
        raise ValueError(f"voxel size must be positive (at least 0.0005 Å so that it rounds to 0.001), got {value!r}")
    return text


def voxel_key(voxel_size: float) -> int:
    """The integer (thousandths of an Å) that :func:`format_voxel_size` denotes.

    Derived from the formatted string, so it agrees with the directory name exactly: 10.0125 formats as
    ``"10.012"`` and has key 10012.

    Args:
        voxel_size: Voxel size in Å.

    Returns:
        The voxel size in thousandths of an Å, as written in the path.

    Raises:
        ValueError: As :func:`format_voxel_size`.
    """
    return int(format_voxel_size(voxel_size).replace(".", ""))


def candidate_voxel_keys(voxel_sizes: Iterable[float]) -> tuple[int, ...]:
    """The keys a voxel size within the 1e-3 Å match tolerance of any of ``voxel_sizes`` can have, sorted.

    An indexed lookup selects these keys; comparing the stored sizes with the tolerance then decides.
    """
    return tuple(sorted({voxel_key(float(v)) + d for v in voxel_sizes for d in (-1, 0, 1)}))


def check_component(value: str, what: str) -> str:
    """Check that ``value`` can be used as one path component (a file or directory name).

    Args:
        value: The name to check.
        what: What the name is (e.g. ``"run name"``), used in the error message.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: If ``value`` is not a string, is empty, ``.`` or ``..``, contains ``/``, ``\\``, NUL or another
            control character, or is longer than 255 UTF-8 bytes.
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__} {value!r}; allowed: {_ALLOWED}")
    problem = None
    if value in ("", ".", ".."):
        problem = "is empty" if value == "" else "is a relative directory reference"
    elif "/" in value or "\\" in value:
        problem = "contains a path separator"
    elif any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        problem = "contains a NUL or control character"
    else:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            problem = "is not valid Unicode (lone surrogate)"
        else:
            if size > MAX_COMPONENT_BYTES:
                problem = f"is {size} UTF-8 bytes long"
    if problem is not None:
        raise ValueError(f"invalid {what} {value!r}: it {problem}; allowed: {_ALLOWED}")
    return value


def run_dir(run: str) -> str:
    """Directory of a run.

    Args:
        run: Run name.

    Returns:
        ``"ExperimentRuns/{run}"``.

    Raises:
        ValueError: If ``run`` is not a valid path component.
    """
    return f"{RUNS_DIR}/{check_component(run, 'run name')}"


def voxel_spacing_dir(run: str, voxel_size: float) -> str:
    """Directory of a voxel spacing.

    Args:
        run: Run name.
        voxel_size: Voxel size in Å.

    Returns:
        ``"ExperimentRuns/{run}/VoxelSpacing{voxel_size:.3f}"``.

    Raises:
        ValueError: If a name is not a valid path component, or the voxel size is invalid.
    """
    return f"{run_dir(run)}/{VOXEL_SPACING_PREFIX}{format_voxel_size(voxel_size)}"


def tomogram_path(run: str, voxel_size: float, tomo_type: str) -> str:
    """Zarr store of a tomogram.

    Args:
        run: Run name.
        voxel_size: Voxel size in Å.
        tomo_type: Tomogram type, e.g. ``"wbp"``.

    Returns:
        ``"ExperimentRuns/{run}/VoxelSpacing{vs}/{tomo_type}.zarr"``.

    Raises:
        ValueError: If a name is not a valid path component, or the voxel size is invalid.
    """
    return _join(voxel_spacing_dir(run, voxel_size), f"{check_component(tomo_type, 'tomogram type')}.zarr")


def features_path(run: str, voxel_size: float, tomo_type: str, feature_type: str) -> str:
    """Zarr store of a feature map.

    Args:
        run: Run name.
        voxel_size: Voxel size in Å.
        tomo_type: Type of the tomogram the features were computed from.
        feature_type: Feature type, e.g. ``"sobel"``.

    Returns:
        ``"ExperimentRuns/{run}/VoxelSpacing{vs}/{tomo_type}_{feature_type}_features.zarr"``.

    Raises:
        ValueError: If a name is not a valid path component, or the voxel size is invalid.
    """
    tomo = check_component(tomo_type, "tomogram type")
    feature = check_component(feature_type, "feature type")
    return _join(voxel_spacing_dir(run, voxel_size), f"{tomo}_{feature}{FEATURES_SUFFIX}")


def picks_path(run: str, user_id: str, session_id: str, object_name: str) -> str:
    """JSON file of a pick set.

    Args:
        run: Run name.
        user_id: User id.
        session_id: Session id.
        object_name: Name of the picked object.

    Returns:
        ``"ExperimentRuns/{run}/Picks/{user_id}_{session_id}_{object_name}.json"``.

    Raises:
        ValueError: If a name is not a valid path component.
    """
    return _join(f"{run_dir(run)}/{PICKS_DIR}", f"{_identity(user_id, session_id, object_name, 'object name')}.json")


def mesh_path(run: str, user_id: str, session_id: str, object_name: str) -> str:
    """GLB file of a mesh.

    Args:
        run: Run name.
        user_id: User id.
        session_id: Session id.
        object_name: Name of the meshed object.

    Returns:
        ``"ExperimentRuns/{run}/Meshes/{user_id}_{session_id}_{object_name}.glb"``.

    Raises:
        ValueError: If a name is not a valid path component.
    """
    return _join(f"{run_dir(run)}/{MESHES_DIR}", f"{_identity(user_id, session_id, object_name, 'object name')}.glb")


def segmentation_path(
    run: str, voxel_size: float, user_id: str, session_id: str, name: str, is_multilabel: bool
) -> str:
    """Zarr store of a segmentation.

    Args:
        run: Run name.
        voxel_size: Voxel size in Å.
        user_id: User id.
        session_id: Session id.
        name: Segmentation name (the object name for a single-label segmentation).
        is_multilabel: Whether the segmentation is multilabel (adds the ``-multilabel`` suffix).

    Returns:
        ``"ExperimentRuns/{run}/Segmentations/{vs:.3f}_{user_id}_{session_id}_{name}[-multilabel].zarr"``.

    Raises:
        ValueError: If a name is not a valid path component, or the voxel size is invalid.
    """
    suffix = MULTILABEL_SUFFIX if is_multilabel else ""
    stem = f"{format_voxel_size(voxel_size)}_{_identity(user_id, session_id, name, 'segmentation name')}{suffix}"
    return _join(f"{run_dir(run)}/{SEGMENTATIONS_DIR}", f"{stem}.zarr")


def object_path(name: str) -> str:
    """Zarr store of a pickable object's density map.

    Args:
        name: Object name.

    Returns:
        ``"Objects/{name}.zarr"``.

    Raises:
        ValueError: If ``name`` is not a valid path component.
    """
    return _join(OBJECTS_DIR, f"{check_component(name, 'object name')}.zarr")


def resolve(data_root: Path, relative: str) -> Path:
    """Turn a relative path from this module into an absolute path under ``data_root``.

    The check is lexical: ``..`` components are collapsed without looking at the disk, and symlinks are not
    followed (a symlinked run directory stays usable).

    Args:
        data_root: The project's data directory.
        relative: A relative POSIX path, such as one returned by :func:`tomogram_path`.

    Returns:
        The absolute path of ``relative`` under ``data_root``.

    Raises:
        ValueError: If ``relative`` is not a string, is absolute, contains NUL or a backslash, or its normalized form
            leaves ``data_root``.
    """
    if not isinstance(relative, str):
        raise ValueError(f"relative path must be a string, got {type(relative).__name__} {relative!r}")
    if "\x00" in relative or "\\" in relative:
        raise ValueError(f"relative path {relative!r} contains NUL or a backslash; use '/' separated names")
    if relative.startswith("/"):
        raise ValueError(f"path {relative!r} is absolute; expected a path relative to the data root")
    normalized = posixpath.normpath(relative) if relative else "."
    if normalized == ".." or normalized.startswith("../"):
        raise ValueError(f"path {relative!r} leaves the data root {str(data_root)!r}; '..' may not escape it")
    root = Path(os.path.abspath(data_root))
    return root if normalized == "." else root / normalized


def _identity(user_id: str, session_id: str, name: str, what: str) -> str:
    """``{user_id}_{session_id}_{name}`` with every part checked."""
    return "_".join(
        (check_component(user_id, "user id"), check_component(session_id, "session id"), check_component(name, what))
    )


def _join(directory: str, filename: str) -> str:
    """Join a checked directory and file name, checking the assembled file name's length too."""
    return f"{directory}/{check_component(filename, 'file name')}"


# -- copick 1.31: typed segmentations and filaments -----------------------------------------------------------------


def _typed_store(run: str, directory: str, voxel_size: float, user_id: str, session_id: str, name: str) -> str:
    stem = f"{format_voxel_size(voxel_size)}_{_identity(user_id, session_id, name, 'segmentation name')}"
    return _join(f"{run_dir(run)}/{directory}", f"{stem}.zarr")


def instance_segmentation_path(run: str, voxel_size: float, user_id: str, session_id: str, name: str) -> str:
    """Zarr store of an instance segmentation (the directory, not a suffix, records the type).

    Args:
        run: Run name.
        voxel_size: Voxel size in Å.
        user_id: User id.
        session_id: Session id.
        name: Name of the segmented object.

    Returns:
        ``"ExperimentRuns/{run}/InstanceSegmentations/{vs:.3f}_{user_id}_{session_id}_{name}.zarr"``.

    Raises:
        ValueError: If a name is not a valid path component, or the voxel size is invalid.
    """
    return _typed_store(run, SEGMENTATION_DIRECTORIES["instance"], voxel_size, user_id, session_id, name)


def panoptic_segmentation_path(run: str, voxel_size: float, user_id: str, session_id: str, name: str) -> str:
    """Zarr store of a panoptic segmentation (the directory, not a suffix, records the type).

    Args:
        run: Run name.
        voxel_size: Voxel size in Å.
        user_id: User id.
        session_id: Session id.
        name: Segmentation name.

    Returns:
        ``"ExperimentRuns/{run}/PanopticSegmentations/{vs:.3f}_{user_id}_{session_id}_{name}.zarr"``.

    Raises:
        ValueError: If a name is not a valid path component, or the voxel size is invalid.
    """
    return _typed_store(run, SEGMENTATION_DIRECTORIES["panoptic"], voxel_size, user_id, session_id, name)


def typed_segmentation_path(
    run: str,
    voxel_size: float,
    user_id: str,
    session_id: str,
    name: str,
    *,
    is_multilabel: bool = False,
    is_instance: bool = False,
    is_panoptic: bool = False,
) -> str:
    """Zarr store of a segmentation of any type: :func:`segmentation_path` for binary and multilabel, else
    :func:`instance_segmentation_path` or :func:`panoptic_segmentation_path`.

    Raises:
        ValueError: More than one type flag is set, a name is not a valid path component, or the voxel size is
            invalid.
    """
    if sum(map(bool, (is_multilabel, is_instance, is_panoptic))) > 1:
        raise ValueError("a segmentation has one type: set at most one of is_multilabel, is_instance, is_panoptic")
    if is_instance:
        return instance_segmentation_path(run, voxel_size, user_id, session_id, name)
    if is_panoptic:
        return panoptic_segmentation_path(run, voxel_size, user_id, session_id, name)
    return segmentation_path(run, voxel_size, user_id, session_id, name, bool(is_multilabel))


def filaments_path(run: str, user_id: str, session_id: str, object_name: str) -> str:
    """JSON file of a filament set in copick's layout (copick_db keeps the polylines in the catalog; this is where
    import and export find and write them).

    Args:
        run: Run name.
        user_id: User id.
        session_id: Session id.
        object_name: Name of the traced object.

    Returns:
        ``"ExperimentRuns/{run}/Filaments/{user_id}_{session_id}_{object_name}.json"``.

    Raises:
        ValueError: If a name is not a valid path component.
    """
    return _join(
        f"{run_dir(run)}/{FILAMENTS_DIR}", f"{_identity(user_id, session_id, object_name, 'object name')}.json"
    )


def segmentation_directory(segmentation_type: str) -> str:
    """The run-level directory copick keeps a segmentation type in (``"binary"``, ``"multilabel"``, ...).

    Raises:
        KeyError: Unknown type.
    """
    return SEGMENTATION_DIRECTORIES[segmentation_type]


# -- parsing: names found in a copick project, back to identities ---------------------------------------------------


class SourceError(ValueError):
    """Why a file or directory of a copick project cannot be read as an entity (the message is the reason)."""


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
