"""copick_db: a SQLite-indexed embedded data store implementing the CoPick API.

Typical use::

    import copick_db

    root = copick_db.create("project.sqlite", "copick_config.json")
    run = root.new_run("TS_001")
    root = copick_db.open("project.sqlite", user_id="alice")
"""

from copick_db.db import (
    CopickFeaturesDB,
    CopickObjectDB,
    CopickRootDB,
    CopickRunDB,
    CopickTomogramDB,
    CopickVoxelSpacingDB,
)
from copick_db.db.project import create, from_file, open
from copick_db.filesystem import export_filesystem, import_filesystem

__version__ = "0.1.0"

__all__ = [
    "CopickFeaturesDB",
    "CopickObjectDB",
    "CopickRootDB",
    "CopickRunDB",
    "CopickTomogramDB",
    "CopickVoxelSpacingDB",
    "__version__",
    "create",
    "export_filesystem",
    "from_file",
    "import_filesystem",
    "open",
]
