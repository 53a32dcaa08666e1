"""The sandbox policy for a learner's Compose file: refuse what escapes, then harden the rest.

Pure data in, data out: it reads the file as `compose config` normalized it (absolute paths,
either Compose's short or long syntax) and never runs anything. The rules are those of a single
learner container (tutor.engine.dockerhost.Sandbox): no privileges, no host namespaces, no host
folders outside the exercise, limits on memory, pids and CPU; and those of a server under an
`http` check: the project's networks are internal, their bridges have no address of this machine,
and no port is published (the tutor's prober joins the network to reach a service).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.engine.builders.limits import max_added_bytes

# Service keys that would give a container the host, or part of it.
_REFUSED_KEYS = {
    "privileged": "gives the container every capability of the host",
    "cap_add": "adds kernel capabilities",
    "devices": "passes host devices in",
    "device_cgroup_rules": "opens host devices",
    "security_opt": "changes the security profile",
    "userns_mode": "changes the user namespace",
    "cgroup_parent": "moves the container into another cgroup",
    "cgroup": "shares the host's cgroup namespace",
    "runtime": "picks another container runtime",
    "volumes_from": "mounts another container's volumes",
    "uts": "shares the host's hostname namespace",
    "gpus": "asks for the host's GPUs (the lesson shows GPUs in Compose; the sandbox runs without)",
    "sysctls": "changes kernel settings",
    "external_links": "links to containers outside the project",
    "oom_kill_disable": "lets a container exhaust the machine's memory",
}
MAX_SERVICES = 10
MAX_REPLICAS = 3
_NAMESPACE_KEYS = ("pid", "ipc")
_ALLOWED_NETWORK_MODES = {"none"}
# An internal network whose bridge has no IPv4 address of this machine: containers on it reach
# each other and nothing else (not the host at the gateway, not the host's other addresses).
ISOLATED = {"internal": True, "driver_opts": {"com.docker.network.bridge.inhibit_ipv4": "true"}}
_ALLOWED_NETWORK_DRIVERS = {"bridge"}


@dataclass(frozen=True, slots=True)
class Limits:
    """What every service gets, whatever the file says."""

    memory_mb: int = 256
    cpus: float = 1.0
    pids: int = 128


def refusals(config: dict[str, Any], folder: Path, *, build_network: bool = False) -> list[str]:
    """Every reason to refuse this normalized config, in the learner's words (empty: allowed)."""
    problems: list[str] = []
    folder = folder.resolve()
    services = config.get("services") or {}
    if not isinstance(services, dict) or not services:
        return ["the file defines no services"]
    if len(services) > MAX_SERVICES:
        problems.append(f"the file defines {len(services)} services; the sandbox runs at most {MAX_SERVICES}")
    for name, service in services.items():
        where = f"service {name}"
        if not isinstance(service, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        for key, why in _REFUSED_KEYS.items():
            if service.get(key):
                problems.append(f"{where}: {key} is not allowed here: it {why}")
        for key in _NAMESPACE_KEYS:
            if service.get(key):
                problems.append(
                    f"{where}: {key}: {service[key]} is not allowed here: it shares a namespace with the host or another container"
                )
        mode = service.get("network_mode")
        if mode and mode not in _ALLOWED_NETWORK_MODES:
            problems.append(
                f"{where}: network_mode: {mode} is not allowed here: use the project's own networks "
                "(services reach each other there by name; nothing else is reachable)"
            )
        if _asks_for_devices(service):
            problems.append(f"{where}: deploy.resources.reservations.devices (GPUs) is not allowed here: the sandbox has no GPU")
        for volume in service.get("volumes") or []:
            problem = _volume_problem(volume, folder)
            if problem:
                problems.append(f"{where}: {problem}")
        problems += _env_files_outside(service, folder, where)
        replicas = max(_count(service.get("scale")), _count((service.get("deploy") or {}).get("replicas")))
        if replicas > MAX_REPLICAS:
            problems.append(f"{where}: {replicas} replicas; the sandbox runs at most {MAX_REPLICAS} of a service")
        build = service.get("build")
        if isinstance(build, dict):
            problems += [f"{where}: {problem}" for problem in _build_problems(build, folder)]
            context = build.get("context", ".")
            if isinstance(context, str) and "://" not in context and not _inside(context, folder):
                problems.append(f"{where}: build context {context} is outside the exercise folder")
            elif isinstance(context, str) and "://" in context:
                problems.append(f"{where}: build context {context} is remote; build from the exercise folder")
            network = build.get("network")
            if network and network != "none" and not (build_network and network in ("default", "bridge")):
                problems.append(
                    f"{where}: build network {network} is not allowed here: builds run without a network"
                    + ("" if build_network else " (ship wheels with the exercise instead)")
                )
    for name, network in (config.get("networks") or {}).items():
        network = network or {}
        if network.get("external"):
            problems.append(f"network {name}: external networks are not allowed here: let the project create its own")
        driver = network.get("driver")
        if driver and driver not in _ALLOWED_NETWORK_DRIVERS:
            problems.append(f"network {name}: driver {driver} is not allowed here: use bridge")
        if network.get("driver_opts"):
            problems.append(f"network {name}: driver options are not allowed here (they can reach the host's interfaces)")
        if network.get("enable_ipv6") or network.get("ipam"):
            problems.append(
                f"network {name}: addresses of your own (ipam, enable_ipv6) are not allowed here: "
                "the tutor gives the network its addresses"
            )
    for name, volume in (config.get("volumes") or {}).items():
        volume = volume or {}
        if volume.get("external"):
            problems.append(f"volume {name}: external volumes are not allowed here: let the project create its own")
        if volume.get("driver") not in (None, "local") or volume.get("driver_opts"):
            problems.append(f"volume {name}: driver options are not allowed here (they can mount host folders)")
    for section in ("secrets", "configs"):
        for name, item in (config.get(section) or {}).items():
            item = item or {}
            path = item.get("file")
            if isinstance(path, str) and not _inside(path, folder):
                problems.append(f"{section[:-1]} {name}: file {path} is outside the exercise folder")
            if item.get("external"):
                problems.append(f"{section[:-1]} {name}: external {section} are not allowed here")
            if item.get("environment"):
                problems.append(
                    f"{section[:-1]} {name}: a {section[:-1]} from your environment is not allowed here: use a file in the folder"
                )
    return problems


def file_refusals(raw: Any, folder: Path) -> list[str]:
    """What the learner's file, as written, asks Compose to read from outside the folder. Judged
    before `compose config`, which reads an env_file or an extended file into its answer."""
    if not isinstance(raw, dict):
        return []
    problems = []
    for name, service in (raw.get("services") or {}).items() if isinstance(raw.get("services"), dict) else ():
        if not isinstance(service, dict):
            continue
        problems += _env_files_outside(service, folder, f"service {name}")
        extends = service.get("extends")
        path = extends.get("file") if isinstance(extends, dict) else None
        if isinstance(path, str) and not _inside(path, folder):
            problems.append(f"service {name}: extends a file outside the exercise folder ({path})")
    for included in _as_list(raw.get("include")):
        paths = included.get("path") if isinstance(included, dict) else included
        for path in _as_list(paths):
            if isinstance(path, str) and not _inside(path, folder):
                problems.append(f"include of {path}, outside the exercise folder")
    return problems


def harden(
    config: dict[str, Any],
    labels: dict[str, str],
    limits: Limits = Limits(),
    *,
    build_network: bool = False,
    image_name: Callable[[str], str] | None = None,
    volatile_labels: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A copy of an allowed config (one `refusals` found nothing in) with the sandbox added:
    limits, labels, isolated networks and no published port, no build network, capped logs."""
    config = copy.deepcopy(config)
    config.pop("version", None)  # written without a version: the Compose Specification, which has the limit keys
    for name, service in config["services"].items():
        service.update(
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            pids_limit=limits.pids,
            cpus=limits.cpus,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            logging={"driver": "json-file", "options": {"max-size": "1m", "max-file": "1"}},
        )
        # No file over a build's disk budget, as in every learner container (dockerhost.sandbox_kwargs;
        # Compose exercises are graded on Docker's engine only, where the ulimit keeps its others).
        ulimits = service.get("ulimits")
        service["ulimits"] = {**(ulimits if isinstance(ulimits, dict) else {}), "fsize": max_added_bytes()}
        service["labels"] = {**_as_mapping(service.get("labels")), **labels}
        service.pop("container_name", None)  # a fixed name would collide between two checks
        # Nothing is published: a port on this machine would be open to its other users, and the
        # checks reach a service from inside its network. (The learner's ports are judged as written.)
        service.pop("ports", None)
        build = service.get("build")
        if isinstance(build, dict):
            if image_name is not None:
                service["image"] = image_name(name)  # the tutor's name, never one the learner chose
            if not (build_network and build.get("network") in ("default", "bridge")):
                build["network"] = "none"
            # Images keep only the stable labels: a session's id would make every build a new image.
            stable = {k: v for k, v in labels.items() if k not in volatile_labels}
            build["labels"] = {**_as_mapping(build.get("labels")), **stable}
    networks = config.setdefault("networks", {}) or {}
    config["networks"] = networks
    networks.setdefault("default", {})
    for name in list(networks):
        networks[name] = {**(networks[name] or {})}
        networks[name]["labels"] = {**_as_mapping(networks[name].get("labels")), **labels}
        networks[name].update(ISOLATED, driver="bridge")
    for name in list(config.get("volumes") or {}):
        volume = {**(config["volumes"][name] or {})}
        volume["labels"] = {**_as_mapping(volume.get("labels")), **labels}
        config["volumes"][name] = volume
    return config


def _build_problems(build: dict[str, Any], folder: Path) -> list[str]:
    """What a build may not read or be given: files outside the folder, the SSH agent, privileges."""
    problems = []
    context = build.get("context", ".")
    if isinstance(context, str) and "://" not in context:
        dockerfile = build.get("dockerfile")
        if isinstance(dockerfile, str) and not _inside(str(Path(context) / dockerfile), folder):
            problems.append(f"dockerfile {dockerfile} is outside the exercise folder")
    for name, extra in (build.get("additional_contexts") or {}).items():
        if isinstance(extra, str) and ("://" in extra or not _inside(extra, folder)):
            problems.append(f"additional context {name} ({extra}) is outside the exercise folder")
    if build.get("ssh"):
        problems.append("build ssh is not allowed here: it hands your SSH agent to the build")
    if build.get("privileged") or build.get("entitlements"):
        problems.append("a privileged build is not allowed here")
    return problems


def _volume_problem(volume: Any, folder: Path) -> str:
    if isinstance(volume, dict):
        kind, source = volume.get("type", "volume"), volume.get("source", "")
        if kind == "bind" and not _inside(source, folder):
            return f"the bind mount of {source} is outside the exercise folder: use a named volume"
        if kind not in ("bind", "volume", "tmpfs"):
            return f"a volume of type {kind} is not allowed here"
        return ""
    source = str(volume).split(":")[0] if ":" in str(volume) else ""
    if source.startswith(("/", ".", "~")) and not _inside(source, folder):
        return f"the bind mount of {source} is outside the exercise folder: use a named volume"
    return ""


def _env_files_outside(service: dict[str, Any], folder: Path, where: str) -> list[str]:
    paths = [entry.get("path") if isinstance(entry, dict) else entry for entry in _as_list(service.get("env_file"))]
    outside = [path for path in paths if isinstance(path, str) and not _inside(path, folder)]
    return [f"{where}: env_file {path} is outside the exercise folder" for path in outside]


def _inside(path: str, folder: Path) -> bool:
    resolved = (folder / Path(path).expanduser()).resolve()
    return resolved == folder or folder in resolved.parents


def _asks_for_devices(service: dict[str, Any]) -> bool:
    reservations = ((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    return bool(reservations.get("devices") or reservations.get("generic_resources"))


def _count(value: Any) -> int:
    try:
        return int(value or 1)
    except (TypeError, ValueError):
        return 1


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _as_mapping(value: Any) -> dict[str, str]:
    """Compose accepts labels as a mapping or as a list of KEY=VALUE."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    result = {}
    for item in value or []:
        key, _, val = str(item).partition("=")
        result[key] = val
    return result
