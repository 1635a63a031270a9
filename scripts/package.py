#!/usr/bin/env python3
"""Build the plugin zip that plugins.qgis.org and QGIS's Plugin Manager take, and check it.

    python scripts/package.py [--out dist]        # writes dist/think2map-VERSION.zip (make package)
    python scripts/package.py --check ZIP         # only the checks, on an existing zip

The zip holds one top folder, ``think2map/``: the plugin and backend code, resources, the compiled ``.qm``
translations, the README, licence, changelog and the user documentation, with the backend's pinned
requirements. Left out: tests, scripts, CI, benchmark results and the development configuration.

Checks: the metadata fields plugins.qgis.org requires, no binaries (compiled code, archives, bytecode), a size
limit, and bandit and detect-secrets over the unpacked tree (the repository scans uploads with both). The zip
is written beside its final name and renamed when complete, so a failed build never replaces a good zip.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import subprocess  # nosec B404 - runs git, bandit and detect-secrets with fixed arguments
import sys
import tempfile
import zipfile
from pathlib import Path

from checkout_files import checkout_files  # scripts/, this script's own folder, is on sys.path

ROOT = Path(__file__).resolve().parent.parent
TOP = "think2map"
REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email", "repository")
DEV_PREFIXES = ("tests/", "scripts/", ".ci/", ".github/", "docs/bench-results/")
EXCLUDED_PREFIXES = (*DEV_PREFIXES, "i18n/")  # i18n/: the .ts sources; the built .qm files are added
EXCLUDED_FILES = {
    ".gitignore",
    ".gitattributes",
    ".pre-commit-config.yaml",
    ".flake8",
    "Makefile",
    "pyproject.toml",
    "requirements-dev.txt",
    "requirements-qgis.txt",
    "CONTRIBUTING.md",
}
BINARY_SUFFIXES = {".so", ".pyd", ".dll", ".dylib", ".exe", ".pyc", ".pyo", ".whl", ".zip", ".gz", ".pt", ".pth"}
ALLOWED_BINARY_SUFFIXES = {".qm", ".png"}  # compiled translations and icons
MAX_MB = 20.0  # well under plugins.qgis.org's upload limit


def version() -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "metadata.txt", encoding="utf-8")
    return parser["general"]["version"]


def packaged_files() -> list[str]:
    """Tracked and new (not ignored) files of the checkout that belong in the zip, plus the built ``.qm`` files."""
    files = [f for f in checkout_files(ROOT) if not f.startswith(EXCLUDED_PREFIXES) and f not in EXCLUDED_FILES]
    qm = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "i18n").glob("*.qm"))
    if not qm:
        raise SystemExit("no compiled translations in i18n/: run `make i18n` first")
    return sorted(files) + qm


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{TOP}-{version()}.zip"
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=out_dir)
    os.close(fd)
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel in packaged_files():
                zf.write(ROOT / rel, f"{TOP}/{rel}")
        problems = check(Path(partial))
        if problems:
            raise SystemExit("the package fails its checks:\n  " + "\n  ".join(problems))
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def check(zip_path: Path) -> list[str]:
    """Every problem plugins.qgis.org would find in ``zip_path``; empty when there is none."""
    problems = []
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        tops = {n.split("/", 1)[0] for n in names}
        if tops != {TOP}:
            problems.append(f"one top folder expected ({TOP}/), found: {', '.join(sorted(tops))}")
        for name in names:
            rel = name.split("/", 1)[-1]
            if rel.startswith(DEV_PREFIXES) or rel in EXCLUDED_FILES:
                problems.append(f"a development file is packaged: {rel}")
            suffix = Path(name).suffix.lower()
            if suffix in BINARY_SUFFIXES:
                problems.append(f"a binary file is packaged: {rel}")
            elif suffix not in ALLOWED_BINARY_SUFFIXES and b"\0" in zf.read(name)[:8192]:
                problems.append(f"a binary file is packaged: {rel}")
        if f"{TOP}/metadata.txt" not in names:
            problems.append("metadata.txt is missing")
        else:
            meta = configparser.ConfigParser(interpolation=None)
            meta.read_string(zf.read(f"{TOP}/metadata.txt").decode("utf-8"))
            general = meta["general"] if meta.has_section("general") else {}
            problems += [f"metadata.txt has no {key}" for key in REQUIRED_METADATA if not general.get(key)]
        if not any(n.endswith(".qm") for n in names):
            problems.append("no compiled translation (.qm)")
        size_mb = zip_path.stat().st_size / 2**20
        if size_mb > MAX_MB:
            problems.append(f"the zip is {size_mb:.1f} MB, over {MAX_MB:.0f} MB")
        with tempfile.TemporaryDirectory() as tmp:
            zf.extractall(tmp)  # nosec B202 - our own zip, its names checked above
            problems += scan(Path(tmp) / TOP)
    return problems


def scan(tree: Path) -> list[str]:
    """bandit and detect-secrets over ``tree``: one line per finding."""
    found = []
    bandit = subprocess.run(  # nosec B603 - fixed arguments
        [sys.executable, "-m", "bandit", "-r", str(tree), "-f", "json", "-q"], capture_output=True, text=True
    )
    try:
        results = json.loads(bandit.stdout)["results"]
    except (ValueError, KeyError):
        return [f"bandit did not run: {(bandit.stderr or bandit.stdout).strip()[:300]}"]
    found += [f"bandit {r['test_id']} {r['filename']}:{r['line_number']}: {r['issue_text']}" for r in results]
    secrets = subprocess.run(  # nosec B603 - fixed arguments
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files", str(tree)],
        capture_output=True,
        text=True,
        cwd=tree,
    )
    try:
        report = json.loads(secrets.stdout)["results"]
    except (ValueError, KeyError):
        return [*found, f"detect-secrets did not run: {(secrets.stderr or secrets.stdout).strip()[:300]}"]
    for filename, hits in report.items():
        found += [f"detect-secrets {h['type']} {filename}:{h['line_number']}" for h in hits]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default dist/)")
    parser.add_argument("--check", metavar="ZIP", help="only check an existing zip")
    args = parser.parse_args()
    if args.check:
        problems = check(Path(args.check))
        print("\n".join(problems) or f"{args.check}: no problem found")
        return 1 if problems else 0
    target = build(Path(args.out))
    print(f"{target} ({target.stat().st_size / 2**20:.2f} MB): checked, no problem found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
