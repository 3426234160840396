"""Each spec field is declared once: the dataclasses carry the JSON names, the schema states every
field's meaning, and docs/spec.md is generated from the schema."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
from typing import Any, get_args, get_origin, get_type_hints

import jsonschema
import pytest

from synthgen import spec_docs
from synthgen.errors import SpecError
from synthgen.spec import DEFAULT_SPEC_PATH, Spec, load_spec, parse_spec, spec_schema

ROOT = spec_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    return spec_docs._resolve(node, ROOT)


def _pairs(
    cls: type[Any], node: dict[str, Any], path: str
) -> Iterator[tuple[str, set[str], set[str]]]:
    """(field path, dataclass attribute names, schema property names) for every object."""
    node = _resolve(node)
    names = {f.name for f in fields(cls)} - {"raw"}
    yield path, names, set(node["properties"]) - {"$schema"}
    hints = get_type_hints(cls)
    for f in fields(cls):
        if f.name == "raw":
            continue
        hint, child = hints[f.name], _resolve(node["properties"][f.name])
        if is_dataclass(hint):
            yield from _pairs(hint, child, f"{path}.{f.name}")  # type: ignore[arg-type]
        elif get_origin(hint) is Mapping and is_dataclass(get_args(hint)[1]):
            per_key = child.get("additionalProperties")
            if not isinstance(per_key, dict):
                (per_key,) = child["patternProperties"].values()
            yield from _pairs(get_args(hint)[1], per_key, f"{path}.{f.name}.<key>")


def test_dataclass_attributes_are_the_json_names() -> None:
    checked = 0
    for path, attributes, properties in _pairs(Spec, ROOT, "spec"):
        assert attributes == properties, path
        checked += 1
    assert checked >= 25  # every object of the spec, nested ones included


def _leaves(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    node = _resolve(node)
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _leaves(child, f"{path}.{name}")
    for child in node.get("patternProperties", {}).values():
        yield from _leaves(child, f"{path}.<kind>")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _leaves(extra, f"{path}.<key>")


def test_every_field_states_its_meaning_and_numbers_their_unit() -> None:
    jsonschema.Draft202012Validator.check_schema(ROOT)
    leaves = list(_leaves(ROOT, "spec"))
    assert len(leaves) > 100
    for path, node in leaves:
        if path.endswith("mime_types.<key>") or path.endswith("<key>.<key>"):
            continue  # a map's values: described by the map
        assert node.get("description"), path
        if node.get("type") in ("number", "integer"):
            assert node.get("unit"), path


def test_docs_page_is_generated_from_the_schema() -> None:
    """docs/spec.md is what `python -m synthgen.spec_docs` writes, and lists every field."""
    page = spec_docs.DOC_PATH.read_text()
    assert page == spec_docs.render(), "docs/spec.md is out of date: python -m synthgen.spec_docs"
    for field in (
        "read_receipts.delay_mixture.delayed.lognormal.mu",
        "conversations.opening.heavy_within",
        "time.burst.inter_arrival_cv",
        "output.shard_messages",
    ):
        assert f"| `{field}` |" in page
    assert "| `time.window_days` | integer | days | >= 1; <= 3650 | `90` |" in page
    check = subprocess.run(
        [sys.executable, "-m", "synthgen.spec_docs", "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_old_delayed_lognormal_shape_gets_one_line_naming_the_new_shape() -> None:
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    delayed = raw["read_receipts"]["delay_mixture"]["delayed"]
    del delayed["lognormal"]
    delayed["lognormal_mu"], delayed["lognormal_sigma"] = 9.6, 1.0
    with pytest.raises(SpecError) as info:
        parse_spec(raw, source="old.json")
    message = str(info.value)
    assert message.startswith("old.json: field read_receipts.delay_mixture.delayed.lognormal_mu: ")
    assert '"lognormal": {"mu": ..., "sigma": ...}' in message
    assert "\n" not in message


def test_the_model_does_not_depend_on_key_order() -> None:
    """Manifests store the spec with sorted keys: a map's order must not change the model."""
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    shuffled = copy.deepcopy(raw)
    document = shuffled["media"]["attachments"]["DOCUMENT"]
    document["mime_types"] = dict(reversed(list(document["mime_types"].items())))
    shuffled["media"]["mix"] = dict(reversed(list(shuffled["media"]["mix"].items())))
    a, b = parse_spec(raw), parse_spec(shuffled)
    assert a.media.attachments["DOCUMENT"].mime_types == b.media.attachments["DOCUMENT"].mime_types
    assert list(a.media.attachments["DOCUMENT"].mime_types) == sorted(
        raw["media"]["attachments"]["DOCUMENT"]["mime_types"]
    )
    assert a.media.kind_shares == b.media.kind_shares == (0.65, 0.15, 0.12, 0.08)


def test_optional_fields_take_their_default() -> None:
    raw = json.loads(DEFAULT_SPEC_PATH.read_text())
    del raw["time"]["diurnal"]["hourly_profile"]
    del raw["description"]
    spec = parse_spec(raw)
    assert spec.time.diurnal.hourly_profile is None
    assert spec.description == ""
    assert load_spec().description.startswith("Default shape")
