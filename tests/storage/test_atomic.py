"""Behaviour of copick_db.storage.atomic: staged replacement, rollback, removal and leftover detection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from copick_db.storage import atomic


def _write_dir(path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)


def _tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


# -- temporary names ---------------------------------------------------------------------------------------------


def test_temporary_sibling_is_a_hidden_unique_name_in_the_same_directory(tmp_path: Path) -> None:
    target = tmp_path / "wbp.zarr"
    first = atomic.temporary_sibling(target)
    second = atomic.temporary_sibling(target)
    assert first != second
    assert first.parent == tmp_path
    assert first.name.startswith(".wbp.zarr.tmp-")
    assert f"-{os.getpid()}-" in first.name
    assert atomic.is_temporary(first.name)
    assert not first.exists()


def test_temporary_sibling_uses_the_tag(tmp_path: Path) -> None:
    trash = atomic.temporary_sibling(tmp_path / "x.glb", "trash")
    assert trash.name.startswith(".x.glb.trash-")
    assert atomic.is_temporary(trash.name)


@pytest.mark.parametrize("bad", ["", "a-b", "a.b", "a/b", None])
def test_temporary_sibling_rejects_bad_tags(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="tag"):
        atomic.temporary_sibling(tmp_path / "x", bad)  # type: ignore[arg-type]


def test_temporary_sibling_of_a_255_byte_name_still_fits_a_file_name(tmp_path: Path) -> None:
    target = tmp_path / ("é" * 127 + "x")
    sibling = atomic.temporary_sibling(target)
    assert len(os.fsencode(sibling.name)) <= 255
    assert atomic.is_temporary(sibling.name)
    sibling.write_text("ok")  # the filesystem accepts it


@pytest.mark.parametrize(
    "name", ["wbp.zarr", ".meta", ".zgroup", ".zattrs", ".x.tmp", ".x.tmp-12-xyz", "x.tmp-1-abcdef01"]
)
def test_is_temporary_is_false_for_ordinary_names(name: str) -> None:
    assert not atomic.is_temporary(name)


# -- staged ------------------------------------------------------------------------------------------------------


def test_staged_creates_a_missing_file_and_its_parents(tmp_path: Path) -> None:
    target = tmp_path / "Picks" / "deep" / "u_s_o.json"
    with atomic.staged(target) as tmp:
        assert tmp.parent == target.parent
        assert not tmp.exists()
        tmp.write_text("new")
        assert not target.exists()  # nothing is visible before the block ends
    assert target.read_text() == "new"
    assert atomic.find_leftovers(tmp_path) == []


def test_staged_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "mesh.glb"
    target.write_text("old")
    with atomic.staged(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.glb"]


def test_staged_replaces_an_existing_directory_completely(tmp_path: Path) -> None:
    target = tmp_path / "wbp.zarr"
    _write_dir(target, {".zgroup": "old", "0/.zarray": "old", "1/.zarray": "old level"})
    with atomic.staged(target) as tmp:
        _write_dir(tmp, {".zgroup": "new", "0/.zarray": "new"})
        assert _tree(target)["1/.zarray"] == "old level"
    assert _tree(target) == {".zgroup": "new", "0/.zarray": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wbp.zarr"]


def test_staged_replaces_a_file_with_a_directory_and_back(tmp_path: Path) -> None:
    target = tmp_path / "thing"
    target.write_text("file")
    with atomic.staged(target) as tmp:
        _write_dir(tmp, {"a": "dir"})
    assert _tree(target) == {"a": "dir"}
    with atomic.staged(target) as tmp:
        tmp.write_text("file again")
    assert target.read_text() == "file again"
    assert atomic.find_leftovers(tmp_path) == []


class Boom(Exception):
    pass


def test_staged_rolls_back_on_exception_and_keeps_the_old_directory(tmp_path: Path) -> None:
    target = tmp_path / "seg.zarr"
    _write_dir(target, {"0/.zarray": "old"})
    with pytest.raises(Boom), atomic.staged(target) as tmp:
        _write_dir(tmp, {"0/.zarray": "half written"})
        raise Boom
    assert _tree(target) == {"0/.zarray": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.zarr"]


def test_staged_rolls_back_on_keyboard_interrupt(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic.staged(target) as tmp:
        tmp.write_text("partial")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert atomic.find_leftovers(tmp_path) == []


def test_staged_rollback_without_a_previous_target_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.zarr"
    with pytest.raises(Boom), atomic.staged(target) as tmp:
        tmp.mkdir()
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_staged_raises_when_nothing_was_written_and_keeps_the_target(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(FileNotFoundError, match="nothing was written"), atomic.staged(target):
        pass
    assert target.read_text() == "old"


def test_staged_restores_the_old_directory_when_the_final_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "wbp.zarr"
    _write_dir(target, {"0/.zarray": "old"})
    real_rename = os.rename

    def failing_rename(src: os.PathLike, dst: os.PathLike) -> None:
        if Path(dst) == target and Path(src).name.startswith(".wbp.zarr.tmp-"):
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(atomic, "exchange", lambda first, second: False)  # the two-rename path (e.g. on NFS)
    monkeypatch.setattr(atomic.os, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"), atomic.staged(target) as tmp:
        _write_dir(tmp, {"0/.zarray": "new"})
    assert _tree(target) == {"0/.zarray": "old"}
    assert atomic.find_leftovers(tmp_path) == []


def test_a_crash_between_the_two_renames_leaves_the_old_version_in_a_detectable_trash(tmp_path: Path) -> None:
    # Simulate the state a process killed between "target -> trash" and "tmp -> target" leaves behind.
    target = tmp_path / "ExperimentRuns" / "r" / "VoxelSpacing10.000" / "wbp.zarr"
    _write_dir(target, {"0/.zarray": "old"})
    trash = atomic.temporary_sibling(target, "trash")
    os.rename(target, trash)
    staged_tmp = atomic.temporary_sibling(target)
    _write_dir(staged_tmp, {"0/.zarray": "new"})
    assert atomic.find_leftovers(tmp_path) == sorted([trash, staged_tmp])
    assert _tree(trash) == {"0/.zarray": "old"}


# -- remove_path -------------------------------------------------------------------------------------------------


def test_remove_path_removes_files_directories_and_ignores_missing_paths(tmp_path: Path) -> None:
    file = tmp_path / "a.json"
    file.write_text("x")
    directory = tmp_path / "b.zarr"
    _write_dir(directory, {"0/0/0/0": "chunk", ".zgroup": "{}"})
    atomic.remove_path(file)
    atomic.remove_path(directory)
    atomic.remove_path(tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


def test_remove_path_removes_a_symlink_but_not_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    _write_dir(real, {"keep": "me"})
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    atomic.remove_path(link)
    assert not os.path.lexists(link)
    assert _tree(real) == {"keep": "me"}
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    atomic.remove_path(dangling)
    assert not os.path.lexists(dangling)


def test_remove_path_moves_the_directory_away_before_deleting_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "seg.zarr"
    _write_dir(directory, {"0/.zarray": "x"})
    seen: list[Path] = []

    def failing_rmtree(path: os.PathLike, *args: object, **kwargs: object) -> None:
        seen.append(Path(path))
        raise PermissionError("busy")

    monkeypatch.setattr(atomic.shutil, "rmtree", failing_rmtree)
    with pytest.warns(RuntimeWarning, match="could not delete"):
        atomic.remove_path(directory)
    assert not directory.exists()  # gone from its live path even though the delete failed
    assert atomic.find_leftovers(tmp_path) == seen
    assert atomic.is_temporary(seen[0].name)


# -- find_leftovers ----------------------------------------------------------------------------------------------


def test_find_leftovers_reports_temporaries_anywhere_without_descending_into_them(tmp_path: Path) -> None:
    run = tmp_path / "ExperimentRuns" / "TS_001"
    vs = run / "VoxelSpacing10.000"
    vs.mkdir(parents=True)
    (run / ".meta").write_text("meta")
    (vs / "wbp.zarr").mkdir()
    tmp_dir = atomic.temporary_sibling(vs / "denoised.zarr")
    _write_dir(tmp_dir, {".zgroup": "{}", "0/.zarray": "{}"})
    trash_file = atomic.temporary_sibling(run / "Meshes" / "u_s_o.glb", "trash")
    trash_file.parent.mkdir()
    trash_file.write_text("old mesh")
    assert atomic.find_leftovers(tmp_path) == sorted([tmp_dir, trash_file])


def test_find_leftovers_skips_store_internals_unless_asked(tmp_path: Path) -> None:
    store = tmp_path / "wbp.zarr"
    store.mkdir()
    inner = atomic.temporary_sibling(store / "0")
    inner.write_text("x")
    assert atomic.find_leftovers(tmp_path) == []
    assert atomic.find_leftovers(tmp_path, inside_stores=True) == [inner]


def test_find_leftovers_of_a_missing_root_is_empty(tmp_path: Path) -> None:
    assert atomic.find_leftovers(tmp_path / "missing") == []
