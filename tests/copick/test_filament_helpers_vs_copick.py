"""Our filament curve helpers give copick 1.31's numbers, copick's own CopickPoint objects are accepted by our picks,
and copick-utils' filament and grid-picking tools give the same results on a copick_db root as on a copick root."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import copick_db
from copick_db import models as ours

copick = pytest.importorskip("copick")
from copick import models as theirs  # noqa: E402

pytestmark = pytest.mark.copick

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "radius": 60.0},
    {
        "name": "microtubule",
        "is_particle": True,
        "label": 2,
        "radius": 40.0,
        "metadata": {"copick": {"filament": {"polar": True}}},
    },
]


def _curves() -> list[dict]:
    """Curves of every known kind: Catmull-Rom with several alphas, linear, B-splines of degree 1 to 5."""
    rng = np.random.default_rng(5)
    traced = np.cumsum(rng.normal(0, 20, (6, 3)), axis=0)
    curves = [
        {"kind": "catmull-rom", "control_points": traced[:4].tolist(), "step": 3.0},
        {"kind": "catmull-rom", "control_points": traced.tolist(), "step": 1.7, "alpha": 0.0},
        {"kind": "catmull-rom", "control_points": traced.tolist(), "step": 7.84, "alpha": 1.0},
        {"kind": "catmull-rom", "control_points": [(0, 0, 0), (50, 0, 0)], "step": 4.0},
        {"kind": "linear", "control_points": traced.tolist(), "step": 2.5},
        {"kind": "linear", "control_points": [(0, 0, 0), (10, 0, 0)], "step": 3.0},
    ]
    for degree in range(1, 6):
        count = degree + 3
        interior = np.sort(rng.uniform(0, 1, count - degree - 1)).tolist()
        curves.append(
            {
                "kind": "bspline",
                "degree": degree,
                "knots": [0.0] * (degree + 1) + interior + [1.0] * (degree + 1),
                "control_points": rng.uniform(0, 100, (count, 3)).tolist(),
                "step": 2.0,
                "smoothing": 0.5,
            }
        )
    # A repeated interior knot (an empty span) and a domain that is not [0, 1].
    curves.append(
        {
            "kind": "bspline",
            "degree": 3,
            "knots": [2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 6.0, 6.0, 6.0, 6.0],
            "control_points": rng.uniform(0, 100, (6, 3)).tolist(),
            "step": 1.5,
        }
    )
    return curves


CURVES = _curves()
IDS = [f"{c['kind']}-{i}" for i, c in enumerate(CURVES)]


def _pairs(curve: dict) -> tuple[ours.CopickFilamentCurve, theirs.CopickFilamentCurve]:
    return ours.CopickFilamentCurve(**curve), theirs.CopickFilamentCurve(**curve)


def _same_filament(mine: ours.CopickFilament, expected: theirs.CopickFilament) -> None:
    """Equal fields, and points and curves equal to rounding."""
    a, b = mine.model_dump(), expected.model_dump()
    np.testing.assert_allclose(np.asarray(a.pop("points")), np.asarray(b.pop("points")), rtol=0, atol=1e-9)
    del a["curve"], b["curve"]
    assert a == b
    assert (mine.curve is None) == (expected.curve is None)
    if mine.curve is not None:
        _same_curve(mine.curve, expected.curve)


def _same_curve(mine: ours.CopickFilamentCurve, expected: theirs.CopickFilamentCurve) -> None:
    """Equal fields, control points and knots equal to rounding."""
    a, b = mine.model_dump(), expected.model_dump()
    for key in ("control_points", "knots", "step"):
        if key in b:
            np.testing.assert_allclose(np.asarray(a.pop(key)), np.asarray(b.pop(key)), rtol=1e-12, atol=1e-9)
    assert a == b


# -- curves ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("curve", CURVES, ids=IDS)
def test_evaluate_gives_copicks_points(curve):
    mine, theirs_ = _pairs(curve)
    expected = theirs_.evaluate()
    got = mine.evaluate()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("curve", CURVES, ids=IDS)
def test_reversed_and_passes_through_control_points_agree_with_copick(curve):
    mine, theirs_ = _pairs(curve)
    assert mine.passes_through_control_points == theirs_.passes_through_control_points
    back, expected = mine.reversed(), theirs_.reversed()
    assert back.model_dump() == expected.model_dump()
    np.testing.assert_allclose(back.evaluate(), expected.evaluate(), rtol=1e-12, atol=1e-9)


def test_both_refuse_to_evaluate_a_curve_of_unknown_kind():
    curve = {"kind": "hermite", "control_points": [(0, 0, 0), (1, 1, 1)], "step": 1.0, "tangents": [[1, 0, 0]]}
    for model in (ours.CopickFilamentCurve, theirs.CopickFilamentCurve):
        with pytest.raises(ValueError):
            model(**curve).evaluate()


# -- filaments ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("curve", CURVES, ids=IDS)
def test_from_curve_gives_copicks_filament(curve):
    fields = {"polarity_known": True, "score": 0.5, "radius": 11.0, "metadata": {"fit": {"s": 1}}}
    mine = ours.CopickFilament.from_curve(4, curve, **fields)
    expected = theirs.CopickFilament.from_curve(4, curve, **fields)
    _same_filament(mine, expected)
    assert mine.curve_is_current() is expected.curve_is_current() is True
    _same_filament(mine.reversed(), expected.reversed())


def test_from_curve_takes_copicks_own_curves():
    for curve in CURVES:
        _same_filament(
            ours.CopickFilament.from_curve(1, theirs.CopickFilamentCurve(**curve)),
            theirs.CopickFilament.from_curve(1, curve),
        )


@pytest.mark.parametrize("kind", ["catmull-rom", "linear"])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_from_control_points_gives_copicks_filament(kind, alpha):
    control = np.cumsum(np.random.default_rng(8).normal(0, 15, (5, 3)), axis=0)
    mine = ours.CopickFilament.from_control_points(2, control, step=2.2, kind=kind, alpha=alpha, score=0.3)
    expected = theirs.CopickFilament.from_control_points(2, control, step=2.2, kind=kind, alpha=alpha, score=0.3)
    _same_filament(mine, expected)


@pytest.mark.parametrize("curve", CURVES, ids=IDS)
def test_with_control_points_gives_copicks_filament(curve):
    mine = ours.CopickFilament.from_curve(3, curve, radius=5.0)
    expected = theirs.CopickFilament.from_curve(3, curve, radius=5.0)
    moved = np.asarray(curve["control_points"]) + np.random.default_rng(2).normal(
        0, 2, (len(curve["control_points"]), 3)
    )
    _same_filament(mine.with_control_points(moved), expected.with_control_points(moved))
    _same_filament(mine.with_control_points(moved, step=0.9), expected.with_control_points(moved, step=0.9))
    if curve["kind"] != "bspline":
        longer = np.vstack([moved, moved[-1] + 10])
        _same_filament(mine.with_control_points(longer), expected.with_control_points(longer))


def test_with_control_points_of_a_filament_without_a_curve_gives_copicks_filament():
    points = np.cumsum(np.random.default_rng(4).normal(0, 3, (30, 3)), axis=0).tolist()
    mine, expected = (
        ours.CopickFilament(instance_id=1, points=points),
        theirs.CopickFilament(instance_id=1, points=points),
    )
    control = [points[0], points[10], points[29]]
    _same_filament(mine.with_control_points(control), expected.with_control_points(control))


@pytest.mark.parametrize("curve", CURVES, ids=IDS)
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"kinds": ("catmull-rom",)}, {"tolerance": 0.5, "step": 1.5, "kinds": ("linear",)}, {"step": 4.0}],
    ids=["default", "catmull-rom-only", "tight-linear-only", "step"],
)
def test_editable_curve_and_control_points_agree_with_copick(curve, kwargs):
    mine = ours.CopickFilament.from_curve(1, curve)
    expected = theirs.CopickFilament.from_curve(1, curve)
    _same_curve(mine.editable_curve(**kwargs), expected.editable_curve(**kwargs))
    np.testing.assert_allclose(
        mine.editable_control_points(**kwargs), expected.editable_control_points(**kwargs), atol=1e-9
    )


@pytest.mark.parametrize("seed", range(6))
def test_curves_derived_from_bare_points_agree_with_copick(seed):
    rng = np.random.default_rng(seed)
    points = np.cumsum(rng.normal(0, 4, (int(rng.integers(2, 40)), 3)), axis=0).tolist()
    mine, expected = (
        ours.CopickFilament(instance_id=1, points=points),
        theirs.CopickFilament(instance_id=1, points=points),
    )
    for kwargs in ({}, {"tolerance": 0.5}, {"tolerance": 2.0, "step": 3.0}):
        np.testing.assert_allclose(
            mine.editable_control_points(**kwargs), expected.editable_control_points(**kwargs), atol=1e-9
        )
        _same_curve(mine.editable_curve(**kwargs), expected.editable_curve(**kwargs))
    moved = mine.model_copy(update={"points": [(x + 1, y, z) for x, y, z in points]})
    assert mine.curve_is_current() is expected.curve_is_current() is False
    assert moved.editable_curve().control_points[0] == pytest.approx((points[0][0] + 1, *points[0][1:]))


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.CopickFilament.from_control_points(1, [(0, 0, 0), (5, 0, 0)], step=1.0, kind="bspline"),
        lambda m: m.CopickFilament.from_control_points(1, [(0, 0, 0), (0, 0, 0)], step=1.0),
        lambda m: m.CopickFilament.from_curve(0, CURVES[5]),
        lambda m: m.CopickFilament.from_curve(1, {**CURVES[5], "step": 0}),
        lambda m: m.CopickFilament.from_curve(1, CURVES[6]).with_control_points(np.zeros((2, 3))),
        lambda m: m.CopickFilament(instance_id=1, points=[(1, 1, 1), (1, 1, 1)]).editable_curve(),
        lambda m: m.CopickFilament(instance_id=1, points=[(0, 0, 0), (5, 0, 0), (0, 0, 0)]).editable_curve(),
    ],
)  # fmt: skip
def test_both_refuse_the_same_bad_input(call):
    with pytest.raises(ValueError):
        call(theirs)
    with pytest.raises(ValueError):
        call(ours)


# -- sets on a copick root and a copick_db root --------------------------------------------------------------------


def _copick_root(tmp_path):
    config = {
        "config_type": "filesystem",
        "name": "reference",
        "pickable_objects": OBJECTS,
        "overlay_root": "local://" + str(tmp_path / "overlay"),
        "overlay_fs_args": {"auto_mkdir": True},
        "user_id": "alice",
    }
    path = tmp_path / "copick.json"
    path.write_text(json.dumps(config))
    return copick.from_file(str(path))


@pytest.fixture
def roots(tmp_path):
    """(copick root, copick_db root, a function reopening the copick_db root), each with run TS_001."""
    reference = _copick_root(tmp_path)
    reference.new_run("TS_001")
    catalog = tmp_path / "project.sqlite"
    mine = copick_db.create(catalog, {"pickable_objects": OBJECTS, "user_id": "alice"})
    mine.new_run("TS_001")
    opened = [mine]

    def reopen():
        opened.append(copick_db.open(catalog))
        return opened[-1]

    yield reference, mine, reopen
    for root in opened:
        root.close()


def _same_sets(mine, expected) -> None:
    assert mine.voxel_spacing == expected.voxel_spacing
    assert mine.instance_ids().tolist() == expected.instance_ids().tolist()
    for a, b in zip(mine.filaments, expected.filaments, strict=True):
        _same_filament(a, b)
    for a, b in zip(mine.control_points(), expected.control_points(), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, atol=1e-9)


def test_from_curves_and_from_control_points_store_what_copick_stores(roots):
    reference, mine, reopen = roots
    theirs_set = reference.get_run("TS_001").new_filaments("microtubule", "1")
    our_set = mine.get_run("TS_001").new_filaments("microtubule", "1")
    kwargs = {
        "instance_ids": list(range(3, 3 + len(CURVES))),
        "scores": np.linspace(0.1, 1, len(CURVES)).tolist(),
        "voxel_spacing": 7.84,
    }
    theirs_set.from_curves([theirs.CopickFilamentCurve(**c) for c in CURVES], **kwargs)
    our_set.from_curves([theirs.CopickFilamentCurve(**c) for c in CURVES], **kwargs)  # copick's own curves
    _same_sets(reopen().get_run("TS_001").get_filaments()[0], theirs_set)
    assert our_set.get(5).curve == ours.CopickFilamentCurve(**CURVES[2])
    assert (our_set.get(99), theirs_set.get(99)) == (None, None)

    control = [np.asarray(c["control_points"]) for c in CURVES[:3]]
    for kwargs in ({"kind": "linear"}, {"step": 2.0, "alpha": 0.0, "radii": [1.0, None, 3.0]}):
        theirs_set.from_control_points(control, **kwargs)
        our_set.from_control_points(control, **kwargs)
        _same_sets(reopen().get_run("TS_001").get_filaments()[0], theirs_set)
    for instance_id in (1, 2, 3):
        _same_curve(our_set.editable_curve(instance_id), theirs_set.editable_curve(instance_id))


# -- copick's own points -------------------------------------------------------------------------------------------


def _copick_points() -> list:
    rng = np.random.default_rng(12)
    points = []
    for i in range(6):
        turn = np.eye(4)
        turn[:3, :3] = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        turn[:3, 3] = rng.normal(0, 2, 3)
        points.append(
            theirs.CopickPoint(
                location=theirs.CopickLocation(**dict(zip("xyz", rng.uniform(0, 500, 3).tolist(), strict=True))),
                transformation_=turn.tolist() if i % 2 else theirs.CopickPoint.model_fields["transformation_"].default,
                instance_id=[0, 3, None, 5, 0, 1][i],
                score=[1.0, 0.25, None, 0.5, 1.0, 0.75][i],
            )
        )
    return points


def test_a_list_of_copicks_own_points_is_stored_with_its_values(roots):
    reference, mine, reopen = roots
    theirs_picks = reference.get_run("TS_001").new_picks("ribosome", "1")
    theirs_picks.points = _copick_points()
    theirs_picks.store()
    our_picks = mine.get_run("TS_001").new_picks("ribosome", "1")
    our_picks.points = _copick_points()
    our_picks.store()
    stored = reopen().get_run("TS_001").get_picks("ribosome")[0]
    expected = [p.model_dump() for p in reference.get_run("TS_001").get_picks("ribosome")[0].points]
    assert [p.model_dump() for p in stored.points] == expected
    for got, want in zip(stored.numpy(), theirs_picks.numpy(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_copicks_own_points_are_refused_by_value(roots):
    _, mine, _ = roots
    picks = mine.get_run("TS_001").new_picks("ribosome", "1")
    bad = theirs.CopickPoint(location=theirs.CopickLocation(x=float("nan"), y=0, z=0))
    with pytest.raises(ValueError, match="finite"):
        picks.points = [bad]
    nested = ours.CopickPicksFile(pickable_object_name="ribosome", points=_copick_points())
    assert [p.model_dump() for p in nested.points] == [p.model_dump() for p in _copick_points()]


# -- copick-utils --------------------------------------------------------------------------------------------------


def _tube() -> np.ndarray:
    """A binary segmentation of one bent tube, 3 voxels in radius."""
    z, y, x = np.mgrid[:40, :64, :64]
    t = x / 63.0
    centre_y, centre_z = 20 + 15 * np.sin(2 * np.pi * t), 20 + 5 * t
    return (((y - centre_y) ** 2 + (z - centre_z) ** 2) < 9).astype(np.uint8)


def test_copick_utils_filament_tools_give_copicks_results(roots, caplog):
    pytest.importorskip("copick_utils")
    from copick_utils.converters.filaments_from_segmentation import filaments_from_segmentation
    from copick_utils.converters.picks_from_filaments import picks_from_filaments

    caplog.set_level(logging.ERROR)  # copick-utils logs errors and returns None instead of raising
    results = []
    for root in roots[:2]:
        run = root.get_run("TS_001")
        run.new_voxel_spacing(10.0)
        segmentation = run.new_segmentation(10.0, "microtubule", "1", False, user_id="alice")
        segmentation.from_numpy(_tube())
        traced = filaments_from_segmentation(segmentation, run, "microtubule", "2", "tracer")
        assert traced is not None, caplog.text
        for curve_kind in ("bspline",):
            fitted = filaments_from_segmentation(segmentation, run, "microtubule", "3", "tracer", curve_kind=curve_kind)
            assert fitted is not None, caplog.text
        sampled = picks_from_filaments(traced[0], run, "microtubule", "4", "sampler", spacing=40.0)
        assert sampled is not None, caplog.text
        sampled_fit = picks_from_filaments(fitted[0], run, "microtubule", "5", "sampler", spacing=25.0, anchor="start")
        assert sampled_fit is not None, caplog.text
        results.append((traced, fitted, sampled, sampled_fit))
    (c_traced, c_fitted, c_sampled, c_fit_sampled), (m_traced, m_fitted, m_sampled, m_fit_sampled) = results
    assert m_traced[1] == c_traced[1] and m_fitted[1] == c_fitted[1]
    assert len(c_traced[0].filaments) > 1  # the tube is split at its bends: several filaments to compare
    _same_sets(m_traced[0], c_traced[0])
    _same_sets(m_fitted[0], c_fitted[0])
    assert {f.curve.kind for f in m_fitted[0].filaments} == {"bspline"}
    for mine, expected in ((m_sampled, c_sampled), (m_fit_sampled, c_fit_sampled)):
        assert mine[1] == expected[1]
        for got, want in zip(mine[0].numpy(), expected[0].numpy(), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(mine[0].instance_ids(), expected[0].instance_ids())
        np.testing.assert_array_equal(mine[0].scores(), expected[0].scores())


def test_copick_utils_grid_picker_gives_copicks_picks(roots, capsys):
    pytest.importorskip("copick_utils")
    from copick_utils.pickers.grid_picker import grid_picker

    picked = []
    for root in roots[:2]:
        run = root.get_run("TS_001")
        tomogram = run.new_voxel_spacing(10.0).new_tomogram("wbp")
        tomogram.from_numpy(np.random.default_rng(0).random((24, 30, 36), dtype=np.float32))
        picks = grid_picker(root.get_object("ribosome"), run, tomogram, 0.2)
        assert picks is not None, capsys.readouterr().out
        picked.append(picks)
    expected, mine = picked
    assert len(mine.points) == len(expected.points) > 0
    for got, want in zip(mine.numpy(), expected.numpy(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert [p.model_dump() for p in mine.points] == [p.model_dump() for p in expected.points]
