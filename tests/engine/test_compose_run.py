"""A Compose file run by the real Compose CLI: sandboxed, refused before it starts, always taken down."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.engine.helpers import images_made
from tutor.engine.compose.builds import build_service
from tutor.engine.compose.project import ComposeError, ComposeProject, compose_cli, labels, sweep_leftovers
from tutor.engine.dockerhost import MANAGED_LABEL, SESSION_LABEL

pytestmark = pytest.mark.docker

COMPOSE = """
services:
  web:
    build: .
    ports: ["8000:8000"]
    environment:
      PEER: store
  store:
    image: busybox:latest
    command: ["sh", "-c", "echo store up; exec sleep 60"]
    stop_grace_period: 30s
    volumes: ["data:/data"]
volumes:
  data:
"""


def _project_items(host, name: str) -> list[str]:
    label = {"label": f"com.docker.compose.project={name}"}
    return (
        [c["Id"] for c in host.api.containers(all=True, filters=label)]
        + [n["Id"] for n in host.api.networks(filters=label)]
        + [v["Name"] for v in host.api.volumes(filters=label).get("Volumes") or []]
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text('FROM busybox:latest\nCMD ["httpd", "-f", "-p", "8000"]\n')
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return tmp_path


def _project(folder: Path, host, *, memory_mb: int = 256, **kwargs) -> ComposeProject:
    kwargs.setdefault("keep_images", False)  # a test leaves no image behind

    def builder(service, timeout: float, cancel: threading.Event):  # as the grader's engine driver builds
        return build_service(host, service, exercise_id="test-compose", memory_mb=memory_mb, timeout=timeout, cancel=cancel)

    return ComposeProject(folder, exercise_id="test-compose", engine_url=host.engine_url, engine=host.api, builder=builder, **kwargs)


def test_the_real_compose_runs_it_sandboxed_and_takes_it_down(folder: Path, host) -> None:
    assert compose_cli() is not None
    project = _project(folder, host, keep_images=True)
    with project.running():
        web = host.api.inspect_container(project._container("web")["Id"])
        store = project._container("store")
        assert web["State"]["Running"] and store["State"]["Running"]
        for attrs in (web, store):
            config = attrs["HostConfig"]
            assert (config["Memory"], config["PidsLimit"], config["NanoCpus"]) == (256 * 2**20, 128, 10**9)
            assert config["CapDrop"] == ["ALL"] and not config["Privileged"]
            assert {"Name": "fsize", "Soft": 1000 * 10**6, "Hard": 1000 * 10**6} in config["Ulimits"]  # no file over the disk budget
            assert attrs["Config"]["Labels"][SESSION_LABEL] == labels("x")[SESSION_LABEL]
        assert not web["HostConfig"]["PortBindings"]  # nothing published on this machine
        for network in web["NetworkSettings"]["Networks"]:
            attrs = host.api.inspect_network(network)
            assert attrs["Internal"] and attrs["Options"]["com.docker.network.bridge.inhibit_ipv4"] == "true"
        assert web["Config"]["Image"].startswith("docker-tutor/test-compose-web:")
        code, output = project.exec("web", ["nslookup", "store"])
        assert code == 0, output  # the service name resolves on the project network
        assert "store up" in project.logs("store")
        assert _project_items(host, project.name)
    # stop_grace_period 30 s is not waited for, and nothing of the project is left.
    assert _project_items(host, project.name) == []
    assert host.image_attrs(web["Config"]["Image"]) is not None  # kept: the next check's cache
    host.remove_image(web["Config"]["Image"])


def test_a_refused_file_starts_nothing(folder: Path, host) -> None:
    (folder / "compose.yaml").write_text(COMPOSE.replace("    build: .", "    build: .\n    privileged: true"))
    project = _project(folder, host)
    with pytest.raises(ComposeError, match="service web: privileged is not allowed here"):
        with project.running():
            pass
    assert _project_items(host, project.name) == []


def test_it_is_taken_down_after_an_error_and_on_cancel(folder: Path, host) -> None:
    project = _project(folder, host)  # keeps no image, as verify and lint-content grade
    with pytest.raises(KeyboardInterrupt):
        with project.running():
            image = project._container("web")["Config"]["Image"]
            raise KeyboardInterrupt  # Ctrl-C while checks run
    assert _project_items(host, project.name) == []
    assert host.image_attrs(image) is None
    cancel = threading.Event()
    cancel.set()
    cancelled = _project(folder, host, cancel=cancel)
    with pytest.raises(ComposeError, match="cancelled"):
        with cancelled.running():
            pass
    assert _project_items(host, cancelled.name) == []


@pytest.mark.parametrize("step", ['RUN ["/absent-{nonce}"]', "RUN echo {nonce} && false"], ids=["never-starts", "fails"])
def test_a_failed_build_step_leaves_no_container(folder: Path, host, step: str) -> None:
    """The classic builder keeps a failed step's container unless told to remove it: it stays
    'Created' when the step never started, 'Exited' when it failed. The message names the service
    and the step."""
    nonce = f"n{time.time_ns()}"
    (folder / "Dockerfile").write_text(f"FROM busybox:latest\n{step.format(nonce=nonce)}\n")
    with pytest.raises(ComposeError, match=r"service web: its image did not build \(step 2/2.* in Dockerfile\): .*RUN"):
        with _project(folder, host).running():
            pass
    assert not [c["Id"] for c in host.api.containers(all=True) if nonce in (c.get("Command") or "")]


def test_an_invalid_file_is_reported_in_compose_words(folder: Path, host) -> None:
    (folder / "compose.yaml").write_text("services:\n  web:\n    buidl: .\n")
    with pytest.raises(ComposeError, match="not a valid Compose file.*buidl"):
        _project(folder, host).config()


def test_leftovers_of_a_killed_tutor_are_swept(host) -> None:
    dead = {**labels("test-compose"), SESSION_LABEL: "999999999-dead"}  # no such process
    found = {**dead, "com.docker.compose.project": "docker-tutor-sweeptest"}
    network = host.api.create_network("docker-tutor-sweeptest_default", labels=found)["Id"]
    volume = host.api.create_volume("docker-tutor-sweeptest_data", labels=found)["Name"]
    alive = host.api.create_volume("docker-tutor-sweeptest_alive", labels={**found, SESSION_LABEL: labels("x")[SESSION_LABEL]})["Name"]
    try:
        sweep_leftovers(host.api)
        assert not host.api.networks(ids=[network])
        assert volume not in {v["Name"] for v in host.api.volumes(filters={"label": MANAGED_LABEL}).get("Volumes") or []}
        assert alive in {v["Name"] for v in host.api.volumes(filters={"label": MANAGED_LABEL}).get("Volumes") or []}
    finally:
        for remove, item in ((host.api.remove_network, network), (host.api.remove_volume, volume), (host.api.remove_volume, alive)):
            try:
                remove(item)
            except Exception:
                pass


# --- a service's build steps keep a single build's limits ----------------------------------------
def _build_is_stopped(folder: Path, host, run: str) -> tuple[str, float, str]:
    """A project whose `worker` service builds `run`: (the message, seconds to it, the nonce)."""
    nonce = f"c{time.time_ns()}"
    (folder / "worker").mkdir()
    (folder / "worker" / "Dockerfile").write_text(f"FROM busybox:latest\nRUN echo {nonce}; {run}\n")
    (folder / "compose.yaml").write_text(COMPOSE.replace("services:\n", "services:\n  worker:\n    build: ./worker\n", 1))
    project = _project(folder, host)
    started = time.monotonic()
    with pytest.raises(ComposeError) as raised:
        with project.running():
            pass
    took = time.monotonic() - started
    assert _project_items(host, project.name) == []  # no container or network of the project
    assert not [c["Id"] for c in host.api.containers(all=True) if nonce in (c.get("Command") or "")]  # no step container
    assert not images_made(host, nonce, set())
    assert all(host.image_attrs(image) is None for image in project._built)
    return str(raised.value), took, nonce


@pytest.fixture
def classic(host, monkeypatch: pytest.MonkeyPatch) -> None:
    """The builder of serve and grade (BuildKit through the engine API takes no step limits)."""
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")


def test_a_service_build_that_forks_without_end_is_stopped_by_the_process_limit(folder: Path, host, classic: None) -> None:
    from tutor.engine.builders.step_limits import supported

    if not supported(host):
        pytest.skip("this engine takes no cgroup parent with limits for build steps (cgroup v2 or the systemd driver)")
    # A shell gives up when a fork fails; this loop never does: the holder of the process limit stops it.
    bomb = "while true; do (sleep 1000 &) 2>/dev/null; done"
    message, took, nonce = _build_is_stopped(folder, host, bomb)
    assert f"service worker: its image did not build (step 2/2: RUN echo {nonce}" in message, message
    assert "more than 512 processes" in message, message
    assert took < 30, f"stopped after {took:.0f} s"


@pytest.mark.parametrize(
    "write,why",
    [
        ("dd if=/dev/zero of=/big bs=1M count=40", "wrote a file over 30 MB"),  # the step's file-size limit
        ("for i in 1 2 3 4; do dd if=/dev/zero of=/big$i bs=1M count=12; done; sleep 30", "over the 30 MB an exercise's image may add"),
    ],
    ids=["one-file", "many-files"],
)
def test_a_service_build_that_writes_over_the_limit_is_refused(
    folder: Path, host, classic: None, monkeypatch: pytest.MonkeyPatch, write: str, why: str
) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "30")  # the 1 GB default, scaled down to be quick
    message, took, nonce = _build_is_stopped(folder, host, write)
    assert "service worker: its image did not build (step 2/2" in message and f"RUN echo {nonce}" in message, message
    assert why in message, message
    assert took < 25, f"stopped after {took:.0f} s"


def test_a_service_build_gets_its_args_and_target_under_either_builder(folder: Path, host, builder: str) -> None:
    (folder / "web").mkdir()
    (folder / "web" / "Dockerfile").write_text(
        "FROM busybox:latest AS run\nARG GREETING=unset\nRUN echo \"$GREETING\" > /greeting\nCMD [\"sleep\", \"60\"]\n"
        "FROM run AS never\nRUN false\n"
    )
    compose = COMPOSE.replace("    build: .\n", "    build:\n      context: ./web\n      target: run\n      args:\n        GREETING: hello-compose\n")
    (folder / "compose.yaml").write_text(compose)
    with _project(folder, host).running() as project:
        code, output = project.exec("web", ["cat", "/greeting"])
        assert (code, output.strip()) == (0, "hello-compose")


def test_what_only_buildkit_builds_is_refused_in_a_service_on_a_shared_engine(folder: Path, host, monkeypatch: pytest.MonkeyPatch) -> None:
    """As for a single Dockerfile: a `--mount` is no way around the classic builder's step limits."""
    monkeypatch.setenv("DOCKER_TUTOR_SHARED_ENGINE", "1")  # serve, grade
    (folder / "Dockerfile").write_text("FROM busybox:latest\nRUN --mount=type=cache,target=/c echo hi\n")
    project = _project(folder, host)
    with pytest.raises(ComposeError, match=r"service web: its image did not build \(Dockerfile\): the Dockerfile uses what only BuildKit"):
        with project.running():
            pass
    assert _project_items(host, project.name) == []


