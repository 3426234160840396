"""Plan shapes: what a plan does (join order, scan types, sorts, parallelism) without its timings,
so plans can be compared across plan modes (custom vs generic), bands and server versions.

Pure: EXPLAIN JSON in, shape out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCAN_NODES = (
    "Seq Scan",
    "Index Scan",
    "Index Only Scan",
    "Bitmap Heap Scan",
    "Bitmap Index Scan",
)
JOIN_NODES = ("Nested Loop", "Hash Join", "Merge Join")
SORT_NODES = ("Sort", "Incremental Sort")


@dataclass
class PlanShape:
    signature: str  # the tree without numbers, e.g. "Limit(Index Scan messages idx_m)"
    join_order: list[str] = field(default_factory=list)  # relations, in plan order
    scans: list[str] = field(default_factory=list)  # "Seq Scan on messages", ...
    joins: list[str] = field(default_factory=list)
    sorts: int = 0
    parallel_workers: int = 0
    rows: dict[str, float] = field(default_factory=dict)  # scan label -> actual rows (all loops)
    root_rows: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _root(explain_json: Any) -> dict[str, Any]:
    doc = explain_json[0] if isinstance(explain_json, list) else explain_json
    plan: dict[str, Any] = doc["Plan"]
    return plan


def _label(node: dict[str, Any]) -> str:
    kind = str(node["Node Type"])
    relation = node.get("Relation Name")
    index = node.get("Index Name")
    parts = [kind]
    if relation:
        parts.append(f"on {relation}")
    if index:
        parts.append(f"using {index}")
    return " ".join(parts)


def _signature(node: dict[str, Any]) -> str:
    children = node.get("Plans", [])
    inner = ", ".join(_signature(c) for c in children)
    label = _label(node)
    if node["Node Type"] in ("Gather", "Gather Merge"):
        label += f" x{int(node.get('Workers Planned', 0))}"
    return f"{label}({inner})" if inner else label


def plan_shape(explain_json: Any) -> PlanShape:
    """The shape of one EXPLAIN (ANALYZE or not) JSON document."""
    root = _root(explain_json)
    shape = PlanShape(signature=_signature(root), root_rows=float(root.get("Actual Rows", 0)))
    stack = [root]
    while stack:
        node = stack.pop(0)
        kind = node["Node Type"]
        loops = float(node.get("Actual Loops", 1) or 1)
        if kind in SCAN_NODES:
            label = _label(node)
            shape.scans.append(label)
            relation = node.get("Relation Name")
            if relation and relation not in shape.join_order:
                shape.join_order.append(relation)
            shape.rows[label] = shape.rows.get(label, 0.0) + float(node.get("Actual Rows", 0)) * (
                loops
            )
        elif kind in JOIN_NODES:
            shape.joins.append(kind)
        elif kind in SORT_NODES:
            shape.sorts += 1
        elif kind in ("Gather", "Gather Merge"):
            shape.parallel_workers = max(
                shape.parallel_workers, int(node.get("Workers Planned", 0))
            )
        # depth-first, children in plan order: the join order reads left to right
        stack[0:0] = list(node.get("Plans", []))
    return shape


def shape_differences(a: PlanShape, b: PlanShape) -> list[str]:
    """What changed from plan a to plan b, one phrase per aspect; empty when the shapes match."""
    if a.signature == b.signature:
        return []
    out = []
    if a.join_order != b.join_order:
        out.append(f"join order {' > '.join(a.join_order)} -> {' > '.join(b.join_order)}")
    gone = [s for s in a.scans if s not in b.scans]
    new = [s for s in b.scans if s not in a.scans]
    if gone or new:
        rows = "; ".join(f"{s}: {a.rows.get(s, 0):,.0f} rows" for s in gone) or "-"
        rows_new = "; ".join(f"{s}: {b.rows.get(s, 0):,.0f} rows" for s in new) or "-"
        out.append(f"scans [{rows}] -> [{rows_new}]")
    if a.joins != b.joins:
        out.append(f"joins {', '.join(a.joins) or 'none'} -> {', '.join(b.joins) or 'none'}")
    if a.sorts != b.sorts:
        out.append(f"sorts {a.sorts} -> {b.sorts}")
    if a.parallel_workers != b.parallel_workers:
        out.append(f"parallel workers {a.parallel_workers} -> {b.parallel_workers}")
    return out or ["node tree differs"]


def total_cost(explain_json: Any) -> float:
    """The planner's estimated total cost of a plan."""
    return float(_root(explain_json).get("Total Cost", 0.0))


@dataclass
class PlanChange:
    query: str
    name: str
    param_class: str
    plan_mode: str
    before: str  # signature in A
    after: str  # signature in B
    differences: list[str]
    rows: list[float]  # root rows in A and B


def compare_plan_docs(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[PlanChange], int]:
    """Plan shapes of two baselines (of different bands or servers), paired by query, class and
    plan mode; returns the pairs whose shape changed and how many pairs were compared."""
    other = {(r["query"], r["class"], r.get("plan_mode", "implicit")): r for r in b["results"]}
    changes: list[PlanChange] = []
    compared = 0
    for r in a["results"]:
        mode = r.get("plan_mode", "implicit")
        match = other.get((r["query"], r["class"], mode))
        if match is None:
            continue
        compared += 1
        before, after = plan_shape(r["explain"]), plan_shape(match["explain"])
        differences = shape_differences(before, after)
        if differences:
            changes.append(
                PlanChange(
                    r["query"],
                    r["name"],
                    r["class"],
                    mode,
                    before.signature,
                    after.signature,
                    differences,
                    [before.root_rows, after.root_rows],
                )
            )
    return changes, compared
