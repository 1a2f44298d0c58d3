"""Applying observations in batches: each changed table key is written once per batch.

Every write to a faust table is also a record on its changelog topic, and a result touches
two keys (its pane and its stream's progress). Through a ``WriteBack`` overlay the engine
runs unchanged, reading its own writes, and a batch of n results of one stream writes
those keys once instead of n times. The stats it publishes are the same as one at a time
(the overlay is invisible to the engine); only the changelog carries fewer intermediate
values.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import fields
from typing import Any

from framewire.aggregator.engine import Aggregator, Store, Stores

_DELETED = object()  # marks a key deleted in the batch


class WriteBack(MutableMapping[Any, Any]):
    """``backing`` as seen during a batch; ``flush`` writes what changed, once per key."""

    def __init__(self, backing: Store) -> None:
        self._backing = backing
        self._dirty: dict[Any, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        if key in self._dirty:
            value = self._dirty[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self._backing[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._dirty[key] = value

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)
        self._dirty[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        if key in self._dirty:
            return self._dirty[key] is not _DELETED
        return key in self._backing

    def __iter__(self) -> Iterator[Any]:
        for key in self._backing:
            if key not in self._dirty:
                yield key
        for key, value in self._dirty.items():
            if value is not _DELETED:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> int:
        """Write the batch's changes to the backing store; returns how many keys changed."""
        for key, value in self._dirty.items():
            if value is _DELETED:
                self._backing.pop(key, None)
            else:
                self._backing[key] = value
        count = len(self._dirty)
        self._dirty.clear()
        return count


class StoreBatch:
    """``with StoreBatch(engine):`` applies everything inside to write-back overlays of the
    engine's stores and writes the changes when the block ends (even after an error, as
    one-at-a-time processing would have kept them). No ``await`` may happen inside: the
    web views read the same stores from the event loop."""

    def __init__(self, engine: Aggregator) -> None:
        self._engine = engine
        self._saved: Stores | None = None
        self._overlays: list[WriteBack] = []
        self.writes = 0

    def __enter__(self) -> StoreBatch:
        self._saved = self._engine.stores
        self._overlays = [WriteBack(getattr(self._saved, f.name)) for f in fields(Stores)]
        self._engine.stores = Stores(*self._overlays)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._saved is not None
        self._engine.stores = self._saved
        self.writes = sum(overlay.flush() for overlay in self._overlays)
