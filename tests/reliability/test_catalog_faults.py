"""Catalog faults: damaged files, newer schemas, read-only locations, full disks, failed upgrades.

Each gives a clear message through one of copick_db's documented errors (never a raw SQLAlchemy, sqlite3 or zarr
exception where the contract promises ours) and does no further damage: the catalog's bytes (or rows) and the data
stay as they were.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
import reliability_workers as workers
import sqlalchemy.exc
import trimesh
from sqlalchemy import event

import copick_db
from copick_db import maintenance
from copick_db.catalog import schema
from copick_db.catalog.engine import make_engine, to_url
from copick_db.errors import (
    CatalogError,
    CopickDBError,
    NotACatalogError,
    ReadOnlyError,
    SchemaTooNewError,
    ZarrGroupNotFoundError,
)
from copick_db.storage import atomic, glb, zarr_io

#: What the contract allows a fault to raise (our errors subclass these too).
DOCUMENTED = (CopickDBError, ValueError, LookupError, PermissionError, OSError)


def _project(directory: Path) -> Path:
    """A small project with one of everything; returns the catalog path (closed, WAL merged)."""
    catalog = directory / "project.sqlite"
    root = copick_db.create(catalog, workers.CONFIG)
    run = root.new_run("TS_001")
    run.new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.ones((8, 8, 8)), levels=2)
    run.new_picks("ribosome", user_id="alice", session_id="1").from_numpy(np.ones((5, 3)))
    run.new_segmentation(10.0, "membrane", user_id="alice", session_id="1").from_numpy(np.ones((8, 8, 8), np.uint8))
    mesh = run.new_mesh("proteasome", user_id="alice", session_id="1")
    mesh.mesh = trimesh.creation.box()
    mesh.store()
    for i in range(30):  # enough rows for several pages
        root.new_run(f"filler-{i:03d}", description="x" * 200)
    root.close()
    return catalog


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return _project(tmp_path)


def _use_everything(catalog: Path, read_only: bool) -> None:
    """Open a project and read everything in it (and, when writable, write a little)."""
    with copick_db.open(catalog, read_only=read_only) as root:
        for run in root.runs:
            for vs in run.voxel_spacings:
                for tomo in vs.tomograms:
                    with contextlib.suppress(ZarrGroupNotFoundError):  # created, never written
                        tomo.numpy()
            for picks in run.picks:
                picks.numpy()
            for seg in run.segmentations:
                seg.numpy()
            for mesh in run.meshes:
                _ = mesh.mesh
        root.get_picks()
        root.stats()
        if not read_only:
            root.new_run("written-after-damage")


def _is_ours(exc: BaseException) -> bool:
    """A documented error type, and not a raw database or zarr exception."""
    raw = (sqlalchemy.exc.SQLAlchemyError, sqlite3.Error)
    return isinstance(exc, DOCUMENTED) and not isinstance(exc, raw) and bool(str(exc))


def _damage(path: Path, kind: str) -> None:
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(7)
    page = 4096
    if kind == "truncated-to-zero":
        data = bytearray()
    elif kind == "truncated-in-the-header":
        data = data[:50]
    elif kind == "truncated-to-half":
        data = data[: len(data) // 2]
    elif kind == "truncated-by-one-page":
        data = data[:-page]
    elif kind == "overwritten-with-garbage":
        data = bytearray(rng.integers(0, 256, len(data), dtype=np.uint8).tobytes())
    elif kind == "garbage-in-the-header":
        data[:100] = rng.integers(0, 256, 100, dtype=np.uint8).tobytes()
    elif kind == "garbage-in-every-page-but-the-first":
        for start in range(page, len(data), page):
            data[start + 8 : start + 64] = rng.integers(0, 256, 56, dtype=np.uint8).tobytes()
    elif kind == "garbage-in-the-last-pages":
        data[-2 * page :] = rng.integers(0, 256, 2 * page, dtype=np.uint8).tobytes()
    else:  # pragma: no cover
        raise AssertionError(kind)
    path.write_bytes(bytes(data))


DAMAGE = [
    "truncated-to-zero",
    "truncated-in-the-header",
    "truncated-to-half",
    "truncated-by-one-page",
    "overwritten-with-garbage",
    "garbage-in-the-header",
    "garbage-in-every-page-but-the-first",
    "garbage-in-the-last-pages",
]


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_catalog_gives_a_clear_error_and_is_not_damaged_further(catalog: Path, kind: str) -> None:
    assert not Path(f"{catalog}-wal").exists()
    _damage(catalog, kind)
    before = catalog.read_bytes()
    outcomes = []
    for read_only in (True, False):
        try:
            _use_everything(catalog, read_only)
            outcomes.append("worked")
        except BaseException as exc:  # the type is what is tested
            assert _is_ours(exc), f"{kind}: {type(exc).__module__}.{type(exc).__name__}: {exc}"
            outcomes.append(type(exc).__name__)
            if read_only or "written-after-damage" not in str(exc):
                assert catalog.read_bytes() == before, f"{kind}: a failed {read_only=} open changed the file"
    # The CLI either works (it may not touch the damaged pages) or says what is wrong in one line.
    for args in (["info", "-c", str(catalog)], ["stats", "-c", str(catalog), "--json"]):
        code, output = workers.run_cli(args)
        assert code == 0 or (code == 1 and output.startswith("Error: ") and len(output.splitlines()) == 1), output
    assert catalog.read_bytes() == before or outcomes[1] == "worked"
    print(f"\n{kind}: {outcomes}")


def test_the_cli_reports_a_damaged_catalog_in_one_line(catalog: Path) -> None:
    _damage(catalog, "truncated-to-half")
    result = subprocess.run(
        [str(Path(os.sys.executable).parent / "copick-db"), "info", "-c", str(catalog)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "damaged" in result.stderr and "backup" in result.stderr


def _set_version(catalog: Path, version: str) -> None:
    con = sqlite3.connect(catalog)
    with con:
        con.execute("UPDATE alembic_version SET version_num = ?", (version,))
    con.close()


def test_a_catalog_from_a_newer_copick_db_names_both_versions_and_stays_unchanged(catalog: Path) -> None:
    _set_version(catalog, "0099")
    before = catalog.read_bytes()
    for read_only in (True, False):
        with pytest.raises(SchemaTooNewError, match=rf"version 99.*version {schema.SCHEMA_VERSION}"):
            copick_db.open(catalog, read_only=read_only)
    with pytest.raises(SchemaTooNewError):
        maintenance.upgrade(catalog)
    for args in (["info", "-c", str(catalog)], ["upgrade", str(catalog)], ["check", "-c", str(catalog), "--fix"]):
        code, output = workers.run_cli(args)
        assert code == 1 and "newer" in output and "Traceback" not in output, (args, output)
    assert catalog.read_bytes() == before
    wal = Path(f"{catalog}-wal")  # SQLite's read-only connections may leave an empty one behind
    assert not wal.exists() or wal.stat().st_size == 0


# -- read-only locations ----------------------------------------------------------------------------------------


def _read_only_checks(catalog: Path) -> None:
    before = catalog.read_bytes()
    _use_everything(catalog, read_only=True)  # reading works
    with pytest.raises(ReadOnlyError, match="read_only=True"):
        copick_db.open(catalog)
    with copick_db.open(catalog, read_only=True) as root, pytest.raises(PermissionError):
        root.new_run("nope")
    code, output = workers.run_cli(["check", "-c", str(catalog)])
    assert code == 0 and "No problems found" in output, output
    code, output = workers.run_cli(["check", "-c", str(catalog), "--fix", "--yes"])
    assert code == 1 and "read_only=True" in output, output
    assert catalog.read_bytes() == before


@contextlib.contextmanager
def _tmpfs(size: str) -> Path:
    """A fresh tmpfs mount (needs CAP_SYS_ADMIN); skips the test where mounting is not allowed."""
    mount_point = Path("/tmp") / f"copick-db-tmpfs-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)], capture_output=True
    )
    if result.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.decode().strip() or 'not permitted'})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
        with contextlib.suppress(OSError):
            mount_point.rmdir()


def test_a_catalog_on_a_read_only_filesystem_opens_read_only_and_refuses_writes_clearly() -> None:
    """A real read-only mount: root cannot write there either."""
    with _tmpfs("16m") as mount:
        catalog = _project(mount)
        result = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot remount read-only: {result.stderr.decode().strip()}")
        _read_only_checks(catalog)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions; the read-only mount test covers it")
def test_a_catalog_in_a_directory_without_write_permission_opens_read_only(catalog: Path) -> None:
    os.chmod(catalog.parent, 0o555)
    try:
        _read_only_checks(catalog)
    finally:
        os.chmod(catalog.parent, 0o755)


def test_a_read_only_directory_is_handled_even_as_root(catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root no directory is read-only, so ``os.access`` is told it is: the decision path is the same."""
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == catalog.parent else real_access(p, mode)
    )
    before = catalog.read_bytes()
    with pytest.raises(ReadOnlyError, match="read_only=True"):
        copick_db.open(catalog)
    _use_everything(catalog, read_only=True)
    assert not Path(f"{catalog}-shm").exists() and not Path(f"{catalog}-wal").exists()  # immutable: no side files
    assert catalog.read_bytes() == before


