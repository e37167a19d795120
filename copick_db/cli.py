"""The ``copick-db`` command line (also ``copick db`` when copick is installed).

User errors end with one line on stderr and exit code 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from copick_db.errors import CopickDBError

CONFIG_HELP = "The project: a catalog file or a copick_db JSON config (env: COPICK_CONFIG)."
KINDS = ("runs", "voxel-spacings", "tomograms", "features", "picks", "meshes", "segmentations", "objects")
_USER_ERRORS = (CopickDBError, ValueError, LookupError, PermissionError, FileNotFoundError, FileExistsError, OSError)

out = Console(highlight=False, soft_wrap=True)


class _Group(click.Group):
    """A click group whose commands turn user errors into one line on stderr (tracebacks only with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _USER_ERRORS as exc:
            if ctx.meta.get("copick_db.debug"):
                raise
            message = str(exc) or type(exc).__name__
            click.echo(f"Error: {message.splitlines()[0]}", err=True)
            ctx.exit(1)


@click.group("db", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def db(ctx: click.Context, debug: bool) -> None:
    """Create, migrate, inspect and maintain copick_db projects (SQLite-indexed CoPick projects).

    \b
    Example:
      copick-db import -c copick_config.json project.sqlite
      copick-db info -c project.sqlite
    """
    ctx.meta["copick_db.debug"] = debug


def _project_option(func: Callable) -> Callable:
    return click.option(
        "-c", "--config", "project", envvar="COPICK_CONFIG", required=True, type=click.Path(), help=CONFIG_HELP
    )(func)


def open_project(project: str, *, read_only: bool = False, user_id: str | None = None, session_id: str | None = None):
    """Open a project given as a catalog path/URL or a copick_db JSON pointer config."""
    import copick_db

    kwargs = {"read_only": read_only, "user_id": user_id, "session_id": session_id}
    path = Path(project)
    if path.suffix.lower() == ".json" and path.is_file():
        payload = json.loads(path.read_text())
        if payload.get("config_type") != "copick_db":
            raise ValueError(
                f"{project} is a copick config, not a copick_db project; import it first: "
                f"copick-db import -c {project} project.sqlite"
            )
        return copick_db.from_file(path, **kwargs)
    return copick_db.open(project, **kwargs)


def _print_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, default=str))


def _table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


# -- create / import / export / upgrade ---------------------------------------------------------------------------


@db.command()
@click.argument("catalog", type=click.Path())
@click.option("-c", "--config", "config", type=click.Path(exists=True, dir_okay=False), help="copick config JSON.")
@click.option("--data-root", type=click.Path(file_okay=False), help="Where bulk data goes (default: <stem>.data).")
@click.option("--overwrite", is_flag=True, help="Replace an existing catalog.")
def create(catalog: str, config: str | None, data_root: str | None, overwrite: bool) -> None:
    """Create an empty project catalog, optionally with the objects of a copick config.

    \b
    Example:
      copick-db create project.sqlite -c copick_config.json
    """
    import copick_db

    root = copick_db.create(catalog, config, data_root=data_root, overwrite=overwrite)
    out.print(f"Created {root.catalog.where} with {len(root.pickable_objects)} objects.")
    root.close()


@db.command("import")
@click.argument("catalog", type=click.Path())
@click.option("-c", "--config", "config", envvar="COPICK_CONFIG", required=True, type=click.Path(exists=True),
              help="The copick filesystem config of the project to import (env: COPICK_CONFIG).")  # fmt: skip
@click.option("--data-root", type=click.Path(file_okay=False), help="Default data root (the overlay root if unset).")
@click.option("--prune", is_flag=True, help="Remove rows whose source files were deleted.")
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
def import_(catalog: str, config: str, data_root: str | None, prune: bool, no_progress: bool) -> None:
    """Import (or re-import) a copick filesystem project in place: bulk data stays where it is.

    \b
    Example:
      copick-db import -c copick_config.json project.sqlite
    """
    import copick_db

    report = copick_db.import_filesystem(config, catalog, data_root=data_root, progress=not no_progress, prune=prune)
    out.print(report)


@db.command()
@click.argument("directory", type=click.Path(file_okay=False))
@_project_option
@click.option("--no-progress", is_flag=True, help="Do not show a progress bar.")
def export(directory: str, project: str, no_progress: bool) -> None:
    """Export a project to a copick filesystem project that copick opens.

    \b
    Example:
      copick-db export -c project.sqlite exported/
      copick browse -c exported/copick_config.json
    """
    import copick_db

    with open_project(project, read_only=True) as root:
        report = copick_db.export_filesystem(root, directory, progress=not no_progress)
    out.print(report)


