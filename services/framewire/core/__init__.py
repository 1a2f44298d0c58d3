"""Shared building blocks: settings, Kafka clients, topics, codec, metrics, logging, errors."""
