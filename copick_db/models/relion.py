"""RELION particle tables for pick sets: ``picks.df(format="relion")`` and ``picks.from_df(df, format="relion")``.

The tables are pandas DataFrames with RELION 4/5 tomography STAR columns, as copick 1.31 writes and reads them:

- **Positions.** A particle sits at its pick's location plus the translation of the pick's transform. RELION 5's
  ``rlnCenteredCoordinate{X,Y,Z}Angst`` are in Å from the tomogram centre (level-0 shape / 2 × voxel size, x y z);
  ``rlnCoordinate{X,Y,Z}`` are in tilt-series pixels, or, when neither the centre nor the tilt-series pixel size is
  known, in pixels of the run's smallest voxel spacing (what copick wrote before RELION 5; a warning is logged).
- **Orientations.** ``rlnAngle{Rot,Tilt,Psi}`` are intrinsic ZYZ Euler angles in degrees of the *inverse* of the
  pick's object-to-tomogram rotation, since RELION's Euler matrix maps tomogram to particle. Reading composes
  ``rlnTomoSubtomogram{Rot,Tilt,Psi}`` (when present) with them, and subtracts the rotated
  ``rlnOrigin{X,Y,Z}Angst`` shifts from the coordinates; stored transforms then have zero translation.
- **Filaments.** With filament columns, the pick's instance id is ``rlnHelicalTubeID``, ``rlnHelicalTrackLengthAngst``
  is the distance along the filament in point order, and the angles follow RELION's filament convention.

The conversion functions take and return arrays and know nothing of catalogs or zarr stores. The few functions that
take a pick set or a run (:func:`picks_to_df`, :func:`arrays_from_df`, :func:`run_tomogram_center`) only ask the
public API for what copick asks it: the points, the run's voxel spacings and its tomograms' sizes.

pandas is an optional dependency (``pip install 'copick-db[pandas]'``) imported only when a table is built or read.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from copick_db.models.annotations import CopickPicks
    from copick_db.models.run import CopickRun
    from copick_db.models.tomogram import CopickTomogram

logger = logging.getLogger(__name__)

#: The data-frame formats ``picks.df()`` and ``picks.from_df()`` understand.
SUPPORTED_FORMATS = ("relion",)
#: ``coordinates=``: ``"auto"`` writes whatever coordinates are known; ``"centered"`` only centred ones.
COORDINATE_MODES = ("auto", "centered")
#: ``filament_angles=``: RELION's filament ``"frame"`` convention, or each pick's own rotation (``"pose"``).
FILAMENT_ANGLE_MODES = ("frame", "pose")
#: ``half_sets=``: none, or ``rlnRandomSubset`` assigned by whole filament.
HALF_SET_MODES = (None, "filament")
#: ``relion_version=``: force centred (``"relion5"``) or pixel (``"relion4"``) coordinates; None picks by columns.
RELION_VERSIONS = (None, "relion4", "relion5")

CENTERED_COLUMNS = ["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]
PIXEL_COLUMNS = ["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]
ANGLE_COLUMNS = ["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]
SUBTOMOGRAM_ANGLE_COLUMNS = ["rlnTomoSubtomogramRot", "rlnTomoSubtomogramTilt", "rlnTomoSubtomogramPsi"]
ORIGIN_COLUMNS = ["rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst"]

#: +90° about y. RELION stores a filament particle's frame pre-rotated by it in ``rlnTomoSubtomogram*`` and gives the
#: particle angles (0, 90, 0), so that their product is the frame with the filament axis along z.
_RY90 = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
#: Below this angle (radians) from 0 or 180°, the tilt is in gimbal lock and psi is set to 0 (as scipy does).
_GIMBAL_EPS = 1e-7


class RelionPixelSizeError(ValueError):
    """``rlnCoordinate{X,Y,Z}`` cannot be converted to Å: no pixel size is known."""


class RelionTomogramCenterError(ValueError):
    """Centred coordinates must be used, but the tomogram centre is unknown."""


# -- entry checks ---------------------------------------------------------------------------------------------------


def check_format(format: str) -> None:
    """Refuse data-frame formats other than RELION.

    Raises:
        ValueError: ``format`` is not one of :data:`SUPPORTED_FORMATS`.
    """
    if format not in SUPPORTED_FORMATS:
        supported = ", ".join(repr(f) for f in SUPPORTED_FORMATS)
        raise ValueError(f"Format {format!r} is not supported; supported formats: {supported}.")


def import_pandas() -> Any:
    """Import pandas, which copick_db needs only for data frames.

    Raises:
        ImportError: pandas is not installed; the message says how to install it.
    """
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            "Data frames of picks need pandas, which is not installed: pip install 'copick-db[pandas]'"
        ) from exc
    return pandas


# -- rotations and RELION Euler angles ------------------------------------------------------------------------------


def _quaternions(rotations: np.ndarray) -> np.ndarray:
    """Unit quaternions (x, y, z, w) of orthogonal (N, 3, 3) matrices, by Markley's well-conditioned branch choice."""
    m = rotations
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    branch = np.argmax(np.stack([m[:, 0, 0], m[:, 1, 1], m[:, 2, 2], trace], axis=1), axis=1)
    q = np.empty((len(m), 4))
    for i in range(3):  # the largest diagonal element: that component of the quaternion is the largest
        rows = branch == i
        j, k = (i + 1) % 3, (i + 2) % 3
        mi = m[rows]
        q[rows, i] = 1.0 - trace[rows] + 2.0 * mi[:, i, i]
        q[rows, j] = mi[:, j, i] + mi[:, i, j]
        q[rows, k] = mi[:, k, i] + mi[:, i, k]
        q[rows, 3] = mi[:, k, j] - mi[:, j, k]
    rows = branch == 3
    mi = m[rows]
    q[rows, 0] = mi[:, 2, 1] - mi[:, 1, 2]
    q[rows, 1] = mi[:, 0, 2] - mi[:, 2, 0]
    q[rows, 2] = mi[:, 1, 0] - mi[:, 0, 1]
    q[rows, 3] = 1.0 + trace[rows]
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _intrinsic_zyz(q: np.ndarray) -> np.ndarray:
    """Intrinsic ZYZ Euler angles (radians, each in [-π, π]) of quaternions (x, y, z, w).

    The angles come from the quaternion directly (Bernardes and Viollet, 2022), which is what scipy's
    ``Rotation.as_euler("ZYZ")`` does, so the gimbal-lock cases resolve the same way: the tilt within 1e-7 rad of 0 or
    π leaves psi undetermined, and psi is then 0 with the whole in-plane rotation in rot.
    """
    a, b, c, d = q[:, 3], q[:, 2], q[:, 1], -q[:, 0]
    half_sum, half_diff = np.arctan2(b, a), np.arctan2(d, c)
    tilt = 2.0 * np.arctan2(np.hypot(c, d), np.hypot(a, b))
    flat, flipped = np.abs(tilt) <= _GIMBAL_EPS, np.abs(tilt - np.pi) <= _GIMBAL_EPS
    regular = ~(flat | flipped)
    rot = np.where(regular, half_sum + half_diff, np.where(flat, 2.0 * half_sum, 2.0 * half_diff))
    psi = np.where(regular, half_sum - half_diff, 0.0)
    angles = np.stack([rot, tilt, psi], axis=1)
    # Into [-π, π] by one turn at most, as scipy's compiled backend does (so an exact 180° stays +180°).
    return np.where(angles < -np.pi, angles + 2.0 * np.pi, np.where(angles > np.pi, angles - 2.0 * np.pi, angles))


