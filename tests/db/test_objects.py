"""Pickable objects: from the config, new_object rules, exist_ok updates, density maps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

import copick_db
from copick_db.models import PickableObject

MAP = np.random.default_rng(3).normal(size=(16, 18, 20))


def _data_dir(root):
    return root.data.directories[root.data.default_id]


def test_pickable_objects_come_from_the_config_in_order(root, reopen):
    for project in (root, reopen()):
        objects = project.pickable_objects
        assert all(isinstance(o, copick_db.CopickObjectDB) for o in objects)
        assert [(o.name, o.is_particle, o.label) for o in objects] == [
            ("ribosome", True, 1),
            ("proteasome", True, 2),
            ("membrane", False, 3),
        ]
        ribosome = project.get_object("ribosome")
        assert ribosome.color == (0, 117, 220, 255)
        assert ribosome.radius == 150.0
        assert project.get_object("missing") is None


def test_new_object_gets_the_next_free_label_and_a_grey_colour(root, reopen):
    virus = root.new_object("virus", is_particle=True, radius=400.0)
    assert virus.label == 4
    assert virus.color == (100, 100, 100, 255)
    assert root.new_object("actin", is_particle=False).label == 5
    again = reopen().get_object("virus")
    assert (again.label, again.radius, again.is_particle) == (4, 400.0, True)
    assert [o.name for o in reopen().pickable_objects][-2:] == ["virus", "actin"]


def test_new_object_on_a_project_without_objects_starts_at_label_1(tmp_path):
    with copick_db.create(tmp_path / "p.sqlite") as root:
        assert root.new_object("virus", is_particle=True).label == 1


def test_new_object_keeps_every_given_field(root, reopen):
    root.new_object(
        "virus",
        is_particle=True,
        label=10,
        color=(1, 2, 3, 4),
        emdb_id="EMD-1234",
        pdb_id="7ABC",
        identifier="GO:0005840",
        map_threshold=0.5,
        radius=120.0,
        metadata={"source": "test", "n": 3},
    )
    virus = reopen().get_object("virus")
    assert virus.label == 10
    assert virus.color == (1, 2, 3, 4)
    assert (virus.emdb_id, virus.pdb_id, virus.identifier) == ("EMD-1234", "7ABC", "GO:0005840")
    assert (virus.map_threshold, virus.radius) == (0.5, 120.0)
    assert virus.metadata == {"source": "test", "n": 3}


def test_duplicate_object_name_raises_value_error_and_changes_nothing(root, snapshot):
    before = snapshot(root)
    with pytest.raises(ValueError, match="exist_ok"):
        root.new_object("ribosome", is_particle=True)
    assert snapshot(root) == before
    assert len(root.pickable_objects) == 3


def test_duplicate_object_label_raises_value_error_and_changes_nothing(root, snapshot, reopen):
    before = snapshot(root)
    with pytest.raises(ValueError, match=r"[Ll]abel"):
        root.new_object("virus", is_particle=True, label=2)
    assert snapshot(root) == before
    assert root.get_object("virus") is None
    assert reopen().get_object("virus") is None


@pytest.mark.parametrize("name", ["my_virus", "a b", "a/b", "..", "", "-virus", "virus-", "a\x00b", "q?"])
def test_bad_object_name_raises_value_error_and_changes_nothing(root, snapshot, name):
    before = snapshot(root)
    with pytest.raises(ValueError):
        root.new_object(name, is_particle=True)
    assert snapshot(root) == before
    assert len(root.pickable_objects) == 3


def test_new_object_with_exist_ok_updates_the_given_fields_and_persists(root, reopen):
    updated = root.new_object("ribosome", is_particle=True, radius=160.0, pdb_id="4V6X", exist_ok=True)
    assert updated is root.get_object("ribosome")
    assert (updated.radius, updated.pdb_id) == (160.0, "4V6X")
    assert (updated.label, updated.color) == (1, (0, 117, 220, 255))  # fields not given stay
    again = reopen().get_object("ribosome")
    assert (again.radius, again.pdb_id, again.label, again.color) == (160.0, "4V6X", 1, (0, 117, 220, 255))
    assert [o.name for o in reopen().pickable_objects] == ["ribosome", "proteasome", "membrane"]


def test_new_object_with_exist_ok_refuses_a_label_of_another_object(root, snapshot):
    before = snapshot(root)
    with pytest.raises(ValueError):
        root.new_object("ribosome", is_particle=True, label=2, exist_ok=True)
    assert snapshot(root) == before
    assert root.get_object("ribosome").label == 1


# -- density maps -------------------------------------------------------------------------------------------------


def test_density_map_round_trips_through_from_numpy_numpy_and_zarr(root, reopen):
    root.get_object("ribosome").from_numpy(MAP, voxel_size=10.0)
    ribosome = reopen().get_object("ribosome")
    stored = ribosome.numpy()
    assert stored.dtype == np.float32
    np.testing.assert_array_equal(stored, MAP.astype(np.float32))
    np.testing.assert_array_equal(
        ribosome.numpy(x=slice(0, 5), y=slice(2, 4), z=slice(10, 16)), MAP[10:16, 2:4, 0:5].astype(np.float32)
    )
    np.testing.assert_array_equal(zarr.open(ribosome.zarr(), mode="r")["0"][:], MAP.astype(np.float32))
    store = _data_dir(root) / "Objects" / "ribosome.zarr"
    attrs = json.loads((store / ".zattrs").read_text())
    (dataset,) = attrs["multiscales"][0]["datasets"]
    assert dataset["coordinateTransformations"][0]["scale"] == [10.0, 10.0, 10.0]


def test_density_map_set_region_writes_in_place(root, reopen):
    ribosome = root.get_object("ribosome")
    ribosome.from_numpy(MAP, voxel_size=10.0)
    ribosome.set_region(np.zeros((2, 3, 4)), x=slice(0, 4), y=slice(0, 3), z=slice(0, 2))
    expected = MAP.astype(np.float32)
    expected[0:2, 0:3, 0:4] = 0
    np.testing.assert_array_equal(reopen().get_object("ribosome").numpy(), expected)


def test_density_map_written_through_zarr_is_read_by_numpy(root, reopen):
    ribosome = root.get_object("ribosome")
    group = zarr.open(ribosome.zarr(), mode="a")
    array = group.zeros(name="0", shape=(8, 8, 8), dtype="f4") if zarr.__version__[0] == "2" else None
    if array is None:
        array = group.create_array("0", shape=(8, 8, 8), dtype="f4", fill_value=0)
    array[...] = 2.0
    np.testing.assert_array_equal(ribosome.numpy(), 2.0)
    np.testing.assert_array_equal(reopen().get_object("ribosome").numpy(), 2.0)


def test_zarr_is_none_for_objects_that_are_not_particles(root):
    assert root.get_object("membrane").zarr() is None


def test_density_map_of_a_non_particle_raises_value_error_and_writes_nothing(root, snapshot):
    before = snapshot(root)
    with pytest.raises(ValueError, match="particle"):
        root.get_object("membrane").from_numpy(MAP, voxel_size=10.0)
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "data, voxel_size",
    [(np.ones((8, 8)), 10.0), (np.ones((2, 8, 8, 8)), 10.0), (MAP, 0), (MAP, -1.0), (MAP, float("nan"))],
    ids=["2-D", "4-D", "voxel-0", "voxel-negative", "voxel-nan"],
)
def test_density_map_with_bad_input_raises_value_error_and_changes_nothing(root, snapshot, data, voxel_size):
    proteasome = root.get_object("proteasome")
    proteasome.from_numpy(MAP, voxel_size=10.0)
    ribosome = root.get_object("ribosome")
    before = snapshot(root)
    for target in (ribosome, proteasome):
        with pytest.raises(ValueError):
            target.from_numpy(data, voxel_size=voxel_size)
    assert snapshot(root) == before
    np.testing.assert_array_equal(proteasome.numpy(), MAP.astype(np.float32))


def test_numpy_without_a_density_map_raises_key_error(root):
    with pytest.raises(KeyError):
        root.get_object("ribosome").numpy()


def test_delete_removes_the_density_map_but_keeps_the_object(root, reopen):
    ribosome = root.get_object("ribosome")
    ribosome.from_numpy(MAP, voxel_size=10.0)
    store = _data_dir(root) / "Objects" / "ribosome.zarr"
    assert store.is_dir()
    ribosome.delete()
    assert not store.exists()
    with pytest.raises(KeyError):
        ribosome.numpy()
    again = reopen().get_object("ribosome")
    assert again is not None and again.radius == 150.0
    with pytest.raises(KeyError):
        again.numpy()
    ribosome.delete()  # deleting again is a no-op
    ribosome.from_numpy(MAP, voxel_size=5.0)  # and a new map can be stored
    np.testing.assert_array_equal(reopen().get_object("ribosome").numpy(), MAP.astype(np.float32))


def test_an_object_appended_to_the_config_is_stored_when_first_used(root, reopen):
    root.config.pickable_objects.append(PickableObject(name="mito-chondria", is_particle=True, label=7, pdb_id="1abc"))
    picks = root.new_run("TS_1").new_picks("mito-chondria", "1")
    assert picks.pickable_object_name == "mito-chondria"
    stored = reopen().get_object("mito-chondria")
    assert (stored.label, stored.pdb_id, stored.is_particle) == (7, "1abc", True)
    assert [o.name for o in root.pickable_objects].count("mito-chondria") == 1


def test_an_appended_object_whose_label_is_taken_gets_the_next_free_one_with_a_warning(root, reopen):
    root.config.pickable_objects.append(PickableObject(name="vesicle", is_particle=False, label=1))
    with pytest.warns(UserWarning, match="label 1, which 'ribosome' already uses"):
        obj = root.get_object("vesicle")
    assert obj.label == 4
    assert reopen().get_object("vesicle").label == 4


def test_a_read_only_root_does_not_store_appended_objects(catalog_path, root):
    with copick_db.open(catalog_path, read_only=True) as ro:
        ro.config.pickable_objects.append(PickableObject(name="vesicle", is_particle=False, label=9))
        assert ro.get_object("vesicle") is None
