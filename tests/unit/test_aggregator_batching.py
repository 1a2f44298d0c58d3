"""Batches through write-back stores publish exactly what one-at-a-time processing does,
with fewer writes to the stores (each a changelog record in the app)."""

from collections import Counter

import pytest

from framewire.aggregator.batching import StoreBatch, WriteBack
from framewire.aggregator.engine import Aggregator, Stores
from framewire.aggregator.observations import DropSeen, ResultSeen, Tick, from_wire, to_wire, wire_items
from framewire.aggregator.progress import Timing
from framewire.aggregator.rules import parse_rules
from framewire.aggregator.windows import WindowLayout

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000
RULES = (
    "crowd: count(person) >= 3 for 1s\nlow: fps < 30 for 10s\nquiet: silent for 2s\n"
    "dropping: drops(stale) > 2 for 5s\nslow: latency_p95 > 60ms for 10s"
)


class CountingDict(dict):
    """A store that counts writes and deletes, as a changelog would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = Counter()

    def __setitem__(self, key, value):
        self.writes["set"] += 1
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.writes["del"] += 1
        super().__delitem__(key)

    def pop(self, key, *default):
        if key in self:
            self.writes["del"] += 1
        return super().pop(key, *default)


def observations():
    """Two streams at 25 fps for 40 s with drops, a gap, ticks, and a forgotten stream."""
    out = []
    for i in range(40 * 25):
        event = T0 + i * 40
        if 15_000 <= event - T0 < 22_000:
            continue  # cam2 and cam1 both go silent for a while
        latency = ((i * 37) % 100 + 1) / 1000
        for stream in ("cam1", "cam2"):
            out.append((ResultSeen(stream, event, latency, {"person": i % 5}), event / 1000 + latency))
    out.append((DropSeen("cam1", T0 + 3000, "stale", 5), T0 / 1000 + 3.1))
    out.append((DropSeen("cam2", T0 + 30_000, "backpressure", 2), T0 / 1000 + 30.1))
    seconds = [T0 / 1000 + s for s in range(1, 120)]
    out += [(Tick(stream, t), t) for t in seconds for stream in ("cam1", "cam2")]
    out.append((Tick("cam1", T0 / 1000 + 4000), T0 / 1000 + 4000))  # past forget_s
    return sorted(out, key=lambda pair: pair[1])


def engine(stores):
    return Aggregator(WindowLayout(), Timing(forget_s=3600), parse_rules(RULES), stores)


def counting_stores():
    return Stores(CountingDict(), CountingDict(), CountingDict(), CountingDict())


def one_at_a_time(obs):
    eng = engine(counting_stores())
    published = [p for o, now in obs for p in eng.on_observation(o, now).published]
    return eng, published


def in_batches(obs, size):
    eng, published = engine(counting_stores()), []
    for start in range(0, len(obs), size):
        with StoreBatch(eng):
            for o, now in obs[start:start + size]:
                published += eng.on_observation(o, now).published
    return eng, published


def writes(stores):
    return sum(sum(s.writes.values()) for s in vars(stores).values())


@pytest.mark.parametrize("size", [1, 7, 50, 500])
def test_batches_publish_the_same_windows_and_alerts_and_leave_the_same_state(size):
    # Given a long two-stream history with drops, a gap, silence and a forgotten stream
    obs = observations()
    # When it is applied one record at a time and in batches of ``size``
    single, expected = one_at_a_time(obs)
    batched, got = in_batches(obs, size)
    # Then every window and alert is identical, in the same order, and so is the state
    assert [p.to_json() for p in got] == [p.to_json() for p in expected]
    assert len(expected) > 20  # the history did close windows and move alerts
    assert {k: dict(v) for k, v in vars(batched.stores).items()} == {
        k: dict(v) for k, v in vars(single.stores).items()
    }


def test_batches_write_each_changed_key_once():
    # Given the same history
    obs = observations()
    # When it is applied in batches of 50 (2 s of two 25 fps streams)
    single, _ = one_at_a_time(obs)
    batched, _ = in_batches(obs, 50)
    # Then the stores (the changelog, in the app) see several times fewer writes
    assert writes(batched.stores) * 4 < writes(single.stores)


def test_write_back_reads_its_own_writes_and_deletes():
    # Given a backing store with two keys seen through an overlay
    backing = {"a": 1, "b": 2}
    overlay = WriteBack(backing)
    # When keys are changed, added and deleted through it
    overlay["a"] = 10
    overlay["c"] = 3
    del overlay["b"]
    overlay["d"] = 4
    overlay.pop("d")
    # Then the overlay shows the changes while the backing store is untouched until flush
    assert dict(overlay) == {"a": 10, "c": 3} and "b" not in overlay and len(overlay) == 2
    assert backing == {"a": 1, "b": 2}
    with pytest.raises(KeyError):
        del overlay["b"]
    assert overlay.flush() == 4
    assert backing == {"a": 10, "c": 3}


def test_an_observation_record_holds_a_batch_or_one_observation():
    # Given a batch record (as ingest now writes) and a single-object record (older builds)
    batch = [ResultSeen("cam1", T0, 0.02, {"person": 2}), DropSeen("cam1", T0 + 40, "stale", 3)]
    records = [[to_wire(o) for o in batch], to_wire(Tick("cam1", 5.0))]
    # When they are read back / Then every observation comes out, in order
    read = [from_wire("cam1", item) for record in records for item in wire_items(record)]
    assert read == [*batch, Tick("cam1", 5.0)]
