"""Data users write by hand into ``zarr()`` (api-contract §3 "Hand-written zarr"), under zarr 2.18 and zarr 3.

copick users fill the store of a new tomogram, feature map, segmentation or density map themselves, in one of three
ways: ``zarr.array(data, store=...)``, ``zarr.create(shape, store=...)`` (both an array at the store's root, which
``numpy()`` reads as level "0"), or ``zarr.open_group(store, mode="w")`` with arrays "0", "1", … and OME
``multiscales`` attributes built by hand. Whatever they wrote, ``numpy()`` and region reads return it, ``check``
finds no problem, the catalog's recorded sizes follow the store, and an export carries it to copick.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import copick_db
from copick_db import maintenance
from copick_db.storage import zarr_io

ZARR2 = zarr.__version__.startswith("2.")
SHAPE = (12, 20, 28)  # (z, y, x)
RNG = np.random.default_rng(12)
VOLUMES = {
    "tomogram": RNG.normal(size=SHAPE).astype(np.float32),
    "features": RNG.normal(size=(2, *SHAPE)).astype(np.float32),  # (c, z, y, x)
    "segmentation": RNG.integers(0, 2, size=SHAPE).astype(np.uint8),
    "density_map": RNG.normal(size=SHAPE).astype(np.float32),
}
KINDS = list(VOLUMES)
PATTERNS = ["zarr.array", "zarr.create", "ome-group"]


def data_dir(root: Any) -> Path:
    """The directory new bulk data of ``root`` goes to."""
    return root.data.directories[root.data.default_id]


def _new_entity(root: Any, kind: str) -> Any:
    """A new entity of ``kind`` without data."""
    if kind == "density_map":
        return root.get_object("ribosome")
    run = root.get_run("TS_001") or root.new_run("TS_001")
    if kind == "segmentation":
        return run.new_segmentation(10.0, "membrane", "0", False, user_id="alice")
    vs = run.get_voxel_spacing(10.0) or run.new_voxel_spacing(10.0)
    tomogram = vs.get_tomogram("wbp") or vs.new_tomogram("wbp")
    return tomogram.new_features("sobel") if kind == "features" else tomogram


def _same_entity(root: Any, kind: str) -> Any:
    """The entity ``_new_entity`` made, looked up in ``root`` (a reopened project)."""
    if kind == "density_map":
        return root.get_object("ribosome")
    run = root.get_run("TS_001")
    if kind == "segmentation":
        return run.get_segmentations(name="membrane")[0]
    tomogram = run.get_voxel_spacing(10.0).get_tomogram("wbp")
    return tomogram.get_features("sobel") if kind == "features" else tomogram


def _chunks(data: np.ndarray) -> tuple[int, ...]:
    return (1, 8, 8, 8) if data.ndim == 4 else (8, 8, 8)


def _level1(data: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(data[..., ::2, ::2, ::2])


def _group_array(group: Any, name: str, data: np.ndarray) -> None:
    if ZARR2:
        group.create_dataset(name, data=data, chunks=_chunks(data))
    else:
        group.create_array(name, data=data, chunks=_chunks(data))


def _multiscales(ndim: int) -> list[dict]:
    """OME-NGFF 0.4 multiscales metadata as users write it by hand."""
    axes = [{"name": axis, "type": "space", "unit": "angstrom"} for axis in "zyx"]
    if ndim == 4:
        axes.insert(0, {"name": "c", "type": "channel"})
    datasets = []
    for level in range(2):
        scale = [10.0 * 2**level] * 3
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [{"type": "scale", "scale": [1.0, *scale] if ndim == 4 else scale}],
            }
        )
    return [{"version": "0.4", "name": "/", "axes": axes, "datasets": datasets}]


def write_by_hand(entity: Any, pattern: str, data: np.ndarray) -> None:
    """What a copick user's script does with ``entity.zarr()``."""
    if pattern == "zarr.array":
        zarr.array(data, store=entity.zarr(), chunks=_chunks(data))
    elif pattern == "zarr.create":
        array = zarr.create(data.shape, store=entity.zarr(), chunks=_chunks(data))  # float64, filled with 0
        array[...] = data
    else:
        group = zarr.open_group(entity.zarr(), mode="w")
        _group_array(group, "0", data)
        _group_array(group, "1", _level1(data))
        group.attrs["multiscales"] = _multiscales(data.ndim)


def expected(pattern: str, data: np.ndarray) -> np.ndarray:
    """What ``numpy()`` returns after ``write_by_hand`` (zarr.create's default dtype is float64)."""
    return data.astype(np.float64) if pattern == "zarr.create" else data


def read_region(entity: Any, kind: str) -> tuple[np.ndarray, tuple]:
    """A region read through the entity's own API, and the index it stands for in the full volume."""
    if kind == "features":
        index = (slice(1, 2), slice(4, 12), slice(0, 5), slice(3, 17))
        return entity.numpy(slices=index), index
    return entity.numpy(x=slice(3, 17), y=slice(0, 5), z=slice(4, 12)), (slice(4, 12), slice(0, 5), slice(3, 17))


