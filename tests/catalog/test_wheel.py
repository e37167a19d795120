"""The migrations ship inside the wheel: a wheel installed elsewhere creates and opens a catalog."""

from __future__ import annotations

import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_installed_wheel_creates_a_catalog_with_its_own_migrations(tmp_path):
    pytest.importorskip("hatchling")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, REPO],
        check=True,
    )
    (wheel,) = wheels.glob("copick_db-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", wheel], check=True)
    # Borrow this interpreter's dependencies, but not its editable copick_db: a plain path entry in a .pth file
    # does not run the .pth files (the editable hook) inside that directory.
    target_site = next((env_dir / "lib").glob("python*/site-packages"))
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (target_site / "borrowed_deps.pth").write_text("\n".join(deps) + "\n")
    script = (
        "import copick_db, pathlib\n"
        "from copick_db.catalog import schema\n"
        "where = schema.migrations_dir()\n"
        "assert 'site-packages' in str(where), where\n"
        "root = copick_db.create('p.sqlite', {'pickable_objects': []})\n"
        "root.new_run('TS_001')\n"
        "print(len(copick_db.open('p.sqlite').runs), where)\n"
    )
    result = subprocess.run([python, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 ")
    assert "site-packages/copick_db/migrations" in result.stdout
