"""INT8 against f32 for every zoo model: speed under both OpenVINO hints and detection agreement.

Each model is quantized exactly as ``framewire models quantize`` does (NNCF, calibrated on the
bundled photos and sample-clip frames) into a throwaway cache, so the user's cache only ever
receives models that passed the gate through the command. Then f32 and INT8 are timed in
interleaved rounds (other load on the machine hits every subject alike) with an async loop
over real preprocessed frames, under the LATENCY and the THROUGHPUT hint. Prints the CPU
model, its relevant flags and the load average, then the Markdown table of MODELS.md. Run:

    python benchmarks/bench_quantize.py [--seconds 8] [--rounds 4] [--images 64] [--models a,b]
                                        [--work DIR]   # reuse DIR's quantized models
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
import numpy as np

from framewire.core.errors import ModelError
from framewire.models.api import Detector
from framewire.models.calibration import sample_set
from framewire.models.gate import DEFAULT_MIN_F1, GateFigures
from framewire.models.loader import load_detector
from framewire.models.quantize import quantize_model
from framewire.models.quantized import read_entry
from framewire.models.zoo import ZOO
from framewire.samples import DEFAULT_DEST
from support.models import fetch_zoo

HINTS = ("LATENCY", "THROUGHPUT")
PRECISIONS = ("f32", "int8")
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni")


def cpu_line() -> str:
    """CPU model, core count and the flags that decide OpenVINO's kernels."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    name = fields.get("Model name", "?").strip()
    flags = set(fields.get("Flags", "").split())
    present = [f for f in FLAGS if f in flags]
    absent = [f for f in FLAGS if f not in flags]
    return f"{name}, {os.cpu_count()} CPUs; flags: {' '.join(present)} (absent: {' '.join(absent)})"


@dataclass
class Subject:
    """One model at one precision and hint: an async loop over real frames."""

    model_id: str
    precision: str
    hint: str
    detector: Detector
    tensors: list[np.ndarray]
    done: int = 0
    seconds: float = 0.0
    # Process CPU time (all OpenVINO threads): unlike frames/s, hardly moved by other load.
    cpu_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, seconds: float) -> None:
        count = [0]

        def on_done(outputs: object, _: object) -> None:
            with self._lock:
                count[0] += 1

        t0, c0 = time.perf_counter(), time.process_time()
        i = 0
        while time.perf_counter() < t0 + seconds:
            self.detector.infer_async(self.tensors[i % len(self.tensors)], on_done, None)
            i += 1
        self.detector.wait_all()
        self.seconds += time.perf_counter() - t0
        self.cpu_seconds += time.process_time() - c0
        self.done += count[0]

    @property
    def fps(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1e3 * self.cpu_seconds / self.done if self.done else float("nan")


def quantize_all(
    models: list[str], images: int, cache: Path, reuse: bool
) -> dict[str, tuple[GateFigures, float]]:
    """Quantize each model into ``cache``; with ``reuse``, keep an entry a previous run left."""
    image_set = None
    out = {}
    for model_id in models:
        if reuse and (previous := _previous(model_id, cache)) is not None:
            out[model_id] = previous
            continue
        image_set = image_set or sample_set(images, DEFAULT_DEST.expanduser())
        result = quantize_model(model_id, image_set, cache, min_f1=0.0)
        out[model_id] = (result.figures, result.seconds)
        print(f"quantized {model_id} in {result.seconds:.1f} s: F1 {result.figures.f1}", flush=True)
    return out


def _previous(model_id: str, cache: Path) -> tuple[GateFigures, float] | None:
    try:
        entry = read_entry(ZOO[model_id], cache)
    except ModelError:
        return None
    doc = entry.provenance["agreement"]
    per_label = {k: (v["f32"], v["int8"], v["matched"]) for k, v in doc["per_label"].items()}
    figures = GateFigures(doc["images"], doc["iou"], doc["f32_detections"], doc["int8_detections"],
                          doc["matched"], per_label)
    print(f"reusing {model_id} INT8 from {entry.xml.parent}: F1 {figures.f1}", flush=True)
    return figures, float(entry.provenance["quantize_seconds"])


def copy_zoo(models: list[str], cache: Path) -> None:
    """The zoo's source files into the benchmark's own cache."""
    zoo = fetch_zoo()
    for model_id in models:
        (cache / model_id).mkdir(parents=True, exist_ok=True)
        for f in (zoo / model_id).iterdir():
            if f.is_file():
                (cache / model_id / f.name).write_bytes(f.read_bytes())


def subjects(models: list[str], cache: Path, frames: list[np.ndarray]) -> list[Subject]:
    out = []
    for model_id in models:
        for precision in PRECISIONS:
            for hint in HINTS:
                det = load_detector(model_id, cache_dir=cache, precision=precision, performance_hint=hint)
                tensors = [det.preprocess(f) for f in frames]
                out.append(Subject(model_id, det.info.precision, hint, det, tensors))
    return out


def table(subs: list[Subject], gates: dict[str, tuple[GateFigures, float]]) -> str:
    rows = [
        "| model | f32 LATENCY | f32 THROUGHPUT | INT8 LATENCY | INT8 THROUGHPUT | INT8 / f32 "
        "(THROUGHPUT) | CPU ms / inference f32 → INT8 (THROUGHPUT) | agreement F1 (matched / f32 / INT8) "
        "| gate 0.95 | quantize s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model_id, (fig, seconds) in gates.items():
        fps = {(s.precision, s.hint): s.fps for s in subs if s.model_id == model_id}
        cpu = {(s.precision, s.hint): s.cpu_ms for s in subs if s.model_id == model_id}
        f32_precision = next(p for p, _ in fps if p != "int8")
        ratio = fps[("int8", "THROUGHPUT")] / fps[(f32_precision, "THROUGHPUT")]
        f1 = fig.f1 if fig.f1 is not None else float("nan")
        gate = "passes" if fig.f1 is not None and fig.f1 >= DEFAULT_MIN_F1 else "**refused**"
        speeds = [fps[(p, h)] for p in (f32_precision, "int8") for h in HINTS]
        rows.append(
            f"| `{model_id}` | " + " | ".join(f"{x:.0f}" for x in speeds) + f" | {ratio:.2f}x "
            f"| {cpu[(f32_precision, 'THROUGHPUT')]:.1f} → {cpu[('int8', 'THROUGHPUT')]:.1f} "
            f"| {f1:.3f} ({fig.matched} / {fig.f32_detections} / {fig.int8_detections}) | {gate} "
            f"| {seconds:.0f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per subject, over all rounds")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    parser.add_argument("--images", type=int, default=64, help="calibration frames (as many judge)")
    parser.add_argument("--models", default=",".join(ZOO))
    parser.add_argument("--work", type=Path,
                        help="keep the quantized models here and reuse them on the next run "
                        "(default: a temporary directory)")
    args = parser.parse_args()
    models = args.models.split(",")
    print(f"CPU: {cpu_line()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fw-bench-q-") as tmp:
        cache = args.work or Path(tmp)
        copy_zoo(models, cache)
        gates = quantize_all(models, args.images, cache, reuse=args.work is not None)
        frames = list(sample_set(8, DEFAULT_DEST.expanduser()).evaluation)
        subs = subjects(models, cache, frames)
        for s in subs:  # warm-up
            s.run(0.3)
            s.done, s.seconds = 0, 0.0
        for _ in range(args.rounds):
            for s in subs:
                s.run(args.seconds / args.rounds)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("frames/s of an async loop over real preprocessed frames (inference only, batch 1)")
    print(table(subs, gates))


if __name__ == "__main__":
    main()
