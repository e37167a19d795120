"""The spec's CopickRoot: the project's configuration, its runs and its pickable objects.

Backends implement the ``query()`` hook and the ``_query_run``/``_create_*`` hooks; everything else (lazy caches,
filters, refresh, user/session fallbacks, duplicate handling) lives here.
"""

from __future__ import annotations

import warnings
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from copick_db.errors import DuplicateEntityError
from copick_db.models.children import Children
from copick_db.models.entity import (
    ReadOnlyGuard,
    as_filter,
    check_ctor_kwargs,
    matches,
    matches_voxel_size,
    run_names,
    split_kwargs,
)
from copick_db.models.meta import CopickRunMeta
from copick_db.models.names import validate_name
from copick_db.models.run import split_assignments
from copick_db.models.values import CopickConfig, FilamentSpec, PickableObject, metadata_with_filament

if TYPE_CHECKING:
    from copick_db.models.annotations import CopickMesh, CopickPicks, CopickSegmentation
    from copick_db.models.filaments import CopickFilaments
    from copick_db.models.object import CopickObject
    from copick_db.models.run import CopickRun
    from copick_db.models.tomogram import CopickTomogram


class _LostRace(DuplicateEntityError):
    """The catalog refused an object our (stale) list said was new: another writer got there first."""


#: How often new_object looks again after losing a race for a name or label to another writer.
_OBJECT_RACE_RETRIES = 20


