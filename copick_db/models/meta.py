"""Metadata models of the copick entities (runs, voxel spacings, tomograms, features, picks, meshes, segmentations).

Each holds copick's fields plus the design spec's optional additions (``created``, ``modified``, ...), all
defaulting to None (api-surface §1.4). Voxel sizes are in Å and kept verbatim. ``user_id`` / ``session_id`` are
optional, because entities fall back to the root's ids (contract C16), but when given they must be strings: the tool
session id is ``"0"``, never ``0``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from copick_db.models.names import require_str
from copick_db.models.values import CopickPoint

__all__ = [
    "SEGMENTATION_TYPES",
    "CopickFeaturesMeta",
    "CopickMeshMeta",
    "CopickPicksFile",
    "CopickPicksMeta",
    "CopickRunMeta",
    "CopickSegmentationMeta",
    "CopickTomogramMeta",
    "CopickVoxelSpacingMeta",
    "segmentation_type",
]

SegmentationType = Literal["binary", "multilabel", "instance", "panoptic"]

#: The segmentation types. ``binary``: one object, voxels 0/1. ``multilabel``: several objects, voxel = the object's
#: label. ``instance``: one object, voxel = instance id (0 = background). ``panoptic``: two channels, (label,
#: instance id within that object).
SEGMENTATION_TYPES: tuple[SegmentationType, ...] = ("binary", "multilabel", "instance", "panoptic")


def segmentation_type(is_multilabel: bool = False, is_instance: bool = False, is_panoptic: bool = False) -> str:
    """The type the three flags denote: ``"binary"`` when none is set.

    Raises:
        ValueError: More than one flag is set.
    """
    flags = {"is_multilabel": is_multilabel, "is_instance": is_instance, "is_panoptic": is_panoptic}
    set_flags = [name for name, value in flags.items() if value]
    if len(set_flags) > 1:
        raise ValueError(
            f"a segmentation has one type, but {' and '.join(set_flags)} are both set; set at most one of "
            "is_multilabel, is_instance and is_panoptic (none means binary)"
        )
    return set_flags[0][3:] if set_flags else "binary"


class _OwnedMeta(BaseModel):
    """Base of the metas that carry ``user_id`` / ``session_id``; gives non-str ids a clear error."""

    @field_validator("user_id", "session_id", mode="before", check_fields=False)
    @classmethod
    def _ids_are_strings(cls, value: Any, info: ValidationInfo) -> Any:
        return None if value is None else require_str(value, info.field_name)


class CopickRunMeta(BaseModel):
    """Metadata of a run.

    Attributes:
        name: Run name (not subject to the name rule; copick runs are often called ``TS_001``).
        description: Free-text description.
        created: Creation time.
        modified: Last modification time.
    """

    name: str
    description: str | None = None
    created: datetime | None = None
    modified: datetime | None = None


class CopickVoxelSpacingMeta(BaseModel):
    """Metadata of a voxel spacing.

    Attributes:
        voxel_size: Voxel size in Å, kept verbatim.
        created: Creation time.
        modified: Last modification time.
    """

    voxel_size: float
    created: datetime | None = None
    modified: datetime | None = None


class CopickTomogramMeta(BaseModel):
    """Metadata of a tomogram.

    Attributes:
        tomo_type: Reconstruction type, e.g. ``"wbp"``.
        dimensions: Size in voxels as (x, y, z), i.e. the ZYX array shape reversed.
        origin: Origin (x, y, z) in Å.
        created: Creation time.
        modified: Last modification time.
    """

    tomo_type: str
    dimensions: tuple[int, int, int] | None = None
    origin: tuple[float, float, float] | None = None
    created: datetime | None = None
    modified: datetime | None = None


class CopickFeaturesMeta(BaseModel):
    """Metadata of a feature map.

    Attributes:
        tomo_type: Type of the tomogram the features were computed on.
        feature_type: Type of the features.
        created: Creation time.
        modified: Last modification time.
    """

    tomo_type: str
    feature_type: str
    created: datetime | None = None
    modified: datetime | None = None


class CopickPicksFile(_OwnedMeta):
    """A pick set: copick's picks JSON file, also used as the picks meta (``CopickPicksMeta`` is this class).

    Dumps have copick's keys in copick's order; ``created`` / ``modified`` are appended only when set, so a dump
    of a copick file is identical to it.

    Attributes:
        pickable_object_name: Name of the picked object.
        user_id: User or tool that made the picks.
        session_id: Session id; ``"0"`` marks tool output.
        run_name: Name of the run.
        voxel_spacing: Informational voxel size in Å.
        unit: Unit of the locations (always ``"angstrom"`` in practice).
        points: The picked points.
        trust_orientation: Whether the point orientations are meaningful.
        created: Creation time.
        modified: Last modification time.
    """

    pickable_object_name: str
    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    run_name: str | None = None
    voxel_spacing: float | None = None
    unit: str = "angstrom"
    points: list[CopickPoint] | None = Field(default_factory=list)
    trust_orientation: bool | None = True
    created: datetime | None = None
    modified: datetime | None = None

    @model_serializer(mode="wrap")
    def _drop_unset_timestamps(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in ("created", "modified"):
            if key in data and data[key] is None:
                del data[key]
        return data


CopickPicksMeta = CopickPicksFile


class CopickMeshMeta(_OwnedMeta):
    """Metadata of a mesh.

    Attributes:
        pickable_object_name: Name of the meshed object.
        user_id: User or tool that made the mesh.
        session_id: Session id; ``"0"`` marks tool output.
        created: Creation time.
        modified: Last modification time.
    """

    pickable_object_name: str
    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    created: datetime | None = None
    modified: datetime | None = None


class CopickSegmentationMeta(_OwnedMeta):
    """Metadata of a segmentation.

    Attributes:
        user_id: User or tool that made the segmentation.
        session_id: Session id; ``"0"`` marks tool output.
        name: Object name (binary and instance segmentations), or any name (multilabel and panoptic).
        is_multilabel: Voxels hold the labels of several objects.
        is_instance: Voxels hold instance ids of object ``name`` (0 = background).
        is_panoptic: Two channels ``(2, Z, Y, X)``: each voxel's object label and its instance id within that object.
        voxel_size: Voxel size in Å of the tomogram it belongs to.
        created: Creation time.
        modified: Last modification time.

    At most one of the three flags is set; none means binary (object ``name`` 1, background 0).
    """

    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    name: str
    is_multilabel: bool
    is_instance: bool = False
    is_panoptic: bool = False
    voxel_size: float
    created: datetime | None = None
    modified: datetime | None = None

    @model_validator(mode="after")
    def _one_type(self) -> CopickSegmentationMeta:
        segmentation_type(self.is_multilabel, self.is_instance, self.is_panoptic)
        return self

    @property
    def segmentation_type(self) -> str:
        """``"binary"``, ``"multilabel"``, ``"instance"`` or ``"panoptic"``."""
        return segmentation_type(self.is_multilabel, self.is_instance, self.is_panoptic)
