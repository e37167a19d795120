"""Catalog-backed instance and panoptic segmentations: copick's paths, identity, type filters, guarded writes."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest


def data_dir(root):
    return root.data.directories[root.data.default_id]


@pytest.fixture
def run(root):
    run = root.new_run("TS_001")
    run.new_voxel_spacing(10.0)
    return run


def _sql(catalog_path, statement):
    con = sqlite3.connect(catalog_path)
    try:
        return con.execute(statement).fetchall()
    finally:
        con.close()


def _panoptic(shape=(4, 6, 8)):
    labels = np.zeros(shape, dtype=np.uint8)
    instances = np.zeros(shape, dtype=np.uint16)
    labels[1:3, 1:4, 2:6], instances[1:3, 1:4, 2:6] = 1, 3
    labels[3] = 3
    return np.stack([labels, instances])


def test_each_type_is_stored_where_copick_keeps_it(root, run, catalog_path):
    run.new_segmentation(10.0, "membrane", "1")
    run.new_segmentation(10.0, "membrane", "1", True)
    run.new_segmentation(10.0, "membrane", "1", is_instance=True).from_numpy(np.zeros((2, 2, 2)))
    run.new_segmentation(10.0, "membrane", "1", is_panoptic=True).from_numpy(np.zeros((2, 2, 2, 2)))
    rows = _sql(catalog_path, "SELECT is_multilabel, is_instance, is_panoptic, path FROM segmentation ORDER BY id")
    base = "ExperimentRuns/TS_001"
    assert rows == [
        (0, 0, 0, f"{base}/Segmentations/10.000_alice_1_membrane.zarr"),
        (1, 0, 0, f"{base}/Segmentations/10.000_alice_1_membrane-multilabel.zarr"),
        (0, 1, 0, f"{base}/InstanceSegmentations/10.000_alice_1_membrane.zarr"),
        (0, 0, 1, f"{base}/PanopticSegmentations/10.000_alice_1_membrane.zarr"),
    ]
    segs = run.get_segmentations(is_instance=None, is_panoptic=None)
    assert sorted(s.directory for s in segs) == [
        "InstanceSegmentations",
        "PanopticSegmentations",
        "Segmentations",
        "Segmentations",
    ]
    assert (data_dir(root) / rows[2][3] / "0" / ".zarray").is_file()


def test_a_panoptic_store_has_a_channel_axis_and_chunks_one_channel_each(root, run):
    seg = run.new_segmentation(10.0, "scene", "1", is_panoptic=True)
    seg.from_numpy(_panoptic(), levels=2)
    attrs = json.loads((seg.path / ".zattrs").read_text())["multiscales"][0]
    assert [a["name"] for a in attrs["axes"]] == ["c", "z", "y", "x"]
    assert attrs["datasets"][1]["coordinateTransformations"][0]["scale"] == [1.0, 20.0, 20.0, 20.0]
    zarray = json.loads((seg.path / "1" / ".zarray").read_text())
    assert (zarray["shape"], zarray["chunks"], zarray["dtype"]) == ([2, 2, 3, 4], [1, 2, 3, 4], "<u2")
    # Nearest-neighbour downsampling keeps labels and instance ids together voxel by voxel.
    np.testing.assert_array_equal(seg.numpy("1"), _panoptic()[:, ::2, ::2, ::2])


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        ({"is_multilabel": True, "is_instance": True}, "is_multilabel and is_instance"),
        ({"is_multilabel": True, "is_panoptic": True}, "is_multilabel and is_panoptic"),
        ({"is_instance": True, "is_panoptic": True}, "is_instance and is_panoptic"),
    ],
)
def test_two_type_flags_raise_value_error_and_create_nothing(root, run, snapshot, flags, match):
    before = snapshot(root)
    with pytest.raises(ValueError, match=match):
        run.new_segmentation(10.0, "membrane", "1", **flags)
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "data",
    [np.zeros((4, 6, 8)), np.zeros((1, 4, 6, 8)), np.zeros((2, 4, 6)), np.zeros((2, 2, 4, 6, 8))],
    ids=["3d", "one-channel", "2-channel-2d", "5d"],
)
def test_a_wrongly_shaped_panoptic_volume_writes_nothing(root, run, snapshot, data):
    seg = run.new_segmentation(10.0, "scene", "1", is_panoptic=True)
    before = snapshot(root)
    with pytest.raises(ValueError, match=r"\(2, z, y, x\)"):
        seg.from_numpy(data)
    assert snapshot(root) == before


def test_instance_and_binary_volumes_must_be_3d(run):
    for kwargs in ({}, {"is_instance": True}):
        seg = run.new_segmentation(10.0, "membrane", "1", **kwargs)
        with pytest.raises(ValueError, match=r"\(z, y, x\)"):
            seg.from_numpy(np.zeros((2, 2, 2, 2)))


@pytest.mark.parametrize(
    ("data", "dtype", "match"),
    [
        (np.full((2, 2, 2), -1), None, ">= 0"),
        (np.full((2, 2, 2), 0.5), None, "whole"),
        (np.full((2, 2, 2), np.nan), None, "finite"),
        (np.full((2, 2, 2), 70000), np.uint16, "uint32"),
    ],
)
def test_bad_instance_ids_raise_value_error(run, data, dtype, match):
    seg = run.new_segmentation(10.0, "ribosome", "1", is_instance=True)
    with pytest.raises(ValueError, match=match):
        seg.from_numpy(data, dtype=dtype)


def test_instance_volumes_default_to_the_smallest_dtype_from_uint16(run):
    seg = run.new_segmentation(10.0, "ribosome", "1", is_instance=True)
    seg.from_numpy(np.ones((2, 2, 2), dtype=np.int64))
    assert seg.numpy().dtype == np.uint16
    binary = run.new_segmentation(10.0, "ribosome", "1")
    binary.from_numpy(np.ones((2, 2, 2), dtype=np.int64))
    assert binary.numpy().dtype == np.uint8


def test_type_filters_are_one_indexed_query(root, run, reopen, count_selects):
    run.new_segmentation(10.0, "membrane", "1")
    run.new_segmentation(20.0, "membrane", "1", user_id="bob")
    run.new_segmentation(10.0, "ribosome", "1", is_instance=True)
    fresh = reopen()
    fresh_run = fresh.get_run("TS_001")
    for getter, kwargs, expected in [
        (fresh_run.get_segmentations, {"voxel_size": [10.0, 20.0], "user_id": ("alice", "bob")}, 2),
        (fresh_run.get_segmentations, {"name": ["ribosome", "membrane"], "is_instance": None}, 3),
        (fresh.get_segmentations, {"is_instance": True, "voxel_size": {10.0}}, 1),
        (fresh.get_segmentations, {"is_instance": None, "is_panoptic": None, "name": "membrane"}, 2),
    ]:
        with count_selects(fresh) as n:
            found = getter(**kwargs)
        assert (n[0], len(found)) == (1, expected), kwargs


def test_a_read_only_root_refuses_writes_to_every_type(root, run, reopen, snapshot):
    run.new_segmentation(10.0, "ribosome", "1", is_instance=True).from_numpy(np.ones((2, 2, 2)))
    run.new_segmentation(10.0, "scene", "1", is_panoptic=True).from_numpy(_panoptic())
    before = snapshot(root)
    ro_run = reopen(read_only=True).get_run("TS_001")
    instance = ro_run.get_segmentations(is_instance=True)[0]
    panoptic = ro_run.get_segmentations(is_panoptic=True)[0]
    for write in (
        lambda: ro_run.new_segmentation(10.0, "ribosome", "2", is_instance=True),
        lambda: instance.from_numpy(np.zeros((2, 2, 2))),
        lambda: instance.set_region(np.zeros((1, 1, 1)), x=slice(0, 1), y=slice(0, 1), z=slice(0, 1)),
        lambda: panoptic.from_numpy(_panoptic()),
        lambda: panoptic.set_region(0, channel="instance"),
        panoptic.delete,
        lambda: ro_run.delete_segmentations(is_instance=None, is_panoptic=None),
    ):
        with pytest.raises(PermissionError):
            write()
    assert snapshot(root) == before


def test_a_binary_segmentation_cannot_take_a_multilabel_store_name(root, run):
    with pytest.warns(UserWarning, match="-multilabel"):
        root.new_object("odd-multilabel", False)
    with pytest.raises(ValueError, match="multilabel segmentation"):
        run.new_segmentation(10.0, "odd-multilabel", "1")
    run.new_segmentation(10.0, "odd-multilabel", "1", is_instance=True)  # its own directory: no clash


def test_instance_ids_of_the_wrong_kind_raise_value_error(run):
    binary = run.new_segmentation(10.0, "membrane", "1")
    binary.from_numpy(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="instance"):
        binary.instance_ids()
    instance = run.new_segmentation(10.0, "ribosome", "1", is_instance=True)
    instance.from_numpy(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="ribosome"):
        instance.instance_ids(object_name="membrane")
    panoptic = run.new_segmentation(10.0, "scene", "1", is_panoptic=True)
    panoptic.from_numpy(_panoptic())
    with pytest.raises(ValueError, match="object_name"):
        panoptic.instance_ids()
    np.testing.assert_array_equal(panoptic.instance_volume("ribosome"), np.where(_panoptic()[0] == 1, 3, 0))
    np.testing.assert_array_equal(panoptic.label_volume(), _panoptic()[0])


def test_colors_follow_copick(root, run):
    assert run.new_segmentation(10.0, "scene", "1", is_panoptic=True).color == (128, 128, 128, 0)
    assert run.new_segmentation(10.0, "ribosome", "1", is_instance=True).color == (0, 117, 220, 255)
