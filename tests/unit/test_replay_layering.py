"""``framewire.replay`` is a library over Kafka history: it never imports a service."""

from __future__ import annotations

import subprocess
import sys

SERVICES = ("aggregator", "dashboard", "gateway", "inference")


def test_replay_imports_no_service():
    # Given every replay module imported in a fresh interpreter
    modules = ["command", "run", "window", "frames", "output", "settings", "compare", "tail",
               "wire"]
    code = (
        "import sys\n"
        + "".join(f"import framewire.replay.{m}\n" for m in modules)
        + "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    # Then no service package was loaded
    assert [m for m in loaded if m.split(".")[:2] in (["framewire", s] for s in SERVICES)] == []
