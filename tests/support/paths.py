"""Where things are: the repository, its prisma-chat example, the installed `synthgen`."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "prisma-chat"
# the console script of the environment running the tests (an editable install in make test)
SYNTHGEN = Path(sys.executable).parent / "synthgen"
