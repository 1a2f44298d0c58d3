"""Running a registry client (npm, pip) as a subprocess with a clear error on failure."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from framewire.core.errors import ModelError

log = logging.getLogger(__name__)

# A registry download of a few tens of MB; generous for slow mirrors, bounded all the same.
CLIENT_TIMEOUT_S = 600


def run_client(argv: list[str], cwd: Path) -> None:
    """Run ``argv`` in ``cwd``; raise ModelError with the client's last output on failure."""
    log.info("running %s", " ".join(argv))
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise ModelError(f"{argv[0]!r} is not installed; it is needed to fetch models") from None
    except subprocess.TimeoutExpired:
        raise ModelError(f"{' '.join(argv)} took more than {CLIENT_TIMEOUT_S}s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ModelError(f"{' '.join(argv)} failed ({done.returncode}): {' | '.join(tail)}")
