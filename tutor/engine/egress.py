"""The network of one build or container that may reach the outside (pip install), and nothing near.

The engine's default bridge (docker0) holds every container started without a network of its own,
other learners' included, and the host at its gateway. Instead, each grading that needs the network
gets:
- a bridge network of its own with traffic between its containers off (`enable_icc=false`), which
  routes out through the host (masquerade) and which Docker's isolation rules keep apart from the
  other bridges (when the host's firewall still has them);
- a holder container on it, from a trusted image, that alone has NET_ADMIN: it makes every
  address near the engine unroutable in the network namespace (private and link-local ranges,
  every network the engine has, the network's own gateway and every other address of the machine
  the engine runs on) and sleeps. The
  learner's build steps (the classic builder's `networkmode=container:ID`) and container join that
  namespace, without NET_ADMIN, so they cannot undo it; only the default route out is left, and
  routes to the name servers the engine's DNS forwards to (read from a one-shot container on the
  default bridge: the embedded DNS asks them from inside the namespace).
Both are labelled as everything the tutor makes (so `clean` and the sweep of a dead tutor find
them) and removed afterwards. An address range the outside is reached through (a package mirror
or proxy on a private address) can be let through with DOCKER_TUTOR_EGRESS_ALLOW.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import docker.errors

from tutor.engine.driver import Sandbox
from tutor.errors import TutorError, UsageError

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

ALLOW_VARIABLE = "DOCKER_TUTOR_EGRESS_ALLOW"  # comma-separated CIDRs routed out after all
# What is near the engine: private ranges (the Docker address pools among them), carrier-grade
# NAT, link-local (a cloud's instance metadata at 169.254.169.254).
NEAR = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
HOLDER_IMAGE = "busybox"
HOLDER_SANDBOX = Sandbox(memory_mb=16, cpus=0.2, pids=8, cap_add=("NET_ADMIN",), learner=False)
READER_SANDBOX = Sandbox(memory_mb=16, cpus=0.2, pids=8, learner=False)
READY = "docker-tutor-egress-ready"
READY_SECONDS = 30.0
# A step container of a cut build can still hold an endpoint for a moment after the build ends.
REMOVE_SECONDS = 10.0


def allowed_ranges() -> list[str]:
    """The ranges of DOCKER_TUTOR_EGRESS_ALLOW, each checked."""
    ranges = []
    for part in os.environ.get(ALLOW_VARIABLE, "").replace(" ", "").split(","):
        if not part:
            continue
        try:
            ranges.append(str(ipaddress.IPv4Network(part, strict=False)))
        except ValueError as exc:
            raise UsageError(f"{ALLOW_VARIABLE}: {part!r} is not an IPv4 address range ({exc})", hint="Write it as 10.1.2.0/24.") from exc
    return ranges


@contextlib.contextmanager
def egress_network(host: DockerHost, labels: dict[str, str], session_id: str, exercise_id: str = "") -> Iterator[str]:
    """A network mode (`container:ID`) for build steps or a container: out to the internet, to nothing near."""
    from tutor.engine.dockerhost import engine_errors

    allowed = allowed_ranges()
    name = f"docker-tutor-{session_id}-out-{uuid.uuid4().hex[:8]}"
    options = {"com.docker.network.bridge.enable_icc": "false", "com.docker.network.bridge.enable_ip_masquerade": "true"}
    with engine_errors("creating a network of its own for a build or container that needs the network"):
        host.api.create_network(name, driver="bridge", internal=False, options=options, labels=labels, check_duplicate=True)
    try:
        if not host.image_attrs(HOLDER_IMAGE):
            raise TutorError(
                f"a build or check that needs the network needs the {HOLDER_IMAGE} image on the engine, to hold its network",
                hint=f"docker-tutor images pull {HOLDER_IMAGE} (or images load FILE, offline)",
            )
        near = [*_engine_subnets(host.api, name), *_engine_host_addresses(host, exercise_id)]
        script = _holder_script(near, [*_resolvers(host, exercise_id), *allowed])
        with host.container(HOLDER_IMAGE, ["sh", "-c", script], sandbox=HOLDER_SANDBOX, network=name, exercise_id=exercise_id) as holder:
            _wait_ready(holder)
            yield f"container:{holder.id}"
    finally:
        remove_network(host.api, name)


def _engine_subnets(api: Any, own: str) -> list[str]:
    """Every IPv4 subnet of the engine's networks but this one (the address pools may be public)."""
    found = []
    with contextlib.suppress(Exception):
        for network in api.networks():
            if network.get("Name") == own:
                continue
            for config in (network.get("IPAM") or {}).get("Config") or []:
                with contextlib.suppress(ValueError, TypeError):
                    found.append(str(ipaddress.IPv4Network(config.get("Subnet", ""), strict=False)))
    return found


