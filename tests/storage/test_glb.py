"""Behaviour of copick_db.storage.glb: GLB round trips, empty meshes and scene concatenation."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh

from copick_db.storage import atomic, glb


def _copicks_empty_glb() -> bytes:
    """The 172-byte GLB copick's ``new_mesh`` writes: one node, no mesh (built by hand, not by our writer)."""
    document = {
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "asset": {"version": "2.0", "generator": "https://github.com/mikedh/trimesh"},
        "nodes": [{"name": "geometry_0"}],
    }
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", 0, b"BIN\x00")
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def _box(extents: tuple[float, float, float] = (2.0, 4.0, 6.0)) -> trimesh.Trimesh:
    return trimesh.creation.box(extents=extents)


def test_the_reference_empty_glb_is_172_bytes() -> None:
    assert len(_copicks_empty_glb()) == 172


def test_read_glb_accepts_copicks_empty_glb(tmp_path: Path) -> None:
    path = tmp_path / "u_s_o.glb"
    path.write_bytes(_copicks_empty_glb())
    mesh = glb.read_glb(path)
    assert isinstance(mesh, trimesh.Trimesh)
    assert glb.mesh_counts(mesh) == (0, 0)


@pytest.mark.parametrize("empty", [None, "empty_scene", "bare_scene", "empty_trimesh"])
def test_an_empty_mesh_is_written_as_copicks_172_byte_glb(tmp_path: Path, empty: str | None) -> None:
    value = {
        None: None,
        "empty_scene": glb.empty_scene(),
        "bare_scene": trimesh.Scene(),
        "empty_trimesh": trimesh.Trimesh(),
    }[empty]
    path = tmp_path / "m.glb"
    glb.write_glb(path, value)
    assert path.read_bytes() == _copicks_empty_glb()
    assert glb.mesh_counts(glb.read_glb(path)) == (0, 0)


def test_empty_scene_is_exportable_and_has_no_faces() -> None:
    scene = glb.empty_scene()
    assert isinstance(scene, trimesh.Scene)
    assert glb.mesh_counts(scene) == (0, 0)
    assert len(scene.export(file_type="glb")) == 172


def test_a_trimesh_round_trips_with_unchanged_vertices_faces_and_bounds(tmp_path: Path) -> None:
    path = tmp_path / "Meshes" / "u_s_membrane.glb"
    box = _box()
    glb.write_glb(path, box)
    mesh = glb.read_glb(path)
    assert glb.mesh_counts(mesh) == (8, 12)
    np.testing.assert_allclose(mesh.bounds, [[-1, -2, -3], [1, 2, 3]])
    np.testing.assert_allclose(mesh.vertices, box.vertices, atol=1e-6)
    np.testing.assert_array_equal(mesh.faces, box.faces)


def test_a_scene_is_read_back_as_its_geometries_concatenated_with_transforms_applied(tmp_path: Path) -> None:
    scene = trimesh.Scene()
    scene.add_geometry(_box(), node_name="box")
    sphere = trimesh.creation.icosphere(subdivisions=1)
    scene.add_geometry(sphere, node_name="sphere", transform=trimesh.transformations.translation_matrix([10, 0, 0]))
    path = tmp_path / "m.glb"
    glb.write_glb(path, scene)
    mesh = glb.read_glb(path)
    expected = (8 + len(sphere.vertices), 12 + len(sphere.faces))
    assert glb.mesh_counts(mesh) == expected
    assert glb.mesh_counts(scene) == expected
    np.testing.assert_allclose(mesh.bounds, [[-1, -2, -3], [11, 2, 3]], atol=1e-6)


def test_a_geometry_instanced_twice_counts_twice(tmp_path: Path) -> None:
    scene = trimesh.Scene()
    box = _box((1.0, 1.0, 1.0))
    scene.add_geometry(box, node_name="a", geom_name="shared")
    scene.graph.update(frame_to="b", geometry="shared", matrix=trimesh.transformations.translation_matrix([5, 0, 0]))
    assert glb.mesh_counts(scene) == (16, 24)
    merged = glb.as_trimesh(scene)
    assert glb.mesh_counts(merged) == (16, 24)
    np.testing.assert_allclose(merged.bounds, [[-0.5, -0.5, -0.5], [5.5, 0.5, 0.5]])
    glb.write_glb(tmp_path / "m.glb", scene)
    assert glb.mesh_counts(glb.read_glb(tmp_path / "m.glb")) == (16, 24)


