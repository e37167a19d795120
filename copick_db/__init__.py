"""copick_db: a SQLite-indexed embedded data store implementing the CoPick API."""

__version__ = "0.1.0"
