"""grade over one engine vs two: 40 submissions of 04-first-dockerfile, every build from scratch.

Usage: python benchmarks/engines.py SECOND_ENGINE_URL [--learners 40] [--jobs 4]
Each submission's Dockerfile carries a line of its own right after FROM, so no two share a
cached layer past the base image: the figure is the cost of real builds, not of the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "04-first-dockerfile"


def make_class(folder: Path, learners: int, tag: str) -> None:
    solution = ROOT / "exercises" / EXERCISE / "solution"
    for n in range(learners):
        learner = folder / f"learner{n:02d}"
        shutil.copytree(solution, learner)
        lines = (learner / "Dockerfile").read_text().splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("FROM")) + 1
        lines.insert(at, f"LABEL benchmark.copy={tag}-{n}")
        (learner / "Dockerfile").write_text("\n".join(lines) + "\n")


def grade(folder: Path, engines: list[str], jobs: int) -> tuple[float, dict]:
    command = [sys.executable, "-m", "tutor", "grade", EXERCISE, str(folder), "--jobs", str(jobs), "--format", "json"]
    for engine in engines:
        command += ["--engine", engine]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.monotonic() - started, json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("second")
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    first = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    for label, engines in (("one engine", [first]), ("two engines", [first, args.second])):
        with tempfile.TemporaryDirectory() as temp:
            make_class(Path(temp), args.learners, f"{time.time_ns()}")
            seconds, data = grade(Path(temp), engines, args.jobs)
        passed = sum(s["passed"] for s in data["submissions"])
        spread = dict(Counter(s["engine"] for s in data["submissions"]))
        print(f"{label}: {seconds:.1f} s for {len(data['submissions'])} submissions, {passed} passed; {spread}", flush=True)


if __name__ == "__main__":
    main()
