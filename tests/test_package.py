"""``make package``: the zip the Plugin Manager installs, with what it must hold and nothing it must not, and
the checks plugins.qgis.org runs over uploads (bandit, detect-secrets) reporting nothing."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.live  # package.py and lrelease as subprocesses

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # as when it runs as a script: its folder first (checkout_files.py)
spec = importlib.util.spec_from_file_location("package", ROOT / "scripts" / "package.py")
package = importlib.util.module_from_spec(spec)
spec.loader.exec_module(package)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The zip `make package` built for this run (``THINK2MAP_PLUGIN_ZIP``, also installed by the desktop test),
    or one built here."""
    given = os.environ.get("THINK2MAP_PLUGIN_ZIP")
    if given:
        return Path(given)
    if not list((ROOT / "i18n").glob("*.qm")):
        if not shutil.which("lrelease"):
            pytest.skip("no compiled translations and no lrelease to build them (make system)")
        subprocess.run(["make", "-s", "i18n"], cwd=ROOT, check=True)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), "--out", str(out)], text=True,
                          capture_output=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (zip_path,) = out.glob("think2map-*.zip")
    return zip_path


def test_the_zip_is_one_plugin_folder_with_what_qgis_needs(built):
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(ROOT / "metadata.txt")
    assert built.name == f"think2map-{meta['general']['version']}.zip"
    names = zipfile.ZipFile(built).namelist()
    assert {n.split("/", 1)[0] for n in names} == {"think2map"}
    for needed in ("metadata.txt", "__init__.py", "plugin/plugin.py", "backend/__main__.py",
                   "backend/requirements.txt", "resources/icon.svg", "i18n/think2map_fr.qm", "LICENSE"):  # fmt: skip
        assert f"think2map/{needed}" in names, needed
    # QGIS 4 lists a plugin only if its maximum is 4.x; Qt6 builds of QGIS 3 read supportsQt6.
    zipped = configparser.ConfigParser(interpolation=None)
    zipped.read_string(zipfile.ZipFile(built).read("think2map/metadata.txt").decode("utf-8"))
    general = zipped["general"]
    assert (general["qgisMinimumVersion"], general["qgisMaximumVersion"], general["supportsQt6"]) == (
        "3.22",
        "4.99",
        "True",
    )


def test_no_development_file_travels(built):
    rel = [n.split("/", 1)[1] for n in zipfile.ZipFile(built).namelist()]
    for prefix in ("tests/", "scripts/", ".ci/", "docs/bench-results/", ".git"):
        assert not [n for n in rel if n.startswith(prefix)], prefix
    assert not [n for n in rel if n.endswith((".pyc", ".ts", ".zip", ".whl"))]
    assert "Makefile" not in rel and "requirements-dev.txt" not in rel and ".flake8" not in rel


def test_the_checks_find_nothing_and_would_find_a_planted_secret(built, tmp_path):
    assert package.check(built) == []
    planted = tmp_path / "planted.zip"
    with zipfile.ZipFile(built) as src, zipfile.ZipFile(planted, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("think2map/plugin/leak.py", 'AWS_SECRET = "AKIAIOSFODNN7EXAMPLE"\nimport pickle\n')
        dst.writestr("think2map/tests/test_x.py", "")
    problems = package.check(planted)
    assert any(p.startswith("detect-secrets") and "leak.py" in p for p in problems)
    assert any(p.startswith("bandit B403") for p in problems)
    assert "a development file is packaged: tests/test_x.py" in problems


def test_a_failed_build_keeps_the_previous_zip(built, tmp_path, monkeypatch):
    out = tmp_path / "dist"
    out.mkdir()
    good = out / built.name
    good.write_bytes(built.read_bytes())
    monkeypatch.setattr(package, "check", lambda path: ["planted failure"])
    with pytest.raises(SystemExit, match="planted failure"):
        package.build(out)
    assert good.read_bytes() == built.read_bytes() and sorted(p.name for p in out.iterdir()) == [built.name]
