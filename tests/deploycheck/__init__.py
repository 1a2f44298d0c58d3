"""Offline validation of framewire's deployment artefacts (Helm chart and compose file).

No cluster and no Docker engine: ``helm lint``/``helm template`` render the chart, core
Kubernetes objects are checked with ``kubernetes-validate --strict``, custom resources against
the upstream CRD schemas made strict, the compose file with ``docker compose config -q``, and
every ``FW_*`` variable against the settings classes that read it.

Run everything with ``scripts/validate_deploy.sh`` (or ``PYTHONPATH=tests python -m
deploycheck``); the unit tests ``tests/unit/test_deploy_*.py`` call the same functions.
"""