def test_a_variable_in_the_learners_file_is_not_filled_from_the_tutors_environment(tmp_path: Path, host, monkeypatch) -> None:
    """Compose fills `${VAR}` from its environment: the tutor's (in serve, the server's) may hold secrets."""
    import json

    monkeypatch.setenv("DOCKER_TUTOR_TEST_SECRET", "hunter2-4711")
    (tmp_path / "compose.yaml").write_text('services:\n  app:\n    image: busybox\n    environment:\n      T: "${DOCKER_TUTOR_TEST_SECRET}"\n')
    config = json.dumps(_project(tmp_path, host).config())
    assert "hunter2-4711" not in config and '"T"' in config, config


@pytest.mark.parametrize(
    "service",
    ["    env_file: {outside}/leak.env\n", "    env_file:\n      - path: {outside}/leak.env\n", "    extends:\n      file: {outside}/base.yaml\n      service: app\n"],
)
def test_a_file_outside_the_folder_is_refused_before_compose_reads_it(tmp_path: Path, host, service: str) -> None:
    """`compose config` would read it into its answer (the variables of an env_file, an extended
    service), so the file as written is judged first."""
    outside, folder = tmp_path / "outside", tmp_path / "exercise"
    outside.mkdir()
    folder.mkdir()
    (outside / "leak.env").write_text("T=hunter2-5119\n")
    (outside / "base.yaml").write_text("services:\n  app:\n    image: busybox\n    environment:\n      T: hunter2-5119\n")
    (folder / "compose.yaml").write_text("services:\n  app:\n    image: busybox\n" + service.format(outside=outside))
    with pytest.raises(ComposeError) as refused, _project(folder, host).running():
        pass
    assert "outside the exercise folder" in refused.value.message and "hunter2" not in refused.value.message


