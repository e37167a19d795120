"""CopickTomogramDB and CopickFeaturesDB: volumes whose rows locate OME-Zarr stores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from copick_db.catalog import queries
from copick_db.catalog.catalog import Record
from copick_db.catalog.tables import FeaturesRow, TomogramRow
from copick_db.db import bulk
from copick_db.db.timestamps import now, to_datetime, to_timestamp
from copick_db.db.volume import StoredVolume
from copick_db.errors import ReadOnlyError
from copick_db.models.meta import CopickFeaturesMeta, CopickTomogramMeta
from copick_db.models.tomogram import CopickFeatures, CopickTomogram
from copick_db.storage import paths
from copick_db.storage.store import prepare_volume

if TYPE_CHECKING:
    from copick_db.db.root import CopickRootDB
    from copick_db.db.voxel_spacing import CopickVoxelSpacingDB

TOMOGRAM_COLUMNS = (
    "id", "tomo_type", "root_id", "path", "size_x", "size_y", "size_z", "created", "modified", "read_only"
)  # fmt: skip
FEATURES_COLUMNS = ("id", "feature_type", "root_id", "path", "created", "modified", "read_only")


class CopickTomogramDB(StoredVolume, CopickTomogram):
    """A tomogram whose row locates its OME-Zarr store."""

    _table = TomogramRow

    voxel_spacing: CopickVoxelSpacingDB
    _row_id: int | None = None

    @classmethod
    def from_row(cls, voxel_spacing: CopickVoxelSpacingDB, row: Record) -> CopickTomogramDB:
        """Build a tomogram from a ``tomogram`` row (columns :data:`TOMOGRAM_COLUMNS`)."""
        dims = (row.size_x, row.size_y, row.size_z) if row.size_x is not None else None
        meta = CopickTomogramMeta(
            tomo_type=row.tomo_type,
            dimensions=dims,
            created=to_datetime(row.created),
            modified=to_datetime(row.modified),
        )
        tomo = cls(voxel_spacing, meta, read_only=bool(row.read_only))
        tomo._row_id = row.id
        tomo._locate(row.root_id, row.path)
        return tomo

    @property
    def _db_root(self) -> CopickRootDB:
        return self.voxel_spacing.run.root

    # -- features ---------------------------------------------------------------------------------------------

    def _feature_factory(self) -> tuple[type[CopickFeaturesDB], type[CopickFeaturesMeta]]:
        return CopickFeaturesDB, CopickFeaturesMeta

    def query_features(self) -> list[CopickFeaturesDB]:
        """The feature maps of this tomogram, in one query."""
        rows = self._db_root.catalog.rows(
            FeaturesRow, {"tomogram_id": self._row_id}, columns=FEATURES_COLUMNS, order_by=("feature_type",)
        )
        return [CopickFeaturesDB.from_row(self, row) for row in rows]

    def _query_feature(self, feature_type: str) -> CopickFeaturesDB | None:
        rows = self._db_root.catalog.rows(
            FeaturesRow, {"tomogram_id": self._row_id, "feature_type": feature_type}, columns=FEATURES_COLUMNS
        )
        return CopickFeaturesDB.from_row(self, rows[0]) if rows else None

    def _create_child(self, entity: Any) -> None:
        if not isinstance(entity, CopickFeaturesDB):
            raise TypeError(f"Tomograms cannot hold {type(entity).__name__}")
        root = self._db_root
        root.data.check_default_writable()
        vs = self.voxel_spacing
        rel = paths.features_path(vs.run.name, vs.voxel_size, self.tomo_type, entity.feature_type)
        stamp = now()
        entity._row_id = root.catalog.insert(
            FeaturesRow,
            {
                "tomogram_id": self._row_id,
                "feature_type": entity.feature_type,
                "root_id": root.data.default_id,
                "path": rel,
                "created": to_timestamp(entity.meta.created, stamp),
                "modified": to_timestamp(entity.meta.modified, stamp),
            },
        )
        entity._locate(root.data.default_id, rel)

    # -- data -------------------------------------------------------------------------------------------------

    def _row_identity(self) -> dict[str, Any]:
        return {"voxel_spacing_id": self.voxel_spacing._row_id, "tomo_type": self.tomo_type}

    def from_numpy(self, data: np.ndarray, levels: int = 3, dtype: Any = np.float32) -> None:
        """Store ``data`` (z, y, x) as an OME-Zarr pyramid (2× local-mean levels), replacing any previous data.

        Raises:
            ValueError: ``data`` is not 3-D, ``levels`` < 1, or the values do not fit ``dtype``.
            PermissionError: The tomogram is read-only.
        """
        self._check_writable("write tomogram data")
        volume = np.asarray(data)
        if volume.ndim != 3:
            raise ValueError(f"A tomogram must be a 3-D (z, y, x) array; got shape {volume.shape}")
        voxel_size = self.voxel_spacing.voxel_size
        # Bad arguments are rejected before any directory is made, so a failed call leaves the data root as it was.
        volume = prepare_volume(volume, voxel_size=voxel_size, levels=levels, dtype=dtype)
        size_z, size_y, size_x = volume.shape
        sizes = {"size_x": size_x, "size_y": size_y, "size_z": size_z}
        self._write_volume(volume, voxel_size=voxel_size, levels=levels, dtype=dtype, method="mean", values=sizes)
        self.meta.dimensions = (size_x, size_y, size_z)

    def delete(self) -> None:
        """Delete the tomogram, its feature maps and their data.

        Raises:
            PermissionError: The tomogram or one of its feature maps is read-only.
        """
        self._check_writable(f"delete tomogram {self.tomo_type!r}")
        root = self._db_root
        identity = self._row_identity()
        stored: list[tuple[int, str]] = []
        with root.catalog.writing() as conn:
            # Deleted meanwhile by another root: its id may belong to another tomogram now, so touch nothing.
            if root.catalog.first(TomogramRow, {"id": self._row_id, **identity}, conn=conn) is not None:
                if queries.tomogram_holds_read_only(conn, self._row_id):
                    raise ReadOnlyError(f"Cannot delete {self!r}: it has static (read-only) feature maps.")
                stored = queries.data_under_tomogram(conn, self._row_id)
                root.catalog.delete(TomogramRow, self._row_id, conn=conn)
        bulk.remove_released(root.catalog, root.data, stored)
        self.voxel_spacing._forget(self)


class CopickFeaturesDB(StoredVolume, CopickFeatures):
    """A feature map whose row locates its zarr store."""

    _table = FeaturesRow

    tomogram: CopickTomogramDB
    _row_id: int | None = None

    @classmethod
    def from_row(cls, tomogram: CopickTomogramDB, row: Record) -> CopickFeaturesDB:
        """Build a feature map from a ``features`` row (columns :data:`FEATURES_COLUMNS`)."""
        meta = CopickFeaturesMeta(
            tomo_type=tomogram.tomo_type,
            feature_type=row.feature_type,
            created=to_datetime(row.created),
            modified=to_datetime(row.modified),
        )
        features = cls(tomogram, meta, read_only=bool(row.read_only))
        features._row_id = row.id
        features._locate(row.root_id, row.path)
        return features

    @property
    def _db_root(self) -> CopickRootDB:
        return self.tomogram._db_root

    def _row_identity(self) -> dict[str, Any]:
        return {"tomogram_id": self.tomogram._row_id, "feature_type": self.feature_type}

    def from_numpy(self, data: np.ndarray, dtype: Any = np.float32) -> None:
        """Store ``data`` ((C,) Z, Y, X) as a one-level OME-Zarr, replacing any previous data.

        Raises:
            ValueError: ``data`` is not 3-D or 4-D, or its values do not fit ``dtype``.
            PermissionError: The feature map is read-only.
        """
        self._check_writable("write feature data")
        voxel_size = self.tomogram.voxel_spacing.voxel_size
        # Bad arguments are rejected before any directory is made, so a failed call leaves the data root as it was.
        array = prepare_volume(np.asarray(data), voxel_size=voxel_size, levels=1, dtype=dtype)
        self._write_volume(array, voxel_size=voxel_size, levels=1, dtype=dtype, method="mean")

    def delete(self) -> None:
        """Delete the feature map and its data.

        Raises:
            PermissionError: The feature map is read-only.
        """
        self._check_writable(f"delete features {self.feature_type!r}")
        root = self._db_root
        identity = self._row_identity()
        # Only data whose row this call removed is ours to delete: a row deleted meanwhile by another root may have
        # been replaced (same path, or a reused id) by data that is not.
        if root.catalog.delete(FeaturesRow, self._row_id, identity=identity):
            bulk.remove_released(root.catalog, root.data, [(self._root_id, self._rel_path)])
        self.tomogram._forget(self)
