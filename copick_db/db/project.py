"""Entry points: create a catalog, open one, or open the one a pointer config names."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from copick_db.catalog.catalog import Catalog
from copick_db.catalog.engine import database_path, to_url
from copick_db.catalog.tables import DataRoot, PickableObjectRow, Project
from copick_db.db.data_roots import DataRoots, resolve_root_path, stored_root_path
from copick_db.db.object import object_meta, object_values
from copick_db.db.root import CopickRootDB
from copick_db.db.timestamps import now
from copick_db.errors import NotACatalogError
from copick_db.models.names import validate_name
from copick_db.models.values import CopickConfig

#: The name of the data root new bulk data goes to.
DEFAULT_ROOT = "default"


def load_config(config: CopickConfig | dict | str | os.PathLike | None) -> CopickConfig:
    """A CopickConfig from a config object, a dict, or the path of a copick JSON config (None: empty project)."""
    if config is None:
        return CopickConfig(pickable_objects=[])
    if isinstance(config, CopickConfig):
        return config
    if isinstance(config, dict):
        return CopickConfig.model_validate(config)
    if isinstance(config, (str, os.PathLike)):
        return CopickConfig.from_file(str(config))
    raise ValueError(f"config must be a CopickConfig, a dict or a path to a JSON file, not {type(config).__name__}")


def create(
    catalog: str | os.PathLike,
    config: CopickConfig | dict | str | os.PathLike | None = None,
    *,
    data_root: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> CopickRootDB:
    """Create a new project catalog.

    Args:
        catalog: Path of the SQLite file to create, or an SQLAlchemy URL.
        config: Project settings and pickable objects: a CopickConfig, a dict, or a copick JSON config path.
        data_root: Where new bulk data is written; ``<catalog stem>.data/`` beside the catalog by default.
        overwrite: Replace an existing catalog file (its data directory is left alone).

    Returns:
        The root of the new, empty project.

    Raises:
        FileExistsError: The catalog exists and ``overwrite`` is False.
        NotADirectoryError: ``data_root`` is an existing file (nothing is created or replaced then).
        ValueError: The config is invalid (e.g. duplicate object names or labels).

    Example:
        >>> root = copick_db.create("project.sqlite", {"pickable_objects": [{"name": "ribosome", "is_particle": True}]})
    """
    cfg = load_config(config)
    _check_objects(cfg)
    url = to_url(catalog)
    path = database_path(url)
    if data_root is None:
        if path is None:
            raise ValueError("data_root is required when the catalog is not a file.")
        data_root = path.parent / f"{path.stem}.data"
    data_dir = Path(data_root).expanduser().absolute()
    if data_dir.exists() and not data_dir.is_dir():
        raise NotADirectoryError(f"data_root {data_dir} is a file; bulk data needs a directory there (or none yet).")
    if path is not None and path.exists():
        if not overwrite:
            raise FileExistsError(f"A catalog already exists at {path}; pass overwrite=True to replace it.")
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
    try:
        db = Catalog.create(url)
        with db.writing() as conn:
            db.insert(
                Project,
                {
                    "id": 1,
                    "name": cfg.name,
                    "description": cfg.description,
                    "version": cfg.version,
                    "user_id": cfg.user_id,
                    "session_id": cfg.session_id,
                    "created": now(),
                },
                conn=conn,
            )
            catalog_dir = path.parent if path is not None else None
            db.insert(DataRoot, {"name": DEFAULT_ROOT, "path": stored_root_path(data_dir, catalog_dir)}, conn=conn)
            db.insert_many(
                PickableObjectRow,
                ({**object_values(o), "position": i} for i, o in enumerate(cfg.pickable_objects)),
                conn=conn,
            )
        db.close()
        data_dir.mkdir(parents=True, exist_ok=True)
    except BaseException:
        if path is not None:  # nothing half-made stays behind
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        raise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the journal-mode warning was given once, when creating
        return open(catalog, user_id=cfg.user_id, session_id=cfg.session_id)


def _check_objects(cfg: CopickConfig) -> None:
    names = [o.name for o in cfg.pickable_objects]
    labels = [o.label for o in cfg.pickable_objects if o.label is not None]
    for kind, values in (("name", names), ("label", labels)):
        duplicates = sorted({v for v in values if values.count(v) > 1}, key=str)
        if duplicates:
            raise ValueError(f"Pickable objects must have unique {kind}s; duplicated: {duplicates}")


def open(
    catalog: str | os.PathLike,
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    read_only: bool = False,
    data_root: str | os.PathLike | None = None,
) -> CopickRootDB:
    """Open an existing project catalog.

    Args:
        catalog: Path of the SQLite file, or an SQLAlchemy URL.
        user_id: The user new entities belong to (default: the catalog's setting).
        session_id: The session new entities belong to (default: the catalog's setting).
        read_only: Refuse every write (PermissionError).
        data_root: Use this directory as the default data root (e.g. after moving the data elsewhere).

    Returns:
        The project root.

    Raises:
        FileNotFoundError: There is no catalog at that path.
        NotACatalogError: The file is not a copick_db catalog (a ValueError).
        SchemaTooNewError: The catalog was made by a newer copick_db.
        SchemaOutdatedError: The catalog needs ``copick-db upgrade``.
    """
    if user_id is not None:
        validate_name(user_id, "user_id")
    if session_id is not None:
        validate_name(session_id, "session_id")
    db = Catalog.open(catalog, read_only=read_only)
    try:
        with db.reading() as conn:  # a damaged file raises copick_db's error for it (the catalog translates)
            project = db.first(Project, {"id": 1}, conn=conn)
            roots = db.rows(DataRoot, conn=conn)
            objects = db.rows(PickableObjectRow, order_by=("position",), conn=conn)
    except BaseException:
        db.close()
        raise
    if project is None or not roots:
        db.close()
        raise NotACatalogError(f"{db.where} has no project settings; it is not a complete copick_db catalog.")
    catalog_dir = db.path.parent if db.path is not None else None
    directories = {r.id: resolve_root_path(r.path, catalog_dir) for r in roots}
    default_id = next((r.id for r in roots if r.name == DEFAULT_ROOT), roots[0].id)
    if data_root is not None:
        directories[default_id] = Path(data_root).expanduser().absolute()
    config = CopickConfig.model_construct(
        name=project.name,
        description=project.description,
        version=project.version,
        pickable_objects=[object_meta(row) for row in objects],
        user_id=user_id if user_id is not None else project.user_id,
        session_id=session_id if session_id is not None else project.session_id,
        runs=None,
        voxel_spacings=None,
        tomograms={},
    )
    data = DataRoots(directories, default_id, {r.id for r in roots if r.read_only})
    root = CopickRootDB(db, config, data, read_only=read_only)
    root._data_root_override = None if data_root is None else str(directories[default_id])
    return root


def from_file(config_path: str | os.PathLike, **kwargs: Any) -> CopickRootDB:
    """Open the catalog a pointer config names: ``{"config_type": "copick_db", "catalog": ..., "user_id": ...}``.

    A relative ``catalog`` path is taken relative to the config file.

    Args:
        config_path: The JSON file.
        **kwargs: Passed to :func:`open` (they win over the file's ``user_id``/``session_id``).

    Raises:
        FileNotFoundError: The config or the catalog does not exist.
        ValueError: The file is not a copick_db pointer config.
    """
    config_path = Path(config_path)
    try:
        payload = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{config_path} is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or payload.get("config_type") != "copick_db" or "catalog" not in payload:
        raise ValueError(
            f'{config_path} is not a copick_db config: it needs "config_type": "copick_db" and a "catalog" entry. '
            "To migrate a copick filesystem project, use copick_db.import_filesystem()."
        )
    catalog = str(payload["catalog"])
    if "://" not in catalog and not Path(catalog).is_absolute():
        catalog = str(config_path.parent / catalog)
    kwargs.setdefault("user_id", payload.get("user_id"))
    kwargs.setdefault("session_id", payload.get("session_id"))
    return open(catalog, **kwargs)
