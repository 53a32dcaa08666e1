"""BuildKit's trace -> the plain log and the steps: pure logic, fed messages encoded as the engine does."""

from __future__ import annotations

import base64

import pytest

from tutor.engine.builders.buildkit import PlainProgress, final_stage_name
from tutor.engine.builders.choice import choose
from tutor.engine.builders.outcome import BuildOutcome
from tutor.engine.builders.trace import TraceError, _status_response_class, decode
from tutor.engine.events import BuildOutput, BuildStep, StepCached
from tutor.errors import UsageError


def trace(vertexes=(), logs=(), statuses=()) -> dict:
    message = _status_response_class()()
    for v in vertexes:
        vertex = message.vertexes.add(digest=v["digest"], name=v.get("name", ""), cached=v.get("cached", False), error=v.get("error", ""))
        for key in ("started", "completed"):
            if key in v:
                getattr(vertex, key).seconds = int(v[key])
                getattr(vertex, key).nanos = int((v[key] % 1) * 1e9)
    for entry in logs:
        log = message.logs.add(vertex=entry["vertex"], stream=1, msg=entry["data"])
        log.timestamp.seconds = int(entry["at"])
        log.timestamp.nanos = int((entry["at"] % 1) * 1e9)
    for s in statuses:
        status = message.statuses.add(ID=s["id"], vertex=s["vertex"], current=s.get("current", 0))
        status.started.seconds, status.completed.seconds = 100, 100
    return {"id": "moby.buildkit.trace", "aux": base64.b64encode(message.SerializeToString()).decode()}


def test_plain_log_steps_and_cached_flags() -> None:
    events: list[object] = []
    outcome = BuildOutcome(ok=False, seconds=0.0, builder="buildkit")
    log = PlainProgress(outcome, events.append)
    for chunk in [
        trace([{"digest": "d0", "name": "[internal] load metadata for docker.io/library/busybox:latest", "started": 100, "completed": 100}]),
        trace([
            {"digest": "d1", "name": "[1/3] FROM docker.io/library/busybox"},
            {"digest": "d2", "name": "[2/3] RUN pip install -r requirements.txt"},
            {"digest": "d3", "name": "[3/3] COPY train.py ."},
        ]),
        trace([{"digest": "d1", "name": "[1/3] FROM docker.io/library/busybox", "cached": True, "started": 101, "completed": 101}]),
        trace([{"digest": "d2", "name": "[2/3] RUN pip install -r requirements.txt", "cached": True, "started": 101, "completed": 101}]),
        trace([{"digest": "d3", "name": "[3/3] COPY train.py .", "started": 101}]),
        trace(logs=[{"vertex": "d3", "at": 101.25, "data": b"\x1b[31mcopying\x1b[0m\npart"}]),
        trace(logs=[{"vertex": "d3", "at": 101.5, "data": b"ial line\n"}]),
        trace([{"digest": "d3", "name": "[3/3] COPY train.py .", "started": 101, "completed": 101.75}]),
        trace([{"digest": "d4", "name": "exporting to image", "started": 102}], statuses=[{"id": "exporting layers", "vertex": "d4"}]),
        {"id": "moby.image.id", "aux": {"ID": "sha256:abc"}},
    ]:
        log.feed(chunk)
    log.finish()
    assert outcome.steps == {1: "FROM docker.io/library/busybox", 2: "RUN pip install -r requirements.txt", 3: "COPY train.py ."}
    assert outcome.cached == {1, 2} and outcome.total_steps == 3 and outcome.final_stage == [2, 3]
    assert outcome.image_id == "sha256:abc"
    lines = [e.line for e in events if isinstance(e, BuildOutput)]
    assert lines == [
        "", "#1 [internal] load metadata for docker.io/library/busybox:latest", "#1 DONE 0.0s",
        "", "#2 [1/3] FROM docker.io/library/busybox", "#2 CACHED",
        "", "#3 [2/3] RUN pip install -r requirements.txt", "#3 CACHED",
        "", "#4 [3/3] COPY train.py .", "#4 0.250 copying", "#4 0.500 partial line", "#4 DONE 0.8s",
        "", "#5 exporting to image", "#5 exporting layers done",
    ]
    assert [e.number for e in events if isinstance(e, StepCached)] == [1, 2]
    assert all(e.logged for e in events if isinstance(e, (BuildStep, StepCached)))


def test_a_failed_step_is_summarised_as_the_cli_does() -> None:
    outcome = BuildOutcome(ok=False, seconds=0.0, builder="buildkit")
    log = PlainProgress(outcome, lambda _e: None)
    log.feed(trace([{"digest": "d1", "name": "[2/2] RUN false", "started": 1}]))
    log.feed(trace(logs=[{"vertex": "d1", "at": 1.1, "data": b"oops\n"}]))
    log.feed(trace([{"digest": "d1", "name": "[2/2] RUN false", "started": 1, "completed": 2, "error": "exit code: 1"}]))
    log.feed({"error": "executor failed running [/bin/sh -c false]: exit code: 1"})
    log.finish()
    assert list(log.tail)[-7:] == [
        "#1 0.100 oops", "#1 ERROR: exit code: 1", "------", " > [2/2] RUN false:", "#1 0.100 oops", "------",
        "executor failed running [/bin/sh -c false]: exit code: 1",
    ]


def test_multi_stage_final_stage_and_names(tmp_path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM busybox AS Build\nRUN true\nFROM busybox\nCOPY --from=build /x /x\n")
    assert final_stage_name(dockerfile) == "stage-1"
    dockerfile.write_text("FROM busybox\nRUN true\n")
    assert final_stage_name(dockerfile) is None
    outcome = BuildOutcome(ok=False, seconds=0.0, builder="buildkit")
    log = PlainProgress(outcome, lambda _e: None, final_stage="stage-1")
    log.feed(trace([
        {"digest": "a", "name": "[build 1/2] FROM docker.io/library/busybox"},
        {"digest": "b", "name": "[build 2/2] RUN true"},
        {"digest": "c", "name": "[stage-1 2/2] COPY --from=build /x /x"},
    ]))
    log.finish()
    assert outcome.final_stage == [3]


def test_a_message_that_is_no_status_response_is_an_error() -> None:
    with pytest.raises(TraceError):
        decode("not base64!")
    assert decode(base64.b64encode(b"").decode()).vertexes == []


def test_builder_choice() -> None:
    docker = {"Version": "20.10.24", "Os": "linux", "Components": [{"Name": "Engine"}]}
    podman = {"Version": "4.3.1", "Os": "linux", "Components": [{"Name": "Podman Engine"}]}
    assert choose(docker, "auto").name == "buildkit"
    assert choose(docker, "classic").name == "classic"
    assert choose(podman, "auto").name == "classic" and "Podman" in choose(podman, "auto").why
    assert choose({"Version": "18.06.1-ce", "Os": "linux"}, "auto").name == "classic"
    with pytest.raises(UsageError, match="no BuildKit"):
        choose(podman, "buildkit")
    with pytest.raises(UsageError, match="unknown builder"):
        choose(docker, "kaniko")
