#!/usr/bin/env bash
# Make a Docker engine available for the e2e tests and scripts/build_images.py: install
# Debian's docker.io and debootstrap when missing, start dockerd when nothing answers.
# Idempotent; leaves an engine that is already running alone. dockerd logs to
# ${FW_DOCKERD_LOG:-/tmp/framewire-dockerd.log}.
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi
log="${FW_DOCKERD_LOG:-/tmp/framewire-dockerd.log}"
echo "starting dockerd (log: $log)" >&2
# Its own session, so it outlives the shell (or test run) that started it.
$SUDO setsid dockerd >>"$log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not answer within 60 s; the end of $log:" >&2
tail -20 "$log" >&2
exit 1
