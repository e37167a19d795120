"""Every row that points at bulk data, for consistency checks (``copick-db check``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import literal, select, union_all
from sqlalchemy.engine import Connection

from copick_db.catalog.catalog import fetch_all
from copick_db.catalog.tables import FeaturesRow, MeshRow, PickableObjectRow, SegmentationRow, TomogramRow

#: Tables whose rows reference one data path each: (kind, table).
DATA_TABLES = (
    ("tomogram", TomogramRow),
    ("features", FeaturesRow),
    ("segmentation", SegmentationRow),
    ("mesh", MeshRow),
)


@dataclass(frozen=True)
class DataReference:
    """A catalog row that references bulk data.

    Attributes:
        kind: "tomogram", "features", "segmentation", "mesh" or "object".
        row_id: The row's id in its table.
        root_id: The data root the path is relative to.
        path: The relative path.
        written: Whether data was ever written for it (an entity made by ``new_*`` has none until ``from_numpy``).
    """

    kind: str
    row_id: int
    root_id: int
    path: str
    written: bool


def data_references(conn: Connection) -> list[DataReference]:
    """Every data reference in the catalog, in one query."""
    parts = []
    for kind, table in DATA_TABLES:
        t = table.__table__
        # Meshes are written when created; volumes only once from_numpy has moved `modified` past `created`.
        written = literal(True) if kind == "mesh" else (t.c.modified > t.c.created)
        parts.append(select(literal(kind).label("kind"), t.c.id, t.c.root_id, t.c.path, written.label("written")))
    objects = PickableObjectRow.__table__
    parts.append(
        select(
            literal("object").label("kind"),
            objects.c.id,
            objects.c.map_root_id.label("root_id"),
            objects.c.map_path.label("path"),
            literal(True).label("written"),
        ).where(objects.c.map_path.is_not(None))
    )
    return [DataReference(r.kind, r.id, r.root_id, r.path, bool(r.written)) for r in fetch_all(conn, union_all(*parts))]


def table_for(kind: str) -> type:
    """The table holding rows of ``kind``."""
    return dict(DATA_TABLES)[kind] if kind != "object" else PickableObjectRow
