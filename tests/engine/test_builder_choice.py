"""Which builder builds a Dockerfile: judged from the parsed Dockerfile (pure logic, no engine)."""

from __future__ import annotations

import pytest

from tutor.engine.builders.choice import ENV_VAR, SHARED_ENV_VAR, buildkit_only, choose, refused_on_a_shared_engine
from tutor.engine.dockerfile import parse_dockerfile

DOCKER = {"Version": "20.10.24", "Os": "linux", "Components": [{"Name": "Engine"}]}
PODMAN = {"Version": "4.3.1", "Os": "linux", "Components": [{"Name": "Podman Engine"}]}


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("RUN --mount=type=cache,target=/root/.cache/pip \\\n    pip install -r requirements.txt", "line 2: RUN --mount"),
        ("RUN --network=none make", "line 2: RUN --network"),
        ("RUN --security=insecure make", "line 2: RUN --security"),
        ("COPY --chmod=755 run.sh /run.sh", "line 2: COPY --chmod"),
        ("COPY --link --from=busybox /bin/busybox /bb", "line 2: COPY --link"),
        ("ADD --checksum=sha256:abc model.bin /m", "line 2: ADD --checksum"),
        ("COPY --parents src/*/x.py /app/", "line 2: COPY --parents"),
        ("RUN <<EOF\nset -e\necho ready > /ready\nEOF", "line 2: a here-document (RUN <<)"),
        ("RUN python3 <<'PY'\nprint('hi')\nPY", "line 2: a here-document (RUN <<)"),
        ("COPY <<-CONF /etc/app.conf\n\tport=8000\n\tCONF", "line 2: a here-document (COPY <<)"),
        ("ARG TARGETARCH\nRUN echo $TARGETARCH", "line 2: ARG TARGETARCH (filled in by BuildKit only)"),
    ],
)
def test_what_only_buildkit_builds_is_found_with_its_line(body: str, found: str) -> None:
    dockerfile = parse_dockerfile(f"FROM busybox\n{body}\nCMD [\"sh\"]\n")
    assert dockerfile.problems == ()
    assert buildkit_only(dockerfile) == (found,)


@pytest.mark.parametrize(
    "body",
    [
        "COPY --chown=1000:1000 --from=build /app /app",  # the classic builder knows --chown and --from
        "RUN echo '--mount=type=cache' && echo $((1<<4)) \"a <<b\"",  # words of the command, not flags or heredocs
        "RUN cat <<NOPE",  # no terminator: not a here-document
        "ARG TARGETARCH=amd64",  # a value of its own: the same under both builders
        "FROM --platform=linux/amd64 busybox",
    ],
)
def test_what_both_builders_build_needs_no_buildkit(body: str) -> None:
    assert buildkit_only(parse_dockerfile(f"FROM busybox AS build\n{body}\n")) == ()


def test_a_here_document_is_one_instruction_on_the_lines_it_was_written() -> None:
    dockerfile = parse_dockerfile("FROM busybox\nRUN <<EOF\necho hi > /a\nEOF\nUSER 1000\n")
    assert dockerfile.problems == ()  # the body is not read as instructions (ECHO, EOF)
    assert [(i.name, i.line) for i in dockerfile.instructions] == [("FROM", 1), ("RUN", 2), ("USER", 5)]
    assert "echo hi > /a" in dockerfile.instructions[1].value


def test_serve_and_grade_build_with_the_classic_builder_unless_the_dockerfile_needs_buildkit() -> None:
    needs = ("line 4: RUN --mount",)
    assert choose(DOCKER, "auto", shared=False).name == "buildkit"
    shared = choose(DOCKER, "auto", shared=True)
    assert shared.name == "classic" and "memory, process and file-size limits" in shared.why
    needed = choose(DOCKER, "auto", shared=True, needs=needs)
    assert needed.name == "buildkit" and "line 4: RUN --mount" in needed.why and "not the classic builder's memory" in needed.why
    held = choose(DOCKER, "auto", shared=True, needs=needs, held=True)  # the step warden holds BuildKit's steps
    assert "process, memory and disk limits from the tutor's step warden" in held.why and "file-size limit" in held.why
    # Asked for by name, a builder is used whatever the Dockerfile; where there is no BuildKit, classic.
    assert choose(DOCKER, "classic", shared=True, needs=needs).name == "classic"
    assert choose(DOCKER, "buildkit", shared=True).name == "buildkit"
    assert choose(PODMAN, "auto", shared=True, needs=needs).name == "classic"


def test_on_a_shared_engine_what_only_buildkit_builds_is_refused_outside_the_exercises_that_teach_it(monkeypatch) -> None:
    needs = ("line 2: RUN --mount",)
    monkeypatch.setenv(SHARED_ENV_VAR, "1")
    refused = refused_on_a_shared_engine(needs, taught_here=False)
    assert "line 2: RUN --mount" in refused and "file-size limit" in refused
    assert refused_on_a_shared_engine(needs, taught_here=True) == ""
    assert refused_on_a_shared_engine((), taught_here=False) == ""
    monkeypatch.setenv(ENV_VAR, "buildkit")  # an instructor who asks for BuildKit everywhere gets it
    assert refused_on_a_shared_engine(needs, taught_here=False) == ""
    monkeypatch.setenv(ENV_VAR, "auto")
    monkeypatch.delenv(SHARED_ENV_VAR)  # check on one's own machine builds it with BuildKit
    assert refused_on_a_shared_engine(needs, taught_here=False) == ""


def test_a_build_that_needs_the_network_is_built_where_its_steps_get_a_network_of_their_own(monkeypatch) -> None:
    # BuildKit through the API takes only the default bridge (networkmode "default", "host" or "none"):
    # the classic builder takes a network by name, one made for the build (tutor/engine/egress.py).
    for shared in (False, True):
        chosen = choose(DOCKER, "auto", shared=shared, network=True)
        assert chosen.name == "classic" and "default bridge" in chosen.why and "network of their own" in chosen.why
    needs = ("line 3: RUN --mount",)
    assert choose(DOCKER, "auto", shared=False, needs=needs, network=True).name == "buildkit"
    assert "default bridge" in choose(DOCKER, "buildkit", shared=True, network=True).why
    monkeypatch.setenv(SHARED_ENV_VAR, "1")
    refused = refused_on_a_shared_engine(needs, taught_here=True, network=True)
    assert "needs the network" in refused and "default bridge" in refused
    assert refused_on_a_shared_engine((), taught_here=False, network=True) == ""
    monkeypatch.delenv(SHARED_ENV_VAR)
    assert refused_on_a_shared_engine(needs, taught_here=True, network=True) == ""
