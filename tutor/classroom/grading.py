"""Grade a whole class: one folder per learner, graded in parallel, summarized for the instructor.

Each learner's image tag is removed once graded, so a class of thirty leaves nothing behind on
the instructor's engine.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tutor import formats
from tutor.classroom.engines import Engine, EnginePool
from tutor.content.model import Exercise
from tutor.engine.build_errors import step_failure_told
from tutor.engine.dockerhost import DockerHost
from tutor.engine.events import GradeWarning
from tutor.engine.folder_images import LaterRemoval
from tutor.engine.grader import Grading, enforced, grade
from tutor.engine.learner_files import display_name
from tutor.engine.report import BuildResult, Report
from tutor.errors import EngineUnavailable, TutorError, UsageError

# Why a submission failed, in the order an instructor reads them: the first two are the learner's
# folder, the third is the grading machine's fault, the last two are the learner's Dockerfile.
CAUSES = ("no Dockerfile", "not a Dockerfile", "engine error", "build failed", "check failed")
NOT_A_DOCKERFILE = re.compile(r"^(the Dockerfile is empty|Dockerfile is a binary file|Dockerfile is not UTF-8|the Dockerfile has mistakes)")
ENGINE_TROUBLE = re.compile(
    r"^not graded:|No such image|failed to get digest|mount does not exist|connection (refused|reset|aborted)|"
    r"Cannot connect to the Docker daemon|engine (stopped|did not) answer",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Submission:
    learner: str  # the folder's name
    report: Report
    score: int = 0  # points of the checks passed (hidden ones included)
    out_of: int = 0
    suggestion: str = ""  # "did you mean project/Dockerfile?" when there is no Dockerfile
    same_as: tuple[str, ...] = ()  # other learners who handed in the very same files
    engine: str = ""  # the engine that graded it

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

    @property
    def cause(self) -> str:
        """One of CAUSES, or '' when it passed."""
        if self.passed:
            return ""
        error = self.report.build.error
        if not self.report.build.ok:
            if error.startswith("there is no Dockerfile"):
                return "no Dockerfile"
            if NOT_A_DOCKERFILE.search(error):
                return "not a Dockerfile"
            if step_failure_told(error):
                return "build failed"  # the step's own output may speak of connections: still the learner's step
            return "engine error" if ENGINE_TROUBLE.search(error) else "build failed"
        failed = [c for c in self.report.checks if not c.passed and not c.skipped]
        if failed and all(ENGINE_TROUBLE.search(c.message) for c in failed):
            return "engine error"
        return "check failed"

    @property
    def reasons(self) -> list[str]:
        """'title (id): why' for each failure, as the learner would read it."""
        if not self.report.build.ok:
            return [self.note + (f" (did you mean {self.suggestion}?)" if self.suggestion else "")]
        return [
            f"{c.title} ({c.id}): {c.message.splitlines()[0] if c.message else 'failed'}"
            for c in self.report.checks
            if not c.passed and not c.skipped
        ]


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


# Folders an archive or a tool leaves next to the learners' (macOS's zip, Python, version control).
NOT_LEARNERS = frozenset({"__MACOSX", "__pycache__"})


def is_learner_folder(path: Path) -> bool:
    # A link is not followed: it may lead out of the class folder, to files no learner handed in.
    return not path.is_symlink() and path.is_dir() and not path.name.startswith(".") and path.name not in NOT_LEARNERS


def skipped_entries(directory: Path) -> list[str]:
    """What the submissions folder holds that is not a learner's folder (folders end with '/')."""
    return sorted(
        p.name + (" (a link)" if p.is_symlink() else "/" if p.is_dir() else "") for p in directory.iterdir() if not is_learner_folder(p)
    )


