"""The exceptions copick_db raises, so that callers can catch them by kind.

Every class also subclasses the built-in exception a caller would naturally catch (``ValueError``, ``KeyError``,
``PermissionError``), so code written against copick keeps working.
"""

from __future__ import annotations


class CopickDBError(Exception):
    """Base class of every copick_db-specific error."""


class NotFoundError(CopickDBError, KeyError):
    """A requested entity, zarr group or catalog row does not exist.

    Subclasses ``KeyError`` (and so ``LookupError``), but prints its message plainly rather than quoted.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ZarrGroupNotFoundError(NotFoundError):
    """A zarr store has no array at the requested group (e.g. ``"0"``), or no data at all yet."""


class InvalidTransformError(CopickDBError, ValueError, AssertionError):
    """A 4×4 transformation matrix is malformed.

    Subclasses ``AssertionError`` too, because copick raises that from the same setter.
    """


class ReadOnlyError(CopickDBError, PermissionError):
    """A write was attempted on read-only data (a static entity, or a root opened with ``read_only=True``)."""


class CatalogError(CopickDBError):
    """The catalog file cannot be used (not a catalog, corrupt, or unreadable)."""


class NotACatalogError(CatalogError, ValueError):
    """The file exists but is not a copick_db catalog."""


class SchemaVersionError(CatalogError):
    """The catalog's schema version does not match the one this copick_db release uses."""


class SchemaTooNewError(SchemaVersionError):
    """The catalog was written by a newer copick_db; upgrade copick_db to open it."""


class SchemaOutdatedError(SchemaVersionError):
    """The catalog was written by an older copick_db; run ``copick-db upgrade`` on it."""


class DuplicateEntityError(CopickDBError, ValueError):
    """An entity with the same identity already exists; pass ``exist_ok=True`` to get the existing one."""
