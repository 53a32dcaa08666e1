"""The command line: parse options, call the engine, print a report. Errors are caught here, once."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from tutor import __version__, locations
from tutor.errors import ExitCode, TutorError, UsageError
from tutor.served.guard import Limits
from tutor.words import plural

DEFAULTS = Limits()

if TYPE_CHECKING:
    from tutor.classroom.lint_content import Finding
    from tutor.content.model import Curriculum, Exercise
    from tutor.content.variants import Variant


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docker-tutor",
        description="Learn Docker by building real images. With no command, opens the tutor.",
    )
    parser.add_argument("--version", action="version", version=f"docker-tutor {__version__}")
    parser.add_argument(
        "--content",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="extra lessons/ and exercises/ to load after the built-in ones (also DOCKER_TUTOR_CONTENT)",
    )
    parser.add_argument(
        "--content-only",
        action="store_true",
        default=bool(os.environ.get("DOCKER_TUTOR_CONTENT_ONLY")),
        help="load only the --content folders, not the built-in curriculum (also DOCKER_TUTOR_CONTENT_ONLY=1)",
    )
    parser.add_argument("--engine", metavar="NAME|URL", help=ENGINE_HELP)
    parser.add_argument("--builder", choices=BUILDER_CHOICES, help=BUILDER_HELP)
    parser.add_argument("--session", type=Path, help=argparse.SUPPRESS)  # set by `serve`: the learner's session folder
    parser.add_argument("--workspace", type=Path, help="folder of your exercise copies (default ~/docker-tutor, or DOCKER_TUTOR_WORKSPACE)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("doctor", help="is the Docker engine usable? are the base images here?")

    listing = commands.add_parser("list", help="lessons and exercises in order, with your status")
    listing.add_argument("--format", choices=["text", "json"], default="text")

    check = commands.add_parser("check", help="build and grade an exercise")
    check.add_argument("exercise", help="exercise id, e.g. 04-first-dockerfile (see: docker-tutor list)")
    where = check.add_mutually_exclusive_group()
    where.add_argument("--dir", type=Path, help="grade this folder instead of your workspace copy")
    where.add_argument("--solution", action="store_true", help="grade the reference solution")
    check.add_argument("--format", choices=["text", "json", "junit"], default="text")

    verify = commands.add_parser("verify", help="every reference solution passes and every starter fails")
    verify.add_argument("exercises", nargs="*", help="only these exercises")
    verify.add_argument("--jobs", type=int, default=1, help="exercises graded at once (default 1)")
    verify.add_argument(
        "--quick", action="store_true",
        help="solutions and starters only: skip typical mistakes, correct alternatives and house-rule mutants",
    )

    commands.add_parser("clean", help="remove the containers and images your docker-tutor made (not other users')")

    serve = commands.add_parser("serve", help="the tutor in a web browser for a class: each learner joins under a name")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--sessions", type=Path, help="where each learner's workspace and progress go (default: a folder in your data dir)")
    serve.add_argument(
        "--max-learners", type=_positive, default=DEFAULTS.max_learners, metavar="N",
        help=f"names that may join (default {DEFAULTS.max_learners})",
    )
    serve.add_argument(
        "--max-processes", type=_positive, default=DEFAULTS.max_processes, metavar="N",
        help=f"tutor processes (open tabs) at once, the whole class (default {DEFAULTS.max_processes})",
    )
    serve.add_argument(
        "--max-tabs", type=_positive, default=DEFAULTS.max_tabs, metavar="N",
        help=f"tabs one learner may have open at once (default {DEFAULTS.max_tabs})",
    )
    serve.add_argument(
        "--idle-minutes", type=_positive_float, default=DEFAULTS.idle_minutes, metavar="M",
        help=f"close a tab with no key press for M minutes; its work is kept (default {DEFAULTS.idle_minutes:g})",
    )
    serve.add_argument(
        "--joins-at-once", type=_positive, default=DEFAULTS.joins_at_once, metavar="N",
        help=f"new names one client address may take at once (a class behind one NAT shares it; default {DEFAULTS.joins_at_once})",
    )
    serve.add_argument(
        "--joins-per-minute", type=_positive_float, default=DEFAULTS.joins_per_minute, metavar="M",
        help=f"then new names per minute from that address (default {DEFAULTS.joins_per_minute:g}); a wrong class code counts as one",
    )
    serve.add_argument(
        "--class-code", metavar="CODE",
        help="the code learners give to join (default: DOCKER_TUTOR_CLASS_CODE, or one made, kept with the sessions "
        "and printed at start); other users of this machine can read a command line, the environment they cannot",
    )
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="a host name learners use to reach this server (IP addresses, localhost and this machine's name are allowed already)",
    )
    serve.add_argument("--public-url", metavar="URL", help="the address learners open, when a TLS proxy stands in front (https://...)")
    serve.add_argument(
        "--engine", dest="engines", action="append", default=[], metavar="NAME|URL",
        help="an engine for the learners' builds (a docker context name, unix://, tcp://, ssh://); give it several "
        "times to spread the tabs over them",
    )
    serve.add_argument(
        "--instructor-password-file", type=Path, metavar="FILE",
        help="the instructor page's password (default: DOCKER_TUTOR_INSTRUCTOR_PASSWORD, or one made and kept with the sessions)",
    )

    images = commands.add_parser("images", help="the base images the exercises build FROM: present? pull, save, load")
    image_actions = images.add_subparsers(dest="images_action", metavar="ACTION")
    pull = image_actions.add_parser("pull", help="pull the missing base images, showing each layer")
    pull.add_argument("names", nargs="*", metavar="IMAGE", help="only these images")
    pull.add_argument("--exercise", help="only the base images of this exercise (e.g. in CI)")
    save = image_actions.add_parser("save", help="write the base images into one tar, for machines without network")
    save.add_argument("file", type=Path)
    save.add_argument("names", nargs="*", metavar="IMAGE", help="only these images (default: every base image)")
    save.add_argument("--exercise", help="only the base images of this exercise")
    load = image_actions.add_parser("load", help="load images from a tar written by 'images save'")
    load.add_argument("file", type=Path)

    lint = commands.add_parser("lint-content", help="validate a content pack: schema, checks, files, then solutions and starters")
    lint.add_argument("pack", type=Path, metavar="DIR", help="folder holding lessons/ and exercises/")
    lint.add_argument("--no-build", action="store_true", help="schema, checks and files only; no engine needed")
    lint.add_argument("--jobs", type=int, default=1, help="exercises graded at once (default 1)")

    pack = commands.add_parser("pack", help="content packs for a class: release a learner's copy")
    pack_actions = pack.add_subparsers(dest="pack_action", metavar="ACTION", required=True)
    release = pack_actions.add_parser("release", help="a learner's copy: no solutions, no hidden checks, no mistakes")
    release.add_argument("pack", type=Path, metavar="DIR", help="the instructor's pack (lessons/ and exercises/)")
    release.add_argument("out", type=Path, metavar="OUT", help="a new folder for the learner's copy")

    grade = commands.add_parser("grade", help="grade a class: one subfolder per learner, in parallel")
    grade.add_argument("exercise", help="exercise id, e.g. 04-first-dockerfile")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR", help="one subfolder per learner, named after them")
    grade.add_argument("--jobs", type=int, default=4, help="submissions graded at once (default 4)")
    grade.add_argument("--format", choices=["table", "csv", "junit", "json"], default="table")
    grade.add_argument(
        "--engine", dest="engines", action="append", default=[], metavar="NAME|URL",
        help="an engine to grade on (a docker context name, unix://, tcp://, ssh://); give it several times to "
        "spread the class over them",
    )

    progress = commands.add_parser("progress", help="your progress, to hand in to an instructor")
    progress_actions = progress.add_subparsers(dest="progress_action", metavar="ACTION", required=True)
    export = progress_actions.add_parser("export", help="write your progress as JSON")
    export.add_argument("--output", type=Path, metavar="FILE", help="write here instead of to the terminal")
    export.add_argument("--learner", help="your name in the class report (default: your login name)")

    report = commands.add_parser("report", help="a class report from learners' progress exports")
    report.add_argument("files", type=Path, nargs="+", metavar="FILE", help="files written by 'progress export', a served class's export, or 'grade --format json'")  # noqa: E501
    report.add_argument("--format", choices=["table", "html"], default="table")
    report.add_argument("--output", type=Path, metavar="FILE", help="write here instead of to the terminal")
    for command in commands.choices.values():  # also accepted after the command: docker-tutor check 04 --engine colima
        if not any("--engine" in action.option_strings for action in command._actions):  # serve has its own
            command.add_argument("--engine", metavar="NAME|URL", default=argparse.SUPPRESS, help=ENGINE_HELP)
        command.add_argument("--builder", choices=BUILDER_CHOICES, default=argparse.SUPPRESS, help=BUILDER_HELP)
    return parser


BUILDER_CHOICES = ["auto", "buildkit", "classic"]
BUILDER_HELP = (
    "how images are built: BuildKit where the engine offers it (auto, the default), or the "
    "classic builder (also DOCKER_TUTOR_BUILDER)"
)


ENGINE_HELP = (
    "the Docker engine to use: a docker context name or a host URL such as unix:///path/to/docker.sock "
    "(also DOCKER_TUTOR_ENGINE; default: found as the docker CLI finds it, see doctor)"
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so builds are cancelled and containers removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.engine:  # (grade's and serve's --engine after the command is their own list of engines)
        # Through the environment, so the TUI and the processes `serve` starts use the same engine.
        os.environ["DOCKER_TUTOR_ENGINE"] = args.engine
    try:
        _choose_builder(args)
        if args.session:
            _enter_session(args)
        if args.command is None:
            from tutor.app import run_app

            _curriculum(args)  # a broken pack is refused here, with every problem named, not at a check
            return run_app(content_roots(args), workspace_root(args))
        return COMMANDS[args.command](args)
    except TutorError as exc:
        print(f"docker-tutor: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("docker-tutor: interrupted; everything it started has been removed", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (docker-tutor list | head): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.FAILED)
    except Exception:
        # Not the learner's mistake nor the engine's: a bug in docker-tutor. Say so, with the evidence.
        traceback.print_exc()
        print(
            f"docker-tutor {__version__}: internal error. This is a bug in docker-tutor, not in your work: "
            "please report it with the lines above.",
            file=sys.stderr,
        )
        return int(ExitCode.BUG)


def _choose_builder(args: argparse.Namespace) -> None:
    """--builder travels in the environment, so the processes `serve` starts use it too.

    `serve` and `grade` run many people's builds on one engine: there `auto` builds with the
    classic builder, whose build steps keep their memory limit, unless a Dockerfile uses what only
    BuildKit builds (tutor/engine/builders/choice.py)."""
    from tutor.engine.builders.choice import ENV_VAR, SHARED_ENV_VAR

    if args.builder:
        os.environ[ENV_VAR] = args.builder
    if args.command in ("serve", "grade"):
        os.environ[SHARED_ENV_VAR] = "1"


def content_roots(args: argparse.Namespace) -> list[Path]:
    if args.content_only and not _own_roots(args):
        raise UsageError("--content-only needs at least one --content DIR (or DOCKER_TUTOR_CONTENT)")
    return graded_on(args)


def _own_roots(args: argparse.Namespace) -> list[Path]:
    extra = [Path(p) for p in os.environ.get("DOCKER_TUTOR_CONTENT", "").split(os.pathsep) if p]
    return [*extra, *args.content]


def graded_on(args: argparse.Namespace) -> list[Path]:
    """The content every other folder is loaded after: the built-in curriculum (unless
    --content-only), then each --content. A pack linted or released is judged on top of it, as
    `--content PACK` grades it (the built-in house rules apply to the pack's exercises)."""
    return _own_roots(args) if args.content_only else [locations.content_root(), *_own_roots(args)]


def workspace_root(args: argparse.Namespace) -> Path:
    return args.workspace.expanduser() if args.workspace else locations.workspace_dir()


def _curriculum(args: argparse.Namespace) -> Curriculum:
    from tutor.classroom.lint_content import load_checked

    return load_checked(content_roots(args))


def _exercise(curriculum: Curriculum, exercise_id: str) -> Exercise:
    exercise = curriculum.exercise(exercise_id)
    if exercise is None:
        import difflib

        ids = [e.id for e in curriculum.exercises]
        close = difflib.get_close_matches(exercise_id, ids, n=1, cutoff=0.4)
        hint = f"Did you mean {close[0]}? " if close else ""
        raise UsageError(f"no exercise named {exercise_id!r}", hint=hint + "See: docker-tutor list")
    return exercise


def cmd_list(args: argparse.Namespace) -> int:
    from tutor.progress import Progress

    curriculum = _curriculum(args)
    progress = Progress(locations.progress_file())
    exercises = progress.load()["exercises"]
    _warn(progress.warnings)
    rows = [
        {
            "id": e.id,
            "title": e.title,
            "lesson": e.lesson,
            "status": exercises.get(e.id, {}).get("status", "not started"),
        }
        for e in curriculum.exercises
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for lesson in curriculum.lessons:
        print(f"{lesson.id}  {lesson.title}")
        for row in rows:
            if row["lesson"] == lesson.id:
                print(f"    {row['id']:<32} {row['status']:<12} {row['title']}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from tutor import formats
    from tutor.engine.events import Event, GradeWarning
    from tutor.engine.grader import Grading, grade
    from tutor.progress import Progress, ProgressNotSaved
    from tutor.workspace import Workspace

    exercise = _exercise(_curriculum(args), args.exercise)
    if args.solution:
        directory = exercise.solution_dir
    elif args.dir:
        directory = args.dir
        if not directory.is_dir():
            raise UsageError(f"{directory} is not a folder", hint="--dir takes the folder that holds your Dockerfile.")
    else:
        directory = Workspace(workspace_root(args)).ensure(exercise)

    def on_event(event: Event) -> None:
        if isinstance(event, GradeWarning):
            _warn([event.text])

    report = grade(exercise, directory.resolve(), grading=Grading.learners_check(), on_event=on_event)
    if not args.solution and not args.dir:
        progress = Progress(locations.progress_file())
        try:
            progress.record_report(report)
        except ProgressNotSaved as exc:
            print(f"docker-tutor: warning: {exc.message}", file=sys.stderr)
        _warn(progress.warnings)
    if args.format == "json":
        print(formats.as_json(report))
    elif args.format == "junit":
        print(formats.as_junit([report]))
    else:
        print(formats.as_text(report))
        if not args.solution and not args.dir:
            print(f"  (your folder: {directory})")
    return int(ExitCode.OK if report.passed else ExitCode.FAILED)


class VariantTally:
    """Counts of graded variants by kind, and how many were judged as they must be."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}
        self.lock = threading.Lock()

    def add(self, variant: Variant, problem: str) -> None:
        with self.lock:
            good, total = self.counts.setdefault(variant.kind, [0, 0])
            self.counts[variant.kind] = [good + (not problem), total + 1]

    def __str__(self) -> str:
        words = {"alternative": "correct alternatives accepted", "mutant": "house-rule mutants rejected and named"}
        parts = [
            f"{words[kind]}: {good}/{total} ({100 * good / total:.0f}%)"
            for kind, (good, total) in sorted(self.counts.items()) if total
        ]
        return "; ".join(parts) or "no correct alternatives or house-rule mutants graded"


def cmd_verify(args: argparse.Namespace) -> int:
    from tutor.classroom.lint_content import lint_grading
    from tutor.engine.checks import compile_check
    from tutor.engine.dockerhost import connect

    curriculum = _curriculum(args)
    exercises = [_exercise(curriculum, e) for e in args.exercises] or list(curriculum.exercises)
    for exercise in exercises:
        for spec in exercise.checks:
            compile_check(spec)

    def show(exercise: Exercise, findings: list[Finding]) -> None:
        notes = "; ".join(str(f).removeprefix(f"exercises/{exercise.id}/") for f in findings)
        print(f"{'FAIL' if findings else 'ok  '} {exercise.id}" + (f"  ({notes})" if notes else ""))

    tally = VariantTally()
    # Images are kept: they are the cache that makes the next verify (or check) fast.
    found = lint_grading(
        exercises, connect, jobs=args.jobs, keep_image=True, mistakes=not args.quick, variants=not args.quick,
        on_exercise=show, on_variant=tally.add,
    )
    problems = len({f.where.split("/")[1] for f in found})
    print(f"{len(exercises) - problems} passed, {problems} failed")
    if not args.quick:
        print(tally)
    return int(ExitCode.OK if problems == 0 else ExitCode.FAILED)


def cmd_doctor(args: argparse.Namespace) -> int:
    from tutor.doctor import diagnose

    curriculum = _curriculum(args)
    findings = diagnose(curriculum)
    for finding in findings:
        print(f"{'ok  ' if finding.ok else 'FAIL'} {finding.title}: {finding.detail}")
        if not finding.ok and finding.fix:
            print(f"     fix: {finding.fix}")
    worst = [f for f in findings if not f.ok]
    if any(f.blocking for f in worst):
        return int(ExitCode.NO_ENGINE)
    return int(ExitCode.FAILED if worst else ExitCode.OK)


def cmd_clean(args: argparse.Namespace) -> int:
    from tutor.engine.dockerhost import EXERCISE_LABEL, MANAGED_LABEL, connect

    containers, images = connect().sweep(images=True)
    removed = f"{plural(containers, 'container')} and {plural(images, 'image')}"
    print(f"removed {removed} made by your docker-tutor (data folder {locations.data_dir()})")
    print(
        "  Other users' tutor images on this engine were left alone. To remove every image and container "
        "any docker-tutor made here, every user's, checks under way included (with the right to do so; "
        "on a shared engine, only when no one is using the tutor):\n"
        f"    docker rm -f $(docker ps -aq --filter label={MANAGED_LABEL}=true)\n"
        f"    docker image rm $(docker image ls -q --filter label={EXERCISE_LABEL})"
    )
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from tutor.classroom import images
    from tutor.engine.dockerhost import connect

    action = args.images_action
    if action == "load":
        host = connect()
        for name in images.load(host, args.file):
            print(f"loaded {name}")
        return 0
    chosen = getattr(args, "names", None)
    names = chosen or _base_images(args)
    host = connect()
    statuses = images.statuses(host, names)
    if action == "save":
        if not chosen:  # every base image that is here; name a missing one to be told it is missing
            names = [s.name for s in statuses if s.present]
            for status in statuses:
                if not status.present:
                    print(f"not here, so not saved: {status.name}", file=sys.stderr)
        size = images.save(host, names, args.file)
        print(f"saved {plural(len(names), 'image')} ({size / 1e6:.0f} MB) to {args.file}: {', '.join(names)}")
        print(f"  on the other machine: docker-tutor images load {args.file.name}")
        return 0
    if action is None:
        for status in statuses:
            print(f"{'ok  ' if status.present else 'MISS'} {status.name:<32} {images.describe(status)}")
        missing = sum(not s.present for s in statuses)
        if missing:
            print(f"{missing} missing: docker-tutor images pull (offline: docker-tutor images load FILE)")
        return int(ExitCode.FAILED if missing else ExitCode.OK)
    failures = 0
    for status in statuses:
        if status.present:
            print(f"{status.name}: already here")
            continue
        print(f"{status.name}: pulling")
        seen: dict[str, object] = {}

        def show(update: images.PullProgress, seen: dict[str, object] = seen) -> None:
            line = images.progress_line(update, seen)
            if line:
                print(line, flush=True)

        try:
            images.pull(host, status.name, show)
            print(f"{status.name}: pulled")
        except images.PullFailed as exc:
            failures += 1
            print(f"docker-tutor: {exc.message}", file=sys.stderr)
    if failures:
        print(
            f"  {plural(failures, 'image')} not pulled. Is the network (or a registry mirror) reachable? "
            "Offline: docker-tutor images load FILE, with a tar saved on a machine that has them.",
            file=sys.stderr,
        )
    return int(ExitCode.FAILED if failures else ExitCode.OK)


def _base_images(args: argparse.Namespace) -> list[str]:
    from tutor.content.model import Curriculum
    from tutor.doctor import base_images

    curriculum = _curriculum(args)
    if getattr(args, "exercise", None):
        curriculum = Curriculum(lessons=(), exercises=(_exercise(curriculum, args.exercise),))
    return base_images(curriculum)


def cmd_lint_content(args: argparse.Namespace) -> int:
    from tutor.classroom.lint_content import lint_grading, lint_static

    curriculum, findings = lint_static(args.pack, under=graded_on(args))
    for finding in findings:
        print(finding)
    if curriculum is None or findings:
        print(f"{plural(len(findings), 'content problem')} in {args.pack}")
        return int(ExitCode.USAGE)
    summary = f"{plural(len(curriculum.lessons), 'lesson')}, {plural(len(curriculum.exercises), 'exercise')}"
    in_force = sorted({rule.id for exercise in curriculum.exercises for rule in exercise.rules})
    summary += f"; house rules in force, as grade applies them: {', '.join(in_force) or 'none'}"
    if args.no_build:
        print(f"ok: {summary} (not built: --no-build)")
        return 0
    from tutor.engine.dockerhost import connect

    def show(exercise: Exercise, problems: list[Finding]) -> None:
        print(f"{'ok  ' if not problems else 'FAIL'} {exercise.id}", flush=True)
        for problem in problems:
            print(f"     {problem}")

    tally = VariantTally()
    failures = lint_grading(
        list(curriculum.exercises), connect, jobs=args.jobs, mistakes=True, variants=True, on_exercise=show, on_variant=tally.add
    )
    print(tally)
    if failures:
        print(
            f"{plural(len(failures), 'grading problem')}: a solution must pass, a starter must fail, each mistake "
            "must fail the checks it names with the message it names, each alternative must pass, and each "
            "house-rule mutant must fail its rule"
        )
        return int(ExitCode.FAILED)
    print(f"ok: {summary}; every solution passes, every starter fails, every mistake fails as it says")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    import time

    from tutor.classroom import grading
    from tutor.engine.dockerhost import connect

    exercise = _exercise(_curriculum(args), args.exercise)
    folders = grading.submission_folders(args.submissions)
    skipped = grading.skipped_entries(args.submissions)
    if skipped:
        _warn([f"skipped, not a learner's folder: {', '.join(skipped)}"])
    started, passed = time.monotonic(), 0
    # A terminal gets one bar redrawn in place; a pipe or a log gets a plain line per learner.
    in_terminal = sys.stderr.isatty()

    def show(submission: grading.Submission, done: int, total: int) -> None:
        nonlocal passed
        passed += submission.passed
        if in_terminal:
            bar = grading.progress_bar(done, total, passed, started, time.monotonic())
            print(f"\r\033[K{bar}", end="\n" if done == total else "", file=sys.stderr, flush=True)
        else:
            print(grading.progress_line(submission, done, total), file=sys.stderr, flush=True)

    from tutor.classroom.engines import Engine, EnginePool, class_engines, connector

    choices = class_engines(args.engines, "grade")
    named = [Engine(value, connector(c)) for value, c in zip(args.engines, choices, strict=True)]
    engines = EnginePool(named, warn=lambda text: _warn([text])) if choices else None

    def warn(text: str) -> None:
        print("\r\033[K" if in_terminal else "", end="", file=sys.stderr)  # off the progress bar's line
        _warn([text])

    submissions = grading.grade_class(exercise, folders, connect, jobs=args.jobs, on_graded=show, on_warning=warn, engines=engines)
    if engines is not None:
        for line in engines.summary():
            print(f"engine {line}", file=sys.stderr)
    if args.format == "table":
        print(grading.as_table(submissions))
    else:
        output = {"csv": grading.as_csv, "junit": grading.as_junit}.get(args.format)
        print(output(submissions) if output else grading.as_json(exercise, submissions))
        print(grading.summarize(submissions), file=sys.stderr)
    return int(ExitCode.OK if all(s.passed for s in submissions) else ExitCode.FAILED)


def cmd_pack(args: argparse.Namespace) -> int:
    from tutor.classroom.release import release

    released = release(args.pack, args.out, under=graded_on(args))
    print(f"released {plural(released.exercises, 'exercise')} to {args.out}: {plural(released.hidden_checks, 'hidden check')} cut")
    for path in released.left_out:
        print(f"  left out {path}")
    print(f"  learners: docker-tutor --content {args.out}; the instructor grades with the full pack: docker-tutor --content {args.pack} grade ...")  # noqa: E501
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    import getpass

    from tutor.classroom.reports import export
    from tutor.progress import Progress

    try:
        learner = args.learner or getpass.getuser()
    except (KeyError, OSError) as exc:
        raise UsageError("cannot tell your login name", hint="Give it: --learner NAME") from exc
    if not learner.strip():
        raise UsageError("--learner must not be empty")
    progress = Progress(locations.progress_file())
    text = json.dumps(export(progress.load(), learner), indent=2)
    _warn(progress.warnings)
    _write(text, args.output)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tutor.classroom import reports

    exports = reports.read_exports(args.files, warn=lambda text: print(f"docker-tutor: warning: {text}", file=sys.stderr))
    summaries = reports.summarize(exports)
    render = reports.as_html if args.format == "html" else reports.as_table
    _write(render(exports, summaries), args.output)
    return 0


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"docker-tutor: warning: {warning}", file=sys.stderr)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        print(text)
        return
    # Whole or not at all: a reader (or a second run writing the same file) never sees half of it.
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text + "\n", encoding="utf-8")
        os.replace(partial, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    print(f"wrote {output}", file=sys.stderr)


def _enter_session(args: argparse.Namespace) -> None:
    """A served tab: the learner's own workspace and progress, in their session folder."""
    from tutor.serve import enter_session

    folder = enter_session(args.session)
    os.environ["DOCKER_TUTOR_DATA"] = str(folder / "data")
    args.workspace = folder / "workspace"


def _pin_engine() -> None:
    """Every learner's tab grades on the engine the server found at its start (the tab processes
    inherit the environment). One named by the learner's settings is inherited as it is."""
    from tutor.engine.discovery import ENGINE_VARIABLE, chosen_engine, socket_candidates
    from tutor.engine.dockerhost import connect

    if chosen_engine() is not None or len(socket_candidates()) < 2:
        return
    try:
        os.environ[ENGINE_VARIABLE] = connect(timeout=10).choice.url
    except TutorError:
        pass  # no engine yet: each tab looks for one when it checks, and says what to do


def cmd_serve(args: argparse.Namespace) -> int:
    from tutor.classroom.engines import class_engines
    from tutor.serve import serve

    curriculum = _curriculum(args)  # a broken pack is refused here, not in a learner's tab
    class_engines(args.engines, "serve")  # an unknown context name is refused here too
    _pin_engine()
    sessions = args.sessions or locations.data_dir() / "served-sessions"
    limits = Limits(
        args.max_learners, args.max_processes, args.max_tabs, args.idle_minutes, args.joins_at_once, args.joins_per_minute
    )
    return serve(
        args.host, args.port, sessions, args.content, content_only=args.content_only, limits=limits,
        allow_hosts=args.allow_host, password_file=args.instructor_password_file, public_url=args.public_url,
        class_code=args.class_code,
        exercises=len(curriculum.exercises), engines=args.engines,
    )


COMMANDS = {
    "list": cmd_list,
    "check": cmd_check,
    "verify": cmd_verify,
    "doctor": cmd_doctor,
    "clean": cmd_clean,
    "serve": cmd_serve,
    "images": cmd_images,
    "lint-content": cmd_lint_content,
    "grade": cmd_grade,
    "pack": cmd_pack,
    "progress": cmd_progress,
    "report": cmd_report,
}
