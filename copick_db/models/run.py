"""The spec's CopickRun: voxel spacings, picks, filaments, meshes and segmentations of one run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from copick_db.models.children import Children
from copick_db.models.entity import (
    ReadOnlyGuard,
    as_filter,
    check_ctor_kwargs,
    identity_property,
    matches,
    matches_voxel_size,
    run_names,
    split_kwargs,
    voxel_sizes_match,
)
from copick_db.models.meta import (
    CopickMeshMeta,
    CopickPicksFile,
    CopickRunMeta,
    CopickSegmentationMeta,
    CopickVoxelSpacingMeta,
    segmentation_type,
)
from copick_db.models.names import repair_name

if TYPE_CHECKING:
    from copick_db.models.annotations import CopickMesh, CopickPicks, CopickSegmentation
    from copick_db.models.filaments import CopickFilaments, CopickFilamentsFile
    from copick_db.models.root import CopickRoot
    from copick_db.models.values import CopickConfig
    from copick_db.models.voxel_spacing import CopickVoxelSpacing


class CopickRun(ReadOnlyGuard):
    """One run (one tilt series / tomogram position) of a project.

    Args:
        root: The project root.
        meta: The run's metadata.
        config: The configuration; the root's when None.
        read_only: True for a run that exists only as static data.
    """

    def __init__(
        self, root: CopickRoot, meta: CopickRunMeta, config: CopickConfig | None = None, read_only: bool = False
    ) -> None:
        self.root = root
        self.meta = meta
        self.config = config or root.config
        self._read_only = read_only
        # One object per child entity (see models.children): the run hands out only what these record.
        self._voxel_spacing_index: Children[CopickVoxelSpacing] = Children()
        self._picks_index: Children[CopickPicks] = Children()
        self._mesh_index: Children[CopickMesh] = Children()
        self._segmentation_index: Children[CopickSegmentation] = Children()
        self._filament_index: Children[CopickFilaments] = Children()

    def _parent_entity(self) -> ReadOnlyGuard:
        return self.root

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @identity_property
    def name(self) -> str:
        """The run name."""
        return self.meta.name

    @property
    def split(self) -> str | None:
        """The ML split this run belongs to (``train``, ``val``, ``test`` or any other name), or None.

        Setting it stores it at once (copick 1.31 keeps it only in its Croissant backend); None or ``""`` clears it.

        Raises:
            ValueError: (on setting) The value is not a string of printable characters.
            PermissionError: (on setting) The project is read-only.
        """
        return self._split

    @split.setter
    def split(self, value: str | None) -> None:
        value = check_split(value)
        self._check_writable(f"set the split of run {self.name!r}")
        self._store_split(value)
        self._split = value

    _split: str | None = None

    def _store_split(self, split: str | None) -> None:
        """Persist the run's split (backend hook)."""
        raise NotImplementedError

    # -- storage hooks ----------------------------------------------------------------------------------------

    def query_voxelspacings(self) -> list[CopickVoxelSpacing]:
        """Return the run's voxel spacings from storage (backend hook)."""
        raise NotImplementedError

    def query_picks(self) -> list[CopickPicks]:
        """Return the run's pick sets from storage (backend hook)."""
        raise NotImplementedError

    def query_filaments(self) -> list[CopickFilaments]:
        """Return the run's filament sets from storage (backend hook; backends without filaments have none)."""
        return []

    def query_meshes(self) -> list[CopickMesh]:
        """Return the run's meshes from storage (backend hook)."""
        raise NotImplementedError

    def query_segmentations(self) -> list[CopickSegmentation]:
        """Return the run's segmentations from storage (backend hook)."""
        raise NotImplementedError

    def _query_voxel_spacing(self, voxel_size: float) -> CopickVoxelSpacing | None:
        """Look one voxel spacing up without loading the others (backend hook; default scans the query)."""
        return next((vs for vs in self.query_voxelspacings() if voxel_sizes_match(vs.voxel_size, voxel_size)), None)

    def _query_picks(self, object_name: tuple | None, user_id: tuple | None, session_id: tuple | None) -> list:
        """Filtered pick sets straight from storage (backend hook; the default filters the full query)."""
        return _filter_owned(self.query_picks(), object_name, user_id, session_id)

    def _query_meshes(self, object_name: tuple | None, user_id: tuple | None, session_id: tuple | None) -> list:
        """Filtered meshes straight from storage (backend hook; the default filters the full query)."""
        return _filter_owned(self.query_meshes(), object_name, user_id, session_id)

    def _query_filaments(self, object_name: tuple | None, user_id: tuple | None, session_id: tuple | None) -> list:
        """Filtered filament sets straight from storage (backend hook; the default filters the full query)."""
        return _filter_owned(self.query_filaments(), object_name, user_id, session_id)

    def _query_segmentations(self, filters: dict[str, tuple | None]) -> list:
        """Filtered segmentations straight from storage (backend hook; the default filters the full query)."""
        return _filter_segmentations(self.query_segmentations(), filters)

    def _voxel_spacing_factory(self) -> tuple[type[CopickVoxelSpacing], type[CopickVoxelSpacingMeta]]:
        raise NotImplementedError

    def _picks_factory(self) -> tuple[type[CopickPicks], type[CopickPicksFile]]:
        raise NotImplementedError

    def _mesh_factory(self) -> tuple[type[CopickMesh], type[CopickMeshMeta]]:
        raise NotImplementedError

    def _filaments_factory(self) -> tuple[type[CopickFilaments], type[CopickFilamentsFile]]:
        raise NotImplementedError

    def _segmentation_factory(self) -> tuple[type[CopickSegmentation], type[CopickSegmentationMeta]]:
        raise NotImplementedError

    def _create_child(self, entity: Any) -> None:
        """Persist a new child entity; DuplicateEntityError if its identity is taken (backend hook)."""
        raise NotImplementedError

    def ensure(self, create: bool = False) -> bool:
        """Whether the run exists in storage; with ``create=True`` it is created when missing (backend hook)."""
        raise NotImplementedError

    def delete(self) -> None:
        """Delete the run with everything in it (backend hook)."""
        raise NotImplementedError

    # -- lazy caches ------------------------------------------------------------------------------------------

    # copick's attribute names: the loaded listing of each kind, or None until it is listed (copick's tests read them).

    @property
    def _voxel_spacings(self) -> list[CopickVoxelSpacing] | None:
        return self._voxel_spacing_index.listing

    @property
    def _picks(self) -> list[CopickPicks] | None:
        return self._picks_index.listing

    @property
    def _meshes(self) -> list[CopickMesh] | None:
        return self._mesh_index.listing

    @property
    def _segmentations(self) -> list[CopickSegmentation] | None:
        return self._segmentation_index.listing

    @property
    def _filaments(self) -> list[CopickFilaments] | None:
        return self._filament_index.listing

    @property
    def voxel_spacings(self) -> list[CopickVoxelSpacing]:
        """The run's voxel spacings, loaded on first access."""
        return self._voxel_spacing_index.listed(self.query_voxelspacings)

    @property
    def picks(self) -> list[CopickPicks]:
        """The run's pick sets, loaded on first access."""
        return self._picks_index.listed(self.query_picks)

    @property
    def filaments(self) -> list[CopickFilaments]:
        """The run's filament sets, loaded on first access."""
        return self._filament_index.listed(self.query_filaments)

    @property
    def meshes(self) -> list[CopickMesh]:
        """The run's meshes, loaded on first access."""
        return self._mesh_index.listed(self.query_meshes)

    @property
    def segmentations(self) -> list[CopickSegmentation]:
        """The run's segmentations, loaded on first access."""
        return self._segmentation_index.listed(self.query_segmentations)

    def refresh_voxel_spacings(self) -> None:
        """Forget cached voxel spacings."""
        self._voxel_spacing_index.clear()

    def refresh_picks(self) -> None:
        """Forget cached pick sets."""
        self._picks_index.clear()

    def refresh_meshes(self) -> None:
        """Forget cached meshes."""
        self._mesh_index.clear()

    def refresh_filaments(self) -> None:
        """Forget cached filament sets."""
        self._filament_index.clear()

    def refresh_segmentations(self) -> None:
        """Forget cached segmentations."""
        self._segmentation_index.clear()

    def refresh(self) -> None:
        """Forget every cache of this run; the next access queries storage."""
        self.refresh_voxel_spacings()
        self.refresh_picks()
        self.refresh_meshes()
        self.refresh_segmentations()
        self.refresh_filaments()

    # -- getters ----------------------------------------------------------------------------------------------

    def get_voxel_spacing(self, voxel_size: float, **kwargs: Any) -> CopickVoxelSpacing | None:
        """Return the voxel spacing of ``voxel_size`` Å (matched within 1e-3 Å), or None.

        If it is missing and keyword arguments are given, it is created with them.
        """
        spacings = self._voxel_spacing_index
        found = spacings.get((round(float(voxel_size), 3),))
        if found is None or not voxel_sizes_match(found.voxel_size, voxel_size):
            if spacings.listing is not None:
                found = next((vs for vs in spacings.listing if voxel_sizes_match(vs.voxel_size, voxel_size)), None)
            else:
                found = self._query_voxel_spacing(voxel_size)
                found = None if found is None else spacings.share(found)
        if found is None and kwargs:
            return self.new_voxel_spacing(voxel_size, **kwargs)
        return found

    def get_picks(
        self, object_name: Any = None, user_id: Any = None, session_id: Any = None, **kwargs: Any
    ) -> list[CopickPicks]:
        """Pick sets matching every given filter; each filter is one value or an iterable of values."""
        filters = (as_filter(object_name), as_filter(user_id), as_filter(session_id))
        children = self._picks_index
        if children.listing is not None:
            return _filter_owned(children.listing, *filters)
        return children.share_all(self._query_picks(*filters))

    def get_meshes(self, object_name: Any = None, user_id: Any = None, session_id: Any = None) -> list[CopickMesh]:
        """Meshes matching every given filter; each filter is one value or an iterable of values."""
        filters = (as_filter(object_name), as_filter(user_id), as_filter(session_id))
        children = self._mesh_index
        if children.listing is not None:
            return _filter_owned(children.listing, *filters)
        return children.share_all(self._query_meshes(*filters))

    def get_filaments(
        self, object_name: Any = None, user_id: Any = None, session_id: Any = None
    ) -> list[CopickFilaments]:
        """Filament sets matching every given filter; each filter is one value or an iterable of values."""
        filters = (as_filter(object_name), as_filter(user_id), as_filter(session_id))
        children = self._filament_index
        if children.listing is not None:
            return _filter_owned(children.listing, *filters)
        return children.share_all(self._query_filaments(*filters))

    def get_segmentations(
        self,
        user_id: Any = None,
        session_id: Any = None,
        is_multilabel: bool | None = None,
        name: Any = None,
        voxel_size: Any = None,
        *,
        is_instance: bool | None = False,
        is_panoptic: bool | None = False,
        **kwargs: Any,
    ) -> list[CopickSegmentation]:
        """Segmentations matching every given filter; each filter is one value or an iterable of values.

        As in copick 1.31, the default selects binary and multilabel segmentations: pass ``is_instance=True`` or
        ``is_panoptic=True`` for those types, or ``is_instance=None, is_panoptic=None`` for every type.

        Args:
            user_id: User id(s).
            session_id: Session id(s).
            is_multilabel: Only multilabel (True) or only not multilabel (False); None for either.
            name: Name(s).
            voxel_size: Voxel size(s) in Å, matched within 1e-3 Å.
            is_instance: Only instance (True) or no instance (False, default) segmentations; None for either.
            is_panoptic: Only panoptic (True) or no panoptic (False, default) segmentations; None for either.
            **kwargs: Accepted for subclasses; ignored.
        """
        filters = segmentation_filters(user_id, session_id, is_multilabel, name, voxel_size, is_instance, is_panoptic)
        children = self._segmentation_index
        if children.listing is not None:
            return _filter_segmentations(children.listing, filters)
        return children.share_all(self._query_segmentations(filters))

    def user_picks(self) -> list[CopickPicks]:
        """Pick sets made by people (``from_user``)."""
        return [p for p in self.picks if p.from_user]

    def tool_picks(self) -> list[CopickPicks]:
        """Pick sets made by tools (``from_tool``: user or session "0")."""
        return [p for p in self.picks if p.from_tool]

    def user_filaments(self) -> list[CopickFilaments]:
        """Filament sets traced by people (``from_user``)."""
        return [f for f in self.filaments if f.from_user]

    def tool_filaments(self) -> list[CopickFilaments]:
        """Filament sets made by tools (``from_tool``: user or session "0")."""
        return [f for f in self.filaments if f.from_tool]

    def user_meshes(self) -> list[CopickMesh]:
        """Meshes made by people."""
        return [m for m in self.meshes if m.from_user]

    def tool_meshes(self) -> list[CopickMesh]:
        """Meshes made by tools."""
        return [m for m in self.meshes if m.from_tool]

    def user_segmentations(self) -> list[CopickSegmentation]:
        """Segmentations (of every type) made by people."""
        return [s for s in self.segmentations if s.from_user]

    def tool_segmentations(self) -> list[CopickSegmentation]:
        """Segmentations (of every type) made by tools."""
        return [s for s in self.segmentations if s.from_tool]

    # -- factories --------------------------------------------------------------------------------------------

    def new_voxel_spacing(self, voxel_size: float, exist_ok: bool = False, **kwargs: Any) -> CopickVoxelSpacing:
        """Create a voxel spacing of ``voxel_size`` Å.

        Raises:
            ValueError: The voxel size is not a positive finite number, or it exists and ``exist_ok`` is False.
            PermissionError: The run is read-only.
        """
        voxel_size = _positive_voxel_size(voxel_size)
        self._check_writable(f"create voxel spacing {voxel_size} in run {self.name!r}")
        vs_cls, meta_cls = self._voxel_spacing_factory()
        meta_kwargs, ctor_kwargs = split_kwargs(meta_cls, kwargs)
        check_ctor_kwargs("new_voxel_spacing()", ctor_kwargs)
        vs = vs_cls(self, meta_cls(voxel_size=voxel_size, **meta_kwargs), **ctor_kwargs)
        return self._add(
            vs,
            self._voxel_spacing_index,
            self.query_voxelspacings,
            exist_ok,
            lambda: self._query_voxel_spacing(voxel_size),
        )

    def _owner(self, user_id: str | None, session_id: Any) -> tuple[str, str]:
        if session_id is None:
            session_id = self.root.session_id
        user_id = user_id if user_id is not None else self.root.user_id
        if user_id is None:
            raise ValueError("No user_id given and none configured; pass user_id=... or open the root with one.")
        if session_id is None:
            raise ValueError("No session_id given and none configured; pass session_id=... (tools use '0').")
        return repair_name(user_id, "user_id", 4), repair_name(session_id, "session_id", 4)

    def _known_object(self, object_name: str) -> str:
        object_name = repair_name(object_name, "object name", 4)
        if self.root.get_object(object_name) is None:
            known = ", ".join(o.name for o in self.root.pickable_objects) or "none"
            raise ValueError(f"Unknown object {object_name!r}; add it with root.new_object() first (known: {known}).")
        return object_name

    def new_picks(
        self, object_name: str, session_id: str | None = None, user_id: str | None = None, exist_ok: bool = False
    ) -> CopickPicks:
        """Create an empty pick set for ``object_name`` owned by (user_id, session_id).

        Names are repaired to copick's rule with a UserWarning. ``user_id`` falls back to the root's.

        Raises:
            ValueError: Unknown object, no user id, or the set exists and ``exist_ok`` is False.
            PermissionError: The run is read-only.
        """
        object_name = self._known_object(object_name)
        user_id, session_id = self._owner(user_id, session_id)
        self._check_writable(f"create picks in run {self.name!r}")
        picks_cls, meta_cls = self._picks_factory()
        meta = meta_cls(
            pickable_object_name=object_name, user_id=user_id, session_id=session_id, run_name=self.name, points=[]
        )
        picks = picks_cls(self, meta)
        return self._add(
            picks,
            self._picks_index,
            self.query_picks,
            exist_ok,
            lambda: _first(self._query_picks((object_name,), (user_id,), (session_id,))),
        )

    def new_filaments(
        self, object_name: str, session_id: str | None = None, user_id: str | None = None, exist_ok: bool = False
    ) -> CopickFilaments:
        """Create an empty filament set for ``object_name`` owned by (user_id, session_id).

        Names are repaired to copick's rule with a UserWarning; ``user_id`` and ``session_id`` fall back to the
        root's. As in copick, an object that is not declared a filament is allowed, with a logged warning.

        Raises:
            ValueError: Unknown object, no user id, or the set exists and ``exist_ok`` is False.
            PermissionError: The run is read-only.
        """
        object_name = self._known_object(object_name)
        obj = self.root.get_object(object_name)
        if obj is not None and not obj.is_filament:
            logging.getLogger(__name__).warning(
                "Object %s is not declared a filament (see PickableObject.set_filament).", object_name
            )
        user_id, session_id = self._owner(user_id, session_id)
        self._check_writable(f"create filaments in run {self.name!r}")
        filaments_cls, meta_cls = self._filaments_factory()
        meta = meta_cls(pickable_object_name=object_name, user_id=user_id, session_id=session_id, run_name=self.name)
        filaments = filaments_cls(self, meta)
        return self._add(
            filaments,
            self._filament_index,
            self.query_filaments,
            exist_ok,
            lambda: _first(self._query_filaments((object_name,), (user_id,), (session_id,))),
        )

    def new_mesh(
        self,
        object_name: str,
        session_id: str | None = None,
        user_id: str | None = None,
        exist_ok: bool = False,
        **kwargs: Any,
    ) -> CopickMesh:
        """Create an empty mesh for ``object_name`` owned by (user_id, session_id).

        Raises:
            ValueError: Unknown object, no user id, or the mesh exists and ``exist_ok`` is False.
            PermissionError: The run is read-only.
        """
        object_name = self._known_object(object_name)
        user_id, session_id = self._owner(user_id, session_id)
        self._check_writable(f"create a mesh in run {self.name!r}")
        mesh_cls, meta_cls = self._mesh_factory()
        meta_kwargs, ctor_kwargs = split_kwargs(meta_cls, kwargs)
        check_ctor_kwargs("new_mesh()", ctor_kwargs)
        meta = meta_cls(pickable_object_name=object_name, user_id=user_id, session_id=session_id, **meta_kwargs)
        mesh = mesh_cls(self, meta, **ctor_kwargs)
        return self._add(
            mesh,
            self._mesh_index,
            self.query_meshes,
            exist_ok,
            lambda: _first(self._query_meshes((object_name,), (user_id,), (session_id,))),
        )

    def new_segmentation(
        self,
        voxel_size: float,
        name: str,
        session_id: str | None = None,
        is_multilabel: bool = False,
        user_id: str | None = None,
        exist_ok: bool = False,
        *,
        is_instance: bool = False,
        is_panoptic: bool = False,
        **kwargs: Any,
    ) -> CopickSegmentation:
        """Create an empty segmentation of one type: binary (no flag), multilabel, instance or panoptic.

        Binary and instance segmentations are named after a pickable object; multilabel and panoptic names are free.

        Args:
            voxel_size: Voxel size in Å.
            name: Object name (binary, instance) or any name (multilabel, panoptic).
            session_id: Session id; the root's when None.
            is_multilabel: Voxels hold object labels.
            user_id: User id; the root's when None.
            exist_ok: Return the existing segmentation instead of raising.
            is_instance: Voxels hold instance ids of object ``name``.
            is_panoptic: (2, z, y, x): object label and instance id per voxel.
            **kwargs: Meta fields, or constructor arguments (``config``).

        Raises:
            ValueError: Several type flags, bad voxel size or name, no user id, or it exists and ``exist_ok`` is
                False.
            PermissionError: The run is read-only.
        """
        kind = segmentation_type(is_multilabel, is_instance, is_panoptic)
        voxel_size = _positive_voxel_size(voxel_size)
        if kind in ("binary", "instance"):
            name = self._known_object(name)
        else:
            name = repair_name(name, "segmentation name")
        if kind == "binary" and name.endswith("-multilabel"):
            raise ValueError(
                f"A binary segmentation of {name!r} would be stored under the name of a multilabel segmentation "
                f"{name[: -len('-multilabel')]!r}; rename the object so that it does not end in '-multilabel'."
            )
        user_id, session_id = self._owner(user_id, session_id)
        self._check_writable(f"create a segmentation in run {self.name!r}")
        seg_cls, meta_cls = self._segmentation_factory()
        meta_kwargs, ctor_kwargs = split_kwargs(meta_cls, kwargs)
        check_ctor_kwargs("new_segmentation()", ctor_kwargs)
        meta = meta_cls(
            voxel_size=voxel_size,
            name=name,
            user_id=user_id,
            session_id=session_id,
            is_multilabel=bool(is_multilabel),
            is_instance=bool(is_instance),
            is_panoptic=bool(is_panoptic),
            **meta_kwargs,
        )
        seg = seg_cls(self, meta, **ctor_kwargs)
        filters = segmentation_filters(
            user_id, session_id, bool(is_multilabel), name, voxel_size, bool(is_instance), bool(is_panoptic)
        )
        return self._add(
            seg,
            self._segmentation_index,
            self.query_segmentations,
            exist_ok,
            lambda: _first(self._query_segmentations(filters)),
        )

    def _add(self, entity: Any, children: Children, query: Any, exist_ok: bool, lookup: Any) -> Any:
        """Persist a new child into the parent's listing (see :meth:`Children.append_new`)."""
        return children.append_new(entity, self._create_child, query=query, lookup=lookup, exist_ok=exist_ok)

    def _forget(self, entity: Any) -> None:
        """Drop a deleted child from whichever record holds it."""
        for children in (
            self._voxel_spacing_index,
            self._picks_index,
            self._mesh_index,
            self._segmentation_index,
            self._filament_index,
        ):
            children.remove(entity)

    # -- bulk deletes -----------------------------------------------------------------------------------------

    def delete_voxel_spacings(self, voxel_size: float | None = None) -> None:
        """Delete the voxel spacing of ``voxel_size`` (all of them when None) with their tomograms."""
        for vs in list(self.voxel_spacings):
            if voxel_size is None or voxel_sizes_match(vs.voxel_size, voxel_size):
                vs.delete()

    def delete_picks(self, object_name: Any = None, user_id: Any = None, session_id: Any = None) -> None:
        """Delete the pick sets matching the filters (every pick set when all are None)."""
        for picks in self.get_picks(object_name, user_id, session_id):
            picks.delete()

    def delete_meshes(self, object_name: Any = None, user_id: Any = None, session_id: Any = None) -> None:
        """Delete the meshes matching the filters (every mesh when all are None)."""
        for mesh in self.get_meshes(object_name, user_id, session_id):
            mesh.delete()

    def delete_filaments(self, object_name: Any = None, user_id: Any = None, session_id: Any = None) -> None:
        """Delete the filament sets matching the filters (every set when all are None)."""
        for filaments in self.get_filaments(object_name, user_id, session_id):
            filaments.delete()

    def delete_segmentations(
        self,
        user_id: Any = None,
        session_id: Any = None,
        is_multilabel: bool | None = None,
        name: Any = None,
        voxel_size: Any = None,
        *,
        is_instance: bool | None = False,
        is_panoptic: bool | None = False,
    ) -> None:
        """Delete the segmentations matching the filters; like :meth:`get_segmentations`, binary and multilabel
        ones by default (``is_instance=None, is_panoptic=None`` for every type)."""
        found = self.get_segmentations(
            user_id, session_id, is_multilabel, name, voxel_size, is_instance=is_instance, is_panoptic=is_panoptic
        )
        for seg in found:
            seg.delete()


