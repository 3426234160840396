"""A gate's verdict, one way for all four gates (fidelity, index comparison, load test,
rehearsal): GO or NO-GO and its reasons. The exit code that goes with it is
``synthgen.errors.gate_exit_code``, beside the other exit codes.

A gate is NO-GO exactly when it found a problem; its reasons are then the problems, else (for
the gates that say why) one line saying why it is GO.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

GO = "GO"
NO_GO = "NO-GO"
DECISIONS = (GO, NO_GO)


def decision(go: bool) -> str:
    """'GO' or 'NO-GO'."""
    return GO if go else NO_GO


def all_go(decisions: Iterable[str]) -> str:
    """GO when every part is GO, else NO-GO."""
    return decision(all(d == GO for d in decisions))


@dataclass(frozen=True)
class Verdict:
    """GO or NO-GO with its reasons: the problems found, or why it is GO."""

    decision: str
    reasons: list[str]

    @property
    def go(self) -> bool:
        return self.decision == GO

    @classmethod
    def of(cls, problems: list[str], why_go: Callable[[], str] | None = None) -> Verdict:
        """NO-GO with ``problems`` when there are any; else GO, with ``why_go()`` as its
        reason when given (called only then: it may assume nothing went wrong)."""
        if problems:
            return cls(NO_GO, problems)
        return cls(GO, [why_go()] if why_go is not None else [])
