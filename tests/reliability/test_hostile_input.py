"""Arbitrary names, shapes, dtypes and values fed to the models and the ``new_*`` / ``from_numpy`` calls.

Every call either works or raises the documented error (ValueError, or TypeError for a wrong kind of argument),
never touches the filesystem outside the project's data root and catalog (an audit hook watches every file opened
for writing, every rename, mkdir and delete, and the tree around the project is compared before and after), and a
call that raises leaves the catalog's rows and the data root's files exactly as they were.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import copick_db
from copick_db.models import CopickLocation, CopickPoint, PickableObject

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")

DOCUMENTED = (ValueError, TypeError)
SETTINGS = settings(
    max_examples=int(os.environ.get("COPICK_DB_HOSTILE_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
#: How many examples each test tried, and how many calls worked or raised, for docs/reliability.md.
TRIED: dict[str, int] = {}
OUTCOMES = {"worked": 0, "raised": 0}

# -- watching the filesystem --------------------------------------------------------------------------------------

_WATCH: dict[str, Any] = {"allowed": None, "violations": []}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CHANGES = ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.link", "os.symlink", "os.truncate", "shutil.rmtree")


def _audit(event: str, args: tuple) -> None:
    allowed = _WATCH["allowed"]
    if allowed is None:
        return
    paths: list = []
    if event == "open" and len(args) >= 3:
        path, mode, flags = args[0], args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or ((flags or 0) & _WRITE_FLAGS):
            paths = [path]
    elif event in _CHANGES and args:
        if event in ("os.remove", "os.rmdir", "os.mkdir") and len(args) > 1 and isinstance(args[-1], int):
            return  # relative to a directory descriptor (shutil.rmtree inside a directory it already checked)
        paths = [args[0], args[1]] if event in ("os.rename", "os.link", "os.symlink") else [args[0]]
    for path in paths:
        if not isinstance(path, (str, bytes, os.PathLike)):
            continue
        absolute = os.path.realpath(os.path.abspath(os.fsdecode(path)))
        if not any(absolute == a or absolute.startswith(a + os.sep) for a in allowed):
            _WATCH["violations"].append((event, absolute))


sys.addaudithook(_audit)  # audit hooks cannot be removed: it does nothing unless a test sets "allowed"


class Project:
    """A project in a sandbox a few directories deep, with the tree around it snapshotted."""

    def __init__(self) -> None:
        self.sandbox = Path(tempfile.mkdtemp(prefix="hostile-")).resolve()
        self.home = self.sandbox / "a" / "b" / "c"
        self.home.mkdir(parents=True)
        (self.sandbox / "a" / "neighbour").mkdir()
        (self.sandbox / "a" / "neighbour" / "keep.txt").write_text("keep")
        self.catalog = self.home / "project.sqlite"
        self.root = copick_db.create(self.catalog, {"name": "hostile", "pickable_objects": [
            {"name": "ribosome", "is_particle": True, "label": 1},
            {"name": "membrane", "is_particle": False, "label": 2},
        ], "user_id": "tester", "session_id": "1"})  # fmt: skip
        self.data = self.root.data.directories[self.root.data.default_id]
        self.outside = self._outside()

    def _outside(self) -> list[str]:
        """Every path of the sandbox outside the data root and the catalog's own files."""
        own = {self.catalog.name + s for s in ("", "-wal", "-shm", "-journal")}
        found = []
        for path in self.sandbox.rglob("*"):
            if path == self.data or self.data in path.parents or (path.parent == self.home and path.name in own):
                continue
            found.append(path.relative_to(self.sandbox).as_posix())
        return sorted(found)

    def state(self) -> tuple:
        """The catalog's rows (read through a separate read-only connection) and the data root's files."""
        con = sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            rows = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
        finally:
            con.close()
        files = sorted(p.relative_to(self.data).as_posix() for p in self.data.rglob("*"))
        return rows, files

    def close(self) -> None:
        self.root.close()
        shutil.rmtree(self.sandbox, ignore_errors=True)

    @contextmanager
    def watched(self) -> Iterator[None]:
        """Record every filesystem change outside the data root and the catalog during the block."""
        allowed = [str(self.data), *(str(self.catalog) + s for s in ("", "-wal", "-shm", "-journal"))]
        _WATCH["allowed"], _WATCH["violations"] = allowed, []
        try:
            yield
        finally:
            _WATCH["allowed"] = None

    def attempt(self, call: Callable[[], Any]) -> Any:
        """Run ``call``: it must work or raise a documented error, touching nothing outside, changing nothing if it
        raises. Returns its result, or None when it raised."""
        before = self.state()
        error = None
        with self.watched(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = call()
            except DOCUMENTED as exc:
                error, result = exc, None
        assert _WATCH["violations"] == [], _WATCH["violations"][:3]
        assert self._outside() == self.outside, "something was written next to the project"
        OUTCOMES["raised" if error is not None else "worked"] += 1
        if error is not None:
            assert self.state() == before, f"{type(error).__name__}: {error} left the catalog or data changed"
            assert str(error), "an error without a message"
        return result


@pytest.fixture
def project() -> Iterator[Project]:
    made = Project()
    yield made
    made.close()


def _count(name: str) -> None:
    TRIED[name] = TRIED.get(name, 0) + 1


# -- strategies ---------------------------------------------------------------------------------------------------

NASTY_NAMES = [
    "", ".", "..", "/", "a/b", "../x", "../../../../escape", "/etc/passwd", "\\", "..\\x", "a\x00b", "\x00",
    "~", "~root", "-", "-a-", "_", "a_b", " ", "a b", "\t", "\n", "CON", "nul", "a:b", "a*b", "a?b", "é" * 130,
    "x" * 256, "x" * 255, "😀", "\ud800", "\u202e", "$HOME", "%s", "{}", "'; DROP TABLE run; --",
]  # fmt: skip
names = st.one_of(
    st.sampled_from(NASTY_NAMES),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=300),
    st.integers(),
    st.none(),
    st.binary(max_size=10),
    st.floats(),
)
voxel_sizes = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-5, max_value=10**20),
    st.sampled_from([0, -1.0, 1e-9, 0.0004, 0.0005, 1e308, True, "10", "ten", None, [10.0], float("nan")]),
)
DTYPES = st.sampled_from(
    [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64, np.uint64, bool,
     np.complex64]
)  # fmt: skip


