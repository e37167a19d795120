"""Meta models, and the picks file JSON round trip."""

import json
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from copick_db.models.meta import (
    CopickFeaturesMeta,
    CopickMeshMeta,
    CopickPicksFile,
    CopickPicksMeta,
    CopickRunMeta,
    CopickSegmentationMeta,
    CopickTomogramMeta,
    CopickVoxelSpacingMeta,
)
from copick_db.models.values import CopickPoint

WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
ROTATION = [[0.0, -1.0, 0.0, 5.0], [1.0, 0.0, 0.0, -2.5], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
IDENTITY = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]

# A picks file as copick writes it (json.dump(model_dump(), indent=4)), keys in copick's order.
COPICK_PICKS = {
    "pickable_object_name": "ribosome",
    "user_id": "alice",
    "session_id": "0",
    "run_name": "TS_001",
    "voxel_spacing": 10.0,
    "unit": "angstrom",
    "points": [
        {"location": {"x": 1.5, "y": 2.5, "z": 3.5}, "transformation_": IDENTITY, "instance_id": 0, "score": 1.0},
        {"location": {"x": 100.0, "y": 0.0, "z": -7.25}, "transformation_": ROTATION, "instance_id": 3, "score": 0.25},
        {"location": {"x": 0.1, "y": 0.2, "z": 0.3}, "transformation_": IDENTITY, "instance_id": 12, "score": None},
    ],
    "trust_orientation": True,
}

OWNED_METAS = [
    (CopickPicksFile, {"pickable_object_name": "ribosome"}),
    (CopickMeshMeta, {"pickable_object_name": "ribosome"}),
    (CopickSegmentationMeta, {"name": "membrane", "is_multilabel": False, "voxel_size": 10.0}),
]


def test_run_meta_extras_default_to_none():
    meta = CopickRunMeta(name="TS_001")
    assert (meta.name, meta.description, meta.created, meta.modified) == ("TS_001", None, None, None)


def test_run_name_is_not_subject_to_the_name_rule():
    assert CopickRunMeta(name="TS_001").name == "TS_001"


def test_run_meta_parses_timestamps():
    meta = CopickRunMeta(name="r", description="d", created="2024-05-01T12:30:00Z", modified=WHEN)
    assert meta.created == WHEN
    assert meta.modified == WHEN


def test_voxel_spacing_meta_keeps_voxel_size_verbatim():
    assert CopickVoxelSpacingMeta(voxel_size=7.84).voxel_size == 7.84
    assert CopickVoxelSpacingMeta(voxel_size=10).voxel_size == 10.0


def test_voxel_spacing_meta_requires_voxel_size():
    with pytest.raises(ValidationError):
        CopickVoxelSpacingMeta()


def test_tomogram_meta_dimensions_and_origin():
    meta = CopickTomogramMeta(tomo_type="wbp", dimensions=[630, 630, 184], origin=[0, 0, 1.5])
    assert meta.dimensions == (630, 630, 184)
    assert meta.origin == (0.0, 0.0, 1.5)
    assert CopickTomogramMeta(tomo_type="wbp").dimensions is None


def test_tomogram_meta_rejects_wrong_dimension_count():
    with pytest.raises(ValidationError):
        CopickTomogramMeta(tomo_type="wbp", dimensions=(1, 2))


def test_features_meta_requires_both_types():
    meta = CopickFeaturesMeta(tomo_type="wbp", feature_type="sobel")
    assert (meta.tomo_type, meta.feature_type, meta.created) == ("wbp", "sobel", None)
    with pytest.raises(ValidationError):
        CopickFeaturesMeta(tomo_type="wbp")


def test_picks_meta_is_the_picks_file_class():
    assert CopickPicksMeta is CopickPicksFile
    assert isinstance(CopickPicksMeta(pickable_object_name="a"), CopickPicksFile)


def test_picks_file_defaults_match_copick():
    meta = CopickPicksFile(pickable_object_name="ribosome")
    assert (meta.user_id, meta.session_id, meta.run_name, meta.voxel_spacing) == (None, None, None, None)
    assert meta.unit == "angstrom"
    assert meta.points == []
    assert meta.trust_orientation is True