def test_a_write_refused_by_sqlite_itself_is_a_read_only_error(catalog: Path) -> None:
    """SQLITE_READONLY (a file SQLite could only open read-only) becomes a ReadOnlyError, not a database trace."""
    root = copick_db.open(catalog)
    event.listen(root.catalog.engine, "connect", lambda con, _: con.execute("PRAGMA query_only=ON"))
    root.catalog.engine.dispose()
    with pytest.raises(ReadOnlyError, match="read-only"):
        root.new_run("refused")
    root.close()


# -- full disks -------------------------------------------------------------------------------------------------


def _state(catalog: Path) -> tuple:
    con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        rows = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()
    return rows, workers.project_files(catalog.parent / "project.data")


def test_a_full_disk_during_a_volume_write_says_so_and_changes_nothing(catalog: Path, monkeypatch) -> None:
    real = zarr_io.write_multiscale

    def fills_the_disk(path, data, **kwargs):
        real(path, data[:1], **{**kwargs, "levels": 1})  # part of the data reached the disk
        raise OSError(errno.ENOSPC, "No space left on device", str(path / "0" / "0" / "0" / "0"))

    monkeypatch.setattr(zarr_io, "write_multiscale", fills_the_disk)
    root = copick_db.open(catalog)
    tomo = root.get_run("TS_001").get_voxel_spacing(10.0).get_tomogram("wbp")
    (seg,) = root.get_run("TS_001").segmentations
    before = _state(catalog)
    for write in (lambda: tomo.from_numpy(np.zeros((8, 8, 8)), levels=2), lambda: seg.from_numpy(np.zeros((8, 8, 8)))):
        with pytest.raises(OSError, match="no space left") as info:
            write()
        assert info.value.errno == errno.ENOSPC and "Nothing was changed" in str(info.value)
    assert _state(catalog) == before
    monkeypatch.undo()
    assert np.array_equal(tomo.numpy(), np.ones((8, 8, 8), np.float32))
    assert maintenance.check(root).ok
    root.close()


