"""RELION data frames of pick sets: ``picks.df(format="relion", ...)`` and ``picks.from_df(df, format="relion", ...)``.

Through the public API on small real projects; expected values are computed here from RELION's conventions
(position = location + translation, ZYZ Euler angles in degrees of the inverse rotation, centred coordinates from
the tomogram centre), independently of the module's helpers.
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

#: TS_001's tomogram: (z, y, x) = (20, 30, 40) voxels of 10 Å, so its centre is (200, 150, 100) Å.
CENTRE = np.array([200.0, 150.0, 100.0])


def _rz(degrees: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _ry(degrees: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rotation(rot: float, tilt: float, psi: float) -> np.ndarray:
    """The object-to-tomogram rotation whose RELION angles are (rot, tilt, psi): RELION's matrix, transposed."""
    return (_rz(rot) @ _ry(tilt) @ _rz(psi)).T


ANGLES = np.array([[10.0, 20.0, 30.0], [-150.0, 95.0, 170.0], [0.0, 0.0, 0.0], [45.0, 120.0, -60.0]])


def _transforms(translations: np.ndarray | None = None) -> np.ndarray:
    transforms = np.tile(np.eye(4), (len(ANGLES), 1, 1))
    for i, angles in enumerate(ANGLES):
        transforms[i, :3, :3] = _rotation(*angles)
    if translations is not None:
        transforms[:, :3, 3] = translations
    return transforms


LOCATIONS = np.array([[10.0, 20.0, 30.0], [150.5, 80.25, 60.0], [399.0, 1.0, 199.0], [0.0, 0.0, 0.0]])
SHIFTS = np.array([[1.0, -2.0, 3.0], [0.0, 0.0, 0.0], [-5.5, 4.5, 0.25], [2.0, 2.0, 2.0]])


@pytest.fixture
def run(root):
    """TS_001 with a 10 Å tomogram of 40 × 30 × 20 voxels and a ribosome pick set (rotations and shifts)."""
    run = root.new_run("TS_001")
    run.new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.zeros((20, 30, 40), dtype=np.float32), levels=1)
    picks = run.new_picks("ribosome", "1", "alice")
    picks.from_numpy(LOCATIONS, _transforms(SHIFTS), np.array([3, 0, 7, 1]), np.array([0.5, 0.25, 1.0, 0.75]))
    return run


def _picks(run):
    return run.get_picks(object_name="ribosome", user_id="alice", session_id="1")[0]


# -- df ---------------------------------------------------------------------------------------------------------


