#!/usr/bin/env bash
# Make sure a Compose CLI is there for the Compose exercises: the docker CLI's plugin if it has
# one, else Debian's docker-compose, installed only when neither is present.
set -euo pipefail
if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
  echo "compose: already installed"
  exit 0
fi
echo "compose: installing docker-compose"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq docker-compose >/dev/null
docker-compose version
