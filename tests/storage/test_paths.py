"""Behaviour of copick_db.storage.paths: copick's layout, safe names, and no escape from the data root."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from copick_db.storage import paths

# -- voxel sizes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(10.0, "10.000"), (7.5, "7.500"), (10.0125, "10.012"), (10.0135, "10.014"), (1.0005, "1.000"), (13.48, "13.480")],
)
def test_format_voxel_size_rounds_like_copick(value: float, text: str) -> None:
    assert paths.format_voxel_size(value) == text


def test_format_voxel_size_accepts_ints_and_numpy_floats() -> None:
    assert paths.format_voxel_size(10) == "10.000"
    assert paths.format_voxel_size(np.float32(10.012)) == "10.012"
    assert paths.format_voxel_size(np.float64(7.84)) == "7.840"


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, 0.0004, float("nan"), float("inf"), "10.0", None, True])
def test_format_voxel_size_rejects_non_positive_or_non_numeric_values(bad: object) -> None:
    with pytest.raises(ValueError, match="voxel size"):
        paths.format_voxel_size(bad)  # type: ignore[arg-type]


def test_voxel_key_is_the_integer_the_formatted_string_denotes() -> None:
    assert paths.voxel_key(10.0125) == 10012
    assert paths.voxel_key(10.0135) == 10014
    assert paths.voxel_key(10.0) == 10000
    assert paths.voxel_key(0.5) == 500


def test_voxel_key_agrees_with_format_voxel_size_for_random_sizes() -> None:
    rng = random.Random(1234)
    for _ in range(5000):
        value = rng.uniform(0.001, 100.0)
        if rng.random() < 0.5:  # many values exactly on a half-thousandth, where rounding is delicate
            value = round(value * 2000) / 2000 or 0.5
        key = paths.voxel_key(value)
        assert key == int(paths.format_voxel_size(value).replace(".", ""))
        assert paths.format_voxel_size(key / 1000) == paths.format_voxel_size(value)


def test_equal_formatted_sizes_share_a_key_and_a_directory() -> None:
    assert paths.voxel_key(10.0121) == paths.voxel_key(10.0119)
    assert paths.voxel_spacing_dir("r", 10.0121) == paths.voxel_spacing_dir("r", 10.0119)


# -- components --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["TS_001", "ribosome", "a-b.c", ".hidden", "é" * 127, "x" * 255, "名前"])
def test_check_component_returns_valid_names_unchanged(good: str) -> None:
    assert paths.check_component(good, "run name") is good


@pytest.mark.parametrize(
    "bad",
    ["", ".", "..", "a/b", "/abs", "a\\b", "a\x00b", "line\nbreak", "tab\t", "del\x7f", "c1\x85", "x" * 256, "é" * 128],
)
def test_check_component_rejects_unsafe_names(bad: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        paths.check_component(bad, "user id")
    message = str(excinfo.value)
    assert "user id" in message
    assert repr(bad) in message
    assert "allowed" in message


@pytest.mark.parametrize("bad", [None, 3, b"bytes", Path("x")])
def test_check_component_rejects_non_strings(bad: object) -> None:
    with pytest.raises(ValueError, match="session id must be a string"):
        paths.check_component(bad, "session id")  # type: ignore[arg-type]


# -- layout ------------------------------------------------------------------------------------------------------


def test_paths_follow_copicks_layout() -> None:
    assert paths.run_dir("TS_001") == "ExperimentRuns/TS_001"
    assert paths.voxel_spacing_dir("TS_001", 10.0) == "ExperimentRuns/TS_001/VoxelSpacing10.000"
    assert paths.tomogram_path("TS_001", 10.0, "wbp") == "ExperimentRuns/TS_001/VoxelSpacing10.000/wbp.zarr"
    assert (
        paths.features_path("TS_001", 10.0, "wbp", "edge")
        == "ExperimentRuns/TS_001/VoxelSpacing10.000/wbp_edge_features.zarr"
    )
    assert paths.picks_path("TS_001", "test.user", "1234", "ribosome") == (
        "ExperimentRuns/TS_001/Picks/test.user_1234_ribosome.json"
    )
    assert paths.mesh_path("TS_001", "membrain", "0", "membrane") == (
        "ExperimentRuns/TS_001/Meshes/membrain_0_membrane.glb"
    )
    assert paths.segmentation_path("TS_001", 10.0, "cellcanvas", "0", "prediction", True) == (
        "ExperimentRuns/TS_001/Segmentations/10.000_cellcanvas_0_prediction-multilabel.zarr"
    )
    assert paths.segmentation_path("TS_001", 20.0, "membrain", "0", "membrane", False) == (
        "ExperimentRuns/TS_001/Segmentations/20.000_membrain_0_membrane.zarr"
    )
    assert paths.object_path("proteasome") == "Objects/proteasome.zarr"


def test_voxel_spacing_directory_uses_three_decimals() -> None:
    assert paths.voxel_spacing_dir("r", 10.0125) == "ExperimentRuns/r/VoxelSpacing10.012"
    assert paths.segmentation_path("r", 7.84, "u", "s", "n", False).endswith("/7.840_u_s_n.zarr")


BUILDERS = {
    "run_dir": lambda bad: paths.run_dir(bad),
    "voxel_spacing_dir": lambda bad: paths.voxel_spacing_dir(bad, 10.0),
    "tomogram_path": lambda bad: paths.tomogram_path("r", 10.0, bad),
    "features_path/tomo": lambda bad: paths.features_path("r", 10.0, bad, "f"),
    "features_path/feature": lambda bad: paths.features_path("r", 10.0, "t", bad),
    "picks_path/run": lambda bad: paths.picks_path(bad, "u", "s", "o"),
    "picks_path/user": lambda bad: paths.picks_path("r", bad, "s", "o"),
    "picks_path/session": lambda bad: paths.picks_path("r", "u", bad, "o"),
    "picks_path/object": lambda bad: paths.picks_path("r", "u", "s", bad),
    "mesh_path/object": lambda bad: paths.mesh_path("r", "u", "s", bad),
    "mesh_path/user": lambda bad: paths.mesh_path("r", bad, "s", "o"),
    "segmentation_path/name": lambda bad: paths.segmentation_path("r", 10.0, "u", "s", bad, False),
    "segmentation_path/session": lambda bad: paths.segmentation_path("r", 10.0, "u", bad, "n", True),
    "object_path": lambda bad: paths.object_path(bad),
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("bad", ["..", ".", "", "a/../../etc", "a\\b", "nul\x00", "x" * 256])
def test_every_path_builder_rejects_unsafe_components(builder: str, bad: str) -> None:
    with pytest.raises(ValueError):
        BUILDERS[builder](bad)


def test_path_builders_reject_assembled_file_names_longer_than_255_bytes() -> None:
    part = "x" * 100
    with pytest.raises(ValueError, match="file name"):
        paths.picks_path("r", part, part, part)
    with pytest.raises(ValueError, match="file name"):
        paths.tomogram_path("r", 10.0, "x" * 252)


def test_path_builders_reject_bad_voxel_sizes() -> None:
    with pytest.raises(ValueError):
        paths.tomogram_path("r", float("nan"), "wbp")
    with pytest.raises(ValueError):
        paths.segmentation_path("r", -1.0, "u", "s", "n", False)


# -- resolve -----------------------------------------------------------------------------------------------------


def test_resolve_joins_under_the_absolute_data_root(tmp_path: Path) -> None:
    relative = paths.tomogram_path("TS_001", 10.0, "wbp")
    assert paths.resolve(tmp_path, relative) == tmp_path / "ExperimentRuns/TS_001/VoxelSpacing10.000/wbp.zarr"
    assert paths.resolve(tmp_path, "a/./b//c") == tmp_path / "a/b/c"
    assert paths.resolve(tmp_path, "a/../b") == tmp_path / "b"
    assert paths.resolve(tmp_path, "") == tmp_path


def test_resolve_makes_a_relative_data_root_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = paths.resolve(Path("data"), "Objects/x.zarr")
    assert result.is_absolute()
    assert result == tmp_path / "data" / "Objects" / "x.zarr"


@pytest.mark.parametrize("bad", ["/etc/passwd", "..", "../x", "a/../../x", "a/b/../../../x", "./../x"])
def test_resolve_rejects_absolute_and_escaping_paths(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match=r"absolute|leaves the data root"):
        paths.resolve(tmp_path, bad)


@pytest.mark.parametrize("bad", ["a\x00b", "a\\..\\..\\x"])
def test_resolve_rejects_nul_and_backslashes(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="NUL or a backslash"):
        paths.resolve(tmp_path, bad)


def test_resolve_rejects_non_strings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be a string"):
        paths.resolve(tmp_path, Path("a"))  # type: ignore[arg-type]


def test_resolve_is_lexical_and_does_not_follow_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "ExperimentRuns").mkdir(parents=True)
    (root / "ExperimentRuns" / "linked").symlink_to(outside, target_is_directory=True)
    result = paths.resolve(root, "ExperimentRuns/linked/Picks/u_s_o.json")
    assert result == root / "ExperimentRuns/linked/Picks/u_s_o.json"
    with pytest.raises(ValueError):
        paths.resolve(root, "ExperimentRuns/../../outside")


# -- parsing: what a name found in a copick project stands for -------------------------------------------------------


def test_every_path_built_here_parses_back_to_the_identity_it_was_built_from() -> None:
    tomo = paths.tomogram_path("TS_001", 10.0125, "wbp").split("/")
    assert paths.parse_run_name(tomo[1]) == "TS_001"
    assert paths.format_voxel_size(paths.parse_voxel_spacing_dir(tomo[2])) == "10.012"
    assert paths.parse_tomogram_name(tomo[3]) == "wbp"
    features = paths.features_path("TS_001", 10.0, "wbp", "sobel").rsplit("/", 1)[1]
    assert paths.parse_features_name(features) == ("wbp", "sobel")
    owned = paths.OwnedName("alice", "1", "ribosome")
    assert paths.parse_picks_name(paths.picks_path("r", "alice", "1", "ribosome").rsplit("/", 1)[1]) == owned
    assert paths.parse_mesh_name(paths.mesh_path("r", "alice", "1", "ribosome").rsplit("/", 1)[1]) == owned
    assert paths.parse_filaments_name(paths.filaments_path("r", "alice", "1", "ribosome").rsplit("/", 1)[1]) == owned
    assert paths.parse_object_map_name(paths.object_path("ribosome").rsplit("/", 1)[1]) == "ribosome"


@pytest.mark.parametrize("kind", ["binary", "multilabel", "instance", "panoptic"])
def test_a_segmentation_path_parses_back_to_its_type_in_the_directory_copick_keeps_it_in(kind: str) -> None:
    flags = {f"is_{kind}": True} if kind != "binary" else {}
    _, _, directory, name = paths.typed_segmentation_path("r", 10.0, "alice", "1", "membrane", **flags).split("/")
    assert directory == paths.segmentation_directory(kind)
    parsed = paths.parse_segmentation_name(name, directory)
    assert (parsed.voxel_size, parsed.user_id, parsed.session_id, parsed.name) == (10.0, "alice", "1", "membrane")
    assert (parsed.is_multilabel, parsed.is_instance, parsed.is_panoptic) == (
        kind == "multilabel",
        kind == "instance",
        kind == "panoptic",
    )


@pytest.mark.parametrize(
    ("parse", "name", "reason"),
    [
        (paths.parse_voxel_spacing_dir, "VoxelSpacing10", "three decimals"),
        (paths.parse_picks_name, "a_b_c_d.json", "more than three"),
        (paths.parse_features_name, "wbp_features.zarr", "1 '_'-separated part"),
        (paths.parse_tomogram_name, "my-features.zarr", "copick ignores"),
    ],
)
def test_a_name_copick_would_not_find_again_is_refused_with_the_reason(parse, name: str, reason: str) -> None:
    with pytest.raises(paths.SourceError, match=reason):
        parse(name)


def test_the_data_globs_cover_every_run_level_volume_and_mesh_directory() -> None:
    covered = {pattern.split("/")[0] for pattern in paths.RUN_DATA_GLOBS}
    assert covered == {f"{paths.VOXEL_SPACING_PREFIX}*", paths.MESHES_DIR, *paths.SEGMENTATION_DIRS}
    assert set(paths.SEGMENTATION_DIRECTORIES.values()) == set(paths.SEGMENTATION_DIRS)
