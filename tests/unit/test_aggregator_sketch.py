"""Latency sketch: quantiles within the stated relative error, exact merge, round trip."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framewire.aggregator.sketch import RELATIVE_ACCURACY, LatencySketch

pytestmark = pytest.mark.unit

latencies = st.lists(st.floats(min_value=1e-4, max_value=60.0, allow_nan=False), min_size=1, max_size=300)


def sketch_of(values):
    sketch = LatencySketch()
    for v in values:
        sketch = sketch.add(v)
    return sketch


@settings(max_examples=60, deadline=None)
@given(latencies, st.sampled_from([0.0, 0.5, 0.95, 0.99, 1.0]))
def test_quantile_is_within_relative_accuracy_of_nearest_rank(values, q):
    # Given any set of latencies
    sketch = sketch_of(values)
    # When a quantile is asked
    estimate = sketch.quantile(q)
    # Then it is within the relative accuracy of the exact nearest-rank quantile
    exact = float(np.percentile(values, q * 100, method="inverted_cdf"))
    assert estimate == pytest.approx(exact, rel=RELATIVE_ACCURACY * 1.0001)


@settings(max_examples=40, deadline=None)
@given(latencies, latencies)
def test_merge_equals_one_sketch_of_all_samples(left, right):
    # Given two sketches
    a, b = sketch_of(left), sketch_of(right)
    # When merged
    merged = a.merge(b)
    # Then it is the sketch of the concatenated samples
    whole = sketch_of(left + right)
    assert merged.buckets == whole.buckets
    assert merged.count == len(left) + len(right)
    assert merged.max_s == max(left + right)
    assert merged.total_s == pytest.approx(whole.total_s)


def test_round_trip_through_json_form_keeps_everything():
    # Given a sketch with zeros and buckets
    sketch = sketch_of([0.0, 0.0, 0.012, 0.5, 2.0, -1.0])
    # When written and read back
    again = LatencySketch.from_dict(sketch.to_dict())
    # Then nothing changed; negative values (clock skew) counted as zero
    assert again == sketch
    assert again.zeros == 3
    assert again.quantile(0.5) == 0.0


def test_empty_sketch_has_no_quantiles_and_bad_q_is_refused():
    # Given an empty sketch, then quantile and mean are None
    empty = LatencySketch()
    assert empty.quantile(0.5) is None
    assert empty.mean_s is None
    # When a quantile outside [0, 1] is asked, then it is refused
    with pytest.raises(ValueError, match="within"):
        sketch_of([0.1]).quantile(1.5)
