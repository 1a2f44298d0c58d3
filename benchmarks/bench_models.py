"""Per-model OpenVINO numbers, measured side by side in one run.

For each zoo model and precision: synchronous latency of one inference (LATENCY hint),
async throughput over the request pool (THROUGHPUT hint), and the whole per-frame path on a
640x480 JPEG (decode + resize + infer + decode outputs/NMS). Run:

    python benchmarks/bench_models.py [--seconds 1.5] [--precisions auto,f32] [--models ...]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from framewire.models.api import Detector
from framewire.models.loader import load_detector
from framewire.models.testing import fetch_zoo, photo_bgr
from framewire.models.zoo import ZOO


def timed_loop(step: Callable[[], object], seconds: float) -> list[float]:
    """Run ``step`` repeatedly for ``seconds`` after a short warm-up; per-call seconds."""
    for _ in range(5):
        step()
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        step()
        samples.append(time.perf_counter() - t0)
    return samples


def async_fps(detector: Detector, tensor: np.ndarray, seconds: float) -> float:
    done = 0
    lock = threading.Lock()

    def on_done(outputs: object, _: object) -> None:
        nonlocal done
        with lock:
            done += 1

    for _ in range(8):
        detector.infer_async(tensor, on_done, None)
    detector.wait_all()
    done = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        detector.infer_async(tensor, on_done, None)  # blocks while every request is busy
    detector.wait_all()
    return done / (time.perf_counter() - t0)


def jpeg_640x480() -> bytes:
    frame = cv2.resize(photo_bgr("astronaut"), (640, 480))
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def measure(model_id: str, precision: str, seconds: float, jpeg: bytes) -> dict[str, float | str]:
    cache = fetch_zoo()
    sync = load_detector(model_id, cache_dir=cache, precision=precision)
    tensor = sync.preprocess(photo_bgr("astronaut"))
    latency = timed_loop(lambda: sync.infer(tensor), seconds)

    def per_frame() -> object:
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        return sync.detect(bgr)

    frame = timed_loop(per_frame, seconds)
    pool = load_detector(model_id, cache_dir=cache, precision=precision, performance_hint="THROUGHPUT")
    return {
        "model": model_id,
        "precision": sync.info.precision,
        "requests": float(getattr(pool, "num_requests", 0)),
        "sync_p50_ms": statistics.median(latency) * 1e3,
        "sync_p95_ms": float(np.percentile(latency, 95)) * 1e3,
        "sync_fps": 1.0 / statistics.median(latency),
        "async_fps": async_fps(pool, tensor, seconds),
        "frame_p50_ms": statistics.median(frame) * 1e3,
        "frame_fps": 1.0 / statistics.median(frame),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--precisions", default="auto,f32")
    parser.add_argument("--models", default=",".join(ZOO))
    args = parser.parse_args()
    jpeg = jpeg_640x480()
    rows = [
        measure(m, p, args.seconds, jpeg) for m in args.models.split(",") for p in args.precisions.split(",")
    ]
    print(
        f"{'model':<24}{'prec':<6}{'reqs':>5}{'sync p50 ms':>12}{'sync p95 ms':>12}"
        f"{'sync fps':>10}{'async fps':>10}{'async/sync':>11}{'frame ms':>10}{'frame fps':>10}"
    )
    for r in rows:
        print(
            f"{r['model']:<24}{r['precision']:<6}{r['requests']:>5.0f}{r['sync_p50_ms']:>12.2f}"
            f"{r['sync_p95_ms']:>12.2f}{r['sync_fps']:>10.0f}{r['async_fps']:>10.0f}"
            f"{float(r['async_fps']) / float(r['sync_fps']):>11.2f}"
            f"{r['frame_p50_ms']:>10.2f}{r['frame_fps']:>10.0f}"
        )
    by_key = {(r["model"], r["precision"]): r for r in rows}
    for m in args.models.split(","):
        f32, fast = (
            by_key.get((m, "f32")),
            next((r for r in rows if r["model"] == m and r["precision"] != "f32"), None),
        )
        if f32 and fast:
            ratio = float(f32["sync_p50_ms"]) / float(fast["sync_p50_ms"])
            print(f"{m}: {fast['precision']} sync latency is {ratio:.2f}x faster than f32")
    print("frame = JPEG decode 640x480 + resize + infer + output decode/NMS, one thread")


if __name__ == "__main__":
    main()
