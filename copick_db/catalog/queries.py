"""Queries that join tables: read-only guards for cascading deletes and the data a cascade leaves behind."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.engine import Connection

from copick_db.catalog.tables import FeaturesRow, TomogramRow, VoxelSpacingRow

_vs = VoxelSpacingRow.__table__
_tomo = TomogramRow.__table__
_feat = FeaturesRow.__table__


def run_holds_read_only(conn: Connection, run_id: int) -> bool:
    """Whether anything in the run (voxel spacings, tomograms, features) is read-only."""
    in_run = _vs.c.run_id == run_id
    checks = [
        exists().where(in_run, _vs.c.read_only.is_(True)),
        exists().where(_tomo.c.voxel_spacing_id == _vs.c.id, in_run, _tomo.c.read_only.is_(True)),
        exists().where(
            _feat.c.tomogram_id == _tomo.c.id,
            _tomo.c.voxel_spacing_id == _vs.c.id,
            in_run,
            _feat.c.read_only.is_(True),
        ),
    ]
    return bool(conn.execute(select(or_(*checks))).scalar())


def voxel_spacing_holds_read_only(conn: Connection, voxel_spacing_id: int) -> bool:
    """Whether a tomogram or feature map of the voxel spacing is read-only."""
    in_vs = _tomo.c.voxel_spacing_id == voxel_spacing_id
    checks = [
        exists().where(in_vs, _tomo.c.read_only.is_(True)),
        exists().where(_feat.c.tomogram_id == _tomo.c.id, in_vs, _feat.c.read_only.is_(True)),
    ]
    return bool(conn.execute(select(or_(*checks))).scalar())


def tomogram_holds_read_only(conn: Connection, tomogram_id: int) -> bool:
    """Whether a feature map of the tomogram is read-only."""
    stmt = select(exists().where(_feat.c.tomogram_id == tomogram_id, _feat.c.read_only.is_(True)))
    return bool(conn.execute(stmt).scalar())


def data_under_voxel_spacing(conn: Connection, voxel_spacing_id: int) -> list[tuple[int, str]]:
    """(root id, path) of every tomogram and feature map of a voxel spacing."""
    tomos = select(_tomo.c.root_id, _tomo.c.path).where(_tomo.c.voxel_spacing_id == voxel_spacing_id)
    feats = (
        select(_feat.c.root_id, _feat.c.path)
        .join(_tomo, _feat.c.tomogram_id == _tomo.c.id)
        .where(_tomo.c.voxel_spacing_id == voxel_spacing_id)
    )
    return [tuple(r) for r in conn.execute(tomos.union_all(feats))]


def data_under_tomogram(conn: Connection, tomogram_id: int) -> list[tuple[int, str]]:
    """(root id, path) of a tomogram and of its feature maps."""
    tomo = select(_tomo.c.root_id, _tomo.c.path).where(_tomo.c.id == tomogram_id)
    feats = select(_feat.c.root_id, _feat.c.path).where(_feat.c.tomogram_id == tomogram_id)
    return [tuple(r) for r in conn.execute(tomo.union_all(feats))]