def relion_angles(rotations: Any) -> np.ndarray:
    """RELION Euler angles (rot, tilt, psi) in degrees of object-to-tomogram rotations.

    The angles are the intrinsic ZYZ angles of each rotation's inverse (RELION's matrix maps tomogram to particle).
    Rotations within ``np.allclose`` of the identity get exactly (0, 0, 0). A matrix that is orthogonal only
    approximately is first replaced by the nearest rotation (orthogonal Procrustes); one that is not a rotation at all
    (determinant <= 0, e.g. a reflection) gets (0, 0, 0), and how many there were is logged, as copick does.

    Args:
        rotations: (N, 3, 3) matrices.

    Returns:
        float64 (N, 3).
    """
    rotations = np.asarray(rotations, dtype=np.float64).reshape(-1, 3, 3)
    eulers = np.zeros((len(rotations), 3))
    identity = np.isclose(rotations, np.eye(3)).all(axis=(1, 2))  # np.allclose per matrix, as copick tests it
    proper = np.linalg.det(rotations) > 0 if len(rotations) else np.zeros(0, dtype=bool)
    invalid = int(np.count_nonzero(~proper & ~identity))
    todo = proper & ~identity
    if todo.any():
        matrices = rotations[todo].copy()
        gram = matrices @ np.swapaxes(matrices, 1, 2)
        skewed = ~np.isclose(gram, np.eye(3), atol=1e-12).all(axis=(1, 2))
        if skewed.any():
            u, _, vt = np.linalg.svd(matrices[skewed])
            matrices[skewed] = u @ vt
        inverse = _quaternions(matrices) * np.array([-1.0, -1.0, -1.0, 1.0])  # conjugate = inverse rotation
        eulers[todo] = np.rad2deg(_intrinsic_zyz(inverse))
    if invalid:
        logger.warning(
            f"{invalid} of {len(rotations)} transforms are not rotations; their RELION angles are written as 0."
        )
    return eulers


