"""The Markdown report: summary table (the README's), phases, resources, bytes, plots."""

from __future__ import annotations

from typing import Any

from report import PIPELINE_SERVICES, find_phase, fmt, idle_cpu, verdict


def render(results: dict[str, Any], plots: list[str]) -> str:
    parts = [_header(results), "## Summary", summary_table(results), _goals(results),
             "## Phases", _phases(results), _legend(results), "## Resources per service",
             _resources(results), "## Bytes on Kafka", _bytes(results), "## Plots",
             *(f"![{name}]({name})" for name in plots), "## Settings", _settings(results)]
    return "\n\n".join(parts) + "\n"


def run_line(results: dict[str, Any]) -> str:
    """Date and machine of the run, in one line (goes above the summary table)."""
    m = results["machine"]
    return (f"{results['started_utc']} on {m['hostname']}: {m['cpu_model']}, "
            f"{m['cpus_usable']} usable CPUs, {m['memory_gib']} GiB, load average "
            f"{results['load_average']['start']:.2f} at start, {results['load_average']['end']:.2f} at end")


def _header(results: dict[str, Any]) -> str:
    plan, v, c = results["plan"], results["versions"], results["ceilings"]
    return "\n".join([
        f"# framewire end-to-end benchmark ({plan['mode']} mode)", "",
        f"- Run: {run_line(results)}; took {results['duration_s']:.0f} s.",
        f"- Software: framewire {v['framewire']} (git {v['git']}), Python {results['machine']['python']}, "
        f"OpenVINO {v['openvino']}, confluent-kafka {v['confluent-kafka']} (librdkafka {v['librdkafka']}), "
        f"Kafka broker {v['kafka_broker_local']} at {plan['bootstrap']}.",
        f"- Model: {c['model_id']} {c['model_version']}, precision {c['precision']}, LATENCY hint.",
        f"- Workload: {plan['streams']} streams of {plan['width']}x{plan['height']} JPEG (quality "
        f"{plan['jpeg_quality']}, mean {results['workload']['mean_jpeg_bytes'] / 1024:.1f} KiB) from "
        f"sample clips; {plan['seconds_per_phase']:.0f} s per phase, the first {plan['warmup_s']:.1f} s "
        f"left out of rates and percentiles; freshness budget {plan['max_age_ms']} ms.",
        f"- Ceilings: measured with no service running, before the pipeline (raw "
        f"{c['before']['raw_fps']:.1f}, monolith {c['before']['monolith_fps']:.1f} fps) and after it (raw "
        f"{c['after']['raw_fps']:.1f}, monolith {c['after']['monolith_fps']:.1f} fps); the better "
        "(higher) of the two is used, as other load can only slow a loop down. A large spread "
        "means the machine's background load moved during the run.",
        "- Pipeline throughput: the *capacity* phase, workers with `FW_INFERENCE_FRESHNESS=none` "
        f"(every frame processed, as the monolith does) fed in closed loop with {_in_flight(results)} "
        "unanswered frames per stream. The sweep then runs the production policy (`latest`) at "
        "fractions of that capacity.",
        "- Feed: the *gateway* phase runs `framewire gateway` on the clips at "
        f"{plan['fps_per_stream']:g} fps per stream; every other phase is fed by the harness's direct "
        "producer (same JPEG frames), so inference is measured without gateway costs.",
        f"- Command: `{results['command']}`",
    ])


def _in_flight(results: dict[str, Any]) -> str:
    counts = {p.get("in_flight_per_stream") for p in results["phases"] if p["kind"] == "capacity"}
    return "/".join(str(c) for c in sorted(c for c in counts if c is not None)) or "-"


def summary_table(results: dict[str, Any]) -> str:
    """The table the README shows: ceilings, throughput and the goals per worker count."""
    c, goals = results["ceilings"], results["goals"]
    counts = list(goals)
    head = "| | " + " | ".join(f"{w} worker{'s' if w != '1' else ''}" for w in counts) + " | goal |"
    rows = [head, "|---|" + "---|" * len(counts) + "---|",
            f"| raw model ceiling (OpenVINO infer only) | {fmt(c['raw_fps'])} fps"
            + " |" * len(counts) + " |",
            f"| monolith ceiling (read JPEG, decode, infer, post-process) | {fmt(c['monolith_fps'])} fps"
            + " |" * len(counts) + " |",
            "| pipeline throughput | " + " | ".join(
                f"{fmt(results['capacity_fps'].get(w))} fps ({fmt(_ratio(results, w), 2)} x raw)"
                for w in counts) + " | |"]
    for i, first in enumerate(goals[counts[0]]):
        cells = [_goal_cell(goals[w][i]) for w in counts]
        rows.append(f"| {first['goal']} | " + " | ".join(cells) + f" | {first['target']} |")
    return "\n".join(rows)


