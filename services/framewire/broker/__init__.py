"""A local, real Apache Kafka broker for development, tests, the demo and benchmarks."""
