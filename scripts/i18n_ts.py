#!/usr/bin/env python3
"""Keep i18n/think2map_<lang>.ts in step with the plugin's user strings (standard library only).

Every ``tr("literal")`` call under plugin/ is one message in the 'Think2Map' context. ``update`` rewrites the
.ts with all of them, keeping existing translations (new ones are marked unfinished, vanished ones obsolete);
``check`` exits 1 listing the strings without a translation; ``--merge FILE.json`` adds translations
({"source": "translation"}) before writing.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = "Think2Map"


def collect(root: Path = ROOT) -> dict[str, str]:
    """Source string → 'file:line' of its first use, for every ``tr("...")`` under plugin/."""
    found: dict[str, str] = {}
    for path in sorted((root / "plugin").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            arg = node.args[0]
            if name == "tr" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def read_ts(path: Path) -> dict[str, str]:
    """Source → translation ('' when unfinished) from an existing .ts."""
    if not path.exists():
        return {}
    out = {}
    for message in ET.parse(path).getroot().iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        unfinished = translation is not None and translation.get("type") in ("unfinished", "obsolete", "vanished")
        out[source] = "" if translation is None or unfinished else (translation.text or "")
    return out


def write_ts(path: Path, language: str, sources: dict[str, str], translations: dict[str, str]) -> None:
    ts = ET.Element("TS", version="2.1", language=language)
    context = ET.SubElement(ts, "context")
    ET.SubElement(context, "name").text = CONTEXT
    for source, where in sorted(sources.items(), key=lambda kv: kv[1]):
        message = ET.SubElement(context, "message")
        file, line = where.rsplit(":", 1)
        ET.SubElement(message, "location", filename="../" + file, line=line)
        ET.SubElement(message, "source").text = source
        translation = ET.SubElement(message, "translation")
        if translations.get(source):
            translation.text = translations[source]
        else:
            translation.set("type", "unfinished")
    ET.indent(ts)
    body = ET.tostring(ts, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["update", "check"])
    parser.add_argument("--lang", default="fr")
    parser.add_argument("--merge", type=Path, help="JSON file of translations to add")
    args = parser.parse_args(argv)
    path = ROOT / "i18n" / f"think2map_{args.lang}.ts"
    sources = collect()
    translations = read_ts(path)
    if args.action == "check":
        missing = [s for s in sources if not translations.get(s)]
        for source in missing:
            print(f"untranslated ({sources[source]}): {source!r}")
        print(f"{len(sources) - len(missing)}/{len(sources)} strings translated in {path.name}")
        return 1 if missing else 0
    if args.merge:
        translations.update(json.loads(args.merge.read_text(encoding="utf-8")))
    write_ts(path, args.lang, sources, translations)
    print(f"wrote {path} ({len(sources)} strings, {sum(1 for s in sources if translations.get(s))} translated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
