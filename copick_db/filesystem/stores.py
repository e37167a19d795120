"""What an import accepts as a zarr store of a copick project, asked of the data store that holds it.

The store reads the metadata (:meth:`copick_db.storage.store.DataStore.describe_volume`); this module adds the import's
rule on top: copick reads only zarr format 2, so a format-3 store is refused. An empty store is a real entity without
data (copick's ``new_tomogram``/``new_features``/``new_segmentation`` create the store before any data); a store
holding one array at its root has it as level 0; a directory with content but no zarr metadata is refused.
"""

from __future__ import annotations

from copick_db.storage.paths import SourceError
from copick_db.storage.store import DataStore, MetadataError, VolumeInfo

__all__ = ["StoreInfo", "inspect_store"]

#: What :func:`inspect_store` returns: the store's format, the shape of level ``"0"`` and its voxel size.
StoreInfo = VolumeInfo

_FORMAT_3 = "a zarr-v3 store (zarr.json); copick reads only zarr format 2 (.zgroup/.zarray)"


def inspect_store(store: DataStore, key: str) -> StoreInfo:
    """What the zarr store at ``key`` holds, if an import can take it.

    Raises:
        SourceError: Not a directory, not a zarr-format-2 store (content without ``.zgroup``/``.zattrs``/``.zarray``,
            or a zarr-v3 ``zarr.json``), or metadata that is not valid JSON or describes an impossible array.
    """
    try:
        info = store.describe_volume(key)
    except MetadataError as exc:
        raise SourceError(_FORMAT_3 if exc.zarr_format == 3 else str(exc)) from None
    if info.zarr_format == 3:
        raise SourceError(_FORMAT_3)
    return info
