"""Test support shipped with copick_db (needs pytest): a behaviour suite any CopickRoot implementation can run, and
the backends (catalog factory × store factory) copick_db's own tests run it on."""

from copick_db.testing.backends import BACKEND_IDS, Backend, backend_named
from copick_db.testing.behaviour import CONFIG, CatalogBackendBehaviour, CopickRootBehaviour

__all__ = ["BACKEND_IDS", "CONFIG", "Backend", "CatalogBackendBehaviour", "CopickRootBehaviour", "backend_named"]
