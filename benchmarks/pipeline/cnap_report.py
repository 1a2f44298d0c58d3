"""The cnap scenario's report: goals, the scenario table, CPU per result, density sweep."""

from __future__ import annotations

from typing import Any

from report import fmt, verdict

SERVICES = ("broker", "broker (shared)", "gateway", "inference", "aggregator", "dashboard", "harness")
GOAL_RESULTS_FPS = 75.0
GOAL_P99_MS = 150.0
GOAL_JAIN = 0.99
GOAL_DELIVERED = 0.95
GOAL_CAPACITY = 0.9
GOAL_PLUMBING = 0.40
GOAL_DENSITY = 8


def machine_line(results: dict[str, Any]) -> str:
    m, load = results["machine"], results["load_average"]
    return (f"{results['started_utc']}: {m['cpu_model']} ({m['cpus_usable']} usable CPUs, "
            f"{m['memory_gib']} GiB), flags {m.get('cpu_flags') or 'none of avx512/vnni/bf16/amx'}; "
            f"load average {load['start']:.2f} at start, {load['end']:.2f} at end")


def _ceiling(results: dict[str, Any], model: str, precision: str) -> dict[str, Any] | None:
    return next((c for c in results["ceilings"]
                 if c["model_id"] == model and c["asked"] == precision), None)


def cnap_table(results: dict[str, Any]) -> str:
    phases = [p for p in results["phases"] if p["kind"] == "cnap"]
    rows = ["| | " + " | ".join(p["precision"] for p in phases) + " | goal |",
            "|---|" + "---|" * len(phases) + "---|"]

    def row(label: str, cells: list[str], goal: str = "") -> None:
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {goal} |")

    row("results/s", [fmt(p["throughput_fps"]) for p in phases], f">= {GOAL_RESULTS_FPS:.0f} (INT8)")
    row("offered frames/s (gateway)", [fmt(p["offered_fps"]) for p in phases])
    row("delivered", [f"{p['delivered']:.1%}" for p in phases], f">= {GOAL_DELIVERED:.0%} (default model)")
    for key in ("p50", "p99"):
        row(f"capture→result {key} ms", [fmt(p["latency_result_ms"][key]) for p in phases],
            f"<= {GOAL_P99_MS:.0f}" if key == "p99" else "")
    row("max age ms", [fmt(p["max_age_ms"]) for p in phases], f"<= {results['plan']['max_age_ms']} (budget)")
    row("Jain fairness", [fmt(p["fairness"], 3) for p in phases], f">= {GOAL_JAIN}")
    row("CPU ms per result, all processes", [fmt(p["cpu_ms_per_result_total"]) for p in phases])
    for name in SERVICES:
        if any(name in p["cpu_ms_per_result"] for p in phases):
            row(f"  {name}: CPU ms per result (% of a core)",
                [f"{fmt(p['cpu_ms_per_result'].get(name), 2)} ({fmt(p['cpu_pct'].get(name))} %)"
                 for p in phases])
    row("transactions/s (worker)", [fmt(p.get("worker", {}).get("transactions", 0) / p["measure_s"])
                                     for p in phases])
    row("engine mode at the end (switches)", [
        f"{p.get('worker', {}).get('engine_mode_at_end', '-')} "
        f"({p.get('worker', {}).get('mode_switches', 0):.0f})" for p in phases])
    row("broker+gateway+aggregator+dashboard / inference CPU",
        [fmt(p["plumbing_over_inference"], 2) for p in phases], f"<= {GOAL_PLUMBING:.2f}")
    for label, key in (("raw model ceiling (THROUGHPUT)", "raw_fps"),
                       ("in-process async loop ceiling", "loop_fps")):
        row(label, [fmt((_ceiling(results, p["model"], p["precision"]) or {}).get(key)) for p in phases])
    row("results/s ÷ async loop", [_ratio(results, p) for p in phases], f">= {GOAL_CAPACITY}")
    return "\n".join(rows)


def _ratio(results: dict[str, Any], phase: dict[str, Any]) -> str:
    c = _ceiling(results, phase["model"], phase["precision"])
    if not c or not c["loop_fps"]:
        return "-"
    value = phase["throughput_fps"] / c["loop_fps"]
    return f"{value:.2f} (at {phase['offered_fps']:.0f} offered: a cap, not the capacity)" \
        if phase["delivered"] > 0.97 else f"{value:.2f}"


