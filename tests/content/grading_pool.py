"""Grade many folders of the shipped curriculum side by side, in worker processes.

A grading mostly waits on the engine (a build, containers starting and stopping), so a few at
once finish sooner than one after another. Workers are processes, not threads: the builder and
the data folder are read from the environment, which threads would share.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.content.variants import Variant

# How many gradings at once (DOCKER_TUTOR_TEST_WORKERS overrides it; 1 grades one after another).
WORKERS = int(os.environ.get("DOCKER_TUTOR_TEST_WORKERS", "3"))


@dataclass(frozen=True, slots=True)
class Job:
    """One folder to grade: the reference solution, the starter, or a variant of the solution."""

    exercise: str
    folder: str  # "solution", "starter" or "variant"
    variant: Variant | None = None
    builder: str = ""  # "" for the default (BuildKit where the engine has it)
    engine: str = ""  # an engine's URL; "" for the one the tutor finds


def start(data: Path) -> ProcessPoolExecutor:
    """A pool whose workers share one data folder (each graded folder still gets its own tag)."""
    return ProcessPoolExecutor(
        max_workers=WORKERS,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_settle,
        initargs=(str(data),),
    )


def submit(pool: ProcessPoolExecutor, job: Job) -> Future[dict[str, Any]]:
    return pool.submit(_grade, job)


def _settle(data: str) -> None:
    os.environ["DOCKER_TUTOR_DATA"] = data
    os.environ["DOCKER_TUTOR_WORKSPACE"] = str(Path(data) / "workspace")


@functools.cache
def _exercises() -> dict[str, Any]:
    from tutor import locations
    from tutor.content.loader import load_curriculum

    return {e.id: e for e in load_curriculum([locations.content_root()]).exercises}


@functools.cache
def _host(engine: str) -> Any:
    from tutor.engine.discovery import chosen_engine
    from tutor.engine.dockerhost import connect

    return connect(named=chosen_engine({"DOCKER_HOST": engine})) if engine else connect()


def _grade(job: Job) -> dict[str, Any]:
    """The report as plain data. No image is kept: every folder here is graded once."""
    from tutor.engine.checks import compile_check
    from tutor.engine.grader import Grading, enforced, grade

    if job.builder:
        os.environ["DOCKER_TUTOR_BUILDER"] = job.builder
    else:
        os.environ.pop("DOCKER_TUTOR_BUILDER", None)
    exercise = _exercises()[job.exercise]
    host = _host(job.engine)
    if job.variant is None:
        folder = exercise.solution_dir if job.folder == "solution" else exercise.starter_dir
        if job.folder == "starter" and (job.builder or job.engine):
            # The checks judged from the files alone run before the grader reaches any engine (none
            # is reached when they are all it runs): a starter one of them rejects fails on every
            # set-up. Only a starter they all pass is built and graded there.
            checks = [compile_check(spec) for spec in enforced(exercise)]
            from_files = frozenset(c.id for c in checks if not (c.needs_image or c.needs_engine))
            report = grade(exercise, folder, lambda: host, grading=Grading(keep_image=False, only=from_files))
            if not report.passed:
                return report.to_dict()
        if not job.builder:
            return grade(exercise, folder, lambda: host, grading=Grading(keep_image=False)).to_dict()
        # A copy: the same folder graded at once by the default builder on the same engine would
        # share its image tag, and the first to finish would remove the other's image.
        with tempfile.TemporaryDirectory(prefix=f"{job.builder}-", dir=os.environ["DOCKER_TUTOR_DATA"]) as temp:
            copy = Path(temp) / exercise.id
            shutil.copytree(folder, copy, symlinks=True)
            return grade(exercise, copy, lambda: host, grading=Grading(keep_image=False)).to_dict()
    with tempfile.TemporaryDirectory(prefix="variant-", dir=os.environ["DOCKER_TUTOR_DATA"]) as temp:
        folder = job.variant.materialize(exercise.solution_dir, Path(temp) / exercise.id)
        return grade(exercise, folder, lambda: host, grading=Grading(keep_image=False, only=job.variant.only)).to_dict()
