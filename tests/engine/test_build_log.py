"""Reading the builder's stream: pure logic, fed the chunks the engine sends."""

from __future__ import annotations

from tutor.engine.builders.classic import ClassicLog as BuildLog
from tutor.engine.builders.outcome import BuildOutcome
from tutor.engine.events import BuildOutput, BuildStep, StepCached


def test_steps_cache_containers_layers_and_a_pull() -> None:
    events: list[object] = []
    outcome = BuildOutcome(ok=False, seconds=0.0)
    log = BuildLog(outcome, events.append)
    for chunk in [
        {"stream": "Step 1/3 : FROM python:3.11-slim\n"},
        {"status": "Pulling from library/python", "id": "3.11-slim"},
        *[{"status": "Downloading", "id": "abc123", "progressDetail": {"current": n}} for n in range(50)],
        {"status": "Pull complete", "id": "abc123"},
        {"stream": " ---> 1111aaaa2222\n"},
        {"stream": "Step 2/3 : COPY train.py .\n"},
        {"stream": " ---> Using cache\n ---> 3333bbbb4444\n"},
        {"stream": "Step 3/3 : RUN python train.py\n"},
        {"stream": " ---> Running in 5555cccc6666\n\x1b[31mloss=0.1\x1b[0m\n"},
        {"stream": " ---> 7777dddd8888\n"},
        {"aux": {"ID": "sha256:7777dddd8888"}},
    ]:
        log.feed(chunk)
    assert outcome.steps == {1: "FROM python:3.11-slim", 2: "COPY train.py .", 3: "RUN python train.py"}
    assert outcome.cached == {2} and outcome.total_steps == 3
    assert outcome.step_containers == ["5555cccc6666"]
    assert outcome.created_layers == ["7777dddd8888"]  # not the base (FROM), not the cached step
    assert outcome.image_id == "sha256:7777dddd8888"
    lines = [e.line for e in events if isinstance(e, BuildOutput)]
    assert lines.count("Downloading abc123") == 1  # a pull says each state once, not every tick
    assert "loss=0.1" in lines  # escapes stripped
    assert [e.number for e in events if isinstance(e, BuildStep)] == [1, 2, 3]
    assert [e.number for e in events if isinstance(e, StepCached)] == [2]


def test_the_tail_is_bounded_and_errors_are_kept() -> None:
    outcome = BuildOutcome(ok=False, seconds=0.0)
    log = BuildLog(outcome, lambda _event: None)
    for n in range(10_000):
        log.feed({"stream": f"line {n}\n"})
    log.feed({"error": "The command '/bin/sh -c false' returned a non-zero code: 1"})
    assert len(log.tail) == 60 and log.tail[-1] == "line 9999"
    assert "non-zero code: 1" in outcome.error


def test_podmans_buildah_stream_and_the_hidden_label_step() -> None:
    events: list[object] = []
    outcome = BuildOutcome(ok=False, seconds=0.0)
    log = BuildLog(outcome, events.append, hidden_labels={"org.docker-tutor.exercise": "06-x"})
    for line in [
        "STEP 1/4: FROM busybox", "STEP 2/4: RUN pip install -r requirements.txt",
        "--> Using cache f7f524cb499baf7c40840f693ac9599a6e923c8d4a9d911bc0dc9a2c0a545558", "--> f7f524cb499",
        "STEP 3/4: COPY train.py .", "--> c0abb694db6",
        'STEP 4/4: LABEL "org.docker-tutor.exercise"="06-x"', "COMMIT docker.io/docker-tutor/06-x:1", "--> 4b268f12cd7",
    ]:
        log.feed({"stream": line + "\n"})
    log.finish()
    assert outcome.steps == {1: "FROM busybox", 2: "RUN pip install -r requirements.txt", 3: "COPY train.py ."}
    assert outcome.cached == {2} and outcome.total_steps == 3 and outcome.final_stage == [2, 3]
    lines = [e.line for e in events if isinstance(e, BuildOutput)]
    assert "STEP 3/3: COPY train.py ." in lines and not any("LABEL" in line for line in lines)
    assert outcome.created_layers == ["c0abb694db6", "4b268f12cd7"]


def test_buildahs_stages_are_numbered_as_one_build() -> None:
    outcome = BuildOutcome(ok=False, seconds=0.0)
    log = BuildLog(outcome, lambda _e: None, hidden_labels={"org.docker-tutor.exercise": "17-x"})
    for line in [
        "[1/2] STEP 1/2: FROM python:3.11-slim AS build", "[1/2] STEP 2/2: RUN pip install x", "--> Using cache 289dfecd731325", "--> 289dfecd731",
        "[2/2] STEP 1/3: FROM python:3.11-slim", "[2/2] STEP 2/3: COPY serve.py .", "--> 1a2b3c4d5e6",
        '[2/2] STEP 3/3: LABEL "org.docker-tutor.exercise"="17-x"', "--> 9f8e7d6c5b4",
    ]:
        log.feed({"stream": line + "\n"})
    log.finish()
    assert outcome.steps == {1: "FROM python:3.11-slim AS build", 2: "RUN pip install x", 3: "FROM python:3.11-slim", 4: "COPY serve.py ."}
    assert outcome.cached == {2} and outcome.total_steps == 4 and outcome.final_stage == [4]
    assert "[2/2] STEP 2/2: COPY serve.py ." in log.tail


