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
