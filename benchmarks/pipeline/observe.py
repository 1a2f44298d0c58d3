"""Observers of a running pipeline: a read_committed reader of results and drop records, and
an SSE client of the dashboard standing in for a browser.

Both run on their own threads for the whole run, stamp what they receive with the wall
clock the moment it arrives, and block with timeouts when nothing comes (no spinning).
What they record is kept for the run (a few records per frame) and cut into phases later.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import httpx
from confluent_kafka import OFFSET_END, Consumer, TopicPartition
from measures import Dropped, Seen, Shown

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError
from framewire.core.kafka import consumer_config
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.ops_pb2 import DropRecord

log = logging.getLogger(__name__)


class ResultObserver:
    """Reads every stream's results topic and the drops topic from their current end."""

    def __init__(self, kafka: KafkaSettings, streams: list[str]) -> None:
        topics = kafka.topics
        self._drops_topic = topics.drops
        self._consumer = Consumer(consumer_config(kafka, f"{kafka.topic_prefix}bench-observer"))
        self._consumer.assign([TopicPartition(t, 0, OFFSET_END)
                               for t in [*map(topics.results, streams), topics.drops]])
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._drops: list[Dropped] = []
        self.malformed = 0
        # Told (stream, frames) for each result and inference drop: closed-loop feeding.
        self.on_answer: Callable[[str, int], None] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-results", daemon=True)

    def start(self) -> ResultObserver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()

    def seen_since(self, t_ns: int) -> list[Seen]:
        with self._lock:
            return [r for r in self._seen if r.recv_ns >= t_ns]

    def snapshot(self) -> tuple[list[Seen], list[Dropped]]:
        with self._lock:
            return list(self._seen), list(self._drops)

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.2)  # returns at once when a record is there
            if msg is None or msg.error() is not None:
                continue
            now = time.time_ns()
            value = msg.value() or b""
            try:
                if msg.topic() == self._drops_topic:
                    self._on_drop(decode(DropRecord, value), len(value))
                else:
                    self._on_result(decode(DetectionResult, value), now, len(value))
            except DecodeError as exc:
                self.malformed += 1
                log.warning("undecodable record: %s", exc)

    def _on_result(self, result: DetectionResult, now: int, nbytes: int) -> None:
        seen = Seen(result.stream_id, result.capture_time_ns, now, nbytes, result.worker_id)
        with self._lock:
            self._seen.append(seen)
        if self.on_answer is not None:
            self.on_answer(result.stream_id, 1)

    def _on_drop(self, drop: DropRecord, nbytes: int) -> None:
        reason = DropRecord.Reason.Name(drop.reason).removeprefix("REASON_").lower()
        dropped = Dropped(drop.stream_id, drop.time_ns or time.time_ns(),
                          f"{drop.service or 'unknown'}:{reason}", int(drop.count), nbytes)
        with self._lock:
            self._drops.append(dropped)
        if self.on_answer is not None and drop.service == "inference":
            self.on_answer(drop.stream_id, int(drop.count))


class SseProbe:
    """Follows ``/api/events`` like the dashboard page does and stamps each result event."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self._url = base_url.rstrip("/") + "/api/events"
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._lock = threading.Lock()
        self._shown: list[Shown] = []
        self._lost: list[Dropped] = []
        self.connects = 0
        self.malformed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sse", daemon=True)

    def start(self) -> SseProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def snapshot(self) -> tuple[list[Shown], list[Dropped]]:
        with self._lock:
            return list(self._shown), list(self._lost)

    def _run(self) -> None:
        # Summaries arrive every second and heartbeats every 10 s: a longer silence is a fault.
        timeout = httpx.Timeout(5.0, read=15.0)
        while not self._stop.is_set():
            try:
                with httpx.Client(timeout=timeout) as client, \
                        client.stream("GET", self._url, headers=self._headers) as response:
                    response.raise_for_status()
                    self.connects += 1
                    self._read(response)
            except httpx.HTTPError as exc:
                if not self._stop.is_set():
                    log.warning("SSE connection to %s failed (%s); reconnecting", self._url, exc)
                    self._stop.wait(1.0)

    def _read(self, response: httpx.Response) -> None:
        kind = ""
        for line in response.iter_lines():
            if self._stop.is_set():
                return
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("result", "gap"):
                now = time.time_ns()
                try:
                    payload = json.loads(line[5:])
                except ValueError:
                    self.malformed += 1
                    continue
                self._on_event(kind, payload, now)
            elif not line:
                kind = ""

    def _on_event(self, kind: str, payload: dict[str, object], now: int) -> None:
        with self._lock:
            if kind == "result":
                capture = payload.get("capture_time_ns")
                if isinstance(capture, int):
                    self._shown.append(Shown(str(payload.get("stream_id")), capture, now))
            else:
                lost = payload.get("lost_events")
                count = lost if isinstance(lost, int) else 0
                reason = payload.get("reason", "gap")
                self._lost.append(Dropped("*", now, f"dashboard-sse:{reason}", count))
