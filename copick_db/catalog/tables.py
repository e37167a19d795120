"""The catalog's tables: one per meta class of the CoPick API, plus project settings and data roots.

Identity follows copick's, enforced by UNIQUE constraints; every filter a getter offers has an index behind it.
Children reference parents with ON DELETE CASCADE, so deleting a run removes every row below it in one statement.
Timestamps are REAL seconds since the epoch (UTC): cheap to read in bulk, converted to datetime only when asked.

The tables are created only by alembic migrations (``migrations/``); a test checks that autogenerate against these
models finds no difference.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

#: Constraint names are deterministic, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

catalog_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class CatalogTable(SQLModel, registry=catalog_registry):
    """Base of every catalog table; its ``metadata`` is the catalog's own, not SQLModel's global one."""


def _parent(table: str, *, nullable: bool = False, on_delete: str = "CASCADE") -> Column:
    return Column(Integer, ForeignKey(f"{table}.id", ondelete=on_delete), nullable=nullable)


class Project(CatalogTable, table=True):
    """Project settings: the single row (id 1) holding what copick keeps in its config file."""

    __tablename__ = "project"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = None
    description: str | None = None
    version: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    created: float


class DataRoot(CatalogTable, table=True):
    """A directory bulk data lives under; every stored path is relative to one of these.

    ``path`` is relative to the catalog file's directory when the root lies below it, so a project folder can be
    moved whole; otherwise it is absolute. ``read_only`` roots (a copick ``static_root``) are never written.
    """

    __tablename__ = "data_root"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    path: str
    read_only: bool = False


class PickableObjectRow(CatalogTable, table=True):
    """A pickable object (copick's PickableObject) and where its density map is, if it has one."""

    __tablename__ = "pickable_object"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    position: int
    is_particle: bool
    label: int | None = Field(default=None, unique=True)
    color: str | None = None  # JSON [r, g, b, a]
    emdb_id: str | None = None
    pdb_id: str | None = None
    identifier: str | None = None
    map_threshold: float | None = None
    radius: float | None = None
    metadata_json: str = "{}"
    map_root_id: int | None = Field(default=None, sa_column=_parent("data_root", nullable=True, on_delete="RESTRICT"))
    map_path: str | None = None
    map_voxel_size: float | None = None
    read_only: bool = False


class RunRow(CatalogTable, table=True):
    """A run (copick's CopickRunMeta)."""

    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    description: str | None = None
    created: float | None = None
    modified: float | None = None
    read_only: bool = False
    #: The ML split (train, val, test or any other name) the run belongs to; None where nobody set one.
    split: str | None = Field(default=None, index=True)


class VoxelSpacingRow(CatalogTable, table=True):
    """A voxel spacing of a run. ``voxel_key`` is the size in milli-ångström as copick's ``.3f`` names round it."""

    __tablename__ = "voxel_spacing"
    __table_args__ = (UniqueConstraint("run_id", "voxel_key"), Index(None, "voxel_key"))

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=_parent("run"))
    voxel_size: float
    voxel_key: int
    created: float | None = None
    modified: float | None = None
    read_only: bool = False


class TomogramRow(CatalogTable, table=True):
    """A tomogram of a voxel spacing; ``path`` locates its OME-Zarr store under data root ``root_id``."""

    __tablename__ = "tomogram"
    __table_args__ = (UniqueConstraint("voxel_spacing_id", "tomo_type"), Index(None, "tomo_type"))

    id: int | None = Field(default=None, primary_key=True)
    voxel_spacing_id: int = Field(sa_column=_parent("voxel_spacing"))
    tomo_type: str
    root_id: int = Field(sa_column=_parent("data_root", on_delete="RESTRICT"))
    path: str
    size_x: int | None = None
    size_y: int | None = None
    size_z: int | None = None
    created: float | None = None
    modified: float | None = None
    read_only: bool = False


class FeaturesRow(CatalogTable, table=True):
    """A feature map computed on a tomogram."""

    __tablename__ = "features"
    __table_args__ = (UniqueConstraint("tomogram_id", "feature_type"), Index(None, "feature_type"))

    id: int | None = Field(default=None, primary_key=True)
    tomogram_id: int = Field(sa_column=_parent("tomogram"))
    feature_type: str
    root_id: int = Field(sa_column=_parent("data_root", on_delete="RESTRICT"))
    path: str
    created: float | None = None
    modified: float | None = None
    read_only: bool = False


