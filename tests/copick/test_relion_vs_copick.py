"""RELION data frames: copick_db's ``picks.df()``/``picks.from_df()`` against copick 1.31's, in ``.venv-copick``.

The same project is built twice, once with copick (a filesystem project) and once with copick_db, with the same
tomograms, voxel spacings and pick sets. For every keyword variant, both libraries must give equal frames; a frame
made by either library, read by the other's ``from_df``, must give the points copick's own ``from_df`` gives.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import copick_db

copick = pytest.importorskip("copick")
pd = pytest.importorskip("pandas")
from scipy.spatial.transform import Rotation  # noqa: E402  (a copick dependency)

pytestmark = [pytest.mark.copick, pytest.mark.filterwarnings("ignore::UserWarning")]  # which tomogram/voxel size

OBJECTS = [
    {"name": "ribosome", "is_particle": True, "label": 1, "radius": 150.0},
    {
        "name": "microtubule",
        "is_particle": True,
        "label": 2,
        "radius": 125.0,
        "metadata": {"copick": {"filament": {"polar": True, "helical_rise_a": 9.4}}},
    },
]

#: Level-0 (z, y, x) shapes: the centre of TS_001's 10 Å tomograms is (200, 150, 100) Å. Each spacing's tomograms are
#: made in name order, so copick's listing (creation order) and ours (name order) agree on the first one.
TOMOGRAMS = [
    ("TS_001", 10.0, "denoised", (20, 30, 40)),
    ("TS_001", 10.0, "wbp", (20, 30, 40)),
    ("TS_001", 20.0, "ctf", (11, 17, 19)),
    ("TS_001", 20.0, "wbp", (12, 16, 18)),
]
#: TS_002 has voxel spacings but no tomogram: copick falls back to pixels of the smallest voxel size. TS_003 has
#: neither.
VOXEL_SPACINGS = [("TS_002", 13.48), ("TS_002", 7.84)]


def _points(seed: int, n: int = 25) -> dict:
    """Locations, transforms with rotations and translations (a few identities and gimbal cases), ids and scores."""
    rng = np.random.default_rng(seed)
    transforms = np.tile(np.eye(4), (n, 1, 1))
    transforms[:, :3, :3] = Rotation.random(n, random_state=seed).as_matrix()
    transforms[:, :3, 3] = rng.normal(0, 15, (n, 3))
    transforms[0] = np.eye(4)
    transforms[1, :3, :3] = Rotation.from_euler("ZYZ", [40, 0, 0], degrees=True).as_matrix()
    transforms[2, :3, :3] = Rotation.from_euler("ZYZ", [-75, 180, 0], degrees=True).as_matrix()
    return {
        "positions": rng.uniform(0, 400, (n, 3)),
        "transforms": transforms,
        "instance_ids": rng.integers(1, 5, n),
        "scores": rng.uniform(0, 1, n),
    }


def _build(project) -> None:
    """Fill a copick or copick_db root: tomograms, voxel spacings and three pick sets per run."""
    for name in ("TS_001", "TS_002", "TS_003"):
        project.new_run(name)
    for run_name, voxel_size, tomo_type, shape in TOMOGRAMS:
        run = project.get_run(run_name)
        spacing = run.get_voxel_spacing(voxel_size) or run.new_voxel_spacing(voxel_size)
        spacing.new_tomogram(tomo_type).from_numpy(np.zeros(shape, dtype=np.float32), levels=1)
    for run_name, voxel_size in VOXEL_SPACINGS:
        project.get_run(run_name).new_voxel_spacing(voxel_size)
    for seed, run_name in enumerate(("TS_001", "TS_002")):
        run = project.get_run(run_name)
        for offset, object_name in enumerate(("ribosome", "microtubule")):
            data = _points(10 * seed + offset)
            picks = run.new_picks(object_name, "1", "alice")
            picks.from_numpy(data["positions"], data["transforms"], data["instance_ids"], data["scores"])


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """(copick root, copick_db root), built alike."""
    directory = tmp_path_factory.mktemp("relion")
    config = {
        "config_type": "filesystem",
        "pickable_objects": OBJECTS,
        "overlay_root": "local://" + str(directory / "overlay"),
        "overlay_fs_args": {"auto_mkdir": True},
    }
    config_path = directory / "copick.json"
    config_path.write_text(json.dumps(config))
    theirs = copick.from_file(str(config_path))
    ours = copick_db.create(directory / "project.sqlite", {"pickable_objects": OBJECTS})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _build(theirs)
        _build(ours)
    yield theirs, ours
    ours.close()


def _picks(project, run_name: str, object_name: str, session_id: str = "1"):
    return project.get_run(run_name).get_picks(object_name=object_name, user_id="alice", session_id=session_id)[0]


def _both(projects, run_name: str, object_name: str):
    theirs, ours = projects
    return _picks(theirs, run_name, object_name), _picks(ours, run_name, object_name)


def _frames(projects, run_name: str, object_name: str, **kwargs):
    """Both libraries' frames with the warnings each one gave (messages only)."""
    their_picks, our_picks = _both(projects, run_name, object_name)
    with warnings.catch_warnings(record=True) as their_warnings:
        warnings.simplefilter("always")
        expected = their_picks.df(**kwargs)
    with warnings.catch_warnings(record=True) as our_warnings:
        warnings.simplefilter("always")
        actual = our_picks.df(**kwargs)
    return expected, actual, [str(w.message) for w in their_warnings], [str(w.message) for w in our_warnings]


