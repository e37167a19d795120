"""Tomograms and feature maps: names, identity, OME-Zarr pyramids, ZYX region access, zarr() stores, deletion."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import zarr

import copick_db

RNG = np.random.default_rng(7)
#: (z, y, x) with odd edges, so the pyramid shapes show the rounding up.
VOLUME = RNG.normal(size=(17, 24, 33))


def _data_dir(root):
    return root.data.directories[root.data.default_id]


@pytest.fixture
def vs(root):
    return root.new_run("TS_001").new_voxel_spacing(10.0)


@pytest.fixture
def tomogram(vs):
    tomo = vs.new_tomogram("wbp")
    tomo.from_numpy(VOLUME)
    return tomo


def _reopened(reopen, tomo_type="wbp"):
    return reopen().get_run("TS_001").get_voxel_spacing(10.0).get_tomogram(tomo_type)


# -- creation ---------------------------------------------------------------------------------------------------


def test_new_tomogram_creates_a_tomogram_that_a_reopened_root_sees(vs, reopen):
    tomo = vs.new_tomogram("wbp")
    assert isinstance(tomo, copick_db.CopickTomogramDB)
    assert tomo.tomo_type == "wbp"
    assert [t.tomo_type for t in reopen().get_run("TS_001").get_voxel_spacing(10.0).tomograms] == ["wbp"]


def test_new_tomogram_repairs_a_bad_name_with_a_user_warning(vs, reopen):
    with pytest.warns(UserWarning, match="sanitized"):
        tomo = vs.new_tomogram("my_tomo gram")
    assert tomo.tomo_type == "my-tomo-gram"
    assert _reopened(reopen, "my-tomo-gram") is not None


@pytest.mark.parametrize("name", ["", "___", ".", "..", "\x00"])
def test_tomogram_name_that_cannot_be_repaired_raises_value_error_and_writes_nothing(root, vs, snapshot, name):
    before = snapshot(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError):
            vs.new_tomogram(name)
    assert snapshot(root) == before
    assert vs.tomograms == []


def test_duplicate_tomogram_raises_value_error_and_changes_nothing(root, vs, tomogram, snapshot):
    before = snapshot(root)
    with pytest.raises(ValueError, match="exist_ok"):
        vs.new_tomogram("wbp")
    assert snapshot(root) == before
    same = vs.new_tomogram("wbp", exist_ok=True)
    assert same.tomo_type == "wbp"
    np.testing.assert_array_equal(same.numpy(), VOLUME.astype(np.float32))
    assert snapshot(root) == before


def test_new_tomogram_routes_meta_fields_and_rejects_unknown_keywords(root, vs, snapshot):
    tomo = vs.new_tomogram("wbp", origin=(1.0, 2.0, 3.0), config=root.config)
    assert tomo.meta.origin == (1.0, 2.0, 3.0)
    assert tomo.config is root.config
    before = snapshot(root)
    with pytest.raises(TypeError, match="bogus"):
        vs.new_tomogram("denoised", bogus=True)
    assert snapshot(root) == before


# -- writing the pyramid ------------------------------------------------------------------------------------------


def test_from_numpy_writes_three_levels_halving_each_axis_rounding_up(tomogram, reopen):
    again = _reopened(reopen)
    assert again.numpy("0").shape == (17, 24, 33)
    assert again.numpy("1").shape == (9, 12, 17)
    assert again.numpy("2").shape == (5, 6, 9)
    # level 1 is the 2x2x2 local mean
    assert again.numpy("1")[0, 0, 0] == pytest.approx(VOLUME[:2, :2, :2].mean(), rel=1e-5)


def test_from_numpy_stores_float32_by_default_and_the_values_given(tomogram, reopen):
    data = _reopened(reopen).numpy()
    assert data.dtype == np.float32
    np.testing.assert_array_equal(data, VOLUME.astype(np.float32))


def test_from_numpy_honours_dtype_and_levels(vs, reopen):
    vs.new_tomogram("labels").from_numpy(np.arange(16**3).reshape(16, 16, 16) % 7, levels=2, dtype=np.uint8)
    again = _reopened(reopen, "labels")
    assert again.numpy().dtype == np.uint8
    assert again.numpy("1").shape == (8, 8, 8)
    with pytest.raises(KeyError):
        again.numpy("2")


def test_from_numpy_writes_ome_ngff_0_4_multiscales_metadata(root, tomogram):
    store = _data_dir(root) / "ExperimentRuns" / "TS_001" / "VoxelSpacing10.000" / "wbp.zarr"
    attrs = json.loads((store / ".zattrs").read_text())
    (multiscale,) = attrs["multiscales"]
    assert multiscale["version"] == "0.4"
    assert [a["name"] for a in multiscale["axes"]] == ["z", "y", "x"]
    assert {a["unit"] for a in multiscale["axes"]} == {"angstrom"}
    assert [d["path"] for d in multiscale["datasets"]] == ["0", "1", "2"]
    scales = [d["coordinateTransformations"][0]["scale"] for d in multiscale["datasets"]]
    assert scales == [[10.0] * 3, [20.0] * 3, [40.0] * 3]
    zarray = json.loads((store / "0" / ".zarray").read_text())
    assert zarray["zarr_format"] == 2
    assert zarray["compressor"]["id"] == "blosc" and zarray["compressor"]["cname"] == "lz4"
    assert all(c <= 256 for c in zarray["chunks"])


def test_from_numpy_fills_dimensions_as_x_y_z(tomogram, reopen):
    assert tomogram.meta.dimensions == (33, 24, 17)
    assert _reopened(reopen).meta.dimensions == (33, 24, 17)


def test_from_numpy_again_replaces_the_data_and_the_dimensions(root, tomogram, reopen):
    tomogram.from_numpy(np.full((16, 18, 20), 3.0), levels=1)
    again = _reopened(reopen)
    assert again.meta.dimensions == (20, 18, 16)
    np.testing.assert_array_equal(again.numpy(), 3.0)
    with pytest.raises(KeyError):
        again.numpy("1")
    assert not any(".tmp-" in f or ".trash-" in f for f in _files(_data_dir(root)))


def _files(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))


@pytest.mark.parametrize("shape", [(16, 16), (2, 16, 16, 16), (16,), ()])
def test_from_numpy_with_wrong_ndim_raises_value_error_and_changes_nothing(root, vs, tomogram, snapshot, shape):
    fresh = vs.new_tomogram("denoised")
    before = snapshot(root)
    for target in (tomogram, fresh):
        with pytest.raises(ValueError, match="3-D"):
            target.from_numpy(np.ones(shape))
    assert snapshot(root) == before
    np.testing.assert_array_equal(tomogram.numpy(), VOLUME.astype(np.float32))
    assert fresh.meta.dimensions is None


@pytest.mark.parametrize(
    "arguments",
    [
        {"levels": 0},
        {"levels": -1},
        {"dtype": "U4"},
        {"dtype": np.uint8, "data": np.full((16, 16, 16), 300.0)},
        {"dtype": np.int16, "data": np.full((16, 16, 16), np.nan)},
    ],
    ids=["levels-0", "levels-negative", "string-dtype", "values-overflow-uint8", "nan-into-int"],
)
def test_from_numpy_with_bad_arguments_raises_value_error_and_changes_nothing(root, vs, tomogram, snapshot, arguments):
    arguments = dict(arguments)
    data = arguments.pop("data", np.ones((16, 16, 16)))
    other = root.new_run("TS_002").new_voxel_spacing(5.0).new_tomogram("wbp")  # its directory does not exist yet
    before = snapshot(root)
    for target in (tomogram, other):
        with pytest.raises(ValueError):
            target.from_numpy(data, **arguments)
    assert snapshot(root) == before
    np.testing.assert_array_equal(tomogram.numpy(), VOLUME.astype(np.float32))


def test_from_numpy_on_a_tomogram_deleted_elsewhere_raises_lookup_error_and_leaves_no_data(root, vs, reopen):
    tomo = vs.new_tomogram("wbp")
    tomo.from_numpy(np.ones((16, 16, 16)), levels=1)
    reopen().get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp").delete()
    with pytest.raises(LookupError):
        tomo.from_numpy(np.ones((16, 16, 16)), levels=1)
    files = _files(_data_dir(root))
    assert not any(f.endswith(".zarr") or ".tmp-" in f for f in files), files
    assert _reopened(reopen) is None


def test_from_numpy_on_a_stale_tomogram_does_not_touch_the_one_that_took_its_id(root, vs, reopen):
    tomo = vs.new_tomogram("wbp")
    other = reopen().get_run("TS_001").get_voxel_spacing(10.0)
    other.get_tomogram("wbp").delete()
    other.new_tomogram("denoised").from_numpy(np.full((16, 18, 20), 2.0), levels=1)  # gets the freed id
    with pytest.raises(LookupError):
        tomo.from_numpy(np.ones((8, 8, 8)), levels=1)
    again = _reopened(reopen, "denoised")
    assert again.meta.dimensions == (20, 18, 16)
    assert not (_data_dir(root) / "ExperimentRuns" / "TS_001" / "VoxelSpacing10.000" / "wbp.zarr").exists()


# -- reading ------------------------------------------------------------------------------------------------------


def test_numpy_applies_each_keyword_slice_to_the_axis_it_names(vs):
    volume = np.arange(40 * 64 * 32, dtype=np.float32).reshape(40, 64, 32)  # (z, y, x)
    tomo = vs.new_tomogram("wbp")
    tomo.from_numpy(volume, levels=1)
    region = tomo.numpy(x=slice(0, 30), y=slice(50, 60), z=slice(10, 40))
    assert region.shape == (30, 10, 30)
    np.testing.assert_array_equal(region, volume[10:40, 50:60, 0:30])
    np.testing.assert_array_equal(tomo.numpy(x=slice(5, 6)), volume[:, :, 5:6])
    np.testing.assert_array_equal(tomo.numpy("0", z=slice(3, 4)), volume[3:4])


def test_numpy_returns_a_copy_the_caller_owns(tomogram):
    data = tomogram.numpy()
    data[...] = 0
    np.testing.assert_array_equal(tomogram.numpy(), VOLUME.astype(np.float32))


def test_numpy_on_a_missing_level_raises_key_error(tomogram):
    with pytest.raises(KeyError, match="'3'"):
        tomogram.numpy("3")


def test_numpy_before_any_data_raises_key_error(vs):
    with pytest.raises(KeyError):
        vs.new_tomogram("empty").numpy()


def test_numpy_with_a_non_slice_keyword_raises_value_error(tomogram):
    with pytest.raises(ValueError):
        tomogram.numpy(x=3)


def test_zarr_returns_a_store_that_zarr_open_reads(tomogram):
    group = zarr.open(tomogram.zarr(), mode="r")
    np.testing.assert_array_equal(group["0"][:], VOLUME.astype(np.float32))
    assert group["2"].shape == (5, 6, 9)
    assert "multiscales" in group.attrs


# -- writing regions ----------------------------------------------------------------------------------------------


def test_set_region_writes_in_place_only_the_region(root, tomogram, reopen):
    files = _files(_data_dir(root))
    level1 = tomogram.numpy("1")
    patch = np.full((4, 5, 6), -1.0)
    tomogram.set_region(patch, x=slice(10, 16), y=slice(2, 7), z=slice(0, 4))
    expected = VOLUME.astype(np.float32)
    expected[0:4, 2:7, 10:16] = -1.0
    np.testing.assert_array_equal(_reopened(reopen).numpy(), expected)
    np.testing.assert_array_equal(tomogram.numpy("1"), level1)
    assert _files(_data_dir(root)) == files  # same store, no copy


def test_set_region_on_a_lower_level(tomogram):
    tomogram.set_region(np.zeros((5, 6, 9)), zarr_group="2")
    np.testing.assert_array_equal(tomogram.numpy("2"), 0)


@pytest.mark.parametrize(
    "data, region",
    [
        (np.zeros((2, 2, 2)), {"x": slice(0, 3), "y": slice(0, 2), "z": slice(0, 2)}),
        (np.zeros((2, 2)), {"x": slice(0, 2), "y": slice(0, 2), "z": slice(0, 2)}),
    ],
    ids=["shape-mismatch", "wrong-ndim"],
)
def test_set_region_with_data_that_does_not_fit_raises_value_error_and_changes_nothing(
    root, tomogram, snapshot, data, region
):
    before = snapshot(root)
    with pytest.raises(ValueError):
        tomogram.set_region(data, **region)
    assert snapshot(root) == before
    np.testing.assert_array_equal(tomogram.numpy(), VOLUME.astype(np.float32))


def test_set_region_on_a_missing_level_raises_key_error(tomogram):
    with pytest.raises(KeyError):
        tomogram.set_region(np.zeros((1, 1, 1)), zarr_group="7", x=slice(0, 1), y=slice(0, 1), z=slice(0, 1))


# -- getters --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loaded", [False, True])
def test_get_tomograms_with_none_returns_every_tomogram(vs, reopen, loaded):
    for tomo_type in ("wbp", "denoised", "isonet"):
        vs.new_tomogram(tomo_type)
    fresh = reopen().get_run("TS_001").get_voxel_spacing(10.0)
    if loaded:
        assert len(fresh.tomograms) == 3
    assert sorted(t.tomo_type for t in fresh.get_tomograms(None)) == ["denoised", "isonet", "wbp"]
    assert sorted(t.tomo_type for t in fresh.get_tomograms()) == ["denoised", "isonet", "wbp"]
    assert [t.tomo_type for t in fresh.get_tomograms("wbp")] == ["wbp"]
    assert fresh.get_tomograms("missing") == []


def test_get_tomogram_does_not_warn(tomogram, reopen):
    vs = reopen().get_run("TS_001").get_voxel_spacing(10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert vs.get_tomogram("wbp").tomo_type == "wbp"
        assert vs.get_tomogram("missing") is None


# -- deletion -------------------------------------------------------------------------------------------------------


def test_delete_removes_the_row_the_data_and_the_feature_maps(root, vs, tomogram, reopen, snapshot):
    tomogram.new_features("sobel").from_numpy(np.ones((17, 24, 33)))
    keep = vs.new_tomogram("denoised")
    keep.from_numpy(np.ones((16, 16, 16)), levels=1)
    vs_dir = _data_dir(root) / "ExperimentRuns" / "TS_001" / "VoxelSpacing10.000"
    tomogram.delete()
    assert not (vs_dir / "wbp.zarr").exists()
    assert not (vs_dir / "wbp_sobel_features.zarr").exists()
    assert [t.tomo_type for t in vs.tomograms] == ["denoised"]
    state = snapshot(root)
    assert len(state["catalog"]["tomogram"]) == 1 and state["catalog"]["features"] == []
    assert _reopened(reopen) is None
    np.testing.assert_array_equal(keep.numpy(), 1)


def test_delete_tomograms_by_type_and_all(vs, reopen):
    for tomo_type in ("wbp", "denoised"):
        vs.new_tomogram(tomo_type).from_numpy(np.ones((16, 16, 16)), levels=1)
    vs.delete_tomograms("wbp")
    assert [t.tomo_type for t in reopen().get_run("TS_001").get_voxel_spacing(10.0).tomograms] == ["denoised"]
    vs.delete_tomograms()
    assert reopen().get_run("TS_001").get_voxel_spacing(10.0).tomograms == []


# -- feature maps ---------------------------------------------------------------------------------------------------


def test_new_features_and_get_features(tomogram, reopen):
    features = tomogram.new_features("sobel")
    assert isinstance(features, copick_db.CopickFeaturesDB)
    assert (features.tomo_type, features.feature_type) == ("wbp", "sobel")
    again = _reopened(reopen)
    assert again.get_features("sobel").feature_type == "sobel"
    assert again.get_features("missing") is None
    assert [f.feature_type for f in again.features] == ["sobel"]


def test_new_features_repairs_the_name_and_rejects_duplicates(root, tomogram, snapshot):
    with pytest.warns(UserWarning):
        features = tomogram.new_features("edge_map")
    assert features.feature_type == "edge-map"
    before = snapshot(root)
    with pytest.raises(ValueError, match="exist_ok"):
        tomogram.new_features("edge-map")
    assert snapshot(root) == before
    assert tomogram.new_features("edge-map", exist_ok=True).feature_type == "edge-map"
    with pytest.raises(TypeError):
        tomogram.new_features("other", bogus=1)
    assert snapshot(root) == before


@pytest.mark.parametrize("shape", [(17, 24, 33), (3, 17, 24, 33)], ids=["3-D", "4-D"])
def test_features_from_numpy_round_trips_3d_and_4d_data(root, tomogram, reopen, shape):
    data = RNG.normal(size=shape)
    tomogram.new_features("sobel").from_numpy(data)
    again = _reopened(reopen).get_features("sobel")
    stored = again.numpy()
    assert stored.dtype == np.float32 and stored.shape == shape
    np.testing.assert_array_equal(stored, data.astype(np.float32))
    store = _data_dir(root) / "ExperimentRuns" / "TS_001" / "VoxelSpacing10.000" / "wbp_sobel_features.zarr"
    assert store.is_dir()
    np.testing.assert_array_equal(zarr.open(again.zarr(), mode="r")["0"][:], data.astype(np.float32))


def test_features_numpy_slices_select_on_the_raw_axes(tomogram):
    data = np.arange(3 * 16 * 18 * 20, dtype=np.float32).reshape(3, 16, 18, 20)
    features = tomogram.new_features("sobel")
    features.from_numpy(data)
    np.testing.assert_array_equal(features.numpy(slices=(slice(1, 2),)), data[1:2])
    region = (slice(0, 3), slice(2, 5), slice(None), slice(10, 20))
    np.testing.assert_array_equal(features.numpy(slices=region), data[region])
    np.testing.assert_array_equal(features.numpy("0", None), data)


def test_features_set_region_with_no_slices_writes_the_whole_array(tomogram, reopen):
    features = tomogram.new_features("sobel")
    features.from_numpy(np.ones((2, 16, 16, 16)))
    features.set_region(np.full((2, 16, 16, 16), 5.0))
    np.testing.assert_array_equal(_reopened(reopen).get_features("sobel").numpy(), 5.0)
    features.set_region(np.zeros((1, 16, 16, 16)), slices=(slice(0, 1),))
    stored = features.numpy()
    assert (stored[0] == 0).all() and (stored[1] == 5).all()


def test_features_before_any_data_raise_key_error(tomogram):
    features = tomogram.new_features("sobel")
    with pytest.raises(KeyError):
        features.numpy()
    with pytest.raises(KeyError):
        features.set_region(np.zeros((1, 1, 1)))


@pytest.mark.parametrize("shape", [(16, 16), (16,), (1, 2, 3, 4, 5)])
def test_features_from_numpy_with_wrong_ndim_raises_value_error_and_changes_nothing(root, vs, snapshot, shape):
    tomo = vs.new_tomogram("wbp")
    features = tomo.new_features("sobel")
    before = snapshot(root)
    with pytest.raises(ValueError):
        features.from_numpy(np.ones(shape))
    assert snapshot(root) == before


def test_features_delete_removes_the_row_and_the_data(root, tomogram, reopen, snapshot):
    features = tomogram.new_features("sobel")
    features.from_numpy(np.ones((17, 24, 33)))
    store = _data_dir(root) / "ExperimentRuns" / "TS_001" / "VoxelSpacing10.000" / "wbp_sobel_features.zarr"
    assert store.is_dir()
    features.delete()
    assert not store.exists()
    assert tomogram.features == []
    assert snapshot(root)["catalog"]["features"] == []
    assert _reopened(reopen).get_features("sobel") is None
    np.testing.assert_array_equal(tomogram.numpy(), VOLUME.astype(np.float32))


def test_tomograms_stay_sorted_by_type_after_new_tomogram_on_a_loaded_cache(vs):
    assert vs.tomograms == []
    vs.new_tomogram("wbp")
    vs.new_tomogram("denoised")
    assert [t.tomo_type for t in vs.tomograms] == ["denoised", "wbp"]


def test_deleting_features_already_deleted_elsewhere_leaves_the_ones_that_took_their_id(tomogram, reopen):
    stale = tomogram.new_features("sobel")
    stale.from_numpy(np.ones((17, 24, 33)))
    other = _reopened(reopen)
    other.get_features("sobel").delete()
    other.new_features("gauss").from_numpy(np.full((17, 24, 33), 2.0))  # SQLite gives it the freed id
    stale.delete()
    again = _reopened(reopen)
    assert [f.feature_type for f in again.features] == ["gauss"]
    np.testing.assert_array_equal(again.get_features("gauss").numpy(), 2.0)


def test_deleting_a_tomogram_already_deleted_elsewhere_leaves_the_one_that_took_its_id(vs, tomogram, reopen):
    other = reopen().get_run("TS_001").get_voxel_spacing(10.0)
    other.get_tomogram("wbp").delete()
    other.new_tomogram("denoised").from_numpy(np.full((16, 16, 16), 2.0), levels=1)
    tomogram.delete()
    again = reopen().get_run("TS_001").get_voxel_spacing(10.0)
    assert [t.tomo_type for t in again.tomograms] == ["denoised"]
    np.testing.assert_array_equal(again.get_tomogram("denoised").numpy(), 2.0)


def test_deleting_features_recreated_elsewhere_keeps_the_new_data(tomogram, reopen):
    stale = tomogram.new_features("sobel")
    stale.from_numpy(np.ones((17, 24, 33)))
    tomogram.new_features("edge")  # so the recreated feature map gets a new id
    other = _reopened(reopen)
    other.get_features("sobel").delete()
    other.new_features("sobel").from_numpy(np.full((17, 24, 33), 2.0))
    stale.delete()
    np.testing.assert_array_equal(_reopened(reopen).get_features("sobel").numpy(), 2.0)