def test_picks_file_points_default_is_not_shared():
    a, b = CopickPicksFile(pickable_object_name="a"), CopickPicksFile(pickable_object_name="a")
    a.points.append(CopickPoint(x=0, y=0, z=0))
    assert b.points == []


def test_picks_file_null_points_stay_none():
    assert CopickPicksFile(pickable_object_name="a", points=None).points is None


@pytest.mark.parametrize(("cls", "required"), OWNED_METAS)
@pytest.mark.parametrize("field", ["user_id", "session_id"])
def test_int_id_is_rejected(cls, required, field):
    with pytest.raises(ValidationError, match=rf'{field} must be a string.*"0"'):
        cls(**required, **{field: 0})


@pytest.mark.parametrize(("cls", "required"), OWNED_METAS)
def test_ids_default_to_none_and_accept_strings(cls, required):
    assert cls(**required).user_id is None
    meta = cls(**required, user_id="alice", session_id="0")
    assert (meta.user_id, meta.session_id) == ("alice", "0")


def test_int_session_id_in_picks_json_is_rejected():
    data = {**COPICK_PICKS, "session_id": 0}
    with pytest.raises(ValidationError, match="session_id"):
        CopickPicksFile.model_validate_json(json.dumps(data))


def test_copick_picks_json_round_trips_exactly():
    text = json.dumps(COPICK_PICKS, indent=4)
    meta = CopickPicksFile.model_validate_json(text)
    assert [p.score for p in meta.points] == [1.0, 0.25, None]
    assert [p.instance_id for p in meta.points] == [0, 3, 12]
    assert meta.points[1].transformation.tolist() == ROTATION
    assert meta.model_dump() == COPICK_PICKS
    assert json.dumps(meta.model_dump(), indent=4) == text
    assert json.loads(meta.model_dump_json()) == COPICK_PICKS


def test_picks_dump_keys_are_in_copick_order():
    assert list(CopickPicksFile.model_validate(COPICK_PICKS).model_dump()) == list(COPICK_PICKS)


def test_picks_dump_omits_unset_timestamps():
    dump = CopickPicksFile(pickable_object_name="a").model_dump()
    assert "created" not in dump
    assert "modified" not in dump
    assert "created" not in CopickPicksFile(pickable_object_name="a").model_dump_json()


def test_picks_dump_keeps_set_timestamps():
    meta = CopickPicksFile(pickable_object_name="a", created=WHEN)
    assert meta.model_dump()["created"] == WHEN
    assert "modified" not in meta.model_dump()
    loaded = CopickPicksFile.model_validate_json(meta.model_dump_json())
    assert loaded.created == WHEN
    assert loaded.modified is None


def test_picks_dump_honours_exclude():
    dump = CopickPicksFile(pickable_object_name="a", created=WHEN).model_dump(exclude={"points", "created"})
    assert "points" not in dump
    assert "created" not in dump


def test_picks_file_ignores_unknown_keys():
    meta = CopickPicksFile.model_validate({**COPICK_PICKS, "colour": "red"})
    assert "colour" not in meta.model_dump()


def test_picks_file_rejects_bad_point():
    data = {**COPICK_PICKS, "points": [{"location": {"x": 0, "y": 0, "z": 0}, "transformation_": None}]}
    with pytest.raises(ValidationError, match="transformation"):
        CopickPicksFile.model_validate(data)


def test_mesh_meta_fields():
    meta = CopickMeshMeta(pickable_object_name="membrane", user_id="u", session_id="1", modified=WHEN)
    assert meta.model_dump() == {
        "pickable_object_name": "membrane",
        "user_id": "u",
        "session_id": "1",
        "created": None,
        "modified": WHEN,
    }


def test_segmentation_meta_fields():
    meta = CopickSegmentationMeta(name="membrane", is_multilabel="true", voxel_size=10, user_id="u", session_id="0")
    assert (meta.name, meta.is_multilabel, meta.voxel_size) == ("membrane", True, 10.0)


@pytest.mark.parametrize("missing", ["name", "is_multilabel", "voxel_size"])
def test_segmentation_meta_requires_fields(missing):
    data = {"name": "membrane", "is_multilabel": False, "voxel_size": 10.0}
    del data[missing]
    with pytest.raises(ValidationError, match=missing):
        CopickSegmentationMeta(**data)