DF_VARIANTS = [
    ("TS_001", "ribosome", {}),
    ("TS_001", "ribosome", {"format": "relion"}),
    ("TS_001", "ribosome", {"tilt_series_pixel_size": 1.35}),
    ("TS_001", "ribosome", {"tomogram_center": (512.0, 480.5, 100.25)}),
    ("TS_001", "ribosome", {"tomogram_center": (512.0, 480.5, 100.25), "tilt_series_pixel_size": 2.7}),
    ("TS_001", "ribosome", {"voxel_spacing": 20.0}),
    ("TS_001", "ribosome", {"voxel_spacing": 33.0}),
    ("TS_001", "ribosome", {"tomo_type": "ctf"}),
    ("TS_001", "ribosome", {"tomo_type": "denoised", "voxel_spacing": 10.0}),
    ("TS_001", "ribosome", {"coordinates": "centered", "tilt_series_pixel_size": 1.35}),
    ("TS_002", "ribosome", {}),
    ("TS_002", "ribosome", {"voxel_spacing": 13.48}),
    ("TS_002", "ribosome", {"tomo_type": "wbp", "tilt_series_pixel_size": 4.0}),
    ("TS_001", "microtubule", {}),
    ("TS_001", "microtubule", {"filament": False}),
    ("TS_001", "ribosome", {"filament": True}),
    ("TS_001", "microtubule", {"polarity_known": True}),
    ("TS_001", "microtubule", {"polarity_known": np.arange(25) % 3 == 0}),
    ("TS_001", "microtubule", {"filament_angles": "pose"}),
    ("TS_001", "microtubule", {"half_sets": "filament"}),
    ("TS_002", "microtubule", {"half_sets": "filament", "tilt_series_pixel_size": 1.0}),
]


@pytest.mark.parametrize(("run_name", "object_name", "kwargs"), DF_VARIANTS)
def test_df_gives_copicks_frame_and_warnings(projects, run_name, object_name, kwargs):
    expected, actual, their_warnings, our_warnings = _frames(projects, run_name, object_name, **kwargs)
    pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=0, atol=1e-9)
    # copick's own warnings about which tomogram or voxel size it used (scipy's gimbal-lock notes are scipy's)
    assert our_warnings == [w for w in their_warnings if not w.startswith("Gimbal lock")]


@pytest.mark.parametrize(
    ("run_name", "object_name", "kwargs"),
    [
        ("TS_002", "ribosome", {"coordinates": "centered"}),
        ("TS_001", "ribosome", {"coordinates": "both"}),
        ("TS_001", "ribosome", {"filament": "yes"}),
        ("TS_001", "ribosome", {"filament_angles": "helix"}),
        ("TS_001", "ribosome", {"half_sets": "random"}),
        ("TS_001", "ribosome", {"half_sets": "filament"}),
        ("TS_001", "ribosome", {"polarity_known": [True, False]}),
    ],
)
def test_df_refuses_what_copick_refuses(projects, run_name, object_name, kwargs):
    their_picks, our_picks = _both(projects, run_name, object_name)
    with pytest.raises(ValueError):
        their_picks.df(**kwargs)
    with pytest.raises(ValueError):
        our_picks.df(**kwargs)


def test_df_refuses_filament_columns_without_filament_ids_as_copick_does(projects):
    theirs, ours = projects
    for project in (theirs, ours):
        picks = project.get_run("TS_001").new_picks("microtubule", "unassigned", "alice")
        picks.from_numpy(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.tile(np.eye(4), (2, 1, 1)))
        with pytest.raises(ValueError, match="no filament ID"):
            picks.df()


def test_an_empty_pick_set_gives_copicks_empty_frame(projects):
    theirs, ours = projects
    frames = []
    for project in (theirs, ours):
        picks = project.get_run("TS_001").new_picks("ribosome", "empty", "alice")
        picks.from_numpy(np.zeros((0, 3)), np.zeros((0, 4, 4)))
        frames.append(picks.df())
    pd.testing.assert_frame_equal(frames[1], frames[0])


