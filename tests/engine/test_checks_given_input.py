"""command.given-input: the program gets numbers drawn for this run and its file is read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import exercise, grade_all
from tutor.engine.checks import compile_check
from tutor.errors import ContentError

# A job on busybox: sums the x column of the file INPUT names into the file OUTPUT names.
JOB = """#!/bin/sh
awk -F, 'NR > 1 { s += $1; n += 1 } END { print "rows " n ", sum " s }' "$INPUT" > "$OUTPUT" && echo "wrote $OUTPUT"
"""
CHECK = {
    "kind": "command.given-input",
    "id": "sums",
    "inputs": {"/tmp/given/in.csv": "x\n{a}\n{b}\n{c}\n"},
    "envVars": {"INPUT": "/tmp/given/in.csv", "OUTPUT": "/tmp/given/out.txt"},
    "derived": {"total": "a + b + c"},
    "path": "/tmp/given/out.txt",
    "expectedOutput": ["^wrote /tmp/given/out\\.txt$"],
    "expectedContents": ["^rows 3, sum {total}$"],
}


def image(body: str) -> dict[str, str]:
    return {"Dockerfile": f"FROM busybox:latest\nCOPY job.sh /job.sh\nRUN chmod +x /job.sh\n{body}\n", "job.sh": JOB}


@pytest.mark.docker
def test_a_program_that_does_the_work_passes_and_an_echo_or_a_baked_file_does_not(host, tmp_path: Path) -> None:
    real = grade_all(host, tmp_path / "real", [CHECK], image('CMD ["/job.sh"]')).checks[0]
    assert real.passed, real.message
    echo = grade_all(host, tmp_path / "echo", [CHECK], image('CMD ["echo", "wrote /tmp/given/out.txt"]')).checks[0]
    assert not echo.passed and "wrote no /tmp/given/out.txt" in echo.message and "made for this run" in echo.message
    # A result written at build time is there, but it cannot hold this run's numbers.
    baked = image('RUN mkdir -p /tmp/given && echo "rows 3, sum 150" > /tmp/given/out.txt\nCMD ["echo", "wrote /tmp/given/out.txt"]')
    result = grade_all(host, tmp_path / "baked", [CHECK], baked).checks[0]
    assert not result.passed and "/tmp/given/out.txt does not show" in result.message and "It holds:\nrows 3, sum 150" in result.message


@pytest.mark.docker
def test_printed_numbers_are_computed_from_the_drawn_ones_and_a_user_without_a_writable_folder_is_told(host, tmp_path: Path) -> None:
    check = {**CHECK, "path": "", "expectedContents": [], "expectedOutput": ["^rows 3, sum {total}$"],
             "envVars": {"INPUT": "/tmp/given/in.csv", "OUTPUT": "/dev/stdout"}}
    ok = grade_all(host, tmp_path / "ok", [check], image('CMD ["/job.sh"]')).checks[0]
    assert ok.passed, ok.message
    fixed = grade_all(host, tmp_path / "fixed", [check], image('CMD ["echo", "rows 3, sum 150"]')).checks[0]
    assert not fixed.passed and "This run: a=" in fixed.message
    locked = {**check, "inputs": {"/root/in.csv": "x\n{a}\n"}, "envVars": {"INPUT": "/root/in.csv", "OUTPUT": "/dev/stdout"}}
    refused = grade_all(host, tmp_path / "user", [locked], image('USER 1000\nCMD ["/job.sh"]')).checks[0]
    assert not refused.passed and "could not be put at /root/in.csv" in refused.message


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"derived": {"total": "a + __import__('os')"}}, "derived.total", "only + - * /"),
        ({"derived": {"total": "a + d"}}, "derived.total", "'d' is not defined"),
        ({"expectedContents": ["{mean:.2f}"]}, "derived", "{mean} is used but not defined"),
        ({"inputs": {"in.csv": "x"}}, "inputs", "must be an absolute path"),
        ({"path": ""}, "path", "required with expectedContents"),
    ],
)
def test_a_check_that_cannot_work_is_refused_when_the_pack_loads(change: dict, field: str, problem: str) -> None:
    spec = exercise([{**CHECK, **change}]).checks[0]
    with pytest.raises(ContentError) as refused:
        compile_check(spec)
    assert f"test[0].{field}" in str(refused.value) and problem in str(refused.value)
