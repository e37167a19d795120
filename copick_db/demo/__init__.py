"""The demo: ``python -m copick_db.demo DIR`` (``make demo``) builds a project and shows what copick_db does with it.

:mod:`copick_db.demo.project` builds the project (objects, runs, tomograms, picks) and times queries on it;
:mod:`copick_db.demo.migration` exports it to copick's filesystem layout, imports that back in place, changes
files on disk the way copick users do, and re-imports incrementally.
"""

from copick_db.demo.project import (
    CATALOG_NAME,
    OBJECTS,
    POINTER_NAME,
    DemoLayout,
    build,
    density_map,
    main,
    summarize,
    synthetic_tomogram,
    timed_queries,
)

__all__ = [
    "CATALOG_NAME",
    "OBJECTS",
    "POINTER_NAME",
    "DemoLayout",
    "build",
    "density_map",
    "main",
    "summarize",
    "synthetic_tomogram",
    "timed_queries",
]
