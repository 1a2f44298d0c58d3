"""What the plumbing costs: CPU of gateway, aggregator and dashboard, idle and at N x fps.

Runs the real ``framewire gateway``, ``aggregator`` and ``dashboard`` processes against the
broker (FW_KAFKA_BOOTSTRAP, default 127.0.0.1:9092) under a fresh topic prefix and reads
each process's CPU time from /proc/<pid>/stat:

1. idle: every service running, no stream registered, no traffic, for ``--idle-seconds``;
2. load: the gateway plays ``--streams`` sample clips at ``--fps`` (640x480) and results
   come from ``--inference``: ``echo`` (a small process that answers every frame with a
   result, no model: the default, so the plumbing is measured without a model fighting it
   for the two cores), ``real`` (``framewire inference`` with ``--model``) or ``none``.

It prints CPU % of one core and CPU ms per result for every process, the plumbing's total
and (with ``--inference real``) that total as a share of the inference worker's CPU, with
the CPU model, its flags and the load average. The broker's CPU is printed too when it runs
on this machine; a shared broker also serves others, so treat that figure as an upper bound.

    python benchmarks/bench_plumbing.py --streams 4 --fps 25 --seconds 30 --idle-seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "pipeline"))

from launch import Launcher, free_port  # noqa: E402
from procstat import cpu_seconds, tree_cpu_seconds  # noqa: E402
from workload import prepare_workload  # noqa: E402

from framewire.broker.maven import cache_root  # noqa: E402
from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics, stream_topics  # noqa: E402
from framewire.core.codec import DetectionResult, Frame, decode, encode  # noqa: E402
from framewire.core.config import KafkaSettings  # noqa: E402
from framewire.core.kafka import make_admin, make_consumer, make_producer  # noqa: E402

PLUMBING = ("gateway", "aggregator", "dashboard")
# The flags that decide how fast inference and JPEG codecs run.
CPU_FLAG_PREFIXES = ("avx", "amx", "fma", "f16c", "sha_ni")


def machine_line() -> str:
    model, flags = "unknown", set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    present = ",".join(f for f in sorted(flags) if f.startswith(CPU_FLAG_PREFIXES)) or "no AVX"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"CPU {model}, {os.cpu_count()} cores, flags {present}; load average {load}"


def broker_pid() -> int | None:
    """The local broker's JVM (``kafka.Kafka`` on its command line), if one runs here."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in argv and any(a.endswith(b"java") for a in argv[:1]):
            return int(proc.name)
    return None


