"""The rows that point at bulk data: one registry of them, and the queries over it (``copick-db check``, deletes).

Design invariants:
- :data:`DATA_TABLES` is the only list of tables whose rows reference bulk data; every query about "which rows
  point at data" is built from it, so a new kind of stored entity is added in one place.
- A row counts as having *written* data when its data was ever written: meshes when they are created, object
  density maps when their location is recorded, volumes once ``from_numpy`` moved ``modified`` past ``created``
  (an entity made by ``new_*`` has no data until then).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select, true, union_all
from sqlalchemy.engine import Connection

from copick_db.catalog.catalog import fetch_all
from copick_db.catalog.tables import (
    CatalogTable,
    FeaturesRow,
    ImportSource,
    MeshRow,
    PickableObjectRow,
    SegmentationRow,
    TomogramRow,
)


@dataclass(frozen=True)
class DataTable:
    """A table whose rows each reference one piece of bulk data.

    Attributes:
        kind: What ``check`` calls its rows ("tomogram", "features", "segmentation", "mesh", "object").
        table: The table.
        root_column: The column holding the data root's id.
        path_column: The column holding the path relative to that root (NULL where a row has no data).
        written_when_modified: Whether only rows whose ``modified`` passed ``created`` have written data.
    """

    kind: str
    table: type[CatalogTable]
    root_column: str = "root_id"
    path_column: str = "path"
    written_when_modified: bool = True


#: Every table whose rows reference bulk data.
DATA_TABLES = (
    DataTable("tomogram", TomogramRow),
    DataTable("features", FeaturesRow),
    DataTable("segmentation", SegmentationRow),
    DataTable("mesh", MeshRow, written_when_modified=False),
    DataTable("object", PickableObjectRow, "map_root_id", "map_path", written_when_modified=False),
)
_BY_KIND = {entry.kind: entry for entry in DATA_TABLES}


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


def _written(entry: DataTable, t: object) -> object:
    return (t.c.modified > t.c.created) if entry.written_when_modified else literal(True)  # type: ignore[attr-defined]


def data_references(conn: Connection) -> list[DataReference]:
    """Every data reference in the catalog, in one query."""
    parts = []
    for entry in DATA_TABLES:
        t = entry.table.__table__
        root, path = t.c[entry.root_column], t.c[entry.path_column]
        parts.append(
            select(
                literal(entry.kind).label("kind"),
                t.c.id,
                root.label("root_id"),
                path.label("path"),
                _written(entry, t).label("written"),  # type: ignore[attr-defined]
            ).where(path.is_not(None))
        )
    return [DataReference(r.kind, r.id, r.root_id, r.path, bool(r.written)) for r in fetch_all(conn, union_all(*parts))]


def referenced(conn: Connection, locations: Iterable[tuple[int, str]]) -> bool:
    """Whether a row with written data references any of ``locations`` (data root id, relative path) or a path below.

    The question a data removal asks under the write lock: may this file or directory go, or has a row (perhaps
    of an entity re-created meanwhile by another process) claimed it again? One query over :data:`DATA_TABLES`.
    """
    wanted = list(locations)
    if not wanted:
        return False
    parts = []
    for entry in DATA_TABLES:
        t = entry.table.__table__
        root, path = t.c[entry.root_column], t.c[entry.path_column]
        where = []
        for root_id, rel in wanted:
            prefix = rel + "/"
            under = func.substr(path, 1, len(prefix)) == prefix
            where.append(and_(root == root_id, or_(path == rel, under)))
        condition = or_(*where)
        if entry.written_when_modified:
            condition = and_(condition, t.c.modified > t.c.created)
        parts.append(select(literal(1)).select_from(t).where(condition).limit(1))
    stmt = union_all(*(p.subquery().select() for p in parts))
    return conn.execute(select(true()).where(stmt.exists())).scalar() is not None


def table_for(kind: str) -> type[CatalogTable]:
    """The table holding rows of ``kind`` (a :class:`DataTable` kind)."""
    return _BY_KIND[kind].table


def imported_entities(conn: Connection) -> set[tuple[str, int]]:
    """(kind, row id) of every entity ``import_filesystem`` made from a file (none in catalogs without that table).

    Kinds are :data:`DATA_TABLES`' (an object's density map is ``"object"``) or the entity's table name.
    """
    t = ImportSource.__table__
    if not conn.dialect.has_table(conn, t.name):
        return set()
    rows = conn.execute(select(t.c.kind, t.c.entity_id)).all()
    return {("object" if kind == "object_map" else kind, int(entity_id)) for kind, entity_id in rows}
