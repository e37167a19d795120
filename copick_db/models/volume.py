"""Region reads and writes of ZYX volumes (tomograms, segmentations, object density maps).

Arrays are stored (z, y, x), as OME-Zarr and copick do; each keyword applies to the axis it names (contract C14), so
``numpy(x=slice(0, 30), y=slice(50, 60), z=slice(10, 40))`` has shape (30, 10, 30).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_ALL = slice(None, None)


def zyx(x: slice, y: slice, z: slice) -> tuple[slice, slice, slice]:
    """The raw-array selection for keyword slices, checking that each one is a slice."""
    for axis, value in (("x", x), ("y", y), ("z", z)):
        if not isinstance(value, slice):
            raise ValueError(f"{axis} must be a slice (e.g. slice(0, 64)), got {type(value).__name__}")
    return (z, y, x)


class VolumeMixin:
    """``numpy``/``set_region`` for ZYX volumes, built on two backend hooks that take raw selections."""

    def _read_region(self, zarr_group: str, selection: tuple) -> np.ndarray:
        raise NotImplementedError

    def _write_region(self, data: np.ndarray, zarr_group: str, selection: tuple) -> None:
        raise NotImplementedError

    def _level_shape(self, zarr_group: str = "0") -> tuple[int, ...]:
        """The shape of one level, from its metadata (backend hook; KeyError when the level does not exist)."""
        raise NotImplementedError

    def numpy(self, zarr_group: str = "0", x: slice = _ALL, y: slice = _ALL, z: slice = _ALL) -> np.ndarray:
        """Read a region as a numpy array indexed ``[z, y, x]``.

        Args:
            zarr_group: Resolution level, "0" being full resolution.
            x: Slice along x.
            y: Slice along y.
            z: Slice along z.

        Returns:
            The region, a new array of shape (z, y, x).

        Raises:
            KeyError: The level does not exist or the volume has no data yet.
        """
        return self._read_region(str(zarr_group), zyx(x, y, z))

    def set_region(self, data: Any, zarr_group: str = "0", x: slice = _ALL, y: slice = _ALL, z: slice = _ALL) -> None:
        """Write ``data`` (shaped z, y, x) into a region of the stored volume, in place.

        Raises:
            KeyError: The level does not exist or the volume has no data yet.
            ValueError: ``data`` does not fit the region.
            PermissionError: The entity is read-only.
        """
        self._check_writable("write a region")  # type: ignore[attr-defined]
        self._write_region(np.asarray(data), str(zarr_group), zyx(x, y, z))
