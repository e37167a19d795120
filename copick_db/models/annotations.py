"""The spec's annotation classes: CopickPicks, CopickMesh and CopickSegmentation, each owned by (user, session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh

from copick_db.models.entity import ReadOnlyGuard, identity_property
from copick_db.models.meta import (
    CopickMeshMeta,
    CopickPicksFile,
    CopickSegmentationMeta,
    segmentation_type,
)
from copick_db.models.point_arrays import CallableArray, PointArrays, as_points
from copick_db.models.values import CopickConfig, CopickPoint
from copick_db.models.volume import _ALL, VolumeMixin, zyx

if TYPE_CHECKING:
    from copick_db.models.run import CopickRun

#: The colour copick gives multilabel and panoptic segmentations (and segmentations of unknown objects).
MULTILABEL_COLOR = (128, 128, 128, 0)

#: The channels of a panoptic segmentation, in order: the object label (0 = background), then the instance id
#: within that object (0 = a region of the object not split into instances).
PANOPTIC_CHANNELS = ("label", "instance")


class OwnedMixin(ReadOnlyGuard):
    """User/session ownership shared by picks, meshes and segmentations."""

    run: CopickRun
    meta: Any
    config: CopickConfig

    def _parent_entity(self) -> ReadOnlyGuard:
        return self.run

    @identity_property
    def user_id(self) -> str | None:
        """The owner: the meta's user id, falling back to the configuration's (contract C16)."""
        return self.meta.user_id or self.config.user_id

    @identity_property
    def session_id(self) -> str | None:
        """The session: the meta's session id, falling back to the configuration's (contract C16)."""
        return self.meta.session_id or self.config.session_id

    @property
    def from_tool(self) -> bool:
        """True for tool output: user id or session id "0" (contract C6)."""
        return self.user_id == "0" or self.session_id == "0"

    @property
    def from_user(self) -> bool:
        """True for data made by a person: the negation of ``from_tool``."""
        return not self.from_tool

    def _object_color(self, name: str) -> tuple[int, int, int, int] | None:
        obj = self.run.root.get_object(name)
        if obj is None:
            raise ValueError(f"Object {name!r} is not in the project; its colour is unknown.")
        return obj.color


class PerObjectMixin(OwnedMixin):
    """What picks, meshes and filament sets share: one pickable object, owned by (user, session)."""

    def _attach(self, run: CopickRun, meta: Any, file: Any, config: CopickConfig | None, read_only: bool) -> None:
        """The constructor part of sets read from a file model, which copick passes as ``file=`` (contract C3)."""
        if (meta is None) == (file is None):
            raise TypeError(f"{type(self).__name__} needs exactly one of meta= or file=")
        self.run = run
        self.meta = meta if meta is not None else file
        self.config = config or run.config
        self._read_only = read_only

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(run={self.run.name!r}, object={self.pickable_object_name!r}, "
            f"user_id={self.user_id!r}, session_id={self.session_id!r})"
        )

    @identity_property
    def pickable_object_name(self) -> str:
        """The object's name."""
        return self.meta.pickable_object_name

    @identity_property
    def object_name(self) -> str:
        """Alias of ``pickable_object_name``."""
        return self.pickable_object_name

    @property
    def identity(self) -> tuple:
        """What makes this entity unique within its run: object, user and session."""
        return (self.pickable_object_name, self.user_id, self.session_id)

    @property
    def color(self) -> tuple[int, int, int, int] | None:
        """The object's colour."""
        return self._object_color(self.pickable_object_name)

    def _adopt_preloaded(self, fresh: PerObjectMixin) -> None:
        """Take the stored data a query preloaded into ``fresh`` (a second object for this entity, about to be
        dropped) when this object, the one handed out, holds none: loaded or unsaved data is never replaced."""
        arrays = getattr(fresh, "_arrays", None)
        if arrays is not None and not self.is_loaded:
            self._arrays = arrays