def density_table(results: dict[str, Any]) -> str:
    rows = ["| model, precision | streams x fps | offered/s | results/s | delivered | "
            "p50 / p99 / max ms | Jain | CPU ms/result | within goal |",
            "|---|---|---|---|---|---|---|---|---|"]
    for p in results["phases"]:
        if p["kind"] != "density":
            continue
        lat = p["latency_result_ms"]
        rows.append(f"| {p['model']} {p['precision']} | {p['streams']} x {p['fps_per_stream']:g} | "
                    f"{fmt(p['offered_fps'])} | {fmt(p['throughput_fps'])} | {p['delivered']:.1%} | "
                    f"{fmt(lat['p50'], 0)} / {fmt(lat['p99'], 0)} / {fmt(p['max_age_ms'], 0)} | "
                    f"{fmt(p['fairness'], 3)} | {fmt(p['cpu_ms_per_result_total'])} | "
                    f"{'yes' if p['within_goal'] else 'no'} |")
    return "\n".join(rows)


def density_reached(results: dict[str, Any]) -> dict[str, int]:
    """Most streams within goal per model and precision."""
    best: dict[str, int] = {}
    for p in results["phases"]:
        if p["kind"] == "density":
            key = f"{p['model']} {p['precision']}"
            best.setdefault(key, 0)
            if p["within_goal"]:
                best[key] = max(best[key], p["streams"])
    return best


def ceilings_table(results: dict[str, Any]) -> str:
    rows = ["| model | precision (OpenVINO) | requests | raw model fps | in-process async loop fps |",
            "|---|---|---|---|---|"]
    for c in results["ceilings"]:
        rows.append(f"| {c['model_id']} | {c['asked']} ({c['precision']}) | {c['requests']} | "
                    f"{fmt(c['raw_fps'])} | {fmt(c['loop_fps'])} |")
    for what, why in results.get("unavailable", {}).items():
        rows.append(f"| {what} | not measured: {why} | | | |")
    return "\n".join(rows)


def goals(results: dict[str, Any]) -> str:
    lines = []
    int8 = next((p for p in results["phases"] if p["kind"] == "cnap" and p["precision"] == "int8"), None)
    if int8 is None:
        lines.append("- cnap INT8 goals: not measured (no INT8 run)")
    else:
        lat = int8["latency_result_ms"]["p99"]
        checks = [("results/s >= 75", int8["throughput_fps"] >= GOAL_RESULTS_FPS),
                  ("p99 <= 150 ms", lat is not None and lat <= GOAL_P99_MS),
                  ("max age <= budget", (int8["max_age_ms"] or 0) <= results["plan"]["max_age_ms"]),
                  ("Jain >= 0.99", (int8["fairness"] or 0) >= GOAL_JAIN)]
        lines += [f"- cnap INT8 {label}: {verdict(ok)}" for label, ok in checks]
    for p in results["phases"]:
        if p["kind"] == "cnap" and p["plumbing_over_inference"] is not None:
            ok = p["plumbing_over_inference"] <= GOAL_PLUMBING
            lines.append(f"- plumbing CPU <= 40 % of inference ({p['precision']}): "
                         f"{p['plumbing_over_inference']:.2f} ({verdict(ok)})")
    for key, n in density_reached(results).items():
        lines.append(f"- density {key}: {n} streams x {results['plan']['density_fps']:g} fps within "
                     f"goal{' (goal >= 8 for the default model INT8)' if 'int8' in key else ''}"
                     f"{': ' + verdict(n >= GOAL_DENSITY) if 'int8' in key else ''}")
    return "\n".join(lines)


def render(results: dict[str, Any]) -> str:
    plan = results["plan"]
    broker = (f"own, for the run, warmed up for {plan.get('broker_warmup_s', 0):g} s"
              if plan["own_broker"] else plan["bootstrap"])
    return "\n\n".join([
        "# framewire bench --scenario cnap",
        f"- Run: {machine_line(results)}; took {results['duration_s']:.0f} s.",
        f"- Command: `{results['command']}`; broker: {broker}; "
        f"worker settings: {plan['worker_env'] or 'defaults'}.",
        f"- {plan['streams']} streams x {plan['fps']:g} fps at {plan['width']}x{plan['height']} "
        f"from `framewire gateway`, model {plan['model']}; {plan['seconds']:.0f} s measured per "
        f"phase after {plan['warmup_s']:.0f} s warm-up; maximum age {plan['max_age_ms']} ms. "
        "Latencies as a read_committed consumer polling the results topics receives them. CPU "
        "from /proc over the measured window.",
        "## Goals", goals(results), "## cnap scenario", cnap_table(results),
        "## Ceilings (same run, harness process, nothing else running)", ceilings_table(results),
        "## Density sweep", density_table(results),
    ]) + "\n"
