"""framewire: a Kafka-based multi-stream real-time video inference pipeline."""

__version__ = "0.1.0"