class CopickPicks(PerObjectMixin):
    """A set of picked points of one object by one (user, session) in one run.

    Accepts the spec's ``(run, meta, config)`` and copick's ``(run, file)`` forms (contract C3).

    Args:
        run: The run.
        meta: The pick set's metadata (a CopickPicksFile, also known as CopickPicksMeta).
        config: The configuration; the run's when None.
        file: copick's name for ``meta``.
        read_only: True for static data.
    """

    def __init__(
        self,
        run: CopickRun,
        meta: CopickPicksFile | None = None,
        config: CopickConfig | None = None,
        *,
        file: CopickPicksFile | None = None,
        read_only: bool = False,
    ) -> None:
        self._attach(run, meta, file, config, read_only)
        self._arrays: PointArrays | None = None
        self._points: list[CopickPoint] | None = None

    @property
    def trust_orientation(self) -> bool:
        """Whether the points' orientations are meaningful."""
        return bool(self.meta.trust_orientation) if self.meta.trust_orientation is not None else True

    # -- storage hooks ----------------------------------------------------------------------------------------

    def _load_arrays(self) -> PointArrays:
        """Read the stored points (backend hook)."""
        raise NotImplementedError

    def _store_arrays(self, arrays: PointArrays) -> None:
        """Write the points, replacing what is stored (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the pick set (backend hook)."""
        raise NotImplementedError

    # -- data -------------------------------------------------------------------------------------------------

    def _current_arrays(self) -> PointArrays:
        if self._points is not None:
            return PointArrays.from_points(self._points)
        if self._arrays is None:
            self._arrays = self._load_arrays()
        return self._arrays

    @property
    def points(self) -> list[CopickPoint]:
        """The points as CopickPoint objects, built on first access."""
        if self._points is None:
            self._points = self._current_arrays().to_points()
            self._arrays = None
            self.meta.points = self._points
        return self._points

    @points.setter
    def points(self, value: list[CopickPoint] | None) -> None:
        # Validated by value, so copick's own CopickPoint (and any object with its fields) is accepted too.
        self._points = as_points(value) if value is not None else []
        self._arrays = None
        self.meta.points = self._points

    data = points

    @property
    def is_loaded(self) -> bool:
        """Whether points were loaded or set (``store()`` does nothing otherwise, contract C15)."""
        return self._points is not None or self._arrays is not None

    def load(self) -> CopickPicksFile:
        """Re-read the points from storage and return the metadata with them."""
        self.refresh()
        _ = self.points
        return self.meta

    def refresh(self) -> None:
        """Forget loaded points; the next access reads storage."""
        self._points = None
        self._arrays = None

    def store(self) -> None:
        """Write the loaded or set points; does nothing when nothing was loaded or set (contract C15).

        Raises:
            ValueError: A point is invalid (non-finite coordinate, bad transform).
            PermissionError: The pick set is read-only.
        """
        if not self.is_loaded:
            return
        self._check_writable("store picks")
        self._store_arrays(self._current_arrays())

    def numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """copick's form: (positions float64 (N, 3), transforms float64 (N, 4, 4))."""
        arrays = self._current_arrays()
        return arrays.locations.copy(), arrays.full_transforms()

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The spec's form: (points float32 (N, 3), scores float32 (N,) or None when any score is missing)."""
        arrays = self._current_arrays()
        scores = arrays.scores_or_none()
        return arrays.locations.astype(np.float32), None if scores is None else scores.astype(np.float32)

    @property
    def instance_ids(self) -> CallableArray:
        """Instance ids, int64 (N,) (null ids read as 0).

        Both forms work: the spec's property ``picks.instance_ids`` and copick 1.31's method
        ``picks.instance_ids()`` (which returns a plain array). For a filament object, the filament id of each point.
        """
        return CallableArray.of(self._current_arrays().instance_ids.copy())

    @property
    def scores(self) -> CallableArray:
        """Scores, float64 (N,), NaN where a score is null.

        copick 1.31's method form ``picks.scores()`` returns a plain array with 1.0 where a score is null, as copick
        does.
        """
        return CallableArray.of(self._current_arrays().scores.copy(), null_as=1.0)

    def full_positions(self) -> np.ndarray:
        """Particle centres, float64 (N, 3) in Å: each location plus its transform's translation (copick 1.31)."""
        positions, transforms = self.numpy()
        return positions + transforms[:, :3, 3] if len(positions) else positions

    def from_numpy(
        self,
        points: Any = None,
        extra: Any = None,
        instance_ids: Any = None,
        scores: Any = None,
        *,
        positions: Any = None,
        transforms: Any = None,
        store: bool = True,
    ) -> None:
        """Set the points from arrays, and store them unless ``store=False`` (contract C4).

        Takes the spec's ``from_numpy(points, scores)`` and copick 1.31's ``from_numpy(positions, transforms=None,
        instance_ids=None, scores=None)`` (positionally or by keyword). The second positional argument is told apart
        by shape: (N, 4, 4) is transforms, (N,) or (N, 1) scores. Without scores, copick-style calls (``positions=``,
        transforms or instance ids given) give every point score 1.0; a bare ``from_numpy(points)`` gives no score.
        Instance ids default to 0.

        Raises:
            ValueError: Shapes or lengths do not match, or values are not finite.
            PermissionError: The pick set is read-only (checked before anything changes).
        """
        if points is not None and positions is not None:
            raise ValueError("Give the coordinates once: either points or positions=")
        copick_form = positions is not None or transforms is not None or instance_ids is not None
        coords = positions if positions is not None else points
        if coords is None:
            raise ValueError("from_numpy() needs the coordinates, an (N, 3) array")
        if extra is not None:
            shape = np.shape(extra)
            if len(shape) == 3:
                if transforms is not None:
                    raise ValueError("transforms given twice (positionally and as transforms=)")
                transforms, copick_form = extra, True
            elif len(shape) in (1, 2):
                if scores is not None:
                    raise ValueError("scores given twice (positionally and as scores=)")
                scores = extra
            else:
                raise ValueError(f"second argument must be transforms (N, 4, 4) or scores (N,); got shape {shape}")
        arrays = PointArrays.build(coords, transforms, instance_ids, scores, default_score=1.0 if copick_form else None)
        if store:
            self._check_writable("store picks")
            self._store_arrays(arrays)
        self._arrays, self._points = arrays, None

    def df(self, format: str = "relion", **kwargs: Any) -> Any:
        """The points as a pandas DataFrame of RELION 4/5 particles, as copick 1.31's ``picks.df()``.

        Columns: ``rlnTomoName`` (the run), ``rlnAngleRot/Tilt/Psi`` (ZYZ Euler angles in degrees of the inverse of
        each transform's rotation), ``rlnCenteredCoordinate{X,Y,Z}Angst`` when the tomogram centre is known and
        ``rlnCoordinate{X,Y,Z}`` in tilt-series pixels when ``tilt_series_pixel_size`` is given (with neither, in
        pixels of the smallest voxel spacing, with a logged warning). Positions include the transforms' translations.
        Filament objects get RELION's filament columns. See :mod:`copick_db.models.relion`.

        Args:
            format: Only ``"relion"``.
            **kwargs: copick's keywords: ``voxel_spacing``, ``tilt_series_pixel_size``, ``tomogram_center``,
                ``tomo_type``, ``coordinates``, ``filament``, ``polarity_known``, ``filament_angles``, ``half_sets``
                (see :func:`copick_db.models.relion.picks_to_df`).

        Raises:
            ValueError: Another format, or the coordinates cannot be written (no centre, pixel size or voxel size).
            ImportError: pandas is not installed (``pip install 'copick-db[pandas]'``).
        """
        from copick_db.models import relion  # pandas stays optional: only data frames need it

        relion.check_format(format)
        return relion.picks_to_df(self, **kwargs)

    def from_df(self, df: Any, format: str = "relion", **kwargs: Any) -> None:
        """Set the points from a pandas DataFrame of RELION particles and store them, as copick 1.31's ``from_df``.

        Centred coordinates (RELION 5) are placed with ``tomogram_center`` or the run's tomogram centre, pixel ones
        with ``tilt_series_pixel_size``, the ``optics`` table's pixel size or the run's smallest voxel size. Angles
        (and ``rlnTomoSubtomogram*`` ones) become the rotations, ``rlnOrigin*Angst`` shifts move the locations, and
        ``rlnHelicalTubeID`` becomes the instance id. Every point gets score 1.0, as in copick. Stores like
        :meth:`from_numpy`.

        Args:
            df: The particles; every row belongs to this run.
            format: Only ``"relion"``.
            **kwargs: copick's keywords: ``optics``, ``tilt_series_pixel_size``, ``tomogram_center`` and
                ``relion_version`` (``"relion5"`` forces centred, ``"relion4"`` pixel coordinates).

        Raises:
            ValueError: Another format, a frame without RELION coordinate columns, or missing centre/pixel size.
            ImportError: pandas is not installed (``pip install 'copick-db[pandas]'``).
            PermissionError: The pick set is read-only (checked before anything changes).
        """
        from copick_db.models import relion  # pandas stays optional: only data frames need it

        relion.check_format(format)
        relion.import_pandas()
        self._check_writable("store picks")
        positions, transforms, instance_ids = relion.arrays_from_df(self, df, **kwargs)
        self.from_numpy(positions=positions, transforms=transforms, instance_ids=instance_ids)


