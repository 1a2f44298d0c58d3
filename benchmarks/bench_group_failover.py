"""How fast the inference consumer group moves a member's partitions, per group protocol.

Members are small processes with the inference worker's own consumer options
(``kafka_io.group_config``) and its graceful stop (``kafka_io.leave_group``), but no model,
so what is timed is the group protocol, not a worker's start-up. Two members share a
two-partition topic; once each owns one, member w1 is

- ``restart``: SIGKILLed and started again at once (time until w1's partition is assigned
  again, to anyone);
- ``gone``: SIGKILLed for good (time until w2 is assigned it);
- ``sigterm``: stopped gracefully (time until w2 is assigned it).

for the classic protocol and KIP-848's consumer protocol, with static membership on and
off. A private broker is started whose limits allow the same 6 s session and 1 s
heartbeat under both protocols (a default broker's minimum is 45 s and 5 s for the consumer
protocol). Prints the CPU model, flags and load average.

Usage: python benchmarks/bench_group_failover.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from machine import cpu_flags, machine_facts

SESSION_MS = 6000
CONFIGS = [("classic", True), ("classic", False), ("consumer", True), ("consumer", False)]
SCENARIOS = ("restart", "gone", "sigterm")


def member(bootstrap: str, group: str, topic: str, wid: str, protocol: str, static: bool) -> None:
    """Child process: join, report assignments as JSON lines, leave on SIGTERM."""
    from confluent_kafka import Consumer

    from framewire.core.config import KafkaSettings
    from framewire.core.kafka import consumer_config
    from framewire.inference.kafka_io import group_config, leave_group
    from framewire.inference.settings import InferenceSettings

    settings = InferenceSettings(kafka=KafkaSettings(bootstrap=bootstrap), worker_id=wid,
                                 group_protocol=protocol, static_membership=static,
                                 session_timeout_ms=SESSION_MS, http_port=-1)
    consumer = Consumer(consumer_config(settings.kafka, group, **group_config(settings)))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def say(event: str, parts: list[object] | None = None) -> None:
        sys.stdout.write(json.dumps({"t": time.time(), "w": wid, "ev": event,
                                     "p": [p.partition for p in parts or []]}) + "\n")  # type: ignore[attr-defined]
        sys.stdout.flush()

    consumer.subscribe([topic], on_assign=lambda c, ps: say("assign", ps),
                       on_revoke=lambda c, ps: say("revoke", ps),
                       on_lost=lambda c, ps: say("lost", ps))
    say("start")
    while not stop.is_set():
        msg = consumer.poll(0.05)
        if msg is not None and msg.error() is not None:
            say("error:" + msg.error().str())
    leave_group(consumer)
    consumer.close()
    say("closed")


class Members:
    """The member processes of one run and the events they report."""

    def __init__(self, bootstrap: str, protocol: str, static: bool) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        self.topic = f"failover.{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(self.topic, 2, 1)])[self.topic].result(30)
        self.args = [bootstrap, f"g-{self.topic}", self.topic]
        self.protocol, self.static = protocol, static
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.log: list[dict[str, object]] = []
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def start(self, wid: str) -> None:
        cmd = [sys.executable, __file__, "--member", *self.args, wid, self.protocol,
               "1" if self.static else "0"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs[wid] = proc
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.events.put(json.loads(line))

    def owned(self) -> dict[str, set[int]]:
        """Each member's partitions from the events seen so far (incremental callbacks)."""
        while not self.events.empty():
            self.log.append(self.events.get())
        owned: dict[str, set[int]] = {}
        for e in self.log:
            mine = owned.setdefault(str(e["w"]), set())
            if e["ev"] == "assign":
                mine |= set(e["p"])  # type: ignore[arg-type]
            elif e["ev"] in ("revoke", "lost"):
                mine -= set(e["p"])  # type: ignore[arg-type]
        return owned

    def wait_balanced(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            owned = self.owned()
            if all(len(owned.get(w, ())) == 1 for w in ("w1", "w2")):
                return True
            time.sleep(0.05)
        return False

    def assigned_after(self, partition: int, since: float, timeout_s: float,
                       to: str | None = None) -> float | None:
        """Seconds from ``since`` until ``partition`` is assigned (to ``to`` if given)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.owned()
            for e in self.log:
                if (e["ev"] == "assign" and partition in e["p"] and float(e["t"]) > since  # type: ignore[operator]
                        and (to is None or e["w"] == to)):
                    return float(e["t"]) - since  # type: ignore[arg-type]
            time.sleep(0.02)
        return None

    def join_s(self, wid: str, since: float) -> float | None:
        """Seconds from a member's (re)start, once it is subscribed, to its first partition."""
        self.owned()
        mine = [e for e in self.log if e["w"] == wid and float(e["t"]) > since]  # type: ignore[arg-type]
        start = next((float(e["t"]) for e in mine if e["ev"] == "start"), None)  # type: ignore[arg-type]
        got = next((float(e["t"]) for e in mine if e["ev"] == "assign" and e["p"]), None)  # type: ignore[arg-type]
        return None if start is None or got is None else got - start

    def errors(self) -> list[str]:
        self.owned()
        return sorted({str(e["ev"])[6:90] for e in self.log if str(e["ev"]).startswith("error:")})

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def scenario(bootstrap: str, protocol: str, static: bool, name: str) -> dict[str, object]:
    members = Members(bootstrap, protocol, static)
    try:
        for wid in ("w1", "w2"):
            members.start(wid)
        if not members.wait_balanced(60):
            return {"moved_s": None, "note": "never balanced"}
        partition = next(iter(members.owned()["w1"]))
        victim = members.procs["w1"]
        since = time.time()
        if name == "sigterm":
            victim.send_signal(signal.SIGTERM)
            moved = members.assigned_after(partition, since, 30, to="w2")
        else:
            victim.kill()
            victim.wait(10)
            if name == "restart":
                members.start("w1")
            moved = members.assigned_after(partition, since, 30,
                                           to=None if name == "restart" else "w2")
        time.sleep(0.5)
        owner = [w for w, ps in members.owned().items() if partition in ps]
        return {"moved_s": moved, "owner": owner, "errors": members.errors(),
                "join_s": members.join_s("w1", since) if name == "restart" else None}
    finally:
        members.close()


def start_broker(home: Path) -> object:
    from framewire.broker.local import LocalBroker

    def free_port() -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    broker = LocalBroker(home, port=free_port(), controller_port=free_port(), heap="384m",
                         extra_config={"group.consumer.min.session.timeout.ms": "2000",
                                       "group.consumer.session.timeout.ms": str(SESSION_MS),
                                       "group.consumer.min.heartbeat.interval.ms": "250",
                                       "group.consumer.heartbeat.interval.ms": "1000"})
    broker.start()
    return broker


def _listed(values: list[object]) -> str:
    return ", ".join("-" if v is None else f"{v:.2f}" for v in values)  # type: ignore[str-format]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--member":
        b, g, t, wid, protocol, static = sys.argv[2:8]
        member(b, g, t, wid, protocol, static == "1")
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    facts = machine_facts()
    print(f"CPU: {facts['cpu_model']} ({facts['cpus_usable']} usable), flags: {cpu_flags()}")
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp) / "broker")
        try:
            for protocol, static in CONFIGS:
                for name in SCENARIOS:
                    runs = [scenario(broker.bootstrap, protocol, static, name)  # type: ignore[attr-defined]
                            for _ in range(args.repeat)]
                    shown = _listed([r["moved_s"] for r in runs])
                    joins = [r["join_s"] for r in runs]
                    errors = sorted({e for r in runs for e in r.get("errors", [])})  # type: ignore[attr-defined]
                    print(f"protocol={protocol:8s} static={static!s:5s} {name:8s} "
                          f"moved_s=[{shown}] "
                          + (f"restarted_join_to_assignment_s=[{_listed(joins)}] "
                             if name == "restart" else "")
                          + ("errors=" + "; ".join(errors) if errors else ""),
                          flush=True)
        finally:
            broker.stop()  # type: ignore[attr-defined]
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