def test_a_full_disk_during_a_mesh_write_changes_nothing(catalog: Path, monkeypatch) -> None:
    def fills_the_disk(path, mesh):
        Path(path).write_bytes(b"glTF" + b"\0" * 10)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(glb, "write_glb", fills_the_disk)
    root = copick_db.open(catalog)
    (mesh,) = root.get_run("TS_001").meshes
    before = _state(catalog)
    mesh.mesh = trimesh.creation.icosphere()
    with pytest.raises(OSError, match="no space left"):
        mesh.store()
    assert _state(catalog) == before
    monkeypatch.undo()
    assert len(mesh.load().faces) == 12 and maintenance.check(root).ok
    root.close()


def test_a_full_catalog_says_so_rolls_back_and_works_again_when_space_is_free(catalog: Path) -> None:
    """SQLITE_FULL, produced for real by capping the database's page count."""
    root = copick_db.open(catalog)
    cap = {"pages": None}

    def limit(con, _record) -> None:
        if cap["pages"] is not None:
            con.execute(f"PRAGMA max_page_count={cap['pages']}")

    event.listen(root.catalog.engine, "connect", limit)
    with root.catalog.reading() as conn:
        cap["pages"] = conn.exec_driver_sql("PRAGMA page_count").scalar()
    root.catalog.engine.dispose()
    before = _state(catalog)
    picks = root.get_run("TS_001").new_picks("ribosome", user_id="bob", session_id="1", exist_ok=True)
    with pytest.raises(OSError, match="No space left") as info:
        for _ in range(3):
            picks.from_numpy(np.random.default_rng(0).normal(size=(200_000, 3)))  # megabytes of points
    assert info.value.errno == errno.ENOSPC and "rolled back" in str(info.value)
    after = _state(catalog)
    assert after[1] == before[1]
    cap["pages"] = None
    root.catalog.engine.dispose()
    picks.from_numpy(np.ones((3, 3)))
    assert maintenance.check(root).ok
    root.close()


