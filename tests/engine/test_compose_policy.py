"""The Compose sandbox policy on normalized configs (pure logic: no Compose, no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.engine.compose.policy import Limits, harden, refusals


def _config(folder: Path, **service: object) -> dict:
    return {"version": "3.9", "services": {"api": {"build": {"context": str(folder)}, **service}}}


@pytest.mark.parametrize(
    "service,reason",
    [
        ({"privileged": True}, "privileged is not allowed"),
        ({"cap_add": ["SYS_ADMIN"]}, "cap_add is not allowed"),
        ({"devices": ["/dev/sda:/dev/sda"]}, "devices is not allowed"),
        ({"network_mode": "host"}, "network_mode: host is not allowed"),
        ({"network_mode": "bridge"}, "network_mode: bridge is not allowed"),
        ({"network_mode": "container:other"}, "network_mode: container:other"),
        ({"pid": "host"}, "pid: host is not allowed"),
        ({"ipc": "host"}, "ipc: host is not allowed"),
        ({"security_opt": ["seccomp=unconfined"]}, "security_opt is not allowed"),
        ({"volumes": ["/var/run/docker.sock:/var/run/docker.sock:rw"]}, "/var/run/docker.sock is outside"),
        ({"volumes": [{"type": "bind", "source": "/etc", "target": "/host-etc"}]}, "/etc is outside"),
        ({"env_file": ["/etc/environment"]}, "env_file /etc/environment is outside"),
        ({"build": {"context": "/"}}, "build context / is outside"),
        ({"build": {"context": ".", "network": "host"}}, "build network host is not allowed"),
        ({"build": {"context": ".", "network": "default"}}, "build network default is not allowed"),
        ({"deploy": {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": 1}]}}}}, "GPUs"),
        ({"external_links": ["someone_else_db_1:db"]}, "external_links is not allowed"),
        ({"oom_kill_disable": True}, "oom_kill_disable is not allowed"),
        ({"scale": 50}, "50 replicas"),
        ({"deploy": {"replicas": 20}}, "20 replicas"),
        ({"build": {"context": ".", "dockerfile": "/etc/Dockerfile"}}, "dockerfile /etc/Dockerfile is outside"),
        ({"build": {"context": ".", "dockerfile": "../../Dockerfile"}}, "dockerfile ../../Dockerfile is outside"),
        ({"build": {"context": ".", "additional_contexts": {"home": "/root"}}}, "additional context home (/root)"),
        ({"build": {"context": ".", "ssh": ["default"]}}, "build ssh is not allowed"),
        ({"build": {"context": ".", "privileged": True}}, "privileged build is not allowed"),
    ],
)
def test_what_escapes_the_sandbox_is_refused_with_a_reason(tmp_path: Path, service: dict, reason: str) -> None:
    problems = refusals(_config(tmp_path, **service), tmp_path)
    assert any(reason in problem for problem in problems), problems
    assert all(problem.startswith("service api: ") for problem in problems)


def test_top_level_escapes_are_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config["networks"] = {"outside": {"external": True}, "mac": {"driver": "macvlan"}}
    config["volumes"] = {"hostdir": {"driver_opts": {"type": "none", "o": "bind", "device": "/"}}}
    config["networks"]["bridged"] = {"driver_opts": {"com.docker.network.bridge.name": "docker0"}}
    config["networks"]["subnet"] = {"ipam": {"config": [{"subnet": "172.17.0.0/16"}]}}
    config["secrets"] = {"key": {"file": "/root/.ssh/id_rsa"}, "env": {"environment": "AWS_SECRET_ACCESS_KEY"}}
    config["services"].update({f"s{i}": {"image": "busybox"} for i in range(12)})
    problems = "\n".join(refusals(config, tmp_path))
    for expected in ("external networks", "driver macvlan", "volume hostdir: driver options", "/root/.ssh/id_rsa is outside",
                     "network bridged: driver options", "network subnet: addresses of your own", "secret env: a secret from your environment", "13 services"):
        assert expected in problems


def test_what_stays_inside_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "kv").mkdir()
    config = _config(
        tmp_path,
        volumes=["data:/data:rw", f"{tmp_path}/kv:/src:ro", {"type": "tmpfs", "target": "/tmp"}],
        network_mode="none",
        env_file=[str(tmp_path / "api.env")],
    )
    config["services"]["kv"] = {"build": {"context": str(tmp_path / "kv")}}
    config["volumes"] = {"data": {}}
    assert refusals(config, tmp_path) == []
    # A build that must reach the network is allowed when the exercise allows it.
    networked = _config(tmp_path, build={"context": str(tmp_path), "network": "default"})
    assert refusals(networked, tmp_path, build_network=True) == []


def test_harden_adds_limits_labels_isolated_networks_no_ports_and_no_build_network(tmp_path: Path) -> None:
    config = _config(tmp_path, ports=[{"published": 8000, "target": 8000}, "9000:9000/udp"], image="mine:latest",
                     container_name="fixed", labels=["team=ml"])
    config["volumes"] = {"data": {}}
    labels = {"org.docker-tutor.managed": "true", "org.docker-tutor.session": "1-abc"}
    hardened = harden(config, labels, Limits(memory_mb=128, cpus=0.5, pids=64),
                      image_name=lambda s: f"tutor/{s}:x", volatile_labels=("org.docker-tutor.session",))
    api = hardened["services"]["api"]
    assert "version" not in hardened and "container_name" not in api
    assert (api["mem_limit"], api["memswap_limit"], api["pids_limit"], api["cpus"]) == ("128m", "128m", 64, 0.5)
    assert api["cap_drop"] == ["ALL"] and api["security_opt"] == ["no-new-privileges"]
    assert "ports" not in api  # nothing published on this machine: checks probe from inside the network
    assert api["labels"] == {"team": "ml", **labels}
    assert api["image"] == "tutor/api:x"
    assert api["build"]["network"] == "none"
    assert api["build"]["labels"] == {"org.docker-tutor.managed": "true"}  # no session: builds stay cached
    assert hardened["networks"]["default"]["labels"] == labels
    assert hardened["networks"]["default"]["internal"] is True
    assert hardened["networks"]["default"]["driver_opts"] == {"com.docker.network.bridge.inhibit_ipv4": "true"}
    assert hardened["volumes"]["data"]["labels"] == labels
    assert "mem_limit" not in config["services"]["api"]  # the learner's config is not changed
    assert api["ulimits"] == {"fsize": 1000 * 10**6}  # no file over a build's disk budget


def test_harden_keeps_no_file_size_limit_of_the_learners(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_MAX_IMAGE_MB", "50")
    config = _config(tmp_path, ulimits={"fsize": -1, "nofile": {"soft": 1024, "hard": 2048}})
    api = harden(config, {})["services"]["api"]
    assert api["ulimits"] == {"fsize": 50 * 10**6, "nofile": {"soft": 1024, "hard": 2048}}

