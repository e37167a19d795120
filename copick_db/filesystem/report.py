"""What an import or export did, as dataclasses that print as readable tables (``print(report)``).

The dataclasses hold everything (every skipped path, every shadowed copy); the printed form shows the first
:data:`MAX_LISTED` entries of each list and says how many more there are.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported when a report is printed, not when copick_db is
    from rich.console import RenderableType
    from rich.table import Table

__all__ = ["EXPORT_KINDS", "IMPORT_KINDS", "ExportReport", "ImportReport", "KindCounts", "ReportItem"]

#: Entity kinds an import counts, in the order they are printed.
IMPORT_KINDS = (
    "objects",
    "object_maps",
    "runs",
    "voxel_spacings",
    "tomograms",
    "features",
    "picks",
    "meshes",
    "segmentations",
    "filaments",
)
#: Entity kinds an export counts.
EXPORT_KINDS = IMPORT_KINDS
#: Entries of each list shown when a report is printed.
MAX_LISTED = 50


@dataclass
class KindCounts:
    """How many entities of one kind an import added, updated, left unchanged and found removed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass
class ReportItem:
    """A path (or config entry) and what happened to it."""

    path: str
    reason: str


@dataclass
class ImportReport:
    """The outcome of :func:`copick_db.import_filesystem`.

    Attributes:
        config: The copick config that was imported.
        catalog: The catalog it was imported into.
        created: Whether this import created the catalog.
        pruned: Whether rows of removed sources were deleted (``prune=True``).
        counts: Per entity kind (:data:`IMPORT_KINDS`), what was added, updated, unchanged and removed.
        skipped: Items that were not imported, with the reason.
        shadowed: Static copies hidden by an overlay copy of the same entity (the reason names the overlay copy).
        removed: Sources that disappeared from disk, and whether their rows were deleted.
        notes: Things that were imported differently from what the project says (e.g. reassigned labels).
        elapsed: Wall-clock seconds.
    """

    config: str
    catalog: str
    created: bool = False
    pruned: bool = False
    counts: dict[str, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in IMPORT_KINDS})
    skipped: list[ReportItem] = field(default_factory=list)
    shadowed: list[ReportItem] = field(default_factory=list)
    removed: list[ReportItem] = field(default_factory=list)
    notes: list[ReportItem] = field(default_factory=list)
    elapsed: float = 0.0

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        """Add ``n`` to the ``outcome`` (``added``/``updated``/``unchanged``/``removed``) count of ``kind``."""
        counts = self.counts[kind]
        setattr(counts, outcome, getattr(counts, outcome) + n)

    def total(self, outcome: str) -> int:
        """The ``outcome`` count summed over every kind."""
        return sum(getattr(c, outcome) for c in self.counts.values())

    @property
    def changed(self) -> bool:
        """Whether the import added, updated or removed anything."""
        return any(self.total(outcome) for outcome in ("added", "updated", "removed"))

    def __rich__(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        verb = "created" if self.created else "updated" if self.changed else "unchanged"
        heading = Text(f"Import of {self.config}\ninto {self.catalog}: {verb} in {self.elapsed:.2f} s", style="bold")
        table = Table()
        table.add_column("kind")
        for outcome in ("added", "updated", "unchanged", "removed"):
            table.add_column(outcome, justify="right")
        for kind in IMPORT_KINDS:
            c = self.counts[kind]
            table.add_row(kind.replace("_", " "), *(str(v) for v in (c.added, c.updated, c.unchanged, c.removed)))
        parts: list[RenderableType] = [heading, table]
        removed_hint = "rows deleted" if self.pruned else "rows kept; import with prune=True to delete them"
        for title, items in (
            ("Skipped (not imported)", self.skipped),
            ("Shadowed static copies (the overlay copy was imported)", self.shadowed),
            (f"Removed from disk ({removed_hint})", self.removed),
            ("Notes", self.notes),
        ):
            if items:
                parts.append(_items_table(title, items))
        return Group(*parts)

    def __str__(self) -> str:
        return _render(self)


@dataclass
class ExportReport:
    """The outcome of :func:`copick_db.export_filesystem`.

    Attributes:
        directory: The copick project written.
        config: Its copick config file (open it with ``copick.from_file``).
        counts: Entities written per kind (:data:`EXPORT_KINDS`).
        skipped: Entities that could not be written, with the reason.
        notes: Things written differently from the catalog (e.g. zarr chunk keys rewritten).
        bytes_written: Bytes of data written (files copied and picks written).
        elapsed: Wall-clock seconds.
    """

    directory: str
    config: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXPORT_KINDS, 0))
    skipped: list[ReportItem] = field(default_factory=list)
    notes: list[ReportItem] = field(default_factory=list)
    bytes_written: int = 0
    elapsed: float = 0.0

    def __rich__(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        heading = Text(
            f"Export to {self.directory}: {_size(self.bytes_written)} in {self.elapsed:.2f} s\n"
            f"copick config: {self.config}",
            style="bold",
        )
        table = Table()
        table.add_column("kind")
        table.add_column("exported", justify="right")
        for kind in EXPORT_KINDS:
            table.add_row(kind.replace("_", " "), str(self.counts[kind]))
        parts: list[RenderableType] = [heading, table]
        for title, items in (("Skipped (not exported)", self.skipped), ("Notes", self.notes)):
            if items:
                parts.append(_items_table(title, items))
        return Group(*parts)

    def __str__(self) -> str:
        return _render(self)


def _items_table(title: str, items: list[ReportItem]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{title}: {len(items)}", title_justify="left", expand=True)
    table.add_column("path", overflow="fold", ratio=1)
    table.add_column("reason", overflow="fold", ratio=1)
    for item in items[:MAX_LISTED]:
        table.add_row(Text(item.path), Text(item.reason))
    if len(items) > MAX_LISTED:
        table.add_row(Text(f"… and {len(items) - MAX_LISTED} more"), Text(""))
    return table


def _render(report: ImportReport | ExportReport) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=120, force_terminal=False, color_system=None, soft_wrap=False).print(report)
    return buffer.getvalue().rstrip("\n")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover
