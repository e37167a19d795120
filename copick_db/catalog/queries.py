"""Queries that join tables: read-only guards for cascading deletes and the data a cascade leaves behind."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, or_, select, update
from sqlalchemy.engine import Connection

from copick_db.catalog.catalog import conditions, fetch_all
from copick_db.catalog.tables import (
    CatalogTable,
    FeaturesRow,
    FilamentsRow,
    MeshRow,
    PickableObjectRow,
    PicksRow,
    RunRow,
    SegmentationRow,
    TomogramRow,
    VoxelSpacingRow,
)

_vs = VoxelSpacingRow.__table__
_tomo = TomogramRow.__table__
_feat = FeaturesRow.__table__
_ANNOTATIONS = (PicksRow.__table__, MeshRow.__table__, SegmentationRow.__table__, FilamentsRow.__table__)
_run = RunRow.__table__

#: Run columns joined into cross-run results, labelled ``run__<column>``.
RUN_FIELDS = ("id", "name", "description", "created", "modified", "read_only", "split")
#: Voxel-spacing columns joined into cross-run tomogram results, labelled ``vs__<column>``.
VS_FIELDS = ("id", "voxel_size", "created", "modified", "read_only")


def _labelled(table: Any, fields: Sequence[str], prefix: str) -> list:
    return [table.c[f].label(f"{prefix}__{f}") for f in fields]


def across_runs(
    conn: Connection,
    table: type[CatalogTable],
    where: dict[str, Any],
    *,
    columns: Sequence[str],
    run_names: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    order_by: Sequence[str] = (),
) -> list:
    """Rows of an annotation table across runs, each with its run's columns (``run__name``…), in one query.

    ``run_names`` and ``splits`` (the runs' ML splits) narrow the runs; None selects every run.
    """
    t = table.__table__
    stmt = (
        select(*_labelled(_run, RUN_FIELDS, "run"), *(t.c[c] for c in columns))
        .join(_run, t.c.run_id == _run.c.id)
        .where(*conditions(t, where))
    )
    stmt = _in_runs(stmt, run_names, splits)
    rows = fetch_all(conn, stmt)
    # Sorted here, not in SQL: SQLite would sort the point blobs through a temporary B-tree.
    rows.sort(key=attrgetter("run__name", *order_by))
    return rows


def tomograms_across_runs(
    conn: Connection,
    where: dict[str, Any],
    voxel_keys: Sequence[int] | None,
    *,
    columns: Sequence[str],
    run_names: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
) -> list:
    """Tomogram rows across runs with their voxel spacing (``vs__…``) and run (``run__…``) columns, in one query."""
    stmt = (
        select(*_labelled(_run, RUN_FIELDS, "run"), *_labelled(_vs, VS_FIELDS, "vs"), *(_tomo.c[c] for c in columns))
        .join(_vs, _tomo.c.voxel_spacing_id == _vs.c.id)
        .join(_run, _vs.c.run_id == _run.c.id)
        .where(*conditions(_tomo, where))
        .order_by(_run.c.name, _vs.c.voxel_size, _tomo.c.tomo_type)
    )
    if voxel_keys is not None:
        stmt = stmt.where(_vs.c.voxel_key.in_(list(voxel_keys)))
    return fetch_all(conn, _in_runs(stmt, run_names, splits))


def _in_runs(stmt: Select, run_names: Sequence[str] | None, splits: Sequence[str] | None) -> Select:
    """``stmt`` (which joins the run table) narrowed to the named runs and to runs in the given splits."""
    if run_names is not None:
        stmt = stmt.where(_run.c.name.in_(list(run_names)))
    if splits is not None:
        stmt = stmt.where(_run.c.split.in_(list(splits)))
    return stmt


def stats(conn: Connection) -> dict[str, Any]:
    """Counts per entity kind, and pick sets (and points) per object and per user."""
    counts = {
        "objects": PickableObjectRow,
        "runs": RunRow,
        "voxel_spacings": VoxelSpacingRow,
        "tomograms": TomogramRow,
        "features": FeaturesRow,
        "picks": PicksRow,
        "meshes": MeshRow,
        "segmentations": SegmentationRow,
    }
    result: dict[str, Any] = {
        kind: conn.execute(select(func.count()).select_from(table.__table__)).scalar_one()
        for kind, table in counts.items()
    }
    picks = PicksRow.__table__
    result["points"] = int(conn.execute(select(func.coalesce(func.sum(picks.c.point_count), 0))).scalar_one())
    for key, column in (("picks_per_object", picks.c.object_name), ("picks_per_user", picks.c.user_id)):
        grouped = select(column, func.count()).group_by(column).order_by(column)
        result[key] = {name: n for name, n in conn.execute(grouped)}
    return result


def run_splits(conn: Connection) -> dict[str, list[str]]:
    """``{split: [run names, sorted]}`` for every run that has a split, in one indexed query."""
    stmt = select(_run.c.split, _run.c.name).where(_run.c.split.is_not(None)).order_by(_run.c.split, _run.c.name)
    splits: dict[str, list[str]] = {}
    for split, name in conn.execute(stmt):
        splits.setdefault(split, []).append(name)
    return splits


def set_run_splits(conn: Connection, assignments: dict[str, str | None], modified: float) -> list[str]:
    """Set the split of each named run (None clears it) in the caller's transaction; return names not found."""
    if not assignments:
        return []
    names = list(assignments)
    found = set()
    for start in range(0, len(names), 500):  # bounded IN lists: SQLite limits bound parameters per statement
        chunk = names[start : start + 500]
        found.update(conn.execute(select(_run.c.name).where(_run.c.name.in_(chunk))).scalars())
    stmt = (
        update(_run)
        .where(_run.c.name == bindparam("run_name"))
        .values(split=bindparam("new_split"), modified=bindparam("stamp"))
    )
    rows = [{"run_name": n, "new_split": s, "stamp": modified} for n, s in assignments.items() if n in found]
    if rows:
        conn.execute(stmt, rows)
    return [n for n in names if n not in found]


def clear_run_splits(conn: Connection, modified: float) -> None:
    """Clear every run's split in the caller's transaction."""
    conn.execute(update(_run).where(_run.c.split.is_not(None)).values(split=None, modified=modified))


def run_holds_read_only(conn: Connection, run_id: int) -> bool:
    """Whether anything in the run (voxel spacings, tomograms, features, annotations) is read-only."""
    in_run = _vs.c.run_id == run_id
    checks = [
        *(exists().where(t.c.run_id == run_id, t.c.read_only.is_(True)) for t in _ANNOTATIONS),
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


# -- filaments (copick 1.31) ---------------------------------------------------------------------------------------


def filament_stats(conn: Connection) -> dict[str, int]:
    """How many filament sets (``filaments``, as ``run.filaments`` counts them), polylines and points there are."""
    t = FilamentsRow.__table__
    sets, filaments, points = conn.execute(
        select(
            func.count(), func.coalesce(func.sum(t.c.filament_count), 0), func.coalesce(func.sum(t.c.point_count), 0)
        )
    ).one()
    return {"filaments": int(sets), "filament_polylines": int(filaments), "filament_points": int(points)}
