"""copick_db: a SQLite-indexed embedded data store implementing the CoPick API.

Typical use::

    import copick_db

    root = copick_db.create("project.sqlite", "copick_config.json")
    run = root.new_run("TS_001")
    root = copick_db.open("project.sqlite", user_id="alice")

Names are imported on first use, so ``import copick_db`` (and the ``copick-db`` command line) stays fast: numpy,
SQLAlchemy, zarr and trimesh load only when something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name → the module that defines it.
_EXPORTS = {
    "create": "copick_db.db.project",
    "open": "copick_db.db.project",
    "from_file": "copick_db.db.project",
    "import_filesystem": "copick_db.filesystem",
    "export_filesystem": "copick_db.filesystem",
    "CopickRootDB": "copick_db.db.root",
    "CopickRunDB": "copick_db.db.run",
    "CopickVoxelSpacingDB": "copick_db.db.voxel_spacing",
    "CopickTomogramDB": "copick_db.db.tomogram",
    "CopickFeaturesDB": "copick_db.db.tomogram",
    "CopickPicksDB": "copick_db.db.annotations",
    "CopickMeshDB": "copick_db.db.annotations",
    "CopickSegmentationDB": "copick_db.db.annotations",
    "CopickFilamentsDB": "copick_db.db.filaments",
    "CopickObjectDB": "copick_db.db.object",
}

__all__ = [
    "CopickFeaturesDB",
    "CopickFilamentsDB",
    "CopickMeshDB",
    "CopickObjectDB",
    "CopickPicksDB",
    "CopickRootDB",
    "CopickRunDB",
    "CopickSegmentationDB",
    "CopickTomogramDB",
    "CopickVoxelSpacingDB",
    "__version__",
    "create",
    "export_filesystem",
    "from_file",
    "import_filesystem",
    "open",
]

if TYPE_CHECKING:
    from copick_db.db.annotations import CopickMeshDB, CopickPicksDB, CopickSegmentationDB
    from copick_db.db.filaments import CopickFilamentsDB
    from copick_db.db.object import CopickObjectDB
    from copick_db.db.project import create, from_file, open
    from copick_db.db.root import CopickRootDB
    from copick_db.db.run import CopickRunDB
    from copick_db.db.tomogram import CopickFeaturesDB, CopickTomogramDB
    from copick_db.db.voxel_spacing import CopickVoxelSpacingDB
    from copick_db.filesystem import export_filesystem, import_filesystem


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'copick_db' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
