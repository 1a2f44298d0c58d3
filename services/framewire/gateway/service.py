"""The gateway process: follows the registry and its slots, runs streams, reports status.

``serve(settings)`` is what ``framewire gateway`` and ``framewire up`` call. Everything
here runs on one control thread; the streams run on their own threads (``runner``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from framewire.core.admin import TopicSpec, ensure_topics, fixed_topics, stream_topics
from framewire.core.errors import ConfigError
from framewire.core.kafka import check_reachable, make_admin
from framewire.gateway.counters import StreamCounters
from framewire.gateway.lookup import last_sequence
from framewire.gateway.publisher import Publisher
from framewire.gateway.reconcile import Entry, StopReason, plan_changes, slot_of
from framewire.gateway.registry import RegistryFollower, RegistryRecord
from framewire.gateway.runner import RunState, StreamContext, StreamRunner
from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.gateway.slots import AllSlots, GroupSlots
from framewire.gateway.spec import InvalidStream, config_from_spec

log = logging.getLogger(__name__)

MOVE_FLUSH_S = 5.0  # how long a stream's frames may take to land before another gateway starts it
# A control loop that has not stepped for this long is stuck (a step blocks ~0.5 s at most).
STALL_S = 30.0


class GatewayHealth:
    """What the gateway's probes report; written by the control thread, read by the probe's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_step: float | None = None
        self._registry_loaded = False

    def stepped(self, registry_loaded: bool) -> None:
        """Called at the end of every control step."""
        self._last_step = self._clock()
        self._registry_loaded = registry_loaded

    def live(self) -> tuple[bool, str]:
        if self._last_step is None:
            return True, "starting"
        idle = self._clock() - self._last_step
        if idle > STALL_S:
            return False, f"control loop has not run for {idle:.0f} s"
        return True, "control loop running"

    def ready(self) -> tuple[bool, str]:
        if self._last_step is None:
            return False, "starting: Kafka, topics and the registry"
        if not self._registry_loaded:
            return False, "reading the stream registry"
        return self.live()


