"""Rule file parsing: the documented syntax, and errors naming the offending line."""

import pytest

from framewire.aggregator.observations import DROP_REASONS
from framewire.aggregator.rules import (
    Comparison,
    RuleFileError,
    RuleKind,
    Severity,
    load_rules,
    parse_rules,
)
from framewire.v1.ops_pb2 import DropRecord

pytestmark = pytest.mark.unit

EXAMPLE = """
# crowd control
crowd:    count(person) >= 3 for 5s severity critical
low-fps:  fps < 5 for 20s clear after 10s on cam-*,door
slow:     latency_p95 > 250ms for 30s
dropping: drops(stale) > 10 for 10s   # trailing comment
cups:     count(Coffee cup) >= 1 for 0s
silent:   silent for 15s severity info
"""


def test_example_file_parses_into_rules():
    # Given the documented example, when parsed
    rules = {r.name: r for r in parse_rules(EXAMPLE)}
    # Then each line became the rule it says
    crowd = rules["crowd"]
    assert (crowd.kind, crowd.subject, crowd.op, crowd.threshold) == (
        RuleKind.COUNT,
        "person",
        Comparison.GE,
        3.0,
    )
    assert (crowd.for_ms, crowd.severity, crowd.line) == (5000, Severity.CRITICAL, 3)
    low = rules["low-fps"]
    assert (low.kind, low.op, low.threshold, low.clear_ms) == (RuleKind.FPS, Comparison.LT, 5, 10_000)
    assert low.applies_to("cam-7") and low.applies_to("door") and not low.applies_to("yard")
    assert (rules["slow"].subject, rules["slow"].threshold) == ("p95", 250.0)
    assert (rules["dropping"].kind, rules["dropping"].subject) == (RuleKind.DROPS, "stale")
    assert rules["cups"].subject == "coffee cup"
    assert (rules["silent"].kind, rules["silent"].for_ms) == (RuleKind.SILENT, 15_000)
    assert rules["silent"].applies_to("anything")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("crowd count(person) >= 3 for 5s", "expected 'name: condition"),
        ("x: fps => 5 for 5s", "expected one of < <= > >="),
        ("x: fps < five for 5s", "expected a number"),
        ("x: fps < 5", "expected 'for DURATION'"),
        ("x: fps < 5 for 5 seconds", "expected a duration"),
        ("x: latency_p95 > 250 for 5s", "expected a duration"),
        ("x: latency_p90 > 250ms for 5s", "unknown metric"),
        ("x: drops(lost) > 1 for 5s", "unknown drop reason"),
        ("x: count() > 1 for 5s", "count() needs an argument"),
        ("x: fps < 5 for 5s severity loud", "severity must be"),
        ("x: fps < 5 for 5s on cam.1", "stream patterns"),
        ("x: fps < 5 for 5s please", "unexpected 'please'"),
        ("x: fps < -1 for 5s", "expected a finite number >= 0"),
    ],
)
def test_bad_line_is_refused_naming_file_line_and_text(line, message):
    # Given a file whose third line is wrong
    text = f"# rules\nok: fps < 1 for 1s\n{line}\n"
    # When parsed, then the error names the source, line 3, the problem and the line itself
    with pytest.raises(RuleFileError) as caught:
        parse_rules(text, source="alerts.rules")
    assert f"alerts.rules:3: {message}" in str(caught.value)
    assert line in str(caught.value)


def test_duplicate_rule_name_names_both_lines():
    # Given the same name twice, when parsed, then both lines are named
    with pytest.raises(RuleFileError, match=r"rules>:3: rule 'a' already defined on line 1"):
        parse_rules("a: fps < 1 for 1s\n\na: silent for 2s\n")


def test_missing_file_is_a_clear_error(tmp_path):
    # Given a path that does not exist, when loaded, then the error names it
    with pytest.raises(RuleFileError, match=r"cannot read rule file .*nope\.rules"):
        load_rules(tmp_path / "nope.rules")


def test_drop_reasons_match_the_wire_enum():
    # Given the DropRecord.Reason enum, then rule reasons are its names without prefix
    wire = {n.removeprefix("REASON_").lower() for n in DropRecord.Reason.DESCRIPTOR.values_by_name}
    assert wire == DROP_REASONS


def test_bundled_default_rules_load():
    # Given the rule file shipped with the package, when loaded, then it is valid
    from importlib.resources import files

    rules = load_rules(str(files("framewire.aggregator") / "default_rules.txt"))
    assert {r.kind for r in rules} >= {RuleKind.SILENT, RuleKind.FPS, RuleKind.LATENCY}
