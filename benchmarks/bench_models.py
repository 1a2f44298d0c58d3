"""Per-model OpenVINO numbers, measured side by side in one run.

For each zoo model and precision: synchronous latency of one inference (LATENCY hint),
async throughput over the request pool (THROUGHPUT hint), and the whole per-frame path on a
640x480 JPEG (decode + resize + infer + output decode/NMS). Measurements are interleaved in
rounds so that other load on the machine affects every model alike. Run:

    python benchmarks/bench_models.py [--seconds 6] [--rounds 6] [--precisions auto,f32]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

import cv2
import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)
import numpy as np

from framewire.models.loader import load_detector
from framewire.models.zoo import ZOO
from support.models import fetch_zoo, photo_bgr


def timed_loop(step: Callable[[], object], seconds: float) -> list[float]:
    """Run ``step`` repeatedly for ``seconds``; per-call seconds."""
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        step()
        samples.append(time.perf_counter() - t0)
    return samples


def jpeg_640x480() -> bytes:
    frame = cv2.resize(photo_bgr("astronaut"), (640, 480))
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


class Subject:
    """One model at one precision: a LATENCY detector and a THROUGHPUT request pool."""

    def __init__(self, model_id: str, precision: str, jpeg: bytes) -> None:
        cache = fetch_zoo()
        self.model_id = model_id
        self.sync = load_detector(model_id, cache_dir=cache, precision=precision)
        self.pool = load_detector(
            model_id, cache_dir=cache, precision=precision, performance_hint="THROUGHPUT"
        )
        self.tensor = self.sync.preprocess(photo_bgr("astronaut"))
        self.jpeg = np.frombuffer(jpeg, np.uint8)
        self.reset()

    def reset(self) -> None:
        self.latency: list[float] = []
        self.frame: list[float] = []
        self.async_done, self.async_time = 0, 0.0

    def per_frame(self) -> object:
        return self.sync.detect(cv2.imdecode(self.jpeg, cv2.IMREAD_COLOR))

    def async_run(self, seconds: float) -> None:
        lock = threading.Lock()
        done = [0]

        def on_done(outputs: object, _: object) -> None:
            with lock:
                done[0] += 1

        t0 = time.perf_counter()
        while time.perf_counter() < t0 + seconds:
            self.pool.infer_async(self.tensor, on_done, None)  # blocks while all are busy
        self.pool.wait_all()
        self.async_done += done[0]
        self.async_time += time.perf_counter() - t0

    def round(self, seconds: float) -> None:
        self.latency += timed_loop(lambda: self.sync.infer(self.tensor), seconds / 3)
        self.frame += timed_loop(self.per_frame, seconds / 3)
        self.async_run(seconds / 3)

    def row(self) -> dict[str, float | str]:
        sync_p50 = statistics.median(self.latency)
        frame_p50 = statistics.median(self.frame)
        return {
            "model": self.model_id,
            "precision": self.sync.info.precision,
            "requests": float(getattr(self.pool, "num_requests", 0)),
            "sync_p50_ms": sync_p50 * 1e3,
            "sync_p95_ms": float(np.percentile(self.latency, 95)) * 1e3,
            "sync_fps": 1.0 / sync_p50,
            "async_fps": self.async_done / self.async_time,
            "frame_p50_ms": frame_p50 * 1e3,
            "frame_fps": 1.0 / frame_p50,
        }


def print_table(rows: list[dict[str, float | str]]) -> None:
    print(
        f"{'model':<24}{'prec':<6}{'reqs':>5}{'sync p50 ms':>12}{'sync p95 ms':>12}"
        f"{'sync fps':>10}{'async fps':>10}{'async/sync':>11}{'frame ms':>10}{'frame fps':>10}"
    )
    for r in rows:
        ratio = float(r["async_fps"]) / float(r["sync_fps"])
        print(
            f"{r['model']:<24}{r['precision']:<6}{r['requests']:>5.0f}{r['sync_p50_ms']:>12.2f}"
            f"{r['sync_p95_ms']:>12.2f}{r['sync_fps']:>10.0f}{r['async_fps']:>10.0f}"
            f"{ratio:>11.2f}{r['frame_p50_ms']:>10.2f}{r['frame_fps']:>10.0f}"
        )
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        f32 = next((r for r in mine if r["precision"] == "f32"), None)
        fast = next((r for r in mine if r["precision"] != "f32"), None)
        if f32 and fast:
            ratio = float(f32["sync_p50_ms"]) / float(fast["sync_p50_ms"])
            print(f"{model}: f32/{fast['precision']} sync latency ratio {ratio:.2f}")
    print("frame = JPEG decode 640x480 + resize + infer + output decode/NMS, one thread")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per model and precision")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds")
    parser.add_argument("--precisions", default="auto,f32")
    parser.add_argument("--models", default=",".join(ZOO))
    args = parser.parse_args()
    jpeg = jpeg_640x480()
    subjects = [Subject(m, p, jpeg) for m in args.models.split(",") for p in args.precisions.split(",")]
    for subject in subjects:  # warm-up
        subject.round(0.3)
        subject.reset()
    # Interleaved rounds: load from other processes hits every subject alike.
    for _ in range(args.rounds):
        for subject in subjects:
            subject.round(args.seconds / args.rounds)
    print_table([s.row() for s in subjects])


if __name__ == "__main__":
    main()
