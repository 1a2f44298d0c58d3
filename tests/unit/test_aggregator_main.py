"""``framewire aggregator`` refuses bad rule files and settings before touching Kafka."""

import pytest

from framewire.aggregator.settings import AggregatorSettings
from framewire.cli import main

pytestmark = pytest.mark.unit


def test_bad_rule_file_refuses_to_load_naming_the_line(tmp_path, capsys, monkeypatch):
    # Given a rule file whose second rule is wrong
    rules = tmp_path / "alerts.rules"
    rules.write_text("ok: fps < 1 for 10s\nbad: fps => 1 for 10s\n")
    monkeypatch.setenv("FW_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # never reached
    # When the aggregator starts with it
    code = main(["aggregator", "--rules", str(rules)])
    # Then it exits with a configuration error naming file and line
    assert code == 2
    assert f"{rules}:2: expected one of < <= > >= after 'fps', got '=>'" in capsys.readouterr().err


def test_check_rules_reports_the_loaded_rules(tmp_path, capsys):
    # Given a valid rule file, when checked, then it lists the rules and succeeds
    rules = tmp_path / "alerts.rules"
    rules.write_text("a: silent for 5s\nb: latency_p99 > 2s for 1m\n")
    assert main(["aggregator", "--rules", str(rules), "--check-rules"]) == 0
    assert capsys.readouterr().out == "2 rules OK: a, b\n"


def test_inconsistent_windows_are_refused(monkeypatch, capsys):
    # Given a hopping step that is not a multiple of the tumbling window
    monkeypatch.setenv("FW_AGGREGATOR_HOPPING_STEP_S", "15")
    # When started, then it refuses with the reason
    assert main(["aggregator", "--check-rules"]) == 2
    assert "hopping step (15000 ms) must be a positive multiple" in capsys.readouterr().err


def test_settings_read_from_env(monkeypatch):
    # Given FW_AGGREGATOR_* and FW_KAFKA_* variables, when settings are built, then they apply
    monkeypatch.setenv("FW_AGGREGATOR_WEB_PORT", "7000")
    monkeypatch.setenv("FW_AGGREGATOR_TUMBLING_S", "5")
    monkeypatch.setenv("FW_KAFKA_TOPIC_PREFIX", "x.")
    settings = AggregatorSettings()
    assert (settings.web_port, settings.layout().pane_ms, settings.faust_id) == (7000, 5000, "x.aggregator")
