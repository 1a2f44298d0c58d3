"""Tools over Kafka history, a library rather than a service: ``framewire replay`` (re-run
a past time range through a model: ``command``, ``run``, ``window``, ``frames``, ``output``),
``tail`` and ``compare``. History is read with ``framewire.core.history``; the per-frame
path replay shares with the inference service is ``framewire.models.perframe``."""
