#!/usr/bin/env bash
# Podman's Docker-compatible API on its own socket, with the base images loaded: what the suite's
# Podman tests use. Idempotent: installs, configures and starts only what is missing.
set -euo pipefail

socket_path=${DOCKER_TUTOR_PODMAN_SOCKET:-/tmp/docker-tutor-podman.sock}

if ! command -v podman >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  echo "podman: installing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman curl >/dev/null
fi

# No container starts until Podman's default rlimits are at or below the machine's hard limits.
conf=/etc/containers/containers.conf
if ! grep -qs '^[[:space:]]*default_ulimits' "$conf"; then
  hard_nofile=$(ulimit -Hn); hard_nproc=$(ulimit -Hu)
  nofile=20000; nproc=4096
  [ "$hard_nofile" != unlimited ] && [ "$hard_nofile" -lt "$nofile" ] && nofile=$hard_nofile
  [ "$hard_nproc" != unlimited ] && [ "$hard_nproc" -lt "$nproc" ] && nproc=$hard_nproc
  line="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
  mkdir -p "$(dirname "$conf")"
  if grep -qs '^\[containers\]' "$conf"; then
    sed -i "/^\[containers\]/a $line" "$conf"
  else
    printf '[containers]\n%s\n' "$line" >> "$conf"
  fi
  echo "podman: default_ulimits set in $conf"
fi

# Docker's bridge must outlive Podman's start: say so loudly if it does not (Docker's tests would fail).
had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)

ping() { curl -sf --max-time 2 --unix-socket "$socket_path" http://podman/_ping >/dev/null 2>&1; }
if ! ping; then
  echo "podman: starting the API service on $socket_path"
  rm -f "$socket_path"
  nohup podman system service --time=0 "unix://$socket_path" >/tmp/docker-tutor-podman.log 2>&1 &
  for _ in $(seq 1 60); do ping && break; sleep 0.5; done
  ping || { echo "podman: the service did not answer; its log follows" >&2; tail -n 20 /tmp/docker-tutor-podman.log >&2; exit 1; }
fi

# Podman has its own image store: copy the base images from Docker's when they are missing.
missing=()
for image in busybox:latest python:3.11-slim; do
  podman image exists "$image" || missing+=("$image")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "podman: loading ${missing[*]} from the Docker engine"
  docker save "${missing[@]}" | podman load -q >/dev/null
fi
if [ "$had_docker0" = yes ] && ! ip link show docker0 >/dev/null 2>&1; then
  echo "podman: Docker's bridge docker0 vanished while Podman started" >&2
  exit 1
fi
echo "podman: ready on unix://$socket_path"
