"""The per-frame path, shared by the inference service and ``framewire replay``: a frames
record read and checked (``wire``), its JPEG checked and decoded (``jpeg``), run through the
model in batches off the Kafka loop (``engine``, ``modes``, ``slot``), and its result
built (``wire``); with the settings (``settings``) and the model loading (``loading``) they
share, so a replay gives the results the live worker gave."""
