"""PickableObject, CopickConfig, CopickLocation and CopickPoint."""

import json

import numpy as np
import pytest
from pydantic import ValidationError

from copick_db.errors import InvalidTransformError
from copick_db.models.values import CopickConfig, CopickLocation, CopickPoint, PickableObject

ROTATION = [[0.0, -1.0, 0.0, 5.0], [1.0, 0.0, 0.0, -2.5], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]


def obj(**kwargs):
    return PickableObject(**{"name": "ribosome", "is_particle": True, **kwargs})


# --- PickableObject --------------------------------------------------------------------------------------------


def test_pickable_object_defaults_match_copick():
    o = obj()
    assert o.label == 1
    assert o.color == (100, 100, 100, 255)
    assert (o.emdb_id, o.pdb_id, o.identifier, o.map_threshold, o.radius) == (None,) * 5
    assert o.metadata == {}


def test_pickable_object_metadata_default_is_not_shared():
    a, b = obj(), obj()
    a.metadata["k"] = 1
    assert b.metadata == {}


@pytest.mark.parametrize("name", ["a_b", "-a", "a b", "", "a/b"])
def test_pickable_object_bad_name_is_rejected(name):
    with pytest.raises(ValidationError, match="object name"):
        obj(name=name)


def test_pickable_object_name_error_suggests_sanitized_form():
    with pytest.raises(ValueError, match="use 'my-object' instead"):
        obj(name="my_object")


def test_pickable_object_non_str_name_is_rejected():
    with pytest.raises(ValidationError):
        obj(name=5)


def test_label_zero_is_rejected():
    with pytest.raises(ValidationError, match="reserved for background"):
        obj(label=0)


@pytest.mark.parametrize("label", [-1, -255])
def test_negative_label_is_rejected(label):
    with pytest.raises(ValidationError, match=">= 1"):
        obj(label=label)


def test_label_none_is_accepted():
    assert obj(label=None).label is None


@pytest.mark.parametrize("label", ["3", 3.0, 3])
def test_label_is_coerced_to_int(label):
    value = obj(label=label).label
    assert value == 3
    assert type(value) is int


def test_fractional_label_is_rejected():
    with pytest.raises(ValidationError):
        obj(label=2.5)


def test_color_list_is_coerced_to_tuple():
    assert obj(color=[0, 117, 220, 255]).color == (0, 117, 220, 255)


def test_color_integral_float_is_accepted():
    assert obj(color=[1.0, 2, 3, 4]).color == (1, 2, 3, 4)


def test_color_fractional_float_is_rejected():
    with pytest.raises(ValidationError):
        obj(color=[1.5, 2, 3, 4])


@pytest.mark.parametrize("color", [[0, 0, 0], [0, 0, 0, 0, 0], []])
def test_color_with_wrong_length_is_rejected(color):
    with pytest.raises(ValidationError):
        obj(color=color)


@pytest.mark.parametrize("color", [[256, 0, 0, 0], [0, -1, 0, 0]])
def test_color_out_of_range_is_rejected(color):
    with pytest.raises(ValidationError, match="0-255"):
        obj(color=color)


def test_color_none_is_accepted():
    assert obj(color=None).color is None


def test_go_id_is_accepted_as_identifier():
    o = obj(go_id="GO:0005840")
    assert o.identifier == "GO:0005840"
    assert o.go_id == "GO:0005840"


def test_go_id_wins_when_both_keys_are_given():
    assert obj(go_id="GO:1", identifier="UniProtKB:P1").identifier == "GO:1"


def test_go_id_setter_writes_identifier():
    o = obj()
    o.go_id = "GO:2"
    assert o.identifier == "GO:2"


def test_identifier_is_dumped_under_identifier_only():
    dump = obj(go_id="GO:1").model_dump()
    assert dump["identifier"] == "GO:1"
    assert "go_id" not in dump


def test_metadata_none_becomes_empty_dict():
    assert obj(metadata=None).metadata == {}


def test_pickable_object_radius_int_becomes_float():
    assert obj(radius=150).radius == 150.0


def test_pickable_object_ignores_unknown_keys():
    o = obj(colour="red")
    assert not hasattr(o, "colour")


def test_pickable_object_round_trips_through_json():
    o = obj(label=7, color=(1, 2, 3, 4), emdb_id="EMD-1", radius=60.0, metadata={"a": [1, 2]})
    assert PickableObject.model_validate_json(o.model_dump_json()) == o


# --- CopickConfig ----------------------------------------------------------------------------------------------


def test_config_defaults_match_copick():
    c = CopickConfig(pickable_objects=[])
    assert (c.name, c.description, c.version) == ("CoPick", "Let's CoPick!", "0.2.0")
    assert c.user_id is None and c.session_id is None
    assert c.runs is None and c.voxel_spacings is None
    assert c.tomograms == {}


