#!/usr/bin/env python3
"""Validate the benchmark framework files in this folder and print their counts.

Usage: python3 frameworks/validate.py [--markdown]

Checks every *.yaml here: the framework header, unique requirement ids, every
field present and of the right type, ids inside their section, and that each
name in `checks`/`partial_checks` is a rule id of the bundled packs (rules/)
or an event plugin compiled from plugins/. Exits 1 on any error. Needs
PyYAML.
"""
import pathlib
import re
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
ID = re.compile(r"^\d+(\.\d+)*$")
FRAMEWORK_KEYS = {"id": str, "name": str, "version": str, "provider": str}
REQUIRED = {"id": str, "section": str, "title": str, "level": int, "automated": bool, "checks": list}
OPTIONAL = {"subsection": str, "partial_checks": list}
PROVIDERS = {"aws", "azure", "gcp"}


def check_names():
    """The rule ids of the bundled packs and the compiled event plugins."""
    names = set()
    for src in (REPO / "plugins").glob("*/src/**/*.rs"):
        names.update(re.findall(r'"([a-z0-9]+event)"', src.read_text(errors="replace")))
    for pack in (REPO / "rules").glob("**/*.y*ml"):
        for rule in (yaml.safe_load(pack.read_text()) or {}).get("rules") or []:
            names.add(rule.get("id"))
    return names


def validate(path, known, errors, warnings):
    def err(msg):
        errors.append(f"{path.name}: {msg}")

    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict) or set(doc) != {"framework", "requirements"}:
        err("top level must be exactly 'framework' and 'requirements'")
        return None
    fw = doc["framework"]
    for key, typ in FRAMEWORK_KEYS.items():
        if not isinstance(fw.get(key), typ):
            err(f"framework.{key} missing or not {typ.__name__}")
    if set(fw) - set(FRAMEWORK_KEYS):
        err(f"unknown framework keys {sorted(set(fw) - set(FRAMEWORK_KEYS))}")
    if fw.get("id") != path.stem:
        err(f"framework.id {fw.get('id')!r} does not match the file name")
    if fw.get("provider") not in PROVIDERS:
        err(f"provider {fw.get('provider')!r} not one of {sorted(PROVIDERS)}")
    if not str(fw.get("id", "")).endswith("_" + str(fw.get("version"))):
        err("framework.id does not end with _<version>")

    seen = set()
    stats = dict(recs=0, auto=0, auto_l1=0, auto_mapped=0, auto_partial=0, manual_mapped=0, manual_partial=0)
    for n, req in enumerate(doc["requirements"] or []):
        where = f"requirement #{n + 1} ({req.get('id') if isinstance(req, dict) else '?'})"
        if not isinstance(req, dict):
            err(f"{where}: not a mapping")
            continue
        for key, typ in REQUIRED.items():
            if key not in req:
                err(f"{where}: missing {key}")
            elif not isinstance(req[key], typ) or (typ is int and isinstance(req[key], bool)):
                err(f"{where}: {key} is not {typ.__name__}")
        for key, typ in OPTIONAL.items():
            if key in req and not isinstance(req[key], typ):
                err(f"{where}: {key} is not {typ.__name__}")
        extra = set(req) - set(REQUIRED) - set(OPTIONAL)
        if extra:
            err(f"{where}: unknown keys {sorted(extra)}")
        rid = str(req.get("id", ""))
        if not ID.match(rid):
            err(f"{where}: id {rid!r} is not dotted numbers")
        if rid in seen:
            err(f"{where}: duplicate id")
        seen.add(rid)
        if req.get("level") not in (1, 2):
            err(f"{where}: level must be 1 or 2")
        section = str(req.get("section", ""))
        if not rid.startswith(section.split(" ")[0] + "."):
            err(f"{where}: id is not inside section {section!r}")
        sub = req.get("subsection")
        if sub and not rid.startswith(sub.split(" ")[0] + "."):
            err(f"{where}: id is not inside subsection {sub!r}")
        if not str(req.get("title", "")).strip():
            err(f"{where}: empty title")
        checks = req.get("checks") or []
        partial = req.get("partial_checks") or []
        if "partial_checks" in req and not partial:
            err(f"{where}: partial_checks present but empty (omit it)")
        for name in checks + partial:
            if not isinstance(name, str) or not name:
                err(f"{where}: check names must be non-empty strings")
            elif name not in known:
                err(f"{rid}: {name!r} is neither a bundled rule's id nor a compiled event plugin")
        if set(checks) & set(partial):
            err(f"{where}: a check is listed as both full and partial")
        stats["recs"] += 1
        if req.get("automated"):
            stats["auto"] += 1
            stats["auto_l1"] += req.get("level") == 1
            stats["auto_mapped"] += bool(checks)
            stats["auto_partial"] += bool(partial) and not checks
        else:
            stats["manual_mapped"] += bool(checks)
            stats["manual_partial"] += bool(partial) and not checks
    return fw.get("id"), stats


def main():
    known = check_names()
    errors, warnings, rows = [], [], []
    for path in sorted(HERE.glob("*.yaml")):
        result = validate(path, known, errors, warnings)
        if result:
            rows.append(result)
    if "--markdown" in sys.argv:
        print("| File | Requirements | Automated (of them Level 1) | Automated mapped to a check "
              "| Automated with partial checks only | Manual mapped (+ partial only) |")
        print("|---|---|---|---|---|---|")
        for fid, s in rows:
            print(f"| `{fid}.yaml` | {s['recs']} | {s['auto']} ({s['auto_l1']}) | {s['auto_mapped']} "
                  f"| {s['auto_partial']} | {s['manual_mapped']} (+{s['manual_partial']}) |")
    else:
        for fid, s in rows:
            print(f"{fid:18} requirements {s['recs']:3}  automated {s['auto']:3} (L1 {s['auto_l1']:2})  "
                  f"automated mapped {s['auto_mapped']:2} (+{s['auto_partial']} partial)  "
                  f"manual mapped {s['manual_mapped']} (+{s['manual_partial']} partial)")
    for w in warnings:
        print("warning:", w, file=sys.stderr)
    for e in errors:
        print("error:", e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
