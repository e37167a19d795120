"""copick 1.31's filament curve helpers (evaluate, reversed, from_curve, with_control_points, editable_curve, ...)
and points given as other libraries' objects, through the public API. Comparisons with copick itself are in
tests/copick/test_filament_helpers_vs_copick.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import BaseModel

from copick_db.models import (
    CopickFilament,
    CopickFilamentCurve,
    CopickFilamentsFile,
    CopickLocation,
    CopickPicksFile,
    CopickPoint,
)

CATMULL_ROM = {
    "kind": "catmull-rom",
    "control_points": [(0, 0, 0), (40, 10, 0), (80, 0, 25), (90, 30, 30)],
    "step": 3.0,
}
LINEAR = {"kind": "linear", "control_points": [(0, 50, 0), (30, 50, 0), (30, 80, 10)], "step": 4.0}
# A clamped cubic B-spline whose interior knot 0.4 repeats twice (two pieces and a kink-free joint).
BSPLINE = {
    "kind": "bspline",
    "degree": 3,
    "knots": [0, 0, 0, 0, 0.4, 0.4, 1, 1, 1, 1],
    "control_points": [(0, 0, 100), (10, 5, 100), (20, -5, 110), (30, 0, 120), (45, 2, 120), (60, 10, 130)],
    "step": 2.5,
}
CURVES = {"catmull-rom": CATMULL_ROM, "linear": LINEAR, "bspline": BSPLINE}


@pytest.fixture
def config(config):
    config["pickable_objects"].append(
        {"name": "microtubule", "is_particle": True, "label": 9, "metadata": {"copick": {"filament": {"polar": True}}}}
    )
    return config


@pytest.fixture
def run(root):
    return root.new_run("TS_001")


def _spacings(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.diff(points, axis=0), axis=1)


def _on_points(anchors: np.ndarray, points: np.ndarray) -> bool:
    """Whether every anchor is one of the points."""
    return all(np.linalg.norm(points - a, axis=1).min() < 1e-9 for a in anchors)


# -- CopickFilamentCurve ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CURVES))
def test_evaluate_runs_from_end_to_end_through_every_anchor_at_most_a_step_apart(kind):
    curve = CopickFilamentCurve(**CURVES[kind])
    points = curve.evaluate()
    anchors = curve.anchors()
    assert points.dtype == np.float64 and points.ndim == 2 and points.shape[1] == 3
    np.testing.assert_array_equal(points[0], anchors[0])
    np.testing.assert_allclose(points[-1], anchors[-1], atol=1e-12)
    assert _on_points(anchors, points)
    assert _spacings(points).max() <= curve.step * (1 + 1e-9)
    assert curve.is_current_for(points)


def test_a_linear_curve_gives_equally_spaced_points_on_its_segments():
    points = CopickFilamentCurve(kind="linear", control_points=[(0, 0, 0), (10, 0, 0)], step=3.0).evaluate()
    np.testing.assert_allclose(points[:, 0], [0, 2.5, 5, 7.5, 10])
    np.testing.assert_allclose(points[:, 1:], 0)


def test_a_smaller_step_gives_more_points_on_the_same_curve():
    coarse = CopickFilamentCurve(**{**CATMULL_ROM, "step": 6.0}).evaluate()
    fine = CopickFilamentCurve(**{**CATMULL_ROM, "step": 1.0}).evaluate()
    assert len(fine) > 4 * len(coarse)
    assert _spacings(fine).max() <= 1.0 + 1e-9


def test_catmull_rom_alpha_changes_the_curve_between_its_control_points():
    centripetal = CopickFilamentCurve(**CATMULL_ROM).evaluate()
    uniform = CopickFilamentCurve(**CATMULL_ROM, alpha=0.0).evaluate()
    assert centripetal.shape != uniform.shape or not np.allclose(centripetal, uniform)
    assert _on_points(np.asarray(CATMULL_ROM["control_points"], float), uniform)


def test_a_curve_of_unknown_kind_cannot_be_evaluated():
    curve = CopickFilamentCurve(kind="hermite", control_points=[(0, 0, 0), (1, 1, 1)], step=1.0)
    with pytest.raises(ValueError, match="unknown kind 'hermite'"):
        curve.evaluate()


@pytest.mark.parametrize(("kind", "expected"), [("catmull-rom", True), ("linear", True), ("bspline", False)])
def test_only_bsplines_do_not_pass_through_their_control_points(kind, expected):
    assert CopickFilamentCurve(**CURVES[kind]).passes_through_control_points is expected


def test_a_curve_of_unknown_kind_does_not_claim_to_pass_through_its_control_points():
    curve = CopickFilamentCurve(kind="hermite", control_points=[(0, 0, 0), (1, 1, 1)], step=1.0)
    assert curve.passes_through_control_points is False


@pytest.mark.parametrize("kind", list(CURVES))
def test_a_reversed_curve_runs_backwards_over_the_same_path(kind):
    curve = CopickFilamentCurve(**CURVES[kind])
    back = curve.reversed()
    assert back.kind == curve.kind and back.step == curve.step
    np.testing.assert_allclose(back.anchors(), curve.anchors()[::-1], atol=1e-9)
    forward, backward = curve.evaluate(), back.evaluate()
    np.testing.assert_allclose(backward[0], forward[-1], atol=1e-9)
    np.testing.assert_allclose(backward[-1], forward[0], atol=1e-9)
    assert curve.is_current_for(backward[::-1])
    twice = back.reversed()
    assert twice.control_points == curve.control_points
    assert twice.knots == (None if curve.knots is None else pytest.approx(curve.knots))


def test_reversing_a_bspline_mirrors_its_knots():
    back = CopickFilamentCurve(**BSPLINE).reversed()
    assert back.knots == pytest.approx([0, 0, 0, 0, 0.6, 0.6, 1, 1, 1, 1])
    assert back.control_points == [tuple(map(float, p)) for p in reversed(BSPLINE["control_points"])]


# -- CopickFilament --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CURVES))
def test_from_curve_regenerates_the_points_and_keeps_the_curve_current(kind):
    curve = CopickFilamentCurve(**CURVES[kind])
    filament = CopickFilament.from_curve(3, curve, polarity_known=True, score=0.5, radius=12.0, metadata={"a": 1})
    np.testing.assert_array_equal(np.asarray(filament.points), curve.evaluate())
    assert filament.curve == curve and filament.curve_is_current()
    assert (filament.instance_id, filament.polarity_known, filament.score, filament.radius, filament.metadata) == (
        3,
        True,
        0.5,
        12.0,
        {"a": 1},
    )


def test_from_curve_takes_a_dict_of_the_curves_fields():
    filament = CopickFilament.from_curve(1, dict(LINEAR))
    assert filament.curve == CopickFilamentCurve(**LINEAR)


@pytest.mark.parametrize(
    ("curve", "match"),
    [
        ({"kind": "hermite", "control_points": [(0, 0, 0), (1, 1, 1)], "step": 1.0}, "unknown kind"),
        ({**LINEAR, "control_points": [(0, 0, 0), (0, 0, 0)]}, "coincide"),
        ({**BSPLINE, "knots": [0, 0, 1, 1]}, "knots"),
        ({**LINEAR, "step": -1.0}, "greater than 0"),
    ],
)
def test_from_curve_refuses_a_curve_it_cannot_evaluate(curve, match):
    with pytest.raises(ValueError, match=match):
        CopickFilament.from_curve(1, curve)


def test_from_curve_refuses_a_bad_filament_field():
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        CopickFilament.from_curve(0, LINEAR)


@pytest.mark.parametrize("kind", ["catmull-rom", "linear"])
def test_from_control_points_traces_a_curve_of_that_kind(kind):
    control = np.array([(0, 0, 0), (20, 5, 0), (40, 0, 10)], dtype=float)
    filament = CopickFilament.from_control_points(2, control, step=2.0, kind=kind, score=0.25)
    assert filament.curve.kind == kind and filament.score == 0.25
    assert filament.curve.alpha == (0.5 if kind == "catmull-rom" else None)
    np.testing.assert_allclose(filament.curve.control_points, control)
    np.testing.assert_array_equal(np.asarray(filament.points), filament.curve.evaluate())


def test_from_control_points_passes_alpha_on():
    filament = CopickFilament.from_control_points(1, CATMULL_ROM["control_points"], step=3.0, alpha=1.0)
    assert filament.curve.alpha == 1.0


def test_from_control_points_refuses_bsplines_and_coincident_points():
    with pytest.raises(ValueError, match="from_curve"):
        CopickFilament.from_control_points(1, BSPLINE["control_points"], step=1.0, kind="bspline")
    with pytest.raises(ValueError, match="coincide"):
        CopickFilament.from_control_points(1, [(0, 0, 0), (0, 0, 0), (1, 0, 0)], step=1.0)
    with pytest.raises(ValueError, match="at least two"):
        CopickFilament.from_control_points(1, [(0, 0, 0)], step=1.0)


def test_with_control_points_moves_the_curve_and_keeps_everything_else():
    filament = CopickFilament.from_control_points(
        5, CATMULL_ROM["control_points"], step=3.0, polarity_known=True, radius=9.0, metadata={"k": "v"}
    )
    moved = [(0, 0, 0), (40, 20, 0), (80, 0, 25), (90, 30, 30), (100, 40, 30)]
    edited = filament.with_control_points(moved)
    assert edited is not filament and filament.curve.control_points[1] == (40.0, 10.0, 0.0)
    assert edited.curve.control_points == [tuple(map(float, p)) for p in moved]
    assert (edited.curve.kind, edited.curve.step, edited.curve.alpha) == ("catmull-rom", 3.0, 0.5)
    assert (edited.instance_id, edited.polarity_known, edited.radius, edited.metadata) == (5, True, 9.0, {"k": "v"})
    assert edited.curve_is_current() and _on_points(np.asarray(moved, float), np.asarray(edited.points))
    assert len(filament.with_control_points(moved, step=1.0).points) > len(edited.points)


def test_with_control_points_keeps_a_bsplines_knots_and_needs_as_many_control_points():
    filament = CopickFilament.from_curve(1, BSPLINE)
    up = np.array([0.0, 0.0, 5.0])
    shifted = np.asarray(BSPLINE["control_points"], float) + up
    edited = filament.with_control_points(shifted)
    assert (edited.curve.kind, edited.curve.degree, edited.curve.knots) == ("bspline", 3, filament.curve.knots)
    np.testing.assert_allclose(np.asarray(edited.points), np.asarray(filament.points) + up, atol=1e-9)
    with pytest.raises(ValueError, match="needs 6 control points, got 5"):
        filament.with_control_points(shifted[:5])


def test_with_control_points_gives_a_filament_without_a_current_curve_a_catmull_rom_one():
    bare = CopickFilament(instance_id=1, points=[(0, 0, 0), (2, 0, 0), (4, 0, 0), (8, 0, 0)], score=0.5)
    edited = bare.with_control_points([(0, 0, 0), (8, 2, 0)])
    assert (edited.curve.kind, edited.curve.alpha, edited.curve.step) == ("catmull-rom", 0.5, 2.0)  # median spacing
    assert edited.score == 0.5 and edited.curve_is_current()
    stale = CopickFilament.from_curve(1, BSPLINE).model_copy(update={"points": [(0, 0, 0), (1, 1, 1)]})
    assert stale.with_control_points([(0, 0, 0), (9, 9, 9)]).curve.kind == "catmull-rom"


def test_with_control_points_needs_a_step_when_the_points_coincide():
    bare = CopickFilament(instance_id=1, points=[(1, 1, 1), (1, 1, 1)])
    with pytest.raises(ValueError, match="pass step"):
        bare.with_control_points([(0, 0, 0), (5, 0, 0)])
    assert bare.with_control_points([(0, 0, 0), (5, 0, 0)], step=1.0).curve.step == 1.0


@pytest.mark.parametrize("kind", list(CURVES))
def test_editable_curve_is_the_filaments_own_current_curve(kind):
    filament = CopickFilament.from_curve(1, CURVES[kind])
    assert filament.editable_curve() is filament.curve
    np.testing.assert_array_equal(filament.editable_control_points(), np.asarray(filament.curve.control_points))


def test_editable_curve_derives_a_catmull_rom_curve_for_kinds_the_editor_lacks():
    filament = CopickFilament.from_curve(1, BSPLINE)
    curve = filament.editable_curve(tolerance=0.25, step=1.0, kinds=("catmull-rom",))
    assert (curve.kind, curve.alpha, curve.step) == ("catmull-rom", 0.5, 1.0)
    points = np.asarray(filament.points)
    control = np.asarray(curve.control_points)
    assert _on_points(control, points) and 2 <= len(control) < len(points)
    np.testing.assert_array_equal(control[[0, -1]], points[[0, -1]])
    # Every point lies within the tolerance of the derived curve.
    derived = CopickFilament.from_curve(1, curve)
    gaps = [np.linalg.norm(np.asarray(derived.points) - p, axis=1).min() for p in points]
    assert max(gaps) <= 0.25 + 0.5  # the tolerance plus half the derived curve's step


def test_editable_curve_of_a_filament_without_a_curve_defaults_to_the_median_spacing():
    points = [(0, 0, 0), (3, 3, 0), (6, 0, 0), (9, 3, 0), (12, 0, 0)]  # a zigzag: every point is a corner
    curve = CopickFilament(instance_id=1, points=points).editable_curve()
    assert curve.step == pytest.approx(np.median(_spacings(np.asarray(points, float))))
    np.testing.assert_array_equal(
        CopickFilament(instance_id=1, points=points).editable_control_points(tolerance=0.01),
        np.asarray(points, float),
    )


def test_a_stale_curve_is_not_editable():
    filament = CopickFilament.from_curve(1, CATMULL_ROM)
    moved = filament.model_copy(update={"points": [(p[0], p[1] + 5, p[2]) for p in filament.points]})
    curve = moved.editable_curve()
    assert curve is not moved.curve
    np.testing.assert_allclose(curve.control_points[0], moved.points[0])


@pytest.mark.parametrize(
    ("points", "kwargs", "match"),
    [
        ([(1, 1, 1), (1, 1, 1)], {}, "pass step"),
        ([(1, 1, 1), (1, 1, 1)], {"step": 1.0}, "two distinct points"),
        ([(0, 0, 0), (5, 0, 0), (0, 0, 0)], {}, "ends where it starts"),
        ([(0, 0, 0), (5, 0, 0)], {"tolerance": -1.0}, "tolerance"),
    ],
)
def test_editable_curve_refuses_points_it_cannot_derive_a_curve_from(points, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CopickFilament(instance_id=1, points=points).editable_curve(**kwargs)


def test_a_reversed_filament_has_a_current_reversed_curve():
    filament = CopickFilament.from_curve(1, BSPLINE, polarity_known=True)
    back = filament.reversed()
    assert back.points == filament.points[::-1] and back.curve_is_current()
    assert back.curve == filament.curve.reversed() and back.polarity_known


# -- CopickFilaments -------------------------------------------------------------------------------------------


def test_from_curves_stores_filaments_with_current_curves(run, reopen):
    curves = [CopickFilamentCurve(**c) for c in CURVES.values()]
    filaments = run.new_filaments("microtubule", "1")
    filaments.from_curves(
        curves, instance_ids=[7, 2, 9], scores=[1.0, 0.5, 0.75], radii=[None, 10.0, None], voxel_spacing=7.84
    )
    stored = reopen().get_run("TS_001").get_filaments(object_name="microtubule")[0]
    assert stored.voxel_spacing == 7.84
    assert stored.instance_ids().tolist() == [7, 2, 9]
    assert [f.curve for f in stored.filaments] == curves
    assert [f.score for f in stored.filaments] == [1.0, 0.5, 0.75]
    for line, curve in zip(stored.numpy(), curves, strict=True):
        np.testing.assert_array_equal(line, curve.evaluate())
    assert all(cps is not None for cps in stored.control_points())


def test_from_curves_with_store_false_only_sets(run, reopen):
    filaments = run.new_filaments("microtubule", "1")
    filaments.from_curves([LINEAR], store=False)
    assert len(filaments.filaments) == 1
    assert reopen().get_run("TS_001").get_filaments()[0].numpy() == []


def test_from_control_points_steps_at_the_voxel_spacing_unless_told(run):
    filaments = run.new_filaments("microtubule", "1")
    control = [np.array([(0, 0, 0), (50, 0, 0)], float), np.array([(0, 10, 0), (20, 20, 0), (40, 10, 0)], float)]
    filaments.from_control_points(control, instance_ids=[1, 2], voxel_spacing=10.0, kind="linear")
    assert [f.curve.step for f in filaments.filaments] == [10.0, 10.0]
    np.testing.assert_allclose(filaments.numpy()[0][:, 0], [0, 10, 20, 30, 40, 50])
    filaments.from_control_points(control, step=5.0)
    assert [f.curve.step for f in filaments.filaments] == [5.0, 5.0]
    assert filaments.voxel_spacing == 10.0  # kept
    filaments.from_control_points(control)  # the set's voxel spacing
    assert [f.curve.kind for f in filaments.filaments] == ["catmull-rom", "catmull-rom"]
    assert [f.curve.step for f in filaments.filaments] == [10.0, 10.0]


def test_from_control_points_without_any_step_is_refused(run):
    with pytest.raises(ValueError, match="pass step"):
        run.new_filaments("microtubule", "1").from_control_points([[(0, 0, 0), (1, 0, 0)]])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f: f.from_curves([LINEAR, LINEAR], instance_ids=[1]), "one entry per filament"),
        (lambda f: f.from_curves([LINEAR, LINEAR], instance_ids=[4, 4]), "unique"),
        (lambda f: f.from_curves([{**LINEAR, "kind": "hermite"}]), "unknown kind"),
        (lambda f: f.from_control_points([[(0, 0, 0), (1, 0, 0)]], step=1.0, kind="bspline"), "from_curve"),
        (lambda f: f.from_control_points([[(0, 0, 0), (1, 0, 0)]], step=1.0, radii=[-1.0]), "greater than 0"),
    ],
)
def test_bad_curves_change_neither_the_catalog_nor_the_loaded_set(root, run, snapshot, call, match):
    filaments = run.new_filaments("microtubule", "1")
    filaments.from_curves([CATMULL_ROM], voxel_spacing=3.0)
    before = snapshot(root)
    with pytest.raises(ValueError, match=match):
        call(filaments)
    assert snapshot(root) == before
    assert len(filaments.filaments) == 1 and filaments.voxel_spacing == 3.0


def test_a_read_only_root_refuses_curve_writes(run, reopen):
    run.new_filaments("microtubule", "1").from_curves([LINEAR])
    filaments = reopen(read_only=True).get_run("TS_001").get_filaments()[0]
    with pytest.raises(PermissionError):
        filaments.from_curves([CATMULL_ROM])
    with pytest.raises(PermissionError):
        filaments.from_control_points([[(0, 0, 0), (1, 0, 0)]], step=1.0)
    assert filaments.filaments[0].curve == CopickFilamentCurve(**LINEAR)


def test_get_finds_a_filament_by_instance_id(run):
    filaments = run.new_filaments("microtubule", "1")
    filaments.from_curves([LINEAR, BSPLINE], instance_ids=[4, 8])
    assert filaments.get(8).curve.kind == "bspline"
    assert filaments.get(4) is filaments.filaments[0]
    assert filaments.get(5) is None


def test_the_sets_editable_curve_derives_at_its_voxel_spacing(run):
    filaments = run.new_filaments("microtubule", "1")
    filaments.from_numpy([np.array([(0, 0, 0), (10, 0, 0), (20, 0, 0), (30, 0, 0), (40, 0, 0)], float)])
    assert filaments.editable_curve(1).step == 10.0  # the points' median spacing: no voxel spacing recorded
    filaments.from_numpy(filaments.numpy(), voxel_spacing=4.0)
    assert filaments.editable_curve(1).step == 4.0
    with pytest.raises(KeyError, match="no filament with instance id 2"):
        filaments.editable_curve(2)


# -- other libraries' objects, by value ------------------------------------------------------------------------


class ForeignLocation(BaseModel):
    """A location model of another library (as copick's own)."""

    x: float
    y: float
    z: float


class ForeignPoint(BaseModel):
    """A point model of another library with copick's fields."""

    location: ForeignLocation
    transformation_: list[list[float]] = np.eye(4).tolist()
    instance_id: int | None = 0
    score: float | None = 1.0


class ForeignCurve(BaseModel):
    """A curve model of another library (extra keys allowed, as copick's)."""

    model_config = {"extra": "allow"}
    kind: str
    control_points: list[tuple[float, float, float]]
    step: float


class ForeignFilament(BaseModel):
    """A filament model of another library."""

    instance_id: int
    points: list[tuple[float, float, float]]
    score: float = 1.0
    curve: ForeignCurve | None = None


def _turned(angle: float) -> list[list[float]]:
    c, s = np.cos(angle), np.sin(angle)
    return [[c, -s, 0, 1.5], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]


def test_picks_accept_points_of_another_library_and_store_their_values(run, reopen):
    foreign = [
        ForeignPoint(location=ForeignLocation(x=1, y=2, z=3)),
        ForeignPoint(
            location=ForeignLocation(x=4.5, y=5, z=6), transformation_=_turned(0.3), instance_id=7, score=0.25
        ),
        SimpleNamespace(
            location=SimpleNamespace(x=7, y=8, z=9), transformation_=np.eye(4), instance_id=None, score=None
        ),
        SimpleNamespace(x=10, y=11, z=12, score=0.5),  # flat, as the spec's points
    ]
    picks = run.new_picks("ribosome", "1")
    picks.points = foreign
    assert all(isinstance(p, CopickPoint) for p in picks.points)
    picks.store()
    stored = reopen().get_run("TS_001").get_picks("ribosome")[0]
    positions, transforms = stored.numpy()
    np.testing.assert_array_equal(positions, [[1, 2, 3], [4.5, 5, 6], [7, 8, 9], [10, 11, 12]])
    np.testing.assert_array_equal(transforms[1], _turned(0.3))
    np.testing.assert_array_equal(transforms[[0, 2, 3]], np.broadcast_to(np.eye(4), (3, 4, 4)))
    assert [(p.instance_id, p.score) for p in stored.points] == [(0, 1.0), (7, 0.25), (None, None), (0, 0.5)]


def test_our_own_points_are_kept_as_the_same_objects(run):
    point = CopickPoint(x=1, y=2, z=3)
    picks = run.new_picks("ribosome", "1")
    picks.points = [point, {"location": {"x": 4, "y": 5, "z": 6}}]
    assert picks.points[0] is point and picks.points[1].location == CopickLocation(x=4, y=5, z=6)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (ForeignPoint(location=ForeignLocation(x=np.nan, y=0, z=0)), "finite"),
        (ForeignPoint(location=ForeignLocation(x=0, y=0, z=0), transformation_=[[1, 0], [0, 1]]), "4x4"),
        (ForeignPoint(location=ForeignLocation(x=0, y=0, z=0), instance_id=None, score=None).model_copy(
            update={"transformation_": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 2, 1]]}
        ), "last row"),
        (SimpleNamespace(location=SimpleNamespace(x=1, y=2)), "location.z"),
        (SimpleNamespace(x=1, y=2), "missing z"),
        (SimpleNamespace(name="not a point"), "valid dictionary or instance"),
        (42, "valid dictionary or instance"),
    ],
)  # fmt: skip
def test_picks_refuse_a_bad_foreign_point_when_it_is_set(run, bad, match):
    picks = run.new_picks("ribosome", "1")
    picks.from_numpy(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=match):
        picks.points = [CopickPoint(x=1, y=1, z=1), bad]
    np.testing.assert_array_equal(picks.numpy()[0], np.zeros((1, 3)))


