"""scripts/install_qgis_plugin.py: the plugin is linked into a profile and enabled, other settings untouched."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("install_qgis_plugin", ROOT / "scripts" / "install_qgis_plugin.py")
installer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(installer)


def test_install_links_the_checkout_and_enables_it(tmp_path):
    ini = tmp_path / "profiles" / "work" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[PythonPlugins]\nthink2map=false\nother=true\n\n[qgis]\nlocale\\userLocale=fr\n")
    assert installer.main(["--profiles-path", str(tmp_path), "--profile", "work"]) == 0
    target = tmp_path / "profiles" / "work" / "python" / "plugins" / "think2map"
    assert target.is_symlink() and target.resolve() == ROOT.resolve()
    assert (target / "metadata.txt").exists()
    text = ini.read_text()
    assert "think2map=true" in text and "think2map=false" not in text
    assert "other=true" in text and "locale\\userLocale=fr" in text
    assert installer.main(["--profiles-path", str(tmp_path), "--profile", "work"]) == 0  # again: idempotent
    assert ini.read_text().count("think2map=true") == 1


def test_enable_adds_the_section_when_missing(tmp_path):
    ini = tmp_path / "QGIS3.ini"
    ini.write_text("[qgis]\ncheckVersion=false\n")
    installer.enable(ini)
    assert ini.read_text() == "[qgis]\ncheckVersion=false\n\n[PythonPlugins]\nthink2map=true\n"


def test_copy_leaves_out_the_environments(tmp_path):
    installer.install(tmp_path, "default", copy=True)
    target = tmp_path / "profiles" / "default" / "python" / "plugins" / "think2map"
    assert not target.is_symlink() and (target / "__init__.py").exists() and (target / "plugin" / "gui").is_dir()
    assert not (target / ".venv").exists() and not (target / ".git").exists()