def _arrays(max_dims: int = 5) -> st.SearchStrategy:
    shapes = hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5)
    return DTYPES.flatmap(lambda dt: hnp.arrays(dt, shapes, elements=hnp.from_dtype(np.dtype(dt), allow_nan=True)))


def _shaped(shape: st.SearchStrategy) -> st.SearchStrategy:
    """Arrays of a plausible shape, any dtype, values including NaN, infinities and extremes."""
    return DTYPES.flatmap(lambda dt: hnp.arrays(dt, shape, elements=hnp.from_dtype(np.dtype(dt), allow_nan=True)))


volumes = st.one_of(
    _arrays(),
    _shaped(hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=4)),
    st.sampled_from([None, "volume", [[[1, 2], [3]]], np.array(["a", "b"]), np.array([[[object()]]])]),
)
point_arrays = st.one_of(
    _arrays(3),
    _shaped(st.tuples(st.integers(0, 6), st.just(3))),
    st.sampled_from([None, [[1, 2, 3]], [[1, 2]], "points", [[1, 2, np.nan]], np.array([["1", "2", "3"]])]),
)
extras = st.one_of(
    st.none(),
    _arrays(3),
    _shaped(st.tuples(st.integers(0, 6))),
    _shaped(st.tuples(st.integers(0, 6), st.just(4), st.just(4))),
)
target_dtypes = st.sampled_from([np.float32, np.uint8, np.int16, bool, np.float64, "float32", "not-a-dtype", None, 3])
levels = st.one_of(st.integers(min_value=-2, max_value=6), st.sampled_from([1.5, "2", None, True]))


# -- the new_* calls ------------------------------------------------------------------------------------------------