def test_config_requires_pickable_objects():
    with pytest.raises(ValidationError, match="pickable_objects"):
        CopickConfig()


def test_config_does_not_check_object_uniqueness():
    c = CopickConfig(pickable_objects=[obj(), obj()])
    assert len(c.pickable_objects) == 2


def test_config_name_is_free_text():
    assert CopickConfig(name="my project_v2", pickable_objects=[]).name == "my project_v2"


@pytest.mark.parametrize("field", ["user_id", "session_id"])
def test_config_ids_follow_name_rule(field):
    with pytest.raises(ValidationError, match=f"{field} 'a_b' is not a valid name"):
        CopickConfig(pickable_objects=[], **{field: "a_b"})


@pytest.mark.parametrize("field", ["user_id", "session_id"])
def test_config_int_id_is_rejected(field):
    with pytest.raises(ValidationError, match=r'must be a string.*"0"'):
        CopickConfig(pickable_objects=[], **{field: 0})


def test_config_valid_ids_are_kept():
    c = CopickConfig(pickable_objects=[], user_id="alice", session_id="0")
    assert (c.user_id, c.session_id) == ("alice", "0")


def test_config_tomogram_keys_become_floats():
    c = CopickConfig.model_validate({"pickable_objects": [], "tomograms": {"10": ["wbp"], "7.84": ["denoised"]}})
    assert c.tomograms == {10.0: ["wbp"], 7.84: ["denoised"]}


def test_config_keeps_backend_keys_as_extras():
    c = CopickConfig(pickable_objects=[], config_type="filesystem", overlay_root="local:///data/overlay")
    assert c.overlay_root == "local:///data/overlay"
    assert c.model_dump()["config_type"] == "filesystem"


def test_config_assignment_is_not_validated():
    c = CopickConfig(pickable_objects=[])
    c.user_id = "a_b"
    assert c.user_id == "a_b"


def test_config_from_file_reads_copick_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "config_type": "filesystem",
                "name": "demo",
                "version": "1.27.0",
                "pickable_objects": [
                    {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150},
                    {"name": "membrane", "is_particle": False, "label": 2, "go_id": "GO:0016020"},
                ],
                "user_id": "alice",
                "overlay_root": "local:///data/proj_overlay",
                "overlay_fs_args": {"auto_mkdir": True},
            }
        )
    )
    c = CopickConfig.from_file(path)
    assert c.name == "demo"
    assert [o.name for o in c.pickable_objects] == ["ribosome", "membrane"]
    assert c.pickable_objects[0].radius == 150.0
    assert c.pickable_objects[1].identifier == "GO:0016020"
    assert c.overlay_fs_args == {"auto_mkdir": True}
    assert CopickConfig.from_file(str(path)) == c


def test_config_from_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.json"):
        CopickConfig.from_file(tmp_path / "nope.json")


def test_config_from_invalid_json_raises_value_error_with_path(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json"):
        CopickConfig.from_file(path)


def test_config_from_json_that_is_not_an_object_raises_value_error(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match="JSON object"):
        CopickConfig.from_file(path)


def test_config_from_file_with_bad_object_raises_validation_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"pickable_objects": [{"name": "a_b", "is_particle": True}]}))
    with pytest.raises(ValidationError, match="object name"):
        CopickConfig.from_file(path)


def test_config_round_trips_through_json():
    c = CopickConfig(pickable_objects=[obj()], user_id="u", tomograms={10.0: ["wbp"]}, overlay_root="/x")
    assert CopickConfig.model_validate_json(c.model_dump_json()) == c


# --- CopickLocation / CopickPoint -----------------------------------------------------------------------------