def test_a_service_image_removed_before_up_is_built_again_never_pulled(folder: Path, host) -> None:
    """Another tutor on a busy engine removed a service's image between its build and `compose up`:
    Compose tried to pull its name. The tutor builds it once more and the project starts."""
    builds: list[str] = []

    def builder(service, timeout: float, cancel: threading.Event):
        outcome = build_service(host, service, exercise_id="test-compose", memory_mb=256, timeout=timeout, cancel=cancel)
        builds.append(service.service)
        if len(builds) == 1:  # the first build's image goes at once, as another tutor's removal would take it
            host.api.remove_image(service.tag, force=True)
        return outcome

    project = ComposeProject(folder, exercise_id="test-compose", engine_url=host.engine_url, engine=host.api,
                             builder=builder, keep_images=False)
    with project.running():
        assert host.api.inspect_container(project._container("web")["Id"])["State"]["Running"]
    assert builds == ["web", "web"]
    assert _project_items(host, project.name) == []


def test_a_slow_compose_exec_on_a_busy_engine_does_not_fail_a_service_that_answers(host, tmp_path: Path, monkeypatch) -> None:
    """While a server starts, compose.http looks at what it listens on (`compose exec`) to tell one
    bound to loopback; on a busy engine that exec can outlast its time (here 2 s, 10 s in use). Not
    knowing yet is no mistake of the learner's: the check asks again until its own deadline.
    (compose.reaches too.)"""
    from tests.engine.helpers import context, exercise
    from tutor.engine.checks import compose as compose_checks
    from tutor.engine.compose import project
    from tutor.engine.grader import Grading, grade

    real = compose_cli()
    if real is None:
        pytest.skip("no Compose CLI")
    slow = tmp_path / "slow-compose"
    slow.write_text('#!/bin/sh\nfor word in "$@"; do [ "$word" = exec ] && sleep 3 && break; done\nexec ' + " ".join(real) + ' "$@"\n')
    slow.chmod(0o755)
    monkeypatch.setattr(project, "compose_cli", lambda: (str(slow),))
    monkeypatch.setattr(compose_checks, "LISTEN_LOOK_SECONDS", 2.0)
    server = 'import http.server, time\ntime.sleep(3)\nhttp.server.ThreadingHTTPServer(("0.0.0.0", 8000), http.server.SimpleHTTPRequestHandler).serve_forever()\n'
    files = {
        "Dockerfile": f"FROM python:3.11-slim\nRUN echo {time.time_ns()}\nCOPY server.py /\nWORKDIR /srv\nRUN echo ready > index.html\nCMD [\"python3\", \"/server.py\"]\n",
        "server.py": server,
        "compose.yaml": "services:\n  web:\n    build: .\n    ports: ['8000:8000']\n",
    }
    checks = [{"kind": "compose.http", "service": "web", "port": 8000, "expected_body": ["ready"], "timeout": 40}]
    report = grade(exercise(checks), context(tmp_path / "ctx", files), lambda: host, grading=Grading(keep_image=False))
    assert report.build.ok, report.build.error
    assert report.checks[0].passed, report.checks[0].message
