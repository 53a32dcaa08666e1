"""What a test run made on the engine, found by the owner labels of its data folders, and its removal.

The engine may be shared: only what carries one of the run's owner ids is listed or removed."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import docker.errors

from tutor.engine.owner import OWNER_LABEL, owner_id

_SECRET = re.compile(rb"^[0-9a-f]{64}$")


def owners_under(root: Path) -> set[str]:
    """The owner ids of every data folder under `root` (each keeps its secret in `owner-secret`)."""
    owners = set()
    for folder, _dirs, files in os.walk(root):
        if "owner-secret" in files:
            with contextlib.suppress(OSError):
                secret = (Path(folder) / "owner-secret").read_bytes().strip()
                if _SECRET.match(secret):
                    owners.add(owner_id(secret))
    return owners


def leftovers(api: Any, owners: set[str]) -> dict[str, list[str]]:
    """Containers, networks, volumes and images of these owners: kind -> names (or ids)."""
    found: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": [], "images": []}
    for owner in sorted(owners):
        mine = {"label": f"{OWNER_LABEL}={owner}"}
        found["containers"] += [c["Id"] for c in api.containers(all=True, filters=mine)]
        found["networks"] += [n["Name"] for n in api.networks(filters=mine)]
        found["volumes"] += [v["Name"] for v in api.volumes(filters=mine).get("Volumes") or []]
        for image in api.images(filters=mine):
            tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
            found["images"] += tags or [image["Id"]]
    return found


def remove(api: Any, found: dict[str, list[str]]) -> None:
    """Containers first (they hold networks, volumes and images), then the rest. Images go by tag,
    never forced: an image that also has someone else's tag keeps it."""
    for container in found["containers"]:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(container, force=True, v=True)
    for network in found["networks"]:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_network(network)
    for volume in found["volumes"]:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_volume(volume, force=True)
    for image in found["images"]:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_image(image)
