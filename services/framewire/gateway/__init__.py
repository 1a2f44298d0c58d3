"""The transcoding gateway: many live sources in, paced JPEG frames out to Kafka.

Entry points: ``framewire gateway`` (``main.run``) and ``service.serve(settings)``.
"""
