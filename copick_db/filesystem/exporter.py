"""``export_filesystem``: write a project out as a plain copick filesystem project.

Design invariants:
    - The export is written into a hidden sibling of the target directory and renamed into place at the end, so a
      failed export leaves no half-written project; re-exporting over a previous export replaces it whole.
    - Only an empty (or new) directory, or a previous export (it holds the :data:`MARKER` file), is written to, and
      never a directory that holds the project's own data or catalog.
    - The layout, names and file formats are copick's: picks JSON with string ids and ``transformation_`` (null
      scores and instance ids kept), GLB meshes copied, zarr-format-2 stores copied with nested ``/`` chunk keys
      (zarr-format-3 stores, which users may write by hand under zarr 3, converted to format 2), whatever their
      layout (an OME multiscale group, or one array at the root, as users write into ``zarr()``),
      ``.meta`` markers in run and voxel spacing directories, and a config whose only root is the export
      (static and overlay entities end up side by side in it).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from copick_db.catalog import filament_codec, point_codec
from copick_db.catalog.tables import (
    FeaturesRow,
    FilamentsRow,
    MeshRow,
    PickableObjectRow,
    PicksRow,
    Project,
    RunRow,
    SegmentationRow,
    TomogramRow,
    VoxelSpacingRow,
)
from copick_db.db.object import object_meta
from copick_db.db.root import CopickRootDB
from copick_db.filesystem.picks_file import picks_document, write_picks
from copick_db.filesystem.progress import progress_bar
from copick_db.filesystem.report import ExportReport, ReportItem
from copick_db.models.filaments import CopickFilamentsFile
from copick_db.storage import paths
from copick_db.storage.store import DataStore, LocalStore, StoreCopyError

__all__ = ["CONFIG_NAME", "MARKER", "export_filesystem"]

#: The copick config written at the top of an export.
CONFIG_NAME = "copick_config.json"
#: The file that marks a directory as a copick_db export (hidden, so copick ignores it).
MARKER = ".copick_db_export.json"
#: Runs exported per catalog query.
BATCH_RUNS = 100
_META = "meta"


def export_filesystem(root: CopickRootDB, directory: str | os.PathLike, *, progress: bool = True) -> ExportReport:
    """Write the project as a copick filesystem project that ``copick.from_file`` opens with identical content.

    ``<directory>/copick_config.json`` is the copick config (``config_type: "filesystem"``, overlay root
    ``local://<directory>``); runs, voxel spacings, tomograms, features, picks, meshes, segmentations (binary,
    multilabel, instance, panoptic), filaments and object density maps are written under it in copick's layout.
    Static (read-only) entities are exported too, as ordinary entities of the new project.

    Args:
        root: The project to export.
        directory: A new or empty directory, or a previous export (which is replaced).
        progress: Show a progress bar (on stderr).

    Returns:
        What was exported per entity kind, what could not be and why, bytes written and the time.

    Raises:
        ValueError: ``directory`` is not empty and not a previous export, is a file, or holds the project's data
            or catalog.

    Example:
        >>> report = copick_db.export_filesystem(root, "exported")
        >>> copick.from_file("exported/copick_config.json")
    """
    start = time.perf_counter()
    target = Path(os.path.normpath(Path(directory).expanduser().absolute()))
    _check_target(root, target)
    report = ExportReport(directory=str(target), config=str(target / CONFIG_NAME))
    # The export is one directory, staged beside the target and published with the data stores' swap.
    parent = LocalStore(target.parent)
    staging = parent.stage(target.name)
    try:
        parent.locate(staging).mkdir(parents=True)
        writer = _Writer(root, LocalStore(parent.locate(staging)), report)
        runs = root.catalog.rows(RunRow, columns=("id", "name"), order_by=("name",))
        writer.objects(target)
        with progress_bar(progress, "Exporting runs", len(runs)) as advance:
            for index in range(0, len(runs), BATCH_RUNS):
                batch = runs[index : index + BATCH_RUNS]
                writer.runs(batch)
                advance(len(batch))
        writer.marker()
        parent.swap_in(staging, target.name).settle()
    finally:
        parent.discard(staging)
    report.elapsed = time.perf_counter() - start
    return report


def _check_target(root: CopickRootDB, target: Path) -> None:
    real = os.path.realpath(target)
    protected = [*root.data.directories.values()]
    if root.catalog.path is not None:
        protected.append(root.catalog.path)
    for path in protected:
        inside = os.path.realpath(path)
        if inside == real or inside.startswith(real.rstrip(os.sep) + os.sep):
            raise ValueError(
                f"Cannot export to {target}: it holds this project's data or catalog ({path}). Export to a "
                "directory outside the project."
            )
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise ValueError(f"Cannot export to {target}: it exists and is not a directory.")
        entries = os.listdir(target)
        if entries and MARKER not in entries:
            raise ValueError(
                f"Cannot export to {target}: it is not empty and is not a previous copick_db export. Export into a "
                "new or empty directory (a previous export is replaced)."
            )


class _Writer:
    """Writes one project's entities under the staging directory (its volumes and meshes through data stores)."""

    def __init__(self, root: CopickRootDB, out: LocalStore, report: ExportReport) -> None:
        self.root = root
        self.catalog = root.catalog
        self.out = out
        self.base = out.directory
        self.report = report

    # -- project ----------------------------------------------------------------------------------------------

    def objects(self, target: Path) -> None:
        """Write the config (objects and settings) and the object density maps."""
        rows = self.catalog.rows(PickableObjectRow, order_by=("position",))
        objects = []
        for row in rows:
            objects.append(object_meta(row).model_dump(mode="json"))
            self.report.counts["objects"] += 1
            if row.map_path is not None:
                store = self.root.data.store(row.map_root_id)
                dest, what = paths.object_path(row.name), f"density map of {row.name!r}"
                if store.exists(row.map_path) and self._store(store, row.map_path, dest, what):
                    self.report.counts["object_maps"] += 1
        project = self.catalog.first(Project, {"id": 1})
        config: dict[str, Any] = {
            "config_type": "filesystem",
            "name": project.name,
            "description": project.description,
            "version": project.version,
            "pickable_objects": objects,
        }
        for key in ("user_id", "session_id"):
            if getattr(project, key) is not None:
                config[key] = getattr(project, key)
        config["overlay_root"] = f"local://{target}"
        config["overlay_fs_args"] = {"auto_mkdir": True}
        self._write_text(self.base / CONFIG_NAME, json.dumps(config, indent=4))

    def marker(self) -> None:
        """Mark the directory as a copick_db export."""
        import copick_db

        payload = {
            "exported_by": "copick_db",
            "copick_db_version": copick_db.__version__,
            "catalog": self.catalog.where,
            "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (self.base / MARKER).write_text(json.dumps(payload, indent=4))

    # -- runs -------------------------------------------------------------------------------------------------

    def runs(self, runs: list[Any]) -> None:
        """Write a batch of runs and everything in them."""
        run_ids = [r.id for r in runs]
        with self.catalog.reading() as conn:
            spacings = self.catalog.rows(VoxelSpacingRow, {"run_id": run_ids}, order_by=("voxel_size",), conn=conn)
            tomograms = self.catalog.rows(TomogramRow, {"voxel_spacing_id": [v.id for v in spacings]}, conn=conn)
            features = self.catalog.rows(FeaturesRow, {"tomogram_id": [t.id for t in tomograms]}, conn=conn)
            picks = self.catalog.rows(PicksRow, {"run_id": run_ids}, conn=conn)
            meshes = self.catalog.rows(MeshRow, {"run_id": run_ids}, conn=conn)
            filaments = self.catalog.rows(FilamentsRow, {"run_id": run_ids}, conn=conn)
            segmentations = self.catalog.rows(SegmentationRow, {"run_id": run_ids}, conn=conn)
        names = {r.id: r.name for r in runs}
        vs_of = {v.id: v for v in spacings}
        for run in runs:
            run_dir = self.base / paths.run_dir(run.name)
            run_dir.mkdir(parents=True)
            self._write_text(run_dir / ".meta", _META)
            self.report.counts["runs"] += 1
        for vs in spacings:
            vs_dir = self.base / paths.voxel_spacing_dir(names[vs.run_id], vs.voxel_size)
            vs_dir.mkdir(parents=True)
            self._write_text(vs_dir / ".meta", _META)
            self.report.counts["voxel_spacings"] += 1
        tomo_of = {}
        for tomo in tomograms:
            vs = vs_of[tomo.voxel_spacing_id]
            tomo_of[tomo.id] = (vs, tomo)
            rel = paths.tomogram_path(names[vs.run_id], vs.voxel_size, tomo.tomo_type)
            self._volume("tomograms", tomo.root_id, tomo.path, rel)
        for feat in features:
            vs, tomo = tomo_of[feat.tomogram_id]
            rel = paths.features_path(names[vs.run_id], vs.voxel_size, tomo.tomo_type, feat.feature_type)
            self._volume("features", feat.root_id, feat.path, rel)
        for row in picks:
            self._picks(names[row.run_id], row)
        for mesh in meshes:
            self._mesh(names[mesh.run_id], mesh)
        for row in filaments:
            self._filaments(names[row.run_id], row)
        for seg in segmentations:
            rel = paths.typed_segmentation_path(
                names[seg.run_id],
                seg.voxel_size,
                seg.user_id,
                seg.session_id,
                seg.name,
                is_multilabel=bool(seg.is_multilabel),
                is_instance=bool(seg.is_instance),
                is_panoptic=bool(seg.is_panoptic),
            )
            self._volume("segmentations", seg.root_id, seg.path, rel)

    def _picks(self, run_name: str, row: Any) -> None:
        document = picks_document(
            object_name=row.object_name,
            user_id=row.user_id,
            session_id=row.session_id,
            run_name=run_name,
            voxel_spacing=row.voxel_spacing,
            unit=row.unit,
            trust_orientation=None if row.trust_orientation is None else bool(row.trust_orientation),
            arrays=point_codec.decode(row),
        )
        dest = self.base / paths.picks_path(run_name, row.user_id, row.session_id, row.object_name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.report.bytes_written += write_picks(dest, document)
        self.report.counts["picks"] += 1

    def _filaments(self, run_name: str, row: Any) -> None:
        document = CopickFilamentsFile.model_construct(
            pickable_object_name=row.object_name,
            user_id=row.user_id,
            session_id=row.session_id,
            run_name=run_name,
            voxel_spacing=row.voxel_spacing,
            unit=row.unit,
            version=row.version,
            filaments=filament_codec.decode(row).to_filaments(),
            created=None,
            modified=None,
        ).model_dump(mode="json")
        dest = self.base / paths.filaments_path(run_name, row.user_id, row.session_id, row.object_name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._write_text(dest, json.dumps(document, indent=4))
        self.report.counts["filaments"] += 1

    def _mesh(self, run_name: str, row: Any) -> None:
        store = self.root.data.store(row.root_id)
        source = store.locate(row.path)
        dest = paths.mesh_path(run_name, row.user_id, row.session_id, row.object_name)
        try:
            self.report.bytes_written += store.copy_file_to(row.path, self.out, dest)
        except FileNotFoundError:
            self.out.write_mesh(dest, None)
            self.report.notes.append(ReportItem(str(source), "the GLB file is missing; exported as an empty mesh"))
        except OSError as exc:
            self.report.skipped.append(ReportItem(str(source), f"cannot be copied: {exc.strerror or exc}"))
            return
        self.report.counts["meshes"] += 1

    def _volume(self, kind: str, root_id: int, path: str, rel: str) -> None:
        store = self.root.data.store(root_id)
        if not store.exists(path):
            self.out.make_empty_volume(rel)  # no data yet: an empty store, as copick's new_* leaves one
            self.report.counts[kind] += 1
        elif self._store(store, path, rel, kind):
            self.report.counts[kind] += 1

    def _store(self, store: DataStore, key: str, dest: str, what: str) -> bool:
        source = str(store.locate(key))
        try:
            copy = store.copy_volume_to(key, self.out, dest)
        except StoreCopyError as exc:
            self.report.skipped.append(ReportItem(source, f"{what}: {exc}"))
            return False
        if copy.converted:
            self.report.notes.append(
                ReportItem(source, "a zarr-format-3 store (written with zarr 3), converted to format 2 for copick")
            )
        if copy.rewritten:
            arrays = ", ".join(copy.rewritten)
            self.report.notes.append(
                ReportItem(source, f"flat '.' chunk keys rewritten as nested '/' keys (arrays {arrays})")
            )
        self.report.bytes_written += copy.size
        return True

    def _write_text(self, path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        self.report.bytes_written += len(text.encode("utf-8"))
