"""What the dashboard adds: Kafka -> SSE event latency, and clients served per process.

Runs a real ``framewire dashboard`` process against the broker (FW_KAFKA_BOOTSTRAP, default
127.0.0.1:9092), publishes real JPEG frames and detection results at ``--fps`` per stream,
and measures, in one run and side by side:

* latency from a result's Kafka timestamp (producer linger 0) to its event arriving at
  (a) raw SSE clients in a separate process and (b) Chromium running the real page;
* for each number of concurrent all-streams clients: share of events delivered, events
  dropped for slow clients, latency p50/p99 and the dashboard process's CPU use.

    python benchmarks/bench_dashboard.py --streams 4 --fps 15 --levels 1,50,100,200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import httpx
import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)

from framewire.core.config import KafkaSettings
from support.dashboard import Det, TrafficPublisher

KAFKA_TIME = re.compile(rb'"kafka_time_ms":([0-9.]+)')
SAMPLED_CLIENTS = 8
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dashboard(kafka: KafkaSettings, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FW_KAFKA_BOOTSTRAP": kafka.bootstrap,
           "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix, "FW_DASHBOARD_PORT": str(port),
           "FW_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "framewire.cli", "dashboard"], env=env,
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the dashboard did not become ready")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Traffic(threading.Thread):
    """Frames and results for every stream at ``fps``, like gateway + inference would."""

    def __init__(self, pub: TrafficPublisher, streams: list[str], fps: float) -> None:
        super().__init__(daemon=True)
        self.pub, self.streams, self.fps = pub, streams, fps
        self.stop = threading.Event()
        self.produced_ms: list[float] = []

    def run(self) -> None:
        dets = [Det("cat", 0.87, (0.25, 0.1, 0.72, 0.95)), Det("person", 0.6, (0.0, 0.2, 0.2, 0.9))]
        seq, next_at = 0, time.monotonic()
        while not self.stop.is_set():
            for stream in self.streams:
                frame = self.pub.frame(stream, seq)
                self.pub.flush()
                # librdkafka stamps CreateTime in whole ms when produce() is called.
                self.produced_ms.append(float(int(time.time() * 1000)))
                self.pub.result(stream, frame, seq, dets)
            self.pub.flush()
            seq += 1
            next_at += 1 / self.fps
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def client_process(port: int, count: int, seconds: float, out: Any) -> None:
    """``count`` raw SSE clients; the first few parse latencies, the rest count events."""

    async def one(index: int) -> tuple[list[float], list[float]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/events HTTP/1.0\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        stamps: list[float] = []
        latencies: list[float] = []
        buffer = b""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not chunk:
                break
            buffer += chunk
            blocks = buffer.split(b"\n\n")
            buffer = blocks.pop()
            now_ms = time.time() * 1000
            for block in blocks:
                if block.startswith(b"event: result") and (m := KAFKA_TIME.search(block)):
                    stamps.append(float(m.group(1)))
                    if index < SAMPLED_CLIENTS:
                        latencies.append(now_ms - stamps[-1])
        writer.close()
        return stamps, latencies

    async def main() -> list[tuple[list[float], list[float]]]:
        return await asyncio.gather(*(one(i) for i in range(count)))

    out.put(asyncio.run(main()))


def drops(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    found = re.findall(r'^framewire_dashboard_client_events_dropped_total\{[^}]*\} ([0-9.e+]+)$',
                       text, re.M)
    return sum(float(v) for v in found)


def browser_latencies(port: int, seconds: float) -> list[float]:
    """Kafka -> event handled by the real page in Chromium (which also fetches and draws frames)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("() => document.getElementById('connection').dataset.state === 'live'")
        page.evaluate("""() => { window.benchLat = [];
            window.framewire.registerPanel('result', (r) => { if (r.kafka_time_ms)
              window.benchLat.push(performance.timeOrigin + performance.now() - r.kafka_time_ms); }); }""")
        time.sleep(seconds)
        values = page.evaluate("window.benchLat")
        browser.close()
    return [float(v) for v in values]


