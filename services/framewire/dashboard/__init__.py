"""The dashboard: pipeline API, live SSE events and the web page, from one Kafka consumer.

``create_app(settings)`` builds the ASGI app (used by ``framewire dashboard``, ``framewire
up`` and the tests); ``framewire.dashboard.main`` is the command.
"""