def submission_folders(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder", hint="Give the folder that holds one subfolder per learner.")
    folders = sorted(p for p in directory.iterdir() if is_learner_folder(p))
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
    on_warning: Callable[[str], None] = lambda _: None,
    engines: EnginePool | None = None,
) -> list[Submission]:
    """Grade every folder; on_graded(submission, done, total) as each finishes. Ordered by learner.

    on_warning: what a learner's grading says that changes no verdict (it waits for another tutor
    checking the folder, a state file kept aside), with the learner's name before it.
    engines: several engines to spread the class over (default: the one `connect` reaches)."""
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    engines = engines or EnginePool([Engine("", connect)])  # named, once connected, by its context or URL
    engines.start()
    cancel = threading.Event()
    done_with = LaterRemoval()  # each learner's images go when the whole class is graded

    def one(folder: Path) -> Submission:
        def said(event: object) -> None:
            if isinstance(event, GradeWarning):
                on_warning(f"{shown(display_name(folder.name))}: {event.text}")

        while True:
            engine = engines.acquire()  # raises EngineUnavailable when no engine is left
            host, started, graded = engine.host, time.monotonic(), False
            try:
                try:
                    report = grade(
                        exercise, folder.resolve(), lambda host=host: host, cancel=cancel, on_event=said,
                        grading=Grading.assessment(release=done_with.on(host)),
                    )
                except EngineUnavailable as exc:
                    engines.drop(engine, exc.message)
                    if cancel.is_set():
                        raise
                    continue  # the engine went away, not the learner's work: grade it on another
                except Exception as exc:  # noqa: BLE001 - one learner's trouble must not lose the class's results
                    reason = exc.message if isinstance(exc, TutorError) else f"{type(exc).__name__}: {exc}"
                    build = BuildResult(ok=False, seconds=0.0, log_tail=[], error=f"not graded: {reason}")
                    report = Report(exercise.id, False, build, [], 0.0, str(folder))
                # A failure from an engine that stopped answering says nothing of the work: grade it elsewhere.
                graded = report.passed or len(engines.engines) == 1 or engines.answers(engine)
            finally:
                engines.release(engine, time.monotonic() - started, graded)
            if not graded:
                continue
            got, out_of = score(exercise, report)
            return Submission(display_name(folder.name), report, got, out_of, suggestion=_near_miss(folder), engine=engine.name)

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
        done_with.remove_all()
    twins = identical(folders)
    return sorted((dataclasses.replace(s, same_as=twins.get(s.learner, ())) for s in done), key=lambda s: s.learner)


def score(exercise: Exercise, report: Report) -> tuple[int, int]:
    """Points of the checks passed, and of all checks: partial credit, a check's `points` each."""
    points = {spec.id: spec.points for spec in enforced(exercise)}  # house rules' checks count too
    return sum(points.get(c.id, 0) for c in report.checks if c.passed and not c.skipped), sum(points.values())


def _near_miss(folder: Path) -> str:
    """A file that is probably the Dockerfile, under another name or one folder down."""
    if (folder / "Dockerfile").is_file():
        return ""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if len(relative.parts) > 3 or any(part.startswith(".") for part in relative.parts[:-1]) or not path.is_file():
            continue
        name = path.name.lower()
        if name in ("dockerfile", "dockerfile.txt", "containerfile") or name.startswith("dockerfile.") or name.endswith(".dockerfile"):
            found.append(relative.as_posix())
    return min(found, key=lambda p: (p.count("/"), len(p)), default="")


def identical(folders: list[Path]) -> dict[str, tuple[str, ...]]:
    """learner -> the other learners whose folders hold exactly the same files (names and bytes)."""
    groups: dict[str, list[str]] = {}
    for folder in folders:
        digest = _digest(folder)
        if digest:
            groups.setdefault(digest, []).append(display_name(folder.name))
    return {
        learner: tuple(other for other in names if other != learner)
        for names in groups.values()
        if len(names) > 1
        for learner in names
    }


def _digest(folder: Path, limit: int = 50 * 2**20) -> str:
    digest = hashlib.sha256()
    read = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue  # editor and VCS leftovers differ between identical hand-ins
        size = path.stat().st_size
        digest.update(f"\0{relative.as_posix()}\0{size}\0".encode("utf-8", "surrogateescape"))
        if read + size <= limit:  # past the limit, names and sizes alone are compared
            digest.update(path.read_bytes())
            read += size
    return digest.hexdigest() if read else ""


def summarize(submissions: list[Submission]) -> Summary:
    counts = Counter(check for s in submissions for check in s.failing)
    passed = sum(s.passed for s in submissions)
    return Summary(passed, len(submissions) - passed, counts.most_common())


def by_cause(submissions: list[Submission]) -> dict[str, list[str]]:
    """cause -> learners, in the order of CAUSES; causes no one has are left out."""
    groups: dict[str, list[str]] = {cause: [] for cause in CAUSES}
    for s in submissions:
        if s.cause:
            groups[s.cause].append(s.learner)
    return {cause: learners for cause, learners in groups.items() if learners}


