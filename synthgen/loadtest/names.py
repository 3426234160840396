"""Table and column names of the target schema, looked up through one place.

The workload generator never spells a table or column itself: it asks `Names`. On synthgen's
own schema the names are the contract's; on an application's schema they come from its mapping
(`synthgen.loadtest.appwrites.app_names`), and a contract column the application has no column
for is `absent` (the draw tables then do without it, e.g. every membership counts as active).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synthgen.schema import quote_ident


@dataclass(frozen=True)
class Names:
    """The contract's names, optionally renamed: {table: name} and {(table, column): name}."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    absent: frozenset[tuple[str, str]] = frozenset()
    # time columns stored as integers: (table, column) -> units per second (1000: epoch ms)
    epoch: dict[tuple[str, str], int] = field(default_factory=dict)

    def table(self, table: str) -> str:
        """The quoted name of a contract table in the target schema."""
        return quote_ident(self.tables.get(table, table))

    def column(self, table: str, column: str) -> str:
        """The quoted name of a contract column."""
        return quote_ident(self.columns.get((table, column), column))

    def as_time(self, table: str, column: str, expr: str) -> str:
        """`expr`, a value of the column, as a timestamptz (an epoch integer converted)."""
        per = self.epoch.get((table, column))
        return f"to_timestamp(({expr}) / {per}.0)" if per else expr

    def has(self, table: str, column: str) -> bool:
        """Whether the target schema holds this contract column."""
        return (table, column) not in self.absent


CONTRACT = Names()
