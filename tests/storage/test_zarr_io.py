"""Behaviour of copick_db.storage.zarr_io under the installed zarr (2.18 or 3.x).

The same file runs in both venvs. Tests marked ``copick`` prove that copick 1.31's own readers (zarr 2 ``FSStore``
with ``key_separator="/"``, its entity API, ome_zarr) read what ``write_multiscale`` writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
import zarr

from copick_db.errors import NotFoundError, ZarrGroupNotFoundError
from copick_db.storage import atomic, paths, zarr_io

REPO = Path(__file__).resolve().parents[2]


def _volume(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _reference_mean(level: np.ndarray) -> np.ndarray:
    """2×2×2 block mean of the last three axes after zero-padding them to even sizes (skimage's semantics)."""
    pad = [(0, 0)] * (level.ndim - 3) + [(0, n % 2) for n in level.shape[-3:]]
    padded = np.pad(level.astype(np.float64), pad)
    lead = padded.shape[:-3]
    z, y, x = (n // 2 for n in padded.shape[-3:])
    return padded.reshape(*lead, z, 2, y, 2, x, 2).mean(axis=(-5, -3, -1))


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_zarr_major_matches_the_installed_zarr() -> None:
    assert int(zarr.__version__.split(".")[0]) == zarr_io.ZARR_MAJOR
    assert zarr_io.ZARR_MAJOR in (2, 3)


# -- write_multiscale: layout and metadata -----------------------------------------------------------------------


def test_write_multiscale_writes_zarr_v2_with_nested_chunk_keys(tmp_path: Path) -> None:
    store = tmp_path / "wbp.zarr"
    zarr_io.write_multiscale(store, _volume((20, 30, 40)), voxel_size=10.0)
    assert _json(store / ".zgroup") == {"zarr_format": 2}
    assert not (store / "zarr.json").exists()
    for level in ("0", "1", "2"):
        assert (store / level / ".zarray").is_file()
        assert (store / level / "0" / "0" / "0").is_file()  # nested "/" keys: copick finds them
        assert not list((store / level).glob("0.0.0"))  # never flat "." keys (copick would read zeros)


def test_write_multiscale_attrs_match_copicks_ome_ngff_04_metadata(tmp_path: Path) -> None:
    store = tmp_path / "wbp.zarr"
    zarr_io.write_multiscale(store, _volume((20, 30, 40)), voxel_size=10.012, levels=3)
    axes = [{"name": axis, "type": "space", "unit": "angstrom"} for axis in "zyx"]
    datasets = [
        {"coordinateTransformations": [{"scale": [s, s, s], "type": "scale"}], "path": str(i)}
        for i, s in enumerate([10.012, 20.024, 40.048])
    ]
    expected = {"multiscales": [{"axes": axes, "datasets": datasets, "metadata": {}, "name": "/", "version": "0.4"}]}
    assert _json(store / ".zattrs") == expected
    assert zarr_io.read_attrs(store) == expected


def test_write_multiscale_array_encoding_matches_copick(tmp_path: Path) -> None:
    store = tmp_path / "wbp.zarr"
    zarr_io.write_multiscale(store, _volume((300, 20, 9)), voxel_size=10.0, levels=2)
    meta = _json(store / "0" / ".zarray")
    assert meta["zarr_format"] == 2
    assert meta["shape"] == [300, 20, 9]
    assert meta["chunks"] == [256, 20, 9]  # min(256, n) per axis
    assert meta["dtype"] == "<f4"
    assert meta["compressor"] == {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
    assert meta["dimension_separator"] == "/"
    assert meta["order"] == "C"
    assert meta["fill_value"] == 0
    assert meta["filters"] is None
    assert _json(store / "1" / ".zarray")["chunks"] == [150, 10, 5]
    assert (store / "0" / "1" / "0" / "0").is_file()  # second chunk along z


def test_write_multiscale_keeps_a_channel_axis_and_never_downsamples_it(tmp_path: Path) -> None:
    store = tmp_path / "wbp_sobel_features.zarr"
    data = _volume((3, 10, 12, 14))
    zarr_io.write_multiscale(store, data, voxel_size=7.5, levels=2)
    assert zarr_io.array_info(store, "0") == ((3, 10, 12, 14), np.dtype("float32"))
    assert zarr_io.array_info(store, "1") == ((3, 5, 6, 7), np.dtype("float32"))
    assert _json(store / "0" / ".zarray")["chunks"] == [1, 10, 12, 14]  # one channel per chunk, like copick
    multiscale = zarr_io.read_attrs(store)["multiscales"][0]
    assert multiscale["axes"][0] == {"name": "c", "type": "channel"}
    assert [axis["name"] for axis in multiscale["axes"]] == ["c", "z", "y", "x"]
    scales = [d["coordinateTransformations"][0]["scale"] for d in multiscale["datasets"]]
    assert scales == [[1.0, 7.5, 7.5, 7.5], [1.0, 15.0, 15.0, 15.0]]
    np.testing.assert_array_equal(zarr_io.read(store), data)
    np.testing.assert_allclose(zarr_io.read(store, "1"), _reference_mean(data), rtol=1e-6)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((20, 30, 40), [(20, 30, 40), (10, 15, 20), (5, 8, 10), (3, 4, 5)]),
        ((82, 1, 3), [(82, 1, 3), (41, 1, 2), (21, 1, 1), (11, 1, 1)]),
    ],
)
def test_level_shapes_round_up(tmp_path: Path, shape: tuple[int, ...], expected: list[tuple[int, ...]]) -> None:
    store = tmp_path / "t.zarr"
    zarr_io.write_multiscale(store, _volume(shape), voxel_size=1.0, levels=4)
    assert [zarr_io.array_info(store, str(i))[0] for i in range(4)] == expected


def test_mean_downsampling_is_a_zero_padded_2x2x2_local_mean(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    data = _volume((9, 10, 11), seed=3)
    zarr_io.write_multiscale(store, data, voxel_size=1.0, levels=3)
    level1 = _reference_mean(data).astype(np.float32)
    np.testing.assert_array_equal(zarr_io.read(store, "0"), data)
    np.testing.assert_allclose(zarr_io.read(store, "1"), level1, rtol=1e-6)
    np.testing.assert_allclose(zarr_io.read(store, "2"), _reference_mean(level1), rtol=1e-6)
    # A corner voxel of an odd edge averages one real voxel with seven zeros.
    assert zarr_io.read(store, "1")[-1, 0, 0] == pytest.approx((data[8, 0:2, 0:2].sum()) / 8, rel=1e-6)


def test_nearest_downsampling_takes_every_second_voxel_and_keeps_labels(tmp_path: Path) -> None:
    store = tmp_path / "seg.zarr"
    labels = np.random.default_rng(5).integers(0, 7, size=(9, 10, 11)).astype(np.uint8)
    zarr_io.write_multiscale(store, labels, voxel_size=10.0, levels=3, dtype=np.uint8, method="nearest")
    np.testing.assert_array_equal(zarr_io.read(store, "1"), labels[::2, ::2, ::2])
    np.testing.assert_array_equal(zarr_io.read(store, "2"), labels[::4, ::4, ::4])
    assert set(np.unique(zarr_io.read(store, "2"))) <= set(np.unique(labels))


def test_mean_downsampling_into_an_integer_dtype_truncates_like_copick(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    data = np.zeros((2, 2, 2), dtype=np.int16)
    data[0, 0, 0] = 15  # mean 1.875
    zarr_io.write_multiscale(store, data, voxel_size=1.0, levels=2, dtype=np.int16)
    assert zarr_io.read(store, "1").tolist() == [[[1]]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16, np.int16, np.bool_])
def test_level_zero_round_trips_exactly(tmp_path: Path, dtype: type) -> None:
    store = tmp_path / "t.zarr"
    data = np.random.default_rng(1).integers(0, 2, size=(7, 8, 9)).astype(dtype)
    zarr_io.write_multiscale(store, data, voxel_size=4.0, levels=1, dtype=dtype)
    result = zarr_io.read(store)
    assert result.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(result, data)
    assert zarr_io.list_arrays(store) == ["0"]


def test_write_multiscale_converts_to_the_requested_dtype(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    data = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    zarr_io.write_multiscale(store, data, voxel_size=1.0, levels=1)  # default float32
    assert zarr_io.array_info(store) == ((2, 3, 4), np.dtype("float32"))
    zarr_io.write_multiscale(store, data.astype(np.float64), voxel_size=1.0, levels=1, dtype=np.uint8)
    np.testing.assert_array_equal(zarr_io.read(store), data.astype(np.uint8))


def test_write_multiscale_replaces_an_existing_store(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    zarr_io.write_multiscale(store, _volume((8, 8, 8)), voxel_size=1.0, levels=3)
    (store / "stray").write_text("x")
    zarr_io.write_multiscale(store, np.ones((4, 4, 4)), voxel_size=2.0, levels=1)
    assert zarr_io.list_arrays(store) == ["0"]
    assert not (store / "stray").exists()
    assert zarr_io.read(store).sum() == 64


def test_a_write_that_fails_midway_inside_staged_leaves_the_previous_store_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "wbp.zarr"
    old = _volume((8, 8, 8), seed=1)
    with atomic.staged(store) as tmp:
        zarr_io.write_multiscale(tmp, old, voxel_size=1.0, levels=2)

    def broken_downsample(*args: object) -> np.ndarray:
        raise MemoryError("out of memory after level 0")

    monkeypatch.setattr(zarr_io, "_downsample", broken_downsample)
    with pytest.raises(MemoryError), atomic.staged(store) as tmp:
        zarr_io.write_multiscale(tmp, np.ones((8, 8, 8)), voxel_size=1.0, levels=2)
    np.testing.assert_array_equal(zarr_io.read(store), old)
    assert zarr_io.list_arrays(store) == ["0", "1"]
    assert atomic.find_leftovers(tmp_path) == []


def test_all_zero_chunks_read_back_as_zeros(tmp_path: Path) -> None:
    store = tmp_path / "seg.zarr"
    zarr_io.write_multiscale(store, np.zeros((4, 5, 6), np.uint8), voxel_size=1.0, levels=1, dtype=np.uint8)
    assert zarr_io.read(store).tolist() == np.zeros((4, 5, 6), np.uint8).tolist()


# -- write_multiscale: bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 4), (4,), (), (1, 2, 2, 2, 2)])
def test_write_multiscale_rejects_volumes_that_are_not_3d_or_4d(tmp_path: Path, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"3D .* or 4D"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", np.zeros(shape), voxel_size=1.0)
    assert not (tmp_path / "t.zarr").exists()


def test_write_multiscale_rejects_empty_axes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one voxel"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", np.zeros((0, 4, 4)), voxel_size=1.0)


@pytest.mark.parametrize("levels", [0, -1, 1.5, True, "3"])
def test_write_multiscale_rejects_bad_level_counts(tmp_path: Path, levels: object) -> None:
    with pytest.raises(ValueError, match="levels"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", np.zeros((2, 2, 2)), voxel_size=1.0, levels=levels)  # type: ignore[arg-type]


@pytest.mark.parametrize("voxel_size", [0.0, -1.0, float("nan"), float("inf"), "10"])
def test_write_multiscale_rejects_bad_voxel_sizes(tmp_path: Path, voxel_size: object) -> None:
    with pytest.raises(ValueError, match="voxel_size"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", np.zeros((2, 2, 2)), voxel_size=voxel_size)  # type: ignore[arg-type]


def test_write_multiscale_rejects_unknown_methods_and_dtypes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="method"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", np.zeros((2, 2, 2)), voxel_size=1.0, method="cubic")
    with pytest.raises(ValueError, match="dtype"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", np.zeros((2, 2, 2)), voxel_size=1.0, dtype=np.complex64)
    with pytest.raises(ValueError, match="dtype"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", np.zeros((2, 2, 2), np.complex64), voxel_size=1.0)


def test_a_label_too_large_for_uint8_is_refused_and_the_message_names_a_dtype_that_holds_it(tmp_path: Path) -> None:
    labels = np.zeros((4, 4, 4), dtype=np.int64)
    labels[1, 2, 3] = 300
    with pytest.raises(ValueError, match=r"300 do not fit uint8.*uint16 holds them"):
        zarr_io.write_multiscale(tmp_path / "seg.zarr", labels, voxel_size=1.0, levels=1, dtype=np.uint8)
    assert not (tmp_path / "seg.zarr").exists()


def test_negative_labels_into_an_unsigned_dtype_are_refused(tmp_path: Path) -> None:
    labels = np.full((2, 2, 2), -1, dtype=np.int32)
    with pytest.raises(ValueError, match=r"do not fit uint8.*int8 holds them"):
        zarr_io.write_multiscale(tmp_path / "seg.zarr", labels, voxel_size=1.0, levels=1, dtype=np.uint8)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_into_an_integer_dtype_are_refused(tmp_path: Path, bad: float) -> None:
    data = np.ones((3, 3, 3), dtype=np.float32)
    data[1, 1, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        zarr_io.write_multiscale(tmp_path / "seg.zarr", data, voxel_size=1.0, levels=1, dtype=np.uint8)


def test_non_integral_values_into_an_integer_dtype_are_refused(tmp_path: Path) -> None:
    data = np.full((2, 2, 2), 1.5)
    with pytest.raises(ValueError, match="non-integral"):
        zarr_io.write_multiscale(tmp_path / "seg.zarr", data, voxel_size=1.0, levels=1, dtype=np.int16)


def test_float64_values_that_overflow_float32_are_refused_but_nan_is_kept(tmp_path: Path) -> None:
    data = np.ones((2, 2, 2))
    data[0, 0, 0] = 1e300
    with pytest.raises(ValueError, match="overflow float32"):
        zarr_io.write_multiscale(tmp_path / "t.zarr", data, voxel_size=1.0, levels=1)
    data[0, 0, 0] = np.nan
    zarr_io.write_multiscale(tmp_path / "t.zarr", data, voxel_size=1.0, levels=1)
    assert np.isnan(zarr_io.read(tmp_path / "t.zarr")[0, 0, 0])


# -- open_array / read / write -----------------------------------------------------------------------------------


@pytest.fixture
def tomogram(tmp_path: Path) -> tuple[Path, np.ndarray]:
    store = tmp_path / "wbp.zarr"
    data = _volume((20, 30, 40), seed=7)
    zarr_io.write_multiscale(store, data, voxel_size=10.0, levels=2)
    return store, data


def test_read_returns_a_region_as_an_owned_numpy_copy(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    region = zarr_io.read(store, "0", (slice(10, 40), slice(5, 15), slice(0, 30)))
    assert isinstance(region, np.ndarray)
    np.testing.assert_array_equal(region, data[10:40, 5:15, 0:30])
    region[...] = -1  # writable, and not tied to the store
    np.testing.assert_array_equal(zarr_io.read(store)[10:20, 5:15, 0:30], data[10:20, 5:15, 0:30])


def test_read_accepts_integers_and_a_single_slice(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    np.testing.assert_array_equal(zarr_io.read(store, "0", (3, slice(None), 4)), data[3, :, 4])
    np.testing.assert_array_equal(zarr_io.read(store, "0", slice(2, 4)), data[2:4])
    assert zarr_io.read(store, "0", (1, 2, 3)) == data[1, 2, 3]


@pytest.mark.parametrize("bad", [([1, 2],), (np.array([1, 2]),), ("a",), (1.5,)])
def test_read_rejects_fancy_selections(tomogram: tuple[Path, np.ndarray], bad: tuple) -> None:
    with pytest.raises(ValueError, match="slices and integers"):
        zarr_io.read(tomogram[0], "0", bad)


def test_open_array_gives_zarrs_array_for_fast_repeated_reads(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    array = zarr_io.open_array(store)
    assert isinstance(array, zarr.Array)
    assert array.shape == data.shape
    np.testing.assert_array_equal(array[0:5, 0:5, 0:5], data[0:5, 0:5, 0:5])


def test_open_array_is_read_only_unless_asked(tomogram: tuple[Path, np.ndarray]) -> None:
    store, _ = tomogram
    with pytest.raises((PermissionError, ValueError)):  # zarr's own read-only errors are ValueErrors
        zarr_io.open_array(store)[0, 0, 0] = 5
    zarr_io.open_array(store, writable=True)[0, 0, 0] = 5
    assert zarr_io.read(store)[0, 0, 0] == 5


def test_write_updates_a_region_in_place(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    level1 = zarr_io.read(store, "1")
    patch = np.full((5, 6, 7), 2.5, dtype=np.float64)
    zarr_io.write(store, patch, "0", (slice(1, 6), slice(2, 8), slice(3, 10)))
    expected = data.copy()
    expected[1:6, 2:8, 3:10] = 2.5
    result = zarr_io.read(store)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(zarr_io.read(store, "1"), level1)  # other levels are not recomputed


def test_write_sets_a_single_voxel_with_a_scalar(tmp_path: Path) -> None:
    store = tmp_path / "seg.zarr"
    zarr_io.write_multiscale(store, np.zeros((3, 3, 3)), voxel_size=1.0, levels=1, dtype=np.uint8)
    zarr_io.write(store, np.float64(7.0), "0", (1, 2, 0))
    assert zarr_io.read(store)[1, 2, 0] == 7
    with pytest.raises(ValueError, match="uint16 holds them"):
        zarr_io.write(store, 300, "0", (1, 2, 0))


def test_write_with_an_empty_selection_replaces_the_whole_array(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    zarr_io.write(store, np.zeros_like(data), "0")
    assert not zarr_io.read(store).any()


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 8), (1, 5, 6, 7), ()])
def test_write_rejects_data_whose_shape_does_not_match_the_selection(
    tomogram: tuple[Path, np.ndarray], shape: tuple[int, ...]
) -> None:
    store, data = tomogram
    with pytest.raises(ValueError, match="does not match the selected region of shape"):
        zarr_io.write(store, np.zeros(shape), "0", (slice(1, 6), slice(2, 8), slice(3, 10)))
    np.testing.assert_array_equal(zarr_io.read(store), data)


def test_write_refuses_values_the_arrays_dtype_cannot_hold(tmp_path: Path) -> None:
    store = tmp_path / "seg.zarr"
    zarr_io.write_multiscale(store, np.zeros((4, 4, 4)), voxel_size=1.0, levels=1, dtype=np.uint8)
    with pytest.raises(ValueError, match="uint16 holds them"):
        zarr_io.write(store, np.full((2, 2, 2), 300), "0", (slice(0, 2),) * 3)
    with pytest.raises(ValueError, match="NaN"):
        zarr_io.write(store, np.full((2, 2, 2), np.nan), "0", (slice(0, 2),) * 3)
    assert not zarr_io.read(store).any()


def test_a_missing_group_raises_an_error_listing_the_available_arrays(tomogram: tuple[Path, np.ndarray]) -> None:
    store, _ = tomogram
    with pytest.raises(ZarrGroupNotFoundError, match=r"no array '5'; available arrays: '0', '1'") as excinfo:
        zarr_io.read(store, "5")
    assert isinstance(excinfo.value, KeyError)
    assert isinstance(excinfo.value, NotFoundError)
    with pytest.raises(ZarrGroupNotFoundError):
        zarr_io.open_array(store, "5", writable=True)
    with pytest.raises(ZarrGroupNotFoundError):
        zarr_io.write(store, np.zeros((1, 1, 1)), "5")


def test_a_missing_or_empty_store_says_it_has_no_data(tmp_path: Path) -> None:
    with pytest.raises(ZarrGroupNotFoundError, match="does not exist"):
        zarr_io.read(tmp_path / "missing.zarr")
    empty = tmp_path / "empty.zarr"
    empty.mkdir()  # what copick's new_tomogram leaves behind
    with pytest.raises(ZarrGroupNotFoundError, match="has no data yet"):
        zarr_io.open_array(empty)
    (empty / ".zgroup").write_text('{"zarr_format": 2}')  # what copick's obj.zarr() leaves behind
    with pytest.raises(ZarrGroupNotFoundError, match="has no data yet"):
        zarr_io.read(empty, "0")


@pytest.mark.parametrize("group", ["", "..", "../x", "0/../..", "a\x00"])
def test_bad_group_keys_are_refused(tomogram: tuple[Path, np.ndarray], group: str) -> None:
    with pytest.raises(ValueError, match="zarr group"):
        zarr_io.open_array(tomogram[0], group)


def test_corrupt_array_metadata_is_a_clear_value_error(tomogram: tuple[Path, np.ndarray]) -> None:
    store, _ = tomogram
    (store / "1" / ".zarray").write_text("{not json")
    with pytest.raises(ValueError, match=r"array '1' of zarr store .* cannot be opened"):
        zarr_io.read(store, "1")


# -- inspection --------------------------------------------------------------------------------------------------


def test_array_info_is_none_for_missing_arrays(tomogram: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    store, _ = tomogram
    assert zarr_io.array_info(store) == ((20, 30, 40), np.dtype("float32"))
    assert zarr_io.array_info(store, "7") is None
    assert zarr_io.array_info(tmp_path / "missing.zarr") is None


def test_list_arrays_is_in_natural_order(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    zarr_io.write_multiscale(store, np.ones((4, 4, 4)), voxel_size=1.0, levels=12)
    assert zarr_io.list_arrays(store) == [str(i) for i in range(12)]
    assert zarr_io.array_info(store, "11") == ((1, 1, 1), np.dtype("float32"))


def test_has_data_is_false_for_missing_and_empty_stores(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    assert not zarr_io.has_data(store)
    store.mkdir()
    assert not zarr_io.has_data(store)
    assert zarr_io.list_arrays(store) == []
    zarr_io.write_multiscale(store, np.ones((2, 2, 2)), voxel_size=1.0, levels=1)
    assert zarr_io.has_data(store)
    assert not zarr_io.has_data(tmp_path / "not-a-dir.txt")


def test_read_attrs_is_empty_without_attributes_and_refuses_corrupt_json(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    assert zarr_io.read_attrs(store) == {}
    store.mkdir()
    assert zarr_io.read_attrs(store) == {}
    (store / ".zattrs").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        zarr_io.read_attrs(store)
    (store / ".zattrs").write_text("{oops")
    with pytest.raises(ValueError, match="not valid JSON"):
        zarr_io.read_attrs(store)


def test_read_attrs_accepts_copick_metadata_null(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    store.mkdir()
    (store / ".zattrs").write_text('{"multiscales": [{"metadata": null, "name": "/", "version": "0.4"}]}')
    assert zarr_io.read_attrs(store)["multiscales"][0]["metadata"] is None


# -- open_store --------------------------------------------------------------------------------------------------


def test_open_store_reads_level_zero_with_plain_zarr(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    for writable in (False, True):
        root = zarr.open(zarr_io.open_store(store, writable=writable), mode="r")
        np.testing.assert_array_equal(root["0"][:], data)
    np.testing.assert_array_equal(zarr.open(zarr_io.open_store(store, writable=False))["0"][:], data)


def test_a_read_only_store_refuses_writes(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    with pytest.raises((PermissionError, ValueError)):
        zarr.open(zarr_io.open_store(store, writable=False))["0"][0, 0, 0] = 99
    assert zarr_io.read(store)[0, 0, 0] == data[0, 0, 0]


def _tool_creates_level_zero(store: object, data: np.ndarray) -> None:
    """What copick users do with ``features.zarr()``: open the store and create array "0" themselves."""
    root = zarr.open(store, mode="a")
    if zarr_io.ZARR_MAJOR == 2:
        array = root.create_dataset("0", shape=data.shape, chunks=(1, 8, 8, 8), dtype=data.dtype)
    else:
        array = root.create_array("0", shape=data.shape, chunks=(1, 8, 8, 8), dtype=data.dtype)
    array[...] = data


def test_a_writable_store_of_a_new_entity_is_an_empty_directory(tmp_path: Path) -> None:
    store = tmp_path / "wbp_sobel_features.zarr"
    zarr_io.open_store(store, writable=True)
    assert store.is_dir() and os.listdir(store) == []  # as copick's FSStore(create=True): no metadata to clash with
    assert not zarr_io.has_data(store)
    assert zarr_io.store_format(store) is None


def test_a_writable_store_lets_a_tool_create_arrays_in_a_group(tmp_path: Path) -> None:
    store = tmp_path / "wbp_sobel_features.zarr"
    data = _volume((2, 10, 12, 14))
    _tool_creates_level_zero(zarr_io.open_store(store, writable=True), data)
    assert zarr_io.has_data(store)
    assert zarr_io.levels(store) == ["0"]
    assert zarr_io.store_format(store) == zarr_io.ZARR_MAJOR  # the installed zarr's default format
    np.testing.assert_array_equal(zarr_io.read(store), data)


@pytest.mark.parametrize("how", ["array", "create"])
def test_a_writable_store_takes_an_array_at_its_root_which_reads_as_level_zero(tmp_path: Path, how: str) -> None:
    store = tmp_path / "wbp.zarr"
    data = _volume((20, 30, 40))
    handle = zarr_io.open_store(store, writable=True)
    if how == "array":
        zarr.array(data, store=handle, chunks=(8, 8, 8))
    else:
        zarr.create((20, 30, 40), store=handle, dtype="f4", chunks=(8, 8, 8))[...] = data
    assert zarr_io.levels(store) == ["0"]
    assert zarr_io.list_arrays(store) == []  # nested chunk directories 0/, 1/… are not arrays
    assert zarr_io.has_data(store)
    assert zarr_io.array_info(store) == ((20, 30, 40), np.dtype("float32"))
    np.testing.assert_array_equal(zarr_io.read(store), data)
    np.testing.assert_array_equal(zarr_io.read(store, "0", (slice(2, 5), 3)), data[2:5, 3])
    zarr_io.write(store, np.full((2, 2, 2), -1.0), "0", (slice(0, 2), slice(0, 2), slice(0, 2)))
    assert zarr_io.read(store)[1, 1, 1] == -1.0
    with pytest.raises(ZarrGroupNotFoundError, match="single array at its root"):
        zarr_io.read(store, "1")


def test_store_format_names_the_root_metadata(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    assert zarr_io.store_format(store) is None
    store.mkdir()
    (store / ".zgroup").write_text('{"zarr_format": 2}')
    assert zarr_io.store_format(store) == 2
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    assert zarr_io.store_format(store) == 3  # what zarr 3 reads first


@pytest.mark.skipif(zarr_io.ZARR_MAJOR != 2, reason="zarr 2 only: zarr 3 reads format 3")
def test_zarr2_says_clearly_that_it_cannot_read_a_format_3_array(tmp_path: Path) -> None:
    store = tmp_path / "t.zarr"
    (store / "0").mkdir(parents=True)
    (store / "0" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array"}')
    with pytest.raises(ValueError, match="zarr format 3"):
        zarr_io.read(store)


@pytest.mark.skipif(zarr_io.ZARR_MAJOR != 3, reason="zarr 3 only: it writes format 3 by default")
def test_a_format_3_group_is_copied_as_format_2_with_copicks_encoding(tmp_path: Path) -> None:
    source = tmp_path / "v3.zarr"
    data = _volume((20, 30, 40))
    group = zarr.open_group(zarr_io.open_store(source, writable=True), mode="w")
    group.create_array("0", data=data, chunks=(8, 16, 16))
    group.create_array("1", data=data[::2, ::2, ::2], chunks=(8, 16, 16))
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}, {"path": "1"}], "version": "0.4"}]
    group["0"].attrs["note"] = "kept"
    assert zarr_io.store_format(source) == 3
    target = tmp_path / "v2.zarr"
    zarr_io.copy_store_as_format2(source, target)
    assert zarr_io.store_format(target) == 2 and not list(target.rglob("zarr.json"))
    meta = _json(target / "0" / ".zarray")
    assert meta["chunks"] == [8, 16, 16] and meta["dimension_separator"] == "/"
    assert meta["compressor"]["cname"] == "lz4"
    assert (target / "0" / "2" / "1" / "2").is_file()  # nested keys: copick finds them
    assert _json(target / ".zattrs") == zarr_io.read_attrs(source)
    assert _json(target / "0" / ".zattrs") == {"note": "kept"}
    np.testing.assert_array_equal(zarr_io.read(target), data)
    np.testing.assert_array_equal(zarr_io.read(target, "1"), data[::2, ::2, ::2])


@pytest.mark.skipif(zarr_io.ZARR_MAJOR != 3, reason="zarr 3 only: it writes format 3 by default")
def test_a_format_3_root_array_is_copied_as_a_format_2_root_array(tmp_path: Path) -> None:
    source = tmp_path / "v3.zarr"
    data = np.arange(5 * 6 * 7, dtype=np.int16).reshape(5, 6, 7)
    zarr.array(data, store=zarr_io.open_store(source, writable=True), chunks=(2, 3, 7), fill_value=3)
    target = tmp_path / "v2.zarr"
    zarr_io.copy_store_as_format2(source, target)
    meta = _json(target / ".zarray")
    assert (meta["shape"], meta["chunks"], meta["dtype"], meta["fill_value"]) == ([5, 6, 7], [2, 3, 7], "<i2", 3)
    np.testing.assert_array_equal(zarr_io.read(target), data)
    with pytest.raises(FileExistsError):
        zarr_io.copy_store_as_format2(source, target)


def test_opening_a_writable_store_keeps_existing_data(tomogram: tuple[Path, np.ndarray]) -> None:
    store, data = tomogram
    zarr_io.open_store(store, writable=True)
    np.testing.assert_array_equal(zarr_io.read(store), data)
    assert "multiscales" in zarr_io.read_attrs(store)


def test_a_read_only_store_of_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    zarr_io.open_store(tmp_path / "missing.zarr", writable=False)
    assert not (tmp_path / "missing.zarr").exists()


@pytest.mark.skipif(zarr_io.ZARR_MAJOR != 2, reason="zarr 2 only: its DirectoryStore decides the default key layout")
def test_zarr2_tool_arrays_get_nested_chunk_keys(tmp_path: Path) -> None:
    store = tmp_path / "f.zarr"
    _tool_creates_level_zero(zarr_io.open_store(store, writable=True), _volume((2, 10, 12, 14)))
    assert _json(store / "0" / ".zarray")["dimension_separator"] == "/"
    assert (store / "0" / "1" / "1" / "1" / "1").is_file()


# -- copick's readers --------------------------------------------------------------------------------------------


def _copick_project(root: Path) -> Path:
    """A minimal copick filesystem project config whose overlay is ``root``."""
    config = {
        "config_type": "filesystem",
        "name": "storage test",
        "description": "",
        "version": "1.31.0",
        "pickable_objects": [
            {"name": "ribosome", "is_particle": True, "label": 1, "color": [255, 0, 0, 255], "radius": 120.0}
        ],
        "overlay_root": f"local://{root}",
        "overlay_fs_args": {"auto_mkdir": True},
    }
    path = root.parent / f"{root.name}-config.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.copick
def test_copick_fsstore_reads_levels_dtype_values_and_attrs(tmp_path: Path) -> None:
    pytest.importorskip("copick")
    store = tmp_path / "wbp.zarr"
    data = _volume((20, 30, 41), seed=11)
    zarr_io.write_multiscale(store, data, voxel_size=10.012, levels=3)
    fsstore = zarr.storage.FSStore(str(store), key_separator="/", dimension_separator="/", mode="r")
    group = zarr.open(fsstore, mode="r")
    assert [group[str(i)].shape for i in range(3)] == [(20, 30, 41), (10, 15, 21), (5, 8, 11)]
    assert group["0"].dtype == np.float32
    np.testing.assert_array_equal(group["0"][:], data)
    np.testing.assert_allclose(group["1"][:], _reference_mean(data), rtol=1e-6)
    assert group.attrs.asdict() == zarr_io.read_attrs(store)


@pytest.mark.copick
@pytest.mark.parametrize("channel_axis", [False, True])
def test_metadata_equals_what_copicks_own_writer_produces(tmp_path: Path, channel_axis: bool) -> None:
    pytest.importorskip("copick")
    from copick.util.ome import volume_pyramid, write_ome_zarr_3d

    shape = (2, 9, 10, 11) if channel_axis else (9, 10, 11)
    data = _volume(shape, seed=2)
    levels = 1 if channel_axis else 3
    theirs = tmp_path / "theirs.zarr"
    fsstore = zarr.storage.FSStore(str(theirs), key_separator="/", dimension_separator="/", mode="w")
    pyramid = {10.012: data} if channel_axis else volume_pyramid(data, 10.012, levels)
    write_ome_zarr_3d(fsstore, pyramid, channel_axis=channel_axis)
    ours = tmp_path / "ours.zarr"
    zarr_io.write_multiscale(ours, data, voxel_size=10.012, levels=levels)
    assert _json(ours / ".zattrs") == _json(theirs / ".zattrs")
    assert _json(ours / ".zgroup") == _json(theirs / ".zgroup")
    lead = [1] if channel_axis else []
    for level in range(levels):
        mine, copicks = _json(ours / str(level) / ".zarray"), _json(theirs / str(level) / ".zarray")
        assert copicks.pop("chunks") == [*lead, 256, 256, 256]  # copick does not clamp chunks to the shape
        assert mine.pop("chunks") == [*lead, *(min(256, n) for n in mine["shape"][-3:])]
        assert mine == copicks
        np.testing.assert_allclose(zarr_io.read(ours, str(level)), zarr_io.read(theirs, str(level)), rtol=1e-6)


@pytest.mark.copick
def test_copicks_entity_api_reads_tomograms_and_segmentations_written_here(tmp_path: Path) -> None:
    copick = pytest.importorskip("copick")
    root_dir = tmp_path / "project"
    tomo = _volume((20, 30, 40), seed=4)
    labels = (tomo > 0.5).astype(np.uint8)
    tomo_store = paths.resolve(root_dir, paths.tomogram_path("TS_001", 10.0, "wbp"))
    seg_store = paths.resolve(root_dir, paths.segmentation_path("TS_001", 10.0, "u", "s", "ribosome", False))
    zarr_io.write_multiscale(tomo_store, tomo, voxel_size=10.0)
    zarr_io.write_multiscale(seg_store, labels, voxel_size=10.0, levels=1, dtype=np.uint8, method="nearest")

    root = copick.from_file(str(_copick_project(root_dir)))
    run = root.get_run("TS_001")
    (tomogram,) = run.get_voxel_spacing(10.0).get_tomograms("wbp")
    np.testing.assert_array_equal(tomogram.numpy(), tomo)
    np.testing.assert_array_equal(tomogram.numpy(zarr_group="2").shape, (5, 8, 10))
    region = tomogram.numpy(x=slice(0, 30), y=slice(5, 15), z=slice(10, 20))
    np.testing.assert_array_equal(region, tomo[10:20, 5:15, 0:30])
    (segmentation,) = run.get_segmentations(user_id="u", session_id="s", name="ribosome")
    np.testing.assert_array_equal(segmentation.numpy(), labels)


@pytest.mark.copick
def test_ome_zarr_reads_the_multiscale_pyramid(tmp_path: Path) -> None:
    pytest.importorskip("copick")
    pytest.importorskip("ome_zarr")
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    store = tmp_path / "wbp.zarr"
    data = _volume((20, 30, 40), seed=9)
    zarr_io.write_multiscale(store, data, voxel_size=10.0, levels=3)
    (node, *_) = list(Reader(parse_url(str(store)))())
    assert [tuple(level.shape) for level in node.data] == [(20, 30, 40), (10, 15, 20), (5, 8, 10)]
    np.testing.assert_array_equal(np.asarray(node.data[0]), data)
    assert [axis["name"] for axis in node.metadata["axes"]] == ["z", "y", "x"]


def _copick_python() -> str | None:
    """An interpreter with copick 1.31 (and so zarr 2), to check zarr-3-written stores from outside."""
    candidates = [os.environ.get("COPICK_DB_COPICK_PYTHON"), str(REPO / ".venv-copick" / "bin" / "python")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            probe = subprocess.run([candidate, "-c", "import copick"], capture_output=True, check=False)
            if probe.returncode == 0:
                return candidate
    return None


@pytest.mark.copick
@pytest.mark.skipif(zarr_io.ZARR_MAJOR == 2, reason="the in-process copick tests already cover zarr 2 writes")
def test_copick_in_another_venv_reads_stores_written_by_zarr3(tmp_path: Path) -> None:
    python = _copick_python()
    if python is None:
        pytest.skip("no copick interpreter (set COPICK_DB_COPICK_PYTHON or create .venv-copick)")
    store = tmp_path / "wbp.zarr"
    data = _volume((20, 30, 300), seed=12)  # two chunks along x
    zarr_io.write_multiscale(store, data, voxel_size=10.0, levels=2)
    np.save(tmp_path / "expected.npy", data)
    script = textwrap.dedent(
        f"""
        import json, sys, numpy as np, zarr
        store = zarr.storage.FSStore({str(store)!r}, key_separator="/", dimension_separator="/", mode="r")
        group = zarr.open(store, mode="r")
        expected = np.load({str(tmp_path / "expected.npy")!r})
        print(json.dumps({{"equal": bool(np.array_equal(group["0"][:], expected)),
                          "shapes": [list(group[k].shape) for k in ("0", "1")],
                          "dtype": str(group["0"].dtype), "zarr": zarr.__version__}}))
        """
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["zarr"].startswith("2.")
    assert report == {**report, "equal": True, "shapes": [[20, 30, 300], [10, 15, 150]], "dtype": "float32"}


@pytest.mark.copick
@pytest.mark.skipif(zarr_io.ZARR_MAJOR == 2, reason="zarr 3 only: it writes the format-3 stores being converted")
def test_copicks_zarr_in_another_venv_reads_format_3_stores_converted_to_format_2(tmp_path: Path) -> None:
    python = _copick_python()
    if python is None:
        pytest.skip("no copick interpreter (set COPICK_DB_COPICK_PYTHON or create .venv-copick)")
    data = _volume((20, 30, 40), seed=13)
    root_array, group = tmp_path / "root.zarr", tmp_path / "group.zarr"
    zarr.array(data, store=zarr_io.open_store(root_array, writable=True), chunks=(8, 16, 16))
    hand = zarr.open_group(zarr_io.open_store(group, writable=True), mode="w")
    hand.create_array("0", data=data, chunks=(8, 16, 16))
    hand.attrs["multiscales"] = [{"datasets": [{"path": "0"}], "version": "0.4"}]
    for store in (root_array, group):
        zarr_io.copy_store_as_format2(store, tmp_path / f"v2-{store.name}")
    np.save(tmp_path / "expected.npy", data)
    script = textwrap.dedent(
        f"""
        import json, numpy as np, zarr
        def fsstore(name):
            path = {str(tmp_path)!r} + "/v2-" + name
            return zarr.storage.FSStore(path, key_separator="/", dimension_separator="/", mode="r")
        expected = np.load({str(tmp_path / "expected.npy")!r})
        root_array = zarr.open(fsstore("root.zarr"), mode="r")
        group = zarr.open(fsstore("group.zarr"), mode="r")
        print(json.dumps({{"root": bool(np.array_equal(root_array[...], expected)),
                          "group": bool(np.array_equal(group["0"][...], expected)),
                          "attrs": group.attrs.asdict(), "zarr": zarr.__version__}}))
        """
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["zarr"].startswith("2.")
    assert report["root"] and report["group"]
    assert report["attrs"] == {"multiscales": [{"datasets": [{"path": "0"}], "version": "0.4"}]}
