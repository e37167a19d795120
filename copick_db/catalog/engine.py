"""SQLite connections: pragmas on every connection, and explicit transactions.

Design invariants:
- Every connection runs with ``foreign_keys=ON`` (cascades and parent checks are the catalog's integrity) and a
  ``busy_timeout``, so concurrent writers wait for each other instead of failing with "database is locked".
- pysqlite's implicit transactions are switched off; we issue ``BEGIN`` ourselves. Writers start with
  ``BEGIN IMMEDIATE``: they take the write lock before their first read, so two writers never both read, then
  both try to upgrade to a write lock (which SQLite resolves by failing one of them at once).
- The journal is WAL on a local disk: readers never block the writer, and a killed process leaves no torn commit.
  A read-only root sets ``query_only``, so not even a stray statement can write.
- On a network filesystem (NFS, SMB/CIFS, Lustre, BeeGFS, GPFS, sshfs...) the journal is ``DELETE`` (a rollback
  journal) instead, with a ``UserWarning``: WAL keeps its index in shared memory (``<catalog>-shm``, mapped by
  every process), which such filesystems do not share reliably between processes and machines. The decision is
  :func:`journal_mode_for`, a pure function of the catalog's directory and the mount table; the environment
  variable ``COPICK_DB_JOURNAL_MODE`` (``WAL`` or ``DELETE``) overrides it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

from copick_db.crashpoints import crash_point

#: How long a writer waits for another writer's lock before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 60_000

_WRITE_OPTION = "copick_db_write"

#: Filesystem types (as the kernel's mount table names them) on which WAL is not safe: network and cluster
#: filesystems, whose shared-memory mappings and locks are not coherent between processes or machines.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "lustre", "beegfs", "gpfs", "ceph", "cephfs",
        "glusterfs", "ocfs2", "gfs2", "afs", "9p", "davfs", "panfs", "orangefs", "pvfs2", "ncpfs",
    }
)  # fmt: skip
#: FUSE filesystems that reach storage over the network (``fuse.<name>`` in the mount table).
NETWORK_FUSE = frozenset(
    {"sshfs", "glusterfs", "ceph", "cephfs", "s3fs", "gcsfuse", "rclone", "juicefs", "davfs", "moosefs", "lizardfs"}
)
#: Environment variable that forces the journal mode (``WAL`` or ``DELETE``), overriding detection.
JOURNAL_MODE_ENV = "COPICK_DB_JOURNAL_MODE"
_MOUNT_TABLES = ("/proc/self/mountinfo", "/proc/mounts")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def is_sqlite_url(url: str) -> bool:
    """Whether ``url`` is an SQLAlchemy URL (as opposed to a file path)."""
    return "://" in url and url.split("://", 1)[0].replace("+", "").isalnum()


def to_url(catalog: str | Path) -> str:
    """The SQLAlchemy URL for a catalog given as a path or URL."""
    text = str(catalog)
    if is_sqlite_url(text):
        return text
    # SQLAlchemy percent-decodes the database part of a URL and ends it at "?", so those two characters are escaped
    # to keep a path such as "runs?/50%.sqlite" the file it names.
    path = str(Path(text).expanduser().absolute())
    return "sqlite:///" + path.replace("%", "%25").replace("?", "%3F")


def database_path(url: str) -> Path | None:
    """The file a SQLite URL points to, or None for in-memory and non-SQLite databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _unescape_mount_path(text: str) -> str:
    """Undo the octal escapes (``\\040`` for a space, ``\\134`` for a backslash) of paths in mount tables."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mount_table(text: str) -> list[tuple[str, str]]:
    """The (mount point, filesystem type) pairs of a mount table, in the order listed.

    Args:
        text: The contents of ``/proc/self/mountinfo`` (fields, then `` - fstype source options``) or of
            ``/proc/mounts`` / ``/etc/mtab`` (``source mountpoint fstype options dump pass``).

    Returns:
        One pair per well-formed line; malformed lines are skipped.
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if " - " in line and len(fields) >= 7:  # mountinfo: id parent dev root mountpoint options... - type source
            before, _, after = line.partition(" - ")
            head, tail = before.split(), after.split()
            if len(head) >= 5 and tail:
                mounts.append((_unescape_mount_path(head[4]), tail[0]))
        elif len(fields) >= 3:
            mounts.append((_unescape_mount_path(fields[1]), fields[2]))
    return mounts


