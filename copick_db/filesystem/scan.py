"""Walking a copick project's roots (static first, then overlay) into source records, one run at a time.

The scan only lists directories and stats files, through each root's data store; nothing is parsed beyond names.
Each record says where a source is (data root id and key), which entity it stands for, and its signature (size and
mtime) for change detection.

Design invariants:
    - Names are parsed by :mod:`copick_db.storage.paths`; an entry copick would list but could not use is
      recorded as skipped with the reason, never guessed at. Hidden entries (a leading ``.``) are ignored as copick
      ignores them; other unknown entries are ignored too.
    - Runs and voxel spacings present on both sides are merged. For every other identity the overlay copy wins and
      the static copy is recorded as shadowed (copick would list both).
    - A symlink is followed only if its target lies inside one of the project's roots.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copick_db.storage import paths
from copick_db.storage.paths import SourceError, voxel_key
from copick_db.storage.store import DataStore, DirEntry

__all__ = ["RunScan", "Scanner", "Side", "Source", "VoxelSpacingScan"]


@dataclass(frozen=True)
class Side:
    """One root of the project.

    Attributes:
        root_id: The catalog's data root id for it.
        store: The data store of the root (read-only for the static root).
    """

    root_id: int
    store: DataStore

    @property
    def directory(self) -> Path:
        """The root directory."""
        return Path(self.store.location)

    @property
    def read_only(self) -> bool:
        """True for the static root."""
        return self.store.read_only

    @property
    def real(self) -> str:
        """The root with every symlink resolved."""
        return os.path.realpath(self.directory)


@dataclass
class Source:
    """A file or directory of the project that stands for one entity.

    Attributes:
        kind: ``run``, ``voxel_spacing``, ``tomogram``, ``features``, ``picks``, ``mesh``, ``segmentation`` or
            ``object_map``.
        side: The root it is under.
        path: Its path relative to the root (POSIX).
        size: Signature part 1 (file size, summed store metadata sizes; 0 for directories).
        mtime_ns: Signature part 2 (modification time; 0 for directories).
        stamp: When it was last modified, in seconds (for the row's timestamps).
        identity: The parsed name (a layout dataclass, a tuple or a string; depends on the kind).
    """

    kind: str
    side: Side
    path: str
    size: int
    mtime_ns: int
    stamp: float
    identity: Any = None

    @property
    def key(self) -> tuple[int, str]:
        """``(root_id, path)``, the source's key in the catalog."""
        return self.side.root_id, self.path

    @property
    def store(self) -> DataStore:
        """The data store it is in (its key there is :attr:`path`)."""
        return self.side.store

    @property
    def absolute(self) -> Path:
        """The absolute path."""
        return self.side.store.locate(self.path)

    @property
    def read_only(self) -> bool:
        """Whether the source is static."""
        return self.side.read_only


@dataclass
class VoxelSpacingScan:
    """A voxel spacing directory (on one or both sides) and its stores."""

    voxel_size: float
    dirs: list[Source] = field(default_factory=list)
    tomograms: dict[str, Source] = field(default_factory=dict)
    features: dict[tuple[str, str], Source] = field(default_factory=dict)


@dataclass
class RunScan:
    """Everything found for one run.

    Attributes:
        name: The run name.
        dirs: The run directory on each side where it exists.
        spacings: Voxel spacings by voxel key.
        picks, meshes: Winning sources by (user, session, object) name.
        filaments: Winning sources by (user, session, object) name.
        segmentations: Winning sources by (voxel key, user, session, name, multilabel, instance, panoptic).
        skipped: ``(path, reason)`` of entries that cannot be imported.
        shadowed: Static sources hidden by an overlay copy, with the overlay source.
    """

    name: str
    dirs: list[Source] = field(default_factory=list)
    spacings: dict[int, VoxelSpacingScan] = field(default_factory=dict)
    picks: dict[paths.OwnedName, Source] = field(default_factory=dict)
    meshes: dict[paths.OwnedName, Source] = field(default_factory=dict)
    filaments: dict[paths.OwnedName, Source] = field(default_factory=dict)
    segmentations: dict[tuple, Source] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    shadowed: list[tuple[Source, Source]] = field(default_factory=list)

    def sources(self) -> Iterator[Source]:
        """Every source of the run (winning and shadowed)."""
        yield from self.dirs
        for vs in self.spacings.values():
            yield from vs.dirs
            yield from vs.tomograms.values()
            yield from vs.features.values()
        yield from self.picks.values()
        yield from self.meshes.values()
        yield from self.filaments.values()
        yield from self.segmentations.values()
        for static, _ in self.shadowed:
            yield static


class Scanner:
    """Lists a project's runs and the sources inside each.

    Args:
        sides: The roots, static first (so that the overlay, scanned last, wins).
    """

    def __init__(self, sides: list[Side]) -> None:
        self.sides = sides
        self._reals = [side.real for side in sides]

    # -- runs -----------------------------------------------------------------------------------------------------

    def runs(self, skipped: list[tuple[str, str]]) -> dict[str, list[Side]]:
        """Run names (sorted) and the sides each exists on; unusable run entries go to ``skipped``."""
        found: dict[str, list[Side]] = {}
        for side in self.sides:
            for entry in _entries(side.store, paths.RUNS_DIR):
                if paths.is_hidden(entry.name) or not self._usable(entry, skipped):
                    continue
                if not entry.is_dir():
                    continue  # copick lists only directories (and symlinks to them) as runs
                try:
                    name = paths.parse_run_name(entry.name)
                except SourceError as exc:
                    skipped.append((entry.path, str(exc)))
                    continue
                found.setdefault(name, []).append(side)
        return {name: found[name] for name in sorted(found)}

    def scan_run(self, name: str, sides: list[Side]) -> RunScan:
        """Everything in one run, over the given sides (static first).

        Raises:
            OSError: A run directory cannot be listed.
        """
        scan = RunScan(name)
        for side in sides:
            rel = paths.run_dir(name)
            scan.dirs.append(_directory_source("run", side, rel, name))
            for entry in _entries(side.store, rel, strict=True):
                if paths.is_hidden(entry.name) or not self._usable(entry, scan.skipped):
                    continue
                child = f"{rel}/{entry.name}"
                if entry.name.startswith(paths.VOXEL_SPACING_PREFIX):
                    self._voxel_spacing(scan, side, entry, child)
                elif entry.name == paths.PICKS_DIR:
                    self._files(scan, scan.picks, "picks", side, entry, child, ".json", paths.parse_picks_name)
                elif entry.name == paths.MESHES_DIR:
                    self._files(scan, scan.meshes, "mesh", side, entry, child, ".glb", paths.parse_mesh_name)
                elif entry.name == paths.FILAMENTS_DIR:
                    parse = paths.parse_filaments_name
                    self._files(scan, scan.filaments, "filaments", side, entry, child, ".json", parse)
                elif entry.name in paths.SEGMENTATION_DIRS:
                    self._segmentations(scan, side, entry, child)
        return scan

    def object_maps(self, skipped: list[tuple[str, str]]) -> dict[str, list[Source]]:
        """``Objects/<name>.zarr`` stores by object name, static first."""
        found: dict[str, list[Source]] = {}
        for side in self.sides:
            for entry in _entries(side.store, paths.OBJECTS_DIR):
                if paths.is_hidden(entry.name) or not entry.name.endswith(".zarr"):
                    continue
                if not self._usable(entry, skipped):
                    continue
                try:
                    name = paths.parse_object_map_name(entry.name)
                    source = self._store("object_map", side, entry, f"{paths.OBJECTS_DIR}/{entry.name}", name)
                except SourceError as exc:
                    skipped.append((entry.path, str(exc)))
                    continue
                found.setdefault(name, []).append(source)
        return found

    # -- run contents ---------------------------------------------------------------------------------------------

    def _voxel_spacing(self, scan: RunScan, side: Side, entry: DirEntry, rel: str) -> None:
        try:
            voxel_size = paths.parse_voxel_spacing_dir(entry.name)
        except SourceError as exc:
            scan.skipped.append((entry.path, str(exc)))
            return
        if not entry.is_dir():
            scan.skipped.append((entry.path, "a file named like a voxel spacing directory"))
            return
        vs = scan.spacings.setdefault(voxel_key(voxel_size), VoxelSpacingScan(voxel_size))
        vs.dirs.append(_directory_source("voxel_spacing", side, rel, voxel_size))
        for item in _entries(side.store, rel):
            if paths.is_hidden(item.name) or not item.name.endswith(".zarr"):
                continue
            if not self._usable(item, scan.skipped):
                continue
            child = f"{rel}/{item.name}"
            try:
                if item.name.endswith(paths.FEATURES_SUFFIX):
                    identity: Any = paths.parse_features_name(item.name)
                    table: dict = vs.features
                    source = self._store("features", side, item, child, identity)
                else:
                    identity = paths.parse_tomogram_name(item.name)
                    table = vs.tomograms
                    source = self._store("tomogram", side, item, child, identity)
            except SourceError as exc:
                scan.skipped.append((item.path, str(exc)))
                continue
            _put(scan, table, identity, source)

    def _files(
        self,
        scan: RunScan,
        table: dict,
        kind: str,
        side: Side,
        entry: DirEntry,
        rel: str,
        suffix: str,
        parse: Callable[[str], Any],
    ) -> None:
        if not entry.is_dir():
            return
        for item in _entries(side.store, rel):
            if paths.is_hidden(item.name) or not item.name.endswith(suffix):
                continue
            if not self._usable(item, scan.skipped):
                continue
            try:
                identity = parse(item.name)
                if item.is_dir():
                    raise SourceError("a directory, not a file")
                st = item.stat()
            except SourceError as exc:
                scan.skipped.append((item.path, str(exc)))
                continue
            except OSError as exc:
                scan.skipped.append((item.path, f"cannot be read: {exc.strerror or exc}"))
                continue
            source = Source(kind, side, f"{rel}/{item.name}", st.st_size, st.st_mtime_ns, st.st_mtime, identity)
            _put(scan, table, identity, source)

    def _segmentations(self, scan: RunScan, side: Side, entry: DirEntry, rel: str) -> None:
        if not entry.is_dir():
            return
        for item in _entries(side.store, rel):
            if paths.is_hidden(item.name) or not item.name.endswith(".zarr"):
                continue
            if not self._usable(item, scan.skipped):
                continue
            try:
                identity = paths.parse_segmentation_name(item.name, entry.name)
                source = self._store("segmentation", side, item, f"{rel}/{item.name}", identity)
            except SourceError as exc:
                scan.skipped.append((item.path, str(exc)))
                continue
            key = (
                voxel_key(identity.voxel_size),
                identity.user_id,
                identity.session_id,
                identity.name,
                identity.is_multilabel,
                identity.is_instance,
                identity.is_panoptic,
            )
            _put(scan, scan.segmentations, key, source)

    def _store(self, kind: str, side: Side, entry: DirEntry, rel: str, identity: Any) -> Source:
        if not entry.is_dir():
            raise SourceError("not a directory (zarr stores are directories)")
        try:
            size, mtime_ns = side.store.volume_signature(rel)
        except OSError as exc:
            raise SourceError(f"cannot be read: {exc.strerror or exc}") from None
        return Source(kind, side, rel, size, mtime_ns, mtime_ns / 1e9, identity)

    def _usable(self, entry: DirEntry, skipped: list[tuple[str, str]]) -> bool:
        """False (and the reason recorded) for a symlink that leaves the project, points nowhere, or loops."""
        if not entry.is_symlink():
            return True
        real = os.path.realpath(entry.path)
        if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self._reals):
            skipped.append((entry.path, f"a symlink to {real}, outside the project's roots"))
            return False
        try:
            os.stat(entry.path)
        except OSError as exc:
            reason = "a symlink loop" if exc.errno == errno.ELOOP else f"a broken symlink (to {real})"
            skipped.append((entry.path, reason))
            return False
        parent = os.path.realpath(os.path.dirname(entry.path))
        if parent == real or parent.startswith(real.rstrip(os.sep) + os.sep):
            skipped.append((entry.path, f"a symlink to {real}, a directory that contains it (a loop)"))
            return False
        return True


def _put(scan: RunScan, table: dict, key: Any, source: Source) -> None:
    """Record ``source`` for ``key``; a previous (static) copy becomes shadowed."""
    previous = table.get(key)
    if previous is not None:
        scan.shadowed.append((previous, source))
    table[key] = source


def _directory_source(kind: str, side: Side, rel: str, identity: Any) -> Source:
    return Source(kind, side, rel, 0, 0, side.store.modified(rel), identity)


def _entries(store: DataStore, key: str, *, strict: bool = False) -> list[DirEntry]:
    """The entries of a directory, sorted by name; none if it is missing (or, unless ``strict``, unreadable)."""
    try:
        return store.list_dir(key)
    except OSError:
        if strict:
            raise
        return []