def test_foreign_points_appended_to_the_loaded_list_are_stored_too(run, reopen):
    picks = run.new_picks("ribosome", "1")
    picks.from_numpy(np.zeros((1, 3)))
    picks.points.append(ForeignPoint(location=ForeignLocation(x=1, y=1, z=1), score=0.5))
    picks.store()
    stored = reopen().get_run("TS_001").get_picks("ribosome")[0]
    np.testing.assert_array_equal(stored.numpy()[0], [[0, 0, 0], [1, 1, 1]])
    assert stored.scores().tolist() == [1.0, 0.5]


def test_meta_and_file_models_accept_foreign_points_and_locations():
    point = ForeignPoint(location=ForeignLocation(x=1, y=2, z=3), score=0.5)
    file = CopickPicksFile(pickable_object_name="ribosome", points=[point])
    assert file.points == [CopickPoint(x=1, y=2, z=3, score=0.5)]
    assert CopickPoint(location=ForeignLocation(x=1, y=2, z=3)).location == CopickLocation(x=1, y=2, z=3)
    assert CopickLocation.model_validate(SimpleNamespace(x=1, y=2, z=3)) == CopickLocation(x=1, y=2, z=3)


def test_filament_models_accept_foreign_filaments_and_curves_by_value(run, reopen):
    curve = ForeignCurve(kind="linear", control_points=[(0, 0, 0), (10, 0, 0)], step=2.0)
    hermite = ForeignCurve(kind="hermite", control_points=[(0, 0, 0), (1, 0, 0)], step=1.0, tangents=[[1, 0, 0]])
    foreign = ForeignFilament(instance_id=3, points=CopickFilamentCurve.model_validate(curve).evaluate().tolist())
    foreign.curve = curve
    odd = ForeignFilament(instance_id=4, points=[(0, 0, 0), (1, 0, 0)], score=0.5, curve=hermite)
    assert CopickFilament.from_curve(1, curve).curve == CopickFilamentCurve(**curve.model_dump())
    file = CopickFilamentsFile(pickable_object_name="microtubule", filaments=[foreign, odd])
    assert file.filaments[1].curve.model_dump()["tangents"] == [[1, 0, 0]]  # extra keys kept
    filaments = run.new_filaments("microtubule", "1")
    filaments.filaments = [foreign, odd]
    filaments.store()
    stored = reopen().get_run("TS_001").get_filaments()[0].filaments
    assert [f.model_dump() for f in stored] == [f.model_dump() for f in file.filaments]
    assert stored[0].curve_is_current() and stored[1].score == 0.5
    with pytest.raises(ValueError, match="coincide"):
        CopickFilament.model_validate(
            ForeignFilament(
                instance_id=1, points=[(0, 0, 0), (1, 0, 0)], curve={**curve.model_dump(), "step": 2.0}
            ).model_copy(update={"curve": ForeignCurve(kind="linear", control_points=[(0, 0, 0), (0, 0, 0)], step=1)})
        )
