"""The env-var contract checker itself: what it collects from the code and what it catches."""

import pytest
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploycheck.contract import (
    all_settings,
    bad_command,
    known_env,
    missing_required,
    settings_of,
    unknown_env,
)
from deploycheck.envcontract import settings_env
from deploycheck.workloads import Workload, chart_workloads
from framewire.core.config import KafkaSettings

pytestmark = pytest.mark.unit


def test_every_kafka_setting_is_known_under_its_env_name():
    # Given KafkaSettings' fields; then each is known as FW_KAFKA_<FIELD>
    expected = {f"FW_KAFKA_{name.upper()}" for name in KafkaSettings.model_fields}
    assert expected <= known_env()


def test_each_service_command_has_settings_that_nest_kafka():
    # Given the service commands; then each reads a settings class of its own that composes
    # KafkaSettings (models serve reads FW_MODELS_*, which has no Kafka connection)
    for command in ("gateway", "inference", "aggregator", "dashboard"):
        classes = {s.cls for s in settings_of(command)}
        assert KafkaSettings in classes, command
        assert any(c.__module__.startswith(f"framewire.{command}.") for c in classes), command
    assert settings_of("models")


def test_collected_classes_are_framewire_settings():
    modules = {s.cls.__module__ for s in all_settings()}
    assert "framewire.core.config" in modules
    assert all(m.startswith("framewire.") for m in modules)


def test_aliases_nested_delimiters_and_required_fields_are_understood():
    # Given a settings class with an alias, a nested class read through a delimiter and a
    # field without default
    class Inner(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="FW_INNER_")
        depth: int = 1

    class Outer(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="FW_OUTER_", env_nested_delimiter="__")
        inner: Inner = Field(default_factory=Inner)
        name: str
        legacy: int = Field(default=0, validation_alias=AliasChoices("FW_OLD_LEGACY", "fw_outer_legacy"))

    # When its env names are collected
    env = settings_env(Outer)
    # Then they are what pydantic-settings reads
    assert env.names == {
        "FW_OUTER_INNER", "FW_OUTER_INNER__DEPTH", "FW_OUTER_NAME", "FW_OLD_LEGACY", "FW_OUTER_LEGACY"
    }
    assert env.required == {"FW_OUTER_NAME"}
    assert env.nested == (Inner,)


def test_an_unknown_variable_is_reported():
    workload = Workload("test", ("gateway",), {"FW_GATEWAY_METRICS_PORT": "1", "FW_GATEWAY_NOPE": "x"})
    assert unknown_env(workload) == ["test: FW_GATEWAY_NOPE is read by no framewire settings class"]


def test_a_missing_required_setting_is_reported(monkeypatch):
    # Given a settings class of the gateway package that requires a field
    class NeedsUrl(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="FW_GATEWAY_")
        registry_url: str

    NeedsUrl.__module__ = "framewire.gateway.fake"
    import deploycheck.contract as contract

    monkeypatch.setattr(contract, "all_settings", lambda: (settings_env(NeedsUrl),))
    # When a gateway container does not set it, then that is reported; set, it is not
    bare = Workload("gw", ("gateway",), {})
    assert missing_required(bare) == ["gw: FW_GATEWAY_REGISTRY_URL is required by NeedsUrl but not set"]
    assert missing_required(Workload("gw", ("gateway",), {"FW_GATEWAY_REGISTRY_URL": "x"})) == []


def test_arguments_the_command_line_refuses_are_reported():
    assert bad_command(Workload("w", ("gateway", "--metrics-port", "9110"), {})) == []
    assert "refused" in bad_command(Workload("w", ("gateway", "--no-such-flag"), {}))[0]
    assert "names no framewire command" in bad_command(Workload("w", ("gatewy",), {}))[0]


def test_env_from_a_config_map_outside_the_release_is_reported():
    # Given a Deployment whose envFrom names a ConfigMap the render does not contain
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{
            "name": "c", "args": ["gateway"], "envFrom": [{"configMapRef": {"name": "missing"}}],
        }]}}},
    }  # fmt: skip
    (workload,) = chart_workloads([deployment])
    expected = "Deployment d container c: envFrom ConfigMap missing is not part of the release"
    assert workload.problems == (expected,)
