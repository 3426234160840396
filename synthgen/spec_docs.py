"""Write docs/spec.md from the spec's JSON Schema: every field, its meaning, unit, bounds and the
shipped spec's value. The schema is the one place these are stated; this page is derived.

    python -m synthgen.spec_docs            # rewrite docs/spec.md
    python -m synthgen.spec_docs --check    # exit 1 when docs/spec.md is out of date

A test runs the check, so a schema change that does not regenerate the page fails the suite.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthgen.shipped import DEFAULT_SPEC_PATH
from synthgen.spec import spec_schema

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "spec.md"
COMMAND = "python -m synthgen.spec_docs"
VALUE_UNIT = "the value's unit"  # a log-normal's mu is in ln(the unit of the field holding it)
_BOUNDS = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("minProperties", "at least {} entries"),
)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """A schema node with its `$ref` merged in (the node's own keys win)."""
    if "$ref" not in node:
        return node
    target = root
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    merged = {**_resolve(target, root), **node}
    merged.pop("$ref")
    return merged


def _type(node: dict[str, Any]) -> str:
    if "const" in node:
        return "constant"
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type(n) for n in node["oneOf"])
    kind = node.get("type", "")
    if kind == "array" and "items" in node:
        item = node["items"]
        inner = "hour range" if item.get("$ref", "").endswith("/hours") else _type(item)
        return f"array of {inner}"
    if kind == "object" and "properties" in node:
        return "object"
    if kind == "object":
        return "map"
    return str(kind)


def _bounds(node: dict[str, Any], root: dict[str, Any]) -> str:
    parts = [text.format(node[key]) for key, text in _BOUNDS if key in node]
    if "const" in node:
        parts.append(f"= {node['const']}")
    if "pattern" in node:
        parts.append(f"matches `{node['pattern']}`")
    if node.get("type") == "array" and "items" in node:
        inner = _bounds(_resolve(node["items"], root), root)
        if inner:
            parts.append(f"each: {inner}")
    if "oneOf" in node:
        parts.extend(b for b in (_bounds(n, root) for n in node["oneOf"]) if b)
    if node.get("type") == "object" and isinstance(node.get("additionalProperties"), dict):
        inner = _bounds(_resolve(node["additionalProperties"], root), root)
        if inner and "properties" not in _resolve(node["additionalProperties"], root):
            parts.append(f"each: {inner}")
    return "; ".join(parts)


def _shipped(spec: Any, path: list[str]) -> str:
    node = spec
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return ""
        node = node[key]
    if isinstance(node, dict):
        return ""
    return f"`{json.dumps(node, ensure_ascii=False)}`"


def _fields(
    node: dict[str, Any],
    root: dict[str, Any],
    path: list[str],
    shipped_path: list[str],
    parent_unit: str = "",
) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """(dotted field, resolved schema, path in the shipped spec) for every field, depth first."""
    node = _resolve(node, root)
    if VALUE_UNIT in node.get("unit", "") and parent_unit:
        node = {**node, "unit": node["unit"].replace(VALUE_UNIT, parent_unit)}
    yield ".".join(path), node, shipped_path
    children: list[tuple[str, dict[str, Any], str | None]] = [
        (name, child, name) for name, child in node.get("properties", {}).items()
    ]
    for pattern, child in node.get("patternProperties", {}).items():
        children.append((f"<{pattern.strip('^$()').replace('|', ' | ')}>", child, "IMAGE"))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in _resolve(extra, root):
        children.append(("<name>", extra, "dev"))
    for name, child, key in children:
        if name == "$schema" and path:
            continue  # every object accepts it; listed once, at the top
        unit = node.get("unit", "")
        yield from _fields(child, root, [*path, name], [*shipped_path, key or name], unit)


def render() -> str:
    """The page's Markdown."""
    root = spec_schema()
    shipped = json.loads(DEFAULT_SPEC_PATH.read_text())
    lines = [
        "# The distribution spec, field by field",
        "",
        f"Generated from `synthgen/spec_schema.json` by `{COMMAND}`: do not edit. A test fails "
        "when this page and the schema disagree. The schema gives editors the same help "
        '(`"$schema": "../synthgen/spec_schema.json"` in a spec file).',
        "",
        root["description"],
        "",
        "`shipped` is the value in `specs/distribution-spec.json` (for `bands.<name>`: `dev`; for "
        "`media.attachments.<kind>`: `IMAGE`). Optional fields say their default.",
        "",
    ]
    header = ["| field | type | unit | bounds | shipped | meaning |", "|---|---|---|---|---|---|"]
    scalars = [
        n for n, c in root["properties"].items() if len(list(_fields(c, root, [n], [n]))) == 1
    ]
    sections = [
        (
            "top level",
            "Fields of the spec object itself.",
            [(name, _resolve(root["properties"][name], root), [name]) for name in scalars],
        )
    ]
    for section, child in root["properties"].items():
        if section in scalars:
            continue
        rows = list(_fields(child, root, [section], [section]))
        sections.append((f"`{section}`", rows[0][1].get("description", ""), rows))
    for title, about, rows in sections:
        lines += [f"## {title}", "", about, "", *header]
        for field, node, shipped_path in rows:
            meaning = node.get("description", "")
            if "default" in node:
                meaning += f" Optional; default `{json.dumps(node['default'])}`."
            cells = [
                f"`{field}`",
                _type(node),
                node.get("unit", ""),
                _bounds(node, root),
                _shipped(shipped, shipped_path),
                meaning,
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if not DOC_PATH.exists() or DOC_PATH.read_text() != text:
            print(f"{DOC_PATH}: out of date with the spec schema; run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    DOC_PATH.write_text(text)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
