"""Synthetic copick filesystem projects for the benchmarks, written directly (no copick needed, and fast).

A project of ``n_runs`` runs (``TS_00001`` …) holds, in copick's on-disk layout (see
``shared/reference/copick-filesystem-format.md`` §2–§5):

- 5 particle objects in the config (:data:`OBJECTS`);
- in every run, one pick set per object for each of 3 users (:data:`USERS`: two people with sessions ``"1"`` and
  ``"2"`` and a tool with session ``"0"``; ``ProjectSpec.users`` changes them), 20–50 points each. The people's
  points have identity transforms and score 1.0; the tool's have random rotations and random scores. Files are
  byte-identical to what copick's ``json.dump(model_dump(), indent=4)`` writes (checked against ``json.dumps`` on
  the first set of each kind in every project);
- on the first ``n_tomogram_runs`` runs (10 by default), a 10 Å voxel spacing with a float32 tomogram ``wbp``
  (``tomogram_edge``³, 256 by default, 3 levels) and a uint8 single-label segmentation of the first object by the
  tool, both written by :func:`copick_db.storage.zarr_io.write_multiscale` (OME-Zarr v2, nested ``/`` chunk keys,
  copick's ``.zattrs``).

Layout of a generated project directory::

    <directory>/copick_config.json      config_type filesystem, overlay_root local://<directory>/overlay
    <directory>/overlay/ExperimentRuns/<run>/{.meta, Picks/, VoxelSpacing10.000/, Segmentations/}
    <directory>/.generated.json         the spec it was generated from (:func:`ensure_project` reuses a match)

Use from the benchmarks (``from copick_projects import ensure_project``) or from the shell::

    .venv/bin/python benchmarks/copick_projects.py bench-data/projects/runs-1000 --runs 1000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

#: Bumped whenever the generated content changes, so :func:`ensure_project` regenerates stale projects.
GENERATOR_VERSION = 1
#: The default place for generated projects (gitignored).
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "bench-data" / "projects"
CONFIG_NAME = "copick_config.json"
STAMP_NAME = ".generated.json"
VOXEL_SIZE = 10.0

#: name → (label, RGBA colour, radius in Å); all particles.
OBJECTS: dict[str, tuple[int, list[int], float]] = {
    "ribosome": (1, [0, 117, 220, 255], 150.0),
    "proteasome": (2, [153, 63, 0, 255], 80.0),
    "apoferritin": (3, [76, 0, 92, 255], 60.0),
    "thyroglobulin": (4, [25, 25, 25, 255], 130.0),
    "virus-like-particle": (5, [0, 92, 49, 255], 135.0),
}
#: (user_id, session_id) of the three pickers; session "0" marks the tool.
USERS: tuple[tuple[str, str], ...] = (("alice", "1"), ("bob", "2"), ("pytom", "0"))
#: The tool that owns the segmentations.
TOOL = USERS[2]


@dataclass(frozen=True)
class ProjectSpec:
    """What a generated project holds.

    Attributes:
        n_runs: Number of runs.
        n_tomogram_runs: Runs (the first ones) that get a voxel spacing, a tomogram and a segmentation.
        tomogram_edge: Edge of the cubic tomograms and segmentations, in voxels.
        min_points: Fewest points in a pick set.
        max_points: Most points in a pick set.
        users: (user_id, session_id) of the pickers: each picks every object in every run. A session ``"0"``
            marks a tool, whose points get random rotations and scores.
        seed: Seeds every random number.
    """

    n_runs: int
    n_tomogram_runs: int = 10
    tomogram_edge: int = 256
    min_points: int = 20
    max_points: int = 50
    users: tuple[tuple[str, str], ...] = USERS
    seed: int = 0

    def as_json(self) -> dict:
        """The spec as it reads back from JSON (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))


@dataclass
class Project:
    """A generated project on disk.

    Attributes:
        directory: The project directory.
        config: Path of its copick config JSON.
        spec: What it holds.
        run_names: Every run name, sorted.
        tomogram_runs: The runs with a tomogram and a segmentation.
        pick_sets: Number of picks files.
        points: Number of points over all picks files.
        bytes_on_disk: Size of everything written (picks JSON and zarr stores).
        seconds: How long generating it took (0 when an existing project was reused).
    """

    directory: Path
    config: Path
    spec: ProjectSpec
    run_names: list[str] = field(default_factory=list)
    tomogram_runs: list[str] = field(default_factory=list)
    pick_sets: int = 0
    points: int = 0
    bytes_on_disk: int = 0
    seconds: float = 0.0

    @property
    def overlay(self) -> Path:
        """The overlay root (the only root; there is no static root)."""
        return self.directory / "overlay"