class PicksRow(CatalogTable, table=True):
    """A pick set; its points live here as compact little-endian arrays, one row per set.

    ``locations`` is float64 (N, 3). Only non-identity transforms are stored: ``transform_index`` (int32, K) says
    which points they belong to and ``transforms`` holds them as float64 (K, 4, 4). ``instance_ids`` (int64, N) is
    NULL when every id is 0, ``instance_id_null`` (uint8, N) marks JSON-null ids, and ``scores`` (float64, N; NaN for
    a null score) is NULL when every score is 1.0.
    """

    __tablename__ = "picks"
    __table_args__ = (
        UniqueConstraint("run_id", "object_name", "user_id", "session_id"),
        Index(None, "object_name", "user_id", "session_id"),
        Index(None, "user_id", "session_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=_parent("run"))
    object_name: str
    user_id: str
    session_id: str
    point_count: int = 0
    locations: bytes = b""
    transform_index: bytes | None = None
    transforms: bytes | None = None
    instance_ids: bytes | None = None
    instance_id_null: bytes | None = None
    scores: bytes | None = None
    trust_orientation: bool | None = True
    voxel_spacing: float | None = None
    unit: str = "angstrom"
    created: float | None = None
    modified: float | None = None
    read_only: bool = False


class MeshRow(CatalogTable, table=True):
    """A mesh: where its GLB file is, and its size."""

    __tablename__ = "mesh"
    __table_args__ = (
        UniqueConstraint("run_id", "object_name", "user_id", "session_id"),
        Index(None, "object_name", "user_id", "session_id"),
        Index(None, "user_id", "session_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=_parent("run"))
    object_name: str
    user_id: str
    session_id: str
    root_id: int = Field(sa_column=_parent("data_root", on_delete="RESTRICT"))
    path: str
    vertex_count: int = 0
    face_count: int = 0
    created: float | None = None
    modified: float | None = None
    read_only: bool = False


class SegmentationRow(CatalogTable, table=True):
    """A segmentation: its identity (the type is part of it), and where its OME-Zarr store is.

    At most one of ``is_multilabel``, ``is_instance`` and ``is_panoptic`` is set; none means binary.
    """

    __tablename__ = "segmentation"
    __table_args__ = (
        UniqueConstraint(
            "run_id", "voxel_key", "user_id", "session_id", "name", "is_multilabel", "is_instance", "is_panoptic"
        ),
        CheckConstraint(
            "NOT (is_multilabel AND is_instance) AND NOT (is_multilabel AND is_panoptic) "
            "AND NOT (is_instance AND is_panoptic)",
            name="one_type",
        ),
        Index(None, "name", "user_id", "session_id"),
        Index(None, "user_id", "session_id"),
        Index(None, "voxel_key"),
        Index(None, "is_multilabel", "is_instance", "is_panoptic"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=_parent("run"))
    voxel_size: float
    voxel_key: int
    user_id: str
    session_id: str
    name: str
    is_multilabel: bool = False
    is_instance: bool = False
    is_panoptic: bool = False
    root_id: int = Field(sa_column=_parent("data_root", on_delete="RESTRICT"))
    path: str
    created: float | None = None
    modified: float | None = None
    read_only: bool = False


class FilamentsRow(CatalogTable, table=True):
    """A filament set; its polylines live here as compact little-endian arrays, one row per set.

    ``points`` is float64 (P, 3), every filament's points one after the other; ``offsets`` (int64, K + 1) cuts them
    into filaments and ``instance_ids`` (int64, K) names them. ``attributes`` is NULL when every filament has the
    defaults, else a JSON list with, per filament, the fields that differ (``polarity_known``, ``score``,
    ``radius``, ``metadata``, ``curve``).
    """

    __tablename__ = "filaments"
    __table_args__ = (
        UniqueConstraint("run_id", "object_name", "user_id", "session_id"),
        Index(None, "object_name", "user_id", "session_id"),
        Index(None, "user_id", "session_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=_parent("run"))
    object_name: str
    user_id: str
    session_id: str
    filament_count: int = 0
    point_count: int = 0
    points: bytes = b""
    offsets: bytes = b""
    instance_ids: bytes = b""
    attributes: str | None = None
    voxel_spacing: float | None = None
    unit: str = "angstrom"
    version: int = 1
    created: float | None = None
    modified: float | None = None
    read_only: bool = False


#: The catalog's MetaData (what migrations and the autogenerate check compare against).
metadata = catalog_registry.metadata


from sqlalchemy import BigInteger  # noqa: E402  (appended with migration 0004)


class ImportSource(CatalogTable, table=True):
    """A file or zarr store that ``import_filesystem`` read, and the entity row it became.

    ``kind`` names the entity's table (``run``, ``voxel_spacing``, ``tomogram``, ``features``, ``picks``, ``mesh``,
    ``filaments``, ``segmentation``; ``object_map`` for a pickable object's density map) and ``entity_id`` its row
    there. ``size`` and ``mtime_ns`` are the source's
    signature when it was read; a re-import reads a source again only when its signature changed. Runs and voxel
    spacings (directories) have signature 0.
    """

    __tablename__ = "import_source"
    __table_args__ = (UniqueConstraint("root_id", "path"), Index(None, "kind", "entity_id"))

    id: int | None = Field(default=None, primary_key=True)
    root_id: int = Field(sa_column=_parent("data_root", on_delete="RESTRICT"))
    path: str
    kind: str
    entity_id: int
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    mtime_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
