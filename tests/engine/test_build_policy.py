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


# Each spelling below is read by Docker's own parser as the mount or copy it hides (measured on
# Engine 20.10: `fr\\om=` and `--"from"=` both reached another image before this policy read flags
# as the parser does); later parsers also take a flag's value after a space.
@pytest.mark.parametrize(
    ("dockerfile", "says"),
    [
        ("FROM busybox\nRUN --mount=type=bind,FROM=docker-tutor/x:y,target=/m true\n", "from=docker-tutor/x:y"),
        ("FROM busybox\nRUN --mount=type=bind,fr\\om=docker-tutor/x:y,target=/m true\n", "from=docker-tutor/x:y"),
        ('FROM busybox\nRUN --mount=type=bind,"from=docker-tutor/x:y",target=/m true\n', "from=docker-tutor/x:y"),
        ('FROM busybox\nRUN --"mount"=type=bind,from=docker-tutor/x:y,target=/m true\n', "from=docker-tutor/x:y"),
        ("FROM busybox\nRUN --mount='type=bind,from=docker-tutor/x:y,target=/m' true\n", "from=docker-tutor/x:y"),
        ("FROM busybox\nRUN --mount type=bind,from=docker-tutor/x:y,target=/m true\n", "from=docker-tutor/x:y"),
        ("FROM busybox\nRUN --mount=type=cache,from=docker-tutor/x:y,target=/root/.cache/pip true\n", "type=cache,from="),
        ("FROM busybox\nARG V=docker-tutor/x:y\nRUN --mount=type=cache,from=$V,source=/,target=/c true\n", "from=docker-tutor/x:y"),
        ("FROM busybox AS a\nONBUILD RUN --mount=type=bind,From=3f2a9b0c1d2e,target=/m true\n", "from=3f2a9b0c1d2e"),
        ('FROM busybox\nCOPY --"from"=docker-tutor/x:y /a /a\n', "COPY --from=docker-tutor/x:y"),
        ("FROM busybox\nCOPY --fr\\om=docker-tutor/x:y /a /a\n", "COPY --from=docker-tutor/x:y"),
        ("FROM busybox\nCOPY --from docker-tutor/x:y /a /a\n", "COPY --from=docker-tutor/x:y"),
        ("FROM busybox\nADD --chown 1 http://127.0.0.1/x /x\n", "fetch"),
        ("FROM --platform busybox docker-tutor/x:y\n", "FROM docker-tutor/x:y"),
        ("FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token\n", "no secret can reach"),
        ("FROM busybox\nRUN --mount=type=SSH ssh-add -l\n", "no SSH agent can reach"),
        ("FROM busybox\nRUN --mount=type=bind,target=/m,weird=1 true\n", "'weird' is not a mount option"),
        ('FROM busybox\nRUN --mount=type=bind,fr\\"om=x,target=/m true\n', "a quote in the middle"),
        ("FROM busybox\nRUN --mount=type=volume,target=/m true\n", "not a mount type"),
        ("FROM busybox\nRUN --mount= true\n", "it is empty"),
    ],
)
def test_every_spelling_of_a_mount_or_copy_is_judged_as_the_builder_reads_it(dockerfile: str, says: str) -> None:
    problems = refused(dockerfile)
    assert problems and says in problems[0], problems


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM busybox\nLABEL org.docker-tutor.owner=5ae2896c09301875\n",
        'FROM busybox\nLABEL a=b "org.docker-tutor.source"="x"\n',
        "FROM busybox\nLABEL org.docker-tutor.managed true\n",
        "FROM busybox\nARG K=org.docker-tutor.exercise\nLABEL $K=x\n",
        "FROM busybox\nLABEL ORG.DOCKER-TUTOR.OWNER=x\n",
        "FROM busybox AS a\nONBUILD LABEL org.docker-tutor.source=x\nFROM a\n",
    ],
)
def test_a_label_of_the_tutors_own_is_refused(dockerfile: str) -> None:
    """The tutor's labels say whose image it is and of which folder: a learner's LABEL line setting
    them would make the classic builder's cached chain another learner's image, step for step."""
    problems = refused(dockerfile)
    assert len(problems) == 1 and "labels are the tutor's own" in problems[0], problems
    assert not refused("FROM busybox\nLABEL org.opencontainers.image.title=trainer maintainer=me\n")


def test_a_cache_mount_namespace_of_the_learners_choice_is_refused() -> None:
    [argument] = refusals(parse_dockerfile("FROM busybox\n"), BASES, build_args={"buildkit_cache_mount_ns": "theirs"})
    assert "cache mounts" in argument


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM busybox\nRUN --mount=type=cache,id=pip,target=/root/.cache/pip,sharing=locked true\n",
        "FROM busybox\nRUN --mount=target=/root/.cache/pip,type=cache --mount=type=cache,dst=/root/.cache,sharing=private,mode=0700,uid=0 true\n",
        "FROM busybox\nRUN --mount=type=tmpfs,target=/scratch --mount=type=bind,source=wheels,target=/w,ro true\n",
        "FROM busybox\nRUN --mount=type=bind,from=python:3.11-slim,source=/usr/lib,target=/l true\n",
        "FROM busybox AS deps\nFROM busybox\nRUN --mount=type=cache,from=deps,source=/c,target=/c true\n",
        "FROM busybox\nRUN -- --mount=type=bind,from=x true\n",  # after --, it is the command's own text
    ],
)
def test_mounts_of_the_folder_a_stage_a_base_image_or_a_private_cache_are_allowed(dockerfile: str) -> None:
    assert refused(dockerfile) == []


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
