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
    """Containers, networks, volumes and images of these owners: kind -> names (or ids).

    One listing per kind of everything the tutor labelled, read here: a run has hundreds of owners
    (a data folder per test), and a query per owner and kind took the engine seconds."""
    labelled = {"label": OWNER_LABEL}

    def mine(item: dict[str, Any]) -> bool:
        return (item.get("Labels") or {}).get(OWNER_LABEL) in owners

    images = [i for i in api.images(filters=labelled) if mine(i)]
    return {
        "containers": [c["Id"] for c in api.containers(all=True, filters=labelled) if mine(c)],
        "networks": [n["Name"] for n in api.networks(filters=labelled) if mine(n)],
        "volumes": [v["Name"] for v in api.volumes(filters=labelled).get("Volumes") or [] if mine(v)],
        "images": [name for i in images for name in ([t for t in i.get("RepoTags") or [] if t != "<none>:<none>"] or [i["Id"]])],
    }


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
