"""PNG plots of a run (matplotlib, Agg): throughput and latency against offered load, and
per-stream results under the heaviest overload. Called once by ``harness`` at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MARKERS = {"p50": "o", "p95": "s", "p99": "^"}


def _by_workers(results: dict[str, Any], kinds: tuple[str, ...]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for p in results["phases"]:
        if p["kind"] in kinds:
            out.setdefault(p["workers"], []).append(p)
    return {w: sorted(ps, key=lambda p: p["offered_fps"]) for w, ps in out.items()}


def throughput_plot(results: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    top = 0.0
    for workers, phases in _by_workers(results, ("load", "capacity")).items():
        x = [p["offered_fps"] for p in phases]
        ax.plot(x, [p["throughput_fps"] for p in phases], marker="o", label=f"pipeline, {workers} worker(s)")
        top = max(top, *x)
    for p in results["phases"]:
        if p["kind"] == "gateway":
            ax.plot([p["offered_fps"]], [p["throughput_fps"]], marker="*", markersize=12,
                    linestyle="none", color="purple", label=f"gateway-fed, {p['workers']} worker(s)")
    c = results["ceilings"]
    ax.axhline(c["monolith_fps"], linestyle="--", color="grey", label="monolith ceiling")
    ax.axhline(c["raw_fps"], linestyle=":", color="black", label="raw model ceiling")
    ax.plot([0, top], [0, top], color="lightgrey", linewidth=1, label="results = offered")
    ax.set(xlabel="offered load (frames/s, all streams)", ylabel="results/s",
           title="Throughput against offered load")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def latency_plot(results: dict[str, Any], path: Path) -> None:
    groups = _by_workers(results, ("load",))
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(6 * max(1, len(groups)), 4.5),
                             squeeze=False, sharey=True)
    for ax, (workers, phases) in zip(axes[0], groups.items(), strict=False):
        x = [100 * p["load"] for p in phases]
        for q, marker in MARKERS.items():
            ax.plot(x, [_ms(p["latency_result_ms"][q]) for p in phases], marker=marker,
                    label=f"capture→result {q}")
        ax.plot(x, [_ms(p["latency_browser_ms"]["p99"]) for p in phases], marker="^",
                linestyle="--", label="capture→browser p99")
        ax.axhline(results["plan"]["max_age_ms"], color="red", linewidth=1, label="freshness budget")
        ax.axhline(50, color="orange", linewidth=1, linestyle=":", label="50 ms goal (50% load)")
        ax.set(xlabel="offered load (% of measured capacity)", title=f"{workers} worker(s)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("latency (ms)")
    axes[0][0].legend(fontsize="small")
    fig.suptitle("Latency percentiles against offered load")
    _save(fig, path)


def fairness_plot(results: dict[str, Any], path: Path) -> None:
    groups = _by_workers(results, ("load",))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    width = 0.8 / max(1, len(groups))
    for i, (workers, phases) in enumerate(groups.items()):
        heaviest = max(phases, key=lambda p: p["load"])
        streams = list(heaviest["per_stream_fps"])
        xs = [j + i * width for j in range(len(streams))]
        fair = heaviest["fairness"]
        label = f"{workers} worker(s) at {heaviest['load']:.0%} (Jain {fair:.3f})" if fair else \
            f"{workers} worker(s) at {heaviest['load']:.0%}"
        ax.bar(xs, list(heaviest["per_stream_fps"].values()), width=width, label=label)
        ax.plot(xs, list(heaviest["per_stream_offered_fps"].values()), marker="_", markersize=20,
                linestyle="none", color="black", label="offered" if i == 0 else None)
        ax.set_xticks([j + (len(groups) - 1) * width / 2 for j in range(len(streams))], streams)
    ax.set(ylabel="results/s", title="Per-stream results under overload")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small")
    _save(fig, path)


def _ms(value: float | None) -> float:
    return float("nan") if value is None else value


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(results: dict[str, Any], out: Path) -> list[str]:
    """Write every plot into ``out``; returns their file names."""
    plots = {"throughput.png": throughput_plot, "latency.png": latency_plot,
             "fairness.png": fairness_plot}
    for name, draw in plots.items():
        draw(results, out / name)
    return list(plots)
