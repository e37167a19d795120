"""The pickable object: a PickableObject's metadata plus its optional density map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from copick_db.models.entity import ReadOnlyGuard, identity_property
from copick_db.models.values import FilamentSpec, PickableObject
from copick_db.models.volume import VolumeMixin

if TYPE_CHECKING:
    from copick_db.models.root import CopickRoot


class CopickObject(VolumeMixin, ReadOnlyGuard):
    """A pickable object of the project, with read access to its fields and its density map.

    Args:
        root: The project root.
        meta: The object's metadata.
        read_only: True when the density map is static data.
    """

    def __init__(self, root: CopickRoot, meta: PickableObject, read_only: bool = False) -> None:
        self.root = root
        self.meta = meta
        self._read_only = read_only

    def _parent_entity(self) -> ReadOnlyGuard:
        return self.root

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, label={self.label!r})"

    @identity_property
    def name(self) -> str:
        """Object name."""
        return self.meta.name

    @property
    def is_particle(self) -> bool:
        """True for point-like objects (picks), False for objects shown as masks."""
        return self.meta.is_particle

    @property
    def label(self) -> int | None:
        """Label in multilabel segmentations."""
        return self.meta.label

    @property
    def color(self) -> tuple[int, int, int, int] | None:
        """RGBA colour."""
        return self.meta.color

    @property
    def emdb_id(self) -> str | None:
        """EMDB id."""
        return self.meta.emdb_id

    @property
    def pdb_id(self) -> str | None:
        """PDB id."""
        return self.meta.pdb_id

    @property
    def identifier(self) -> str | None:
        """GO id or UniProtKB accession."""
        return self.meta.identifier

    @property
    def map_threshold(self) -> float | None:
        """Isosurface threshold for the density map."""
        return self.meta.map_threshold

    @property
    def radius(self) -> float | None:
        """Particle radius in Å."""
        return self.meta.radius

    @property
    def metadata(self) -> dict[str, Any]:
        """Free-form metadata."""
        return self.meta.metadata

    @property
    def filament(self) -> FilamentSpec | None:
        """The object's filament declaration (``metadata["copick"]["filament"]``), or None."""
        return self.meta.filament

    @property
    def is_filament(self) -> bool:
        """Whether the object is declared a filament."""
        return self.meta.is_filament

    def zarr(self) -> Any:
        """The density map's zarr store, or None for objects that are not particles (backend hook)."""
        raise NotImplementedError

    def from_numpy(self, data: np.ndarray, voxel_size: float, dtype: Any = np.float32) -> None:
        """Store a density map (one OME-Zarr level) sampled at ``voxel_size`` Å (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the density map (the object itself stays in the project) (backend hook)."""
        raise NotImplementedError
