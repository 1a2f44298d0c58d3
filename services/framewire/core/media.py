"""Source URI schemes, local media paths and the allow-list of media roots.

Shared by the two places a source URI enters the pipeline: the dashboard API checks a spec
before writing it, and the gateway's source registry checks it again when it validates the
spec and when a file or folder source opens (a symlink may have changed in between). A
``file://`` or ``dir://`` URI, or a bare path, that resolves outside every configured media
root (after ``..``, percent-decoding and symlinks) is refused with a ConfigError, so no API
user can make a gateway read an arbitrary file. No roots configured means no restriction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from framewire.core.errors import ConfigError
from framewire.core.logs import redact_uri

# Schemes the gateway has a source for (its registry's keys; a unit test keeps them equal).
SOURCE_SCHEMES = ("file", "dir", "rtsp", "http", "https", "v4l2")
# Schemes whose URI names a path on the gateway's own filesystem.
LOCAL_SCHEMES = frozenset({"file", "dir"})


def uri_scheme(uri: str) -> str:
    """The source kind of ``uri``: a bare path is ``file``, ``/dev/videoN`` is ``v4l2``."""
    if not uri or not uri.strip():
        raise ConfigError("source URI is empty")
    if uri.startswith("/dev/video"):
        return "v4l2"
    try:
        scheme = urlsplit(uri).scheme.lower()
    except ValueError as exc:
        raise ConfigError(f"source URI {redact_uri(uri)!r} is not a valid URI: {exc}") from None
    # No scheme, or a one-letter "scheme" that is really a drive letter: a plain path.
    return "file" if len(scheme) <= 1 else scheme


def local_path(uri: str) -> Path | None:
    """The filesystem path a file or folder URI (or a bare path) names; None for others."""
    scheme = uri_scheme(uri)
    if scheme not in LOCAL_SCHEMES:
        return None
    if not uri.lower().startswith(f"{scheme}:"):
        return Path(uri)
    parts = urlsplit(uri)
    # "file:///abs/path" has an empty netloc; "file://rel/path" means a relative path.
    raw = unquote(parts.netloc + parts.path)
    if not raw:
        raise ConfigError(f"{scheme} URI {redact_uri(uri)!r} has no path")
    return Path(raw)


def parse_roots(value: str | Iterable[str | Path] | None) -> tuple[Path, ...]:
    """Media roots from a comma-separated string or a list; each must be an absolute path."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    roots = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not os.path.isabs(text):
            raise ValueError(f"media root {text!r} must be an absolute path")
        roots.append(Path(os.path.realpath(text)))
    return tuple(roots)


def check_local_media(uri: str, roots: tuple[Path, ...]) -> Path | None:
    """Refuse a local path outside ``roots``; return its path (None if ``uri`` is not local).

    Called when a spec is validated, by the dashboard API and by the gateway.
    """
    path = local_path(uri)
    if path is None or not roots:
        return path
    return ensure_under_roots(path, roots, redact_uri(uri))


def ensure_under_roots(path: Path, roots: tuple[Path, ...], shown: str) -> Path:
    """``path`` resolved, or ConfigError if it lies outside every root (``shown`` names it).

    Called by ``check_local_media`` and by file and folder sources each time they open a
    path, since a symlink may point elsewhere by then.
    """
    if not roots:
        return path
    if not path.is_absolute():
        raise ConfigError(f"source {shown!r} is a relative path; media roots need an absolute path")
    try:
        resolved = Path(os.path.realpath(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"source {shown!r} is not a usable path: {exc}") from None
    if not any(resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise ConfigError(f"source {shown!r} is outside the allowed media roots ({allowed})")
    return resolved