def run_name(index: int) -> str:
    """The name of run ``index`` (0-based): ``TS_00001`` …"""
    return f"TS_{index + 1:05d}"


def tomogram_path(project: Project, run: str, tomo_type: str = "wbp") -> Path:
    """Where a run's tomogram store is."""
    return project.overlay / "ExperimentRuns" / run / f"VoxelSpacing{VOXEL_SIZE:.3f}" / f"{tomo_type}.zarr"


# ------------------------------------------------------------------------------------------------------------------
# Picks JSON, byte-identical to json.dump(CopickPicksFile.model_dump(), f, indent=4)
# ------------------------------------------------------------------------------------------------------------------

_IDENTITY_ROWS = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))


def _matrix_text(rows: tuple[tuple[float, ...], ...] | np.ndarray) -> str:
    """A 4×4 matrix as json.dumps(indent=4) writes it at the depth of ``transformation_``."""
    inner = ",\n".join(
        "                [\n" + ",\n".join(f"                    {float(v)!r}" for v in row) + "\n                ]"
        for row in rows
    )
    return "[\n" + inner + "\n            ]"


_IDENTITY_TEXT = _matrix_text(_IDENTITY_ROWS)


def _point_text(x: float, y: float, z: float, matrix: str, instance_id: int, score: float) -> str:
    return (
        "        {\n"
        '            "location": {\n'
        f'                "x": {x!r},\n'
        f'                "y": {y!r},\n'
        f'                "z": {z!r}\n'
        "            },\n"
        f'            "transformation_": {matrix},\n'
        f'            "instance_id": {instance_id},\n'
        f'            "score": {score!r}\n'
        "        }"
    )


def picks_text(
    object_name: str,
    user_id: str,
    session_id: str,
    run: str,
    positions: np.ndarray,
    transforms: np.ndarray | None,
    scores: np.ndarray | None,
) -> str:
    """The text of a picks file, as copick writes it.

    Args:
        object_name: The pickable object.
        user_id: The user or tool.
        session_id: The session (``"0"`` for a tool).
        run: The run name (copick's ``new_picks`` records it).
        positions: ``(N, 3)`` x, y, z in Å.
        transforms: ``(N, 4, 4)``, or None for identity.
        scores: ``(N,)``, or None for 1.0.

    Returns:
        The JSON text (no trailing newline, like ``json.dump``).
    """
    points = []
    for i, (x, y, z) in enumerate(positions.tolist()):
        matrix = _IDENTITY_TEXT if transforms is None else _matrix_text(transforms[i].tolist())
        score = 1.0 if scores is None else float(scores[i])
        points.append(_point_text(x, y, z, matrix, 0, score))
    body = "[\n" + ",\n".join(points) + "\n    ]" if points else "[]"
    return (
        "{\n"
        f'    "pickable_object_name": {json.dumps(object_name)},\n'
        f'    "user_id": {json.dumps(user_id)},\n'
        f'    "session_id": {json.dumps(session_id)},\n'
        f'    "run_name": {json.dumps(run)},\n'
        '    "voxel_spacing": null,\n'
        '    "unit": "angstrom",\n'
        f'    "points": {body},\n'
        '    "trust_orientation": true\n'
        "}"
    )


def picks_dict(
    object_name: str,
    user_id: str,
    session_id: str,
    run: str,
    positions: np.ndarray,
    transforms: np.ndarray | None,
    scores: np.ndarray | None,
) -> dict:
    """The same pick set as the dict copick's ``model_dump()`` gives (slow; for checking :func:`picks_text`)."""
    points = []
    for i, (x, y, z) in enumerate(positions.tolist()):
        points.append(
            {
                "location": {"x": x, "y": y, "z": z},
                "transformation_": [list(r) for r in _IDENTITY_ROWS] if transforms is None else transforms[i].tolist(),
                "instance_id": 0,
                "score": 1.0 if scores is None else float(scores[i]),
            }
        )
    return {
        "pickable_object_name": object_name,
        "user_id": user_id,
        "session_id": session_id,
        "run_name": run,
        "voxel_spacing": None,
        "unit": "angstrom",
        "points": points,
        "trust_orientation": True,
    }


