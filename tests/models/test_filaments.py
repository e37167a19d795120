"""Filament models: FilamentSpec on pickable objects, curves, filaments and filament files, and their arrays."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from copick_db.models import (
    CopickFilament,
    CopickFilamentCurve,
    CopickFilamentsFile,
    CopickSegmentationMeta,
    FilamentArrays,
    FilamentSpec,
    PickableObject,
)
from copick_db.models.curves import curve_anchors, curve_is_current, distances_to_polyline

LINE = [(0.0, 0.0, 0.0), (10.0, 0.0, 0.0), (10.0, 10.0, 0.0)]
# A clamped cubic B-spline with one interior knot.
BSPLINE = {
    "kind": "bspline",
    "degree": 3,
    "knots": [0, 0, 0, 0, 0.5, 1, 1, 1, 1],
    "control_points": [(0, 0, 0), (5, 0, 0), (10, 5, 0), (15, 5, 0), (20, 0, 0)],
    "step": 2.0,
}


# -- FilamentSpec on PickableObject -----------------------------------------------------------------------------


def test_an_object_without_a_spec_is_not_a_filament():
    obj = PickableObject(name="ribosome", is_particle=True)
    assert (obj.filament, obj.is_filament) == (None, False)


def test_the_spec_is_validated_and_normalised_in_metadata():
    obj = PickableObject(
        name="microtubule",
        is_particle=True,
        metadata={"other": 1, "copick": {"filament": {"polar": True, "helical_twist_deg": None, "seam": 3}}},
    )
    assert obj.is_filament and obj.filament == FilamentSpec(polar=True, seam=3)
    assert obj.metadata == {"other": 1, "copick": {"filament": {"polar": True, "seam": 3}}}


@pytest.mark.parametrize("spec", [{"helical_rise_a": 0}, {"helical_rise_a": -4.0}, {"polar": "sometimes"}])
def test_a_bad_spec_is_rejected(spec):
    with pytest.raises(ValidationError):
        PickableObject(name="mt", is_particle=True, metadata={"copick": {"filament": spec}})


def test_a_filament_must_be_a_particle():
    with pytest.raises(ValidationError, match="is_particle"):
        PickableObject(name="mt", is_particle=False, metadata={"copick": {"filament": {}}})


def test_a_non_dict_copick_namespace_is_left_alone_but_cannot_take_a_spec():
    obj = PickableObject(name="mt", is_particle=True, metadata={"copick": "legacy"})
    assert obj.metadata == {"copick": "legacy"} and not obj.is_filament
    with pytest.raises(ValueError, match="reserves"):
        obj.set_filament({"polar": True})
    assert obj.metadata == {"copick": "legacy"}


def test_set_filament_declares_changes_and_removes():
    obj = PickableObject(name="mt", is_particle=True, metadata={"copick": {"other": 1}})
    obj.set_filament(FilamentSpec(polar=False))
    assert obj.metadata == {"copick": {"other": 1, "filament": {"polar": False}}}
    obj.set_filament(None)
    assert obj.metadata == {"copick": {"other": 1}}
    obj.metadata = {"copick": {"filament": {"polar": True}}}
    obj.set_filament(None)
    assert obj.metadata == {}


def test_set_filament_on_a_non_particle_changes_nothing():
    obj = PickableObject(name="membrane", is_particle=False)
    with pytest.raises(ValueError, match="is_particle"):
        obj.set_filament({"polar": True})
    assert obj.metadata == {}


# -- curves ---------------------------------------------------------------------------------------------------------


def test_catmull_rom_alpha_defaults_to_centripetal_and_dumps_leave_out_none():
    curve = CopickFilamentCurve(kind="catmull-rom", control_points=LINE, step=1.0)
    assert curve.alpha == 0.5
    assert curve.model_dump() == {"kind": "catmull-rom", "control_points": LINE, "step": 1.0, "alpha": 0.5}


def test_curves_of_unknown_kinds_and_extra_keys_are_kept():
    curve = CopickFilamentCurve(kind="nurbs", control_points=[(0, 0, 0)], step=1.0, weights=[1.0])
    assert not curve.is_known and not curve.is_current_for(LINE)
    assert curve.model_dump()["weights"] == [1.0]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"kind": "", "control_points": LINE, "step": 1.0}, "at least 1 character"),
        ({"kind": "linear", "control_points": LINE, "step": 0.0}, "greater than 0"),
        ({"kind": "linear", "control_points": LINE[:1], "step": 1.0}, "two control points"),
        ({"kind": "linear", "control_points": [LINE[0], LINE[0]], "step": 1.0}, "coincide"),
        ({"kind": "catmull-rom", "control_points": LINE, "step": 1.0, "alpha": 1.5}, "alpha"),
        ({**BSPLINE, "degree": None}, "degree and knots"),
        ({**BSPLINE, "degree": 6}, "1 to 5"),
        ({**BSPLINE, "knots": [0, 0, 0, 0, 1, 1, 1, 1]}, "needs 9 knots"),
        ({**BSPLINE, "knots": [0, 0, 0, 0, 0.5, 0.4, 1, 1, 1]}, "must not decrease"),
        ({**BSPLINE, "knots": [0, 0, 0, 0.1, 0.5, 1, 1, 1, 1]}, "clamped"),
        ({**BSPLINE, "control_points": BSPLINE["control_points"][:3]}, "at least 4 control points"),
        ({**BSPLINE, "smoothing": -1.0}, "greater than or equal to 0"),
    ],
)
def test_curves_break_their_kinds_rules_with_a_clear_error(fields, match):
    with pytest.raises(ValidationError, match=match):
        CopickFilamentCurve(**fields)


def test_a_bspline_passes_through_its_ends_and_interior_knot():
    curve = CopickFilamentCurve(**BSPLINE)
    anchors = curve.anchors()
    assert anchors.shape == (3, 3)
    np.testing.assert_allclose(anchors[0], (0, 0, 0))
    np.testing.assert_allclose(anchors[-1], (20, 0, 0))
    assert not curve.passes_through_control_points


def test_a_bspline_reversed_has_mirrored_knots_and_the_same_anchors():
    curve = CopickFilamentCurve(**BSPLINE)
    back = curve.reversed()
    assert back.knots == [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(back.anchors(), curve.anchors()[::-1], atol=1e-12)


def test_from_tck_keeps_the_coefficients_scipy_gives():
    knots = [0, 0, 1, 1]
    tck = (knots, [[0, 2, 0, 0], [0, 3, 0, 0], [1, 1, 0, 0]], 1)
    curve = CopickFilamentCurve.from_tck(tck, step=1.0, smoothing=0.5, scale=2.0)
    assert curve.control_points == [(0.0, 0.0, 2.0), (4.0, 6.0, 2.0)]
    assert (curve.kind, curve.degree, curve.smoothing) == ("bspline", 1, 0.5)


def test_a_curve_is_current_while_its_anchors_lie_on_the_points():
    assert curve_is_current(LINE, LINE, 1.0, "linear")
    assert curve_is_current([(0, 0, 0), (5, 0, 0), (10, 0, 0), (10, 10, 0)], LINE, 1.0, "linear")
    assert not curve_is_current([(0, 0, 0), (10, 10, 0)], LINE, 1.0, "linear")
    assert not curve_is_current(LINE[::-1], LINE, 1.0, "linear")
    assert not curve_is_current(LINE[:1], LINE, 1.0, "linear")
    points = curve_anchors(BSPLINE["control_points"], "bspline", 3, BSPLINE["knots"])
    assert curve_is_current(points, BSPLINE["control_points"], 2.0, "bspline", 3, BSPLINE["knots"])


def test_distances_to_a_polyline_use_its_segments():
    np.testing.assert_allclose(distances_to_polyline([(5, 1, 0), (12, 5, 0), (-3, 4, 0)], LINE), [1, 2, 5])
    np.testing.assert_allclose(distances_to_polyline([(3, 4, 0)], [(0, 0, 0)]), [5])


# -- filaments and files --------------------------------------------------------------------------------------------


def test_filament_defaults_match_copick():
    filament = CopickFilament(instance_id=1, points=LINE, metadata=None)
    assert filament.model_dump() == {
        "instance_id": 1,
        "points": LINE,
        "polarity_known": False,
        "score": 1.0,
        "radius": None,
        "metadata": {},
        "curve": None,
    }


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"instance_id": 1, "points": LINE[:1]}, "at least two points"),
        ({"instance_id": 1, "points": [(0, 0, 0), (np.inf, 0, 0)]}, "finite"),
        ({"instance_id": 0, "points": LINE}, "greater than or equal to 1"),
        ({"instance_id": 1, "points": LINE, "radius": 0.0}, "greater than 0"),
        ({"instance_id": 1, "points": LINE, "radius": -2.0}, "greater than 0"),
        ({"instance_id": 1, "points": [(0, 0), (1, 1)]}, "3 items|Tuple|tuple"),
    ],
)
def test_bad_filaments_are_rejected(fields, match):
    with pytest.raises(ValidationError, match=match):
        CopickFilament(**fields)


def test_a_file_refuses_duplicate_instance_ids():
    with pytest.raises(ValidationError, match="unique"):
        CopickFilamentsFile(
            pickable_object_name="mt",
            user_id="u",
            session_id="1",
            filaments=[{"instance_id": 2, "points": LINE}, {"instance_id": 2, "points": LINE}],
        )


def test_a_file_dumps_copicks_keys_in_copicks_order():
    file = CopickFilamentsFile(pickable_object_name="mt", user_id="u", session_id="0", run_name="TS_001")
    assert list(file.model_dump()) == [
        "pickable_object_name",
        "user_id",
        "session_id",
        "run_name",
        "voxel_spacing",
        "unit",
        "version",
        "filaments",
    ]


def test_a_filament_reversed_reverses_points_and_curve():
    curve = CopickFilamentCurve(kind="linear", control_points=LINE, step=1.0)
    filament = CopickFilament(instance_id=1, points=LINE, curve=curve).reversed()
    assert filament.points == LINE[::-1] and filament.curve.control_points == LINE[::-1]
    assert filament.curve_is_current()


def test_segmentation_meta_allows_one_type_at_most():
    meta = CopickSegmentationMeta(name="x", is_multilabel=False, is_panoptic=True, voxel_size=10)
    assert (meta.is_instance, meta.segmentation_type) == (False, "panoptic")
    with pytest.raises(ValidationError, match="one type"):
        CopickSegmentationMeta(name="x", is_multilabel=True, is_instance=True, voxel_size=10)


# -- arrays ---------------------------------------------------------------------------------------------------------


def test_arrays_round_trip_filaments_and_store_only_what_differs():
    filaments = [
        CopickFilament(instance_id=5, points=LINE),
        CopickFilament(
            instance_id=2,
            points=LINE[:2],
            polarity_known=True,
            score=0.25,
            radius=3.0,
            metadata={"k": [1]},
            curve=CopickFilamentCurve(kind="linear", control_points=LINE[:2], step=1.0),
        ),
    ]
    arrays = FilamentArrays.from_filaments(filaments)
    assert arrays.points.shape == (5, 3) and arrays.offsets.tolist() == [0, 3, 5]
    assert arrays.instance_ids.tolist() == [5, 2]
    assert arrays.attributes[0] == {}
    assert arrays.attributes[1]["curve"] == {
        "kind": "linear",
        "control_points": [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]],
        "step": 1.0,
    }
    assert [f.model_dump() for f in arrays.to_filaments()] == [f.model_dump() for f in filaments]
    assert FilamentArrays.from_filaments(filaments[:1]).attributes is None


def test_arrays_check_filaments_changed_in_place():
    filament = CopickFilament(instance_id=1, points=LINE)
    filament.points = LINE[:1]
    with pytest.raises(ValueError, match="two"):
        FilamentArrays.from_filaments([filament])
    filament = CopickFilament(instance_id=1, points=LINE)
    filament.radius = -1.0
    with pytest.raises(ValueError, match="radius"):
        FilamentArrays.from_filaments([filament])