def test_as_trimesh_handles_none_trimesh_and_scenes() -> None:
    assert glb.mesh_counts(glb.as_trimesh(None)) == (0, 0)
    box = _box()
    assert glb.as_trimesh(box) is box
    assert glb.mesh_counts(glb.as_trimesh(trimesh.Scene())) == (0, 0)
    assert glb.mesh_counts(glb.as_trimesh(glb.empty_scene())) == (0, 0)
    single = glb.as_trimesh(box.scene())
    assert glb.mesh_counts(single) == (8, 12)
    single.vertices += 1  # a copy: the scene's geometry is untouched
    np.testing.assert_allclose(box.bounds, [[-1, -2, -3], [1, 2, 3]])


def test_as_trimesh_skips_non_triangle_geometry() -> None:
    scene = trimesh.Scene()
    scene.add_geometry(_box(), node_name="box")
    scene.add_geometry(trimesh.PointCloud(np.zeros((4, 3))), node_name="points")
    assert glb.mesh_counts(glb.as_trimesh(scene)) == (8, 12)
    assert glb.mesh_counts(scene) == (8, 12)


@pytest.mark.parametrize("bad", ["mesh", 3, np.zeros((3, 3)), trimesh.PointCloud(np.zeros((2, 3)))])
def test_non_mesh_values_are_refused(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="trimesh"):
        glb.as_trimesh(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trimesh"):
        glb.mesh_counts(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trimesh"):
        glb.write_glb(tmp_path / "m.glb", bad)  # type: ignore[arg-type]


def test_a_failed_write_leaves_the_old_file_and_no_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "m.glb"
    glb.write_glb(path, _box())
    before = path.read_bytes()
    with pytest.raises(ValueError):
        glb.write_glb(path, "not a mesh")  # type: ignore[arg-type]
    assert path.read_bytes() == before
    glb.write_glb(path, glb.empty_scene())
    assert path.stat().st_size == 172
    assert atomic.find_leftovers(tmp_path) == []


def test_reading_a_missing_or_corrupt_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        glb.read_glb(tmp_path / "missing.glb")
    corrupt = tmp_path / "corrupt.glb"
    corrupt.write_bytes(b"glTF\x02\x00\x00\x00garbage")
    with pytest.raises(ValueError, match="not a readable GLB"):
        glb.read_glb(corrupt)


@pytest.mark.copick
def test_copick_loads_what_write_glb_writes_and_write_glb_reads_copicks_meshes(tmp_path: Path) -> None:
    copick = pytest.importorskip("copick")
    root_dir = tmp_path / "project"
    (root_dir / "ExperimentRuns" / "TS_001").mkdir(parents=True)
    config = {
        "config_type": "filesystem",
        "name": "glb test",
        "pickable_objects": [{"name": "membrane", "is_particle": False, "label": 1, "color": [0, 0, 255, 255]}],
        "overlay_root": f"local://{root_dir}",
        "overlay_fs_args": {"auto_mkdir": True},
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    root = copick.from_file(str(config_path))
    run = root.get_run("TS_001")

    created = run.new_mesh("membrane", session_id="0", user_id="tool")
    copick_file = root_dir / "ExperimentRuns" / "TS_001" / "Meshes" / "tool_0_membrane.glb"
    assert copick_file.stat().st_size == 172
    assert glb.mesh_counts(glb.read_glb(copick_file)) == (0, 0)
    assert created is not None

    glb.write_glb(root_dir / "ExperimentRuns" / "TS_001" / "Meshes" / "u_1_membrane.glb", _box())
    run.refresh()
    (mesh,) = run.get_meshes(user_id="u", session_id="1")
    loaded = mesh.mesh
    assert isinstance(loaded, trimesh.Scene)
    np.testing.assert_allclose(loaded.bounds, [[-1, -2, -3], [1, 2, 3]])
