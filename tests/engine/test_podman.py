"""Where Podman differs from Docker, graded on a real Podman service: run-time checks leave no
process behind, the HTTP check's server reaches nothing, files' owners are the image's."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.helpers import grade_all
from tests.engine.podman_support import PODMAN_URL, conmon_processes, needs_podman
from tests.hostile.test_red_team import loopback_service, service_on_every_address  # noqa: F401 - fixtures
from tutor.errors import UsageError

pytestmark = [pytest.mark.docker, needs_podman]

# A server that starts late (so the HTTP check polls) with a HEALTHCHECK (so the tutor runs it).
LATE_SERVER = (
    "FROM busybox\nRUN mkdir /www && echo ready > /www/index.html\nEXPOSE 8000\n"
    "HEALTHCHECK --interval=1s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:8000/ || exit 1\n"
    'CMD ["sh", "-c", "sleep 3; exec httpd -f -p 8000 -h /www"]\n'
)


@pytest.fixture(scope="module")
def podman(request: pytest.FixtureRequest) -> Iterator[object]:
    from tutor.engine.dockerhost import connect

    patch = pytest.MonkeyPatch()
    patch.setenv("DOCKER_HOST", PODMAN_URL)
    patch.delenv("DOCKER_TUTOR_ENGINE", raising=False)
    try:
        host = connect()
        assert host.is_podman()
        yield host
    finally:
        patch.undo()


def test_run_time_checks_leave_no_process_behind(podman, tmp_path: Path) -> None:
    # Every exec through Podman's Docker-compatible API keeps a conmon alive for five minutes:
    # polling a server by exec piled them up by the hundred.
    before = conmon_processes()
    report = grade_all(podman, tmp_path / "late", [
        {"kind": "http", "path": "/", "expected_body": ["ready"], "timeout": 30},
        {"kind": "health", "timeout": 30},
    ], {"Dockerfile": LATE_SERVER})
    assert report.build.ok, report.build.error
    assert all(c.passed for c in report.checks), [c.message for c in report.checks]
    # The stop check polls PID 1's state for its SIGTERM handler; sleep never installs one.
    stopped = grade_all(podman, tmp_path / "stubborn", [{"kind": "stop"}], {"Dockerfile": 'FROM busybox\nCMD ["sleep", "3600"]\n'})
    assert not stopped.checks[0].passed and "137" in stopped.checks[0].message, stopped.checks[0].message
    deadline = time.monotonic() + 15  # a container's conmon ends a moment after the container
    while (left := conmon_processes() - before) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"{len(left)} conmon processes left behind: {sorted(left)[:5]}"


def _addresses_of_this_machine() -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if " lo " not in line]


def test_a_served_container_reaches_nothing_but_its_prober(podman, tmp_path: Path, service_on_every_address, loopback_service) -> None:  # noqa: F811
    port, hits = service_on_every_address
    loop_port, loop_hits = loopback_service
    targets = [f"{a}:{port}" for a in _addresses_of_this_machine()] + [f"127.0.0.1:{loop_port}"]
    probes = " ".join(
        f"if wget -T 2 -q -O /dev/null http://{t}/ 2>/dev/null; then echo REACHED {t}; else echo blocked {t}; fi >> /www/r;" for t in targets
    )
    script = f"{probes} grep -q REACHED /www/r || echo ALL-BLOCKED >> /www/r; exec httpd -f -p 8000 -h /www"
    dockerfile = f"FROM busybox\nRUN mkdir /www && chmod 777 /www\nEXPOSE 8000\nCMD {json.dumps(['sh', '-c', script])}\n"
    report = grade_all(podman, tmp_path / "ctx", [{"kind": "http", "path": "/r", "expected_body": ["ALL-BLOCKED"], "timeout": 60}],
                       {"Dockerfile": dockerfile})
    assert report.build.ok, report.build.error
    assert report.checks[0].passed, report.checks[0].message
    assert hits == [] and loop_hits == []


def test_a_server_on_loopback_is_named_not_reached(podman, tmp_path: Path) -> None:
    dockerfile = 'FROM busybox\nRUN mkdir /www\nEXPOSE 8000\nCMD ["httpd", "-f", "-p", "127.0.0.1:8000", "-h", "/www"]\n'
    report = grade_all(podman, tmp_path / "loop", [{"kind": "http", "timeout": 10}], {"Dockerfile": dockerfile})
    assert not report.checks[0].passed and "listens on 127.0.0.1:8000" in report.checks[0].message, report.checks[0].message


def test_a_files_owner_is_the_images_not_the_containers_user(podman, tmp_path: Path) -> None:
    # Podman's archive endpoint says every file belongs to the container's USER.
    dockerfile = "FROM busybox\nRUN mkdir /data\nVOLUME /data\nUSER 1000\n"
    report = grade_all(podman, tmp_path / "owner", [
        {"kind": "file", "id": "root-owned", "path": "/data", "uid": 0},
        {"kind": "file", "id": "not-app", "path": "/data", "uid": 1000},
    ], {"Dockerfile": dockerfile})
    verdicts = {c.id: c for c in report.checks}
    assert verdicts["root-owned"].passed, verdicts["root-owned"].message
    assert not verdicts["not-app"].passed and "owned by uid 0" in verdicts["not-app"].message


def test_a_compose_check_says_at_once_that_it_needs_dockers_engine(podman, tmp_path: Path) -> None:
    files = {"Dockerfile": 'FROM busybox\nCMD ["sleep", "60"]\n', "compose.yaml": "services:\n  app:\n    build: .\n"}
    started = time.monotonic()
    with pytest.raises(UsageError) as refused:  # not failing checks whose hints would blame the learner
        grade_all(podman, tmp_path / "compose", [{"kind": "compose.healthy", "service": "app"}], files)
    assert "graded on Docker's engine only" in refused.value.message and "--engine" in refused.value.hint
    assert time.monotonic() - started < 30  # before any build, not at compose up's deadline
