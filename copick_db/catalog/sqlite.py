"""The SQLite backend: a catalog in one local file.

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
- Opening checks the file with a plain read-only ``sqlite3`` connection before any engine touches it (an engine
  switches the journal to WAL, a write): another application's database, even one that uses alembic too, stays
  byte-for-byte unchanged. A WAL catalog in a directory this process cannot write to is opened in SQLite's
  immutable mode (no ``-shm`` can be made there, and so nobody can be writing it).
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

from copick_db.catalog import schema
from copick_db.catalog.backend import WRITE_OPTION, Backend
from copick_db.errors import (
    CatalogError,
    DuplicateEntityError,
    NotACatalogError,
    NotFoundError,
    ReadOnlyError,
)

#: How long a writer waits for another writer's lock before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 60_000

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
#: Tables every copick_db catalog has had since schema version 1.
_CORE_TABLES = frozenset({"project", "data_root"})


# -- URLs and files ----------------------------------------------------------------------------------------------


def url_for_path(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file given as a path (``~`` expanded, made absolute)."""
    # SQLAlchemy percent-decodes the database part of a URL and ends it at "?", so those two characters are escaped
    # to keep a path such as "runs?/50%.sqlite" the file it names.
    absolute = str(Path(path).expanduser().absolute())
    return "sqlite:///" + absolute.replace("%", "%25").replace("?", "%3F")


def database_path(url: str) -> Path | None:
    """The file a SQLite URL points to, or None for in-memory and non-SQLite databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


# -- network filesystems and the journal mode ---------------------------------------------------------------------


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
        warnings.warn(reason, UserWarning, stacklevel=4)
    return mode


# -- opening an existing file without changing it -----------------------------------------------------------------


def _needs_immutable(path: Path, read_only: bool) -> bool:
    """Whether ``path`` must be opened in SQLite's immutable mode (a read-only open of a WAL catalog whose directory
    cannot take the ``-shm`` and ``-wal`` files SQLite needs).

    Raises:
        ReadOnlyError: The directory is read-only and the open is not.
        CatalogError: A ``-wal`` file holds changes that cannot be applied (its directory is read-only).
    """
    if os.access(path.parent, os.W_OK):
        return False
    if not read_only:
        raise ReadOnlyError(
            f"{path} is in a directory this process cannot write to ({path.parent}); SQLite needs to create its "
            "-wal and -shm files there to write. Open it with read_only=True (copick-db commands that only read do)."
        )
    if not _is_wal(path):
        return False
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if wal.exists() and shm.exists():
        return False  # SQLite reads through existing -wal/-shm files
    if wal.exists() and wal.stat().st_size > 0:
        raise CatalogError(
            f"{path} has changes in {wal.name} that were never merged into it, and its directory is read-only, so "
            "they cannot be read. Open it once where its directory is writable (read_only=False) to merge them."
        )
    return True


def _is_wal(path: Path) -> bool:
    """Whether a SQLite file's header says it is in WAL mode (file format versions 2)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[:16] == b"SQLite format 3\x00" and header[18] == 2


def _probe_version(path: Path, immutable: bool = False) -> None:
    """Check that a file is a copick_db catalog without writing to it (no WAL switch, no journal)."""
    uri = f"file:{quote(str(path.absolute()))}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise NotACatalogError(f"{path} cannot be opened as a catalog: {exc}") from None
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise _probe_error(path, exc) from None
    finally:
        con.close()
    # Everything that can reject the file is decided here, before an engine (which switches the journal to WAL, a
    # write) touches it: another application's database, even one that uses alembic too, must stay unchanged.
    version = schema.parse_version(None if row is None else row[0], str(path))
    if version <= schema.SCHEMA_VERSION and not tables >= _CORE_TABLES:  # a newer schema may rename tables
        missing = ", ".join(sorted(_CORE_TABLES - tables))
        raise NotACatalogError(f"{path} is not a copick_db catalog: it has no {missing} table.")
    schema.compare_version(version, str(path))


