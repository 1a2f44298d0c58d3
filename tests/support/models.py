"""Model kit: real photos and expected regions, shared by the model tests and benchmarks.

The photos are scikit-image's bundled samples (a test dependency, imported on call).
Expected regions were drawn by eye on the photos, independently of any model's output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from framewire.core.records import Box
from framewire.models.cache import fetch
from framewire.models.settings import ModelsSettings
from framewire.models.zoo import ZOO

# Photo name -> label -> where that object is, normalised (xmin, ymin, xmax, ymax).
EXPECTED_REGIONS: dict[str, dict[str, Box]] = {
    "astronaut": {
        "Person": Box(0.04, 0.03, 0.70, 1.0),
        "face": Box(0.37, 0.14, 0.56, 0.33),
    },
    "chelsea": {"Cat": Box(0.0, 0.0, 0.95, 1.0)},
    "coffee": {"Coffee cup": Box(0.29, 0.04, 0.70, 0.75)},
}


def photo_bgr(name: str) -> np.ndarray:
    """A scikit-image sample photo as a uint8 BGR array (frames arrive as BGR)."""
    import skimage.data

    rgb = getattr(skimage.data, name)()
    return np.ascontiguousarray(rgb[:, :, ::-1])


def fetch_zoo(cache_dir: Path | None = None) -> Path:
    """Fetch every zoo model into the cache (a no-op once cached); returns the cache dir."""
    cache = (cache_dir or ModelsSettings().cache_dir).expanduser()
    for spec in ZOO.values():
        fetch(spec, cache)
    return cache