def filesystem_of(path: str | Path, mount_table: str) -> tuple[str, str] | None:
    """The mount that holds ``path``: the longest mount point that is ``path`` or one of its parents.

    Args:
        path: An absolute path (resolve symlinks first: the mount table lists real paths).
        mount_table: The text of a mount table (see :func:`parse_mount_table`).

    Returns:
        (mount point, filesystem type), or None when no mount point matches. Of several mounts on one point the
        last listed wins (it hides the others).
    """
    target = os.path.normpath(str(path))
    best: tuple[str, str] | None = None
    for mount_point, fs_type in parse_mount_table(mount_table):
        point = os.path.normpath(mount_point)
        inside = point == "/" or target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fs_type)
    return best


def is_network_filesystem(fs_type: str) -> bool:
    """Whether a filesystem type (``nfs4``, ``fuse.sshfs``, ``ext4``...) is a network or cluster filesystem."""
    kind = fs_type.lower()
    if kind.startswith("fuse."):
        return kind[5:] in NETWORK_FUSE
    return kind in NETWORK_FILESYSTEMS or kind.startswith(("nfs", "smb"))


def journal_mode_for(directory: str | Path, mount_table: str | None) -> tuple[str, str | None]:
    """Choose the journal mode for a catalog in ``directory``: WAL on local disks, DELETE on network filesystems.

    A pure function, so tests can hand it any mount table.

    Args:
        directory: The catalog's directory, absolute and with symlinks resolved.
        mount_table: The mount table's text, or None where there is none (not Linux): WAL then.

    Returns:
        ``("WAL", None)``, or ``("DELETE", reason)`` where the reason says why, for a warning.
    """
    if mount_table is None:
        return "WAL", None
    found = filesystem_of(directory, mount_table)
    if found is None or not is_network_filesystem(found[1]):
        return "WAL", None
    mount_point, fs_type = found
    return "DELETE", (
        f"The catalog's directory {directory} is on a network filesystem ({fs_type}, mounted at {mount_point}). "
        "SQLite's WAL journal needs shared memory (the -shm file) that network filesystems do not provide "
        "reliably, so copick_db uses journal_mode=DELETE (a rollback journal) there: readers and writers wait for "
        f"each other more, but no commit is lost. Set {JOURNAL_MODE_ENV}=WAL to override."
    )


def read_mount_table() -> str | None:
    """The text of this process's mount table, or None where there is none (not Linux)."""
    for table in _MOUNT_TABLES:
        try:
            with open(table, encoding="utf-8", errors="surrogateescape") as handle:
                return handle.read()
        except OSError:
            continue
    return None


def choose_journal_mode(url: str) -> str:
    """The journal mode for a catalog URL: the environment's override, else :func:`journal_mode_for` its directory.

    Warns (``UserWarning``) when a network filesystem makes it ``DELETE``.
    """
    forced = os.environ.get(JOURNAL_MODE_ENV, "").strip().upper()
    if forced in ("WAL", "DELETE", "TRUNCATE", "PERSIST"):
        return forced
    path = database_path(url)
    if path is None:
        return "WAL"
    mode, reason = journal_mode_for(os.path.realpath(path.parent), read_mount_table())
    if reason is not None:
        warnings.warn(reason, UserWarning, stacklevel=3)
    return mode


def make_engine(
    url: str, *, read_only: bool = False, journal_mode: str | None = None, immutable: bool = False
) -> Engine:
    """Create an engine whose connections carry the catalog's pragmas and transaction handling.

    Args:
        url: SQLAlchemy URL of the catalog.
        read_only: Refuse every write at the SQLite level (``PRAGMA query_only``).
        journal_mode: ``WAL`` or ``DELETE``; None chooses by the catalog's filesystem (:func:`choose_journal_mode`:
            WAL on local disks, DELETE with a warning on network filesystems).
        immutable: Open the file read-only in SQLite's immutable mode (no locks, no ``-shm``): for a catalog in a
            directory this process cannot write to, which therefore nobody can be writing through SQLite's WAL.
    """
    connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    path = database_path(url) if immutable else None
    if path is not None:
        uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(uri, uri=True, **connect_args),  # type: ignore[arg-type]
        )
        read_only = True
    else:
        engine = create_engine(url, connect_args=connect_args)
    if engine.dialect.name != "sqlite":
        return engine
    if journal_mode is None and not read_only:
        journal_mode = choose_journal_mode(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not read_only:
            mode = cursor.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0]
            if mode.upper() == "WAL":
                cursor.execute("PRAGMA synchronous=NORMAL")
        else:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside ``BEGIN IMMEDIATE``: committed on normal exit, rolled back on any exception."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn
            crash_point("txn.commit")
        crash_point("txn.committed")


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads (a deferred transaction, released on exit)."""
    with engine.connect() as conn:
        yield conn