def _engine_host_addresses(host: DockerHost, exercise_id: str) -> list[str]:
    """The IPv4 addresses of the machine the engine runs on (a VM's, for Docker Desktop), as /32s:
    its services answer on every one of them, public ones included. Read by a one-shot container
    of a trusted image in the host's network namespace (it reads, and ends)."""
    found = []  # none read: the private ranges and the gateway are still closed
    for line in _read(host, ["ip", "-4", "-o", "addr"], "host", exercise_id).splitlines():
        words = line.split()
        if "inet" in words and words.index("inet") + 1 < len(words):
            with contextlib.suppress(ValueError):
                address = ipaddress.IPv4Interface(words[words.index("inet") + 1]).ip
                if not address.is_loopback:
                    found.append(f"{address}/32")
    return found


def _resolvers(host: DockerHost, exercise_id: str) -> list[str]:
    """The name servers the engine's embedded DNS forwards to (from inside the namespace, so they must
    stay routable): those a container on the default bridge is given, read by a one-shot container."""
    found = []  # none read: names may not resolve, which the build's error will show
    for line in _read(host, ["cat", "/etc/resolv.conf"], "bridge", exercise_id).splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            with contextlib.suppress(ValueError):
                address = ipaddress.IPv4Address(words[1])
                if not address.is_loopback:
                    found.append(f"{address}/32")
    return found


def _read(host: DockerHost, command: list[str], network: str, exercise_id: str) -> str:
    """What a one-shot container of the trusted image prints on `network` ("" if it could not run)."""
    try:
        return host.run(HOLDER_IMAGE, command, timeout=20, sandbox=READER_SANDBOX, network=network, exercise_id=exercise_id).stdout
    except Exception:  # noqa: BLE001 - the callers read nothing then
        return ""


def _holder_script(subnets: list[str], allowed: list[str]) -> str:
    own = "$(ip -4 route | awk '/ scope link /{print $1; exit}')"
    gateway = "$(ip -4 route | awk '/^default/{print $3; exit}')"
    lines = ["set -e", f"gw={gateway}", f"own={own}", 'ip route replace blackhole "$gw/32"']
    for cidr in dict.fromkeys([*NEAR, *subnets]):
        # The network's own subnet stays on its link; a range that holds it is still blackholed
        # (the more specific route to the own subnet wins).
        lines.append(f'[ "$own" = "{cidr}" ] || ip route replace blackhole {cidr}')
    lines += [f'ip route replace {cidr} via "$gw"' for cidr in allowed]  # may be the gateway itself
    lines += [f"echo {READY}", "exec sleep 86400"]
    return "\n".join(lines)


def _wait_ready(holder: Any) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while True:
        with contextlib.suppress(docker.errors.APIError):
            logs = holder.logs(stdout=True, stderr=True).decode(errors="replace")
            if READY in logs:
                return
            holder.reload()
            if holder.status not in ("created", "running"):
                code = holder.attrs.get("State", {}).get("ExitCode")
                raise TutorError(
                    f"the network of a build or check that needs the network could not be made ready "
                    f"(its holder ended with exit code {code}): {logs.strip()[-300:] or 'no output'}"
                )
        if time.monotonic() > deadline:
            raise TutorError(f"the network of a build or check that needs the network was not ready within {READY_SECONDS:g} s")
        time.sleep(0.05)


def remove_network(api: Any, name: str) -> None:
    deadline = time.monotonic() + REMOVE_SECONDS
    while True:
        try:
            api.remove_network(name)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            # "has active endpoints": a container on it is still being removed.
            if time.monotonic() > deadline:
                return  # left labelled: `clean` and the next tutor's sweep remove it
        except Exception:  # noqa: BLE001 - an engine gone: nothing to remove it from
            return
        time.sleep(0.3)
