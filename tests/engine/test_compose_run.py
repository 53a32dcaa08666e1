"""A Compose file run by the real Compose CLI: sandboxed, refused before it starts, always taken down."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

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


def _project(folder: Path, host, **kwargs) -> ComposeProject:
    kwargs.setdefault("keep_images", False)  # a test leaves no image behind
    return ComposeProject(folder, exercise_id="test-compose", engine_url=host.engine_url, engine=host.api, **kwargs)


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
