"""Podman's Docker-compatible API for the tests that grade on it (`bash .ci/podman.sh` provisions it)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

PODMAN_SOCKET = Path(os.environ.get("DOCKER_TUTOR_PODMAN_SOCKET", "/tmp/docker-tutor-podman.sock"))
PODMAN_URL = f"unix://{PODMAN_SOCKET}"


def podman_answers() -> bool:
    """A socket file can outlive its service: only one that accepts a connection counts."""
    if not PODMAN_SOCKET.is_socket():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(PODMAN_SOCKET))
        except OSError:
            return False
    return True


needs_podman = pytest.mark.skipif(
    not podman_answers(), reason=f"no Podman API service answers at {PODMAN_SOCKET} (bash .ci/podman.sh starts one)"
)


def conmon_processes() -> set[int]:
    """Podman's per-container (and per-exec) monitors running on this machine."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "conmon":
                    found.add(int(entry.name))
            except OSError:
                continue
    return found
