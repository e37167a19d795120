"""Migrating copick filesystem projects: import them in place (incrementally), and export projects back to copick.

- :func:`import_filesystem` indexes a copick project where it lies: zarr stores and GLB files are referenced, pick
  points are copied into the catalog, and a re-import reads only what changed.
- :func:`export_filesystem` writes a project out in copick's layout, for copick and its tools.

Both return a report (:class:`ImportReport`, :class:`ExportReport`) that prints as tables.
"""

from copick_db.filesystem.exporter import export_filesystem
from copick_db.filesystem.importer import import_filesystem
from copick_db.filesystem.report import ExportReport, ImportReport, KindCounts, ReportItem

__all__ = ["ExportReport", "ImportReport", "KindCounts", "ReportItem", "export_filesystem", "import_filesystem"]
