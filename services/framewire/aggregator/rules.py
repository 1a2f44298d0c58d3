"""Alert rules and their file format: one rule per line, so an error names its line.

    # name: condition for DURATION [clear after DURATION] [on GLOB,...] [severity LEVEL]
    crowd:    count(person) >= 3 for 5s severity warning
    low-fps:  fps < 5 for 20s on cam-*
    slow:     latency_p95 > 250ms for 30s severity critical
    dropping: drops(stale) > 10 for 10s
    silent:   silent for 15s
    busy:     zone_enters(door) > 20 for 30s on lobby
    full:     occupancy(room) >= 8 for 1m
    rush:     line_crosses(gate, left_to_right) > 50 for 10s

``count(LABEL)`` is the number of detections of LABEL (case-insensitive; ``*`` for all) in
one frame; ``fps``, ``latency_pNN`` and ``drops(REASON|any)`` are measured per tumbling
window; ``silent for T`` fires when a stream has sent no result for T. Zone rules
(``zone_enters``, ``zone_leaves``, ``zone_dwells``, ``occupancy`` of a zone id,
``line_crosses`` of a line id and optionally one direction) are measured per tumbling
window too, ``occupancy`` at the window's end; a zone or line without events reads 0.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from framewire.aggregator.observations import DROP_REASONS
from framewire.aggregator.zonecounts import DIRECTIONS
from framewire.core.errors import ConfigError

_LINE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_-]{0,63})\s*:\s*(?P<body>.*)$")
_TOKEN = re.compile(r"\w+\([^)]*\)|[<>]=?|\S+")
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_GLOB = re.compile(r"^[A-Za-z0-9_*?\[\]-]+$")
# Zone and line ids as a stream's configuration allows them (framewire.core.zones).
_ZONE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class RuleFileError(ConfigError):
    """A rule file that cannot be loaded; the message names the file and line."""


class RuleKind(StrEnum):
    COUNT = "count"  # per frame
    FPS = "fps"  # per tumbling window
    LATENCY = "latency"  # per tumbling window, threshold in ms
    DROPS = "drops"  # per tumbling window
    SILENT = "silent"  # per tick
    ZONE_ENTERS = "zone_enters"  # per tumbling window, subject: zone id
    ZONE_LEAVES = "zone_leaves"
    ZONE_DWELLS = "zone_dwells"
    OCCUPANCY = "occupancy"  # at the end of each tumbling window
    LINE_CROSSES = "line_crosses"  # per tumbling window, subject: line id, optional direction


_ZONE_FUNCTIONS = frozenset(
    {"zone_enters", "zone_leaves", "zone_dwells", "occupancy", "line_crosses"}
)
ZONE_RULE_KINDS = (RuleKind.ZONE_ENTERS, RuleKind.ZONE_LEAVES, RuleKind.ZONE_DWELLS, RuleKind.OCCUPANCY)
# Evaluated on every closed tumbling window.
WINDOW_RULE_KINDS = (RuleKind.FPS, RuleKind.LATENCY, RuleKind.DROPS, *ZONE_RULE_KINDS, RuleKind.LINE_CROSSES)


class Comparison(StrEnum):
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="

    def holds(self, value: float, threshold: float) -> bool:
        return {
            Comparison.GT: value > threshold,
            Comparison.GE: value >= threshold,
            Comparison.LT: value < threshold,
            Comparison.LE: value <= threshold,
        }[self]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Rule:
    """One alert rule. ``subject`` is the label, percentile (``p95``), drop reason, zone or
    line id; ``direction`` the crossing direction of a line rule (empty: both)."""

    name: str
    kind: RuleKind
    condition: str
    for_ms: int
    subject: str = ""
    op: Comparison = Comparison.GE
    threshold: float = 0.0
    clear_ms: int = 0
    streams: tuple[str, ...] = ()
    severity: Severity = Severity.WARNING
    line: int = 0
    direction: str = ""

    def applies_to(self, stream_id: str) -> bool:
        return not self.streams or any(fnmatch.fnmatchcase(stream_id, g) for g in self.streams)


def load_rules(path: str | Path) -> tuple[Rule, ...]:
    """Read a rule file; raise RuleFileError naming the line of the first problem.

    Called once at start-up: a bad file stops the aggregator before it consumes anything.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"cannot read rule file {path}: {exc}") from None
    return parse_rules(text, source=str(path))


def parse_rules(text: str, source: str = "<rules>") -> tuple[Rule, ...]:
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            rule = _parse_line(line, number)
        except ValueError as exc:
            raise RuleFileError(f"{source}:{number}: {exc}\n    {raw.strip()}") from None
        if rule.name in seen:
            raise RuleFileError(
                f"{source}:{number}: rule {rule.name!r} already defined on line "
                f"{seen[rule.name]}\n    {raw.strip()}"
            )
        seen[rule.name] = number
        rules.append(rule)
    return tuple(rules)


def _parse_line(line: str, number: int) -> Rule:
    match = _LINE.match(line)
    if not match:
        raise ValueError("expected 'name: condition for DURATION' (names: letters, digits, _ -)")
    tokens = _TOKEN.findall(match["body"])
    if not tokens:
        raise ValueError(f"rule {match['name']!r} has no condition")
    if tokens[0] == "silent":
        fields: dict[str, object] = {"kind": RuleKind.SILENT, "condition": "silent"}
        rest = tokens[1:]
    else:
        fields, rest = _parse_condition(tokens)
    if len(rest) < 2 or rest[0] != "for":
        raise ValueError(f"expected 'for DURATION' after {fields['condition']!r}")
    fields["for_ms"] = parse_duration_ms(rest[1])
    fields.update(_parse_options(rest[2:]))
    return Rule(name=match["name"], line=number, **fields)  # type: ignore[arg-type]


