"""DIR/run-state.json: the run's identity and each finished stage's summary, rewritten
atomically after every stage, so a rerun with the same parameters picks up after the last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgen.errors import SynthgenError
from synthgen.files import write_json_atomic
from synthgen.generate.resume import describe_differences

STATE_NAME = "run-state.json"


class RunState:
    """The state file of one run directory: `done` (stage -> its summary) and `started`."""

    def __init__(self, out: Path, identity: dict[str, Any], overwrite: bool) -> None:
        self.path = out / STATE_NAME
        self.doc: dict[str, Any] = {"identity": identity, "done": {}}
        if overwrite:
            self.path.unlink(missing_ok=True)  # nothing of the earlier run counts as done
        elif self.path.exists():
            doc: dict[str, Any] = json.loads(self.path.read_text())
            if doc.get("identity") != identity:
                differs = describe_differences(doc.get("identity"), identity)
                raise SynthgenError(
                    f"--out {out}: holds a run with other parameters ({differs}); "
                    "choose another --out, or pass --overwrite to start over"
                )
            self.doc = doc

    @property
    def done(self) -> dict[str, Any]:
        done: dict[str, Any] = self.doc["done"]
        return done

    def finish(self, name: str, info: dict[str, Any]) -> None:
        self.done[name] = info
        self.save()

    def begin_once(self, name: str) -> bool:
        """Records that `name` has begun; whether an earlier attempt had begun it too (then
        this one resumes it)."""
        began = name in self.doc.get("started", [])
        self.doc.setdefault("started", []).append(name)
        self.save()
        return began

    def save(self) -> None:
        write_json_atomic(self.path, self.doc, default=str)


def finished_stages(out: Path) -> set[str]:
    """The stages an earlier run in `out` finished (none when there is no readable state)."""
    try:
        return set(json.loads((out / STATE_NAME).read_text())["done"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()
