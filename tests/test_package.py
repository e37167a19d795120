"""The package's public surface: the contract's names, and a fast import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import copick_db
from copick_db import models

CONTRACT = {
    "CopickRootDB": models.CopickRoot,
    "CopickRunDB": models.CopickRun,
    "CopickVoxelSpacingDB": models.CopickVoxelSpacing,
    "CopickTomogramDB": models.CopickTomogram,
    "CopickFeaturesDB": models.CopickFeatures,
    "CopickPicksDB": models.CopickPicks,
    "CopickMeshDB": models.CopickMesh,
    "CopickSegmentationDB": models.CopickSegmentation,
    "CopickObjectDB": models.CopickObject,
}


@pytest.mark.parametrize(("name", "abstract"), CONTRACT.items())
def test_catalog_backed_classes_are_exported_and_subclass_the_spec_classes(name, abstract):
    assert issubclass(getattr(copick_db, name), abstract)
    assert name in copick_db.__all__ and name in dir(copick_db)


def test_entry_points_are_exported():
    for name in ("create", "open", "from_file", "import_filesystem", "export_filesystem"):
        assert callable(getattr(copick_db, name))


def test_an_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        copick_db.nothing  # noqa: B018


def test_the_command_line_starts_without_loading_numpy_sqlalchemy_or_zarr():
    code = "import sys, copick_db.cli; print(sorted({'numpy', 'sqlalchemy', 'zarr', 'trimesh'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_all_lists_exactly_the_lazy_exports():
    assert sorted(copick_db.__all__) == sorted(["__version__", *copick_db._EXPORTS])