def run_level(port: int, pid: int, clients: int, seconds: float, with_browser: bool,
              traffic: Traffic) -> dict[str, Any]:
    queue: Any = mp.Queue()
    proc = mp.Process(target=client_process, args=(port, clients, seconds, queue))
    drops_before, cpu_before = drops(port), cpu_seconds(pid)
    started_ms = time.time() * 1000
    proc.start()
    browser = browser_latencies(port, seconds - 1.5) if with_browser else []
    per_client = queue.get(timeout=seconds + 60)
    proc.join()
    # Count only results produced well inside every client's connection window.
    lo, hi = started_ms + 1500, started_ms + seconds * 1000 - 1000
    expected = sum(1 for t in traffic.produced_ms if lo <= t <= hi)
    received = sum(1 for stamps, _ in per_client for t in stamps if lo <= t <= hi)
    latencies = [v for _, lat in per_client for v in lat]
    return {
        "clients": clients,
        "results_in_window": expected,
        "delivered_pct": 100 * received / max(1, expected * clients),
        "dropped": drops(port) - drops_before,
        "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99),
        "browser_p50_ms": pct(browser, 50), "browser_p99_ms": pct(browser, 99),
        "browser_events": len(browser),
        "dashboard_cpu_pct": 100 * (cpu_seconds(pid) - cpu_before) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--levels", default="1,50,100,200", help="concurrent clients per step")
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of each step")
    parser.add_argument("--browser-levels", default="1,100", help="steps also measured in Chromium")
    args = parser.parse_args()
    kafka = KafkaSettings(bootstrap=os.environ.get("FW_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
                          topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")
    streams = [f"cam{i}" for i in range(args.streams)]
    pub = TrafficPublisher(kafka, producer_options={"linger.ms": 0})
    pub.create_topics(*streams)
    for stream in streams:
        pub.spec(stream)
    pub.flush()
    port = free_port()
    dashboard = start_dashboard(kafka, port)
    traffic = Traffic(pub, streams, args.fps)
    traffic.start()
    time.sleep(2)
    browser_levels = {int(v) for v in args.browser_levels.split(",") if v}
    rows = []
    try:
        for clients in (int(v) for v in args.levels.split(",")):
            rows.append(run_level(port, dashboard.pid, clients, args.seconds,
                                  clients in browser_levels, traffic))
            print(json.dumps({k: round(v, 2) if isinstance(v, float) else v
                              for k, v in rows[-1].items()}), flush=True)
    finally:
        traffic.stop.set()
        dashboard.terminate()
        dashboard.wait(15)
    report(rows, args)


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    rate = args.streams * args.fps
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, load average {load} (shared machine)")
    print(f"{args.streams} streams x {args.fps:g} fps = {rate:g} results/s (+ as many JPEG "
          f"frames) into one dashboard process; each client receives every result")
    print(f"{'clients':>8} {'delivered%':>10} {'dropped':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'browser p50':>11} {'browser p99':>11} {'cpu%':>6}")
    for r in rows:
        print(f"{r['clients']:>8} {r['delivered_pct']:>10.2f} {r['dropped']:>8.0f} "
              f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['browser_p50_ms']:>11.1f} "
              f"{r['browser_p99_ms']:>11.1f} {r['dashboard_cpu_pct']:>6.0f}")
    base = rows[0]
    for r in rows[1:]:
        print(f"{r['clients']} clients vs {base['clients']}: p99 x{r['p99_ms'] / base['p99_ms']:.2f}, "
              f"cpu x{r['dashboard_cpu_pct'] / max(base['dashboard_cpu_pct'], 0.1):.2f}")
    served = [r["clients"] for r in rows if r["delivered_pct"] >= 99.9 and r["p99_ms"] < 250]
    print(f"clients served at {args.fps:g} fps/stream with >=99.9% delivered and p99 < 250 ms: "
          f"{max(served) if served else 0} (largest step tried: {rows[-1]['clients']})")


if __name__ == "__main__":
    main()