@db.command()
@click.argument("catalog", type=click.Path())
@click.option("--no-backup", is_flag=True, help="Migrate without making a backup copy first.")
def upgrade(catalog: str, no_backup: bool) -> None:
    """Migrate a catalog to this copick_db's schema (a backup copy is made first).

    \b
    Example:
      copick-db upgrade project.sqlite
    """
    from copick_db import maintenance

    report = maintenance.upgrade(catalog, backup=not no_backup)
    if report.from_version == report.to_version:
        out.print(f"{catalog} is already at schema version {report.to_version}; nothing to do.")
        return
    out.print(f"Upgraded {catalog} from schema version {report.from_version} to {report.to_version}.")
    if report.backup is not None:
        out.print(f"Backup of the previous version: {report.backup}")


@db.command()
def version() -> None:
    """Print the copick_db version and the catalog schema version it uses."""
    import copick_db
    from copick_db.catalog.schema import SCHEMA_VERSION

    click.echo(f"copick-db {copick_db.__version__} (catalog schema {SCHEMA_VERSION})")


# -- info / stats / query -----------------------------------------------------------------------------------------


@db.command()
@_project_option
def info(project: str) -> None:
    """Summarise a project: settings, data roots, objects and counts.

    \b
    Example:
      copick-db info -c project.sqlite
    """
    from copick_db.catalog.schema import SCHEMA_VERSION

    with open_project(project, read_only=True) as root:
        cfg, data, stats = root.config, root.data, root.stats()
        out.print(f"[bold]{cfg.name}[/bold] — {cfg.description or ''}")
        out.print(f"catalog: {root.catalog.where} (schema {SCHEMA_VERSION}); user: {cfg.user_id}")
        roots = [(i, d, "read-only" if i in data.read_only else "writable") for i, d in data.directories.items()]
        out.print(_table("Data roots", ("id", "directory", "access"), roots))
        objects = [
            (o.name, o.label, "particle" if o.is_particle else "mask", o.color, o.radius) for o in root.pickable_objects
        ]
        out.print(_table("Objects", ("name", "label", "kind", "color", "radius"), objects))
        kinds = ("runs", "voxel_spacings", "tomograms", "features", "picks", "points", "meshes", "segmentations")
        out.print(_table("Counts", ("kind", "count"), ((k, stats[k]) for k in kinds)))


@db.command()
@_project_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(project: str, as_json: bool) -> None:
    """Counts per entity kind, per object, per user and per voxel spacing.

    \b
    Example:
      copick-db stats -c project.sqlite --json
    """
    with open_project(project, read_only=True) as root:
        result = root.stats()
        per_vs = Counter(round(t.voxel_spacing.voxel_size, 3) for t in root.get_tomograms())
        result["tomograms_per_voxel_size"] = {str(k): v for k, v in sorted(per_vs.items())}
    if as_json:
        _print_json(result)
        return
    scalars = [(k, v) for k, v in result.items() if not isinstance(v, dict)]
    out.print(_table("Entities", ("kind", "count"), scalars))
    for key, title in (
        ("picks_per_object", "Pick sets per object"),
        ("picks_per_user", "Pick sets per user"),
        ("tomograms_per_voxel_size", "Tomograms per voxel size (Å)"),
    ):
        out.print(_table(title, ("", "count"), result[key].items()))


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _query_rows(root: Any, kind: str, f: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple]]:
    runs, objects, users, sessions = f["runs"], f["objects"], f["users"], f["sessions"]
    if kind == "runs":
        return ("run",), [(r.name,) for r in root._selected_runs(runs)]
    if kind == "objects":
        rows = [(o.name, o.label, o.is_particle, o.color, o.radius) for o in root.pickable_objects]
        return ("name", "label", "particle", "color", "radius"), [r for r in rows if not objects or r[0] in objects]
    if kind == "voxel-spacings":
        rows = [(r.name, vs.voxel_size) for r in root._selected_runs(runs) for vs in r.voxel_spacings]
        return ("run", "voxel_size"), [r for r in rows if f["voxel_size"] is None or abs(r[1] - f["voxel_size"]) < 1e-3]
    if kind in ("tomograms", "features"):
        tomos = root.get_tomograms(f["tomo_type"], f["voxel_size"], runs=runs)
        if kind == "tomograms":
            return ("run", "voxel_size", "tomo_type", "dimensions"), [
                (t.voxel_spacing.run.name, t.voxel_spacing.voxel_size, t.tomo_type, t.meta.dimensions) for t in tomos
            ]
        return ("run", "voxel_size", "tomo_type", "feature_type"), [
            (t.voxel_spacing.run.name, t.voxel_spacing.voxel_size, t.tomo_type, x.feature_type)
            for t in tomos
            for x in t.features
        ]
    if kind == "picks":
        found = root.get_picks(objects, users, sessions, runs=runs)
        rows = [(p.run.name, p.pickable_object_name, p.user_id, p.session_id, len(p.numpy()[0]), p.from_tool)
                for p in found]  # fmt: skip
        return ("run", "object", "user_id", "session_id", "points", "tool"), _origin(rows, f["origin"])
    if kind == "meshes":
        rows = [(m.run.name, m.pickable_object_name, m.user_id, m.session_id, m.from_tool)
                for m in root.get_meshes(objects, users, sessions, runs=runs)]  # fmt: skip
        return ("run", "object", "user_id", "session_id", "tool"), _origin(rows, f["origin"])
    segs = root.get_segmentations(users, sessions, None, objects, f["voxel_size"], runs=runs)
    rows = [(s.run.name, s.name, s.voxel_size, s.user_id, s.session_id, s.is_multilabel, s.from_tool) for s in segs]
    return ("run", "name", "voxel_size", "user_id", "session_id", "multilabel", "tool"), _origin(rows, f["origin"])


