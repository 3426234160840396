"""Table and column names of the target schema, looked up through one place.

The workload generator never spells a table or column itself: it asks `Names`. Today the names
are the contract's (synthgen's own schema as `synthgen load` makes it); a mapping onto an
application's schema can plug in here later by returning other names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synthgen.schema import quote_ident


@dataclass(frozen=True)
class Names:
    """The contract's names, optionally renamed: {table: name} and {(table, column): name}."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)

    def table(self, table: str) -> str:
        """The quoted name of a contract table in the target schema."""
        return quote_ident(self.tables.get(table, table))

    def column(self, table: str, column: str) -> str:
        """The quoted name of a contract column."""
        return quote_ident(self.columns.get((table, column), column))


CONTRACT = Names()
