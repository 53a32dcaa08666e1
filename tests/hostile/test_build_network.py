"""An exercise that gives its build and a `command` check the network: what a learner's step and
container reach there, on the real engine. Before, both ran on the engine's default bridge, beside
every other container on it (other learners' included), which they could reach; now each gets a
network of its own that routes out and reaches no other container (tutor/engine/egress.py).
The figures are in tests/hostile/README.md."""

from __future__ import annotations

import contextlib
import json
import re
import resource
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.classroom.helpers import run
from tests.content.test_lint_content import make_pack
from tests.engine.helpers import context
from tests.hostile.test_red_team import service_on_every_address  # noqa: F401 - a fixture
from tutor.engine.dockerhost import SESSION_ID
from tutor.engine.driver import Sandbox
from tutor.engine.owner import OWNER_LABEL, owner_id

pytestmark = pytest.mark.docker

TEST_LABEL = "org.docker-tutor.test"
EXERCISE = "60-reach-out"
SECRET = "NEIGHBOUR-SECRET"

EXERCISE_TOML = '''
title = "Reach out"
lesson = "50-hello"
task = "A build step and a container that need the network."
hints = ["pip install needs the network"]
files = ["Dockerfile", "probe.py", "targets.json"]

[build]
network = true
timeout = 120

[[checks]]
id = "reaches-nothing-but-the-outside"
kind = "command"
network = true
expectedOutput = ["ALL-ISOLATED"]
timeout = 60
'''

# Tries every target, in a build step and again in the check's container; the verdict needs every
# neighbour and every address of this machine blocked (docker0's, the own gateway, its others),
# and the outside reached (when this machine reaches it).
PROBE = r'''
import json, sys, urllib.request
targets = json.load(open("/targets.json"))
with open("/proc/net/route") as routes:  # the step's or container's own gateway: this machine
    for line in routes.read().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":
            gateway = ".".join(str(b) for b in reversed(bytes.fromhex(fields[2])))
            targets["own gateway (this machine)"] = f"http://{gateway}:{targets.pop('gateway port')}/"
lines = []
for what, url in targets.items():
    try:
        body = urllib.request.urlopen(url, timeout=2).read(200).decode(errors="replace")
        lines.append(f"{sys.argv[1]}: REACHED {what}: {body[:40]!r}")
    except Exception as exc:
        lines.append(f"{sys.argv[1]}: blocked {what} ({type(exc).__name__})")
if sys.argv[1] == "run":
    lines = open("/build-saw.txt").read().splitlines() + lines
    near = [l for l in lines if any(f"REACHED {what}" in l for what in ("neighbour", "docker0", "own gateway", "this machine"))]
    outside = [l for l in lines if "outside" in l]
    if not near and all("REACHED" in l for l in outside):
        lines.append("ALL-ISOLATED")
print("\n".join(lines))
'''
DOCKERFILE = """FROM python:3.11-slim
COPY probe.py targets.json /
RUN python3 /probe.py build | tee /build-saw.txt
CMD ["python3", "/probe.py", "run"]
"""


_NEIGHBOUR = ["python3", "-c", f"import http.server,os;os.makedirs('/w');open('/w/index.html','w').write('{SECRET}');"
              "os.chdir('/w');http.server.test(http.server.SimpleHTTPRequestHandler,port=8080,bind='0.0.0.0')"]


@contextlib.contextmanager
def _neighbours(host) -> Iterator[dict[str, str]]:
    """Other learners' servers: one on the engine's default bridge (a container started without a
    network of its own), one on a network a tutor made for another grading that needed the network."""
    on_bridge = host.client.containers.run(
        "python:3.11-slim", _NEIGHBOUR, detach=True, labels={TEST_LABEL: "build-network"}, network_mode="bridge",
        mem_limit="128m",
    )
    try:
        with host.container("python:3.11-slim", _NEIGHBOUR, sandbox=Sandbox(network=True)) as on_own:
            found = {}
            for name, container in (("neighbour on the default bridge", on_bridge), ("neighbour on another grading's network", on_own)):
                # The address the container's own routes give it (one that joined another's namespace has none listed).
                mine = "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.connect(('192.0.2.1',9));print(s.getsockname()[0])"
                address = container.exec_run(["python3", "-c", mine]).output.decode().strip()
                found[name] = f"http://{address}:8080/"
            deadline = time.monotonic() + 30
            while on_bridge.exec_run(["python3", "-c", "import urllib.request as u;u.urlopen('http://127.0.0.1:8080/')"]).exit_code:
                assert time.monotonic() < deadline, "the neighbour did not start serving"
                time.sleep(0.3)
            yield found
    finally:
        on_bridge.remove(force=True)


