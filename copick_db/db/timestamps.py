"""Times as the catalog stores them (seconds since the epoch, UTC) and as meta models carry them (datetimes)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

__all__ = ["now", "to_datetime", "to_timestamp"]


def now() -> float:
    """The current time as stored in the catalog (seconds since the epoch)."""
    return time.time()


def to_datetime(timestamp: float | None) -> datetime | None:
    """A catalog timestamp as an aware UTC datetime."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


def to_timestamp(value: datetime | None, default: float | None = None) -> float | None:
    """A meta datetime as a catalog timestamp (naive datetimes are taken as UTC)."""
    if value is None:
        return default
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