def test_a_real_full_disk_gives_clear_errors_and_no_damage() -> None:
    """A tiny tmpfs filled up for real: volume writes, then catalog writes, fail cleanly; freeing space heals."""
    with _tmpfs("3m") as mount:
        catalog = _project(mount)
        root = copick_db.open(catalog)
        vs = root.get_run("TS_001").get_voxel_spacing(10.0)
        noise = np.random.default_rng(1).normal(size=(64, 64, 64)).astype(np.float32)  # incompressible, 1 MB
        written, error = [], None
        for i in range(10):
            tomo = vs.new_tomogram(f"noise{i}")
            try:
                tomo.from_numpy(noise, levels=1)
            except OSError as exc:
                error = exc
                break
            written.append(tomo.tomo_type)
        assert error is not None and error.errno == errno.ENOSPC and "Nothing was changed" in str(error), error
        assert atomic.find_leftovers(mount, inside_stores=True) == []
        report = maintenance.check(root)
        assert report.missing == [] and report.leftovers == []
        ballast = mount / "ballast"
        with contextlib.suppress(OSError), open(ballast, "wb") as handle:
            while True:
                handle.write(b"\0" * 65536)
        failures = []
        for i in range(50):
            try:
                root.new_run(f"when-full-{i}", description="y" * 2000)
            except BaseException as exc:
                failures.append(exc)
                break
        assert failures and _is_ours(failures[0]), failures
        assert isinstance(failures[0], OSError) and failures[0].errno == errno.ENOSPC
        ballast.unlink()
        root.new_run("after-space-was-freed")
        for name in written:
            assert np.array_equal(vs.get_tomogram(name).numpy(), noise)
        assert maintenance.check(root).ok
        root.close()
        _use_everything(catalog, read_only=False)


# -- upgrades ---------------------------------------------------------------------------------------------------


def _old_catalog(directory: Path) -> Path:
    """A catalog at schema version 1 with a project, a data root and a run, as release 1 wrote it."""
    catalog = directory / "old.sqlite"
    engine = make_engine(to_url(catalog))
    schema.upgrade(engine, "0001")
    engine.dispose()
    con = sqlite3.connect(catalog)
    with con:
        con.execute("INSERT INTO project (id, name, created) VALUES (1, 'old project', 0.0)")
        con.execute("INSERT INTO data_root (name, path, read_only) VALUES ('default', 'old.data', 0)")
        con.execute("INSERT INTO run (name, read_only) VALUES ('TS_001', 0)")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    (directory / "old.data").mkdir()
    return catalog


def _dump(catalog: Path) -> list[str]:
    con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_copick_db_upgrade_keeps_a_backup_of_the_previous_version(tmp_path: Path) -> None:
    catalog = _old_catalog(tmp_path)
    original = _dump(catalog)
    code, output = workers.run_cli(["upgrade", str(catalog)])
    assert code == 0 and "Backup" in output, output
    (backup,) = [p for p in tmp_path.iterdir() if "backup" in p.name]
    assert _dump(backup) == original
    with copick_db.open(catalog) as root:
        assert [r.name for r in root.runs] == ["TS_001"]


@pytest.mark.parametrize("fail_at", ["create_table", "create_index"])
def test_a_failed_migration_leaves_the_original_untouched_and_says_where_the_backup_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    from alembic.operations import Operations

    catalog = _old_catalog(tmp_path)
    original_bytes, original = catalog.read_bytes(), _dump(catalog)
    real = getattr(Operations, fail_at)
    calls = [0]

    def fails_midway(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:  # after the migration changed something already
            raise RuntimeError("injected failure in the middle of a migration")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Operations, fail_at, fails_midway)
    with pytest.raises(CatalogError, match=r"failed and changed nothing.*backup is at") as info:
        maintenance.upgrade(catalog)
    assert "injected failure" in str(info.value)
    assert _dump(catalog) == original
    assert catalog.read_bytes() == original_bytes
    (backup,) = [p for p in tmp_path.iterdir() if "backup" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert _dump(backup) == original
    calls[0] = 0
    code, output = workers.run_cli(["upgrade", str(catalog)])
    assert code == 1 and output.startswith("Error: Upgrading") and len(output.strip().splitlines()) == 1, output
    assert _dump(catalog) == original
    monkeypatch.undo()
    assert maintenance.upgrade(catalog).to_version == schema.SCHEMA_VERSION
    with copick_db.open(catalog) as root:
        assert [r.name for r in root.runs] == ["TS_001"]


def test_opening_an_old_catalog_never_migrates_it(tmp_path: Path) -> None:
    catalog = _old_catalog(tmp_path)
    before = catalog.read_bytes()
    for read_only in (True, False):
        with pytest.raises(CatalogError, match="copick-db upgrade"):
            copick_db.open(catalog, read_only=read_only)
    assert catalog.read_bytes() == before


def test_not_a_catalog_errors_are_value_errors_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n" * 100)
    with pytest.raises(NotACatalogError, match=str(path)):
        copick_db.open(path)