def _other_addresses(bridge_gateway: str) -> list[str]:
    """This machine's other IPv4 addresses (the engine's here), which the default route would reach."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=False).stdout
    found = [line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3]
    return [a for a in found if not a.startswith("127.") and a != bridge_gateway][:3]


def _outside() -> str:
    """A package host this machine's apt uses, if this machine reaches it (pip would reach one like it)."""
    for source in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")) + [Path("/etc/apt/sources.list")]:
        with contextlib.suppress(OSError):
            found = re.search(r"^URIs:\s*(https?://\S+)|^deb\s+(https?://\S+)", source.read_text(), re.M)
            if found:
                url = (found.group(1) or found.group(2)).rstrip("/") + "/"
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(url, timeout=5).read(100)
                    return url
    return ""


def test_a_build_step_and_a_command_check_with_the_network_reach_out_but_no_other_container(
    host, tmp_path: Path, service_on_every_address  # noqa: F811 - the fixture imported above
) -> None:
    port, hits = service_on_every_address
    pack = make_pack(tmp_path, **{f"exercises/{EXERCISE}/exercise.toml": EXERCISE_TOML})
    for side in ("solution", "starter"):
        context(pack / "exercises" / EXERCISE / side, {"Dockerfile": DOCKERFILE, "probe.py": PROBE, "targets.json": "{}"})
    secret = "ab" * 32  # a private data folder with a known secret: its owner id finds what the run made
    context(tmp_path / "data", {"owner-secret": secret + "\n"})
    env, owner = {"DOCKER_TUTOR_DATA": str(tmp_path / "data")}, owner_id(secret.encode())
    outside = _outside()
    with _neighbours(host) as neighbours:
        bridge_gateway = host.api.inspect_network("bridge")["IPAM"]["Config"][0]["Gateway"]
        targets = {
            **neighbours,
            "docker0's address (this machine)": f"http://{bridge_gateway}:{port}/",
            **{f"this machine at {a}": f"http://{a}:{port}/" for a in _other_addresses(bridge_gateway)},
            "gateway port": port,
            **({"outside (a package host)": outside} if outside else {}),
        }
        learner = context(tmp_path / "learner", {"Dockerfile": DOCKERFILE, "probe.py": PROBE, "targets.json": json.dumps(targets)})
        with _networks_seen(host, owner) as seen:
            started = time.monotonic()
            checked = run("--content-only", "--content", str(pack), "check", EXERCISE, "--dir", str(learner), "--format", "json", env=env)
            seconds = time.monotonic() - started
    report = json.loads(checked.stdout)
    assert report["build"]["ok"], report["build"]
    (result,) = report["checks"]
    saw = [line for line in report["build"]["log_tail"] if re.search(r"\bbuild: (REACHED|blocked) ", line)]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\n{seconds:.1f} s, peak {peak:.0f} MB, exit {checked.returncode}, {len(seen)} networks made; host service asked for {sorted(set(hits))}")
    print("\n".join(saw), "\n", result["message"])
    assert saw and not [line for line in saw if re.search(r"REACHED (neighbour|docker0|own gateway|this machine)", line)], saw
    assert hits == [], hits  # the service on every address of this machine was never asked
    assert all("REACHED" in line for line in saw if "outside" in line), saw
    assert result["passed"] and checked.returncode == 0, result["message"]
    assert SECRET not in json.dumps(report)
    # One network for the build's steps, one for the check's container: each routes out, has no
    # traffic between its containers, carries the tutor's and the owner's labels, and is gone.
    assert len(seen) == 2, [(n["Name"], n["Created"]) for n in seen.values()]
    for network in seen.values():
        assert not network["Internal"] and network["Options"]["com.docker.network.bridge.enable_icc"] == "false", network
        assert network["Labels"]["org.docker-tutor.managed"] == "true"
    assert [n["Name"] for n in host.api.networks(filters={"label": f"{OWNER_LABEL}={owner}"}) if SESSION_ID not in n["Name"]] == []


@contextlib.contextmanager
def _networks_seen(host, owner: str) -> Iterator[dict[str, dict]]:
    """Every network with this owner's label that exists while the block runs, as the engine describes it."""
    seen: dict[str, dict] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            for network in host.api.networks(filters={"label": f"{OWNER_LABEL}={owner}"}):
                if SESSION_ID not in network["Name"]:  # the tutor's, not this test's own neighbour
                    seen.setdefault(network["Id"], network)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()