def _origin(rows: list[tuple], origin: str | None) -> list[tuple]:
    if origin is None:
        return rows
    return [r for r in rows if r[-1] == (origin == "tool")]


@db.command()
@click.argument("kind", type=click.Choice(KINDS))
@_project_option
@click.option("--run-names", help="Comma-separated run names.")
@click.option("--object", "objects", multiple=True, help="Object (or segmentation) name; repeatable.")
@click.option("--user-id", "users", multiple=True, help="User id; repeatable.")
@click.option("--session-id", "sessions", multiple=True, help="Session id; repeatable.")
@click.option("--voxel-size", type=float, help="Voxel size in Å.")
@click.option("--tomo-type", help="Tomogram type (tomograms, features).")
@click.option("--tool", "origin", flag_value="tool", help="Only tool output (user or session '0').")
@click.option("--user", "origin", flag_value="user", help="Only data made by people.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def query(kind: str, project: str, run_names: str | None, as_json: bool, **filters: Any) -> None:
    """List entities of KIND matching the filters, as a table or JSON.

    \b
    Example:
      copick-db query picks -c project.sqlite --object ribosome --user-id alice --json
    """
    f = {
        "runs": _csv(run_names),
        "objects": list(filters["objects"]) or None,
        "users": list(filters["users"]) or None,
        "sessions": list(filters["sessions"]) or None,
        "voxel_size": filters["voxel_size"],
        "tomo_type": filters["tomo_type"],
        "origin": filters["origin"],
    }
    with open_project(project, read_only=True) as root:
        if f["objects"]:
            known = {o.name for o in root.pickable_objects}
            unknown = [o for o in f["objects"] if o not in known and kind != "segmentations"]
            if unknown:
                raise ValueError(f"Unknown object(s): {', '.join(unknown)}; see `copick-db info -c {project}`.")
        if f["runs"]:
            missing = [r for r in f["runs"] if root.get_run(r) is None]
            if missing:
                raise LookupError(f"Unknown run(s): {', '.join(missing)}.")
        columns, rows = _query_rows(root, kind, f)
    if as_json:
        _print_json([dict(zip(columns, row, strict=True)) for row in rows])
    else:
        out.print(_table(f"{len(rows)} {kind}", columns, rows))


# -- check ----------------------------------------------------------------------------------------------------


@db.command()
@_project_option
@click.option("--fix", is_flag=True, help="Remove rows whose data is missing and leftovers of interrupted writes.")
@click.option("--remove-unreferenced", is_flag=True, help="With --fix, also delete data no row references.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def check(project: str, fix: bool, remove_unreferenced: bool, yes: bool) -> None:
    """Find rows whose data is missing, data no row references, and leftovers of interrupted writes.

    Exits with 1 while problems remain.

    \b
    Example:
      copick-db check -c project.sqlite --fix --yes
    """
    from copick_db import maintenance

    with open_project(project, read_only=not fix) as root:
        report = maintenance.check(root)
        problems = [(p.kind, p.path, p.reason) for p in report.missing + report.unreferenced]
        problems += [("leftover", p, "temporary file of an interrupted write") for p in report.leftovers]
        if report.ok:
            out.print("No problems found.")
            return
        out.print(_table(f"{len(problems)} problems", ("kind", "path", "problem"), problems))
        if not fix:
            sys.exit(1)
        if not yes and not click.confirm("Remove the rows and files listed above?", default=False):
            sys.exit(1)
        fixed = maintenance.fix(root, report, remove_unreferenced=remove_unreferenced)
        out.print(
            f"Removed {len(fixed.rows_removed)} rows, {len(fixed.leftovers_removed)} leftovers, "
            f"{len(fixed.data_removed)} unreferenced data paths."
        )
        if report.unreferenced and not remove_unreferenced:
            out.print("Unreferenced data was kept; add --remove-unreferenced to delete it.")
            sys.exit(1)


def main() -> None:
    """Entry point of the ``copick-db`` console script."""
    db(prog_name="copick-db")


if __name__ == "__main__":
    main()
