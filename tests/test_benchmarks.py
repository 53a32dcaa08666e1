"""The benchmark script still runs, and its docker CLI side does the work the checks do."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docker_cli_side_of_every_exercise_is_valid_shell(bench, curriculum) -> None:
    for exercise in curriculum.exercises:
        script = bench.cli_script(exercise, exercise.solution_dir)
        result = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, f"{exercise.id}: {result.stderr}"


def test_the_docker_cli_side_runs_what_the_checks_run(bench, curriculum, host) -> None:
    exercise = curriculum.exercise("12-non-root")  # a build, a command and a user check
    script = bench.cli_script(exercise, exercise.solution_dir)
    assert "--entrypoint id" in script and "docker run --rm --network none" in script
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert host.image_attrs(bench.PLAIN_TAG) is not None
    host.remove_image(bench.PLAIN_TAG)


def test_run_prints_every_table_for_one_exercise(host) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--repeat", "1", "--exercises", "01-hello-container", "--skip-verify"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for case in ("cold", "warm", "unchanged"):
        row = re.search(rf"^\| 01-hello-container \| {case} \|(.*)\|$", out, re.M)
        assert row, f"no {case} row in:\n{out}"
        figures = re.findall(r"(\d+\.\d\d) \(", row.group(1))
        # tutor check, in the TUI, docker CLI, two ratios; the two processes take measurable time
        assert len(figures) == 5 and float(figures[0]) > 0 and float(figures[2]) > 0, row.group(0)
    assert re.search(r"^\| warm \| TUI \| \d+\.\d\d \|", out, re.M)
    assert "re-check after a one-line edit" in out
    assert re.search(r"^\| docker-tutor --version \| \d+\.\d\d", out, re.M)
