"""Reading a copick filesystem config (``config_type: "filesystem"``) without copick.

Only what an import needs is read: the two roots, the project settings and the raw pickable objects (checked one by
one later, so one bad object does not stop the import). Root URLs are resolved as copick's fsspec does for the local
filesystem: ``local://`` and ``file://`` URLs or plain paths, ``~`` expanded, relative paths against the working
directory, trailing ``/`` dropped. Other filesystems (``s3://``, ``ssh://``…) cannot be imported in place.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copick_db.models.names import validate_name

__all__ = ["FilesystemConfig", "read_config", "root_directory"]

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$", re.S)
_LOCAL_SCHEMES = ("local", "file")
#: copick's defaults for settings a config leaves out (an explicit null stays null).
_SETTINGS = {"name": "CoPick", "description": "Let's CoPick!", "version": "0.2.0"}


@dataclass
class FilesystemConfig:
    """What an import needs from a copick filesystem config.

    Attributes:
        path: The config file.
        overlay_root: The writable root, absolute.
        static_root: The read-only root, absolute; None for an overlay-only project (also when it equals the
            overlay root, as in copick).
        settings: Project ``name``, ``description``, ``version``, ``user_id`` and ``session_id``.
        objects: The ``pickable_objects`` entries as written (validated later, one by one).
        notes: ``(subject, message)`` for config values that were ignored or repaired.
    """

    path: Path
    overlay_root: Path
    static_root: Path | None
    settings: dict[str, str | None]
    objects: list[Any]
    notes: list[tuple[str, str]] = field(default_factory=list)


def read_config(path: str | os.PathLike, *, overlay_root: str | os.PathLike | None = None) -> FilesystemConfig:
    """Read a copick filesystem config.

    Args:
        path: The config JSON file.
        overlay_root: Use this directory as the overlay root instead of the config's ``overlay_root``.

    Returns:
        The config.

    Raises:
        FileNotFoundError: The config file, or a root directory, does not exist.
        ValueError: The file is not JSON, not a filesystem config, has no ``overlay_root`` or ``pickable_objects``,
            or names a root that is not on a local filesystem.
    """
    config_path = Path(path).expanduser()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"copick config not found: {config_path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"copick config {config_path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"copick config {config_path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"copick config {config_path} must hold a JSON object, not {type(data).__name__}")
    config_type = data.get("config_type", "filesystem")
    if config_type != "filesystem":
        hint = (
            " It is already a copick_db config; open it with copick_db.from_file()."
            if config_type == "copick_db"
            else ""
        )
        raise ValueError(
            f"{config_path} has config_type {config_type!r}; only copick filesystem projects can be imported.{hint}"
        )
    notes: list[tuple[str, str]] = []
    if overlay_root is not None:
        overlay = root_directory(str(overlay_root), "data_root")
    elif data.get("overlay_root") is None:
        raise ValueError(f"copick config {config_path} has no overlay_root; a filesystem project needs one.")
    else:
        overlay = root_directory(data["overlay_root"], "overlay_root")
    static = None if data.get("static_root") is None else root_directory(data["static_root"], "static_root")
    for what, directory in (("overlay_root", overlay), ("static_root", static)):
        if directory is not None and not directory.is_dir():
            raise FileNotFoundError(f"The {what} of {config_path} is not a directory: {directory}")
    if static is not None and os.path.realpath(static) == os.path.realpath(overlay):
        static = None  # copick treats the same root as an overlay-only project
    objects = data.get("pickable_objects")
    if not isinstance(objects, list):
        raise ValueError(f"copick config {config_path} needs a pickable_objects list (it may be empty).")
    if data.get("runs") is not None:
        notes.append(("runs", "the config's run index is ignored: runs are found by listing ExperimentRuns/"))
    return FilesystemConfig(config_path.absolute(), overlay, static, _settings(data, notes), objects, notes)


def root_directory(url: Any, what: str) -> Path:
    """The local directory a copick root URL or path denotes (absolute, normalised; not checked to exist).

    Raises:
        ValueError: The value is not a string, is empty, or uses a non-local protocol.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{what} must be a path or a local:// URL, got {url!r}")
    text = url.strip()
    match = _URL.match(text)
    if match:
        scheme, rest = match.group(1).lower(), match.group(2)
        if scheme not in _LOCAL_SCHEMES:
            raise ValueError(
                f"{what} {url!r} is on a {scheme}:// filesystem; import_filesystem indexes local projects in place "
                "only (copy the project to a local disk first)"
            )
        if rest.startswith("localhost/"):
            rest = rest[len("localhost") :]
        text = rest
    return Path(os.path.normpath(Path(os.path.expanduser(text)).absolute()))


def _settings(data: dict[str, Any], notes: list[tuple[str, str]]) -> dict[str, str | None]:
    settings: dict[str, str | None] = {}
    for key, default in _SETTINGS.items():
        value = data.get(key, default)
        settings[key] = None if value is None else str(value)
    for key in ("user_id", "session_id"):
        value = data.get(key)
        if value is None:
            settings[key] = None
            continue
        try:
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a JSON string, got {type(value).__name__} {value!r}")
            settings[key] = validate_name(value, key)
        except ValueError as exc:
            notes.append((key, f"ignored: {exc}"))
            settings[key] = None
    return settings
