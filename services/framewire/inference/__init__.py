"""The inference service: a Kafka consumer group turning frames into detections exactly once.

Entry points: ``framewire inference`` (``main``) and ``run_worker`` (``service``).
"""
