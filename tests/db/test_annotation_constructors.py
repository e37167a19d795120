"""Constructors that accept both the spec's and copick's argument forms (conflicts C3 and C12)."""

from __future__ import annotations

import pytest
import trimesh

from copick_db.models import CopickConfig, CopickMeshMeta, CopickPicksFile
from copick_db.models.filaments import CopickFilamentsFile


@pytest.fixture
def run(root):
    return root.new_run("TS_001")


def _picks_file() -> CopickPicksFile:
    return CopickPicksFile(pickable_object_name="ribosome", user_id="alice", session_id="1", points=[])


def test_picks_take_copicks_file_keyword_or_the_specs_meta(run):
    cls, _ = run._picks_factory()
    meta = _picks_file()
    assert cls(run, file=meta).meta is meta
    assert cls(run, meta).meta is meta
    assert cls(run, meta).pickable_object_name == "ribosome"


@pytest.mark.parametrize("both", [True, False])
def test_picks_need_exactly_one_of_meta_and_file(run, both):
    cls, _ = run._picks_factory()
    with pytest.raises(TypeError, match="exactly one of meta= or file="):
        cls(run, _picks_file(), file=_picks_file()) if both else cls(run)


def test_filament_sets_need_exactly_one_of_meta_and_file(run):
    cls, _ = run._filaments_factory()
    meta = CopickFilamentsFile(pickable_object_name="ribosome", user_id="alice", session_id="1")
    assert cls(run, file=meta).meta is meta
    with pytest.raises(TypeError, match="exactly one of meta= or file="):
        cls(run)


def test_a_mesh_takes_a_config_or_a_mesh_as_third_argument(run):
    cls, _ = run._mesh_factory()
    meta = CopickMeshMeta(pickable_object_name="membrane", user_id="alice", session_id="1")
    config = CopickConfig(pickable_objects=[], user_id="carol")
    assert cls(run, meta, config).config is config
    box = trimesh.creation.box()
    assert len(cls(run, meta, box).mesh.faces) == 12
    assert len(cls(run, meta, trimesh.Scene([box])).mesh.faces) == 12


def test_pick_and_filament_sets_name_their_file_in_copicks_layout(root):
    run = root.new_run("TS_1")
    picks = run.new_picks("ribosome", "1", "alice")
    data = root.data.default_store.locate("")
    assert picks.path == data / "ExperimentRuns" / "TS_1" / "Picks" / "alice_1_ribosome.json"
    assert run.new_picks("ribosome", "1", "alice", exist_ok=True).path == picks.path
    filaments = run.new_filaments("ribosome", "2", "bob")
    assert filaments.path == data / "ExperimentRuns" / "TS_1" / "Filaments" / "bob_2_ribosome.json"
