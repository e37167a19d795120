"""Creating, opening and pointing at projects: copick_db.create / open / from_file."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import copick_db
from copick_db.catalog.schema import SCHEMA_VERSION
from copick_db.errors import NotACatalogError, SchemaOutdatedError, SchemaTooNewError

VOLUME = np.arange(16 * 18 * 20, dtype=np.float32).reshape(16, 18, 20)


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in Path(directory).rglob("*"))


def _data_dir(root) -> Path:
    return root.data.directories[root.data.default_id]


def _set_schema_version(catalog: Path, version: str) -> None:
    con = sqlite3.connect(catalog)
    with con:
        con.execute("UPDATE alembic_version SET version_num = ?", (version,))
    con.close()


def _schema_version(catalog: Path) -> str:
    con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        con.close()


def _fill(root) -> None:
    """One run with a tomogram holding VOLUME."""
    tomogram = root.new_run("TS_001").new_voxel_spacing(10.0).new_tomogram("wbp")
    tomogram.from_numpy(VOLUME, levels=2)


def _read_back(root) -> np.ndarray:
    return root.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp").numpy()


# -- create ---------------------------------------------------------------------------------------------------


def test_create_returns_an_empty_project_with_the_config_settings(root):
    assert isinstance(root, copick_db.CopickRootDB)
    assert root.runs == []
    assert root.config.name == "test project"
    assert root.user_id == "alice"
    assert [o.name for o in root.pickable_objects] == ["ribosome", "proteasome", "membrane"]


def test_create_accepts_a_copick_json_config_path(tmp_path, config):
    path = tmp_path / "copick_config.json"
    path.write_text(json.dumps({"config_type": "filesystem", "overlay_root": "local:///nowhere", **config}))
    with copick_db.create(tmp_path / "p.sqlite", path) as root:
        assert root.get_object("ribosome").radius == 150.0


def test_create_on_an_existing_catalog_raises_file_exists_error_and_changes_nothing(root, catalog_path, config):
    root.new_run("TS_001")
    before = catalog_path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        copick_db.create(catalog_path, config)
    assert catalog_path.read_bytes() == before
    assert [r.name for r in root.runs] == ["TS_001"]


def test_create_with_overwrite_replaces_the_catalog_but_keeps_the_data_directory(tmp_path, config):
    catalog = tmp_path / "p.sqlite"
    with copick_db.create(catalog, config) as first:
        _fill(first)
        data = _data_dir(first)
    files = _files(data)
    with copick_db.create(catalog, {"name": "second", "pickable_objects": []}, overwrite=True) as second:
        assert second.runs == []
        assert second.config.name == "second"
        assert second.pickable_objects == []
    assert _files(data) == files
    with copick_db.open(catalog) as reopened:
        assert reopened.runs == []


def test_create_puts_the_data_root_beside_the_catalog_named_after_its_stem(root, catalog_path):
    expected = catalog_path.parent / "project.data"
    assert _data_dir(root) == expected
    assert expected.is_dir()


def test_create_records_the_default_data_root_relative_to_the_catalog(root, catalog_path):
    con = sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True)
    (path,) = con.execute("SELECT path FROM data_root").fetchone()
    con.close()
    assert path == "project.data"


@pytest.mark.parametrize("how", ["move", "copy"])
def test_a_project_folder_can_be_moved_or_copied_whole_and_reopened(tmp_path, config, how):
    folder = tmp_path / "project"
    with copick_db.create(folder / "p.sqlite", config, data_root=folder / "bulk") as root:
        _fill(root)
    target = tmp_path / "elsewhere" / "renamed"
    target.parent.mkdir()
    if how == "move":
        shutil.move(folder, target)
    else:
        shutil.copytree(folder, target)
    with copick_db.open(target / "p.sqlite") as moved:
        assert _data_dir(moved) == target / "bulk"
        np.testing.assert_array_equal(_read_back(moved), VOLUME)
        moved.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp").set_region(
            np.zeros((1, 1, 1)), x=slice(0, 1), y=slice(0, 1), z=slice(0, 1)
        )
        assert _read_back(moved)[0, 0, 0] == 0
    if how == "copy":  # the copy is independent of the original
        with copick_db.open(folder / "p.sqlite") as original:
            np.testing.assert_array_equal(_read_back(original), VOLUME)


def test_a_data_root_outside_the_project_folder_survives_moving_the_folder(tmp_path, config):
    folder = tmp_path / "project"
    outside = tmp_path / "scratch" / "bulk"
    with copick_db.create(folder / "p.sqlite", config, data_root=outside) as root:
        _fill(root)
    target = tmp_path / "a" / "b" / "project"
    target.parent.mkdir(parents=True)
    shutil.move(folder, target)
    with copick_db.open(target / "p.sqlite") as moved:
        assert _data_dir(moved) == outside
        np.testing.assert_array_equal(_read_back(moved), VOLUME)


@pytest.mark.parametrize("folder", ["with space", "50%", "per%20cent", "what?", "hash#tag", "ünïcode", "semi;colon"])
def test_catalog_paths_with_unusual_characters_name_exactly_that_file(tmp_path, config, folder):
    catalog = tmp_path / folder / "p.sqlite"
    with copick_db.create(catalog, config) as root:
        _fill(root)
        assert _data_dir(root) == tmp_path / folder / "p.data"
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]
    assert catalog.is_file()
    with copick_db.open(catalog) as again:
        np.testing.assert_array_equal(_read_back(again), VOLUME)


def test_open_with_data_root_uses_that_directory_for_the_default_root(tmp_path, config):
    with copick_db.create(tmp_path / "p.sqlite", config) as root:
        _fill(root)
    shutil.move(tmp_path / "p.data", tmp_path / "relocated")
    with copick_db.open(tmp_path / "p.sqlite", data_root=tmp_path / "relocated") as root:
        np.testing.assert_array_equal(_read_back(root), VOLUME)


def test_create_with_a_data_root_that_is_a_file_raises_and_leaves_no_catalog(tmp_path, config):
    (tmp_path / "afile").write_text("not a directory")
    with pytest.raises(NotADirectoryError):
        copick_db.create(tmp_path / "p.sqlite", config, data_root=tmp_path / "afile")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_create_with_overwrite_and_a_bad_data_root_keeps_the_old_catalog(root, catalog_path, config, tmp_path):
    root.new_run("TS_001")
    (tmp_path / "afile").write_text("not a directory")
    with pytest.raises(NotADirectoryError):
        copick_db.create(catalog_path, config, data_root=tmp_path / "afile", overwrite=True)
    with copick_db.open(catalog_path) as again:
        assert [r.name for r in again.runs] == ["TS_001"]


@pytest.mark.parametrize(
    "bad_config",
    [
        pytest.param(
            {"pickable_objects": [{"name": "a", "is_particle": True, "label": 1}, {"name": "a", "is_particle": False}]},
            id="duplicate-names",
        ),
        pytest.param(
            {
                "pickable_objects": [
                    {"name": "a", "is_particle": True, "label": 1},
                    {"name": "b", "is_particle": True, "label": 1},
                ]
            },
            id="duplicate-labels",
        ),
        pytest.param({"pickable_objects": [{"name": "my_object", "is_particle": True}]}, id="bad-object-name"),
        pytest.param({"pickable_objects": [{"name": "a/b", "is_particle": True}]}, id="object-name-with-slash"),
        pytest.param({"pickable_objects": [{"name": "..", "is_particle": True}]}, id="object-name-dot-dot"),
        pytest.param({"pickable_objects": [], "user_id": "bad user"}, id="bad-user-id"),
        pytest.param({"name": "no objects key"}, id="missing-pickable-objects"),
    ],
)
def test_create_with_an_invalid_config_raises_value_error_and_leaves_no_catalog(tmp_path, bad_config):
    catalog = tmp_path / "p.sqlite"
    with pytest.raises(ValueError):
        copick_db.create(catalog, bad_config)
    assert list(tmp_path.iterdir()) == []


# -- open -----------------------------------------------------------------------------------------------------


def test_open_sees_what_was_written_before(root, reopen):
    _fill(root)
    again = reopen()
    assert [r.name for r in again.runs] == ["TS_001"]
    np.testing.assert_array_equal(_read_back(again), VOLUME)
    assert again.config.name == "test project"


def test_open_on_a_missing_catalog_raises_file_not_found_error_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"copick_db\.create"):
        copick_db.open(tmp_path / "missing.sqlite")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kind", ["garbage", "empty", "other-app-sqlite", "other-alembic-app", "other-alembic-app-numbered"]
)
def test_open_on_a_file_that_is_not_a_catalog_raises_not_a_catalog_error_and_leaves_it_unchanged(tmp_path, kind):
    path = tmp_path / "file.sqlite"
    if kind == "garbage":
        path.write_bytes(bytes(range(256)) * 16)
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        con = sqlite3.connect(path)
        with con:
            con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
            con.execute("INSERT INTO notes (text) VALUES ('hello')")
            if kind.startswith("other-alembic-app"):  # another application that also uses alembic
                revision = "0001" if kind.endswith("numbered") else "ae1027a6acf"
                con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
                con.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        con.close()
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(NotACatalogError) as info:
            copick_db.open(path, read_only=read_only)
        assert isinstance(info.value, ValueError)
        assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.sqlite"]


def test_open_on_a_catalog_from_a_newer_copick_db_names_both_versions(root, catalog_path):
    root.close()
    _set_schema_version(catalog_path, "9999")
    before = catalog_path.read_bytes()
    with pytest.raises(SchemaTooNewError) as info:
        copick_db.open(catalog_path)
    message = str(info.value)
    assert "9999" in message
    assert re.search(rf"\b{SCHEMA_VERSION}\b", message)
    assert catalog_path.read_bytes() == before


@pytest.mark.parametrize("read_only", [False, True])
def test_open_on_an_older_catalog_says_to_run_copick_db_upgrade_and_does_not_migrate(root, catalog_path, read_only):
    root.close()
    _set_schema_version(catalog_path, str(SCHEMA_VERSION - 1))
    with pytest.raises(SchemaOutdatedError, match="copick-db upgrade"):
        copick_db.open(catalog_path, read_only=read_only)
    assert _schema_version(catalog_path) == str(SCHEMA_VERSION - 1)


def test_schema_errors_are_catalog_errors_not_database_tracebacks(root, catalog_path):
    root.close()
    _set_schema_version(catalog_path, "9999")
    with pytest.raises(copick_db.errors.CatalogError):
        copick_db.open(catalog_path)


# -- user and session ids --------------------------------------------------------------------------------------


def test_open_uses_the_catalog_user_id_unless_one_is_given(root, reopen):
    assert reopen().user_id == "alice"
    bob = reopen(user_id="bob", session_id="7")
    assert (bob.user_id, bob.session_id) == ("bob", "7")
    assert reopen().user_id == "alice"  # open() arguments are not stored in the catalog


@pytest.mark.parametrize("arguments", [{"user_id": "bad_user"}, {"session_id": "a b"}, {"user_id": ""}])
def test_open_with_an_invalid_user_or_session_id_raises_value_error(root, reopen, arguments):
    with pytest.raises(ValueError):
        reopen(**arguments)


# -- from_file --------------------------------------------------------------------------------------------------


def test_from_file_opens_a_pointer_config_with_a_relative_catalog_path(tmp_path, config):
    folder = tmp_path / "project"
    with copick_db.create(folder / "catalog" / "p.sqlite", config) as root:
        _fill(root)
    pointer = folder / "copick_db.json"
    pointer.write_text(json.dumps({"config_type": "copick_db", "catalog": "catalog/p.sqlite", "user_id": "carol"}))
    moved = tmp_path / "moved"
    shutil.move(folder, moved)
    with copick_db.from_file(moved / "copick_db.json") as root:
        assert root.user_id == "carol"
        np.testing.assert_array_equal(_read_back(root), VOLUME)


def test_from_file_keyword_arguments_win_over_the_pointer_file(tmp_path, config):
    with copick_db.create(tmp_path / "p.sqlite", config):
        pass
    pointer = tmp_path / "c.json"
    pointer.write_text(json.dumps({"config_type": "copick_db", "catalog": "p.sqlite", "user_id": "carol"}))
    with copick_db.from_file(pointer, user_id="dave", read_only=True) as root:
        assert root.user_id == "dave"
        assert root.read_only


def test_save_config_writes_a_pointer_that_from_file_opens(root, tmp_path):
    _fill(root)
    pointer = tmp_path / "pointer.json"
    root.save_config(str(pointer))
    assert json.loads(pointer.read_text())["config_type"] == "copick_db"
    with copick_db.from_file(pointer) as again:
        assert again.user_id == "alice"
        np.testing.assert_array_equal(_read_back(again), VOLUME)


def test_a_pointer_config_moves_with_its_project_folder(tmp_path, config):
    project = tmp_path / "project"
    root = copick_db.create(project / "catalog.sqlite", config)
    root.new_run("TS_001")
    root.save_config(str(project / "copick_db.json"))
    root.close()
    assert json.loads((project / "copick_db.json").read_text())["catalog"] == "catalog.sqlite"
    moved = tmp_path / "elsewhere"
    project.rename(moved)
    with copick_db.from_file(moved / "copick_db.json") as again:
        assert [r.name for r in again.runs] == ["TS_001"]


def test_from_file_with_a_copick_filesystem_config_raises_value_error(tmp_path, config):
    path = tmp_path / "filesystem.json"
    path.write_text(json.dumps({"config_type": "filesystem", "overlay_root": f"local://{tmp_path}", **config}))
    with pytest.raises(ValueError, match="copick_db"):
        copick_db.from_file(path)


@pytest.mark.parametrize("text", ["not json {", "[1, 2]", '{"config_type": "copick_db"}'])
def test_from_file_with_a_malformed_pointer_raises_value_error(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        copick_db.from_file(path)


def test_from_file_with_a_missing_config_or_catalog_raises_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        copick_db.from_file(tmp_path / "missing.json")
    pointer = tmp_path / "c.json"
    pointer.write_text(json.dumps({"config_type": "copick_db", "catalog": "missing.sqlite"}))
    with pytest.raises(FileNotFoundError):
        copick_db.from_file(pointer)


# -- read-only roots --------------------------------------------------------------------------------------------


def test_a_read_only_root_refuses_every_write_and_leaves_the_catalog_unchanged(root, reopen, snapshot):
    _fill(root)
    root.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp").new_features("sobel").from_numpy(
        np.ones((16, 18, 20))
    )
    root.get_object("ribosome").from_numpy(np.ones((8, 8, 8)), voxel_size=10.0)
    before = snapshot(root)

    ro = reopen(read_only=True)
    run = ro.get_run("TS_001")
    vs = run.get_voxel_spacing(10.0)
    tomogram = vs.get_tomogram("wbp")
    features = tomogram.get_features("sobel")
    ribosome = ro.get_object("ribosome")
    assert all(e.read_only for e in (ro, run, vs, tomogram, features, ribosome))

    writes = {
        "new_run": lambda: ro.new_run("TS_002"),
        "new_run exist_ok": lambda: ro.new_run("TS_001", exist_ok=True),
        "get_run creating": lambda: ro.get_run("TS_003", description="x"),
        "new_voxel_spacing": lambda: run.new_voxel_spacing(20.0),
        "new_tomogram": lambda: vs.new_tomogram("denoised"),
        "new_features": lambda: tomogram.new_features("gauss"),
        "tomogram.from_numpy": lambda: tomogram.from_numpy(np.zeros((16, 18, 20))),
        "tomogram.set_region": lambda: tomogram.set_region(np.zeros((16, 18, 20))),
        "features.from_numpy": lambda: features.from_numpy(np.zeros((16, 18, 20))),
        "features.set_region": lambda: features.set_region(np.zeros((16, 18, 20))),
        "features.delete": features.delete,
        "tomogram.delete": tomogram.delete,
        "vs.delete": vs.delete,
        "run.delete": run.delete,
        "delete_run": lambda: ro.delete_run("TS_001"),
        "new_object": lambda: ro.new_object("virus", is_particle=True),
        "new_object exist_ok": lambda: ro.new_object("ribosome", is_particle=True, radius=1.0, exist_ok=True),
        "object.from_numpy": lambda: ribosome.from_numpy(np.zeros((8, 8, 8)), voxel_size=10.0),
        "object.set_region": lambda: ribosome.set_region(np.zeros((8, 8, 8))),
        "object.delete": ribosome.delete,
    }
    for what, write in writes.items():
        with pytest.raises(PermissionError):
            write()
        assert snapshot(root) == before, what
    np.testing.assert_array_equal(_read_back(ro), VOLUME)
    assert [r.name for r in ro.runs] == ["TS_001"]


def test_a_read_only_root_still_reads_everything(root, reopen):
    _fill(root)
    ro = reopen(read_only=True)
    np.testing.assert_array_equal(_read_back(ro), VOLUME)
    assert ro.get_object("ribosome").radius == 150.0
