"""A failed RUN step's cause in its error: its last output, and a network it needed and did not have.

The log tails are the two builders' own (Engine 20.10), as the tutor keeps them; the real-engine
test builds a step that needs the network in an exercise without it."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.classroom.helpers import run
from tests.content.test_lint_content import make_pack
from tutor.engine.build_errors import explain_step_failure, step_failure, step_output

PIP = "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(': Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/requests/"  # noqa: E501
BUILDKIT_TAIL = [
    "#6 [3/4] RUN pip install requests",
    f"#6 0.612 {PIP}",
    "#6 8.289 ERROR: Could not find a version that satisfies the requirement requests (from versions: none)",
    "#6 8.290 ERROR: No matching distribution found for requests",
    "#6 ERROR: executor failed running [/bin/sh -c pip install requests]: exit code: 1",
    "------",
    " > [3/4] RUN pip install requests:",
    f"#6 0.612 {PIP}",
    "#6 8.289 ERROR: Could not find a version that satisfies the requirement requests (from versions: none)",
    "#6 8.290 ERROR: No matching distribution found for requests",
    "------",
    "executor failed running [/bin/sh -c pip install requests]: exit code: 1",
]


def _apt_host() -> str:
    """The package host this machine's apt uses (the sample output below names it), read at run time."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            found = re.search(r"https?://([^/\s]+)", source.read_text(errors="replace"))
        except OSError:
            continue
        if found:
            return found.group(1)
    return "packages.example"


APT_HOST = _apt_host()
CLASSIC_TAIL = [
    "Step 3/5 : RUN apt-get update && apt-get install -y curl",
    " ---> Running in 806bec549275",
    f"Err:1 http://{APT_HOST}/debian bookworm InRelease",
    f"  Temporary failure resolving '{APT_HOST}'",
    "Reading package lists...",
    "E: Unable to locate package curl",
    "Removing intermediate container 806bec549275",
]
FAILED_PIP = step_failure("executor failed running [/bin/sh -c pip install requests]: exit code: 1")
FAILED_APT = step_failure("The command '/bin/sh -c apt-get update && apt-get install -y curl' returned a non-zero code: 100")


def test_the_failed_step_s_own_output_without_the_builder_s_framing() -> None:
    assert step_output(BUILDKIT_TAIL)[-1] == "ERROR: No matching distribution found for requests"
    assert len(step_output(BUILDKIT_TAIL)) == 3  # the summary block once, not the streamed copy too
    assert step_output(CLASSIC_TAIL) == [
        f"Err:1 http://{APT_HOST}/debian bookworm InRelease", f"  Temporary failure resolving '{APT_HOST}'",
        "Reading package lists...", "E: Unable to locate package curl",
    ]


@pytest.mark.parametrize(
    ("error", "tail", "lookup"),
    [(FAILED_PIP, BUILDKIT_TAIL, "Temporary failure in name resolution"), (FAILED_APT, CLASSIC_TAIL, f"Temporary failure resolving '{APT_HOST}'")],
)
def test_a_step_that_needed_the_network_says_builds_have_none_here(error: str, tail: list[str], lookup: str) -> None:
    told, hint = explain_step_failure(error, tail, network=False)
    first = told.splitlines()[0]  # what the grade table and CSV show
    assert first.startswith(error) and "builds have no network in this exercise" in first, first
    assert f'(it printed "{lookup}")' in first, first  # the failed lookup, before a connection error on the same line
    assert "its last output: " in first and "\n" not in told
    assert "without a network" in hint
    online, _ = explain_step_failure(error, tail, network=True)
    assert "could not reach the network" in online and "no network in this exercise" not in online


def test_any_other_failed_step_names_its_last_lines_and_keeps_its_hint() -> None:
    error = step_failure("The command '/bin/sh -c python train.py' returned a non-zero code: 2")
    tail = ["Step 4/5 : RUN python train.py", " ---> Running in 1a2b", "Traceback (most recent call last):",
            "ModuleNotFoundError: No module named 'numpy'", "Removing intermediate container 1a2b"]
    told, hint = explain_step_failure(error, tail, network=False)
    assert told == f"{error}; its last output: Traceback (most recent call last): / ModuleNotFoundError: No module named 'numpy'"
    assert hint.startswith("A RUN step failed")
    # Not a failed step (a COPY of a missing file): the error and its hint as they were.
    copy = "COPY failed: file not found in build context"
    assert explain_step_failure(copy, tail, network=False)[0] == copy


@pytest.mark.docker
def test_grade_names_the_missing_network_of_a_real_build(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)
    learner = tmp_path / "class" / "ada"
    learner.mkdir(parents=True)
    (learner / "Dockerfile").write_text('FROM busybox:latest\nRUN wget -q -O /tmp/x http://pypi.org/simple/\nCMD ["echo", "hello"]\n')
    result = run("--content-only", "--content", str(pack), "grade", "50-say-hello", str(learner.parent), "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(result.stdout))
    assert row["cause"] == "build failed", result.stdout + result.stderr
    for column in ("build_error", "reasons"):
        assert "RUN wget -q -O /tmp/x http://pypi.org/simple/ failed with exit code 1: builds have no network in this exercise" in row[column]
        assert "bad address 'pypi.org'" in row[column], row[column]


def test_a_failed_step_whose_output_speaks_of_refused_connections_is_the_learner_s_build() -> None:
    from tutor.classroom.grading import Submission
    from tutor.engine.report import BuildResult, Report

    error, _ = explain_step_failure(
        step_failure("The command '/bin/sh -c curl http://localhost:8000' returned a non-zero code: 7"),
        ["Step 2/3 : RUN curl http://localhost:8000", "curl: (7) Failed to connect to localhost port 8000: Connection refused"],
        network=False,
    )
    report = Report("50-say-hello", False, BuildResult(ok=False, seconds=1.0, log_tail=[], error=error), [], 1.0, "ada")
    assert Submission("ada", report).cause == "build failed"
