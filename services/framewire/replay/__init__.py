"""Tools over Kafka history: tail, compare (and replay)."""
