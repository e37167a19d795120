"""The catalog-backed implementation of the CoPick API: each class joins the catalog and the storage layer."""

from copick_db.db.object import CopickObjectDB
from copick_db.db.root import CopickRootDB
from copick_db.db.run import CopickRunDB
from copick_db.db.tomogram import CopickFeaturesDB, CopickTomogramDB
from copick_db.db.voxel_spacing import CopickVoxelSpacingDB

__all__ = [
    "CopickFeaturesDB",
    "CopickObjectDB",
    "CopickRootDB",
    "CopickRunDB",
    "CopickTomogramDB",
    "CopickVoxelSpacingDB",
]
