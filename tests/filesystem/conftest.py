"""Hand-written copick filesystem projects (JSON files and zarr stores written directly, no copick needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh

import copick_db
from copick_db.db.root import CopickRootDB
from copick_db.filesystem import ImportReport
from copick_db.storage import glb, zarr_io

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150.0},
    {"name": "membrane", "is_particle": False, "label": 2},
    {"name": "my-object", "is_particle": True, "label": 3},
]


class CopickProject:
    """A copick filesystem project under ``base``: an overlay root, optionally a static root, and a config.

    Args:
        base: The directory holding everything (config, roots, the catalog).
        static: Whether the project has a static root.
    """

    def __init__(self, base: Path, static: bool = True) -> None:
        self.base = base
        self.overlay = base / "overlay"
        self.static = base / "static" if static else None
        self.config_path = base / "copick_config.json"
        self.catalog = base / "catalog.sqlite"
        self.config: dict[str, Any] = {
            "config_type": "filesystem",
            "name": "hand-made",
            "description": "written without copick",
            "version": "1.31.0",
            "pickable_objects": [dict(o) for o in OBJECTS],
            "user_id": "alice",
            "overlay_root": f"local://{self.overlay}",
            "overlay_fs_args": {"auto_mkdir": True},
        }
        if self.static is not None:
            self.config["static_root"] = f"local://{self.static}"
        self._roots: list[CopickRootDB] = []
        for directory in (self.overlay, self.static):
            if directory is not None:
                (directory / "ExperimentRuns").mkdir(parents=True, exist_ok=True)
        self.write_config()

    def write_config(self, **changes: Any) -> Path:
        """(Re)write the config, with ``changes`` applied."""
        self.config.update(changes)
        self.config_path.write_text(json.dumps(self.config, indent=4))
        return self.config_path

    def side(self, static: bool) -> Path:
        """The root directory of a side."""
        if static:
            assert self.static is not None
            return self.static
        return self.overlay

    def run(self, name: str, *, static: bool = False) -> Path:
        """A run directory with its ``.meta`` marker."""
        directory = self.side(static) / "ExperimentRuns" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ".meta").write_text("meta")
        return directory

    def write(self, relative: str, content: str | bytes, *, static: bool = False) -> Path:
        """Write any file under a root."""
        path = self.side(static) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def picks(
        self,
        run: str,
        user: str,
        session: str,
        obj: str,
        points: list[dict[str, Any]] | None = None,
        *,
        static: bool = False,
        **fields: Any,
    ) -> Path:
        """A picks JSON file as copick writes it."""
        document = {
            "pickable_object_name": obj,
            "user_id": user,
            "session_id": session,
            "run_name": run,
            "voxel_spacing": None,
            "unit": "angstrom",
            "points": points if points is not None else [],
            "trust_orientation": True,
            **fields,
        }
        self.run(run, static=static)
        return self.write(
            f"ExperimentRuns/{run}/Picks/{user}_{session}_{obj}.json", json.dumps(document, indent=4), static=static
        )

    def store(
        self, relative: str, data: np.ndarray | None, *, voxel_size: float = 10.0, levels: int = 1, static: bool = False
    ) -> Path:
        """A zarr store written like copick's (or an empty store directory when ``data`` is None)."""
        path = self.side(static) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            path.mkdir()
        else:
            method = "nearest" if np.issubdtype(np.asarray(data).dtype, np.integer) else "mean"
            dtype = np.asarray(data).dtype
            zarr_io.write_multiscale(path, data, voxel_size=voxel_size, levels=levels, dtype=dtype, method=method)
        return path

    def voxel_spacing(self, run: str, voxel_size: float, *, static: bool = False) -> str:
        """A voxel spacing directory (with ``.meta``); returns its relative path."""
        rel = f"ExperimentRuns/{run}/VoxelSpacing{voxel_size:.3f}"
        self.run(run, static=static)
        self.write(f"{rel}/.meta", "meta", static=static)
        return rel

    def tomogram(
        self,
        run: str,
        voxel_size: float,
        tomo_type: str,
        data: np.ndarray | None,
        *,
        static: bool = False,
        levels: int = 2,
    ) -> Path:
        """A tomogram store."""
        rel = self.voxel_spacing(run, voxel_size, static=static)
        return self.store(f"{rel}/{tomo_type}.zarr", data, voxel_size=voxel_size, levels=levels, static=static)

    def features(
        self,
        run: str,
        voxel_size: float,
        tomo_type: str,
        feature_type: str,
        data: np.ndarray | None,
        *,
        static: bool = False,
    ) -> Path:
        """A feature store."""
        rel = self.voxel_spacing(run, voxel_size, static=static)
        name = f"{tomo_type}_{feature_type}_features.zarr"
        return self.store(f"{rel}/{name}", data, voxel_size=voxel_size, static=static)

    def segmentation(
        self,
        run: str,
        voxel_size: float,
        user: str,
        session: str,
        name: str,
        data: np.ndarray | None,
        *,
        multilabel: bool = False,
        directory: str = "Segmentations",
        static: bool = False,
    ) -> Path:
        """A segmentation store (``directory`` InstanceSegmentations / PanopticSegmentations for those types)."""
        self.run(run, static=static)
        suffix = "-multilabel" if multilabel else ""
        rel = f"ExperimentRuns/{run}/{directory}/{voxel_size:.3f}_{user}_{session}_{name}{suffix}.zarr"
        return self.store(rel, data, voxel_size=voxel_size, static=static)

    def filaments(
        self, run: str, user: str, session: str, obj: str, filaments: list[dict[str, Any]], *, static: bool = False
    ) -> Path:
        """A filaments JSON file as copick 1.31 writes it."""
        document = {
            "pickable_object_name": obj,
            "user_id": user,
            "session_id": session,
            "run_name": run,
            "voxel_spacing": None,
            "unit": "angstrom",
            "version": 1,
            "filaments": filaments,
        }
        self.run(run, static=static)
        rel = f"ExperimentRuns/{run}/Filaments/{user}_{session}_{obj}.json"
        return self.write(rel, json.dumps(document, indent=4), static=static)

    def mesh(self, run: str, user: str, session: str, obj: str, mesh: Any = None, *, static: bool = False) -> Path:
        """A GLB mesh file (a box by default)."""
        self.run(run, static=static)
        path = self.side(static) / f"ExperimentRuns/{run}/Meshes/{user}_{session}_{obj}.glb"
        glb.write_glb(path, trimesh.creation.box() if mesh is None else mesh)
        return path

    def object_map(self, name: str, data: np.ndarray | None, *, voxel_size: float = 10.0, static: bool = False) -> Path:
        """An ``Objects/<name>.zarr`` density map."""
        return self.store(f"Objects/{name}.zarr", data, voxel_size=voxel_size, static=static)

    def import_(self, **kwargs: Any) -> ImportReport:
        """Import into the project's catalog (no progress bar)."""
        kwargs.setdefault("progress", False)
        return copick_db.import_filesystem(self.config_path, self.catalog, **kwargs)

    def open(self, **kwargs: Any) -> CopickRootDB:
        """Open the catalog (closed at teardown)."""
        root = copick_db.open(self.catalog, **kwargs)
        self._roots.append(root)
        return root

    def close(self) -> None:
        """Close every root opened."""
        for root in self._roots:
            root.close()

    # -- helpers for assertions --------------------------------------------------------------------------------

    @staticmethod
    def point(x: float, y: float, z: float, **extra: Any) -> dict[str, Any]:
        """A copick point dict."""
        return {"location": {"x": x, "y": y, "z": z}, **extra}

    @staticmethod
    def reasons(report: ImportReport) -> dict[str, str]:
        """Skipped items as {absolute path: reason}."""
        return {item.path: item.reason for item in report.skipped}

    @staticmethod
    def counts(report: ImportReport, kind: str) -> tuple[int, int, int, int]:
        """(added, updated, unchanged, removed) of a kind."""
        c = report.counts[kind]
        return c.added, c.updated, c.unchanged, c.removed


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator:
    """``make_project(name, static=True)``: a new empty hand-written project (roots closed at teardown)."""
    made: list[CopickProject] = []

    def _make(name: str = "project", static: bool = True) -> CopickProject:
        built = CopickProject(tmp_path / name, static=static)
        made.append(built)
        return built

    yield _make
    for built in made:
        built.close()


@pytest.fixture
def project(make_project) -> CopickProject:
    """An empty hand-written copick project with a static and an overlay root."""
    return make_project()