def _ratio(results: dict[str, Any], workers: str) -> float | None:
    capacity = results["capacity_fps"].get(workers)
    return None if capacity is None else capacity / results["ceilings"]["raw_fps"]


def _goal_cell(goal: dict[str, Any]) -> str:
    digits = 2 if goal["unit"] in ("x", "%") else (3 if goal["unit"] == "" else 1)
    unit = "" if goal["unit"] in ("x", "") else goal["unit"]
    note = f"; {goal['note']}" if goal.get("note") else ""
    return f"{fmt(goal['value'], digits, unit)} ({verdict(goal['met'])}{note})"


def _goals(results: dict[str, Any]) -> str:
    return ("Goals: pipeline throughput ≥ 0.90 x the monolith; p99 capture→result ≤ 50 ms at "
            "50% load; p99 within the freshness budget and fairness ≥ 0.98 at 200%; idle CPU < 1%. "
            "Loads are fractions of the capacity measured in the same run for that worker count.")


def _ms3(lat: dict[str, Any]) -> str:
    if not lat["n"]:
        return "-"
    return f"{lat['p50']:.0f} / {lat['p95']:.0f} / {lat['p99']:.0f}"


def _phases(results: dict[str, Any]) -> str:
    rows = ["| phase | offered fps | results fps | capture→result p50/p95/p99 ms | "
            "capture→browser p50/p95/p99 ms | Jain | drops (whole phase) | unaccounted |",
            "|---|---|---|---|---|---|---|---|"]
    for p in results["phases"]:
        drops = ", ".join(f"{k} {v}" for k, v in p["drops"].items()) or "none"
        rows.append(f"| {p['name']} | {fmt(p['offered_fps'])} | {fmt(p['throughput_fps'])} | "
                    f"{_ms3(p['latency_result_ms'])} | {_ms3(p['latency_browser_ms'])} | "
                    f"{fmt(p['fairness'], 3)} | {drops} | {p['unaccounted']} |")
    return "\n".join(rows)


def _legend(results: dict[str, Any]) -> str:
    return ("*capture→result*: a read_committed reader receives the result; *capture→browser*: an SSE "
            "client of the dashboard's `/api/events` receives it. *unaccounted* = frames on Kafka - "
            "results - inference drop records (frames still in flight when the phase was cut, or lost).")


def _resources(results: dict[str, Any]) -> str:
    names = [n for n in (*PIPELINE_SERVICES, "harness", "broker (shared)")
             if any(n in p["cpu_pct"] for p in results["phases"])]
    rows = ["| phase | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for p in results["phases"]:
        cells = [f"{fmt(p['cpu_pct'].get(n))} % / {fmt(p['rss_mib'].get(n), 0)} MiB"
                 if n in p["cpu_pct"] else "-" for n in names]
        rows.append(f"| {p['name']} | " + " | ".join(cells) + " |")
    idle = [f"{w} worker(s): {fmt(idle_cpu(find_phase(results['phases'], 'idle', int(w))), 2)} %"
            for w in results["goals"]]
    return ("CPU in % of one core over the measurement window / peak RSS over the phase. All "
            "inference workers are summed. *harness* is the load generator and both observers; the "
            "broker is shared with whatever else uses it.\n\n" + "\n".join(rows)
            + "\n\nIdle CPU of the busiest pipeline service: " + "; ".join(idle) + ".")


def _bytes(results: dict[str, Any]) -> str:
    rows = ["| phase | frame record bytes | result record bytes | Kafka bytes per frame |",
            "|---|---|---|---|"]
    for p in results["phases"]:
        if p["frames_on_kafka"]:
            rows.append(f"| {p['name']} | {fmt(p['frame_bytes_mean'], 0)} | "
                        f"{fmt(p['result_bytes_mean'], 0)} | {fmt(p['kafka_bytes_per_frame'], 0)} |")
    return ("Key + value bytes (record overhead not counted); per frame = frames + results + drop "
            "records of the phase, divided by its frames.\n\n" + "\n".join(rows))


def _settings(results: dict[str, Any]) -> str:
    """Everything needed to repeat the run: the plan, FW_* variables, versions, machine."""
    blocks = {"plan": results["plan"], "FW_* environment": results["environment"],
              "versions": results["versions"], "machine": results["machine"],
              "measurement health": results.get("observers", {})}
    lines = []
    for title, values in blocks.items():
        body = ", ".join(f"`{k}`={v}" for k, v in values.items()) or "none"
        lines.append(f"- **{title}**: {body}")
    return "\n".join(lines)
