"""Imported first by a benchmark script that uses the test kits (``support.*``).

The kits live in the repository's ``tests/support/``, not in the installed package, so a
script run as ``python benchmarks/bench_x.py`` puts ``tests/`` on ``sys.path`` here, once,
before its ``from support.<kit> import ...`` lines. Benchmarks depend on the package and on
the kits; neither depends on the benchmarks.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
