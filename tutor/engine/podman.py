"""Where Podman's Docker-compatible API answers differently from Docker's, and how to read it.

Podman 4.3 builds images in Docker's format with their HEALTHCHECK, but its compat
`GET /images/{id}/json` leaves `Config.Healthcheck` out; its own (libpod) endpoint has it.
And Podman runs a container's HEALTHCHECK from systemd timers: where there is no systemd (a
container, WSL, many CI machines) it never runs, and the status stays "starting".
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


def is_podman(version: dict[str, Any]) -> bool:
    return any("podman" in str(c.get("Name", "")).lower() for c in version.get("Components") or [])


def add_healthcheck(api: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """Fill in Config.Healthcheck from libpod's image inspect, when the compat answer lacks it."""
    config = attrs.setdefault("Config", {}) or {}
    if config.get("Healthcheck"):
        return attrs
    with contextlib.suppress(Exception):
        response = api._get(api._url("/libpod/images/{0}/json", attrs["Id"]))
        healthcheck = api._result(response, json=True).get("Healthcheck")
        if healthcheck:
            config["Healthcheck"] = healthcheck
            attrs["Config"] = config
    return attrs


@contextlib.contextmanager
def run_healthchecks(api: Any, container_id: str, healthcheck: dict[str, Any]) -> Iterator[None]:
    """Run the container's HEALTHCHECK at its interval through libpod's endpoint, which records
    the result in the container's health state as Docker's engine would; harmless where systemd
    runs it too."""
    if not healthcheck.get("Test") or healthcheck["Test"][0] == "NONE":
        yield
        return
    interval = (healthcheck.get("Interval") or 30 * 10**9) / 1e9
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            with contextlib.suppress(Exception):
                api._result(api._get(api._url("/libpod/containers/{0}/healthcheck", container_id)))

    thread = threading.Thread(target=loop, name="podman-healthcheck", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