def _set_from(project, run_name: str, object_name: str, session_id: str, frame, **kwargs):
    """Read ``frame`` into a new pick set of ``project``; return (positions, transforms, instance ids, scores)."""
    picks = project.get_run(run_name).new_picks(object_name, session_id, "bob")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        picks.from_df(frame, **kwargs)
    positions, transforms = picks.numpy()
    return positions, transforms, picks.instance_ids(), picks.scores()


def _assert_same_picks(actual, expected) -> None:
    positions, transforms, ids, scores = actual
    np.testing.assert_allclose(positions, expected[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(transforms, expected[1], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ids, expected[2])
    np.testing.assert_array_equal(scores, expected[3])


#: (run, object, df keywords, from_df keywords, whether from_df sees the geometry df used, so particles stay put)
FROM_DF_VARIANTS = [
    ("TS_001", "ribosome", {}, {}, True),
    ("TS_001", "ribosome", {"tilt_series_pixel_size": 1.35}, {"tilt_series_pixel_size": 1.35}, True),
    ("TS_001", "ribosome", {"tilt_series_pixel_size": 1.35}, {"relion_version": "relion4"}, False),
    ("TS_001", "ribosome", {"tilt_series_pixel_size": 1.35}, {"relion_version": "relion5"}, True),
    ("TS_001", "ribosome", {"tomogram_center": (300.0, 10.0, -4.0)}, {"tomogram_center": (300.0, 10.0, -4.0)}, True),
    ("TS_001", "ribosome", {"tomogram_center": (300.0, 10.0, -4.0)}, {}, False),
    ("TS_001", "ribosome", {"coordinates": "centered"}, {"relion_version": "relion5"}, True),
    ("TS_002", "ribosome", {}, {}, True),
    ("TS_002", "ribosome", {"tilt_series_pixel_size": 2.0}, {"tilt_series_pixel_size": 2.0}, True),
    ("TS_001", "microtubule", {}, {}, True),
    ("TS_001", "microtubule", {"filament_angles": "pose", "half_sets": "filament"}, {}, True),
]


@pytest.mark.parametrize(("run_name", "object_name", "df_kwargs", "from_kwargs", "same_geometry"), FROM_DF_VARIANTS)
def test_each_library_reads_the_others_frames_as_copick_does(
    projects, run_name, object_name, df_kwargs, from_kwargs, same_geometry
):
    theirs, ours = projects
    their_picks, our_picks = _both(projects, run_name, object_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        their_frame, our_frame = their_picks.df(**df_kwargs), our_picks.df(**df_kwargs)
    session = f"read-{FROM_DF_VARIANTS.index((run_name, object_name, df_kwargs, from_kwargs, same_geometry))}"
    expected = _set_from(theirs, run_name, object_name, session, their_frame, **from_kwargs)
    _assert_same_picks(_set_from(ours, run_name, object_name, session, their_frame, **from_kwargs), expected)
    _assert_same_picks(_set_from(theirs, run_name, object_name, session + "b", our_frame, **from_kwargs), expected)
    if same_geometry:  # each particle stays where it was: the locations absorb the transforms' translations
        moved = their_picks.full_positions()[_order(their_frame)]
        np.testing.assert_allclose(expected[0], moved, rtol=0, atol=1e-9)


def _order(frame) -> np.ndarray:
    """The frame's rows in the order copick's from_df takes them (along each filament when it has filament columns)."""
    if {"rlnHelicalTubeID", "rlnHelicalTrackLengthAngst"}.issubset(frame.columns):
        return np.lexsort((frame["rlnHelicalTrackLengthAngst"], frame["rlnHelicalTubeID"]))
    return np.arange(len(frame))


def _relion_file(n: int = 12, seed: int = 5):
    """A RELION 5 particle table as RELION writes it: subtomogram orientations, shifts, optics groups, filaments."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "rlnTomoName": ["TS_001"] * n,
            "rlnCoordinateX": rng.uniform(0, 300, n),
            "rlnCoordinateY": rng.uniform(0, 300, n),
            "rlnCoordinateZ": rng.uniform(0, 100, n),
            "rlnTomoSubtomogramRot": rng.uniform(-180, 180, n),
            "rlnTomoSubtomogramTilt": rng.uniform(0, 180, n),
            "rlnTomoSubtomogramPsi": rng.uniform(-180, 180, n),
            "rlnAngleRot": rng.uniform(-180, 180, n),
            "rlnAngleTilt": rng.uniform(0, 180, n),
            "rlnAnglePsi": rng.uniform(-180, 180, n),
            "rlnOriginXAngst": rng.normal(0, 3, n),
            "rlnOriginYAngst": rng.normal(0, 3, n),
            "rlnOriginZAngst": rng.normal(0, 3, n),
            "rlnOpticsGroup": rng.integers(1, 3, n),
            "rlnHelicalTubeID": rng.integers(1, 4, n),
            "rlnHelicalTrackLengthAngst": rng.permutation(n) * 40.0,
            "rlnCenteredCoordinateXAngst": rng.uniform(-200, 200, n),
            "rlnCenteredCoordinateYAngst": rng.uniform(-150, 150, n),
            "rlnCenteredCoordinateZAngst": rng.uniform(-100, 100, n),
        }
    )
    optics = pd.DataFrame(
        {"rlnOpticsGroup": [1, 2], "rlnOpticsGroupName": ["a", "b"], "rlnTomoTiltSeriesPixelSize": [1.35, 2.7]}
    )
    return frame, optics


RELION_READS = {
    "centred, centre of the run's tomogram": {},
    "pixels, two optics groups": {"relion_version": "relion4", "optics": "two groups"},
    "pixels, one optics group": {"relion_version": "relion4", "optics": "one group"},
    "pixels, pixel size over optics": {
        "relion_version": "relion4",
        "tilt_series_pixel_size": 0.9,
        "optics": "two groups",
    },
    "centred, given centre": {"tomogram_center": (1.0, 2.0, 3.0)},
    "pixels, smallest voxel size": {"relion_version": "relion4"},
}


@pytest.mark.parametrize("case", sorted(RELION_READS))
def test_a_relion_written_table_is_read_as_copick_reads_it(projects, case):
    theirs, ours = projects
    frame, optics = _relion_file()
    kwargs = dict(RELION_READS[case])
    if kwargs.get("optics") == "two groups":
        kwargs["optics"] = optics
    elif kwargs.get("optics") == "one group":
        kwargs["optics"] = optics.iloc[:1]
    session = f"relion-{sorted(RELION_READS).index(case)}"
    expected = _set_from(theirs, "TS_001", "microtubule", session, frame, **kwargs)
    _assert_same_picks(_set_from(ours, "TS_001", "microtubule", session, frame, **kwargs), expected)


PIXELS = ["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]
CENTRED = ["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]
REFUSED_FRAMES = {
    "no coordinates": ("TS_001", lambda f: f[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]], {}),
    "half the centred columns": ("TS_001", lambda f: f.drop(columns=[*PIXELS, CENTRED[2]]), {}),
    "unknown version": ("TS_001", lambda f: f, {"relion_version": "relion6"}),
    "relion5 without centred columns": ("TS_001", lambda f: f.drop(columns=CENTRED), {"relion_version": "relion5"}),
    "relion4 without pixel columns": ("TS_001", lambda f: f.drop(columns=PIXELS), {"relion_version": "relion4"}),
    "centred, no tomogram": ("TS_002", lambda f: f.drop(columns=PIXELS), {}),
    "relion5, no tomogram": ("TS_002", lambda f: f, {"relion_version": "relion5"}),
    "pixels, no pixel size at all": ("TS_003", lambda f: f.drop(columns=CENTRED), {}),
    "optics groups not in the table": ("TS_001", lambda f: f, {"relion_version": "relion4", "optics": "unmatched"}),
    "several optics groups, none named": (
        "TS_001",
        lambda f: f.drop(columns=["rlnOpticsGroup"]),
        {"relion_version": "relion4", "optics": "two groups"},
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_FRAMES))
def test_from_df_refuses_what_copick_refuses(projects, case):
    run_name, edit, kwargs = REFUSED_FRAMES[case]
    frame, optics = _relion_file()
    frame = edit(frame)
    if kwargs.get("optics") == "unmatched":
        kwargs = {**kwargs, "optics": optics.assign(rlnOpticsGroup=[7, 8], rlnOpticsGroupName=["x", "y"])}
    elif kwargs.get("optics") == "two groups":
        kwargs = {**kwargs, "optics": optics.drop(columns=["rlnOpticsGroupName"])}
    for project in projects:
        picks = project.get_run(run_name).new_picks("ribosome", "refused", "carol", exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError):
                picks.from_df(frame, **kwargs)


def test_other_formats_are_refused_by_both(projects):
    their_picks, our_picks = _both(projects, "TS_001", "ribosome")
    for picks in (their_picks, our_picks):
        with pytest.raises(ValueError, match="not supported"):
            picks.df(format="dynamo")
        with pytest.raises(ValueError, match="not supported"):
            picks.from_df(picks.df(), format="csv")
