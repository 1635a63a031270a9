#!/usr/bin/env python3
"""Install this checkout as the QGIS plugin ``think2map`` in a profile and enable it (standard library only).

    scripts/install_qgis_plugin.py [--profiles-path DIR] [--profile NAME] [--copy | --zip ZIP]

The plugin folder becomes a symlink to the checkout (``--copy`` copies the plugin files instead, without the
virtual environments; ``--zip`` unpacks a package from ``make package``, as the Plugin Manager installs it),
and ``think2map=true`` is written under ``[PythonPlugins]`` in the profile's QGIS3.ini.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "think2map"
DEFAULT_PROFILES = Path.home() / ".local" / "share" / "QGIS" / "QGIS3"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", ".qgis-settings", "__pycache__", "*.pyc", "test-artifacts", "out", ".ruff_cache", ".pytest_cache"
)


def install(profiles: Path, profile: str, copy: bool = False, package: Path | None = None) -> Path:
    """Put the plugin in ``profiles/profiles/<profile>/python/plugins/think2map``; returns that path."""
    plugins = profiles / "profiles" / profile / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    target = plugins / NAME
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        if not (target / "metadata.txt").exists():
            raise SystemExit(f"{target} exists and is not a Think2Map plugin folder; remove it first")
        shutil.rmtree(target)
    if package is not None:
        import zipfile

        with zipfile.ZipFile(package) as zf:
            if any(not n.startswith(f"{NAME}/") or ".." in n.split("/") for n in zf.namelist()):
                raise SystemExit(f"{package} is not a {NAME} plugin package (one {NAME}/ folder)")
            zf.extractall(plugins)
    elif copy:
        shutil.copytree(ROOT, target, ignore=COPY_IGNORE)
    else:
        target.symlink_to(ROOT, target_is_directory=True)
    return target


def enable(ini: Path, name: str = NAME) -> None:
    """Set ``name=true`` in the ``[PythonPlugins]`` section of a QGIS3.ini, keeping everything else as it is."""
    ini.parent.mkdir(parents=True, exist_ok=True)
    lines = ini.read_text(encoding="utf-8").splitlines() if ini.exists() else []
    out, in_section, done = [], False, False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if in_section and not done:
                out.append(f"{name}=true")
                done = True
            in_section = stripped == "[PythonPlugins]"
        elif in_section and stripped.split("=", 1)[0].strip() == name:
            if not done:
                out.append(f"{name}=true")
                done = True
            continue
        out.append(line)
    if in_section and not done:
        out.append(f"{name}=true")
        done = True
    if not done:
        out += ([""] if out and out[-1].strip() else []) + ["[PythonPlugins]", f"{name}=true"]
    ini.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles-path", type=Path, default=Path(os.environ.get("QGIS_PROFILES", DEFAULT_PROFILES)))
    parser.add_argument("--profile", default="default")
    parser.add_argument("--copy", action="store_true", help="copy the plugin files instead of linking the checkout")
    parser.add_argument("--zip", type=Path, help="install this plugin package (make package) instead")
    args = parser.parse_args(argv)
    target = install(args.profiles_path, args.profile, args.copy, args.zip)
    ini = args.profiles_path / "profiles" / args.profile / "QGIS" / "QGIS3.ini"
    enable(ini)
    source = args.zip or ("copy" if args.copy else ROOT)
    print(f"installed {target} from {source}; enabled in {ini}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