# -- the empty store ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_zarr_of_an_entity_without_data_is_an_empty_store(root, kind):
    entity = _new_entity(root, kind)
    entity.zarr()
    assert entity.path.is_dir()
    assert os.listdir(entity.path) == []  # nothing zarr 2 would refuse to write over (ContainsGroupError)
    with pytest.raises(KeyError, match="no data yet"):
        entity.numpy()


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_store_left_by_zarr_is_not_a_problem_for_check(root, kind):
    _new_entity(root, kind).zarr()
    report = maintenance.check(root)
    assert report.ok, report


# -- what users write, read back ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("kind", KINDS)
def test_hand_written_data_is_what_numpy_and_region_reads_return(root, reopen, kind, pattern):
    data = VOLUMES[kind]
    write_by_hand(_new_entity(root, kind), pattern, data)
    want = expected(pattern, data)
    for entity in (_same_entity(root, kind), _same_entity(reopen(), kind)):
        got = entity.numpy()
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        region, index = read_region(entity, kind)
        np.testing.assert_array_equal(region, want[index])


@pytest.mark.parametrize("kind", KINDS)
def test_every_level_of_a_hand_built_multiscale_group_reads_back(root, reopen, kind):
    data = VOLUMES[kind]
    write_by_hand(_new_entity(root, kind), "ome-group", data)
    entity = _same_entity(reopen(), kind)
    np.testing.assert_array_equal(entity.numpy(zarr_group="1"), _level1(data))
    with pytest.raises(KeyError, match="available arrays: '0', '1'"):
        entity.numpy(zarr_group="2")


