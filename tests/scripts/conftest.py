"""Tests of the experiment harnesses in ``scripts/`` (not part of the package): the folder is put
on ``sys.path`` so they import as top-level modules, as ``python scripts/NAME.py`` runs them."""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
