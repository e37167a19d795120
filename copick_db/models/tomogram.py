"""The spec's CopickTomogram and CopickFeatures: volumes of a voxel spacing and the feature maps computed on them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from copick_db.models.children import Children
from copick_db.models.entity import ReadOnlyGuard, check_ctor_kwargs, identity_property, split_kwargs
from copick_db.models.meta import CopickFeaturesMeta, CopickTomogramMeta
from copick_db.models.names import repair_name
from copick_db.models.volume import VolumeMixin

if TYPE_CHECKING:
    from copick_db.models.values import CopickConfig
    from copick_db.models.voxel_spacing import CopickVoxelSpacing


class CopickTomogram(VolumeMixin, ReadOnlyGuard):
    """A tomogram: a multiscale ZYX volume of one type at one voxel spacing.

    Args:
        voxel_spacing: The voxel spacing it belongs to.
        meta: Its metadata.
        config: The configuration; the voxel spacing's when None.
        read_only: True for static data.
    """

    def __init__(
        self,
        voxel_spacing: CopickVoxelSpacing,
        meta: CopickTomogramMeta,
        config: CopickConfig | None = None,
        read_only: bool = False,
    ) -> None:
        self.voxel_spacing = voxel_spacing
        self.meta = meta
        self.config = config or voxel_spacing.config
        self._read_only = read_only
        self._feature_index: Children[CopickFeatures] = Children()  # one object per feature map (models.children)

    def _parent_entity(self) -> ReadOnlyGuard:
        return self.voxel_spacing

    def __repr__(self) -> str:
        vs = self.voxel_spacing
        return f"{type(self).__name__}(run={vs.run.name!r}, voxel_size={vs.voxel_size!r}, tomo_type={self.tomo_type!r})"

    @identity_property
    def tomo_type(self) -> str:
        """The tomogram type, e.g. "wbp" or "denoised"."""
        return self.meta.tomo_type

    @identity_property
    def name(self) -> str:
        """Alias of ``tomo_type`` (copick's docs use it)."""
        return self.tomo_type

    @property
    def identity(self) -> tuple:
        """What makes this tomogram unique within its voxel spacing."""
        return (self.tomo_type,)

    # -- features ---------------------------------------------------------------------------------------------

    def query_features(self) -> list[CopickFeatures]:
        """Return the feature maps from storage (backend hook)."""
        raise NotImplementedError

    @property
    def _features(self) -> list[CopickFeatures] | None:
        """The loaded feature-map listing, or None until listed (copick's attribute, read by copick's tests)."""
        return self._feature_index.listing

    @property
    def features(self) -> list[CopickFeatures]:
        """The feature maps computed on this tomogram, loaded on first access."""
        return self._feature_index.listed(self.query_features)

    @features.setter
    def features(self, value: list[CopickFeatures]) -> None:
        self._feature_index.set_listing(value)

    def _query_feature(self, feature_type: str) -> CopickFeatures | None:
        """Look one feature map up without loading the others (backend hook; the default scans the query)."""
        return next((f for f in self.query_features() if f.feature_type == feature_type), None)

    def get_features(self, feature_type: str) -> CopickFeatures | None:
        """Return the feature map of ``feature_type``, or None."""
        children = self._feature_index
        if children.listing is not None:
            return next((f for f in children.listing if f.feature_type == feature_type), None)
        found = children.get((feature_type,)) or self._query_feature(feature_type)
        return None if found is None else children.share(found)

    def _feature_factory(self) -> tuple[type[CopickFeatures], type[CopickFeaturesMeta]]:
        raise NotImplementedError

    def _create_child(self, entity: Any) -> None:
        """Persist a new feature map; DuplicateEntityError if its type is taken (backend hook)."""
        raise NotImplementedError

    def new_features(self, feature_type: str, exist_ok: bool = False, **kwargs: Any) -> CopickFeatures:
        """Create an empty feature map of ``feature_type`` (repaired to copick's name rule with a warning).

        Raises:
            ValueError: The type exists and ``exist_ok`` is False.
            PermissionError: The tomogram is read-only.
        """
        feature_type = repair_name(feature_type, "feature_type")
        if self._root_read_only():  # a static tomogram may still get features: they are written to the overlay
            self._check_writable(f"create features {feature_type!r}")
        feat_cls, meta_cls = self._feature_factory()
        meta_kwargs, ctor_kwargs = split_kwargs(meta_cls, kwargs)
        check_ctor_kwargs("new_features()", ctor_kwargs)
        meta = meta_cls(tomo_type=self.tomo_type, feature_type=feature_type, **meta_kwargs)
        features = feat_cls(self, meta, **ctor_kwargs)
        return self._feature_index.append_new(
            features,
            self._create_child,
            query=self.query_features,
            lookup=lambda: self._query_feature(feature_type),
            exist_ok=exist_ok,
        )

    def _forget(self, features: CopickFeatures) -> None:
        self._feature_index.remove(features)

    def refresh_features(self) -> None:
        """Forget cached feature maps."""
        self._feature_index.clear()

    def refresh(self) -> None:
        """Forget every cache of this tomogram."""
        self.refresh_features()

    # -- data (backend hooks) ---------------------------------------------------------------------------------

    def zarr(self) -> Any:
        """A zarr store such that ``zarr.open(store)["0"]`` reads full resolution (backend hook)."""
        raise NotImplementedError

    def from_numpy(self, data: np.ndarray, levels: int = 3, dtype: Any = np.float32) -> None:
        """Store ``data`` (z, y, x) as an OME-Zarr pyramid of ``levels`` 2× local-mean levels (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the tomogram, its feature maps and their data (backend hook)."""
        raise NotImplementedError

    def delete_features(self) -> None:
        """Delete every feature map of this tomogram."""
        for features in list(self.features):
            features.delete()


class CopickFeatures(ReadOnlyGuard):
    """A feature map computed on a tomogram; its array may have any number of axes (e.g. C, Z, Y, X).

    Args:
        tomogram: The tomogram it was computed on.
        meta: Its metadata.
        config: The configuration; the tomogram's when None.
        read_only: True for static data.
    """

    def __init__(
        self,
        tomogram: CopickTomogram,
        meta: CopickFeaturesMeta,
        config: CopickConfig | None = None,
        read_only: bool = False,
    ) -> None:
        self.tomogram = tomogram
        self.meta = meta
        self.config = config or tomogram.config
        self._read_only = read_only

    def _parent_entity(self) -> ReadOnlyGuard:
        return self.tomogram

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tomo_type={self.tomo_type!r}, feature_type={self.feature_type!r})"

    @identity_property
    def tomo_type(self) -> str:
        """The type of the tomogram the features were computed on."""
        return self.meta.tomo_type

    @identity_property
    def feature_type(self) -> str:
        """The feature type, e.g. "sobel"."""
        return self.meta.feature_type

    @property
    def identity(self) -> tuple:
        """What makes this feature map unique within its tomogram."""
        return (self.feature_type,)

    def _read_region(self, zarr_group: str, selection: tuple) -> np.ndarray:
        raise NotImplementedError

    def _write_region(self, data: np.ndarray, zarr_group: str, selection: tuple) -> None:
        raise NotImplementedError

    def numpy(self, zarr_group: str = "0", slices: tuple[slice, ...] | None = None) -> np.ndarray:
        """Read the feature map, or the region ``slices`` selects on its raw axes (all of it when None).

        Raises:
            KeyError: The group does not exist or the feature map has no data yet.
        """
        return self._read_region(str(zarr_group), _as_selection(slices))

    def set_region(self, data: Any, zarr_group: str = "0", slices: tuple[slice, ...] | None = None) -> None:
        """Write ``data`` into the region ``slices`` selects (the whole array when None, contract C21).

        Raises:
            KeyError: The group does not exist or the feature map has no data yet.
            ValueError: ``data`` does not fit the region.
            PermissionError: The feature map is read-only.
        """
        self._check_writable("write a feature region")
        self._write_region(np.asarray(data), str(zarr_group), _as_selection(slices))

    def zarr(self) -> Any:
        """A zarr store for the feature map; tools may create array "0" in it themselves (backend hook)."""
        raise NotImplementedError

    def from_numpy(self, data: np.ndarray, dtype: Any = np.float32) -> None:
        """Store ``data`` ((C,) Z, Y, X) as a one-level OME-Zarr (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the feature map and its data (backend hook)."""
        raise NotImplementedError


def _as_selection(slices: Any) -> tuple:
    if slices is None:
        return ()
    if isinstance(slices, slice):
        return (slices,)
    return tuple(slices)
