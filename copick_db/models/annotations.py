"""The spec's annotation classes: CopickPicks, CopickMesh and CopickSegmentation, each owned by (user, session)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh

from copick_db.models.entity import ReadOnlyGuard
from copick_db.models.meta import CopickMeshMeta, CopickPicksFile, CopickSegmentationMeta
from copick_db.models.point_arrays import PointArrays
from copick_db.models.values import CopickConfig, CopickPoint
from copick_db.models.volume import VolumeMixin

if TYPE_CHECKING:
    from copick_db.models.run import CopickRun

#: The colour copick gives multilabel segmentations.
MULTILABEL_COLOR = (128, 128, 128, 0)


class OwnedMixin(ReadOnlyGuard):
    """User/session ownership shared by picks, meshes and segmentations."""

    run: CopickRun
    meta: Any
    config: CopickConfig

    def _parent_entity(self) -> ReadOnlyGuard:
        return self.run

    @property
    def user_id(self) -> str | None:
        """The owner: the meta's user id, falling back to the configuration's (C16)."""
        return self.meta.user_id or self.config.user_id

    @property
    def session_id(self) -> str | None:
        """The session: the meta's session id, falling back to the configuration's (C16)."""
        return self.meta.session_id or self.config.session_id

    @property
    def from_tool(self) -> bool:
        """True for tool output: user id or session id "0" (C6)."""
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


class CopickPicks(OwnedMixin):
    """A set of picked points of one object by one (user, session) in one run.

    Accepts the spec's ``(run, meta, config)`` and copick's ``(run, file)`` forms (C3).

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
        if (meta is None) == (file is None):
            raise TypeError("CopickPicks needs exactly one of meta= or file=")
        self.run = run
        self.meta = meta if meta is not None else file
        self.config = config or run.config
        self._read_only = read_only
        self._arrays: PointArrays | None = None
        self._points: list[CopickPoint] | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(run={self.run.name!r}, object={self.pickable_object_name!r}, "
            f"user_id={self.user_id!r}, session_id={self.session_id!r})"
        )

    @property
    def pickable_object_name(self) -> str:
        """The picked object's name."""
        return self.meta.pickable_object_name

    @property
    def object_name(self) -> str:
        """Alias of ``pickable_object_name``."""
        return self.pickable_object_name

    @property
    def identity(self) -> tuple:
        """What makes this pick set unique within its run."""
        return (self.pickable_object_name, self.user_id, self.session_id)

    @property
    def trust_orientation(self) -> bool:
        """Whether the points' orientations are meaningful."""
        return bool(self.meta.trust_orientation) if self.meta.trust_orientation is not None else True

    @property
    def color(self) -> tuple[int, int, int, int] | None:
        """The picked object's colour."""
        return self._object_color(self.pickable_object_name)

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
        self._points = list(value) if value is not None else []
        self._arrays = None
        self.meta.points = self._points

    data = points

    @property
    def is_loaded(self) -> bool:
        """Whether points were loaded or set (``store()`` does nothing otherwise, C15)."""
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
        """Write the loaded or set points; does nothing when nothing was loaded or set (C15).

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
    def instance_ids(self) -> np.ndarray:
        """Instance ids, int64 (N,) (null ids read as 0)."""
        return self._current_arrays().instance_ids.copy()

    @property
    def scores(self) -> np.ndarray:
        """Scores, float64 (N,) (NaN where a score is null)."""
        return self._current_arrays().scores.copy()

    def from_numpy(
        self,
        points: Any = None,
        extra: Any = None,
        *,
        positions: Any = None,
        transforms: Any = None,
        instance_ids: Any = None,
        scores: Any = None,
        store: bool = True,
    ) -> None:
        """Set the points from arrays, and store them unless ``store=False`` (C4).

        The second positional argument is told apart by shape: (N, 4, 4) is transforms, (N,) or (N, 1) scores.
        Without scores, copick-style calls (``positions=`` or transforms given) give every point score 1.0, a bare
        ``from_numpy(points)`` gives no score. Instance ids default to 0.

        Raises:
            ValueError: Shapes or lengths do not match, or values are not finite.
            PermissionError: The pick set is read-only (checked before anything changes).
        """
        if points is not None and positions is not None:
            raise ValueError("Give the coordinates once: either points or positions=")
        copick_form = positions is not None or transforms is not None
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


class CopickMesh(OwnedMixin):
    """A surface mesh of one object by one (user, session) in one run.

    The third positional argument may be a config (spec) or a mesh (copick), told apart by type (C12).

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

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(run={self.run.name!r}, object={self.pickable_object_name!r}, "
            f"user_id={self.user_id!r}, session_id={self.session_id!r})"
        )

    @property
    def pickable_object_name(self) -> str:
        """The object's name."""
        return self.meta.pickable_object_name

    @property
    def identity(self) -> tuple:
        """What makes this mesh unique within its run."""
        return (self.pickable_object_name, self.user_id, self.session_id)

    @property
    def color(self) -> tuple[int, int, int, int] | None:
        """The object's colour."""
        return self._object_color(self.pickable_object_name)

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
        """The mesh as one Trimesh (a Scene's parts concatenated; empty when there is none), loaded lazily (C13)."""
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
        """Write the loaded or set mesh; does nothing when none was loaded or set (C15).

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
    """A segmentation volume (ZYX) of a run at one voxel size.

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
            f"user_id={self.user_id!r}, session_id={self.session_id!r}, is_multilabel={self.is_multilabel!r})"
        )

    @property
    def name(self) -> str:
        """The segmentation's name (an object name unless multilabel)."""
        return self.meta.name

    @property
    def voxel_size(self) -> float:
        """Voxel size in Å."""
        return self.meta.voxel_size

    @property
    def is_multilabel(self) -> bool:
        """True when voxels hold object labels rather than 0/1."""
        return bool(self.meta.is_multilabel)

    @property
    def is_singlelabel(self) -> bool:
        """True for a binary (single-object) segmentation."""
        return not self.is_multilabel

    @property
    def pickable_object_name(self) -> str:
        """The segmentation's name (for filters shared with picks and meshes)."""
        return self.name

    @property
    def identity(self) -> tuple:
        """What makes this segmentation unique within its run."""
        return (round(self.voxel_size, 3), self.user_id, self.session_id, self.name, self.is_multilabel)

    @property
    def color(self) -> tuple[int, int, int, int] | None:
        """Grey for multilabel segmentations, otherwise the object's colour."""
        return MULTILABEL_COLOR if self.is_multilabel else self._object_color(self.name)

    def zarr(self) -> Any:
        """A zarr store such that ``zarr.open(store)["0"]`` reads full resolution (backend hook)."""
        raise NotImplementedError

    def from_numpy(self, data: np.ndarray, levels: int = 1, dtype: Any = np.uint8) -> None:
        """Store ``data`` (z, y, x) as an OME-Zarr with nearest-neighbour levels (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the segmentation and its data (backend hook)."""
        raise NotImplementedError