def random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random proper rotations as 4×4 homogeneous matrices (no translation)."""
    q, r = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    q[np.linalg.det(q) < 0, :, 0] *= -1
    out = np.zeros((n, 4, 4))
    out[:, :3, :3] = q
    out[:, 3, 3] = 1.0
    return out


# ------------------------------------------------------------------------------------------------------------------
# Volumes
# ------------------------------------------------------------------------------------------------------------------


def _tomogram(rng: np.random.Generator, edge: int) -> np.ndarray:
    """Noise over a smooth gradient with a few dark balls: float32, compresses about as badly as real data."""
    volume = rng.normal(0.0, 1.0, size=(edge, edge, edge)).astype(np.float32)
    axis = np.arange(edge, dtype=np.float32)
    volume += (axis / edge)[:, None, None]
    for _ in range(4):
        c = rng.uniform(0, edge, 3)
        r = rng.uniform(edge / 16, edge / 8)
        lo = np.maximum((c - r).astype(int), 0)
        hi = np.minimum((c + r).astype(int) + 1, edge)
        zz, yy, xx = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        inside = (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r
        volume[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]][inside] -= 2.0
    return volume


def _segmentation(rng: np.random.Generator, edge: int) -> np.ndarray:
    """A binary uint8 mask of a few balls."""
    mask = np.zeros((edge, edge, edge), dtype=np.uint8)
    zz, yy, xx = np.ogrid[:edge, :edge, :edge]
    for _ in range(3):
        c = rng.uniform(0, edge, 3)
        r = rng.uniform(edge / 12, edge / 6)
        mask[(zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r] = 1
    return mask


# ------------------------------------------------------------------------------------------------------------------
# The project
# ------------------------------------------------------------------------------------------------------------------


def config_dict(overlay: Path, name: str) -> dict:
    """A copick filesystem config for an overlay-only project at ``overlay``."""
    return {
        "config_type": "filesystem",
        "name": name,
        "description": "Synthetic project generated by benchmarks/copick_projects.py",
        "version": "1.31.0",
        "pickable_objects": [
            {"name": n, "is_particle": True, "label": label, "color": color, "radius": radius}
            for n, (label, color, radius) in OBJECTS.items()
        ],
        "overlay_root": f"local://{overlay.resolve()}",
        "overlay_fs_args": {"auto_mkdir": True},
    }


def _dir_size(path: Path) -> int:
    total = 0
    for entry, _, files in os.walk(path):
        for f in files:
            total += os.stat(os.path.join(entry, f)).st_size
    return total


def generate_project(directory: Path, spec: ProjectSpec, *, progress: bool = False) -> Project:
    """Write a project for ``spec`` at ``directory``, replacing whatever is there.

    Args:
        directory: The project directory.
        spec: What to put in it.
        progress: Print a line every 1,000 runs.

    Returns:
        The project.

    Raises:
        AssertionError: The generated picks text differs from ``json.dumps(..., indent=4)`` (a generator bug).
    """
    from copick_db.storage.zarr_io import write_multiscale

    start = time.perf_counter()
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
    project = Project(directory=directory, config=directory / CONFIG_NAME, spec=spec)
    runs_dir = project.overlay / "ExperimentRuns"
    runs_dir.mkdir(parents=True)
    rng = np.random.default_rng(spec.seed)
    extent = spec.tomogram_edge * VOXEL_SIZE
    checked: set[bool] = set()
    for index in range(spec.n_runs):
        name = run_name(index)
        project.run_names.append(name)
        run_dir = runs_dir / name
        picks_dir = run_dir / "Picks"
        picks_dir.mkdir(parents=True)
        (run_dir / ".meta").write_text("meta")
        for object_name in OBJECTS:
            for user_id, session_id in spec.users:
                n = int(rng.integers(spec.min_points, spec.max_points + 1))
                positions = np.round(rng.uniform(0.0, extent, size=(n, 3)), 2)
                tool = session_id == "0"
                transforms = random_rotations(rng, n) if tool else None
                scores = np.round(rng.uniform(0.0, 1.0, size=n), 4) if tool else None
                args = (object_name, user_id, session_id, name, positions, transforms, scores)
                text = picks_text(*args)
                if tool not in checked:  # the first set of each kind, against the slow reference
                    assert text == json.dumps(picks_dict(*args), indent=4), "picks_text differs from json.dumps"
                    checked.add(tool)
                (picks_dir / f"{user_id}_{session_id}_{object_name}.json").write_text(text)
                project.pick_sets += 1
                project.points += n
        if index < spec.n_tomogram_runs:
            project.tomogram_runs.append(name)
            vs_dir = run_dir / f"VoxelSpacing{VOXEL_SIZE:.3f}"
            vs_dir.mkdir()
            (vs_dir / ".meta").write_text("meta")
            edge = spec.tomogram_edge
            write_multiscale(vs_dir / "wbp.zarr", _tomogram(rng, edge), voxel_size=VOXEL_SIZE, levels=3)
            seg_dir = run_dir / "Segmentations"
            seg_dir.mkdir()
            first_object = next(iter(OBJECTS))
            write_multiscale(
                seg_dir / f"{VOXEL_SIZE:.3f}_{TOOL[0]}_{TOOL[1]}_{first_object}.zarr",
                _segmentation(rng, edge),
                voxel_size=VOXEL_SIZE,
                levels=1,
                dtype=np.uint8,
                method="nearest",
            )
        if progress and (index + 1) % 1000 == 0:
            print(f"  {index + 1:,} / {spec.n_runs:,} runs", flush=True)
    project.config.write_text(json.dumps(config_dict(project.overlay, f"bench-{spec.n_runs}"), indent=4))
    project.bytes_on_disk = _dir_size(project.overlay)
    project.seconds = time.perf_counter() - start
    stamp = {"generator_version": GENERATOR_VERSION, "spec": spec.as_json(), "summary": _summary(project)}
    (directory / STAMP_NAME).write_text(json.dumps(stamp, indent=2))
    return project


def _summary(project: Project) -> dict:
    return {
        "pick_sets": project.pick_sets,
        "points": project.points,
        "bytes_on_disk": project.bytes_on_disk,
        "seconds": project.seconds,
        "tomogram_runs": project.tomogram_runs,
    }


def ensure_project(directory: Path, spec: ProjectSpec, *, progress: bool = False) -> Project:
    """The project for ``spec`` at ``directory``: reused if one generated from the same spec is there, else written.

    Reuse is decided by the stamp file alone, which :func:`generate_project` writes last, so an interrupted
    generation is never reused. Benchmarks that only read a project may share it; anything that writes into the
    project directory must work on a copy.

    Args:
        directory: The project directory.
        spec: What it must hold.
        progress: Print progress while generating.

    Returns:
        The project (``seconds`` is 0 when reused).
    """
    directory = Path(directory)
    stamp_path = directory / STAMP_NAME
    if stamp_path.exists():
        try:
            stamp = json.loads(stamp_path.read_text())
        except (OSError, ValueError):
            stamp = {}
        if stamp.get("generator_version") == GENERATOR_VERSION and stamp.get("spec") == spec.as_json():
            summary = stamp["summary"]
            return Project(
                directory=directory,
                config=directory / CONFIG_NAME,
                spec=spec,
                run_names=[run_name(i) for i in range(spec.n_runs)],
                tomogram_runs=list(summary["tomogram_runs"]),
                pick_sets=summary["pick_sets"],
                points=summary["points"],
                bytes_on_disk=summary["bytes_on_disk"],
                seconds=0.0,
            )
    return generate_project(directory, spec, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) one project from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="project directory (replaced unless it matches)")
    parser.add_argument("--runs", type=int, required=True, help="number of runs")
    parser.add_argument("--tomogram-runs", type=int, default=10, help="runs with a tomogram and a segmentation")
    parser.add_argument("--tomogram-edge", type=int, default=256, help="tomogram edge in voxels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if a matching project exists")
    args = parser.parse_args(argv)
    spec = ProjectSpec(args.runs, args.tomogram_runs, args.tomogram_edge, seed=args.seed)
    maker = generate_project if args.force else ensure_project
    project = maker(args.directory, spec, progress=True)
    print(
        f"{project.config}: {len(project.run_names):,} runs, {project.pick_sets:,} pick sets, "
        f"{project.points:,} points, {project.bytes_on_disk / 1e6:,.0f} MB, {project.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