class Gateway:
    """One gateway; ``start``, then ``step`` repeatedly (or ``run``), then ``close``."""

    def __init__(self, settings: GatewaySettings, health: GatewayHealth | None = None) -> None:
        self.settings = settings
        self.health = health or GatewayHealth()
        self.topics = settings.kafka.topics
        self.policy = settings.kafka.topic_policy
        self._desired: dict[str, Entry] = {}
        self._runners: dict[str, StreamRunner] = {}
        self._next_sequences: dict[str, int] = {}  # for streams that ran here before
        self._counters: dict[str, StreamCounters] = {}  # per stream, for the process lifetime
        self._next_status = 0.0

    def start(self) -> None:
        """Check Kafka, create the shared topics, join the registry and the slots group."""
        s = self.settings
        check_reachable(s.kafka)
        self._admin = make_admin(s.kafka)
        slots_topic = TopicSpec(s.slots_topic, partitions=s.slots, replication=s.kafka.topic_replication)
        ensure_topics(self._admin, [*fixed_topics(self.topics, self.policy), slots_topic])
        self.publisher = Publisher(s)
        self.publisher.start()
        self._registry = RegistryFollower(s.kafka)
        self._slots: GroupSlots | AllSlots
        if s.assignment is AssignmentMode.GROUP:
            self._slots = GroupSlots(s, self._on_revoked, lambda added: None)
        else:
            self._slots = AllSlots(s.slots)
        self._context = StreamContext(s, self.publisher, self.topics, self._prepare)
        log.info("gateway %s started (assignment %s, prefix %r)",
                 s.id, s.assignment.value, s.kafka.topic_prefix)
        if not s.media_roots:
            log.warning("file and folder sources may read any path this process can; "
                        "set FW_GATEWAY_MEDIA_ROOTS to the folders media may come from")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()

    def step(self, timeout_s: float = 0.5) -> None:
        """One control iteration; blocks at most about ``timeout_s`` waiting for Kafka.

        Registry changes end the wait at once, so a longer wait costs no reaction time; it
        only makes an idle gateway wake up less often.
        """
        waits_for_group = isinstance(self._slots, GroupSlots)
        for record in self._registry.poll(timeout_s / 2 if waits_for_group else timeout_s):
            self._apply(record)
        self._slots.poll(timeout_s / 2)
        if self._registry.loaded:
            self._reconcile()
        self._publish_status()
        self.health.stepped(self._registry.loaded)

    def streams(self) -> dict[str, RunState]:
        """The streams this gateway serves and their state."""
        return {stream_id: r.state for stream_id, r in self._runners.items()}

    def counters(self, stream_id: str) -> StreamCounters | None:
        """The stream's totals in this process (kept across restarts and moves)."""
        return self._counters.get(stream_id)

    def close(self) -> None:
        """Stop every stream, leave the group, flush; called once."""
        self._stop_streams(list(self._runners), StopReason.MOVED)
        for counters in self._counters.values():
            self._report_drops(counters)
        self._slots.close()
        self._registry.close()
        self.publisher.close()
        log.info("gateway %s stopped", self.settings.id)

    # -- desired state -----------------------------------------------------------------

    def _apply(self, record: RegistryRecord) -> None:
        if record.error:
            self._desired[record.key] = InvalidStream(record.key, record.error)
        elif record.spec is None:
            self._desired.pop(record.key, None)
        else:
            try:
                self._desired[record.key] = config_from_spec(record.key, record.spec, self.settings)
            except ConfigError as exc:
                log.warning("stream %s: invalid spec: %s", record.key, exc.message)
                self._desired[record.key] = InvalidStream(record.key, f"invalid spec: {exc.message}")

    def _owns(self, stream_id: str) -> bool:
        return slot_of(stream_id, self._slots.count) in self._slots.owned

    def _reconcile(self) -> None:
        running = {stream_id: r.entry for stream_id, r in self._runners.items()}
        plan = plan_changes(self._desired, self._owns, running)
        for reason in StopReason:
            self._stop_streams([i for i, why in plan.stop if why is reason], reason)
        self._stop_streams(plan.restart, None)
        for stream_id in plan.restart + plan.start:
            self._start_stream(stream_id)

    def _on_revoked(self, slots: set[int]) -> None:
        """Slots are leaving: stop their streams before another gateway may start them."""
        moving = [i for i in self._runners if slot_of(i, self._slots.count) in slots]
        self._stop_streams(moving, StopReason.MOVED)

    def _start_stream(self, stream_id: str) -> None:
        counters = self._counters.get(stream_id)
        if counters is None:
            counters = self._counters[stream_id] = StreamCounters(stream_id)
        runner = StreamRunner(self._desired[stream_id], self._context,
                              self._next_sequences.get(stream_id, 0), counters)
        self._runners[stream_id] = runner
        runner.start()

    def _stop_streams(self, stream_ids: list[str], reason: StopReason | None) -> None:
        """Stop several streams at once (``reason`` None: they restart right away)."""
        runners = [self._runners.pop(i) for i in stream_ids if i in self._runners]
        if not runners:
            return
        for runner in runners:
            runner.signal_stop()
        for runner in runners:
            runner.join(2.0)
            self._next_sequences[runner.stream_id] = runner.next_sequence
            if reason is StopReason.DELETED:
                self.publisher.delete_status(runner.stream_id)
                self._report_drops(runner.counters)
                self._counters.pop(runner.stream_id, None)
                runner.counters.forget_metrics()
            log.info("stream %s stopped (%s)", runner.stream_id, reason.value if reason else "restart")
        if reason is StopReason.MOVED:
            self.publisher.flush(MOVE_FLUSH_S)  # the next owner continues after our last frame

    def _prepare(self, stream_id: str, floor: int) -> int:
        """Runs on a stream's thread: create its topics, return its next sequence number."""
        ensure_topics(self._admin, stream_topics(self.topics, stream_id, self.policy))
        # Before the stream's first frame: this lookup fails (and the runner retries) until
        # the partition's leader serves it. A produce to a partition listed but not yet
        # served is refused and retried, and librdkafka could then lose the first frames
        # while reporting them delivered.
        last = last_sequence(self.settings.kafka, self.topics.frames(stream_id),
                             self.settings.kafka.connect_timeout_s)
        return max(floor, last + 1)

    # -- status ----------------------------------------------------------------------

    def _publish_status(self) -> None:
        now = time.monotonic()
        periodic = now >= self._next_status
        if periodic:
            self._next_status = now + self.settings.status_interval_s
        for runner in list(self._runners.values()):
            if runner.take_state_change() or periodic:
                self.publisher.publish_status(runner.status(self.settings.id))
        if periodic:  # streams that moved away still report the drops they had here
            for counters in self._counters.values():
                self._report_drops(counters)

    def _report_drops(self, counters: StreamCounters) -> None:
        drops = counters.take_unreported_drops()
        if drops:
            counters.give_back_drops(self.publisher.publish_drops(
                counters.stream_id, drops, counters.give_back_drops))


def serve(settings: GatewaySettings, stop: threading.Event | None = None,
          health: GatewayHealth | None = None) -> None:
    """Run a gateway until ``stop`` is set; called by ``framewire gateway`` and ``up``."""
    gateway = Gateway(settings, health)
    gateway.start()
    try:
        gateway.run(stop or threading.Event())
    finally:
        gateway.close()
