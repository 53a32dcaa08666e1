"""Parsing a learner's docker run command: pure logic, no engine."""

from __future__ import annotations

import pytest

from tutor.engine.docker_run import DockerRunError, extract_command, parse_docker_run


def test_flags_env_ports_volumes_image_and_args() -> None:
    run = parse_docker_run("docker run --rm -it -e EPOCHS=3 --env=LR=0.1 -p 8000:8000 -v models:/models --name job trainer:1.0 --epochs 3")
    assert run.image == "trainer:1.0" and run.args == ["--epochs", "3"]
    assert {"rm", "interactive", "tty"} <= run.switches
    assert run.env == {"EPOCHS": "3", "LR": "0.1"}
    assert run.published_ports == [8000] and run.volumes == [("models", "/models")]
    assert run.values["name"] == "job"


def test_script_with_comments_and_continuations() -> None:
    script = "#!/bin/sh\n# train it\ndocker run --rm \\\n  -e EPOCHS=3 \\\n  trainer\n"
    assert parse_docker_run(extract_command(script)).env == {"EPOCHS": "3"}


@pytest.mark.parametrize(
    "command,message",
    [
        ("docker run --privileged trainer", "not allowed here"),
        ("docker run -v /etc:/host trainer", "mounts a folder of your machine"),
        ("docker run -v $(pwd)/data:/data trainer", "mounts a folder of your machine"),
        ("docker run -v $(pwd):/app trainer", "mounts a folder of your machine"),
        ("docker run -v .:/app trainer", "mounts a folder of your machine"),
        ("docker run --network host trainer", "only none or bridge"),
        ("docker run -e EPOCHS trainer", "KEY=VALUE"),
        ("docker run -p eighty trainer", "HOST_PORT:CONTAINER_PORT"),
        ("docker run --rm", "no image name"),
        ("docker run --frobnicate trainer", "unknown or unsupported flag"),
        ("docker build .", "must start with 'docker run'"),
        ("docker run 'unclosed", "does not parse"),
    ],
)
def test_refusals_say_why(command: str, message: str) -> None:
    with pytest.raises(DockerRunError, match=message):
        parse_docker_run(command)


def test_no_docker_run_line() -> None:
    with pytest.raises(DockerRunError, match="no line starting with 'docker run'"):
        extract_command("echo hello\n")


@pytest.mark.parametrize(
    "command,on",
    [
        ("docker run --rm=false trainer", False),
        ("docker run --rm=False trainer", False),
        ("docker run --rm=0 trainer", False),
        ("docker run --rm --rm=f trainer", False),
        ("docker run --rm=false --rm trainer", True),
        ("docker run --rm=true trainer", True),
        ("docker run --rm=1 trainer", True),
    ],
)
def test_a_switch_written_with_a_value_is_judged_by_it(command: str, on: bool) -> None:
    assert ("rm" in parse_docker_run(command).switches) is on


@pytest.mark.parametrize("flag,name", [("-d", "detach"), ("--init", "init"), ("--read-only", "read_only"), ("-P", "publish_all"), ("-t", "tty")])
def test_every_switch_takes_false(flag: str, name: str) -> None:
    assert name in parse_docker_run(f"docker run {flag}=true trainer").switches
    run = parse_docker_run(f"docker run {flag} {flag}=false trainer")
    assert name not in run.switches and flag not in run.flags_seen


def test_a_switch_with_a_value_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(DockerRunError, match="true or false"):
        parse_docker_run("docker run --rm=yes trainer")


def test_privileged_false_asks_for_nothing_and_true_is_refused() -> None:
    assert parse_docker_run("docker run --privileged=false trainer").image == "trainer"
    with pytest.raises(DockerRunError, match="not allowed here"):
        parse_docker_run("docker run --privileged=true trainer")


def test_combined_short_flags_may_end_with_one_that_takes_a_value() -> None:
    run = parse_docker_run("docker run -dp 8000:8000 trainer")
    assert "detach" in run.switches and run.published_ports == [8000] and run.image == "trainer"