def test_the_tutors_own_label_step_is_not_the_learners() -> None:
    """The classic builder adds the tutor's build label as a last LABEL step: not in the log, not counted."""
    events: list[object] = []
    outcome = BuildOutcome(ok=False, seconds=0.0)
    log = BuildLog(outcome, events.append, hidden_labels={"org.docker-tutor.exercise": "01-hello"})
    for chunk in [
        {"stream": "Step 1/3 : FROM busybox\n ---> 1111aaaa2222\n"},
        {"stream": 'Step 2/3 : CMD ["echo", "hi"]\n ---> Using cache\n ---> 3333bbbb4444\n'},
        {"stream": "Step 3/3 : LABEL org.docker-tutor.exercise=01-hello\n ---> Running in 5555cccc6666\n"},
        {"stream": " ---> 7777dddd8888\n"},
        {"aux": {"ID": "sha256:7777dddd8888"}},
    ]:
        log.feed(chunk)
    assert outcome.total_steps == 2 and outcome.hidden_steps == {3} and 3 not in outcome.steps
    assert [(e.number, e.total) for e in events if isinstance(e, BuildStep)] == [(1, 2), (2, 2)]
    assert not any("LABEL" in e.line or "org.docker-tutor" in e.line for e in events if isinstance(e, BuildOutput))
    assert not any("LABEL" in line for line in log.tail)
    assert outcome.created_layers == ["7777dddd8888"]  # still tracked, so a failed build cleans it up


def test_a_failed_run_step_is_told_the_same_under_every_builder() -> None:
    from tutor.engine.build_errors import hint_for, step_failure

    said = {
        "classic": "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1",
        "buildkit 20.10": "executor failed running [/bin/sh -c pip install -r requirements.txt]: exit code: 1",
        "buildkit 23+": 'process "/bin/sh -c pip install -r requirements.txt" did not complete successfully: exit code: 1',
        "buildah": 'building at STEP "RUN pip install -r requirements.txt": while running runtime: exit status 1',
    }
    told = {builder: step_failure(error) for builder, error in said.items()}
    assert set(told.values()) == {"the build step RUN pip install -r requirements.txt failed with exit code 1"}, told
    assert hint_for(told["buildah"]).startswith("A RUN step failed")
    assert "out of memory" in hint_for(step_failure('building at STEP "RUN python x.py": while running runtime: exit status 137'))
    assert step_failure("COPY failed: file not found in build context") == ""


def test_every_label_step_of_the_tutor_is_hidden() -> None:
    """Docker appends one LABEL step per label (by key); Buildah one step with all of them."""
    labels = {"org.docker-tutor.exercise": "01-hello", "org.docker-tutor.managed": "true", "org.docker-tutor.owner": "ab12"}
    docker_lines = [
        "Step 1/5 : FROM busybox", " ---> 1111aaaa2222", 'Step 2/5 : CMD ["echo", "hi"]', " ---> 3333bbbb4444",
        "Step 3/5 : LABEL org.docker-tutor.exercise=01-hello", " ---> 5555cccc6666",
        "Step 4/5 : LABEL org.docker-tutor.managed=true", " ---> 7777dddd8888",
        "Step 5/5 : LABEL org.docker-tutor.owner=ab12", " ---> 9999eeee0000",
    ]
    buildah_lines = [
        "STEP 1/3: FROM busybox", 'STEP 2/3: CMD ["echo", "hi"]', "--> 3333bbbb444",
        'STEP 3/3: LABEL "org.docker-tutor.owner"="ab12" "org.docker-tutor.exercise"="01-hello" "org.docker-tutor.managed"="true"',
        "--> 9999eeee000",
    ]
    for lines, hidden in ((docker_lines, {3, 4, 5}), (buildah_lines, {3})):
        events: list[object] = []
        outcome = BuildOutcome(ok=False, seconds=0.0)
        log = BuildLog(outcome, events.append, hidden_labels=labels)
        for line in lines:
            log.feed({"stream": line + "\n"})
        assert outcome.total_steps == 2 and outcome.hidden_steps == hidden and set(outcome.steps) == {1, 2}
        assert [(e.number, e.total) for e in events if isinstance(e, BuildStep)] == [(1, 2), (2, 2)]
        assert not any("org.docker-tutor" in line for line in log.tail)


def test_a_learners_own_label_step_is_shown() -> None:
    outcome = BuildOutcome(ok=False, seconds=0.0)
    log = BuildLog(outcome, lambda _e: None, hidden_labels={"org.docker-tutor.owner": "ab12"})
    for line in ["Step 1/3 : FROM busybox", " ---> 1111aaaa2222", "Step 2/3 : LABEL team=ml", " ---> 3333bbbb4444",
                 "Step 3/3 : LABEL org.docker-tutor.owner=ab12", " ---> 5555cccc6666"]:
        log.feed({"stream": line + "\n"})
    assert outcome.steps == {1: "FROM busybox", 2: "LABEL team=ml"} and outcome.hidden_steps == {3}