@SETTINGS
@given(name=names, description=st.one_of(st.none(), st.text(max_size=20), st.integers()))
def test_new_run_with_any_name_works_or_raises_value_error(project: Project, name, description) -> None:
    _count("new_run")
    run = project.attempt(lambda: project.root.new_run(name, description=description))
    if run is not None:
        assert (project.data / "ExperimentRuns").resolve().parent == project.data.resolve()
        assert project.root.get_run(run.name) is not None
        assert run.name == (name.decode() if isinstance(name, bytes) else name)  # pydantic reads bytes as UTF-8


@SETTINGS
@given(voxel_size=voxel_sizes)
def test_new_voxel_spacing_with_any_size_works_or_raises_value_error(project: Project, voxel_size) -> None:
    _count("new_voxel_spacing")
    run = project.root.get_run("r") or project.root.new_run("r")
    vs = project.attempt(lambda: run.new_voxel_spacing(voxel_size))
    if vs is not None:
        assert vs.voxel_size > 0 and np.isfinite(vs.voxel_size)


@SETTINGS
@given(tomo_type=names, data=volumes, levels=levels, dtype=target_dtypes)
def test_new_tomogram_and_from_numpy_with_any_input_work_or_raise_documented_errors(
    project: Project, tomo_type, data, levels, dtype
) -> None:
    _count("new_tomogram+from_numpy")
    run = project.root.get_run("r") or project.root.new_run("r")
    vs = run.get_voxel_spacing(10.0) or run.new_voxel_spacing(10.0)
    tomo = project.attempt(lambda: vs.new_tomogram(tomo_type, exist_ok=True))
    if tomo is None:
        return
    done = project.attempt(lambda: tomo.from_numpy(data, levels=levels, dtype=dtype) or True)
    if done:
        stored = tomo.numpy()
        assert stored.shape == np.asarray(data).shape
        assert np.array_equal(stored, np.asarray(data).astype(stored.dtype), equal_nan=True)


@SETTINGS
@given(
    object_name=names,
    user_id=st.one_of(st.none(), names),
    session_id=st.one_of(st.none(), names),
    points=point_arrays,
    extra=extras,
)
def test_new_picks_and_from_numpy_with_any_input_work_or_raise_documented_errors(
    project: Project, object_name, user_id, session_id, points, extra
) -> None:
    _count("new_picks+from_numpy")
    run = project.root.get_run("r") or project.root.new_run("r")
    picks = project.attempt(lambda: run.new_picks(object_name, session_id=session_id, user_id=user_id, exist_ok=True))
    if picks is None:
        picks = run.new_picks("ribosome", session_id="9", user_id="fallback", exist_ok=True)
    done = project.attempt(lambda: picks.from_numpy(points, extra) or True)
    if done:
        stored, _ = picks.numpy()
        if np.iscomplexobj(points):
            return  # complex input is rejected: test_complex_pick_coordinates_are_rejected
        assert np.array_equal(stored, np.asarray(points, dtype=np.float64).reshape(-1, 3))
        assert np.isfinite(stored).all()


def test_complex_pick_coordinates_are_rejected(project: Project) -> None:
    picks = project.root.new_run("r").new_picks("ribosome")
    with pytest.raises(ValueError):
        picks.from_numpy(np.full((2, 3), 1 + 2j))


@SETTINGS
@given(
    name=names,
    voxel_size=voxel_sizes,
    is_multilabel=st.one_of(st.booleans(), st.sampled_from([None, 0, 1, "yes"])),
    data=volumes,
    dtype=target_dtypes,
)
def test_new_segmentation_and_from_numpy_with_any_input_work_or_raise_documented_errors(
    project: Project, name, voxel_size, is_multilabel, data, dtype
) -> None:
    _count("new_segmentation+from_numpy")
    run = project.root.get_run("r") or project.root.new_run("r")
    seg = project.attempt(
        lambda: run.new_segmentation(voxel_size, name, is_multilabel=is_multilabel, exist_ok=True, session_id="1")
    )
    if seg is None:
        return
    done = project.attempt(lambda: seg.from_numpy(data, dtype=dtype) or True)
    if done:
        assert seg.numpy().shape == np.asarray(data).shape


