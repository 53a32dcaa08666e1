#!/usr/bin/env bash
# Make sure a Docker engine answers: install and start one when none does.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "engine: already running"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1 \
   || ! [ -x /bin/busybox ]; then
  echo "engine: installing docker.io, busybox-static, debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io busybox-static debootstrap >/dev/null
fi

# A stale pid file whose process is gone (or a zombie) stops dockerd from starting.
if [ -f /var/run/docker.pid ]; then
  pid=$(cat /var/run/docker.pid)
  state=$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
  if [ -z "$state" ] || [ "$state" = "Z" ]; then
    rm -f /var/run/docker.pid
  fi
fi

echo "engine: starting dockerd"
nohup dockerd >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo "engine: ready"
    exit 0
  fi
  sleep 0.5
done
echo "engine: dockerd did not answer within 60 s; its log follows" >&2
tail -n 40 /tmp/dockerd.log >&2
exit 1
