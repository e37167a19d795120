"""The name rule for object names, user ids, session ids and data type names.

copick builds file names by joining these names with ``_`` (``<user>_<session>_<object>.json``) and splits them on
``_`` when reading, so a valid name contains no ``_``, no whitespace, none of ``< > : " / \\ | ? *``, no control
character, and does not start or end with ``-``. Dots and non-ASCII letters are fine.

Models *reject* a bad name (:func:`validate_name`); the ``new_*`` factories *repair* it with a warning
(:func:`repair_name`), as copick does.
"""

from __future__ import annotations

import re
import warnings

__all__ = ["repair_name", "require_str", "sanitize_name", "validate_name"]

# Python's \s on str patterns also matches Unicode whitespace (e.g. U+00A0, U+2003), as copick's rule does.
_INVALID_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f\s_]')

_RULE = (
    'names may not contain underscores, whitespace, control characters or any of < > : " / \\ | ? *, '
    "and may not start or end with '-'"
)


def require_str(value: object, what: str = "name") -> str:
    """Return ``value`` if it is a str, else raise a ValueError that explains ids are strings.

    Args:
        value: The value to check.
        what: What the value is (``"session_id"``, ``"object name"``), used in the message.

    Returns:
        The value, unchanged.

    Raises:
        ValueError: If ``value`` is not a str (e.g. the int ``0`` instead of the tool session id ``"0"``).
    """
    if not isinstance(value, str):
        raise ValueError(
            f"{what} must be a string, got {type(value).__name__} {value!r}; names and ids are strings, "
            f'e.g. write the tool session id as "0", not 0'
        )
    return value


def _sanitized(name: object, what: str) -> str:
    """Apply the replacement rule without warning; raise if nothing valid remains."""
    text = require_str(name, what)
    result = _INVALID_CHARS.sub("-", text).strip("-")
    if not result:
        raise ValueError(  # copick's own words first: code written for copick matches on them
            f"Filename cannot be empty or completely consist of invalid characters: {what} {text!r} cannot be used "
            f"({_RULE})."
        )
    return result


def sanitize_name(name: str, *, warn: bool = True) -> str:
    """Turn ``name`` into a valid copick name, as copick's ``sanitize_name`` does.

    Each invalid character is replaced by one ``-`` (runs are not collapsed, so ``a__b`` becomes ``a--b``), then
    leading and trailing ``-`` are stripped.

    Args:
        name: The name to clean.
        warn: Emit a UserWarning when the name changes.

    Returns:
        The sanitized name (``name`` itself if it was already valid).

    Raises:
        ValueError: If ``name`` is not a str, or nothing valid remains (e.g. ``"___"``).
    """
    result = _sanitized(name, "name")
    if warn and result != name:
        warnings.warn(_sanitized_warning("Input", name, result), UserWarning, stacklevel=2)
    return result


def validate_name(name: str, what: str = "name") -> str:
    """Return ``name`` unchanged if it follows the name rule, else raise.

    Args:
        name: The name to check.
        what: What the name is (``"object name"``, ``"user_id"``), used in the message.

    Returns:
        ``name``.

    Raises:
        ValueError: If ``name`` is not a str or breaks the rule; the message suggests the sanitized form.
    """
    result = _sanitized(name, what)
    if result != name:
        raise ValueError(
            f"{what} {name!r} is not a valid name: it contains invalid characters ({_RULE}); use {result!r} instead "
            "(sanitize_name() cleans a name)"
        )
    return name


def repair_name(name: str, what: str, stacklevel: int = 3) -> str:
    """Sanitize ``name`` with a UserWarning that says what was repaired; used by the ``new_*`` factories.

    Args:
        name: The name to repair.
        what: What the name is (``"session_id"``, ``"tomo_type"``), used in the warning.
        stacklevel: Frames between the warning and the user's call (3: the caller of a ``new_*`` method that calls
            this directly).

    Returns:
        The sanitized name.

    Raises:
        ValueError: If ``name`` is not a str, or nothing valid remains.
    """
    result = _sanitized(name, what)
    if result != name:
        warnings.warn(_sanitized_warning(what, name, result), UserWarning, stacklevel=stacklevel)
    return result


def _sanitized_warning(what: str, name: str, result: str) -> str:
    """The warning for a repaired name, in copick's words (code written for copick matches on them)."""
    return f"{what} '{name}' contains invalid characters. It has been sanitized to '{result}'."
