"""Per-stream windowed statistics and alerts over inference results (faust-streaming).

Domain modules (``sketch``, ``windows``, ``stats``, ``progress``, ``rules``, ``alerts``,
``engine``) import neither Kafka nor faust; ``app`` and ``views`` adapt them to faust.
"""
