"""The CoPick data model: pydantic value and meta models, and the spec's abstract API classes.

Mirrors ``copick.models``, so code moves over by changing only the import line.
"""

from copick_db.models.annotations import CopickMesh, CopickPicks, CopickSegmentation
from copick_db.models.filaments import (
    CopickFilament,
    CopickFilamentCurve,
    CopickFilaments,
    CopickFilamentsFile,
    FilamentArrays,
)
from copick_db.models.meta import (
    CopickFeaturesMeta,
    CopickMeshMeta,
    CopickPicksFile,
    CopickPicksMeta,
    CopickRunMeta,
    CopickSegmentationMeta,
    CopickTomogramMeta,
    CopickVoxelSpacingMeta,
)
from copick_db.models.names import sanitize_name, validate_name
from copick_db.models.object import CopickObject
from copick_db.models.root import CopickRoot
from copick_db.models.run import CopickRun
from copick_db.models.tomogram import CopickFeatures, CopickTomogram
from copick_db.models.values import CopickConfig, CopickLocation, CopickPoint, FilamentSpec, PickableObject
from copick_db.models.voxel_spacing import CopickVoxelSpacing

__all__ = [
    "CopickConfig",
    "CopickFeatures",
    "CopickFeaturesMeta",
    "CopickFilament",
    "CopickFilamentCurve",
    "CopickFilaments",
    "CopickFilamentsFile",
    "CopickLocation",
    "CopickMesh",
    "CopickMeshMeta",
    "CopickObject",
    "CopickPicks",
    "CopickPicksFile",
    "CopickPicksMeta",
    "CopickPoint",
    "CopickRoot",
    "CopickRun",
    "CopickRunMeta",
    "CopickSegmentation",
    "CopickSegmentationMeta",
    "CopickTomogram",
    "CopickTomogramMeta",
    "CopickVoxelSpacing",
    "CopickVoxelSpacingMeta",
    "FilamentArrays",
    "FilamentSpec",
    "PickableObject",
    "sanitize_name",
    "validate_name",
]
