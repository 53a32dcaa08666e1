"""Grade a whole class: one folder per learner, graded in parallel, summarized for the instructor.

Each learner's image tag is removed once graded, so a class of thirty leaves nothing behind on
the instructor's engine.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tutor import formats
from tutor.content.model import Exercise
from tutor.engine.dockerhost import DockerHost
from tutor.engine.grader import grade
from tutor.engine.learner_files import display_name
from tutor.engine.report import BuildResult, Report
from tutor.errors import EngineUnavailable, TutorError, UsageError


@dataclass(frozen=True, slots=True)
class Submission:
    learner: str  # the folder's name
    report: Report

    @property
    def passed(self) -> bool:
        return self.report.passed

    @property
    def failing(self) -> list[str]:
        """Ids of the checks that failed (not those skipped because of them), 'build' first."""
        ids = [] if self.report.build.ok else ["build"]
        return ids + [c.id for c in self.report.checks if not c.passed and not c.skipped]

    @property
    def note(self) -> str:
        """Why it did not build, in one line ('there is no Dockerfile in ...')."""
        error = "" if self.report.build.ok else self.report.build.error
        return error.splitlines()[0] if error else ""


@dataclass(frozen=True, slots=True)
class Summary:
    passed: int
    failed: int
    most_failed: list[tuple[str, int]]  # (check id, learners failing it), most first

    def __str__(self) -> str:
        text = f"{self.passed} passed, {self.failed} failed of {self.passed + self.failed}"
        if self.most_failed:
            text += "; most failed: " + ", ".join(f"{check} ({n})" for check, n in self.most_failed[:3])
        return text


def submission_folders(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder", hint="Give the folder that holds one subfolder per learner.")
    folders = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise UsageError(f"{directory} holds no submissions", hint="Each learner's Dockerfile goes in its own subfolder, named after them.")
    return folders


def grade_class(
    exercise: Exercise,
    folders: list[Path],
    connect: Callable[[], DockerHost],
    *,
    jobs: int = 4,
    on_graded: Callable[[Submission, int, int], None] = lambda *_: None,
) -> list[Submission]:
    """Grade every folder; on_graded(submission, done, total) as each finishes. Ordered by learner."""
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    host = connect()
    cancel = threading.Event()
    # Images are removed when the whole class is graded, never while a sibling builds: removing an
    # image prunes its untagged parent layers, which a parallel build may have just taken from cache.
    done_with: list[str] = []
    lock = threading.Lock()

    def release(image: str) -> None:
        with lock:
            done_with.append(image)

    def one(folder: Path) -> Submission:
        try:
            report = grade(exercise, folder.resolve(), lambda: host, cancel=cancel, keep_image=False, release=release)
        except EngineUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - one learner's trouble must not lose the class's results
            reason = exc.message if isinstance(exc, TutorError) else f"{type(exc).__name__}: {exc}"
            build = BuildResult(ok=False, seconds=0.0, log_tail=[], error=f"not graded: {reason}")
            report = Report(exercise.id, False, build, [], 0.0, str(folder))
        return Submission(display_name(folder.name), report)

    done: list[Submission] = []
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="learner")
    try:
        futures = [pool.submit(one, folder) for folder in folders]
        for future in as_completed(futures):
            done.append(future.result())
            on_graded(done[-1], len(done), len(folders))
    except BaseException:
        cancel.set()  # running builds stop and their containers are removed before we return
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        for image in dict.fromkeys(done_with):
            host.remove_image(image)
    return sorted(done, key=lambda s: s.learner)


def summarize(submissions: list[Submission]) -> Summary:
    counts = Counter(check for s in submissions for check in s.failing)
    passed = sum(s.passed for s in submissions)
    return Summary(passed, len(submissions) - passed, counts.most_common())


def progress_line(submission: Submission, done: int, total: int) -> str:
    verdict = "passed" if submission.passed else "failed: " + ", ".join(submission.failing)
    return f"[{done}/{total}] {submission.learner}: {verdict} ({submission.report.seconds:.1f} s)"


def as_table(submissions: list[Submission]) -> str:
    width = max(len("learner"), *(len(s.learner) for s in submissions))
    lines = [f"{'learner':<{width}}  result  seconds  failing"]
    for s in submissions:
        failing = ", ".join(s.failing) + (f"  ({s.note})" if s.note else "")
        lines.append(f"{s.learner:<{width}}  {'passed' if s.passed else 'FAILED'}  {s.report.seconds:7.1f}  {failing}")
    return "\n".join(lines + ["", str(summarize(submissions))])


def as_csv(submissions: list[Submission]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["learner", "passed", "failing_checks", "seconds", "build_error"])
    for s in submissions:
        writer.writerow([s.learner, str(s.passed).lower(), " ".join(s.failing), f"{s.report.seconds:.1f}", s.note])
    return out.getvalue().rstrip("\n")


def as_json(exercise: Exercise, submissions: list[Submission]) -> str:
    summary = summarize(submissions)
    return json.dumps(
        {
            "exercise": exercise.id,
            "passed": summary.passed,
            "failed": summary.failed,
            "most_failed": [{"check": check, "learners": n} for check, n in summary.most_failed],
            "submissions": [
                {"learner": s.learner, "passed": s.passed, "failing_checks": s.failing, "report": s.report.to_dict()}
                for s in submissions
            ],
        },
        indent=2,
    )


def as_junit(submissions: list[Submission]) -> str:
    # One test suite per learner: CI test views then list the class by name.
    return formats.as_junit([dataclasses.replace(s.report, exercise_id=s.learner) for s in submissions])
