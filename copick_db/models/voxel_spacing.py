"""The spec's CopickVoxelSpacing: the tomograms of one run at one voxel size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from copick_db.models.children import Children
from copick_db.models.entity import ReadOnlyGuard, check_ctor_kwargs, identity_property, split_kwargs
from copick_db.models.meta import CopickTomogramMeta, CopickVoxelSpacingMeta
from copick_db.models.names import repair_name

if TYPE_CHECKING:
    from copick_db.models.run import CopickRun
    from copick_db.models.tomogram import CopickTomogram
    from copick_db.models.values import CopickConfig


class CopickVoxelSpacing(ReadOnlyGuard):
    """A voxel spacing of a run. Voxel sizes are in ångström, stored verbatim (contract C18).

    Args:
        run: The run it belongs to.
        meta: Its metadata.
        config: The configuration; the run's when None.
        read_only: True for static data.
    """

    def __init__(
        self, run: CopickRun, meta: CopickVoxelSpacingMeta, config: CopickConfig | None = None, read_only: bool = False
    ) -> None:
        self.run = run
        self.meta = meta
        self.config = config or run.config
        self._read_only = read_only
        self._tomogram_index: Children[CopickTomogram] = Children()  # one object per tomogram (models.children)

    def _parent_entity(self) -> ReadOnlyGuard:
        return self.run

    def __repr__(self) -> str:
        return f"{type(self).__name__}(run={self.run.name!r}, voxel_size={self.voxel_size!r})"

    @identity_property
    def voxel_size(self) -> float:
        """Voxel size in Å."""
        return self.meta.voxel_size

    @property
    def identity(self) -> tuple:
        """What makes this voxel spacing unique within its run: its size to 3 decimals."""
        return (round(self.voxel_size, 3),)

    def query_tomograms(self) -> list[CopickTomogram]:
        """Return the tomograms from storage (backend hook)."""
        raise NotImplementedError

    def _query_tomograms(self, tomo_type: str) -> list[CopickTomogram]:
        """Tomograms of one type straight from storage (backend hook; the default filters the full query)."""
        return [t for t in self.query_tomograms() if t.tomo_type == tomo_type]

    @property
    def _tomograms(self) -> list[CopickTomogram] | None:
        """The loaded tomogram listing, or None until listed (copick's attribute, read by copick's tests)."""
        return self._tomogram_index.listing

    @property
    def tomograms(self) -> list[CopickTomogram]:
        """The tomograms, loaded on first access."""
        return self._tomogram_index.listed(self.query_tomograms)

    def get_tomogram(self, tomo_type: str) -> CopickTomogram | None:
        """Return the tomogram of ``tomo_type``, or None (no deprecation warning, contract C19)."""
        found = self.get_tomograms(tomo_type)
        return found[0] if found else None

    def get_tomograms(self, tomo_type: str | None = None, **kwargs: Any) -> list[CopickTomogram]:
        """Tomograms of ``tomo_type``; every tomogram when None (contract C22)."""
        if tomo_type is None:
            return list(self.tomograms)
        children = self._tomogram_index
        if children.listing is not None:
            return [t for t in children.listing if t.tomo_type == tomo_type]
        known = children.get((tomo_type,))
        if known is not None:
            return [known]
        return children.share_all(self._query_tomograms(tomo_type))

    def _tomogram_factory(self) -> tuple[type[CopickTomogram], type[CopickTomogramMeta]]:
        raise NotImplementedError

    def _create_child(self, entity: Any) -> None:
        """Persist a new tomogram; DuplicateEntityError if its type is taken (backend hook)."""
        raise NotImplementedError

    def new_tomogram(self, tomo_type: str, exist_ok: bool = False, **kwargs: Any) -> CopickTomogram:
        """Create an empty tomogram of ``tomo_type`` (repaired to copick's name rule with a warning).

        Write its data with ``from_numpy``.

        Raises:
            ValueError: The type exists and ``exist_ok`` is False, or the name repairs to nothing.
            PermissionError: The voxel spacing is read-only.
        """
        tomo_type = repair_name(tomo_type, "tomo_type")
        self._check_writable(f"create tomogram {tomo_type!r}")
        tomo_cls, meta_cls = self._tomogram_factory()
        meta_kwargs, ctor_kwargs = split_kwargs(meta_cls, kwargs)
        check_ctor_kwargs("new_tomogram()", ctor_kwargs)
        tomogram = tomo_cls(self, meta_cls(tomo_type=tomo_type, **meta_kwargs), **ctor_kwargs)
        return self._tomogram_index.append_new(
            tomogram,
            self._create_child,
            query=self.query_tomograms,
            lookup=lambda: next(iter(self._query_tomograms(tomo_type)), None),
            exist_ok=exist_ok,
        )

    def _forget(self, tomogram: CopickTomogram) -> None:
        self._tomogram_index.remove(tomogram)

    def refresh_tomograms(self) -> None:
        """Forget cached tomograms."""
        self._tomogram_index.clear()

    def refresh(self) -> None:
        """Forget every cache of this voxel spacing."""
        self.refresh_tomograms()

    def ensure(self, create: bool = False) -> bool:
        """Whether the voxel spacing exists in storage; ``create=True`` creates it when missing (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the voxel spacing and its tomograms (backend hook)."""
        raise NotImplementedError

    def delete_tomograms(self, tomo_type: str | None = None) -> None:
        """Delete the tomograms of ``tomo_type`` (all of them when None)."""
        for tomogram in self.get_tomograms(tomo_type):
            tomogram.delete()
