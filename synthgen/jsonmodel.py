"""Fill frozen dataclasses from parsed JSON by their type hints: each attribute from the key of
its name, so a model declares its fields once. Generic: it knows nothing of the spec.

Supported hints: dataclasses, int, float, str, `X | None`, `tuple[X, ...]`, fixed tuples and
`Mapping[str, X]`. Floats must be finite (JSON allows NaN and Infinity, and every comparison with
NaN passes a JSON Schema's bounds). Failures raise FieldError(dotted path, message).
"""

from __future__ import annotations

import enum
import math
import types
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

# a mapping whose order is part of the model (e.g. draw order) is sorted by key, so the model
# never depends on the JSON's key order: `field(metadata=SORTED)`
SORTED = {"sorted": True}


class FieldError(Exception):
    """A field-level failure found while building or checking: (dotted path, message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field, self.message = field, message


def dotted(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def check_finite(node: Any, path: tuple[Any, ...]) -> None:
    """NaN and infinities pass JSON Schema bounds (every comparison with NaN is false)."""
    if isinstance(node, dict):
        for key, value in node.items():
            check_finite(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_finite(value, (*path, i))
    elif isinstance(node, float) and not math.isfinite(node):
        raise FieldError(dotted(path), f"must be a finite number (got {node})")


def from_json(cls: type[Any], node: dict[str, Any], path: tuple[str, ...], **extra: Any) -> Any:
    """Build dataclass `cls` from its JSON object: each attribute from the key of its name.

    A key the JSON omits takes the attribute's default (the schema says which are required);
    keys that are no attribute (`$schema`) are ignored; `extra` gives attributes the JSON does not
    hold. Mappings keep the JSON's order unless their field is marked SORTED.
    """
    hints = get_type_hints(cls)
    values = {
        f.name: _convert(
            hints[f.name], node[f.name], (*path, f.name), f.metadata.get("sorted", False)
        )
        for f in fields(cls)
        if f.name in node
    }
    return cls(**values, **extra)


def _convert(hint: Any, value: Any, path: tuple[str, ...], sort: bool = False) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if is_dataclass(hint):
        return from_json(hint, value, path)  # type: ignore[arg-type]
    if origin in (Union, types.UnionType):  # `X | None`
        if value is None:
            return None
        inner = next(a for a in args if a is not type(None))
        return _convert(inner, value, path)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, (*path, str(i))) for i, v in enumerate(value))
        return tuple(
            _convert(a, v, (*path, str(i)))
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is Mapping:
        keys = sorted(value) if sort else list(value)
        return {k: _convert(args[1], value[k], (*path, k)) for k in keys}
    if hint is float:
        try:
            return float(value)
        except OverflowError:
            raise FieldError(dotted(path), f"must be a finite number (got {value})") from None
    if hint in (int, str):
        return hint(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)  # the schema has already refused any other value
    raise TypeError(f"field {dotted(path)}: no conversion for {hint!r}")
