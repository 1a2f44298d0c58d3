"""The strict custom-resource checker against the upstream Strimzi and KEDA CRDs."""

import pytest

from deploycheck.crd import CrdCatalog, strict
from deploycheck.paths import crd_dir

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def catalog() -> CrdCatalog:
    return CrdCatalog.load(crd_dir())


def topic(**spec) -> dict:
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "fw-streams", "labels": {"strimzi.io/cluster": "c"}},
        "spec": {"topicName": "fw.streams", "partitions": 1, "replicas": 1, **spec},
    }


def test_strict_closes_objects_but_keeps_preserved_ones_open():
    # Given a schema with a plain object and one marked x-kubernetes-preserve-unknown-fields
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string", "nullable": True}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    # When made strict
    out = strict(schema)
    # Then unknown fields are refused except where preserved, and nullable allows null
    assert out["additionalProperties"] is False
    assert out["properties"]["a"]["additionalProperties"] is False
    assert "additionalProperties" not in out["properties"]["free"]
    assert out["properties"]["a"]["properties"]["b"]["type"] == ["string", "null"]
    assert "additionalProperties" not in schema  # the input is left alone


def test_the_catalog_serves_strimzi_v1_and_keda_v1alpha1(catalog):
    kinds = set(catalog.schemas)
    strimzi = ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")
    assert {("kafka.strimzi.io/v1", k) for k in strimzi} <= kinds
    assert ("keda.sh/v1alpha1", "ScaledObject") in kinds
    assert ("kafka.strimzi.io/v1beta2", "KafkaTopic") not in kinds


def test_a_valid_topic_passes_and_free_form_config_is_allowed(catalog):
    assert catalog.validate(topic(config={"retention.ms": "1000", "anything.goes": 1})) == []


def test_misspelt_and_mistyped_fields_are_errors(catalog):
    problems = catalog.validate(topic(replica=3, partitions="1"))
    assert "spec: Additional properties are not allowed ('replica' was unexpected)" in problems
    assert "spec.partitions: '1' is not of type 'integer'" in problems


def test_a_version_strimzi_no_longer_serves_is_an_error(catalog):
    old = {**topic(), "apiVersion": "kafka.strimzi.io/v1beta2"}
    (problem,) = catalog.validate(old)
    assert "kafka.strimzi.io/v1beta2 KafkaTopic is not served" in problem


def test_metadata_is_checked_too(catalog):
    bad = topic()
    bad["metadata"] = {"name": "Fw_Streams", "labelz": {}}
    problems = catalog.validate(bad)
    assert any(p.startswith("metadata.name:") for p in problems)
    assert any("'labelz' was unexpected" in p for p in problems)


def test_keda_trigger_metadata_must_be_strings(catalog):
    scaled = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "inference"},
        "spec": {
            "scaleTargetRef": {"name": "inference"},
            "triggers": [{"type": "kafka", "metadata": {"lagThreshold": 30}}],
        },
    }
    assert catalog.validate(scaled) == ["spec.triggers.0.metadata.lagThreshold: 30 is not of type 'string'"]
