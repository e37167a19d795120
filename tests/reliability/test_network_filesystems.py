"""On a network filesystem the catalog uses a rollback journal instead of WAL, with a warning that says why.

The decision is a pure function of the catalog's directory and the mount table, so the tests hand it fake mount
tables (NFS, SMB, Lustre, sshfs...) rather than needing a real network mount.
"""

from __future__ import annotations

import multiprocessing
import warnings
from pathlib import Path

import numpy as np
import pytest
import reliability_workers as workers

import copick_db
from copick_db.catalog import sqlite

MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 27 0:40 / /home rw,relatime shared:5 - nfs4 fileserver:/export/home rw,vers=4.2,rsize=1048576
32 27 0:41 / /home/alice/local rw,relatime - ext4 /dev/vdb rw
33 27 0:42 / /mnt/lab\040share rw,relatime - cifs //nas/lab rw,vers=3.0
34 27 0:43 / /lustre/scratch rw - lustre 10.0.0.1@tcp:/scratch rw,flock
35 27 0:44 / /mnt/remote rw,nosuid - fuse.sshfs alice@cluster:/data rw,user_id=0
36 27 0:45 / /mnt/usb rw - fuse.exfat /dev/sdb1 rw
37 27 0:46 / /gpfs rw - gpfs gpfs0 rw
38 27 0:47 / /beegfs rw - beegfs beegfs_nodev rw
"""
PROC_MOUNTS = """/dev/vda / ext4 rw,relatime 0 0
fileserver:/export/projects /projects nfs rw,vers=3 0 0
//nas/share /mnt/smb smb3 rw 0 0
"""


@pytest.mark.parametrize(
    ("directory", "mode", "fs_type"),
    [
        ("/work/project", "WAL", "ext4"),
        ("/home/alice/project", "DELETE", "nfs4"),
        ("/home", "DELETE", "nfs4"),
        ("/home/alice/local/project", "WAL", "ext4"),  # a local disk mounted inside an NFS home: longest match wins
        ("/homework", "WAL", "ext4"),  # a prefix of the name is not a parent directory
        ("/mnt/lab share/cryoet", "DELETE", "cifs"),  # mount points escape spaces as \040
        ("/lustre/scratch/u/p", "DELETE", "lustre"),
        ("/mnt/remote/p", "DELETE", "fuse.sshfs"),
        ("/mnt/usb/p", "WAL", "fuse.exfat"),
        ("/gpfs/p", "DELETE", "gpfs"),
        ("/beegfs/p", "DELETE", "beegfs"),
    ],
)
def test_the_journal_mode_follows_the_filesystem_of_the_catalogs_directory(directory, mode, fs_type) -> None:
    assert sqlite.filesystem_of(directory, MOUNTINFO)[1] == fs_type
    chosen, reason = sqlite.journal_mode_for(directory, MOUNTINFO)
    assert chosen == mode
    if mode == "DELETE":
        assert fs_type in reason and "WAL" in reason and "shared memory" in reason and "network" in reason
    else:
        assert reason is None


def test_the_proc_mounts_format_is_understood_too() -> None:
    assert sqlite.journal_mode_for("/projects/p", PROC_MOUNTS)[0] == "DELETE"
    assert sqlite.journal_mode_for("/mnt/smb/x", PROC_MOUNTS)[0] == "DELETE"
    assert sqlite.journal_mode_for("/tmp", PROC_MOUNTS)[0] == "WAL"


def test_without_a_mount_table_or_a_matching_mount_wal_is_kept() -> None:
    assert sqlite.journal_mode_for("/anything", None) == ("WAL", None)
    assert sqlite.journal_mode_for("/anything", "") == ("WAL", None)
    assert sqlite.journal_mode_for("/anything", "garbage line\n\n") == ("WAL", None)


def test_the_real_mount_table_of_this_machine_parses() -> None:
    table = sqlite.read_mount_table()
    if table is None:
        pytest.skip("no /proc mount table on this platform")
    assert sqlite.filesystem_of("/", table) is not None


def _fake_network_mount(monkeypatch: pytest.MonkeyPatch, directory: Path, fs_type: str = "nfs4") -> None:
    table = f"27 1 254:0 / / rw - ext4 /dev/vda rw\n99 27 0:50 / {directory} rw - {fs_type} server:/export rw\n"
    monkeypatch.setattr(sqlite, "read_mount_table", lambda: table)
    monkeypatch.delenv(sqlite.JOURNAL_MODE_ENV, raising=False)


def _journal_mode(root) -> str:
    with root.catalog.reading() as conn:
        return conn.exec_driver_sql("PRAGMA journal_mode").scalar().upper()


def test_a_catalog_on_a_network_filesystem_uses_a_rollback_journal_and_warns_why(tmp_path, monkeypatch) -> None:
    _fake_network_mount(monkeypatch, tmp_path)
    with pytest.warns(UserWarning, match=r"network filesystem \(nfs4.*shared memory.*journal_mode=DELETE"):
        root = copick_db.create(tmp_path / "project.sqlite", workers.CONFIG)
    assert _journal_mode(root) == "DELETE"
    root.new_run("r").new_voxel_spacing(10.0).new_tomogram("wbp").from_numpy(np.ones((4, 4, 4)), levels=1)
    root.close()
    assert not Path(f"{tmp_path / 'project.sqlite'}-wal").exists()
    with pytest.warns(UserWarning, match="network filesystem"):
        again = copick_db.open(tmp_path / "project.sqlite")
    assert [r.name for r in again.runs] == ["r"] and _journal_mode(again) == "DELETE"
    again.close()


def test_a_wal_catalog_moved_onto_a_network_filesystem_is_switched_to_a_rollback_journal(tmp_path, monkeypatch):
    copick_db.create(tmp_path / "project.sqlite", workers.CONFIG).close()  # made on a local disk: WAL
    _fake_network_mount(monkeypatch, tmp_path, "cifs")
    with pytest.warns(UserWarning, match="cifs"):
        root = copick_db.open(tmp_path / "project.sqlite")
    root.new_run("r")
    assert _journal_mode(root) == "DELETE"
    root.close()


def test_the_environment_can_force_the_journal_mode(tmp_path, monkeypatch) -> None:
    _fake_network_mount(monkeypatch, tmp_path)
    monkeypatch.setenv(sqlite.JOURNAL_MODE_ENV, "wal")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        root = copick_db.create(tmp_path / "project.sqlite", workers.CONFIG)
    assert _journal_mode(root) == "WAL"
    root.close()


def test_a_local_disk_keeps_wal_without_a_warning(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(sqlite.JOURNAL_MODE_ENV, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        root = copick_db.create(tmp_path / "project.sqlite", workers.CONFIG)
    assert _journal_mode(root) == "WAL"
    root.close()


@pytest.mark.slow
def test_concurrent_writers_and_readers_lose_nothing_with_the_rollback_journal(tmp_path, monkeypatch) -> None:
    """The mode a network filesystem gets still holds up under concurrency (forced here on the local disk)."""
    monkeypatch.setenv(sqlite.JOURNAL_MODE_ENV, "DELETE")  # inherited by the spawned children
    catalog = tmp_path / "project.sqlite"
    copick_db.create(catalog, workers.CONFIG).close()
    ctx = multiprocessing.get_context("spawn")
    writers, units = 3, 6
    barrier, stop, results = ctx.Barrier(writers + 1), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=workers.writer, args=(str(catalog), w, units, barrier, results)) for w in range(writers)
    ]
    procs.append(ctx.Process(target=workers.reader, args=(str(catalog), 0, barrier, stop, results)))
    for process in procs:
        process.start()
    reports = [results.get(timeout=180) for _ in range(writers)]
    stop.set()
    reports.append(results.get(timeout=180))
    for process in procs:
        process.join(timeout=60)
    assert [e for r in reports for e in r["errors"]] == []
    assert [v for r in reports for v in r.get("violations", [])] == []
    with copick_db.open(catalog) as root:
        assert _journal_mode(root) == "DELETE"
        assert len(root.get_picks()) == writers * units
        assert sum(r["commits"] for r in reports if r["role"] == "writer") >= writers * units * 6


def test_creating_a_catalog_on_a_network_filesystem_warns_once(tmp_path, monkeypatch) -> None:
    _fake_network_mount(monkeypatch, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        copick_db.create(tmp_path / "project.sqlite", workers.CONFIG).close()
    assert len([w for w in caught if "network filesystem" in str(w.message)]) == 1