def test_location_coerces_ints_and_numpy_scalars():
    loc = CopickLocation(x=1, y=np.float32(2.5), z=np.int64(3))
    assert (loc.x, loc.y, loc.z) == (1.0, 2.5, 3.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_location_rejects_non_finite_coordinates(bad):
    with pytest.raises(ValueError):
        CopickLocation(x=0, y=bad, z=0)


def test_location_requires_all_coordinates():
    with pytest.raises(ValidationError):
        CopickLocation(x=0, y=0)


def test_point_defaults_match_copick():
    p = CopickPoint(location=CopickLocation(x=1, y=2, z=3))
    assert p.instance_id == 0
    assert p.score == 1.0
    assert p.transformation_ == np.eye(4).tolist()


def test_point_accepts_location_dict():
    assert CopickPoint(location={"x": 1, "y": 2, "z": 3}).location == CopickLocation(x=1, y=2, z=3)


def test_point_requires_location():
    with pytest.raises(ValidationError, match="location"):
        CopickPoint(score=0.5)


def test_point_flat_keywords_are_packed_into_location():
    p = CopickPoint(x=1, y=2, z=3, score=0.5)
    assert p.location == CopickLocation(x=1, y=2, z=3)
    assert (p.x, p.y, p.z, p.score) == (1.0, 2.0, 3.0, 0.5)


def test_point_flat_keywords_missing_an_axis_are_rejected():
    with pytest.raises(ValidationError, match="missing z"):
        CopickPoint(x=1, y=2)


def test_point_flat_keywords_with_location_are_rejected():
    with pytest.raises(ValidationError, match="not both"):
        CopickPoint(x=1, y=2, z=3, location={"x": 1, "y": 2, "z": 3})


def test_point_rejects_non_finite_flat_coordinate():
    with pytest.raises(ValueError):
        CopickPoint(x=float("nan"), y=0, z=0)


def test_point_dump_keeps_copick_shape():
    dump = CopickPoint(x=1, y=2, z=3).model_dump()
    assert list(dump) == ["location", "transformation_", "instance_id", "score"]
    assert dump["location"] == {"x": 1.0, "y": 2.0, "z": 3.0}


def test_point_xyz_setters_write_location():
    p = CopickPoint(x=1, y=2, z=3)
    p.x, p.y, p.z = 4, 5.5, np.float64(6)
    assert p.location == CopickLocation(x=4, y=5.5, z=6)
    assert type(p.location.x) is float


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_point_xyz_setters_reject_non_finite(axis):
    p = CopickPoint(x=1, y=2, z=3)
    with pytest.raises(ValueError, match="finite"):
        setattr(p, axis, float("inf"))


def test_point_score_may_be_none():
    assert CopickPoint(x=0, y=0, z=0, score=None).score is None


def test_point_instance_id_is_coerced_and_may_be_none():
    assert CopickPoint(x=0, y=0, z=0, instance_id="4").instance_id == 4
    assert CopickPoint(x=0, y=0, z=0, instance_id=None).instance_id is None


def test_point_accepts_valid_transformation():
    assert CopickPoint(x=0, y=0, z=0, transformation_=ROTATION).transformation_ == ROTATION


def test_point_accepts_last_row_within_tolerance():
    matrix = [row[:] for row in ROTATION]
    matrix[3][0] = 1e-12
    assert CopickPoint(x=0, y=0, z=0, transformation_=matrix).transformation_[3][0] == 1e-12


@pytest.mark.parametrize(
    "matrix",
    [
        None,
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1]],
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 2]],
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0.5, 0, 0, 1]],
    ],
    ids=["null", "3x3", "3x4", "ragged", "bad-corner", "bad-last-row"],
)
def test_point_rejects_bad_transformation(matrix):
    with pytest.raises(ValidationError, match="transformation"):
        CopickPoint(x=0, y=0, z=0, transformation_=matrix)


def test_point_ignores_transformation_key_without_underscore():
    p = CopickPoint.model_validate({"location": {"x": 0, "y": 0, "z": 0}, "transformation": ROTATION})
    assert p.transformation_ == np.eye(4).tolist()


def test_transformation_property_returns_float64_copy():
    p = CopickPoint(x=0, y=0, z=0, transformation_=ROTATION)
    matrix = p.transformation
    assert matrix.dtype == np.float64
    assert matrix.shape == (4, 4)
    np.testing.assert_array_equal(matrix, ROTATION)
    matrix[0, 0] = 99.0
    assert p.transformation_ == ROTATION


def test_transformation_setter_stores_a_list():
    p = CopickPoint(x=0, y=0, z=0)
    p.transformation = np.array(ROTATION, dtype=np.float32)
    assert p.transformation_ == ROTATION
    assert isinstance(p.transformation_[0][0], float)


@pytest.mark.parametrize(
    "matrix",
    [np.eye(3), np.zeros((4, 4)), np.eye(4)[:, :3], "abc", [[1, 0], [0, 1, 2]], None],
    ids=["3x3", "zeros", "4x3", "string", "ragged", "none"],
)
def test_transformation_setter_rejects_bad_matrix(matrix):
    p = CopickPoint(x=0, y=0, z=0)
    with pytest.raises(InvalidTransformError):
        p.transformation = matrix
    assert p.transformation_ == np.eye(4).tolist()


def test_transformation_setter_error_is_value_and_assertion_error():
    p = CopickPoint(x=0, y=0, z=0)
    for kind in (ValueError, AssertionError):
        with pytest.raises(kind):
            p.transformation = np.eye(3)


def test_point_assignment_is_not_validated():
    p = CopickPoint(x=0, y=0, z=0)
    p.score = "high"
    assert p.score == "high"


def test_point_round_trips_through_json():
    p = CopickPoint(x=1.25, y=-2, z=3e3, transformation_=ROTATION, instance_id=7, score=None)
    assert CopickPoint.model_validate_json(p.model_dump_json()) == p