def rotations_from_angles(angles: Any) -> np.ndarray:
    """Object-to-tomogram rotations (N, 3, 3) from RELION Euler angles (rot, tilt, psi) in degrees.

    The inverse of :func:`relion_angles`: the transpose of Rz(rot) · Ry(tilt) · Rz(psi).
    """
    rot, tilt, psi = np.deg2rad(np.asarray(angles, dtype=np.float64).reshape(-1, 3)).T
    return np.swapaxes(_rz(rot) @ _ry(tilt) @ _rz(psi), 1, 2)


def _rz(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((len(angle), 3, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1], out[:, 2, 2] = c, -s, s, c, 1.0
    return out


def _ry(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((len(angle), 3, 3))
    out[:, 0, 0], out[:, 0, 2], out[:, 2, 0], out[:, 2, 2], out[:, 1, 1] = c, s, -s, c, 1.0
    return out


def normalized_transforms(transforms: Any) -> np.ndarray:
    """(N, 4, 4) transforms divided by their homogeneous coordinate, as copick does before converting them.

    Raises:
        NotImplementedError: A last row has perspective terms (non-zero x, y or z).
        ValueError: A homogeneous coordinate is (about) 0.
    """
    transforms = np.asarray(transforms, dtype=np.float64)
    if transforms.ndim != 3 or transforms.shape[1:] != (4, 4):
        raise ValueError(f"transforms must have shape (N, 4, 4); got {transforms.shape}")
    bottom = transforms[:, 3, :]
    perspective = np.flatnonzero(np.any(np.abs(bottom[:, :3]) > 1e-8, axis=1))
    if len(perspective):
        raise NotImplementedError(f"Perspective terms present in bottom row for indices {perspective.tolist()}.")
    degenerate = np.flatnonzero(np.abs(bottom[:, 3]) <= 1e-8)
    if len(degenerate):
        raise ValueError(f"Invalid bottom row (w≈0) for indices {degenerate.tolist()}.")
    return transforms / bottom[:, 3][:, None, None]


# -- filaments ------------------------------------------------------------------------------------------------------


def filament_frame_angles(rotations: Any) -> dict[str, np.ndarray]:
    """RELION's filament columns for rotations whose +z axis is the filament axis.

    The frame, pre-rotated by Ry(90°), goes to ``rlnTomoSubtomogram{Rot,Tilt,Psi}``; the particle angles are
    (0, 90, 0) with tilt prior 90 and psi prior 0, so that refinement searches around in-plane particles.
    """
    rotations = np.asarray(rotations, dtype=np.float64).reshape(-1, 3, 3)
    n = len(rotations)
    frame = relion_angles(rotations @ _RY90)
    return {
        "rlnTomoSubtomogramRot": frame[:, 0],
        "rlnTomoSubtomogramTilt": frame[:, 1],
        "rlnTomoSubtomogramPsi": frame[:, 2],
        "rlnAngleRot": np.zeros(n),
        "rlnAngleTilt": np.full(n, 90.0),
        "rlnAnglePsi": np.zeros(n),
        "rlnAngleTiltPrior": np.full(n, 90.0),
        "rlnAnglePsiPrior": np.zeros(n),
    }


def filament_track_lengths(positions: Any, instance_ids: Any) -> np.ndarray:
    """Distance in Å along each filament in point order (``rlnHelicalTrackLengthAngst``): 0 at its first point."""
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    instance_ids = np.asarray(instance_ids)
    lengths = np.zeros(len(positions))
    for filament_id in np.unique(instance_ids):
        index = np.flatnonzero(instance_ids == filament_id)
        lengths[index[1:]] = np.cumsum(np.linalg.norm(np.diff(positions[index], axis=0), axis=1))
    return lengths


def filament_half_sets(df: pd.DataFrame) -> np.ndarray:
    """``rlnRandomSubset`` (1 or 2) per row, one half per whole filament (rlnTomoName, rlnHelicalTubeID).

    A per-particle split would put overlapping particles of one filament in both halves and inflate the FSC. Filaments
    are taken by descending particle count, then tomogram name and tube id, each to the half with fewer particles so
    far (half 1 on a tie), so the result does not depend on row order.

    Raises:
        ValueError: The table has rows but no ``rlnHelicalTubeID``.
    """
    n = len(df)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if "rlnHelicalTubeID" not in df.columns:
        raise ValueError(
            f"Half sets by filament are keyed by rlnHelicalTubeID, which these {n} particles do not have: they are "
            "written without filament columns. Export them with filament=True, or without half_sets='filament'."
        )
    names = df["rlnTomoName"].astype(str).tolist() if "rlnTomoName" in df.columns else [""] * n
    keys = list(zip(names, df["rlnHelicalTubeID"].astype(np.int64).tolist(), strict=True))
    counts: dict[tuple[str, int], int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    load = {1: 0, 2: 0}
    half: dict[tuple[str, int], int] = {}
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        half[key] = 1 if load[1] <= load[2] else 2
        load[half[key]] += count
    return np.array([half[key] for key in keys], dtype=np.int64)


def order_filament_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted (stably) by (rlnTomoName,) rlnHelicalTubeID, rlnHelicalTrackLengthAngst when the table has both
    filament columns, so each filament's points are contiguous and in order along it; otherwise ``df`` itself."""
    keys = [key for key in ("rlnHelicalTubeID", "rlnHelicalTrackLengthAngst") if key in df.columns]
    if len(keys) < 2:
        return df
    if "rlnTomoName" in df.columns:
        keys = ["rlnTomoName", *keys]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


# -- arrays to a table ----------------------------------------------------------------------------------------------


def relion_particles_df(
    positions: Any,
    transforms: Any,
    *,
    tomo_name: str | None = None,
    tomogram_center: Sequence[float] | None = None,
    tilt_series_pixel_size: float | None = None,
    legacy_voxel_size: float | None = None,
    instance_ids: Any = None,
    filament: bool = False,
    polarity_known: Any = False,
    coordinates: str = "auto",
    filament_angles: str = "frame",
    half_sets: str | None = None,
) -> pd.DataFrame:
    """A RELION particle table for picks given as arrays.

    Columns, in order: ``rlnTomoName`` (when ``tomo_name`` is given); ``rlnCoordinate{X,Y,Z}`` in tilt-series pixels
    when ``tilt_series_pixel_size`` is given, or in pixels of ``legacy_voxel_size`` when neither it nor the centre is
    known (with a logged warning); the angles; the filament columns; ``rlnCenteredCoordinate{X,Y,Z}Angst`` when
    ``tomogram_center`` is given; ``rlnRandomSubset`` with ``half_sets="filament"``.

    Args:
        positions: (N, 3) pick locations in Å.
        transforms: (N, 4, 4) transforms; each particle is at its location plus the transform's translation.
        tomo_name: Written as ``rlnTomoName``.
        tomogram_center: The tomogram centre (x, y, z) in Å.
        tilt_series_pixel_size: Tilt-series pixel size in Å.
        legacy_voxel_size: Voxel size for pixel coordinates when nothing better is known.
        instance_ids: (N,) instance ids; the filament ids with ``filament``.
        filament: Write RELION's filament columns: ``rlnHelicalTubeID``, ``rlnHelicalTrackLengthAngst``,
            ``rlnAnglePsiFlipRatio``, and (with ``filament_angles="frame"``) the filament angle convention.
        polarity_known: With ``filament``: whether the point order follows the filament's polarity, for all rows (a
            bool) or per row (N,). ``rlnAnglePsiFlipRatio`` is 0 where it does and 0.5 elsewhere.
        coordinates: ``"auto"``, or ``"centered"`` for centred coordinates only (the centre is then required).
        filament_angles: ``"frame"`` or ``"pose"`` (each pick's own rotation as particle angles).
        half_sets: None, or ``"filament"`` for ``rlnRandomSubset`` by whole filament (needs ``filament``).

    Raises:
        ValueError: An unknown mode; ``coordinates="centered"`` without a centre; ``polarity_known`` of the wrong
            length; filament columns for picks without filament ids (>= 1); half sets without filament columns; or
            no way to write coordinates (no centre, no tilt-series pixel size, no voxel size).
        ImportError: pandas is missing.
    """
    pd = import_pandas()
    if coordinates not in COORDINATE_MODES:
        raise ValueError(f"coordinates must be one of {COORDINATE_MODES}, not {coordinates!r}")
    if filament_angles not in FILAMENT_ANGLE_MODES:
        raise ValueError(f"filament_angles must be one of {FILAMENT_ANGLE_MODES}, not {filament_angles!r}")
    if half_sets not in HALF_SET_MODES:
        raise ValueError(f"half_sets must be one of {HALF_SET_MODES}, not {half_sets!r}")
    where = f" in {tomo_name}" if tomo_name else ""
    if coordinates == "centered":
        if tomogram_center is None:
            raise ValueError(
                f"No tomogram center{where.replace(' in ', ' for ')}: centered RELION coordinates need one."
            )
        tilt_series_pixel_size = None

    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    transforms = np.asarray(transforms, dtype=np.float64).reshape(-1, 4, 4)
    n = len(positions)
    centres = positions + transforms[:, :3, 3]
    known = np.asarray(polarity_known, dtype=bool)
    if known.ndim > 1 or (known.ndim == 1 and known.shape[0] != n):
        raise ValueError(f"polarity_known has shape {known.shape}; expected a bool or one value per pick ({n}).")
    if filament and (instance_ids is None or (n and np.min(instance_ids) < 1)):
        unassigned = n if instance_ids is None else int(np.sum(np.asarray(instance_ids) < 1))
        raise ValueError(
            f"{unassigned} of {n} picks{where} have no filament ID (instance_id < 1); rlnHelicalTubeID starts at 1. "
            "Assign filament IDs, or export without filament columns."
        )
    if filament and filament_angles == "frame":
        angle_columns = filament_frame_angles(transforms[:, :3, :3])
    else:
        eulers = relion_angles(transforms[:, :3, :3])
        angle_columns = dict(zip(ANGLE_COLUMNS, eulers.T, strict=True))

    data: dict[str, Any] = {}
    if tomo_name is not None:
        data["rlnTomoName"] = [tomo_name] * n
    if tilt_series_pixel_size is not None:
        pixels = centres / float(tilt_series_pixel_size)
    elif tomogram_center is None:
        if legacy_voxel_size is None:
            raise ValueError(
                "Cannot write RELION coordinates: need the tomogram centre (for centred coordinates) or the "
                "tilt-series pixel size. Pass tomogram_center= or tilt_series_pixel_size=, or add a tomogram to the "
                "run."
            )
        logger.warning(
            f"Writing rlnCoordinateX/Y/Z in pixels of a tomogram at {legacy_voxel_size} Å"
            f"{f' ({tomo_name})' if tomo_name else ''}: neither the tomogram centre nor the tilt-series pixel size is "
            "known. RELION would read these as tilt-series pixels; pass tilt_series_pixel_size= for RELION."
        )
        pixels = centres / float(legacy_voxel_size)
    else:
        pixels = None
    if pixels is not None:
        data.update(zip(PIXEL_COLUMNS, pixels.T, strict=True))
    data.update(angle_columns)
    if filament:
        ids = np.asarray(instance_ids, dtype=np.int64)
        data["rlnHelicalTubeID"] = ids
        data["rlnHelicalTrackLengthAngst"] = filament_track_lengths(centres, ids)
        data["rlnAnglePsiFlipRatio"] = np.where(np.broadcast_to(known, (n,)), 0.0, 0.5)
    if tomogram_center is not None:
        centred = centres - np.asarray(tomogram_center, dtype=np.float64)
        data.update(zip(CENTERED_COLUMNS, centred.T, strict=True))
    df = pd.DataFrame(data)
    if half_sets == "filament":
        df["rlnRandomSubset"] = filament_half_sets(df)
    return df


# -- a table to arrays ----------------------------------------------------------------------------------------------


def tilt_series_pixel_sizes(df: pd.DataFrame, optics: pd.DataFrame | None) -> np.ndarray | None:
    """Per-row tilt-series pixel size in Å from a STAR file's optics table, or None if it states none.

    One optics group applies to every row; with several, rows name theirs by ``rlnOpticsGroup`` or
    ``rlnOpticsGroupName``.

    Raises:
        ValueError: Several groups and rows that do not say which is theirs, or name a missing one.
    """
    if optics is None or len(optics) == 0 or "rlnTomoTiltSeriesPixelSize" not in optics.columns:
        return None
    sizes = optics["rlnTomoTiltSeriesPixelSize"].astype(float)
    if len(optics) == 1:
        return np.full(len(df), float(sizes.iloc[0]))
    for key in ("rlnOpticsGroup", "rlnOpticsGroupName"):
        if key in df.columns and key in optics.columns:
            values = df[key].map(dict(zip(optics[key], sizes, strict=True)))
            if values.isna().any():
                raise ValueError(
                    f"Some particles refer to optics groups ({key}) that are missing from the optics table."
                )
            return values.to_numpy(dtype=float)
    raise ValueError("The optics table has several groups but the particles do not say which group they belong to.")


def relion_coordinates(
    df: pd.DataFrame,
    *,
    tomogram_center: Sequence[float] | None = None,
    tilt_series_pixel_size: float | None = None,
    optics: pd.DataFrame | None = None,
    voxel_size: float | None = None,
    relion_version: str | None = None,
) -> np.ndarray:
    """Particle coordinates (N, 3) in Å from the origin corner of the tomogram; shifts are not applied here.

    The first rule that applies: (1) centred coordinates plus ``tomogram_center``; (2) ``rlnCoordinate{X,Y,Z}`` times
    the tilt-series pixel size (``tilt_series_pixel_size``, else the optics table); (3) ``rlnCoordinate{X,Y,Z}`` times
    ``voxel_size``, with a logged warning. ``relion_version="relion5"`` allows only rule 1, ``"relion4"`` only 2 and 3.

    Raises:
        ValueError: Unknown ``relion_version``, or the columns the rules need are missing.
        RelionTomogramCenterError: Centred coordinates must be used and ``tomogram_center`` is None.
        RelionPixelSizeError: Rule 3 is needed and ``voxel_size`` is None.
    """
    if relion_version not in RELION_VERSIONS:
        raise ValueError(f"Unknown RELION version {relion_version!r}; expected 'relion4' or 'relion5'.")
    has_centered = set(CENTERED_COLUMNS).issubset(df.columns)
    has_pixels = set(PIXEL_COLUMNS).issubset(df.columns)
    if has_centered and relion_version != "relion4":
        if tomogram_center is not None:
            return df[CENTERED_COLUMNS].to_numpy(dtype=float) + np.asarray(tomogram_center, dtype=float)
        if relion_version == "relion5" or not has_pixels:
            raise RelionTomogramCenterError(
                "RELION 5 centred coordinates need the tomogram centre: pass tomogram_center=(x, y, z) in Å, or add "
                "the run's tomogram to the project (its size gives the centre)."
            )
    elif relion_version == "relion5":
        raise ValueError("The table must contain rlnCenteredCoordinateXAngst/YAngst/ZAngst columns for RELION 5.")
    if not has_pixels:
        raise ValueError("The table must contain rlnCoordinateX, rlnCoordinateY, rlnCoordinateZ columns.")
    pixels = df[PIXEL_COLUMNS].to_numpy(dtype=float)
    if tilt_series_pixel_size is not None:
        return pixels * float(tilt_series_pixel_size)
    sizes = tilt_series_pixel_sizes(df, optics)
    if sizes is not None:
        return pixels * sizes[:, None]
    if voxel_size is None:
        raise RelionPixelSizeError(
            "rlnCoordinateX/Y/Z need a pixel size and none is known: pass tilt_series_pixel_size=, or optics= with "
            "rlnTomoTiltSeriesPixelSize, or add a voxel spacing to the run (its voxel size is then used)."
        )
    logger.warning(
        f"Reading rlnCoordinateX/Y/Z as pixels of a tomogram at {voxel_size} Å: no tilt-series pixel size is known. "
        "RELION 4/5 tomography tables use tilt-series pixels; pass tilt_series_pixel_size= if that is the case."
    )
    return pixels * float(voxel_size)


def relion_poses(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Object-to-tomogram rotations (N, 3, 3) and shifts (N, 3) in Å of RELION tomography particles.

    RELION orients a particle by A_subtomogram · A_particle (``rlnTomoSubtomogram*`` then ``rlnAngle*``) and places it
    at its coordinate minus A_subtomogram · ``rlnOrigin{X,Y,Z}Angst``. A missing column triple counts as zero angles
    or zero shifts.
    """
    n = len(df)
    subtomogram = np.tile(np.eye(3), (n, 1, 1))
    if set(SUBTOMOGRAM_ANGLE_COLUMNS).issubset(df.columns):
        subtomogram = rotations_from_angles(df[SUBTOMOGRAM_ANGLE_COLUMNS].to_numpy(dtype=float))
    particle = np.tile(np.eye(3), (n, 1, 1))
    if set(ANGLE_COLUMNS).issubset(df.columns):
        particle = rotations_from_angles(df[ANGLE_COLUMNS].to_numpy(dtype=float))
    origins = np.zeros((n, 3))
    if set(ORIGIN_COLUMNS).issubset(df.columns):
        origins = df[ORIGIN_COLUMNS].to_numpy(dtype=float)
    return subtomogram @ particle, np.einsum("nij,nj->ni", subtomogram, origins)


def check_relion_columns(df: Any) -> None:
    """Refuse anything but a data frame with a full set of RELION coordinate columns.

    Raises:
        ValueError: ``df`` is not a data frame, or has neither all of ``rlnCenteredCoordinate{X,Y,Z}Angst`` nor all of
            ``rlnCoordinate{X,Y,Z}``.
    """
    columns = getattr(df, "columns", None)
    if columns is None or not hasattr(df, "to_numpy"):
        raise ValueError(f"from_df needs a pandas DataFrame of RELION particles, not {type(df).__name__}.")
    if not set(CENTERED_COLUMNS).issubset(columns) and not set(PIXEL_COLUMNS).issubset(columns):
        raise ValueError(
            "DataFrame does not contain required RELION columns: it needs rlnCenteredCoordinateXAngst/YAngst/ZAngst "
            "(RELION 5) or rlnCoordinateX/Y/Z (RELION 4)."
        )


def relion_particles_arrays(
    df: pd.DataFrame,
    *,
    tomogram_center: Sequence[float] | None = None,
    tilt_series_pixel_size: float | None = None,
    optics: pd.DataFrame | None = None,
    voxel_size: float | None = None,
    relion_version: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Pick arrays from a RELION particle table: (locations (N, 3) Å, transforms (N, 4, 4), instance ids or None).

    Rows with filament columns are ordered along each filament first (:func:`order_filament_rows`). A location is the
    coordinate (:func:`relion_coordinates`) minus the rotated shift; a transform holds the rotation
    (:func:`relion_poses`) with zero translation. Instance ids are ``rlnHelicalTubeID``, None without it.

    Raises:
        ValueError: See :func:`check_relion_columns` and :func:`relion_coordinates`.
    """
    check_relion_columns(df)
    df = order_filament_rows(df)
    coords = relion_coordinates(
        df,
        tomogram_center=tomogram_center,
        tilt_series_pixel_size=tilt_series_pixel_size,
        optics=optics,
        voxel_size=voxel_size,
        relion_version=relion_version,
    )
    rotations, offsets = relion_poses(df)
    transforms = np.zeros((len(df), 4, 4))
    transforms[:, :3, :3] = rotations
    transforms[:, 3, 3] = 1.0
    ids = df["rlnHelicalTubeID"].to_numpy().astype(np.int64) if "rlnHelicalTubeID" in df.columns else None
    return coords - offsets, transforms, ids


# -- copick's defaults, looked up in the picks' run -----------------------------------------------------------------


def _tomogram_size(tomogram: CopickTomogram) -> tuple[int, int, int]:
    """(x, y, z) voxels of a tomogram's level 0: the catalog's record, else the store's (hand-written data)."""
    dims = getattr(tomogram.meta, "dimensions", None)
    if dims is not None:
        return tuple(int(v) for v in dims)  # type: ignore[return-value]
    shape = tomogram._level_shape("0")  # hand-written data whose size nobody recorded: its metadata says
    return int(shape[-1]), int(shape[-2]), int(shape[-3])


def _center(tomogram: CopickTomogram, voxel_size: float) -> tuple[float, float, float]:
    size_x, size_y, size_z = _tomogram_size(tomogram)
    return (size_x / 2 * voxel_size, size_y / 2 * voxel_size, size_z / 2 * voxel_size)


def _first_tomogram(voxel_spacing: Any, tomo_type: str | None) -> CopickTomogram | None:
    if voxel_spacing is None:
        return None
    return next((t for t in voxel_spacing.tomograms if tomo_type is None or t.tomo_type == tomo_type), None)


def run_tomogram_center(
    run: CopickRun, voxel_size: float | None = None, tomo_type: str | None = None
) -> tuple[float, float, float] | None:
    """The centre in Å (x, y, z) of the run's tomogram, as copick chooses it, or None when there is none.

    With ``tomo_type``: the first tomogram of that type at ``voxel_size`` (or at the smallest voxel spacing that has
    one). Without: the first tomogram at ``voxel_size`` if there is one there, else the first one at the smallest
    voxel spacing that has tomograms (warning when it had to choose among several spacings or tomograms).
    """
    if tomo_type is not None or voxel_size is not None:
        if voxel_size is None:
            candidates = [v for v in run.voxel_spacings if _first_tomogram(v, tomo_type) is not None]
            spacing = min(candidates, key=lambda v: v.voxel_size) if candidates else None
        else:
            spacing = run.get_voxel_spacing(voxel_size)
        tomogram = _first_tomogram(spacing, tomo_type)
        if tomogram is not None:
            return _center(tomogram, spacing.voxel_size)
        if tomo_type is not None:
            return None
    with_tomograms = [v for v in run.voxel_spacings if v.tomograms]
    if not with_tomograms:
        return None
    spacing = min(with_tomograms, key=lambda v: v.voxel_size)
    if len(with_tomograms) > 1:
        warnings.warn(
            f"Multiple voxel spacings with tomograms found, using the smallest ({spacing.voxel_size}) for converting "
            "the coordinates.",
            UserWarning,
            stacklevel=4,
        )
    tomograms = spacing.tomograms
    if len(tomograms) > 1:
        warnings.warn(
            f"Multiple tomograms for voxel spacing {spacing.voxel_size} found, using ({tomograms[0].tomo_type}) for "
            "converting the coordinates.",
            UserWarning,
            stacklevel=4,
        )
    return _center(tomograms[0], spacing.voxel_size)


def smallest_voxel_size(run: CopickRun) -> float | None:
    """The run's smallest voxel size, or None without voxel spacings (warning when there are several)."""
    spacings = run.voxel_spacings
    if not spacings:
        return None
    if len(spacings) > 1:
        warnings.warn(
            "Multiple voxel spacings found, using the smallest one for converting the coordinates.",
            UserWarning,
            stacklevel=4,
        )
    return min(v.voxel_size for v in spacings)


def _is_filament_export(picks: CopickPicks, filament: bool | str) -> bool:
    if isinstance(filament, bool):
        return filament
    if filament != "auto":
        raise ValueError(f"filament must be True, False or 'auto', not {filament!r}")
    obj = picks.run.root.get_object(picks.pickable_object_name)
    return bool(obj is not None and obj.is_filament)


def picks_to_df(
    picks: CopickPicks,
    *,
    voxel_spacing: float | None = None,
    tilt_series_pixel_size: float | None = None,
    tomogram_center: Sequence[float] | None = None,
    filament: bool | str = "auto",
    polarity_known: Any = False,
    tomo_type: str | None = None,
    coordinates: str = "auto",
    filament_angles: str = "frame",
    half_sets: str | None = None,
) -> pd.DataFrame:
    """A pick set's RELION table (the work of ``picks.df(format="relion", ...)``; keywords as copick 1.31's).

    The run name is ``rlnTomoName``. The centre is ``tomogram_center``, else that of the run's tomogram
    (:func:`run_tomogram_center` with ``voxel_spacing`` and ``tomo_type``). With neither a centre nor
    ``tilt_series_pixel_size`` (and ``coordinates="auto"``), coordinates are pixels of ``voxel_spacing`` or the run's
    smallest voxel size. ``filament="auto"`` writes filament columns for objects declared filaments. The rest is
    :func:`relion_particles_df`.
    """
    import_pandas()
    positions, transforms = picks.numpy()
    transforms = normalized_transforms(transforms)
    if tomogram_center is None:
        tomogram_center = run_tomogram_center(picks.run, voxel_spacing, tomo_type)
    legacy = None
    if tomogram_center is None and tilt_series_pixel_size is None and coordinates != "centered":
        legacy = voxel_spacing if voxel_spacing is not None else smallest_voxel_size(picks.run)
    return relion_particles_df(
        positions,
        transforms,
        tomo_name=picks.run.name,
        tomogram_center=tomogram_center,
        tilt_series_pixel_size=tilt_series_pixel_size,
        legacy_voxel_size=legacy,
        instance_ids=picks.instance_ids(),
        filament=_is_filament_export(picks, filament),
        polarity_known=polarity_known,
        coordinates=coordinates,
        filament_angles=filament_angles,
        half_sets=half_sets,
    )


def arrays_from_df(
    picks: CopickPicks,
    df: pd.DataFrame,
    *,
    optics: pd.DataFrame | None = None,
    tilt_series_pixel_size: float | None = None,
    tomogram_center: Sequence[float] | None = None,
    relion_version: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Pick arrays from a RELION table for ``picks`` (the work of ``picks.from_df(df, format="relion", ...)``).

    Every row is taken to belong to the picks' run. Centred coordinates use ``tomogram_center``, else the centre of
    the run's tomogram; pixel coordinates use ``tilt_series_pixel_size``, else the ``optics`` table's, else the run's
    smallest voxel size. The rest is :func:`relion_particles_arrays`.
    """
    import_pandas()
    check_relion_columns(df)
    if relion_version not in RELION_VERSIONS:
        raise ValueError(f"Unknown RELION version {relion_version!r}; expected 'relion4' or 'relion5'.")
    run = picks.run
    # Look up only what the conversion will use, so that no warning speaks of a voxel size or tomogram it ignored.
    has_centered = set(CENTERED_COLUMNS).issubset(df.columns) and relion_version != "relion4"
    if tomogram_center is None and has_centered:
        tomogram_center = run_tomogram_center(run)
    voxel_size = None
    if (
        not (has_centered and tomogram_center is not None)
        and relion_version != "relion5"
        and tilt_series_pixel_size is None
        and tilt_series_pixel_sizes(df, optics) is None
    ):
        voxel_size = smallest_voxel_size(run)
    return relion_particles_arrays(
        df,
        tomogram_center=tomogram_center,
        tilt_series_pixel_size=tilt_series_pixel_size,
        optics=optics,
        voxel_size=voxel_size,
        relion_version=relion_version,
    )