def test_df_writes_relion5_columns_with_positions_plus_translations_and_inverse_zyz_angles(run):
    frame = _picks(run).df()
    assert list(frame.columns) == [
        "rlnTomoName",
        "rlnAngleRot",
        "rlnAngleTilt",
        "rlnAnglePsi",
        "rlnCenteredCoordinateXAngst",
        "rlnCenteredCoordinateYAngst",
        "rlnCenteredCoordinateZAngst",
    ]
    assert frame["rlnTomoName"].tolist() == ["TS_001"] * 4
    np.testing.assert_allclose(frame[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]], ANGLES, atol=1e-9)
    centred = frame[["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]]
    np.testing.assert_allclose(centred, LOCATIONS + SHIFTS - CENTRE, atol=1e-12)


def test_df_centres_on_a_hand_written_tomogram_whose_size_was_never_recorded(root):
    zarr = pytest.importorskip("zarr")
    run = root.new_run("TS_009")
    tomogram = run.new_voxel_spacing(10.0).new_tomogram("wbp")
    zarr.array(np.zeros((20, 30, 40), np.float32), store=tomogram.zarr())  # a root array: level "0"
    run.new_picks("ribosome", "1", "alice").from_numpy(LOCATIONS)
    frame = run.get_picks(object_name="ribosome")[0].df()
    centred = frame[["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]]
    np.testing.assert_allclose(centred, LOCATIONS - CENTRE, atol=1e-12)


def test_df_format_relion_is_the_default(run):
    picks = _picks(run)
    pd.testing.assert_frame_equal(picks.df("relion"), picks.df())


def test_df_in_gimbal_lock_puts_the_in_plane_rotation_in_rot(root):
    run = root.new_run("TS_002")
    run.new_voxel_spacing(10.0)
    transforms = np.tile(np.eye(4), (2, 1, 1))
    transforms[0, :3, :3] = _rz(40.0)  # tilt 0: RELION's matrix is Rz(-40)
    transforms[1, :3, :3] = (_rz(-75.0) @ _ry(180.0)).T  # tilt 180
    picks = run.new_picks("ribosome", "1", "alice")
    picks.from_numpy(np.zeros((2, 3)), transforms)
    angles = picks.df(tilt_series_pixel_size=1.0)[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]].to_numpy()
    np.testing.assert_allclose(angles, [[-40.0, 0.0, 0.0], [-75.0, 180.0, 0.0]], atol=1e-9)


def test_df_with_tilt_series_pixel_size_adds_pixel_coordinates(run):
    frame = _picks(run).df(tilt_series_pixel_size=2.5)
    np.testing.assert_allclose(
        frame[["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]], (LOCATIONS + SHIFTS) / 2.5
    )
    assert "rlnCenteredCoordinateXAngst" in frame.columns
    assert list(frame.columns).index("rlnCoordinateZ") < list(frame.columns).index("rlnAngleRot")


def test_df_with_tomogram_center_uses_it_instead_of_the_tomograms(run):
    frame = _picks(run).df(tomogram_center=(1.0, 2.0, 3.0))
    centred = frame[["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]]
    np.testing.assert_allclose(centred, LOCATIONS + SHIFTS - [1.0, 2.0, 3.0], atol=1e-12)


def test_df_coordinates_centered_writes_no_pixel_coordinates(run):
    frame = _picks(run).df(coordinates="centered", tilt_series_pixel_size=2.5)
    assert not {"rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"} & set(frame.columns)


def test_df_voxel_spacing_and_tomo_type_choose_the_tomogram_whose_centre_is_used(run):
    spacing = run.new_voxel_spacing(20.0)
    spacing.new_tomogram("denoised").from_numpy(np.zeros((10, 12, 14), dtype=np.float32), levels=1)
    picks = _picks(run)
    columns = ["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]
    with pytest.warns(UserWarning, match="Multiple voxel spacings"):
        default = picks.df()[columns].to_numpy()
    np.testing.assert_allclose(default, LOCATIONS + SHIFTS - CENTRE, atol=1e-12)
    at_20 = picks.df(voxel_spacing=20.0)[columns].to_numpy()
    by_type = picks.df(tomo_type="denoised")[columns].to_numpy()
    np.testing.assert_allclose(at_20, LOCATIONS + SHIFTS - [140.0, 120.0, 100.0], atol=1e-12)
    np.testing.assert_allclose(by_type, at_20)
    no_such_type = picks.df(tomo_type="missing", tilt_series_pixel_size=1.0)
    assert "rlnCenteredCoordinateXAngst" not in no_such_type.columns


def test_df_without_tomogram_writes_pixels_of_the_smallest_voxel_size_and_says_so(root, caplog):
    run = root.new_run("TS_002")
    run.new_voxel_spacing(7.5)
    picks = run.new_picks("ribosome", "1", "alice")
    picks.from_numpy(LOCATIONS, _transforms(SHIFTS))
    with caplog.at_level(logging.WARNING, logger="copick_db.models.relion"):
        frame = picks.df()
    assert "pixels of a tomogram at 7.5" in caplog.text
    np.testing.assert_allclose(
        frame[["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]], (LOCATIONS + SHIFTS) / 7.5
    )
    assert "rlnCenteredCoordinateXAngst" not in frame.columns


def test_df_with_nothing_to_place_the_coordinates_raises_valueerror(root):
    picks = root.new_run("TS_002").new_picks("ribosome", "1", "alice")
    picks.from_numpy(LOCATIONS)
    with pytest.raises(ValueError, match="tilt_series_pixel_size"):
        picks.df()
    with pytest.raises(ValueError, match="centered RELION coordinates need one"):
        picks.df(coordinates="centered", tilt_series_pixel_size=1.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"coordinates": "pixels"}, {"filament": "maybe"}, {"filament_angles": "x"}, {"half_sets": "random"}],
)
def test_df_refuses_unknown_modes(run, kwargs):
    with pytest.raises(ValueError):
        _picks(run).df(**kwargs)


def test_df_refuses_unknown_keywords(run):
    with pytest.raises(TypeError):
        _picks(run).df(pixel_size=1.0)


def test_df_of_an_empty_pick_set_has_the_columns_and_no_rows(run):
    picks = run.new_picks("proteasome", "1", "alice")
    picks.from_numpy(np.zeros((0, 3)))
    frame = picks.df()
    assert len(frame) == 0
    assert "rlnCenteredCoordinateXAngst" in frame.columns


# -- filaments --------------------------------------------------------------------------------------------------


@pytest.fixture
def filament_picks(root, run):
    """Two microtubules, each point in order along its filament, rotations with +z along the filament."""
    root.new_object("microtubule", True, label=9, metadata={"copick": {"filament": {"polar": True}}})
    locations = np.array([[0.0, 0, 0], [0, 0, 10], [0, 0, 25], [50, 50, 50], [50, 58, 56]])
    transforms = np.tile(np.eye(4), (5, 1, 1))
    transforms[3:, :3, :3] = _rotation(0.0, 90.0, 90.0)
    picks = run.new_picks("microtubule", "1", "alice")
    picks.from_numpy(locations, transforms, np.array([1, 1, 1, 2, 2]))
    return picks


def test_df_of_a_filament_object_writes_relions_filament_columns(filament_picks):
    frame = filament_picks.df()
    assert frame["rlnHelicalTubeID"].tolist() == [1, 1, 1, 2, 2]
    np.testing.assert_allclose(frame["rlnHelicalTrackLengthAngst"], [0, 10, 25, 0, 10])
    np.testing.assert_allclose(frame["rlnAnglePsiFlipRatio"], 0.5)
    np.testing.assert_allclose(frame[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]], np.tile([0, 90, 0], (5, 1)))
    np.testing.assert_allclose(frame["rlnAngleTiltPrior"], 90.0)
    # the frame, pre-rotated by Ry(90): A_subtomogram · A_particle is the pick's rotation again
    sub = frame[["rlnTomoSubtomogramRot", "rlnTomoSubtomogramTilt", "rlnTomoSubtomogramPsi"]].to_numpy()
    for angles, transform in zip(sub, filament_picks.numpy()[1], strict=True):
        np.testing.assert_allclose(_rotation(*angles) @ _rotation(0, 90, 0), transform[:3, :3], atol=1e-9)


def test_df_filament_keywords(filament_picks):
    known = filament_picks.df(polarity_known=[True, True, True, False, False])
    np.testing.assert_allclose(known["rlnAnglePsiFlipRatio"], [0, 0, 0, 0.5, 0.5])
    pose = filament_picks.df(filament_angles="pose")
    assert "rlnTomoSubtomogramRot" not in pose.columns and "rlnHelicalTubeID" in pose.columns
    halves = filament_picks.df(half_sets="filament")
    assert halves["rlnRandomSubset"].tolist() == [1, 1, 1, 2, 2]
    plain = filament_picks.df(filament=False)
    assert "rlnHelicalTubeID" not in plain.columns
    with pytest.raises(ValueError, match="filament"):
        filament_picks.df(filament=False, half_sets="filament")


def test_a_filament_frame_reads_back_as_the_same_filaments(filament_picks, run):
    frame = filament_picks.df().sample(frac=1.0, random_state=3)  # from_df orders rows along each filament again
    again = run.new_picks("microtubule", "2", "alice")
    again.from_df(frame)
    np.testing.assert_allclose(again.numpy()[0], filament_picks.numpy()[0], atol=1e-9)
    np.testing.assert_allclose(again.numpy()[1], filament_picks.numpy()[1], atol=1e-12)
    np.testing.assert_array_equal(again.instance_ids(), [1, 1, 1, 2, 2])


# -- from_df ----------------------------------------------------------------------------------------------------


def test_a_frame_reads_back_to_the_particles_and_is_stored(run, reopen):
    source = _picks(run)
    frame = source.df()
    target = run.new_picks("ribosome", "2", "alice")
    target.from_df(frame)
    again = reopen().get_run("TS_001").get_picks(object_name="ribosome", session_id="2")[0]
    positions, transforms = again.numpy()
    np.testing.assert_allclose(positions, LOCATIONS + SHIFTS, atol=1e-9)  # locations absorb the translations
    np.testing.assert_allclose(transforms, _transforms(), atol=1e-12)  # the rotations, no translation
    # as in copick: RELION tables carry no scores and (without filament columns) no instance ids
    np.testing.assert_array_equal(again.scores(), [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(again.instance_ids(), [0, 0, 0, 0])


def test_from_df_applies_subtomogram_orientations_and_origin_shifts(run):
    frame = pd.DataFrame(
        {
            "rlnCenteredCoordinateXAngst": [0.0],
            "rlnCenteredCoordinateYAngst": [0.0],
            "rlnCenteredCoordinateZAngst": [0.0],
            "rlnTomoSubtomogramRot": [90.0],
            "rlnTomoSubtomogramTilt": [0.0],
            "rlnTomoSubtomogramPsi": [0.0],
            "rlnAngleRot": [0.0],
            "rlnAngleTilt": [30.0],
            "rlnAnglePsi": [0.0],
            "rlnOriginXAngst": [4.0],
            "rlnOriginYAngst": [0.0],
            "rlnOriginZAngst": [0.0],
        }
    )
    picks = run.new_picks("ribosome", "2", "alice")
    picks.from_df(frame)
    positions, transforms = picks.numpy()
    subtomogram = _rotation(90.0, 0.0, 0.0)
    np.testing.assert_allclose(positions, [CENTRE - subtomogram @ [4.0, 0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(transforms[0, :3, :3], subtomogram @ _rotation(0.0, 30.0, 0.0), atol=1e-12)


def _pixel_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rlnCoordinateX": [10.0, 20.0],
            "rlnCoordinateY": [1.0, 2.0],
            "rlnCoordinateZ": [5.0, 0.0],
            "rlnOpticsGroup": [1, 2],
            "rlnCenteredCoordinateXAngst": [0.0, 0.0],
            "rlnCenteredCoordinateYAngst": [0.0, 0.0],
            "rlnCenteredCoordinateZAngst": [0.0, 0.0],
        }
    )


PIXELS = np.array([[10.0, 1.0, 5.0], [20.0, 2.0, 0.0]])
OPTICS = pd.DataFrame({"rlnOpticsGroup": [1, 2], "rlnTomoTiltSeriesPixelSize": [1.5, 3.0]})


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, np.tile(CENTRE, (2, 1))),  # RELION 5 centred coordinates win when the centre is known
        ({"tomogram_center": (1.0, 2.0, 3.0)}, np.tile([1.0, 2.0, 3.0], (2, 1))),
        ({"relion_version": "relion4", "tilt_series_pixel_size": 2.0}, PIXELS * 2.0),
        ({"relion_version": "relion4", "optics": OPTICS}, PIXELS * [[1.5], [3.0]]),
        ({"relion_version": "relion4", "optics": OPTICS.iloc[:1]}, PIXELS * 1.5),
        ({"relion_version": "relion4", "optics": OPTICS, "tilt_series_pixel_size": 0.5}, PIXELS * 0.5),
        ({"relion_version": "relion4"}, PIXELS * 10.0),  # pixels of the run's smallest voxel size, with a warning
        ({"relion_version": "relion5"}, np.tile(CENTRE, (2, 1))),
    ],
)
def test_from_df_keywords_choose_how_coordinates_are_read(run, kwargs, expected):
    picks = run.new_picks("ribosome", "2", "alice")
    picks.from_df(_pixel_frame(), **kwargs)
    np.testing.assert_allclose(picks.numpy()[0], expected, atol=1e-12)


def test_from_df_needs_the_centre_for_relion5_coordinates(root):
    run = root.new_run("TS_002")
    run.new_voxel_spacing(10.0)
    picks = run.new_picks("ribosome", "1", "alice")
    with pytest.raises(ValueError, match="tomogram_center"):
        picks.from_df(_pixel_frame(), relion_version="relion5")
    centred_only = _pixel_frame().drop(columns=["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"])
    with pytest.raises(ValueError, match="tomogram_center"):
        picks.from_df(centred_only)
    picks.from_df(centred_only, tomogram_center=(5.0, 5.0, 5.0))
    np.testing.assert_allclose(picks.numpy()[0], [[5.0, 5.0, 5.0]] * 2)


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"rlnAngleRot": [0.0]}), {}, "RELION columns"),
        (pd.DataFrame({"rlnCoordinateX": [0.0], "rlnCoordinateY": [0.0]}), {}, "RELION columns"),
        ({"rlnCoordinateX": [0.0]}, {}, "DataFrame"),
        (_pixel_frame(), {"relion_version": "relion3"}, "RELION version"),
        (_pixel_frame().iloc[:, :4], {"relion_version": "relion5"}, "rlnCenteredCoordinate"),
        (_pixel_frame(), {"relion_version": "relion4", "optics": OPTICS.assign(rlnOpticsGroup=[5, 6])}, "optics"),
        (_pixel_frame().drop(columns=["rlnOpticsGroup"]), {"relion_version": "relion4", "optics": OPTICS}, "optics"),
        (_pixel_frame().assign(rlnAngleRot=np.nan, rlnAngleTilt=0.0, rlnAnglePsi=0.0), {}, "transforms"),
    ],
)
def test_from_df_refuses_a_bad_frame_and_keeps_the_points(run, frame, kwargs, message):
    picks = _picks(run)
    before = picks.numpy()
    with pytest.raises(ValueError, match=message):
        picks.from_df(frame, **kwargs)
    np.testing.assert_array_equal(picks.numpy()[0], before[0])


def test_from_df_without_any_pixel_size_raises_valueerror(root):
    picks = root.new_run("TS_002").new_picks("ribosome", "1", "alice")
    frame = _pixel_frame().iloc[:, :4]
    with pytest.raises(ValueError, match="tilt_series_pixel_size"):
        picks.from_df(frame)


def test_from_df_on_a_read_only_root_raises_permissionerror_and_changes_nothing(run, reopen):
    frame = _picks(run).df(tomogram_center=(0.0, 0.0, 0.0))
    read_only = reopen(read_only=True)
    picks = _picks(read_only.get_run("TS_001"))
    with pytest.raises(PermissionError):
        picks.from_df(frame)
    np.testing.assert_array_equal(picks.numpy()[0], LOCATIONS)
    np.testing.assert_array_equal(_picks(reopen().get_run("TS_001")).numpy()[0], LOCATIONS)


def test_df_works_on_a_read_only_root(run, reopen):
    expected = _picks(run).df()
    pd.testing.assert_frame_equal(_picks(reopen(read_only=True).get_run("TS_001")).df(), expected)


# -- format and pandas ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["star", "RELION", "csv", None])
def test_other_formats_raise_valueerror_naming_the_supported_one(run, format):
    picks = _picks(run)
    frame = picks.df()
    with pytest.raises(ValueError, match="'relion'"):
        picks.df(format=format)
    with pytest.raises(ValueError, match="'relion'"):
        picks.from_df(frame, format=format)


def test_without_pandas_both_raise_importerror_saying_how_to_install_it(run, monkeypatch):
    picks = _picks(run)
    frame = picks.df()
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes ``import pandas`` fail
    with pytest.raises(ImportError, match=r"pip install 'copick-db\[pandas\]'"):
        picks.df()
    with pytest.raises(ImportError, match=r"pip install 'copick-db\[pandas\]'"):
        picks.from_df(frame)
    np.testing.assert_array_equal(picks.numpy()[0], LOCATIONS)
