"""Shared by the benchmark scripts: run a command as a child process and measure it from outside."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TUTOR = [sys.executable, "-m", "tutor"]


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float  # the child's peak resident memory
    exit_code: int
    output: str


def measure(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measure:
    """Wall time, peak memory (from the kernel's own accounting of this one child) and exit code."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Measure(seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), output)


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def write_pack(root: Path, exercise_id: str, checks_toml: str, files: dict[str, str], build_toml: str = "") -> Path:
    """A one-exercise content pack, for running a case through the real command line."""
    (root / "lessons").mkdir(parents=True, exist_ok=True)
    (root / "lessons" / "90-bench.md").write_text('+++\ntitle = "Benchmarks"\n+++\n# Benchmarks\n')
    folder = root / "exercises" / exercise_id
    for sub in ("starter", "solution"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / sub / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / sub / name).write_text(content)
    (folder / "exercise.toml").write_text(
        f'title = "{exercise_id}"\nlesson = "90-bench"\ntask = "measure"\n{build_toml}\n{checks_toml}\n'
    )
    return folder / "solution"
