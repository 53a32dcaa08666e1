"""What a learner's Dockerfile may reach, judged before the build: pure logic, no engine."""

from __future__ import annotations

import pytest

from tutor.engine.build_policy import normalize, refusals
from tutor.engine.dockerfile import parse_dockerfile
from tutor.engine.shell_words import expand, words

BASES = {"busybox", "python:3.11-slim"}


def refused(text: str) -> list[str]:
    return refusals(parse_dockerfile(text), BASES)


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM busybox\nADD http://127.0.0.1:8000/s /s\n",
        'FROM busybox\nADD ["https://169.254.169.254/latest", "/y"]\n',
        "FROM busybox\nARG U=http://127.0.0.1/x\nADD $U /x\n",
        "ARG U=http://127.0.0.1/x\nFROM busybox\nARG U\nADD ${U} /x\n",
        "FROM busybox\nENV U http://127.0.0.1/x\nADD ${U:-a} /x\n",
        "FROM busybox\nARG S=ht\nADD ${S}tp://127.0.0.1/x /x\n",
        "FROM busybox\nADD ${NOTSET:+x}http://127.0.0.1/x /x\n",
        "FROM busybox AS a\nENV U=git@github.com:x/y\nFROM a\nADD $U /x\n",
        "FROM busybox\nADD git://127.0.0.1/r /x\n",
        "FROM busybox\nADD github.com/moby/moby /x\n",
        "FROM busybox\nADD ssh://git@127.0.0.1/r /x\n",
        'FROM busybox\nADD "http://127.0.0.1/y" /y\n',
        "FROM busybox\nADD HTTP://127.0.0.1/y /y\n",
        "FROM busybox\nADD --chown=1:1 local.txt http://127.0.0.1/y /y/\n",
        "FROM busybox AS a\nONBUILD ADD http://127.0.0.1/y /y\nFROM a\n",
        "# escape=`\nFROM busybox\nADD `\n  http://127.0.0.1/y /y\n",
    ],
)
def test_remote_add_sources_are_refused_in_any_spelling(dockerfile: str) -> None:
    problems = refused(dockerfile)
    assert problems and "fetch" in problems[0], problems


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM docker-tutor/12-non-root:0123456789ab\n",
        "ARG B=docker-tutor/x:y\nFROM $B\n",
        "ARG B=docker-tutor/x\nFROM ${B}:y AS build\nFROM busybox\n",
        "FROM 3f2a9b0c1d2e\n",
        "FROM sha256:" + "a" * 64 + "\n",
        "FROM alpine\n",
        "FROM busybox\nCOPY --from=docker-tutor/x:y /a /a\n",
        "FROM busybox\nCOPY --from=3f2a9b0c1d2e /a /a\n",
        "FROM busybox\nCOPY --from=1 /a /a\nFROM busybox AS later\n",
        "FROM busybox\nCOPY --from=later /a /a\nFROM busybox AS later\n",
        "FROM busybox\nRUN --mount=type=bind,from=docker-tutor/x:y,target=/m cat /m/x\n",
        "FROM busybox\nRUN --network=host wget -q http://127.0.0.1/\n",
    ],
)
def test_other_images_and_escapes_are_refused(dockerfile: str) -> None:
    assert refused(dockerfile)


@pytest.mark.parametrize(
    "dockerfile",
    ["# syntax=127.0.0.1:5000/evil/frontend\nFROM busybox\n", "#Syntax = docker/dockerfile:1\n# escape=`\nFROM busybox\n"],
)
def test_a_frontend_of_the_learners_choice_is_refused(dockerfile: str) -> None:
    """BuildKit would fetch the `# syntax=` image (from any registry, this machine's too) and run it."""
    [problem] = refused(dockerfile)
    assert "# syntax=" in problem and "engine's own Dockerfile frontend" in problem
    assert refused("FROM busybox\n# syntax=x/y\n") == []  # a comment after FROM is no directive
    [argument] = refusals(parse_dockerfile("FROM busybox\n"), BASES, build_args={"BUILDKIT_SYNTAX": "x/y"})
    assert "BUILDKIT_SYNTAX" in argument


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM busybox\nCOPY a /a\nADD b.tar.gz /\n",
        "FROM docker.io/library/busybox:latest\n",
        "FROM python:3.11-slim@sha256:" + "a" * 64 + "\n",
        "ARG BASE=python:3.11-slim\nFROM ${BASE} AS build\nFROM busybox\nCOPY --from=BUILD /a /a\nCOPY --from=0 /b /b\n",
        "FROM busybox AS deps\nFROM busybox\nRUN --mount=type=bind,from=deps,target=/d true\n",
        "FROM scratch\nCOPY a /\n",
    ],
)
def test_what_the_curriculum_needs_is_allowed(dockerfile: str) -> None:
    assert refused(dockerfile) == []


def test_substitution_follows_docker() -> None:
    env = {"A": "x", "E": ""}
    assert expand("${A}-${B:-d}-${E:-e}-${E-f}-${A:+p}-$A", env) == "x-d-e--p-x"
    assert words("'$A' \"$A b\" c\\ d", env) == ["$A", "x b", "c d"]


def test_references_are_compared_in_one_spelling() -> None:
    assert normalize("docker.io/library/busybox") == normalize("busybox:latest") == "busybox:latest"