class CopickMesh(PerObjectMixin):
    """A surface mesh of one object by one (user, session) in one run.

    The third positional argument may be a config (spec) or a mesh (copick), told apart by type (contract C12).

    Args:
        run: The run.
        meta: The mesh's metadata.
        config_or_mesh: A CopickConfig, or a trimesh mesh/scene.
        config: The configuration; the run's when None.
        mesh: An initial mesh.
        read_only: True for static data.
    """

    def __init__(
        self,
        run: CopickRun,
        meta: CopickMeshMeta,
        config_or_mesh: Any = None,
        *,
        config: CopickConfig | None = None,
        mesh: Any = None,
        read_only: bool = False,
    ) -> None:
        if isinstance(config_or_mesh, CopickConfig):
            config = config or config_or_mesh
        elif config_or_mesh is not None:
            mesh = mesh if mesh is not None else config_or_mesh
        self.run = run
        self.meta = meta
        self.config = config or run.config
        self._read_only = read_only
        self._mesh: trimesh.Trimesh | None = None
        if mesh is not None:
            self.mesh = mesh

    def _load(self) -> trimesh.Trimesh:
        """Read the stored mesh (backend hook)."""
        raise NotImplementedError

    def _store(self) -> None:
        """Write ``self._mesh`` (backend hook)."""
        raise NotImplementedError

    def _coerce_mesh(self, value: Any) -> trimesh.Trimesh:
        """Turn an assigned Trimesh or Scene into one Trimesh (backend hook; the default keeps Trimesh only)."""
        if isinstance(value, trimesh.Trimesh):
            return value
        raise ValueError(f"mesh must be a trimesh.Trimesh or trimesh.Scene, got {type(value).__name__}")

    def delete(self) -> None:
        """Delete the mesh (backend hook)."""
        raise NotImplementedError

    @property
    def mesh(self) -> trimesh.Trimesh:
        """The mesh as one Trimesh (a Scene's parts concatenated; empty when there is none), loaded lazily.

        See contract C13.
        """
        if self._mesh is None:
            self._mesh = self._load()
        return self._mesh

    @mesh.setter
    def mesh(self, value: Any) -> None:
        self._mesh = self._coerce_mesh(value)

    def load(self) -> trimesh.Trimesh:
        """Re-read the mesh from storage."""
        self.refresh()
        return self.mesh

    def refresh(self) -> None:
        """Forget the loaded mesh."""
        self._mesh = None

    def store(self) -> None:
        """Write the loaded or set mesh; does nothing when none was loaded or set (contract C15).

        Raises:
            PermissionError: The mesh is read-only.
        """
        if self._mesh is None:
            return
        self._check_writable("store a mesh")
        self._store()

    def to_napari(self) -> dict[str, np.ndarray]:
        """``{"vertices": float32 (N, 3), "faces": uint32 (M, 3)}`` for napari."""
        mesh = self.mesh
        return {
            "vertices": np.asarray(mesh.vertices, dtype=np.float32).reshape(-1, 3),
            "faces": np.asarray(mesh.faces, dtype=np.uint32).reshape(-1, 3),
        }

    def from_napari(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        """Set the mesh from napari's vertices (N, 3) and faces (M, 3); call ``store()`` to write it.

        Raises:
            ValueError: Wrong shapes, or faces that index missing vertices.
        """
        vertices = np.asarray(vertices, dtype=np.float64)
        faces = np.asarray(faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            raise ValueError(f"vertices must have shape (N, 3); got {vertices.shape}")
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise ValueError(f"faces must have shape (M, 3); got {faces.shape}")
        if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise ValueError("faces index vertices that do not exist")
        self._mesh = trimesh.Trimesh(vertices=vertices, faces=faces.astype(np.int64), process=False)


class CopickSegmentation(VolumeMixin, OwnedMixin):
    """A segmentation volume of a run at one voxel size: binary, multilabel, instance or panoptic.

    Binary, multilabel and instance segmentations are (z, y, x) volumes; a panoptic one is (2, z, y, x), channel 0
    holding each voxel's object label and channel 1 its instance id within that object. ``x``/``y``/``z`` keywords
    always apply to the last three axes.

    Args:
        run: The run.
        meta: Its metadata.
        config: The configuration; the run's when None.
        read_only: True for static data.
    """

    def __init__(
        self,
        run: CopickRun,
        meta: CopickSegmentationMeta,
        config: CopickConfig | None = None,
        read_only: bool = False,
    ) -> None:
        self.run = run
        self.meta = meta
        self.config = config or run.config
        self._read_only = read_only

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(run={self.run.name!r}, name={self.name!r}, voxel_size={self.voxel_size!r}, "
            f"user_id={self.user_id!r}, session_id={self.session_id!r}, segmentation_type={self.segmentation_type!r})"
        )

    @identity_property
    def name(self) -> str:
        """The segmentation's name (an object name for binary and instance segmentations)."""
        return self.meta.name

    @identity_property
    def voxel_size(self) -> float:
        """Voxel size in Å."""
        return self.meta.voxel_size

    @identity_property
    def is_multilabel(self) -> bool:
        """True when voxels hold the labels of several objects."""
        return bool(self.meta.is_multilabel)

    @identity_property
    def is_instance(self) -> bool:
        """True when voxels hold instance ids of object ``name`` (0 = background)."""
        return bool(getattr(self.meta, "is_instance", False))

    @identity_property
    def is_panoptic(self) -> bool:
        """True for a (2, z, y, x) volume of object labels and instance ids."""
        return bool(getattr(self.meta, "is_panoptic", False))

    @property
    def is_singlelabel(self) -> bool:
        """True for a binary (single-object, 0/1) segmentation."""
        return self.segmentation_type == "binary"

    @property
    def segmentation_type(self) -> str:
        """``"binary"``, ``"multilabel"``, ``"instance"`` or ``"panoptic"``."""
        return segmentation_type(self.is_multilabel, self.is_instance, self.is_panoptic)

    @property
    def directory(self) -> str:
        """The run-level directory copick keeps this type in (``Segmentations``, ``InstanceSegmentations``, ...).

        Backend hook: the directory names are the storage layout's.
        """
        raise NotImplementedError

    @identity_property
    def pickable_object_name(self) -> str:
        """The segmentation's name (for filters shared with picks and meshes)."""
        return self.name

    @property
    def identity(self) -> tuple:
        """What makes this segmentation unique within its run."""
        return (
            round(self.voxel_size, 3),
            self.user_id,
            self.session_id,
            self.name,
            self.is_multilabel,
            self.is_instance,
            self.is_panoptic,
        )

    @property
    def color(self) -> tuple[int, int, int, int] | None:
        """Grey for multilabel and panoptic segmentations (and unknown objects), otherwise the object's colour."""
        if self.is_multilabel or self.is_panoptic:
            return MULTILABEL_COLOR
        obj = self.run.root.get_object(self.name)
        return MULTILABEL_COLOR if obj is None else obj.color

    # -- storage hooks ----------------------------------------------------------------------------------------

    def zarr(self) -> Any:
        """A zarr store such that ``zarr.open(store)["0"]`` reads full resolution (backend hook)."""
        raise NotImplementedError

    def from_numpy(self, data: np.ndarray, levels: int = 1, dtype: Any = None) -> None:
        """Store ``data`` as an OME-Zarr with nearest-neighbour levels (backend hook; see :meth:`_checked_volume`)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the segmentation and its data (backend hook)."""
        raise NotImplementedError

    def _layout(self, zarr_group: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Shape and chunk shape of a stored level (backend hook)."""
        raise NotImplementedError

    # -- checks shared by backends ----------------------------------------------------------------------------

    def _checked_volume(self, data: Any, dtype: Any) -> tuple[np.ndarray, np.dtype]:
        """Check ``data`` for this segmentation's type and choose the stored dtype.

        Binary, multilabel and instance volumes are (z, y, x); panoptic ones (2, z, y, x) with known labels and no
        instance id on background voxels. ``dtype=None`` means uint8 for binary and multilabel segmentations, and for
        instance and panoptic ones the smallest unsigned integer type from uint16 up that holds every value.

        Raises:
            ValueError: Wrong shape, values no unsigned type holds, unknown panoptic labels or stray instance ids.
        """
        volume = np.asarray(data)
        if self.is_panoptic:
            if volume.ndim != 4 or volume.shape[0] != 2:
                raise ValueError(
                    f"A panoptic segmentation is a (2, z, y, x) array (channels {PANOPTIC_CHANNELS}, e.g. "
                    f"np.stack([labels, instance_ids])); got shape {volume.shape}"
                )
            check_panoptic_values(volume[0], volume[1], self._object_labels())
        elif volume.ndim != 3:
            raise ValueError(f"A {self.segmentation_type} segmentation must be a (z, y, x) array; got {volume.shape}")
        if dtype is None:
            dtype = smallest_label_dtype(volume, np.uint16) if self.is_instance or self.is_panoptic else np.uint8
        return volume, np.dtype(dtype)

    def _object_labels(self) -> list[int]:
        return [o.label for o in self.run.root.pickable_objects if o.label is not None]

    def _object_label(self, object_name: str) -> int:
        obj = self.run.root.get_object(object_name)
        if obj is None or obj.label is None:
            raise ValueError(f"Object {object_name!r} is not in the project (or has no label).")
        return obj.label

    # -- regions ----------------------------------------------------------------------------------------------

    def numpy(
        self, zarr_group: str = "0", x: slice = _ALL, y: slice = _ALL, z: slice = _ALL, channel: Any = None
    ) -> np.ndarray:
        """Read a region indexed ``[z, y, x]`` (``[c, z, y, x]`` for a panoptic segmentation).

        Args:
            zarr_group: Resolution level, "0" being full resolution.
            x: Slice along x.
            y: Slice along y.
            z: Slice along z.
            channel: Panoptic only: ``"label"``/0 or ``"instance"``/1 reads that channel as (z, y, x); None both.

        Raises:
            KeyError: The level does not exist or the volume has no data yet.
            ValueError: A channel was given for a segmentation that is not panoptic, or is unknown.
        """
        selection = zyx(x, y, z)
        if self.is_panoptic:
            index = slice(None) if channel is None else panoptic_channel_index(channel)
            return self._read_region(str(zarr_group), (index, *selection))
        if channel is not None:
            raise ValueError(f"{self!r} is a {self.segmentation_type} segmentation; only panoptic ones have channels")
        return self._read_region(str(zarr_group), selection)

    def set_region(
        self, data: Any, zarr_group: str = "0", x: slice = _ALL, y: slice = _ALL, z: slice = _ALL, channel: Any = None
    ) -> None:
        """Write ``data`` into a region of the stored volume, in place.

        A panoptic region is (2, z, y, x), or (z, y, x) for one ``channel`` (broadcast to the region); the result is
        checked as :meth:`from_numpy` checks a volume.

        Raises:
            KeyError: The level does not exist or the volume has no data yet.
            ValueError: ``data`` does not fit the region or the stored dtype, or breaks the panoptic rules.
            PermissionError: The segmentation is read-only.
        """
        self._check_writable("write a region")
        group, selection = str(zarr_group), zyx(x, y, z)
        values = np.asarray(data)
        if not self.is_panoptic:
            if channel is not None:
                raise ValueError(
                    f"{self!r} is a {self.segmentation_type} segmentation; only panoptic ones have channels"
                )
            self._write_region(values, group, selection)
            return
        if channel is None:
            if values.ndim != 4 or values.shape[0] != 2:
                raise ValueError(f"A panoptic region is a (2, z, y, x) array; got shape {values.shape}")
            check_panoptic_values(values[0], values[1], self._object_labels())
            self._write_region(values, group, (slice(None), *selection))
            return
        index = panoptic_channel_index(channel)
        other = self._read_region(group, (1 - index, *selection))
        values = np.ascontiguousarray(np.broadcast_to(values, other.shape))
        labels, instances = (values, other) if index == 0 else (other, values)
        check_panoptic_values(labels, instances, self._object_labels())
        self._write_region(values, group, (index, *selection))

    def _blocks(self, zarr_group: str) -> Iterator[tuple[slice, slice, slice]]:
        """(z, y, x) slices over the chunk grid of a level's last three axes."""
        shape, chunks = self._layout(zarr_group)
        (nz, ny, nx), (cz, cy, cx) = shape[-3:], chunks[-3:]
        for z0 in range(0, nz, cz):
            for y0 in range(0, ny, cy):
                for x0 in range(0, nx, cx):
                    yield slice(z0, z0 + cz), slice(y0, y0 + cy), slice(x0, x0 + cx)

    def instance_ids(self, zarr_group: str = "0", object_name: str | None = None) -> np.ndarray:
        """The instance ids present, sorted int64, read one chunk at a time.

        For an instance segmentation, its non-zero values; for a panoptic one, the non-zero instance ids where the
        label is ``object_name``'s.

        Raises:
            ValueError: The segmentation is binary or multilabel, ``object_name`` is missing (panoptic), or it names
                another object than this instance segmentation's.
        """
        group = str(zarr_group)
        found = np.zeros(0, dtype=np.int64)
        if self.is_instance:
            if object_name not in (None, self.name):
                raise ValueError(f"{self!r} holds instances of {self.name!r}, not {object_name!r}")
            for block in self._blocks(group):
                found = np.union1d(found, np.unique(self._read_region(group, block)).astype(np.int64))
        elif self.is_panoptic:
            if object_name is None:
                raise ValueError("instance ids of a panoptic segmentation are per object; pass object_name=")
            label = self._object_label(object_name)
            for block in self._blocks(group):
                labels, instances = self._read_region(group, (slice(None), *block))
                found = np.union1d(found, np.unique(instances[labels == label]).astype(np.int64))
        else:
            raise ValueError(
                f"{self!r} is a {self.segmentation_type} segmentation; instance ids need an instance or panoptic one"
            )
        return found[found != 0]

    def segments(self, zarr_group: str = "0") -> list[tuple[str, int]]:
        """The (object name, instance id) pairs of a panoptic segmentation, sorted; instance 0 is an unsplit region.

        Raises:
            ValueError: The segmentation is not panoptic.
        """
        if not self.is_panoptic:
            raise ValueError(f"{self!r} is a {self.segmentation_type} segmentation; segments() needs a panoptic one")
        group = str(zarr_group)
        pairs: set[tuple[int, int]] = set()
        for block in self._blocks(group):
            labels, instances = self._read_region(group, (slice(None), *block))
            inside = labels != 0
            if inside.any():
                rows = np.unique(np.stack([labels[inside], instances[inside]], axis=1).astype(np.int64), axis=0)
                pairs.update((int(a), int(b)) for a, b in rows)
        names = {o.label: o.name for o in self.run.root.pickable_objects}
        return sorted((names.get(label, str(label)), instance) for label, instance in pairs)

    def label_volume(self, zarr_group: str = "0") -> np.ndarray:
        """A panoptic segmentation's label channel (the multilabel segmentation it holds)."""
        return self.numpy(zarr_group, channel="label")

    def instance_volume(self, object_name: str, zarr_group: str = "0") -> np.ndarray:
        """A panoptic segmentation's instances of one object: instance ids where the label is its, 0 elsewhere."""
        labels, instances = self.numpy(zarr_group)
        return np.where(labels == self._object_label(object_name), instances, 0)


def panoptic_channel_index(channel: Any) -> int:
    """The index of a panoptic channel given by name (``"label"``, ``"instance"``) or number (0, 1).

    Raises:
        ValueError: Any other value.
    """
    if isinstance(channel, str) and channel in PANOPTIC_CHANNELS:
        return PANOPTIC_CHANNELS.index(channel)
    if not isinstance(channel, (bool, str)) and channel in (0, 1):
        return int(channel)
    raise ValueError(f"unknown panoptic channel {channel!r}; use one of {PANOPTIC_CHANNELS} or 0/1")


def check_panoptic_values(labels: np.ndarray, instances: np.ndarray, known_labels: list[int]) -> None:
    """Refuse panoptic values without a meaning.

    Raises:
        ValueError: A label is neither 0 nor a pickable object's label, or a background voxel (label 0) carries an
            instance id.
    """
    unknown = sorted(set(np.unique(labels).tolist()) - {0} - set(known_labels))
    if unknown:
        raise ValueError(f"the panoptic label channel holds {unknown}, which no pickable object has as its label")
    stray = int(np.count_nonzero((labels == 0) & (instances != 0)))
    if stray:
        raise ValueError(f"{stray} background voxels (label 0) carry an instance id; instances belong to an object")


_UNSIGNED = (np.uint8, np.uint16, np.uint32, np.uint64)


def smallest_label_dtype(data: np.ndarray, floor: Any = np.uint8) -> np.dtype:
    """The smallest unsigned integer dtype, no narrower than ``floor``, that holds every value of ``data``.

    Raises:
        ValueError: Negative, non-integral or non-finite values, or values above uint64's range.
    """
    data = np.asarray(data)
    lowest = highest = 0
    if data.size:
        if data.dtype.kind == "f":
            if not np.isfinite(data).all():
                raise ValueError("segmentation values must be finite; found NaN or infinity")
            if (data != np.floor(data)).any():
                raise ValueError("segmentation values must be whole numbers; found fractional values")
        elif data.dtype.kind not in "biu":
            raise ValueError(f"segmentation data must be integer, boolean or whole floating point, not {data.dtype}")
        lowest, highest = int(data.min()), int(data.max())
    if lowest < 0:
        raise ValueError(f"segmentation values must be >= 0, found {lowest}; pass a signed dtype to store them")
    floor_size = np.dtype(floor).itemsize
    for candidate in _UNSIGNED:
        if np.dtype(candidate).itemsize >= floor_size and highest <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    raise ValueError(f"segmentation value {highest} does not fit any unsigned integer dtype")