def _probe_error(path: Path, exc: sqlite3.DatabaseError) -> Exception:
    """The error for a file that failed the version probe: damaged, unopenable, or simply not a catalog."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    message = str(exc)
    if name == "SQLITE_CORRUPT" or "malformed" in message:
        return NotACatalogError(
            f"{path} is damaged ({message}): it is a SQLite database whose contents are cut short or overwritten. "
            "Restore it from a backup (`copick-db upgrade` keeps <name>.v<N>-backup-<time>.sqlite copies), or "
            "re-import the project with `copick-db import`."
        )
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in message:
        return CatalogError(
            f"{path} cannot be opened ({message}). Check that it is readable and that its directory is writable, or "
            "open it with read_only=True."
        )
    return NotACatalogError(
        f"{path} is not a copick_db catalog ({message}). Create one with copick_db.create() "
        "or import a copick project with copick_db.import_filesystem()."
    )


# -- the backend ----------------------------------------------------------------------------------------------------


class SQLiteBackend(Backend):
    """A catalog in a local SQLite file (or in memory)."""

    name = "sqlite"
    driver_errors = (sqlite3.Error,)

    def database_path(self, url: str) -> Path | None:
        """The catalog file, or None for an in-memory database."""
        return database_path(url)

    def prepare_open(self, url: str, *, read_only: bool) -> dict[str, Any]:
        """Check the file exists and is a current catalog, reading it with a plain read-only connection.

        Returns:
            ``{"immutable": True}`` when the file must be opened in immutable mode (see :func:`_needs_immutable`).

        Raises:
            FileNotFoundError: No catalog file at that path.
            NotACatalogError: The file is not a copick_db catalog, or is damaged.
            ReadOnlyError: The catalog's directory is read-only and ``read_only`` is False.
            CatalogError: A read-only open is impossible (uncommitted changes in a ``-wal`` file nobody can apply).
            SchemaTooNewError, SchemaOutdatedError: The schema version differs from this release's.
        """
        path = database_path(url)
        if path is None:
            return {}
        if not path.is_file():
            raise FileNotFoundError(
                f"No catalog at {path}. Create one with copick_db.create() or `copick-db create`, "
                "or import a copick project with `copick-db import`."
            )
        immutable = _needs_immutable(path, read_only)
        _probe_version(path, immutable)  # read-only: a foreign file must stay byte-for-byte unchanged
        return {"immutable": immutable}

    def make_engine(
        self, url: str, *, read_only: bool = False, journal_mode: str | None = None, immutable: bool = False
    ) -> Engine:
        """An engine whose connections carry the pragmas and transaction handling of the design invariants.

        Args:
            url: SQLAlchemy URL of the catalog.
            read_only: Refuse every write at the SQLite level (``PRAGMA query_only``).
            journal_mode: ``WAL`` or ``DELETE``; None chooses by the catalog's filesystem
                (:func:`choose_journal_mode`: WAL on local disks, DELETE with a warning on network filesystems).
            immutable: Open the file read-only in SQLite's immutable mode (no locks, no ``-shm``): for a catalog in
                a directory this process cannot write to, which therefore nobody can be writing through SQLite's WAL.
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
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")

        return engine

    def placeholder(self, engine: Engine) -> str:
        """``?``, sqlite3's placeholder."""
        return "?"

    def translate(self, error: BaseException, where: str) -> BaseException | None:
        """copick_db's error for a sqlite3 error, chosen by SQLite's error code (None for programming errors)."""
        if not isinstance(error, sqlite3.DatabaseError) or isinstance(error, sqlite3.ProgrammingError):
            return None
        message = str(error)
        name = getattr(error, "sqlite_errorname", "") or ""
        lowered = message.lower()
        if isinstance(error, sqlite3.IntegrityError):
            if "UNIQUE" in message:
                return DuplicateEntityError(f"An entity with the same identity already exists ({message}).")
            if "FOREIGN KEY" in message:
                return NotFoundError("The parent entity no longer exists; it was deleted meanwhile. Refresh and retry.")
            return CatalogError(f"The catalog refused the change: {message}")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in lowered:
            return CatalogError(
                f"{where} stayed locked by another process for more than {BUSY_TIMEOUT_MS // 1000} s ({message}). "
                "Another copick_db process may be stuck in a long write, or a tool holds the file open; retry later."
            )
        if name == "SQLITE_FULL" or "disk is full" in lowered:
            return OSError(
                errno.ENOSPC,
                f"No space left on the device holding the catalog {where}; the change was rolled back and nothing "
                "is lost. Free some space and retry",
            )
        if name.startswith("SQLITE_READONLY") or "readonly database" in lowered:
            return ReadOnlyError(
                f"{where} cannot be written: the file or its directory is read-only ({message}). Open it with "
                "read_only=True to read it, or make it and its directory writable."
            )
        if name.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
            return CatalogError(
                f"{where} cannot be opened ({message}). Check that it exists and that its directory is writable: "
                "SQLite keeps its -wal and -shm files beside the catalog."
            )
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in lowered or "not a database" in lowered:
            return CatalogError(
                f"{where} is damaged ({message}). Restore it from a backup (`copick-db upgrade` keeps "
                "<name>.v<N>-backup-<time>.sqlite copies), or re-import the project with `copick-db import`."
            )
        if name.startswith("SQLITE_IOERR") or "i/o error" in lowered:
            return OSError(errno.EIO, f"Reading or writing the catalog {where} failed with an I/O error ({message})")
        return CatalogError(f"The catalog {where} reported a database error: {message}")

    def in_transaction(self, driver_connection: Any) -> bool:
        """sqlite3's own record of it (SQLite ends the transaction itself on some errors, e.g. a full disk)."""
        return bool(driver_connection.in_transaction)

    def insert_returning_id(self, sql: str) -> str:
        """``sql`` unchanged: sqlite3 reports the new row's id as ``cursor.lastrowid``."""
        return sql

    def inserted_id(self, cursor: Any) -> int:
        """``cursor.lastrowid``."""
        return int(cursor.lastrowid)

    @contextmanager
    def migrating(self, conn: Connection) -> Iterator[None]:
        """Foreign keys off while tables are rebuilt, and checked before the migration's commit.

        SQLite rebuilds a table to alter it, and dropping the old copy would cascade. ``PRAGMA foreign_keys`` is
        ignored inside a transaction, so it goes to the driver before SQLAlchemy begins one.
        """
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            yield
        finally:
            raw.execute("PRAGMA foreign_keys=ON")

    def check_foreign_keys(self, conn: Connection) -> list[Any]:
        """Rows that reference a missing parent (``PRAGMA foreign_key_check``), inside the migration."""
        return conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()

    def backup(self, engine: Engine, target: Path) -> None:
        """Copy the catalog to ``target`` with ``VACUUM INTO`` (a consistent, compacted copy)."""
        with engine.connect() as conn:  # VACUUM refuses to run inside a transaction: bypass SQLAlchemy's BEGIN
            conn.connection.driver_connection.execute("VACUUM INTO ?", (str(target),))

    def integrity_problems(self, engine: Engine) -> list[str]:
        """What ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` report (empty when the file is sound)."""
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            found = [str(row[0]) for row in raw.execute("PRAGMA integrity_check").fetchall()]
            problems = [] if found == ["ok"] else found
            for table, rowid, parent, _ in raw.execute("PRAGMA foreign_key_check").fetchall():
                problems.append(f"row {rowid} of {table} references a missing {parent} row")
        return problems

    def vacuum(self, engine: Engine) -> None:
        """Rebuild the file without the space of deleted rows (``VACUUM``; needs room for a copy)."""
        with engine.connect() as conn:  # VACUUM refuses to run inside a transaction: bypass SQLAlchemy's BEGIN
            conn.connection.driver_connection.execute("VACUUM")


#: The one SQLite backend.
BACKEND = SQLiteBackend()
