"""``framewire kafka up|down|status|tool NAME ARGS``: the local development broker.

``up`` resolves Kafka with Maven (once), formats KRaft storage, starts the broker, waits for
it and creates framewire's fixed topics. ``tool`` runs Kafka's own CLI on the same classpath,
adding ``--bootstrap-server`` when the tool needs it and it was not given.
"""

from __future__ import annotations

import argparse
import sys

from framewire.broker.local import LocalBroker

# Short names for Kafka's tools -> main class.
TOOLS = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "producer-perf": "org.apache.kafka.tools.ProducerPerformance",
    "storage": "kafka.tools.StorageTool",
}
_NO_BOOTSTRAP = {"storage", "producer-perf"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("up", help="start the local broker (resolving Kafka once) and create topics")
    down = sub.add_parser("down", help="stop the local broker")
    down.add_argument("--wipe", action="store_true", help="also delete its data")
    sub.add_parser("status", help="say whether the local broker runs, and where")
    sub.add_parser("resolve", help="fetch Apache Kafka's jars with Maven into the cache, once")
    tool = sub.add_parser("tool", help=f"run a Kafka tool: {', '.join(TOOLS)} or a class name")
    tool.add_argument("name")
    tool.add_argument("tool_args", nargs=argparse.REMAINDER)


def tool_command(name: str, args: list[str], bootstrap: str) -> tuple[str, list[str]]:
    """Map a tool name and its arguments to (main class, arguments), adding the bootstrap."""
    main_class = TOOLS.get(name, name if "." in name else "")
    if not main_class:
        from framewire.core.errors import BrokerError

        raise BrokerError(f"unknown Kafka tool {name!r}; known: {', '.join(sorted(TOOLS))}")
    if name not in _NO_BOOTSTRAP and "--bootstrap-server" not in args and "--help" not in args:
        args = ["--bootstrap-server", bootstrap, *args]
    return main_class, args


def run(args: argparse.Namespace) -> int:
    broker = LocalBroker.default()
    if args.action == "up":
        seconds = broker.start()
        _create_fixed_topics(broker.bootstrap)
        state = "already running" if seconds == 0 else f"started in {seconds:.1f}s"
        sys.stdout.write(f"Kafka broker {state} at {broker.bootstrap} (data in {broker.home})\n")
        return 0
    if args.action == "down":
        stopped = broker.stop()
        if args.wipe:
            import shutil

            shutil.rmtree(broker.home, ignore_errors=True)
        sys.stdout.write("Kafka broker stopped\n" if stopped else "Kafka broker was not running\n")
        return 0
    if args.action == "resolve":
        from framewire.broker.maven import resolve_classpath

        sys.stdout.write(f"Apache Kafka jars in {resolve_classpath()}\n")
        return 0
    if args.action == "status":
        pid = broker.pid()
        if pid is None:
            sys.stdout.write("Kafka broker is not running\n")
            return 1
        sys.stdout.write(f"Kafka broker running (pid {pid}) at {broker.bootstrap}\n")
        return 0
    main_class, tool_args = tool_command(args.name, list(args.tool_args), _bootstrap(broker))
    sys.stdout.flush()
    return broker.run_tool(main_class, *tool_args)


def _bootstrap(broker: LocalBroker) -> str:
    import os

    return os.environ.get("FW_KAFKA_BOOTSTRAP", broker.bootstrap)


def _create_fixed_topics(bootstrap: str) -> None:
    from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics
    from framewire.core.config import KafkaSettings
    from framewire.core.kafka import make_admin

    settings = KafkaSettings(bootstrap=bootstrap)
    ensure_topics(make_admin(settings), fixed_topics(settings.topics, TopicPolicy()))