@pytest.mark.parametrize("pattern", ["zarr.array", "zarr.create"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_root_array_is_level_zero_and_the_only_level(root, kind, pattern):
    data = VOLUMES[kind]
    entity = _new_entity(root, kind)
    write_by_hand(entity, pattern, data)
    np.testing.assert_array_equal(entity.numpy(zarr_group="0"), expected(pattern, data))
    with pytest.raises(KeyError, match="single array at its root"):
        entity.numpy(zarr_group="1")
    np.testing.assert_array_equal(zarr.open(entity.zarr(), mode="r")[...], expected(pattern, data))


def test_zarr_create_with_only_a_shape_reads_as_zeros(root):
    """The brief's own example: ``zarr.create((5, 5, 5), store=feat.zarr())``, then nothing written."""
    features = _new_entity(root, "features")
    zarr.create((5, 5, 5), store=features.zarr())
    got = features.numpy()
    assert got.shape == (5, 5, 5) and got.dtype == np.float64 and not got.any()


def test_set_region_writes_into_a_hand_written_root_array(root, reopen):
    tomogram = _new_entity(root, "tomogram")
    write_by_hand(tomogram, "zarr.array", VOLUMES["tomogram"])
    tomogram.set_region(np.full((2, 3, 4), 7.0), x=slice(0, 4), y=slice(0, 3), z=slice(0, 2))
    want = VOLUMES["tomogram"].copy()
    want[0:2, 0:3, 0:4] = 7.0
    np.testing.assert_array_equal(_same_entity(reopen(), "tomogram").numpy(), want)


@pytest.mark.skipif(not ZARR2, reason="zarr 2: the store's default is copick's nested '/' chunk keys")
def test_zarr2_root_arrays_get_nested_chunk_keys_as_in_copick(root):
    tomogram = _new_entity(root, "tomogram")
    write_by_hand(tomogram, "zarr.array", VOLUMES["tomogram"])
    assert (tomogram.path / "1" / "2" / "3").is_file()  # chunk (1, 2, 3) as copick's FSStore names it


# -- from_numpy after a hand write ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", PATTERNS)
def test_from_numpy_replaces_hand_written_data_whole(root, reopen, pattern):
    tomogram = _new_entity(root, "tomogram")
    write_by_hand(tomogram, pattern, VOLUMES["tomogram"])
    tomogram.numpy()
    fresh = np.ones((6, 8, 10), dtype=np.float32)
    tomogram.from_numpy(fresh, levels=2)
    again = _same_entity(reopen(), "tomogram")
    np.testing.assert_array_equal(again.numpy(), fresh)
    assert again.numpy("1").shape == (3, 4, 5)
    assert zarr_io.store_format(tomogram.path) == 2 and not (tomogram.path / ".zarray").exists()
    assert again.meta.dimensions == (10, 8, 6)


# -- what the catalog records follows the store ----------------------------------------------------------------------


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_first_read_records_the_size_of_a_hand_written_tomogram(root, reopen, pattern):
    tomogram = _new_entity(root, "tomogram")
    write_by_hand(tomogram, pattern, VOLUMES["tomogram"])
    assert tomogram.meta.dimensions is None
    tomogram.numpy(x=slice(0, 1), y=slice(0, 1), z=slice(0, 1))
    assert tomogram.meta.dimensions == (28, 20, 12)  # (x, y, z)
    listed = reopen().get_run("TS_001").get_voxel_spacing(10.0).tomograms
    assert [t.meta.dimensions for t in listed] == [(28, 20, 12)]


def test_a_size_made_stale_by_a_hand_rewrite_is_refreshed_on_read(root, reopen):
    tomogram = _new_entity(root, "tomogram")
    tomogram.from_numpy(np.zeros((17, 24, 33)))
    assert tomogram.meta.dimensions == (33, 24, 17)
    smaller = np.ones((4, 5, 6), dtype=np.float32)
    write_by_hand(tomogram, "ome-group", smaller)  # open_group(mode="w") empties the live store first
    np.testing.assert_array_equal(tomogram.numpy(), smaller)
    assert tomogram.meta.dimensions == (6, 5, 4)
    assert _same_entity(reopen(), "tomogram").meta.dimensions == (6, 5, 4)


def test_reading_on_a_read_only_project_updates_only_the_meta_model(root, reopen):
    write_by_hand(_new_entity(root, "tomogram"), "zarr.array", VOLUMES["tomogram"])
    reader = _same_entity(reopen(read_only=True), "tomogram")
    reader.numpy()
    assert reader.meta.dimensions == (28, 20, 12)
    assert _same_entity(reopen(), "tomogram").meta.dimensions is None  # the catalog was not written


@pytest.mark.parametrize("pattern", PATTERNS)
def test_check_records_the_size_of_a_hand_written_tomogram_and_reports_no_problem(root, reopen, pattern):
    write_by_hand(_new_entity(root, "tomogram"), pattern, VOLUMES["tomogram"])
    report = maintenance.check(root)
    assert report.ok and not report.stale
    assert [(p.kind, p.path.name) for p in report.refreshed] == [("tomogram", "wbp.zarr")]
    assert "no size" in report.refreshed[0].reason
    assert _same_entity(reopen(), "tomogram").meta.dimensions == (28, 20, 12)
    assert maintenance.check(root).refreshed == []  # up to date now


def test_check_on_a_read_only_project_lists_stale_sizes_and_fix_records_them(root, reopen):
    write_by_hand(_new_entity(root, "tomogram"), "zarr.array", VOLUMES["tomogram"])
    report = maintenance.check(reopen(read_only=True))
    assert report.ok and not report.refreshed
    assert [p.row_id is not None for p in report.stale] == [True]
    fixed = maintenance.fix(root, report)
    assert len(fixed.refreshed) == 1 and not fixed.rows_removed
    assert _same_entity(reopen(), "tomogram").meta.dimensions == (28, 20, 12)


def test_fix_measures_again_and_keeps_a_size_from_numpy_recorded_since_the_check(root, reopen):
    tomogram = _new_entity(root, "tomogram")
    write_by_hand(tomogram, "zarr.array", VOLUMES["tomogram"])
    report = maintenance.check(reopen(read_only=True))
    assert len(report.stale) == 1
    tomogram.from_numpy(np.zeros((6, 8, 10)))  # replaces the store and records its size
    assert maintenance.fix(root, report).refreshed == []
    assert _same_entity(reopen(), "tomogram").meta.dimensions == (10, 8, 6)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("kind", KINDS)
def test_check_finds_no_problem_in_hand_written_data(root, kind, pattern):
    write_by_hand(_new_entity(root, kind), pattern, VOLUMES[kind])
    report = maintenance.check(root)
    assert report.ok, report


def test_check_reports_a_level_a_hand_written_multiscale_lists_but_lacks(root):
    tomogram = _new_entity(root, "tomogram")
    group = zarr.open_group(tomogram.zarr(), mode="w")
    _group_array(group, "0", VOLUMES["tomogram"])
    group.attrs["multiscales"] = _multiscales(3)  # lists "0" and "1"
    report = maintenance.check(root)
    assert [p.reason for p in report.missing] == ["zarr store lacks level(s) 1 that its metadata lists"]


# -- export ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("kind", KINDS)
def test_export_carries_hand_written_data_in_a_format_copick_reads(root, tmp_path, kind, pattern):
    data = VOLUMES[kind]
    entity = _new_entity(root, kind)
    write_by_hand(entity, pattern, data)
    report = copick_db.export_filesystem(root, tmp_path / "export", progress=False)
    assert not report.skipped
    exported = tmp_path / "export" / entity.path.relative_to(data_dir(root))
    assert zarr_io.store_format(exported) == 2 and not list(exported.rglob("zarr.json"))  # copick reads format 2
    np.testing.assert_array_equal(zarr_io.read(exported), expected(pattern, data))
    if pattern == "ome-group":
        np.testing.assert_array_equal(zarr_io.read(exported, "1"), _level1(data))
        assert zarr_io.read_attrs(exported)["multiscales"] == _multiscales(data.ndim)


def test_a_read_only_projects_zarr_refuses_writes_and_creates_nothing(root, reopen):
    _new_entity(root, "tomogram")
    tomogram = _same_entity(reopen(read_only=True), "tomogram")
    store = tomogram.zarr()
    assert not tomogram.path.exists()
    with pytest.raises((PermissionError, ValueError)):
        zarr.array(VOLUMES["tomogram"], store=store)
    assert not Path(tomogram.path).exists()