class CopickRoot(ReadOnlyGuard):
    """The root of a CoPick project.

    Args:
        config: The project configuration. Its ``user_id``/``session_id`` are the defaults for new entities.
    """

    def __init__(self, config: CopickConfig) -> None:
        self.config = config
        self._run_index: Children[CopickRun] = Children(attrgetter("name"))  # one object per run (models.children)
        self._objects: list[CopickObject] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.config.name!r})"

    # -- identity ---------------------------------------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        """The user id new entities get when none is given."""
        return self.config.user_id

    @user_id.setter
    def user_id(self, value: str | None) -> None:
        self.config.user_id = None if value is None else validate_name(value, "user_id")

    @property
    def session_id(self) -> str | None:
        """The session id new entities get when none is given."""
        return self.config.session_id

    @session_id.setter
    def session_id(self, value: str | None) -> None:
        self.config.session_id = None if value is None else validate_name(value, "session_id")

    # -- runs -------------------------------------------------------------------------------------------------

    def query(self) -> list[CopickRun]:
        """Return every run of the project from storage (backend hook)."""
        raise NotImplementedError

    @property
    def _runs(self) -> list[CopickRun] | None:
        """The loaded run listing, or None until runs are listed (copick's attribute, read by copick's tests)."""
        return self._run_index.listing

    @property
    def runs(self) -> list[CopickRun]:
        """All runs, loaded on first access and cached until :meth:`refresh`."""
        return self._run_index.listed(self.query)

    def _query_run(self, name: str) -> CopickRun | None:
        """Look one run up by name without loading the others (backend hook; the default scans ``query()``)."""
        return next((run for run in self.query() if run.name == name), None)

    def get_run(self, name: str, **kwargs: Any) -> CopickRun | None:
        """Return the run called ``name``, or None.

        On a loaded listing this is a dictionary lookup; otherwise the run is looked up by key without loading the
        others. Either way the same run object is returned each time (until :meth:`refresh`).
        If the run is missing and keyword arguments are given, it is created with them (spec behaviour).

        Args:
            name: The run name.
            **kwargs: Meta fields (e.g. ``description``) for creating the run when it is missing.

        Returns:
            The run, or None when it does not exist and no kwargs were given.
        """
        runs = self._run_index
        run = runs.get(name)
        if run is None and runs.listing is None:
            run = self._query_run(name)
            if run is not None:
                run = runs.share(run)
        if run is None and kwargs:
            return self.new_run(name, **kwargs)
        return run

    def _run_factory(self) -> tuple[type[CopickRun], type[CopickRunMeta]]:
        """Return the run class and its meta class (backend hook)."""
        raise NotImplementedError

    def _create_run(self, run: CopickRun) -> None:
        """Persist a new run; raise DuplicateEntityError if its name is taken (backend hook)."""
        raise NotImplementedError

    def new_run(self, name: str, exist_ok: bool = False, **kwargs: Any) -> CopickRun:
        """Create a run.

        Args:
            name: The run name (any non-empty name that is safe as a directory name; ``TS_001`` is fine).
            exist_ok: Return the existing run instead of raising when the name is taken.
            **kwargs: Meta fields (``description``, ``created``, ...) or constructor arguments (``config``).

        Returns:
            The new (or, with ``exist_ok``, the existing) run.

        Raises:
            ValueError: The name is invalid, or a run of that name exists and ``exist_ok`` is False.
            PermissionError: The project is read-only.
        """
        self._check_writable(f"create run {name!r}")
        run_cls, meta_cls = self._run_factory()
        meta_kwargs, ctor_kwargs = split_kwargs(meta_cls, kwargs)
        check_ctor_kwargs("new_run()", ctor_kwargs)
        run = run_cls(self, meta_cls(name=name, **meta_kwargs), **ctor_kwargs)
        self._run_index.listed(self.query)  # as copick: the list is loaded and the new run joins it
        try:
            self._create_run(run)
        except DuplicateEntityError:
            if not exist_ok:
                raise DuplicateEntityError(
                    f"Run {name!r} already exists; pass exist_ok=True to get the existing one."
                ) from None
            known = self._run_index.get(name)
            if known is not None:
                return known
            existing = self._query_run(name)
            if existing is None:  # deleted between our insert attempt and the lookup
                return self.new_run(name, exist_ok=exist_ok, **kwargs)
            return self._run_index.add(existing)
        return self._run_index.add(run)

    def delete_run(self, name: str) -> None:
        """Delete the run called ``name`` and everything in it; a missing run is a no-op (copick behaviour)."""
        run = self.get_run(name)
        if run is not None:
            run.delete()

    def _forget_run(self, run: CopickRun) -> None:
        self._run_index.remove(run)

    # -- pickable objects -------------------------------------------------------------------------------------

    def _object_factory(self) -> tuple[type[CopickObject], type[PickableObject]]:
        """Return the object class and its meta class (backend hook)."""
        raise NotImplementedError

    def query_objects(self) -> list[CopickObject]:
        """Return the project's pickable objects; the default builds them from ``config.pickable_objects``."""
        obj_cls, _ = self._object_factory()
        return [obj_cls(self, meta) for meta in self.config.pickable_objects]

    @property
    def pickable_objects(self) -> list[CopickObject]:
        """The project's pickable objects, loaded on first access."""
        if self._objects is None:
            self._objects = self.query_objects()
        return self._objects

    def get_object(self, name: str) -> CopickObject | None:
        """Return the pickable object called ``name``, or None.

        An object that code appended to ``config.pickable_objects`` by hand (copick reads its objects from there) is
        stored on first use, with the next free label if its own is taken.
        """
        found = next((o for o in self.pickable_objects if o.name == name), None)
        if found is None and not self.read_only:
            found = self._adopt_configured_object(name)
        return found

    def _adopt_configured_object(self, name: str) -> CopickObject | None:
        """Store the object called ``name`` that was appended to ``config.pickable_objects``; None if there is none."""
        appended = next((m for m in self.config.pickable_objects if getattr(m, "name", None) == name), None)
        if appended is None:
            return None
        # copick's own PickableObject is accepted by value, as everywhere else.
        fields = PickableObject.model_validate(appended.model_dump()).model_dump(exclude={"name"})
        label = fields.pop("label")
        holder = next((o for o in self.pickable_objects if label is not None and o.label == label), None)
        if holder is not None:
            warnings.warn(
                f"Object {name!r}, added to config.pickable_objects, has label {label}, which {holder.name!r} already "
                "uses; it gets the next free label (labels identify objects in multilabel segmentations).",
                UserWarning,
                stacklevel=3,
            )
            label = None
        self.config.pickable_objects.remove(appended)  # new_object lists the stored version
        return self.new_object(name, label=label, exist_ok=True, **fields)

    def _create_object(self, obj: CopickObject) -> None:
        """Persist a new pickable object; DuplicateEntityError on a taken name or label (backend hook)."""
        raise NotImplementedError

    def _update_object(self, obj: CopickObject) -> None:
        """Persist changed fields of an existing pickable object (backend hook)."""
        raise NotImplementedError

    def new_object(
        self,
        name: str,
        is_particle: bool,
        label: int | None = None,
        color: tuple[int, int, int, int] | None = None,
        emdb_id: str | None = None,
        pdb_id: str | None = None,
        identifier: str | None = None,
        map_threshold: float | None = None,
        radius: float | None = None,
        metadata: dict[str, Any] | None = None,
        exist_ok: bool = False,
        filament: FilamentSpec | dict[str, Any] | None = None,
    ) -> CopickObject:
        """Add a pickable object to the project.

        Args:
            name: Object name; must follow copick's name rule (no ``_``, whitespace, ``/``...).
            is_particle: True for point-like objects, False for objects shown as masks.
            label: Label in multilabel segmentations; the next free label when None.
            color: RGBA colour, 4 ints 0–255; grey when None.
            emdb_id: EMDB id.
            pdb_id: PDB id.
            identifier: GO id or UniProtKB accession.
            map_threshold: Isosurface threshold for the density map.
            radius: Particle radius in Å.
            metadata: Free-form metadata.
            exist_ok: Update the existing object's given fields instead of raising.
            filament: Declare the object a filament (a FilamentSpec or a dict of its fields), kept as
                ``metadata["copick"]["filament"]``; needs ``is_particle=True``. None leaves the metadata as given.

        Returns:
            The new or updated object.

        Raises:
            ValueError: Bad name, existing name without ``exist_ok``, a label another object uses, or an invalid
                object (e.g. a filament spec on an object that is not a particle).
            PermissionError: The project is read-only.
        """
        validate_name(name, "object name")
        self._check_writable(f"create object {name!r}")
        if name.endswith("-multilabel"):
            warnings.warn(
                f"Object name {name!r} ends in '-multilabel', the suffix that marks multilabel segmentation stores; "
                "its binary segmentations cannot be stored.",
                UserWarning,
                stacklevel=2,
            )
        fields = {
            "is_particle": is_particle,
            "label": label,
            "color": color,
            "emdb_id": emdb_id,
            "pdb_id": pdb_id,
            "identifier": identifier,
            "map_threshold": map_threshold,
            "radius": radius,
            "metadata": metadata,
            "filament": filament,
        }
        for _ in range(_OBJECT_RACE_RETRIES):
            try:
                return self._add_object(name, exist_ok, **fields)
            except _LostRace:
                # Another process added this object, or took the label we chose, after our list was loaded: look
                # again. Each round at least one of the racing writers succeeds.
                self._objects = None
        return self._add_object(name, exist_ok, **fields)

    def _add_object(
        self,
        name: str,
        exist_ok: bool,
        *,
        is_particle: bool,
        label: int | None,
        color: Any,
        emdb_id: str | None,
        pdb_id: str | None,
        identifier: str | None,
        map_threshold: float | None,
        radius: float | None,
        metadata: dict[str, Any] | None,
        filament: Any,
    ) -> CopickObject:
        existing = self.get_object(name)
        if existing is not None:
            if not exist_ok:
                raise DuplicateEntityError(f"Object {name!r} already exists; pass exist_ok=True to update it.")
            if filament is not None:
                metadata = metadata_with_filament(metadata or existing.metadata, filament)
            return self._update_existing_object(
                existing,
                is_particle=is_particle,
                label=label,
                color=color,
                emdb_id=emdb_id,
                pdb_id=pdb_id,
                identifier=identifier,
                map_threshold=map_threshold,
                radius=radius,
                metadata=metadata,
            )
        used = {o.label for o in self.pickable_objects if o.label is not None}
        if label is not None and label in used:
            raise DuplicateEntityError(f"Label {label} is already used by another object; choose another label.")
        if label is None:
            label = max(used, default=0) + 1
        obj_cls, meta_cls = self._object_factory()
        meta = meta_cls(
            name=name,
            is_particle=is_particle,
            label=label,
            color=color if color is not None else (100, 100, 100, 255),
            emdb_id=emdb_id,
            pdb_id=pdb_id,
            identifier=identifier,
            map_threshold=map_threshold,
            radius=radius,
            metadata=metadata_with_filament(metadata, filament) if filament is not None else (metadata or {}),
        )
        obj = obj_cls(self, meta)
        try:
            self._create_object(obj)
        except DuplicateEntityError as exc:
            raise _LostRace(str(exc)) from None
        self.config.pickable_objects.append(meta)
        if self._objects is not None:
            self._objects.append(obj)
        return obj

    def _update_existing_object(self, obj: CopickObject, **fields: Any) -> CopickObject:
        label = fields.get("label")
        if label and any(o.label == label and o.name != obj.name for o in self.pickable_objects):
            raise DuplicateEntityError(f"Label {label} is already used by another object; choose another label.")
        # copick's exist_ok updates only the arguments that were given (truthy), plus is_particle.
        changes = {k: v for k, v in fields.items() if v or k == "is_particle"}
        obj.meta = obj.meta.model_validate({**obj.meta.model_dump(), **changes})
        for i, meta in enumerate(self.config.pickable_objects):
            if meta.name == obj.name:
                self.config.pickable_objects[i] = obj.meta
        self._update_object(obj)
        return obj

    # -- ML splits (copick 1.31's Croissant backend keeps them per run) --------------------------------------------

    @property
    def splits(self) -> dict[str, list[str]]:
        """``{split: [run names, sorted]}`` for the runs that have a split."""
        found: dict[str, list[str]] = {}
        for run in self.runs:
            if run.split is not None:
                found.setdefault(run.split, []).append(run.name)
        return {k: sorted(v) for k, v in sorted(found.items())}

    def get_runs_in_split(self, split: str) -> list[CopickRun]:
        """The runs assigned to ``split``, sorted by name."""
        return [r for r in self.runs if r.split == split]

    def set_splits(self, mapping: dict[str, Any], *, clear_existing: bool = False) -> None:
        """Assign splits to runs all at once: ``mapping`` is ``{split: iterable of run names or runs}``.

        Args:
            mapping: The runs of each split; a run may appear in one split only.
            clear_existing: Clear every run's split first, so that afterwards exactly ``mapping`` holds.

        Raises:
            ValueError: A run is in two splits, a split name is invalid, or a run does not exist (nothing changes).
            PermissionError: The project is read-only.
        """
        self._check_writable("set run splits")
        self._store_splits(split_assignments(mapping), clear_existing)

    def clear_splits(self, runs: Any = None) -> None:
        """Clear the split of ``runs`` (names or runs), or of every run when None.

        Raises:
            PermissionError: The project is read-only.
        """
        self._check_writable("clear run splits")
        if runs is None:
            self._store_splits({}, clear_existing=True)
        else:
            self._store_splits(dict.fromkeys(run_names(runs) or [], None), clear_existing=False)

    def _store_splits(self, assignments: dict[str, str | None], clear_existing: bool) -> None:
        """Persist ``{run name: split or None}`` atomically, first clearing every split if asked (backend hook).

        Raises:
            ValueError: A named run does not exist (nothing changes then).
        """
        raise NotImplementedError

    # -- across runs (beyond copick) ----------------------------------------------------------------------------

    def _selected_runs(self, runs: Any, split: Any = None) -> list[CopickRun]:
        """The runs a ``runs=`` filter names (run objects or names) and a ``split=`` filter allows; all when None."""
        wanted = run_names(runs)
        splits = as_filter(split)
        return [
            r for r in self.runs if (wanted is None or r.name in set(wanted)) and (splits is None or r.split in splits)
        ]

    def get_picks(
        self,
        object_name: Any = None,
        user_id: Any = None,
        session_id: Any = None,
        *,
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickPicks]:
        """Pick sets matching the filters across runs (each filter one value or an iterable), each bound to its run.

        Args:
            object_name: Object name(s).
            user_id: User id(s).
            session_id: Session id(s).
            runs: Only these runs (names or run objects); every run when None.
            split: Only runs in this ML split (or these splits); every run when None.
        """
        selected = self._selected_runs(runs, split)
        return [p for run in selected for p in run.get_picks(object_name, user_id, session_id)]

    def get_meshes(
        self,
        object_name: Any = None,
        user_id: Any = None,
        session_id: Any = None,
        *,
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickMesh]:
        """Meshes matching the filters across runs, each bound to its run (arguments as for :meth:`get_picks`)."""
        selected = self._selected_runs(runs, split)
        return [m for run in selected for m in run.get_meshes(object_name, user_id, session_id)]

    def get_filaments(
        self,
        object_name: Any = None,
        user_id: Any = None,
        session_id: Any = None,
        *,
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickFilaments]:
        """Filament sets matching the filters across runs (each filter one value or an iterable), bound to their runs.

        Args:
            object_name: Object name(s).
            user_id: User id(s).
            session_id: Session id(s).
            runs: Only these runs (names or run objects); every run when None.
            split: Only runs in this ML split (or these splits); every run when None.
        """
        selected = self._selected_runs(runs, split)
        return [f for run in selected for f in run.get_filaments(object_name, user_id, session_id)]

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
        runs: Any = None,
        split: Any = None,
    ) -> list[CopickSegmentation]:
        """Segmentations matching the filters across runs, each bound to its run.

        As per run, binary and multilabel segmentations by default; ``is_instance=None, is_panoptic=None`` selects
        every type.
        """
        return [
            s
            for run in self._selected_runs(runs, split)
            for s in run.get_segmentations(
                user_id, session_id, is_multilabel, name, voxel_size, is_instance=is_instance, is_panoptic=is_panoptic
            )
        ]

    def get_tomograms(
        self, tomo_type: Any = None, voxel_size: Any = None, *, runs: Any = None, split: Any = None
    ) -> list[CopickTomogram]:
        """Tomograms of the given type(s) and voxel size(s) across runs (and ML split(s)), bound to their spacings."""
        types, sizes = as_filter(tomo_type), as_filter(voxel_size)
        return [
            t
            for run in self._selected_runs(runs, split)
            for vs in run.voxel_spacings
            if matches_voxel_size(vs.voxel_size, sizes)
            for t in vs.tomograms
            if matches(t.tomo_type, types)
        ]

    def stats(self) -> dict[str, Any]:
        """Counts per entity kind (``filaments`` counts filament sets), and picks per object and per user."""
        runs = self.runs
        picks = [p for r in runs for p in r.picks]
        per_object: dict[str, int] = {}
        per_user: dict[str, int] = {}
        for p in picks:
            per_object[p.pickable_object_name] = per_object.get(p.pickable_object_name, 0) + 1
            per_user[p.user_id] = per_user.get(p.user_id, 0) + 1
        vss = [vs for r in runs for vs in r.voxel_spacings]
        filaments = [f for r in runs for f in r.filaments]
        tomos = [t for vs in vss for t in vs.tomograms]
        return {
            "objects": len(self.pickable_objects),
            "runs": len(runs),
            "voxel_spacings": len(vss),
            "tomograms": len(tomos),
            "features": sum(len(t.features) for t in tomos),
            "picks": len(picks),
            "points": sum(len(p.to_numpy()[0]) for p in picks),
            "meshes": sum(len(r.meshes) for r in runs),
            "segmentations": sum(len(r.segmentations) for r in runs),
            "filaments": len(filaments),
            "filament_polylines": sum(len(f.instance_ids()) for f in filaments),
            "filament_points": sum(sum(len(line) for line in f.numpy()) for f in filaments),
            "picks_per_object": dict(sorted(per_object.items())),
            "picks_per_user": dict(sorted(per_user.items())),
        }

    # -- caches -----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Forget cached runs and objects; the next access queries storage again."""
        self._run_index.clear()
        self._objects = None
