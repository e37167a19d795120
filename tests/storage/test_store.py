"""Behaviour of copick_db.storage.store: the data store every read and write of bulk data goes through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from copick_db.errors import ReadOnlyError, ZarrGroupNotFoundError
from copick_db.storage import paths
from copick_db.storage.store import (
    LocalStore,
    MetadataError,
    StoreCopyError,
    open_data_store,
    prepare_volume,
)
from copick_db.storage.zarr_metadata import signature

TOMO = paths.tomogram_path("TS_001", 10.0, "wbp")
MESH = paths.mesh_path("TS_001", "alice", "1", "membrane")


def _write(store: LocalStore, key: str, volume: np.ndarray, levels: int = 2) -> None:
    """Write a volume the way copick_db does: staged, then swapped in and settled."""
    staging = store.stage(key)
    store.write_volume(staging, volume, voxel_size=10.0, levels=levels, dtype=volume.dtype, method="mean")
    store.swap_in(staging, key).settle()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "data")


@pytest.fixture
def volume() -> np.ndarray:
    return np.arange(8 * 6 * 4, dtype=np.float32).reshape(8, 6, 4)


# -- keys and locations ------------------------------------------------------------------------------------------


def test_a_key_locates_under_the_root_and_the_location_gives_the_key_back(store: LocalStore) -> None:
    location = store.locate(TOMO)
    assert location == store.directory / "ExperimentRuns/TS_001/VoxelSpacing10.000/wbp.zarr"
    assert store.key_of(location) == TOMO
    assert store.key_of(store.directory) == ""
    assert store.key_of(store.directory.parent / "elsewhere") is None


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "a/../../b"])
def test_no_key_reaches_outside_the_root(store: LocalStore, key: str) -> None:
    with pytest.raises(ValueError, match=r"absolute|leaves the data root"):
        store.locate(key)


def test_only_local_locations_open_as_stores(tmp_path: Path) -> None:
    assert open_data_store(tmp_path).directory == tmp_path
    assert open_data_store(f"file://{tmp_path}").directory == tmp_path
    assert open_data_store(f"local://{tmp_path}", read_only=True).read_only
    with pytest.raises(ValueError, match=r"'s3'.*local or network-mounted directory"):
        open_data_store("s3://bucket/project")


# -- the write protocol --------------------------------------------------------------------------------------------


def test_staged_data_is_invisible_until_it_is_swapped_in(store: LocalStore, volume: np.ndarray) -> None:
    staging = store.stage(TOMO)
    assert Path(staging).parent == Path(TOMO).parent and Path(staging).name.startswith(".wbp.zarr.tmp-")
    store.write_volume(staging, volume, voxel_size=10.0, levels=1, dtype=np.float32, method="mean")
    assert not store.exists(TOMO) and store.volume_levels(TOMO) == []
    swap = store.swap_in(staging, TOMO)
    swap.settle()
    np.testing.assert_array_equal(store.open_array(TOMO)[...], volume)
    assert store.leftovers(inside_volumes=True) == []


def test_an_undone_swap_puts_the_previous_version_back(store: LocalStore, volume: np.ndarray) -> None:
    _write(store, TOMO, volume)
    staging = store.stage(TOMO)
    store.write_volume(staging, volume * 2, voxel_size=10.0, levels=1, dtype=np.float32, method="mean")
    store.swap_in(staging, TOMO).undo()
    np.testing.assert_array_equal(store.open_array(TOMO)[...], volume)
    assert store.volume_levels(TOMO) == ["0", "1"]
    store.discard(staging)
    assert store.leftovers(inside_volumes=True) == []


def test_the_version_changes_when_a_volume_is_replaced_and_not_when_it_is_read(
    store: LocalStore, volume: np.ndarray
) -> None:
    assert store.version(TOMO) is None
    _write(store, TOMO, volume)
    first = store.version(TOMO)
    store.open_array(TOMO)[0:2]
    assert store.version(TOMO) == first
    _write(store, TOMO, volume + 1)
    assert store.version(TOMO) not in (None, first)


def test_a_region_write_changes_only_that_region(store: LocalStore, volume: np.ndarray) -> None:
    _write(store, TOMO, volume, levels=1)
    store.write_region(TOMO, np.zeros((2, 2, 2), np.float32), "0", (slice(0, 2), slice(0, 2), slice(0, 2)))
    expected = volume.copy()
    expected[:2, :2, :2] = 0
    np.testing.assert_array_equal(store.open_array(TOMO)[...], expected)


def test_bad_volumes_are_refused_before_anything_is_staged(store: LocalStore) -> None:
    with pytest.raises(ValueError, match="3D"):
        prepare_volume(np.zeros((4, 4)), voxel_size=10.0)
    with pytest.raises(ValueError, match="do not fit uint8"):
        prepare_volume(np.full((2, 2, 2), 300), voxel_size=10.0, dtype=np.uint8)
    assert not store.directory.exists()


def test_a_mesh_is_written_and_read_back_as_one_trimesh(store: LocalStore) -> None:
    store.write_mesh(MESH, trimesh.creation.box())
    assert len(store.read_mesh(MESH).faces) == 12
    assert store.mesh_problem(MESH) is None
    store.write_mesh(MESH, None)
    assert len(store.read_mesh(MESH).vertices) == 0 and store.mesh_problem(MESH) is None


# -- removal, trash and leftovers ------------------------------------------------------------------------------


def test_removal_takes_data_off_its_key_in_one_step(store: LocalStore, volume: np.ndarray) -> None:
    _write(store, TOMO, volume)
    trash = store.move_to_trash(TOMO)
    assert trash is not None and not store.exists(TOMO) and store.exists(trash)
    assert store.leftovers() == [trash]
    store.discard(trash)
    assert store.leftovers() == [] and store.move_to_trash(TOMO) is None
    _write(store, TOMO, volume)
    assert store.remove(TOMO) and not store.has_entry(TOMO) and not store.remove(TOMO)


def test_a_missing_key_is_restorable_from_the_trash_of_an_interrupted_replacement(
    store: LocalStore, volume: np.ndarray
) -> None:
    _write(store, TOMO, volume)
    assert store.restorable(TOMO) is None  # present: nothing to restore
    trash = store.move_to_trash(TOMO)  # what a writer killed between its two renames leaves
    assert store.restorable(TOMO) == trash
    assert store.restore(trash, TOMO)
    np.testing.assert_array_equal(store.open_array(TOMO)[...], volume)
    assert not store.restore(trash, TOMO)  # the key is taken: nothing is moved over it


def test_a_dangling_link_is_an_entry_but_not_data(store: LocalStore) -> None:
    link = store.locate(TOMO)
    link.parent.mkdir(parents=True)
    link.symlink_to(store.directory / "offline-disk" / "wbp.zarr")
    assert store.has_entry(TOMO) and not store.exists(TOMO)


def test_a_leftover_of_a_running_writer_is_recognised(store: LocalStore) -> None:
    mine = store.stage(TOMO)
    assert not store.is_being_written(mine)  # this process: never still writing when a check runs in it
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        theirs = mine.replace(f"-{os.getpid()}-", f"-{child.pid}-")
        assert store.is_being_written(theirs)
    finally:
        child.kill()
        child.wait()
    assert not store.is_being_written(theirs)
    assert not store.is_being_written(TOMO)


def test_layout_data_lists_volumes_and_meshes_where_copick_keeps_them(store: LocalStore, volume: np.ndarray) -> None:
    seg = paths.typed_segmentation_path("TS_001", 10.0, "alice", "1", "membrane", is_instance=True)
    for key in (TOMO, seg, paths.object_path("ribosome")):
        _write(store, key, volume, levels=1)
    store.write_mesh(MESH, None)
    store.move_to_trash(seg)
    (store.locate("ExperimentRuns/TS_001/Picks")).mkdir()
    assert store.layout_data() == sorted([TOMO, MESH, paths.object_path("ribosome")])


# -- read-only stores ------------------------------------------------------------------------------------------


def test_a_read_only_store_reads_but_refuses_every_write(tmp_path: Path, volume: np.ndarray) -> None:
    _write(LocalStore(tmp_path), TOMO, volume)
    static = LocalStore(tmp_path, read_only=True)
    np.testing.assert_array_equal(static.open_array(TOMO)[...], volume)
    writes = [
        lambda: static.stage(TOMO),
        lambda: static.write_region(TOMO, volume, "0"),
        lambda: static.open_array(TOMO, writable=True),
        lambda: static.zarr_store(TOMO, writable=True),
        lambda: static.remove(TOMO),
        lambda: static.move_to_trash(TOMO),
        lambda: static.write_mesh(MESH, None),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError, match="read-only"):
            write()
    np.testing.assert_array_equal(static.open_array(TOMO)[...], volume)


# -- what a volume's metadata says -----------------------------------------------------------------------------


def test_a_volume_is_described_from_its_metadata(store: LocalStore, volume: np.ndarray) -> None:
    _write(store, TOMO, volume)
    info = store.describe_volume(TOMO)
    assert (info.zarr_format, info.shape, info.voxel_size, info.has_data) == (2, (8, 6, 4), 10.0, True)
    assert store.volume_signature(TOMO) == signature(store.locate(TOMO))
    empty = paths.tomogram_path("TS_001", 10.0, "empty")
    store.make_empty_volume(empty)
    assert not store.describe_volume(empty).has_data and store.describe_volume(empty).zarr_format is None


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"0/0.0.0": "x"}, "not a zarr store"),
        ({".zattrs": "{oops"}, ".zattrs is not valid JSON"),
        ({".zgroup": "[]"}, ".zgroup does not hold a JSON object"),
        ({".zgroup": "{}", "0/.zarray": json.dumps({"shape": [4], "chunks": [8, 8], "dtype": "<f4"})}, "do not fit"),
        ({".zarray": json.dumps({"shape": [4], "chunks": [2], "dtype": "nonsense"})}, "unknown dtype"),
    ],
)
def test_impossible_metadata_is_refused_with_the_reason(store: LocalStore, files: dict, reason: str) -> None:
    for name, text in files.items():
        path = store.locate(f"{TOMO}/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    with pytest.raises(MetadataError, match=reason):
        store.describe_volume(TOMO)


def test_a_file_where_a_volume_should_be_is_not_a_volume(store: LocalStore) -> None:
    store.locate(TOMO).parent.mkdir(parents=True)
    store.locate(TOMO).write_text("a file")
    with pytest.raises(MetadataError, match="not a directory"):
        store.describe_volume(TOMO)
    with pytest.raises(StoreCopyError, match="not a directory"):
        store.copy_volume_to(TOMO, LocalStore(store.directory.parent / "out"), TOMO)


def test_a_format_3_store_is_described_as_format_3(store: LocalStore) -> None:
    meta = {"zarr_format": 3, "node_type": "array", "shape": [4, 4, 4]}
    meta["chunk_grid"] = {"name": "regular", "configuration": {"chunk_shape": [2, 2, 2]}}
    store.locate(TOMO).mkdir(parents=True)
    store.locate(f"{TOMO}/zarr.json").write_text(json.dumps(meta))
    info = store.describe_volume(TOMO)
    assert (info.zarr_format, info.shape) == (3, (4, 4, 4))
    store.locate(f"{TOMO}/zarr.json").write_text("{broken")
    with pytest.raises(MetadataError) as raised:
        store.describe_volume(TOMO)
    assert raised.value.zarr_format == 3


def test_a_volume_missing_a_level_its_metadata_lists_is_a_problem(store: LocalStore, volume: np.ndarray) -> None:
    _write(store, TOMO, volume)
    assert store.volume_problem(TOMO) is None
    store.remove(f"{TOMO}/1")
    assert "lacks level(s) 1" in store.volume_problem(TOMO)


def test_a_truncated_mesh_is_a_problem(store: LocalStore) -> None:
    store.write_mesh(MESH, trimesh.creation.box())
    data = store.locate(MESH).read_bytes()
    store.locate(MESH).write_bytes(data[:-10])
    assert "truncated" in store.mesh_problem(MESH)
    store.locate(MESH).write_bytes(b"not a mesh")
    assert "not a GLB file" in store.mesh_problem(MESH)


# -- copying out (export) --------------------------------------------------------------------------------------


def test_a_volume_copied_out_reads_the_same_with_nested_chunk_keys(tmp_path: Path, volume: np.ndarray) -> None:
    source, target = LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b")
    _write(source, TOMO, volume)
    copy = source.copy_volume_to(TOMO, target, "out.zarr")
    assert not copy.converted and copy.rewritten == [] and copy.size == target.size("out.zarr") > 0
    np.testing.assert_array_equal(target.open_array("out.zarr")[...], volume)
    assert target.volume_attrs("out.zarr") == source.volume_attrs(TOMO)


def test_a_file_is_copied_out_byte_for_byte(tmp_path: Path) -> None:
    source, target = LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b")
    source.write_mesh(MESH, trimesh.creation.box())
    size = source.copy_file_to(MESH, target, "m.glb")
    assert target.locate("m.glb").read_bytes() == source.locate(MESH).read_bytes()
    assert size == len(source.locate(MESH).read_bytes()) > 0
    with pytest.raises(FileNotFoundError):
        source.copy_file_to("missing.glb", target, "n.glb")


def test_a_missing_level_is_a_zarr_group_error(store: LocalStore, volume: np.ndarray) -> None:
    _write(store, TOMO, volume, levels=1)
    with pytest.raises(ZarrGroupNotFoundError, match="available arrays: '0'"):
        store.open_array(TOMO, "3")
    assert store.array_info(TOMO, "3") is None and store.array_info(TOMO)[0] == (8, 6, 4)
