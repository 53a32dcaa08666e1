#!/usr/bin/env bash
# Build offline stand-ins for the base images the exercises use, only where a name is absent.
# A machine that can pull the real images keeps them; stand-ins carry a label so tools can tell.
set -euo pipefail
LABEL="org.docker-tutor.stand-in=true"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

present() { docker image inspect "$1" >/dev/null 2>&1; }

if ! present busybox:latest; then
  echo "stand-in: building busybox"
  mkdir -p "$work/busybox"
  cp /bin/busybox "$work/busybox/busybox"
  cat >"$work/busybox/Dockerfile" <<DOCKERFILE
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
LABEL $LABEL
CMD ["sh"]
DOCKERFILE
  docker build -q -t busybox:latest "$work/busybox" >/dev/null
fi

if ! present python:3.11-slim; then
  echo "stand-in: building python:3.11-slim (debootstrap, about a minute)"
  mirror=$(sed -n 's/^URIs:[[:space:]]*\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || { echo "stand-in: no Debian mirror found in apt sources" >&2; exit 1; }
  rootfs="$work/rootfs"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    -c 'CMD ["python3"]' -c 'ENV LANG=C.UTF-8' -c "LABEL $LABEL" \
    - python:3.11-slim >/dev/null
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(busybox|python):' || true