def shown(learner: str) -> str:
    """A learner's name as a person reading the table tells it from another: one that differs from
    a plain name only by what does not show (spaces at an end, a combining accent instead of the
    accented letter, an invisible or control character) is printed escaped and quoted."""
    plain = learner == learner.strip() and unicodedata.normalize("NFC", learner) == learner
    if plain and not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in learner):
        return learner
    return ascii(learner)


def _columns(text: str) -> int:
    """The terminal columns text takes: a wide character (CJK) two, a combining one none."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def progress_line(submission: Submission, done: int, total: int) -> str:
    verdict = "passed" if submission.passed else f"failed ({submission.cause}): " + ", ".join(submission.failing)
    return f"[{done}/{total}] {shown(submission.learner)}: {verdict} ({submission.report.seconds:.1f} s)"


def progress_bar(done: int, total: int, passed: int, started: float, now: float, width: int = 30) -> str:
    """One line redrawn in place in a terminal: the bar, counts and the time left at this pace."""
    filled = round(width * done / total) if total else width
    left = (now - started) / done * (total - done) if done else 0.0
    eta = f", about {_clock(left)} left" if done and done < total else ""
    return f"grading [{'#' * filled}{'.' * (width - filled)}] {done}/{total}, {passed} passed{eta}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def as_table(submissions: list[Submission]) -> str:
    width = max(len("learner"), *(_columns(shown(s.learner)) for s in submissions))
    several = len({s.engine for s in submissions}) > 1  # then each row says which engine graded it
    lines = [f"{'learner':<{width}}  result  score    seconds  why" + ("  (engine)" if several else "")]
    for s in submissions:
        result = "passed" if s.passed else "FAILED"
        cause = s.cause or "-"
        on = f"  ({s.engine})" if several else ""
        name = shown(s.learner)
        padding = " " * (width - _columns(name))
        lines.append(f"{name}{padding}  {result}  {f'{s.score}/{s.out_of}':<7}  {s.report.seconds:7.1f}  {cause}{on}")
        lines += [f"{'':<{width}}    - {reason}" for reason in s.reasons]
        if s.same_as:
            lines.append(f"{'':<{width}}    ! the same files as {', '.join(map(shown, s.same_as))}")
    lines += ["", str(summarize(submissions))]
    causes = by_cause(submissions)
    if causes:
        by = [f"{cause} {len(who)} ({', '.join(map(shown, who))})" for cause, who in causes.items()]
        lines.append("failed, by cause: " + "; ".join(by))
    twins = sorted({tuple(sorted((s.learner, *s.same_as))) for s in submissions if s.same_as})
    for group in twins:
        lines.append(f"identical submissions: {', '.join(map(shown, group))}")
    return "\n".join(lines)


def as_csv(submissions: list[Submission]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["learner", "passed", "score", "max_score", "cause", "failing_checks", "reasons", "seconds", "build_error", "identical_to", "did_you_mean", "engine"]  # noqa: E501
    )
    for s in submissions:
        writer.writerow(
            [
                s.learner, str(s.passed).lower(), s.score, s.out_of, s.cause, " ".join(s.failing), " | ".join(s.reasons),
                f"{s.report.seconds:.1f}", s.note, " ".join(s.same_as), s.suggestion, s.engine,
            ]
        )
    return out.getvalue().rstrip("\n")


def as_json(exercise: Exercise, submissions: list[Submission]) -> str:
    summary = summarize(submissions)
    return json.dumps(
        {
            "format": "docker-tutor-grade",
            "exercise": exercise.id,
            "passed": summary.passed,
            "failed": summary.failed,
            "most_failed": [{"check": check, "learners": n} for check, n in summary.most_failed],
            "causes": by_cause(submissions),
            "submissions": [
                {
                    "learner": s.learner,
                    "passed": s.passed,
                    "score": s.score,
                    "max_score": s.out_of,
                    "cause": s.cause,
                    "failing_checks": s.failing,
                    "reasons": s.reasons,
                    "identical_to": list(s.same_as),
                    "did_you_mean": s.suggestion,
                    "engine": s.engine,
                    "report": s.report.to_dict(),
                }
                for s in submissions
            ],
        },
        indent=2,
    )


def as_junit(submissions: list[Submission]) -> str:
    # One test suite per learner: CI test views then list the class by name.
    return formats.as_junit(
        [dataclasses.replace(s.report, exercise_id=s.learner) for s in submissions],
        scores=[(s.score, s.out_of) for s in submissions],
    )
