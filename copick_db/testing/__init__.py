"""Test support shipped with copick_db: a behaviour suite any CopickRoot implementation can run (needs pytest)."""

from copick_db.testing.behaviour import CONFIG, CopickRootBehaviour

__all__ = ["CONFIG", "CopickRootBehaviour"]
