"""Tools over Kafka history, a library rather than a service: the ``tail`` and ``compare``
commands, and reading committed offset ranges (``reading``), which ``framewire replay``
(an inference-service mode) uses too."""