@SETTINGS
@given(
    name=names,
    is_particle=st.one_of(st.booleans(), st.sampled_from([None, "yes", 2])),
    label=st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([1.5, "3", True])),
    color=st.one_of(st.none(), st.tuples(*[st.integers(-300, 300)] * 4), st.sampled_from([(1, 2, 3), "red", [0] * 5])),
    radius=st.one_of(st.none(), st.floats(allow_nan=True), st.sampled_from(["big", -1])),
)
def test_new_object_with_any_fields_works_or_raises_value_error(
    project: Project, name, is_particle, label, color, radius
) -> None:
    _count("new_object")
    obj = project.attempt(lambda: project.root.new_object(name, is_particle, label=label, color=color, radius=radius))
    if obj is not None:
        assert project.root.get_object(name) is not None


# -- the models ---------------------------------------------------------------------------------------------------

floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.sampled_from(["1", None, [1]]))


@SETTINGS
@given(
    name=names,
    label=st.one_of(st.none(), st.integers(-5, 2**40), st.sampled_from(["x", 1.5])),
    color=st.one_of(st.none(), st.lists(st.integers(-300, 300), max_size=6), st.just("red")),
    radius=floats,
    map_threshold=floats,
)
def test_pickable_object_model_with_any_fields_validates_or_raises_value_error(
    name, label, color, radius, map_threshold
) -> None:
    _count("PickableObject")
    try:
        obj = PickableObject(
            name=name, is_particle=True, label=label, color=color, radius=radius, map_threshold=map_threshold
        )
    except DOCUMENTED:
        return
    assert obj.name == (name.decode() if isinstance(name, bytes) else name)  # pydantic reads bytes as UTF-8 text


@SETTINGS
@given(x=floats, y=floats, z=floats, score=floats, instance_id=st.one_of(st.none(), st.integers(), st.just("1")))
def test_point_models_with_any_values_validate_or_raise_value_error(x, y, z, score, instance_id) -> None:
    _count("CopickPoint")
    try:
        location = CopickLocation(x=x, y=y, z=z)
        point = CopickPoint(location=location, score=score, instance_id=instance_id)
    except DOCUMENTED:
        return
    assert point.location is location or point.location == location


def test_every_hostile_input_test_ran_examples() -> None:
    """Reports the number of inputs tried (docs/reliability.md quotes it); runs last in this module."""
    print(f"\nhostile inputs tried: {TRIED} (total {sum(TRIED.values())}); project calls {OUTCOMES}")


# -- import of a hostile copick project ---------------------------------------------------------------------------


def _copick_project(base: Path) -> tuple[Path, Path]:
    """A copick filesystem project with one good item of each kind and many bad ones; returns (config, overlay)."""
    import json

    from copick_db.storage import zarr_io

    overlay = base / "overlay"
    config = base / "copick_config.json"
    config.write_text(
        json.dumps(
            {
                "config_type": "filesystem",
                "name": "hostile import",
                "pickable_objects": [{"name": "ribosome", "is_particle": True, "label": 1}],
                "overlay_root": f"local://{overlay}",
            }
        )
    )
    run = overlay / "ExperimentRuns" / "TS_001"
    vs = run / "VoxelSpacing10.000"
    volume = np.arange(4 * 4 * 300, dtype=np.float32).reshape(4, 4, 300)
    zarr_io.write_multiscale(vs / "good.zarr", volume, voxel_size=10.0, levels=1)
    picks = run / "Picks"
    picks.mkdir(parents=True)
    point = {"location": {"x": 1.0, "y": 2.0, "z": 3.0}}
    good = {"pickable_object_name": "ribosome", "user_id": "alice", "session_id": "1", "points": [point]}
    (picks / "alice_1_ribosome.json").write_text(json.dumps(good))
    # Truncated and otherwise broken JSON.
    (picks / "bob_1_ribosome.json").write_text(json.dumps(good)[:37])
    (picks / "carol_1_ribosome.json").write_bytes(b"\xff\xfe\x00garbage")
    (picks / "dave_1_ribosome.json").write_text("")
    # A zarr store with a missing chunk, and stores with wrong array metadata.
    zarr_io.write_multiscale(vs / "missing-chunk.zarr", volume, voxel_size=10.0, levels=1)
    for chunk in sorted((vs / "missing-chunk.zarr" / "0").rglob("*"))[-1:]:
        chunk.unlink()
    zarr_io.write_multiscale(vs / "garbage-zarray.zarr", volume, voxel_size=10.0, levels=1)
    (vs / "garbage-zarray.zarr" / "0" / ".zarray").write_text("{not json")
    zarr_io.write_multiscale(vs / "wrong-zarray.zarr", volume, voxel_size=10.0, levels=1)
    meta = json.loads((vs / "wrong-zarray.zarr" / "0" / ".zarray").read_text())
    meta.update(dtype="<f99", shape=[4, 4], chunks=[0, 0, 0])
    (vs / "wrong-zarray.zarr" / "0" / ".zarray").write_text(json.dumps(meta))
    # Symlink loops, and links out of the project.
    os.symlink(run, vs / "loop.zarr")
    os.symlink(overlay / "ExperimentRuns" / "TS_B", overlay / "ExperimentRuns" / "TS_A")
    os.symlink(overlay / "ExperimentRuns" / "TS_A", overlay / "ExperimentRuns" / "TS_B")
    os.symlink(overlay / "ExperimentRuns", overlay / "ExperimentRuns" / "TS_SELF")
    outside = base / "outside"
    (outside / "VoxelSpacing10.000").mkdir(parents=True)
    os.symlink(outside, overlay / "ExperimentRuns" / "TS_OUT")
    os.symlink(outside / "VoxelSpacing10.000", run / "VoxelSpacing20.000")
    os.symlink("../../../../outside", picks / "eve_1_ribosome.json")
    return config, overlay


