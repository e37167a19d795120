"""A behaviour suite any CopickRoot implementation can run.

Subclass :class:`CopickRootBehaviour` in a test module and implement :meth:`~CopickRootBehaviour.make_root` (and
:meth:`~CopickRootBehaviour.reopen`, if a fresh root on the same storage is made differently); pytest collects
every ``test_*`` method. The tests use only the public API of the spec and copick 1.x, so they hold a backend to
what users rely on: identity and duplicates, laziness and refresh, user/tool ownership, points that round-trip
exactly, volumes in ZYX order, read-only guards, and cross-run queries.

Example::

    from copick_db.testing import CopickRootBehaviour

    class TestMyBackend(CopickRootBehaviour):
        def make_root(self, tmp_path, config):
            return my_backend.create(tmp_path / "project", config)
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh

from copick_db.models import CopickLocation, CopickPoint, CopickRoot

#: The configuration every test starts from.
CONFIG: dict[str, Any] = {
    "name": "behaviour",
    "user_id": "alice",
    "session_id": "1",
    "pickable_objects": [
        {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150.0},
        {"name": "proteasome", "is_particle": True, "label": 2, "radius": 90.0},
        {"name": "membrane", "is_particle": False, "label": 3},
    ],
}


class CopickRootBehaviour:
    """Behaviour every CopickRoot backend must show. Subclass it and implement :meth:`make_root`."""

    def make_root(self, tmp_path: Path, config: dict[str, Any]) -> CopickRoot:
        """Create a new, empty project with ``config`` under ``tmp_path`` (implemented by the backend's tests)."""
        raise NotImplementedError

    def reopen(self, root: CopickRoot, **kwargs: Any) -> CopickRoot:
        """A fresh root (empty caches) on the same storage as ``root``; ``kwargs`` as for opening."""
        raise NotImplementedError

    @pytest.fixture
    def root(self, tmp_path: Path) -> CopickRoot:
        """A fresh project made by the backend."""
        return self.make_root(tmp_path, {**CONFIG, "pickable_objects": [dict(o) for o in CONFIG["pickable_objects"]]})

    @pytest.fixture
    def run(self, root: CopickRoot) -> Any:
        """A run with a 10 Å voxel spacing."""
        run = root.new_run("TS_001")
        run.new_voxel_spacing(10.0)
        return run

    # -- runs -------------------------------------------------------------------------------------------------

    def test_new_runs_are_listed_sorted_by_name(self, root):
        for name in ("TS_003", "TS_001", "TS_002"):
            root.new_run(name)
        assert [r.name for r in self.reopen(root).runs] == ["TS_001", "TS_002", "TS_003"]

    def test_duplicate_run_raises_value_error_unless_exist_ok(self, root):
        first = root.new_run("TS_001")
        with pytest.raises(ValueError, match="exist_ok"):
            root.new_run("TS_001")
        assert root.new_run("TS_001", exist_ok=True).name == first.name
        assert len(self.reopen(root).runs) == 1

    def test_get_run_returns_none_for_a_missing_run(self, root):
        assert root.get_run("nope") is None

    def test_get_run_on_a_fresh_root_does_not_load_every_run(self, root):
        root.new_run("TS_001")
        root.new_run("TS_002")
        fresh = self.reopen(root)
        assert fresh.get_run("TS_002").name == "TS_002"
        assert fresh._runs is None

    def test_refresh_makes_other_writers_visible(self, root):
        root.new_run("TS_001")
        assert len(root.runs) == 1
        self.reopen(root).new_run("TS_002")
        assert len(root.runs) == 1
        root.refresh()
        assert [r.name for r in root.runs] == ["TS_001", "TS_002"]

    def test_deleting_a_run_removes_everything_in_it(self, root, run):
        run.new_picks("ribosome", "1").from_numpy(np.ones((2, 3)))
        root.delete_run("TS_001")
        fresh = self.reopen(root)
        assert fresh.get_run("TS_001") is None
        assert fresh.get_picks() == []

    # -- voxel spacings and tomograms -------------------------------------------------------------------------

    def test_voxel_spacing_is_found_within_a_thousandth_of_an_angstrom(self, run):
        assert run.get_voxel_spacing(10.0004).voxel_size == 10.0
        assert run.get_voxel_spacing(10.01) is None

    def test_tomogram_round_trips_in_zyx_order(self, root, run):
        data = np.arange(8 * 12 * 16, dtype=np.float32).reshape(8, 12, 16)
        run.get_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(data)
        tomo = self.reopen(root).get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp")
        np.testing.assert_array_equal(tomo.numpy(), data)
        region = tomo.numpy(x=slice(0, 5), y=slice(2, 4), z=slice(1, 8))
        np.testing.assert_array_equal(region, data[1:8, 2:4, 0:5])
        assert tomo.numpy("1").shape == (4, 6, 8)

    def test_tomograms_across_runs_filter_by_type_and_voxel_size(self, root):
        for name in ("TS_001", "TS_002"):
            vs = root.new_run(name).new_voxel_spacing(10.0)
            vs.new_tomogram("wbp")
            vs.new_tomogram("denoised")
        found = root.get_tomograms("wbp", voxel_size=10.0)
        assert sorted((t.voxel_spacing.run.name, t.tomo_type) for t in found) == [("TS_001", "wbp"), ("TS_002", "wbp")]
        assert root.get_tomograms("wbp", voxel_size=20.0) == []

    # -- picks ------------------------------------------------------------------------------------------------

    def test_new_picks_defaults_to_the_roots_user(self, run):
        picks = run.new_picks("ribosome", "1")
        assert (picks.user_id, picks.session_id, picks.pickable_object_name) == ("alice", "1", "ribosome")
        assert picks.points == []

    def test_new_picks_for_an_unknown_object_raises_value_error(self, run):
        with pytest.raises(ValueError, match="Unknown object"):
            run.new_picks("nothing", "1")

    def test_duplicate_picks_raise_unless_exist_ok(self, run):
        first = run.new_picks("ribosome", "1")
        with pytest.raises(ValueError):
            run.new_picks("ribosome", "1")
        assert run.new_picks("ribosome", "1", exist_ok=True).identity == first.identity

    def test_new_picks_repairs_names_with_a_warning(self, run):
        with pytest.warns(UserWarning, match="sanitized"):
            picks = run.new_picks("ribosome", "my_session", user_id="bob_smith")
        assert (picks.user_id, picks.session_id) == ("bob-smith", "my-session")

    def test_points_scores_instance_ids_and_transforms_round_trip_exactly(self, root, run):
        positions = np.array([[1.25, 2.5, 3.75], [1e-7, 123456.789, 0.1], [4.0, 5.0, 6.0]])
        transforms = np.tile(np.eye(4), (3, 1, 1))
        transforms[1, :3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]
        transforms[1, :3, 3] = [0.5, -0.25, 7.0]
        picks = run.new_picks("ribosome", "1")
        picks.from_numpy(positions, transforms, instance_ids=[0, 7, 2], scores=[0.5, 1.0, 0.125])
        again = self.reopen(root).get_run("TS_001").get_picks("ribosome")[0]
        pos, tr = again.numpy()
        np.testing.assert_array_equal(pos, positions)
        np.testing.assert_array_equal(tr, transforms)
        np.testing.assert_array_equal(again.instance_ids, [0, 7, 2])
        np.testing.assert_array_equal(again.scores, [0.5, 1.0, 0.125])
        assert again.points[1].transformation_ == transforms[1].tolist()

    def test_points_set_as_objects_store_and_reload(self, root, run):
        picks = run.new_picks("ribosome", "1")
        picks.points = [CopickPoint(location=CopickLocation(x=1, y=2, z=3), score=None, instance_id=None)]
        picks.store()
        again = self.reopen(root).get_run("TS_001").get_picks("ribosome")[0]
        point = again.points[0]
        assert (point.location.x, point.location.y, point.location.z) == (1.0, 2.0, 3.0)
        assert point.score is None and point.instance_id is None

    def test_to_numpy_gives_float32_points_and_no_scores_for_bare_from_numpy(self, run):
        picks = run.new_picks("ribosome", "1")
        picks.from_numpy(np.ones((4, 3)))
        points, scores = picks.to_numpy()
        assert points.dtype == np.float32 and points.shape == (4, 3)
        assert scores is None

    def test_from_numpy_tells_transforms_from_scores_by_shape(self, run):
        picks = run.new_picks("ribosome", "1")
        picks.from_numpy(np.zeros((2, 3)), np.array([[0.25], [0.75]]))
        np.testing.assert_allclose(picks.to_numpy()[1], [0.25, 0.75])
        picks.from_numpy(np.zeros((2, 3)), np.tile(np.eye(4), (2, 1, 1)))
        np.testing.assert_allclose(picks.to_numpy()[1], [1.0, 1.0])

    def test_from_numpy_with_store_false_only_sets(self, root, run):
        picks = run.new_picks("ribosome", "1")
        picks.from_numpy(np.ones((3, 3)), store=False)
        assert len(picks.numpy()[0]) == 3
        assert len(self.reopen(root).get_run("TS_001").get_picks("ribosome")[0].numpy()[0]) == 0

    @pytest.mark.parametrize(
        ("points", "extra", "match"),
        [
            (np.array([[np.nan, 0, 0]]), None, "finite"),
            (np.array([[np.inf, 0, 0]]), None, "finite"),
            (np.zeros((2, 2)), None, r"\(N, 3\)"),
            ([[0, 0, 0], [1, 1]], None, "ragged|numeric|shape"),
            (np.zeros((2, 3)), np.zeros((3, 4, 4)), "match"),
            (np.zeros((2, 3)), np.zeros((3,)), "match"),
            (np.zeros((1, 3)), np.array([[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]]]), "last row"),
        ],
    )
    def test_bad_points_raise_value_error_and_change_nothing(self, root, run, points, extra, match):
        picks = run.new_picks("ribosome", "1")
        picks.from_numpy(np.full((2, 3), 5.0))
        with pytest.raises(ValueError, match=match):
            picks.from_numpy(points, extra)
        stored = self.reopen(root).get_run("TS_001").get_picks("ribosome")[0].numpy()[0]
        np.testing.assert_array_equal(stored, np.full((2, 3), 5.0))

    def test_an_integer_session_id_is_rejected(self, run):
        with pytest.raises(ValueError, match="string"):
            run.new_picks("ribosome", 0)

    def test_store_does_nothing_until_points_are_loaded_or_set(self, root, run):
        run.new_picks("ribosome", "1").from_numpy(np.ones((2, 3)))
        untouched = self.reopen(root).get_run("TS_001").get_picks("ribosome")[0]
        untouched.store()
        assert len(self.reopen(root).get_run("TS_001").get_picks("ribosome")[0].numpy()[0]) == 2

    def test_user_and_tool_picks_follow_user_or_session_zero(self, run):
        run.new_picks("ribosome", "1")
        run.new_picks("ribosome", "0", user_id="picker")
        run.new_picks("proteasome", "7", user_id="0")
        assert [(p.user_id, p.session_id) for p in run.user_picks()] == [("alice", "1")]
        assert sorted((p.user_id, p.session_id) for p in run.tool_picks()) == [("0", "7"), ("picker", "0")]

    def test_picks_filters_accept_one_value_or_several(self, run):
        run.new_picks("ribosome", "1")
        run.new_picks("ribosome", "1", user_id="bob")
        run.new_picks("proteasome", "1", user_id="carol")
        assert len(run.get_picks(user_id="bob")) == 1
        assert len(run.get_picks(user_id=["alice", "bob"])) == 2
        assert len(run.get_picks(object_name="ribosome", user_id=("carol",))) == 0

    def test_picks_across_runs_come_bound_to_their_runs(self, root):
        for name in ("TS_001", "TS_002", "TS_003"):
            root.new_run(name).new_picks("ribosome", "1").from_numpy(np.ones((2, 3)))
        root.get_run("TS_002").new_picks("proteasome", "1")
        found = root.get_picks(object_name="ribosome")
        assert [p.run.name for p in found] == ["TS_001", "TS_002", "TS_003"]
        assert all(len(p.to_numpy()[0]) == 2 for p in found)
        assert [p.run.name for p in root.get_picks(runs=["TS_002"])] == ["TS_002", "TS_002"]

    def test_deleting_picks_removes_them(self, root, run):
        run.new_picks("ribosome", "1").delete()
        assert run.picks == []
        assert self.reopen(root).get_run("TS_001").picks == []

    def test_a_million_points_store_and_load(self, root, run):
        rng = np.random.default_rng(0)
        positions = rng.uniform(0, 5000, size=(1_000_000, 3))
        run.new_picks("ribosome", "1").from_numpy(positions)
        loaded = self.reopen(root).get_run("TS_001").get_picks("ribosome")[0].numpy()[0]
        np.testing.assert_array_equal(loaded, positions)

    # -- meshes -----------------------------------------------------------------------------------------------

    def test_new_mesh_is_empty_and_a_stored_mesh_reloads(self, root, run):
        mesh = run.new_mesh("membrane", "1")
        assert len(mesh.mesh.vertices) == 0
        mesh.mesh = trimesh.creation.box(extents=(10, 20, 30))
        mesh.store()
        again = self.reopen(root).get_run("TS_001").get_meshes("membrane")[0]
        assert isinstance(again.mesh, trimesh.Trimesh)
        np.testing.assert_allclose(again.mesh.bounds, [[-5, -10, -15], [5, 10, 15]])

    def test_a_scene_is_stored_as_one_mesh(self, root, run):
        scene = trimesh.Scene([trimesh.creation.box(), trimesh.creation.icosphere()])
        mesh = run.new_mesh("membrane", "1")
        mesh.mesh = scene
        mesh.store()
        again = self.reopen(root).get_run("TS_001").get_meshes("membrane")[0].mesh
        assert len(again.faces) == 12 + len(trimesh.creation.icosphere().faces)

    def test_napari_round_trip(self, run):
        mesh = run.new_mesh("membrane", "1")
        box = trimesh.creation.box()
        mesh.from_napari(box.vertices, box.faces)
        layer = mesh.to_napari()
        assert layer["vertices"].dtype == np.float32 and layer["faces"].dtype == np.uint32
        assert layer["faces"].shape == (12, 3)

    def test_meshes_across_runs_and_user_tool_filters(self, root):
        root.new_run("TS_001").new_mesh("membrane", "1")
        root.new_run("TS_002").new_mesh("membrane", "0", user_id="membrain")
        assert [m.run.name for m in root.get_meshes(object_name="membrane")] == ["TS_001", "TS_002"]
        assert [m.user_id for m in root.get_run("TS_002").tool_meshes()] == ["membrain"]

    # -- segmentations ----------------------------------------------------------------------------------------

    def test_segmentation_round_trips_and_is_read_in_zyx_order(self, root, run):
        labels = np.zeros((6, 8, 10), dtype=np.uint8)
        labels[1:3, 2:5, 3:9] = 1
        seg = run.new_segmentation(10.0, "membrane", "1", False)
        seg.from_numpy(labels)
        again = self.reopen(root).get_run("TS_001").get_segmentations(name="membrane")[0]
        np.testing.assert_array_equal(again.numpy(), labels)
        np.testing.assert_array_equal(again.numpy(x=slice(3, 9), z=slice(1, 3)), labels[1:3, :, 3:9])

    def test_single_label_segmentation_names_must_be_objects_but_multilabel_names_are_free(self, run):
        with pytest.raises(ValueError):
            run.new_segmentation(10.0, "anything", "1", False)
        assert run.new_segmentation(10.0, "anything", "1", True).is_multilabel

    def test_segmentation_labels_that_do_not_fit_the_dtype_raise_value_error(self, run):
        seg = run.new_segmentation(10.0, "prediction", "1", True)
        with pytest.raises(ValueError, match="uint16"):
            seg.from_numpy(np.full((4, 4, 4), 300))

    def test_segmentations_filter_by_voxel_size_name_and_type(self, root, run):
        run.new_segmentation(10.0, "membrane", "1", False)
        run.new_segmentation(10.0, "prediction", "1", True)
        run.new_segmentation(20.0, "prediction", "1", True)
        assert len(run.get_segmentations(voxel_size=10.0)) == 2
        assert len(run.get_segmentations(is_multilabel=True)) == 2
        assert len(root.get_segmentations(name="prediction", voxel_size=20.0)) == 1

    def test_duplicate_segmentation_raises_unless_exist_ok(self, run):
        first = run.new_segmentation(10.0, "membrane", "1", False)
        with pytest.raises(ValueError):
            run.new_segmentation(10.0004, "membrane", "1", False)
        assert run.new_segmentation(10.0, "membrane", "1", False, exist_ok=True).identity == first.identity

    # -- read-only --------------------------------------------------------------------------------------------

    def test_a_read_only_root_refuses_every_write(self, root, run):
        picks = run.new_picks("ribosome", "1")
        picks.from_numpy(np.ones((2, 3)))
        ro = self.reopen(root, read_only=True)
        ro_run = ro.get_run("TS_001")
        ro_picks = ro_run.get_picks("ribosome")[0]
        assert ro_picks.read_only
        for write in (
            lambda: ro.new_run("TS_002"),
            lambda: ro_run.new_picks("proteasome", "1"),
            lambda: ro_picks.from_numpy(np.zeros((1, 3))),
            lambda: ro_picks.delete(),
            lambda: ro_run.delete(),
        ):
            with pytest.raises(PermissionError):
                write()
        np.testing.assert_array_equal(self.reopen(root).get_run("TS_001").get_picks()[0].numpy()[0], np.ones((2, 3)))

    def test_stats_count_every_kind(self, root, run):
        run.new_picks("ribosome", "1").from_numpy(np.ones((5, 3)))
        run.new_picks("ribosome", "1", user_id="bob")
        run.new_mesh("membrane", "1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run.new_segmentation(10.0, "membrane", "1", False)
        stats = root.stats()
        assert (stats["runs"], stats["picks"], stats["points"], stats["meshes"], stats["segmentations"]) == (
            1,
            2,
            5,
            1,
            1,
        )
        assert stats["picks_per_user"] == {"alice": 1, "bob": 1}
        assert stats["picks_per_object"] == {"ribosome": 2}