def _parse_condition(tokens: list[str]) -> tuple[dict[str, object], list[str]]:
    if len(tokens) < 3:
        raise ValueError("expected a condition like 'fps < 5' or 'count(person) >= 3'")
    metric, op_text, value_text = tokens[:3]
    kind, subject, direction = _parse_metric(metric)
    try:
        op = Comparison(op_text)
    except ValueError:
        raise ValueError(f"expected one of < <= > >= after {metric!r}, got {op_text!r}") from None
    if kind is RuleKind.LATENCY:
        threshold = float(parse_duration_ms(value_text))
    else:
        threshold = _parse_number(value_text)
    condition = f"{metric} {op.value} {value_text}"
    fields = {"kind": kind, "subject": subject, "op": op, "threshold": threshold, "direction": direction}
    return {**fields, "condition": condition}, tokens[3:]


def _parse_metric(metric: str) -> tuple[RuleKind, str, str]:
    if metric == "fps":
        return RuleKind.FPS, "", ""
    if re.fullmatch(r"latency_p(50|95|99)", metric):
        return RuleKind.LATENCY, metric.removeprefix("latency_"), ""
    if metric in _ZONE_FUNCTIONS:
        what = "a line" if metric == "line_crosses" else "a zone"
        raise ValueError(f"{metric} needs {what} id in parentheses, e.g. {metric}(door)")
    call = re.fullmatch(r"(\w+)\((.*)\)", metric)
    if call is not None and call[1] in _ZONE_FUNCTIONS:
        return _parse_zone_metric(RuleKind(call[1]), call[2])
    if call is None or call[1] not in ("count", "drops"):
        raise ValueError(
            f"unknown metric {metric!r}: use count(LABEL), fps, latency_p50, latency_p95, "
            "latency_p99, drops(REASON), zone_enters(ZONE), zone_leaves(ZONE), "
            "zone_dwells(ZONE), occupancy(ZONE), line_crosses(LINE[,DIRECTION]) or silent"
        )
    argument = call[2].strip()
    if not argument:
        raise ValueError(f"{call[1]}() needs an argument")
    if call[1] == "drops" and argument != "any" and argument not in DROP_REASONS:
        raise ValueError(
            f"unknown drop reason {argument!r}: use any or one of {', '.join(sorted(DROP_REASONS))}"
        )
    kind = RuleKind.COUNT if call[1] == "count" else RuleKind.DROPS
    return kind, argument.casefold(), ""


def _parse_zone_metric(kind: RuleKind, arguments: str) -> tuple[RuleKind, str, str]:
    """``zone_enters(door)``, ``line_crosses(gate)``, ``line_crosses(gate, left_to_right)``."""
    what = "line" if kind is RuleKind.LINE_CROSSES else "zone"
    parts = [part.strip() for part in arguments.split(",")]
    if not parts[0]:
        raise ValueError(f"{kind.value}() needs a {what} id, e.g. {kind.value}(door)")
    if len(parts) > (2 if kind is RuleKind.LINE_CROSSES else 1):
        usage = "(LINE) or (LINE, left_to_right|right_to_left)" if what == "line" else "(ZONE)"
        raise ValueError(f"{kind.value}() takes {usage}, got {arguments.strip()!r}")
    if not _ZONE_ID.fullmatch(parts[0]):
        raise ValueError(
            f"{what} id {parts[0]!r} must be lower-case letters, digits, _ and - "
            "(starting with a letter or digit, at most 63)"
        )
    direction = parts[1] if len(parts) == 2 else ""
    if len(parts) == 2 and direction not in DIRECTIONS:
        raise ValueError(f"line direction must be {' or '.join(DIRECTIONS)}, got {direction!r}")
    return kind, parts[0], direction


def _parse_options(tokens: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word == "clear" and tokens[i + 1 : i + 2] == ["after"] and i + 2 < len(tokens):
            out["clear_ms"], i = parse_duration_ms(tokens[i + 2]), i + 3
        elif word == "on" and i + 1 < len(tokens):
            out["streams"], i = _parse_globs(tokens[i + 1]), i + 2
        elif word == "severity" and i + 1 < len(tokens):
            out["severity"], i = _parse_severity(tokens[i + 1]), i + 2
        else:
            raise ValueError(
                f"unexpected {word!r}: options are 'clear after DURATION', 'on GLOB,...' "
                "and 'severity info|warning|critical'"
            )
    return out


def parse_duration_ms(text: str) -> int:
    """``250ms``, ``5s``, ``1.5m``, ``2h`` -> milliseconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like 500ms, 5s, 2m or 1h, got {text!r}")
    return round(float(match["n"]) * _UNIT_MS[match["unit"]])


def _parse_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"expected a finite number >= 0, got {text!r}")
    return value


def _parse_globs(text: str) -> tuple[str, ...]:
    globs = tuple(g for g in text.split(",") if g)
    bad = [g for g in globs if not _GLOB.match(g)]
    if not globs or bad:
        raise ValueError(f"stream patterns use letters, digits, _ - * ? [ ]; got {text!r}")
    return globs


def _parse_severity(text: str) -> Severity:
    try:
        return Severity(text)
    except ValueError:
        raise ValueError(f"severity must be info, warning or critical, got {text!r}") from None