def test_importing_a_hostile_copick_project_reports_bad_items_and_never_aborts(tmp_path: Path) -> None:
    """Truncated JSON, missing chunks, wrong .zarray metadata, symlink loops, links out of the project."""
    from copick_db.catalog import inventory

    config, overlay = _copick_project(tmp_path)
    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    catalog = catalog_dir / "project.sqlite"
    allowed = [str(catalog_dir), str(overlay)]
    _WATCH["allowed"], _WATCH["violations"] = allowed, []
    try:
        report = copick_db.import_filesystem(config, catalog, progress=False)
    finally:
        _WATCH["allowed"] = None
    assert _WATCH["violations"] == [], _WATCH["violations"][:3]
    skipped = {Path(item.path).name: item.reason for item in report.skipped}
    for name in ("bob_1_ribosome.json", "carol_1_ribosome.json", "dave_1_ribosome.json", "eve_1_ribosome.json"):
        assert name in skipped, (name, skipped)
    assert "TS_OUT" in skipped and "VoxelSpacing20.000" in skipped
    assert skipped["TS_A"] == skipped["TS_B"] == "a symlink loop"
    assert skipped["TS_SELF"].endswith("a directory that contains it (a loop)")
    assert skipped["loop.zarr"].endswith("a directory that contains it (a loop)")
    assert len(report.skipped) == len(skipped)  # every bad item is reported once
    assert "do not fit shape" in skipped["wrong-zarray.zarr"] or "unknown dtype" in skipped["wrong-zarray.zarr"]
    with copick_db.open(catalog, read_only=True) as root:
        picks = root.get_picks()
        assert [(p.run.name, p.user_id) for p in picks] == [("TS_001", "alice")]
        with root.catalog.reading() as conn:
            references = inventory.data_references(conn)
        real_overlay = os.path.realpath(overlay)
        for ref in references:  # nothing indexed outside the project, even through links
            resolved = os.path.realpath(root.data.resolve(ref.root_id, ref.path))
            assert resolved.startswith(real_overlay + os.sep), resolved
        for tomo in root.get_tomograms():
            try:
                data = tomo.numpy()
            except (*DOCUMENTED, LookupError, OSError) as exc:
                assert not type(exc).__module__.startswith(("zarr", "numcodecs")), repr(exc)
                continue
            assert data.shape == (4, 4, 300)
        good = root.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("good")
        assert good.numpy().sum() == np.arange(4 * 4 * 300).sum()
        # Impossible array metadata is refused at import, so `copick-db check` finds nothing broken that got in.
        from copick_db import maintenance

        assert maintenance.check(root).missing == []