class ResultCounter:
    """Counts committed results on every results topic of the run, from outside."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._consumer = make_consumer(kafka, f"plumb-count-{time.time_ns()}",
                                       **{"auto.offset.reset": "latest"})
        self._consumer.subscribe([kafka.topics.results_pattern])
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, timeout=0.5):
                if msg.error() is None:
                    self.count += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


def echo_worker(bootstrap: str, prefix: str) -> int:
    """Stand-in for inference: one result per frame, naming the frame, no model."""
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=prefix)
    consumer = make_consumer(kafka, f"{prefix}echo", **{"auto.offset.reset": "latest"})
    consumer.subscribe([kafka.topics.frames_pattern])
    producer = make_producer(kafka)
    while True:
        for msg in consumer.consume(100, timeout=0.5):
            if msg.error() is not None:
                continue
            frame = decode(Frame, msg.value(), topic=msg.topic(), partition=msg.partition(),
                           offset=msg.offset())
            result = DetectionResult(
                stream_id=frame.stream_id, frame_sequence=frame.sequence, source_topic=msg.topic(),
                source_partition=msg.partition(), source_offset=msg.offset(),
                capture_time_ns=frame.capture_time_ns, model_id="echo", image_width=frame.width,
                image_height=frame.height, result_time_ns=time.time_ns(), worker_id="echo")
            det = result.detections.add(label="person", score=0.9, class_id=1)
            det.box.xmin, det.box.ymin, det.box.xmax, det.box.ymax = 0.1, 0.1, 0.4, 0.8
            producer.produce(kafka.topics.results(frame.stream_id), key=frame.stream_id.encode(),
                             value=encode(result))
        producer.poll(0)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.prefix = f"plumb{int(time.time())}."
        self.bootstrap = os.environ.get("FW_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
        self.kafka = KafkaSettings(bootstrap=self.bootstrap, topic_prefix=self.prefix)
        self.out = Path(args.out or f"/tmp/bench-plumbing-{int(time.time())}")
        self.launcher = Launcher(self.bootstrap, self.prefix, self.out / "logs")
        self.env = {"FW_LOG_LEVEL": "WARNING", **dict(kv.split("=", 1) for kv in args.env)}
        self.broker = broker_pid()
        self.extra: dict[str, subprocess.Popen[bytes]] = {}
        self.load_at_start = os.getloadavg()

    def pids(self) -> dict[str, int]:
        found = {s.name: s.process.pid for s in self.launcher.services.values()}
        found.update({name: p.pid for name, p in self.extra.items()})
        if self.broker is not None:
            found["broker"] = self.broker
        return found

    def cpu(self) -> dict[str, float]:
        # The broker alone; services with their children (none today, but a model server may).
        return {n: cpu_seconds(p) if n == "broker" else tree_cpu_seconds(p) for n, p in self.pids().items()}

    def start_support(self, gateway_args: list[str]) -> None:
        port = free_port()
        dash = self.launcher.start("dashboard", "dashboard", [], port=port, env={
            **self.env, "FW_DASHBOARD_HOST": "127.0.0.1", "FW_DASHBOARD_PORT": str(port)})
        self.launcher.wait_http(dash, "/readyz")
        port = free_port()
        agg = self.launcher.start("aggregator", "aggregator", [], port=port, env={
            **self.env, "FW_AGGREGATOR_WEB_PORT": str(port), "FW_AGGREGATOR_METRICS_PORT": "0",
            "FW_AGGREGATOR_DATA_DIR": str(self.out / "aggregator-data")})
        self.launcher.wait_http(agg, "/ready/")
        self.start_gateway(gateway_args)

    def start_gateway(self, args: list[str]) -> None:
        self.launcher.start("gateway", "gateway", args, env={
            **self.env, "FW_GATEWAY_ID": "plumb-gateway", "FW_GATEWAY_ASSIGNMENT": "all",
            "FW_GATEWAY_METRICS_PORT": "0"})

    def window(self, seconds: float) -> tuple[dict[str, float], float]:
        self.broker = broker_pid()
        before, t0 = self.cpu(), time.monotonic()
        time.sleep(seconds)
        if broker_pid() != self.broker:  # restarted meanwhile (a shared broker): no figure
            before.pop("broker", None)
        after, wall = self.cpu(), time.monotonic() - t0
        self.launcher.check_alive()
        return {n: after[n] - before[n] for n in after if n in before}, wall

    def idle(self) -> dict[str, float]:
        self.start_support([])
        if self.args.inference == "real":
            self.start_inference()
        time.sleep(self.args.warmup)
        used, wall = self.window(self.args.idle_seconds)
        return {n: 100 * s / wall for n, s in used.items()}

    def start_inference(self) -> None:
        port = free_port()
        worker = self.launcher.start("inference", "inference", [], env={
            **self.env, "FW_INFERENCE_WORKER_ID": "plumb-w1", "FW_INFERENCE_MODEL": self.args.model,
            "FW_INFERENCE_HTTP_PORT": str(port), "FW_INFERENCE_HTTP_HOST": "127.0.0.1"}, port=port)
        self.launcher.wait_http(worker, "/readyz", timeout_s=300)  # the model is compiled

    def load(self) -> dict[str, Any]:
        streams = [f"cam{i}" for i in range(1, self.args.streams + 1)]
        policy = TopicPolicy()
        specs = fixed_topics(self.kafka.topics, policy)
        for s in streams:
            specs += stream_topics(self.kafka.topics, s, policy)
        ensure_topics(make_admin(self.kafka), specs)
        work = prepare_workload(cache_root() / "bench-media", streams, width=640, height=480,
                                fps=self.args.fps, quality=80)
        if self.args.inference == "echo":
            self.extra["echo"] = subprocess.Popen(
                [sys.executable, __file__, "--echo-worker", self.bootstrap, self.prefix])
        counter = ResultCounter(self.kafka)
        self.launcher.stop_group("gateway")
        args = ["--fps", str(self.args.fps), "--width", "640", "--height", "480"]
        for media in work.streams:
            args += ["--stream", f"{media.stream_id}={media.clip}"]
        self.start_gateway(args)
        deadline = time.monotonic() + 180
        while counter.count == 0 and time.monotonic() < deadline:
            self.launcher.check_alive()
            time.sleep(0.5)
        time.sleep(self.args.warmup)
        start_count = counter.count
        used, wall = self.window(self.args.seconds)
        results = counter.count - start_count
        counter.close()
        return {"wall_s": wall, "results": results, "cpu_s": used}

    def close(self) -> None:
        for proc in self.extra.values():
            proc.terminate()
            proc.wait(10)
        self.launcher.stop_all()


def report(idle: dict[str, float], load: dict[str, Any], args: argparse.Namespace,
           load_at_start: tuple[float, ...]) -> dict[str, Any]:
    out = sys.stdout.write
    out(f"\nframewire plumbing benchmark: {args.streams} x {args.fps:g} fps, 640x480, "
        f"inference={args.inference}\n{machine_line()}\n"
        f"load average at the start: {' '.join(f'{x:.2f}' for x in load_at_start)}\n\n")
    out(f"idle ({args.idle_seconds:.0f} s, no streams): CPU % of one core (goal < 1 %)\n")
    for name, pct in sorted(idle.items()):
        out(f"  {name:<12} {pct:6.2f} %{'  (shared broker)' if name == 'broker' else ''}\n")
    wall, results, used = load["wall_s"], load["results"], load["cpu_s"]
    rate = results / wall if wall else 0.0
    out(f"\nload ({wall:.0f} s): {results} results, {rate:.1f} results/s\n")
    out(f"  {'process':<12} {'% core':>7} {'ms/result':>10}\n")
    for name, secs in sorted(used.items()):
        per = 1000 * secs / results if results else float("nan")
        out(f"  {name:<12} {100 * secs / wall:7.1f} {per:10.2f}\n")
    plumbing = sum(used.get(n, 0.0) for n in PLUMBING)
    summary: dict[str, Any] = {"plumbing_pct": 100 * plumbing / wall,
                               "plumbing_ms_per_result": 1000 * plumbing / results if results else None}
    out(f"  {'plumbing':<12} {summary['plumbing_pct']:7.1f} "
        f"{summary['plumbing_ms_per_result'] or float('nan'):10.2f}   (gateway+aggregator+dashboard)\n")
    if used.get("inference"):
        share = plumbing / used["inference"]
        with_broker = (plumbing + used.get("broker", 0.0)) / used["inference"]
        summary.update(plumbing_over_inference=share, with_broker_over_inference=with_broker)
        out(f"  plumbing / inference CPU: {100 * share:.0f} % ({100 * with_broker:.0f} % with the broker;"
            f" goal <= 40 %)\n")
    out(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    return {"machine": machine_line(), "idle_pct": idle, **load, **summary,
            "args": {k: v for k, v in vars(args).items() if k != "echo_worker"}}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--seconds", type=float, default=30.0, help="load measurement window")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="idle measurement window")
    parser.add_argument("--warmup", type=float, default=10.0, help="settling time before each window")
    parser.add_argument("--inference", choices=("echo", "real", "none"), default="echo")
    parser.add_argument("--model", default="ssdlite-person", help="model of --inference real")
    parser.add_argument("--env", action="append", default=[], metavar="FW_X=V",
                        help="extra environment for every service (compare settings)")
    parser.add_argument("--out", help="folder for logs and results.json")
    parser.add_argument("--echo-worker", nargs=2, metavar=("BOOTSTRAP", "PREFIX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_worker:
        return echo_worker(*args.echo_worker)
    run = Run(args)
    try:
        idle = run.idle()
        load = run.load()
    finally:
        run.close()
    summary = report(idle, load, args, run.load_at_start)
    (run.out / "results.json").write_text(json.dumps(summary, indent=2))
    sys.stdout.write(f"results: {run.out / 'results.json'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
