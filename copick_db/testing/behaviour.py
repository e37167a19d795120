"""A behaviour suite any CopickRoot implementation can run.

Subclass :class:`CopickRootBehaviour` in a test module and implement :meth:`~CopickRootBehaviour.make_root` (and
:meth:`~CopickRootBehaviour.reopen`, if a fresh root on the same storage is made differently); pytest collects
every ``test_*`` method. The tests use only the public API of the spec and copick 1.x, so they hold a backend to
what users rely on: identity and duplicates, laziness and refresh, user/tool ownership, points that round-trip
exactly, volumes in ZYX order, read-only guards, cross-run queries, and copick 1.31's additions (filaments, instance
and panoptic segmentations, filters that take one value or several).

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

from copick_db.models import CopickFilament, CopickFilamentCurve, CopickLocation, CopickPoint, CopickRoot

#: The configuration every test starts from.
CONFIG: dict[str, Any] = {
    "name": "behaviour",
    "user_id": "alice",
    "session_id": "1",
    "pickable_objects": [
        {"name": "ribosome", "is_particle": True, "label": 1, "color": [0, 117, 220, 255], "radius": 150.0},
        {"name": "proteasome", "is_particle": True, "label": 2, "radius": 90.0},
        {"name": "membrane", "is_particle": False, "label": 3},
        {
            "name": "microtubule",
            "is_particle": True,
            "label": 4,
            "radius": 125.0,
            "metadata": {"copick": {"filament": {"polar": True, "helical_rise_a": 9.4}}},
        },
    ],
}

#: Three polylines of 2, 3 and 4 points (Å), with values that must round-trip exactly.
POLYLINES = [
    np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]]),
    np.array([[1.25, 2.5, 3.75], [1e-7, 123456.789, 0.1], [5.0, 5.0, 5.0]]),
    np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, 1.0, 2.0], [1.0, 1.0, 2.0]]),
]


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

    # -- identity: one object per entity within a root --------------------------------------------------------

    #: For each entity kind: (make it, list its siblings, look it up, make it again with exist_ok). Each takes the
    #: test's run; ``vs`` is its 10 Å voxel spacing.
    KINDS: dict[str, tuple[Any, Any, Any, Any]] = {
        "run": (
            lambda run: run.root.new_run("TS_009"),
            lambda run: run.root.runs,
            lambda run: [run.root.get_run("TS_009")],
            lambda run: run.root.new_run("TS_009", exist_ok=True),
        ),
        "voxel spacing": (
            lambda run: run.new_voxel_spacing(20.0),
            lambda run: run.voxel_spacings,
            lambda run: [run.get_voxel_spacing(20.0)],
            lambda run: run.new_voxel_spacing(20.0, exist_ok=True),
        ),
        "tomogram": (
            lambda run: run.get_voxel_spacing(10.0).new_tomogram("wbp"),
            lambda run: run.get_voxel_spacing(10.0).tomograms,
            lambda run: [run.get_voxel_spacing(10.0).get_tomogram("wbp"), *run.root.get_tomograms("wbp")],
            lambda run: run.get_voxel_spacing(10.0).new_tomogram("wbp", exist_ok=True),
        ),
        "features": (
            lambda run: run.get_voxel_spacing(10.0).new_tomogram("wbp", exist_ok=True).new_features("sobel"),
            lambda run: run.get_voxel_spacing(10.0).new_tomogram("wbp", exist_ok=True).features,
            lambda run: [run.get_voxel_spacing(10.0).get_tomogram("wbp").get_features("sobel")],
            lambda run: run.get_voxel_spacing(10.0).get_tomogram("wbp").new_features("sobel", exist_ok=True),
        ),
        "picks": (
            lambda run: run.new_picks("ribosome", "7", "0"),
            lambda run: run.picks,
            lambda run: (
                run.get_picks(object_name="ribosome", user_id="0")
                + run.tool_picks()
                + run.root.get_picks(object_name="ribosome")
            ),
            lambda run: run.new_picks("ribosome", "7", "0", exist_ok=True),
        ),
        "mesh": (
            lambda run: run.new_mesh("membrane", "7", "0"),
            lambda run: run.meshes,
            lambda run: run.get_meshes("membrane", "0") + run.tool_meshes() + run.root.get_meshes("membrane"),
            lambda run: run.new_mesh("membrane", "7", "0", exist_ok=True),
        ),
        "segmentation": (
            lambda run: run.new_segmentation(10.0, "membrane", "7", False, "0"),
            lambda run: run.segmentations,
            lambda run: (
                run.get_segmentations(user_id="0", name="membrane")
                + run.tool_segmentations()
                + run.root.get_segmentations(name="membrane")
            ),
            lambda run: run.new_segmentation(10.0, "membrane", "7", False, "0", exist_ok=True),
        ),
        "filaments": (
            lambda run: run.new_filaments("microtubule", "7", "0"),
            lambda run: run.filaments,
            lambda run: run.get_filaments("microtubule", "0") + run.tool_filaments() + run.root.get_filaments(),
            lambda run: run.new_filaments("microtubule", "7", "0", exist_ok=True),
        ),
        "object": (
            lambda run: run.root.new_object("vesicle", is_particle=False),
            lambda run: run.root.pickable_objects,
            lambda run: [run.root.get_object("vesicle")],
            lambda run: run.root.new_object("vesicle", is_particle=False, exist_ok=True),
        ),
    }

    @pytest.mark.parametrize("kind", list(KINDS))
    @pytest.mark.parametrize("listed_first", [False, True], ids=["unlisted", "listed"])
    def test_a_new_entity_is_the_object_listings_getters_and_exist_ok_return(self, run, kind, listed_first):
        make, listing, lookup, again = self.KINDS[kind]
        if listed_first:
            listing(run)  # copick loads the parent's list before appending; either order must give one object
        entity = make(run)
        assert any(e is entity for e in listing(run))
        assert entity in listing(run)
        found = lookup(run)
        assert found and all(e is entity for e in found)
        assert again(run) is entity

    @pytest.mark.parametrize("kind", list(KINDS))
    def test_getters_listings_and_cross_run_queries_of_a_reopened_root_share_one_object(self, root, run, kind):
        make, listing, lookup, _ = self.KINDS[kind]
        make(run)
        fresh_run = self.reopen(root).get_run("TS_001")
        found = lookup(fresh_run)  # answered by key, before anything is listed
        assert found and all(e is found[0] for e in found)
        assert sum(e is found[0] for e in listing(fresh_run)) == 1
        assert lookup(fresh_run)[0] is found[0]

    @pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("run", "object")])
    def test_a_deleted_entity_leaves_every_listing_and_refresh_drops_the_objects(self, run, kind):
        make, listing, lookup, _ = self.KINDS[kind]
        entity = make(run)
        listing(run)
        other = run.root.new_run("TS_010")
        other.new_voxel_spacing(10.0)
        kept = make(other) if kind != "features" else None
        entity.delete()
        assert entity not in listing(run)
        assert not [e for e in lookup(run) if e is entity and e is not None]
        if kept is not None:
            run.root.refresh()
            again = lookup(run.root.get_run("TS_010"))
            assert again and again[0] is not kept and again[0].identity == kept.identity

    #: The fields that make up each kind's identity (its catalog key and its path on disk).
    IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
        "run": ("name",),
        "voxel spacing": ("voxel_size",),
        "tomogram": ("tomo_type", "name"),
        "features": ("feature_type", "tomo_type"),
        "picks": ("pickable_object_name", "object_name", "user_id", "session_id"),
        "mesh": ("pickable_object_name", "object_name", "user_id", "session_id"),
        "segmentation": ("name", "voxel_size", "user_id", "session_id", "is_multilabel", "is_instance", "is_panoptic"),
        "filaments": ("pickable_object_name", "object_name", "user_id", "session_id"),
        "object": ("name",),
    }

    @pytest.mark.parametrize("kind", list(IDENTITY_FIELDS))
    def test_identity_fields_cannot_be_set(self, root, run, kind):
        entity = self.KINDS[kind][0](run)
        for field in self.IDENTITY_FIELDS[kind]:
            before = getattr(entity, field)
            with pytest.raises(AttributeError, match="cannot change"):
                setattr(entity, field, "renamed" if isinstance(before, str) else before)
            assert getattr(entity, field) == before
        assert entity in self.KINDS[kind][1](run)

    def test_unsaved_points_are_seen_through_every_handle_on_the_pick_set(self, root, run):
        run.new_picks("ribosome", "1").from_numpy(np.ones((2, 3)))
        fresh = self.reopen(root)
        picks = fresh.get_run("TS_001").get_picks("ribosome")[0]
        picks.from_numpy(np.zeros((5, 3)), store=False)
        across = fresh.get_picks(object_name="ribosome")[0]
        assert across is picks
        assert len(across.numpy()[0]) == 5  # the unsaved points, not the stored ones the query read
        assert fresh.get_run("TS_001").picks[0] is picks

    def test_roots_opened_separately_have_separate_objects(self, root, run):
        picks = run.new_picks("ribosome", "1")
        other = self.reopen(root)
        assert other.get_run("TS_001") is not run
        assert other.get_run("TS_001").get_picks("ribosome")[0] is not picks

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

    # -- picks in copick 1.31's forms -------------------------------------------------------------------------

    def test_picks_take_copick_1_31_positional_arguments_and_methods(self, root, run):
        positions = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        transforms = np.tile(np.eye(4), (2, 1, 1))
        transforms[1, :3, 3] = [0.5, 0.25, -1.0]
        run.new_picks("microtubule", "1").from_numpy(positions, transforms, [1, 2], [0.5, 0.75])
        again = self.reopen(root).get_run("TS_001").get_picks("microtubule")[0]
        np.testing.assert_array_equal(again.instance_ids(), [1, 2])
        np.testing.assert_array_equal(again.scores(), [0.5, 0.75])
        np.testing.assert_array_equal(again.full_positions(), positions + transforms[:, :3, 3])

    def test_copick_style_picks_default_to_instance_zero_and_score_one(self, run):
        picks = run.new_picks("ribosome", "1")
        picks.from_numpy(positions=np.zeros((3, 3)))
        np.testing.assert_array_equal(picks.instance_ids(), [0, 0, 0])
        np.testing.assert_array_equal(picks.scores(), [1.0, 1.0, 1.0])
        picks.from_numpy(np.zeros((1, 3)), None, [3])
        np.testing.assert_array_equal(picks.scores(), [1.0])

    def test_a_null_score_reads_as_one_in_copicks_method_form(self, run):
        picks = run.new_picks("ribosome", "1")
        picks.points = [CopickPoint(location=CopickLocation(x=1, y=2, z=3), score=None)]
        picks.store()
        assert np.isnan(picks.scores[0])
        np.testing.assert_array_equal(picks.scores(), [1.0])

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"instance_ids": [-1, 0]}, ">= 0"),
            ({"instance_ids": [0.5, 1]}, "whole"),
            ({"instance_ids": [1]}, "shape"),
            ({"scores": [np.nan, 1.0]}, "finite"),
        ],
    )
    def test_bad_copick_style_pick_values_raise_value_error(self, run, kwargs, match):
        with pytest.raises(ValueError, match=match):
            run.new_picks("ribosome", "1").from_numpy(np.zeros((2, 3)), **kwargs)

    # -- filaments --------------------------------------------------------------------------------------------

    def test_filament_objects_keep_their_spec(self, root):
        obj = self.reopen(root).get_object("microtubule")
        assert obj.is_filament and obj.filament.polar is True and obj.filament.helical_rise_a == 9.4
        assert obj.metadata["copick"]["filament"] == {"polar": True, "helical_rise_a": 9.4}
        assert not self.reopen(root).get_object("ribosome").is_filament

    def test_new_object_declares_a_filament(self, root):
        root.new_object("actin", True, filament={"polar": True, "helical_twist_deg": -166.7, "note": "F-actin"})
        obj = self.reopen(root).get_object("actin")
        assert obj.is_filament
        assert obj.metadata == {"copick": {"filament": {"polar": True, "helical_twist_deg": -166.7, "note": "F-actin"}}}

    @pytest.mark.parametrize(
        ("is_particle", "filament"),
        [(False, {"polar": True}), (True, {"helical_rise_a": 0.0}), (True, {"helical_rise_a": -1.0})],
    )
    def test_bad_filament_specs_raise_value_error(self, root, is_particle, filament):
        with pytest.raises(ValueError):
            root.new_object("actin", is_particle, filament=filament)
        assert self.reopen(root).get_object("actin") is None

    def test_new_filaments_are_empty_and_owned_by_the_roots_user(self, root, run):
        filaments = run.new_filaments("microtubule", "1")
        assert (filaments.user_id, filaments.session_id, filaments.pickable_object_name) == (
            "alice",
            "1",
            "microtubule",
        )
        assert filaments.filaments == [] and filaments.numpy() == []
        again = self.reopen(root).get_run("TS_001").get_filaments("microtubule")
        assert len(again) == 1 and again[0].filaments == []

    def test_new_filaments_for_an_unknown_object_raise_value_error(self, run):
        with pytest.raises(ValueError, match="Unknown object"):
            run.new_filaments("nothing", "1")

    def test_duplicate_filaments_raise_unless_exist_ok(self, run):
        first = run.new_filaments("microtubule", "1")
        with pytest.raises(ValueError, match="exist_ok"):
            run.new_filaments("microtubule", "1")
        assert run.new_filaments("microtubule", "1", exist_ok=True).identity == first.identity

    def test_filament_polylines_and_fields_round_trip_exactly(self, root, run):
        run.new_filaments("microtubule", "1").from_numpy(
            POLYLINES,
            instance_ids=[3, 1, 7],
            polarity_known=[True, False, True],
            scores=[0.5, 1.0, 0.125],
            radii=[None, 120.0, 130.5],
            voxel_spacing=10.0,
            metadata=[{"traced_by": "hand"}, None, {}],
        )
        again = self.reopen(root).get_run("TS_001").get_filaments("microtubule")[0]
        for line, expected in zip(again.numpy(), POLYLINES, strict=True):
            assert line.dtype == np.float64
            np.testing.assert_array_equal(line, expected)
        np.testing.assert_array_equal(again.instance_ids(), [3, 1, 7])
        assert again.voxel_spacing == 10.0
        first = again.get(3)
        assert (first.polarity_known, first.score, first.radius, first.metadata) == (
            True,
            0.5,
            None,
            {"traced_by": "hand"},
        )
        assert again.get(1).radius == 120.0 and again.get(7).score == 0.125
        assert again.get(2) is None

    def test_filaments_set_as_models_keep_their_curves(self, root, run):
        curve = CopickFilamentCurve(kind="linear", control_points=[(0, 0, 0), (10, 0, 0), (10, 10, 0)], step=10.0)
        filament = CopickFilament(instance_id=1, points=[(0, 0, 0), (10, 0, 0), (10, 10, 0)], curve=curve)
        filaments = run.new_filaments("microtubule", "1")
        filaments.filaments = [filament]
        filaments.store()
        again = self.reopen(root).get_run("TS_001").get_filaments("microtubule")[0]
        assert again.filaments[0].model_dump() == filament.model_dump()
        assert again.filaments[0].curve_is_current()

    def test_a_curve_that_no_longer_fits_its_points_is_dropped_on_store(self, root, run):
        curve = CopickFilamentCurve(kind="linear", control_points=[(0, 0, 0), (10, 0, 0)], step=10.0)
        filaments = run.new_filaments("microtubule", "1")
        filaments.filaments = [CopickFilament(instance_id=1, points=[(0, 0, 0), (10, 0, 0)], curve=curve)]
        filaments.filaments[0].points = [(0, 0, 0), (20, 5, 0)]
        with pytest.warns(UserWarning, match="curves"):
            filaments.store()
        again = self.reopen(root).get_run("TS_001").get_filaments("microtubule")[0]
        assert again.filaments[0].curve is None
        assert again.filaments[0].points == [(0.0, 0.0, 0.0), (20.0, 5.0, 0.0)]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"polylines": [np.zeros((1, 3))]}, "two points"),
            ({"polylines": [np.zeros((2, 2))]}, r"\(M, 3\)"),
            ({"polylines": [np.array([[0, 0, np.nan], [1, 1, 1]])]}, "finite"),
            ({"polylines": POLYLINES[:2], "instance_ids": [4, 4]}, "unique"),
            ({"polylines": POLYLINES[:1], "instance_ids": [0]}, "greater than or equal to 1"),
            ({"polylines": POLYLINES[:1], "radii": [0.0]}, "greater than 0"),
            ({"polylines": POLYLINES[:1], "radii": [-5.0]}, "greater than 0"),
            ({"polylines": POLYLINES[:2], "scores": [1.0]}, "one entry per filament"),
        ],
    )
    def test_bad_filaments_raise_value_error_and_change_nothing(self, root, run, kwargs, match):
        filaments = run.new_filaments("microtubule", "1")
        filaments.from_numpy(POLYLINES)
        with pytest.raises(ValueError, match=match):
            filaments.from_numpy(**kwargs)
        stored = self.reopen(root).get_run("TS_001").get_filaments("microtubule")[0].numpy()
        assert len(stored) == 3

    def test_filaments_edited_in_place_are_checked_on_store(self, run):
        filaments = run.new_filaments("microtubule", "1")
        filaments.from_numpy(POLYLINES)
        filaments.filaments[1].instance_id = 1
        with pytest.raises(ValueError, match="unique"):
            filaments.store()
        filaments.refresh()
        filaments.filaments[0].points = filaments.filaments[0].points[:1]
        with pytest.raises(ValueError, match="two"):
            filaments.store()

    def test_filament_store_does_nothing_until_loaded_or_set(self, root, run):
        run.new_filaments("microtubule", "1").from_numpy(POLYLINES)
        untouched = self.reopen(root).get_run("TS_001").get_filaments("microtubule")[0]
        untouched.store()
        assert len(self.reopen(root).get_run("TS_001").get_filaments("microtubule")[0].numpy()) == 3

    def test_filaments_from_numpy_with_store_false_only_sets(self, root, run):
        filaments = run.new_filaments("microtubule", "1")
        filaments.from_numpy(POLYLINES, store=False)
        assert len(filaments.numpy()) == 3
        assert self.reopen(root).get_run("TS_001").get_filaments("microtubule")[0].numpy() == []

    def test_user_and_tool_filaments_follow_user_or_session_zero(self, run):
        run.new_filaments("microtubule", "1")
        run.new_filaments("microtubule", "0", user_id="tracer")
        assert [(f.user_id, f.session_id) for f in run.user_filaments()] == [("alice", "1")]
        assert [(f.user_id, f.session_id) for f in run.tool_filaments()] == [("tracer", "0")]
        assert run.get_filaments()[0].from_user != run.get_filaments()[1].from_user

    def test_filament_filters_accept_one_value_or_several(self, run):
        run.new_filaments("microtubule", "1")
        run.new_filaments("microtubule", "2", user_id="bob")
        run.new_filaments("ribosome", "1", user_id="carol")
        assert len(run.get_filaments(user_id="bob")) == 1
        assert len(run.get_filaments(user_id=["alice", "bob"])) == 2
        assert len(run.get_filaments(object_name="microtubule", session_id=("1", "2"))) == 2
        assert run.get_filaments(object_name={"ribosome"}, user_id="alice") == []
        assert len(run.filaments) == 3
        assert len(run.get_filaments(user_id=("alice", "carol"))) == 2  # on the loaded cache too

    def test_filaments_across_runs_come_bound_to_their_runs(self, root):
        for name in ("TS_001", "TS_002", "TS_003"):
            root.new_run(name).new_filaments("microtubule", "1").from_numpy(POLYLINES[:2])
        root.get_run("TS_002").new_filaments("microtubule", "0", user_id="tracer")
        found = self.reopen(root).get_filaments(object_name="microtubule", user_id="alice")
        assert [f.run.name for f in found] == ["TS_001", "TS_002", "TS_003"]
        assert all(len(f.numpy()) == 2 for f in found)
        assert [f.user_id for f in root.get_filaments(runs=["TS_002"])] == ["alice", "tracer"]
        assert len(root.get_filaments(user_id=["alice", "tracer"], runs=[root.get_run("TS_002")])) == 2

    def test_refresh_makes_other_writers_filaments_visible(self, root, run):
        assert run.filaments == []
        self.reopen(root).get_run("TS_001").new_filaments("microtubule", "1")
        assert run.filaments == []
        run.refresh_filaments()
        assert len(run.filaments) == 1

    def test_deleting_filaments_removes_them(self, root, run):
        run.new_filaments("microtubule", "1").delete()
        run.new_filaments("microtubule", "2")
        run.new_filaments("microtubule", "3")
        run.delete_filaments(session_id="2")
        assert [f.session_id for f in run.filaments] == ["3"]
        assert [f.session_id for f in self.reopen(root).get_run("TS_001").filaments] == ["3"]
        root.delete_run("TS_001")
        assert self.reopen(root).get_filaments() == []

    def test_a_read_only_root_refuses_filament_writes(self, root, run):
        run.new_filaments("microtubule", "1").from_numpy(POLYLINES)
        ro = self.reopen(root, read_only=True)
        ro_run = ro.get_run("TS_001")
        ro_filaments = ro_run.get_filaments("microtubule")[0]
        assert ro_filaments.read_only
        for write in (
            lambda: ro_run.new_filaments("microtubule", "2"),
            lambda: ro_filaments.from_numpy(POLYLINES[:1]),
            lambda: ro_filaments.store() if ro_filaments.numpy() else None,
            lambda: ro_filaments.delete(),
            lambda: ro.new_object("actin", True, filament={"polar": True}),
        ):
            with pytest.raises(PermissionError):
                write()
        assert len(self.reopen(root).get_run("TS_001").get_filaments()[0].numpy()) == 3

    def test_stats_count_filaments(self, root, run):
        run.new_filaments("microtubule", "1").from_numpy(POLYLINES)
        run.new_filaments("microtubule", "0", user_id="tracer")
        stats = root.stats()
        assert (stats["filaments"], stats["filament_polylines"], stats["filament_points"]) == (2, 3, 9)

    # -- segmentation types -----------------------------------------------------------------------------------

    def test_segmentation_types_are_exclusive(self, run):
        with pytest.raises(ValueError, match="one type"):
            run.new_segmentation(10.0, "membrane", "1", True, is_instance=True)
        with pytest.raises(ValueError, match="one type"):
            run.new_segmentation(10.0, "membrane", "1", is_instance=True, is_panoptic=True)
        assert run.get_segmentations(is_instance=None, is_panoptic=None) == []

    def test_each_type_is_a_separate_segmentation(self, root, run):
        run.new_segmentation(10.0, "membrane", "1")
        run.new_segmentation(10.0, "membrane", "1", True)
        run.new_segmentation(10.0, "membrane", "1", is_instance=True)
        run.new_segmentation(10.0, "membrane", "1", is_panoptic=True)
        found = self.reopen(root).get_run("TS_001").get_segmentations(is_instance=None, is_panoptic=None)
        assert sorted(s.segmentation_type for s in found) == ["binary", "instance", "multilabel", "panoptic"]
        assert len({s.identity for s in found}) == 4

    def test_getters_select_binary_and_multilabel_by_default(self, root, run):
        run.new_segmentation(10.0, "membrane", "1")
        run.new_segmentation(10.0, "prediction", "1", True)
        run.new_segmentation(10.0, "ribosome", "1", is_instance=True)
        run.new_segmentation(10.0, "scene", "1", is_panoptic=True)
        for source in (run, self.reopen(root).get_run("TS_001")):
            assert sorted(s.name for s in source.get_segmentations()) == ["membrane", "prediction"]
            assert [s.name for s in source.get_segmentations(is_instance=True)] == ["ribosome"]
            assert [s.name for s in source.get_segmentations(is_panoptic=True)] == ["scene"]
            assert len(source.get_segmentations(is_instance=None, is_panoptic=None)) == 4
            assert len(source.segmentations) == 4
        assert [s.name for s in root.get_segmentations(is_instance=True)] == ["ribosome"]
        assert len(root.get_segmentations(is_instance=None, is_panoptic=None)) == 4
        assert len(root.get_segmentations()) == 2

    def test_segmentation_filters_accept_one_value_or_several(self, root, run):
        run.new_segmentation(10.0, "membrane", "1")
        run.new_segmentation(20.0, "membrane", "1", user_id="bob")
        run.new_segmentation(10.0, "ribosome", "2", is_instance=True)
        assert len(run.get_segmentations(voxel_size=[10.0, 20.0])) == 2
        assert len(run.get_segmentations(name=["membrane", "ribosome"], is_instance=None)) == 3
        assert len(run.get_segmentations(user_id=("alice", "bob"), session_id="1")) == 2
        assert len(root.get_segmentations(voxel_size=(10.0,), is_instance=None)) == 2
        assert len(root.get_segmentations(name={"ribosome"}, session_id=["2"], is_instance=True)) == 1

    def test_instance_segmentations_name_objects_and_keep_large_ids(self, root, run):
        with pytest.raises(ValueError, match="Unknown object"):
            run.new_segmentation(10.0, "anything", "1", is_instance=True)
        ids = np.zeros((4, 5, 6), dtype=np.int64)
        ids[1, 2, 3], ids[2, 3, 4] = 300, 70000
        seg = run.new_segmentation(10.0, "ribosome", "1", is_instance=True)
        assert (seg.is_instance, seg.segmentation_type) == (True, "instance")
        seg.from_numpy(ids)
        again = self.reopen(root).get_run("TS_001").get_segmentations(is_instance=True)[0]
        np.testing.assert_array_equal(again.numpy(), ids)
        assert again.numpy().dtype == np.uint32
        np.testing.assert_array_equal(again.instance_ids(), [300, 70000])

    def test_panoptic_segmentations_round_trip_with_channels(self, root, run):
        labels = np.zeros((6, 8, 10), dtype=np.uint8)
        instances = np.zeros_like(labels, dtype=np.uint16)
        labels[1:3, 2:5, 3:9], instances[1:3, 2:5, 3:9] = 1, 5
        labels[4, :, :] = 3
        seg = run.new_segmentation(10.0, "scene", "1", is_panoptic=True)
        assert seg.segmentation_type == "panoptic"
        seg.from_numpy(np.stack([labels, instances]), levels=2)
        again = self.reopen(root).get_run("TS_001").get_segmentations(is_panoptic=True)[0]
        np.testing.assert_array_equal(again.numpy(), np.stack([labels, instances]))
        region = again.numpy(x=slice(3, 9), y=slice(2, 4), z=slice(1, 3))
        assert region.shape == (2, 2, 2, 6)
        np.testing.assert_array_equal(again.numpy(channel="label"), labels)
        np.testing.assert_array_equal(again.numpy(channel=1, z=slice(1, 2)), instances[1:2])
        assert again.numpy("1").shape == (2, 3, 4, 5)
        assert again.segments() == [("membrane", 0), ("ribosome", 5)]
        np.testing.assert_array_equal(again.instance_ids(object_name="ribosome"), [5])

    @pytest.mark.parametrize(
        ("data", "match"),
        [
            (np.zeros((6, 8, 10)), r"\(2, z, y, x\)"),
            (np.zeros((3, 6, 8, 10)), r"\(2, z, y, x\)"),
            (np.stack([np.full((2, 2, 2), 99), np.zeros((2, 2, 2))]), "no pickable object"),
            (np.stack([np.zeros((2, 2, 2)), np.ones((2, 2, 2))]), "background"),
        ],
    )
    def test_bad_panoptic_volumes_raise_value_error(self, run, data, match):
        seg = run.new_segmentation(10.0, "scene", "1", is_panoptic=True)
        with pytest.raises(ValueError, match=match):
            seg.from_numpy(data)

    def test_panoptic_channels_are_written_one_at_a_time(self, run):
        seg = run.new_segmentation(10.0, "scene", "1", is_panoptic=True)
        seg.from_numpy(np.zeros((2, 4, 4, 4), dtype=np.uint16))
        seg.set_region(np.ones((2, 2, 2)), channel="label", x=slice(0, 2), y=slice(0, 2), z=slice(0, 2))
        seg.set_region(7, channel="instance", x=slice(0, 2), y=slice(0, 2), z=slice(0, 2))
        assert seg.segments() == [("ribosome", 7)]
        with pytest.raises(ValueError, match="background"):
            seg.set_region(1, channel="instance", x=slice(2, 4))
        with pytest.raises(ValueError, match="channel"):
            run.new_segmentation(10.0, "membrane", "1").numpy(channel="label")

    def test_deleting_segmentations_spares_other_types_by_default(self, root, run):
        run.new_segmentation(10.0, "membrane", "1")
        run.new_segmentation(10.0, "membrane", "1", is_instance=True)
        run.delete_segmentations(name="membrane")
        assert [s.segmentation_type for s in run.segmentations] == ["instance"]
        run.delete_segmentations(is_instance=None, is_panoptic=None)
        assert self.reopen(root).get_run("TS_001").segmentations == []


class CatalogBackendBehaviour(CopickRootBehaviour):
    """The suite on copick_db's own backends: projects come from a ``backend`` fixture (a
    :class:`~copick_db.testing.backends.Backend`) that the test's ``conftest.py`` parametrizes over every backend, as
    pyiceberg's catalog tests do. Every root a test makes or reopens is closed when it ends.
    """

    backend: Any

    @pytest.fixture(autouse=True)
    def _backend(self, backend: Any) -> Any:
        self.backend = backend
        yield
        backend.close_all()

    def make_root(self, tmp_path: Path, config: dict[str, Any]) -> CopickRoot:
        """A new project on the test's backend."""
        return self.backend.create(tmp_path, config)

    def reopen(self, root: CopickRoot, **kwargs: Any) -> CopickRoot:
        """A fresh root on the same backend project."""
        return self.backend.reopen(root, **kwargs)