def check_split(value: Any) -> str | None:
    """A run's ML split as stored: a non-empty name of printable characters, or None (``""`` clears, as in copick).

    Raises:
        ValueError: Anything else.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value != value.strip() or not value.isprintable() or len(value) > 64:
        raise ValueError(
            f"A run's split must be a name such as 'train', 'val' or 'test' (printable, no surrounding spaces, at most "
            f"64 characters), or None to clear it; got {value!r}."
        )
    return value


def split_assignments(mapping: dict[str, Any]) -> dict[str, str | None]:
    """``{run name: split}`` from ``{split: iterable of run names or runs}``, each split name checked.

    Raises:
        ValueError: A split name is invalid, or a run is assigned to two splits.
    """
    if not isinstance(mapping, dict):
        raise ValueError(f"Splits are given as {{split: [run names]}}, not {type(mapping).__name__}.")
    assignments: dict[str, str | None] = {}
    for split, runs in mapping.items():
        checked = check_split(split)
        if checked is None:
            raise ValueError("A split needs a name; use clear_splits() to remove runs from their splits.")
        for name in run_names([runs] if isinstance(runs, str) else runs) or []:
            if assignments.get(name, checked) != checked:
                raise ValueError(f"Run {name!r} was assigned to two splits: {assignments[name]!r} and {checked!r}.")
            assignments[name] = checked
    return assignments


def _positive_voxel_size(voxel_size: Any) -> float:
    try:
        value = float(voxel_size)
    except (TypeError, ValueError):
        raise ValueError(f"voxel_size must be a number of ångström, got {voxel_size!r}") from None
    if not (value > 0 and value != float("inf")):
        raise ValueError(f"voxel_size must be a positive finite number of ångström, got {voxel_size!r}")
    return value


def _first(items: list) -> Any:
    return items[0] if items else None


def _filter_owned(items: list, object_name: tuple | None, user_id: tuple | None, session_id: tuple | None) -> list:
    return [
        i
        for i in items
        if matches(i.pickable_object_name, object_name)
        and matches(i.user_id, user_id)
        and matches(i.session_id, session_id)
    ]


#: The boolean type flags of a segmentation, in the order of its catalog columns.
SEGMENTATION_FLAGS = ("is_multilabel", "is_instance", "is_panoptic")


def segmentation_filters(
    user_id: Any = None,
    session_id: Any = None,
    is_multilabel: Any = None,
    name: Any = None,
    voxel_size: Any = None,
    is_instance: Any = None,
    is_panoptic: Any = None,
) -> dict[str, tuple | None]:
    """The normalised filters of a segmentation getter (see :func:`~copick_db.models.entity.as_filter`)."""
    return {
        "user_id": as_filter(user_id),
        "session_id": as_filter(session_id),
        "is_multilabel": as_filter(is_multilabel),
        "name": as_filter(name),
        "voxel_size": as_filter(voxel_size),
        "is_instance": as_filter(is_instance),
        "is_panoptic": as_filter(is_panoptic),
    }


def _filter_segmentations(items: list, filters: dict[str, tuple | None]) -> list:
    return [
        s
        for s in items
        if matches(s.user_id, filters.get("user_id"))
        and matches(s.session_id, filters.get("session_id"))
        and all(matches(getattr(s, flag), filters.get(flag)) for flag in SEGMENTATION_FLAGS)
        and matches(s.name, filters.get("name"))
        and matches_voxel_size(s.voxel_size, filters.get("voxel_size"))
    ]
