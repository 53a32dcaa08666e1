"""How fast is checking? The tutor against the same work done with the plain docker CLI.

    python benchmarks/run.py [--repeat 3] [--exercises ID ...]

Prints Markdown tables (benchmarks/RESULTS.md keeps the latest). Every figure is the median of
--repeat runs with min–max beside it; tutor and CLI runs alternate so drift hits both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import TUTOR, measure, summary  # noqa: E402

from tutor import locations  # noqa: E402
from tutor.content.loader import load_curriculum  # noqa: E402
from tutor.content.model import Exercise  # noqa: E402
from tutor.engine.checks import Check, compile_check  # noqa: E402
from tutor.engine.dockerhost import connect  # noqa: E402
from tutor.engine.folder_images import image_tag  # noqa: E402
from tutor.engine.grader import Grading, grade  # noqa: E402

PLAIN_TAG = "docker-tutor-bench/plain"
# How the plain side builds: the classic builder, or BuildKit through a CLI that has its client
# (Debian's docker.io CLI does; a CLI without buildx falls back to the classic builder).
BUILD_CLI = {"classic": "DOCKER_BUILDKIT=0 docker build", "buildkit": "DOCKER_BUILDKIT=1 /usr/bin/docker build"}
build_cli = BUILD_CLI["classic"]


def cli_script(exercise: Exercise, folder: Path) -> str:
    """The docker CLI calls that do the same work as the exercise's checks, as one shell script."""
    image = PLAIN_TAG
    lines = ["set -e", f"{build_cli} -q -t {image} {shlex.quote(str(folder))} >/dev/null"]
    for check in (compile_check(spec) for spec in exercise.checks):
        lines += _cli_for(check, image, folder)
    return "\n".join(lines)


def _cli_for(check: Check, image: str, folder: Path) -> list[str]:
    kind = check.kind
    if kind == "lint":
        return [f"hadolint {shlex.quote(str(folder / 'Dockerfile'))} >/dev/null || true"]
    if kind in ("metadata", "size"):
        return [f"docker image inspect {image} >/dev/null"]
    if kind == "history":
        return [f"docker history --no-trunc {image} >/dev/null"]
    if kind == "file":
        return [f"c=$(docker create {image}); docker cp $c:{check.path} - >/dev/null 2>&1 || true; docker rm $c >/dev/null"]
    if kind == "user":
        return [f"docker run --rm --entrypoint id {image} -u >/dev/null"]
    if kind in ("command", "docker-run"):
        argv = getattr(check, "argv", [])
        entry = f"--entrypoint {shlex.quote(argv[0])} " if argv else ""
        args = " ".join(shlex.quote(a) for a in argv[1:])
        return [f"docker run --rm --network none {entry}{image} {args} >/dev/null 2>&1 || true"]
    if kind == "http":
        port = check.port or 8000
        return [
            f"c=$(docker run -d -p 127.0.0.1::{port} {image}); p=$(docker port $c {port} | head -n1 | cut -d: -f2)",
            f"until curl -sf -X {check.method} {'-d ' + shlex.quote(check.body) if check.body else ''} "
            f"http://127.0.0.1:$p{check.path} >/dev/null; do sleep 0.2; done; docker rm -f $c >/dev/null",
        ]
    if kind == "health":
        return [
            f"c=$(docker run -d {image})",
            "until [ \"$(docker inspect -f '{{.State.Health.Status}}' $c)\" = healthy ]; do sleep 0.2; done; "
            "docker rm -f $c >/dev/null",
        ]
    if kind == "stop":
        return [
            f"c=$(docker run -d {image}); sleep {check.ready_seconds}; "
            f"docker stop -t {check.grace} $c >/dev/null; docker rm $c >/dev/null"
        ]
    if kind == "cache":
        return [
            f"t=$(mktemp -d); cp -a {shlex.quote(str(folder))}/. $t; echo '# edit' >> $t/{check.change}",
            f"i=$({build_cli} -q $t); rm -rf $t; docker rmi $i >/dev/null 2>&1 || true",
        ]
    return []  # dockerfile.* and context checks read files only


def forget(exercise: Exercise, folder: Path) -> None:
    """Make the next build cold: remove every image of the exercise (any folder's) and the CLI's,
    with the layers only they use, and what the tutor kept of any image (its file counts)."""
    shutil.rmtree(locations.cache_dir(), ignore_errors=True)
    listed = subprocess.run(
        ["docker", "images", "-q", "--filter", f"label=org.docker-tutor.exercise={exercise.id}"],
        capture_output=True, text=True,
    ).stdout.split()
    for ref in [*set(listed), image_tag(exercise, folder), PLAIN_TAG]:
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)


CASES = ("cold", "warm", "unchanged")


def check_overhead(exercises: list[Exercise], repeat: int) -> list[str]:
    """cold: no layer cached; warm: a fresh copy of the folder, every layer cached;
    unchanged: the same folder checked again, which the tutor can prove needs no build.

    Each case is timed three ways: `docker-tutor check` as a new process; `grade()` inside a
    running process, which is what the TUI's Check does; and the plain docker CLI. Exercises
    judged from the Dockerfile alone are left out: the tutor builds nothing there."""
    rows = [
        "| exercise | case | tutor check s | in the TUI s | docker CLI s | ratio check/CLI | ratio TUI/CLI |",
        "|---|---|---|---|---|---|---|",
    ]
    medians: dict[tuple[str, str], list[float]] = {(case, way): [] for case in CASES for way in ("check", "TUI")}
    grading = Grading.learners_check()  # as the tutor's Check grades
    for exercise in (e for e in exercises if any(compile_check(spec).needs_engine for spec in e.checks)):
        with tempfile.TemporaryDirectory() as temp:
            for case in CASES:
                tutor, inside, plain = [], [], []
                for run in range(repeat):
                    if case == "unchanged":
                        folders = [Path(temp) / case] * 2
                        if run == 0:
                            shutil.copytree(exercise.solution_dir, folders[0])
                            measure([*TUTOR, "check", exercise.id, "--dir", str(folders[0])])
                    else:
                        folders = [Path(temp) / f"{case}{run}{way}" for way in "ab"]
                        for folder in folders:
                            shutil.copytree(exercise.solution_dir, folder)
                    script = cli_script(exercise, folders[0])
                    if case == "cold":
                        forget(exercise, folders[0])
                    tutor.append(measure([*TUTOR, "check", exercise.id, "--dir", str(folders[0])]).seconds)
                    if case == "cold":
                        forget(exercise, folders[0])
                    started = time.perf_counter()
                    grade(exercise, folders[1], connect, grading=grading)
                    inside.append(time.perf_counter() - started)
                    if case == "cold":
                        forget(exercise, folders[1])
                    plain.append(measure(["bash", "-c", script]).seconds)
                by_check = [a / b for a, b in zip(tutor, plain, strict=False)]
                by_tui = [a / b for a, b in zip(inside, plain, strict=False)]
                rows.append(
                    f"| {exercise.id} | {case} | {summary(tutor)} | {summary(inside)} | {summary(plain)} "
                    f"| {summary(by_check)} | {summary(by_tui)} |"
                )
                medians[case, "check"].append(statistics.median(by_check))
                medians[case, "TUI"].append(statistics.median(by_tui))
                print(rows[-1], file=sys.stderr)
            for folder in Path(temp).iterdir():
                forget(exercise, folder)
    subprocess.run(["docker", "rmi", "-f", PLAIN_TAG], capture_output=True)
    rows += ["", "| case | way | median ratio over the exercises | lowest | highest |", "|---|---|---|---|---|"]
    for (case, way), ratios in medians.items():
        if ratios:
            rows.append(f"| {case} | {way} | {statistics.median(ratios):.2f} | {min(ratios):.2f} | {max(ratios):.2f} |")
    return rows


def recheck_after_edit(exercise: Exercise, source: str, repeat: int) -> list[str]:
    rows = ["| case | seconds |", "|---|---|"]
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / exercise.id
        shutil.copytree(exercise.solution_dir, folder)
        edits, fulls = [], []
        for index in range(repeat):
            measure([*TUTOR, "check", exercise.id, "--dir", str(folder)])  # warm the cache
            with open(folder / source, "a") as handle:
                handle.write(f"\n# edit {index}\n")
            edits.append(measure([*TUTOR, "check", exercise.id, "--dir", str(folder)]).seconds)
            forget(exercise, folder)
            fulls.append(measure([*TUTOR, "check", exercise.id, "--dir", str(folder)]).seconds)
        forget(exercise, folder)
    rows.append(f"| {exercise.id}: re-check after a one-line edit of {source} | {summary(edits)} |")
    rows.append(f"| {exercise.id}: full rebuild and check | {summary(fulls)} |")
    return rows


def verify_jobs(exercises: list[Exercise], repeat: int) -> list[str]:
    rows = ["| jobs | cold s | warm s |", "|---|---|---|"]
    for jobs in (1, 2, 4):
        cold, warm = [], []
        for _ in range(repeat):
            for exercise in exercises:
                forget(exercise, exercise.solution_dir.resolve())
                forget(exercise, exercise.starter_dir.resolve())
            cold.append(measure([*TUTOR, "verify", "--quick", "--jobs", str(jobs)]).seconds)
            warm.append(measure([*TUTOR, "verify", "--quick", "--jobs", str(jobs)]).seconds)
        rows.append(f"| {jobs} | {summary(cold)} | {summary(warm)} |")
        print(rows[-1], file=sys.stderr)
    return rows


def startup(repeat: int) -> list[str]:
    rows = ["| what | seconds | peak MB |", "|---|---|---|"]
    runs = [measure([*TUTOR, "--version"]) for _ in range(repeat)]
    rows.append(f"| docker-tutor --version | {summary([r.seconds for r in runs])} | {summary([r.peak_mb for r in runs])} |")
    runs = [measure([*TUTOR, "list"]) for _ in range(repeat)]
    rows.append(f"| docker-tutor list | {summary([r.seconds for r in runs])} | {summary([r.peak_mb for r in runs])} |")
    if shutil.which("tmux"):
        paints = [_first_paint() for _ in range(repeat)]
        rows.append(f"| TUI: start to first painted home screen (tmux, 80x24) | {summary(paints)} | |")
    return rows


def _first_paint() -> float:
    """Seconds from starting the TUI in a tmux pane until its home screen text appears."""
    session = f"bench{time.time_ns()}"
    started = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", f"{sys.executable} -m tutor"], check=True)
    try:
        while time.perf_counter() - started < 20:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            if "Welcome" in screen or "lesson" in screen.lower():
                return time.perf_counter() - started
            time.sleep(0.02)
        return float("nan")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exercises", nargs="*", help="exercise ids for the overhead table (default: all)")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument(
        "--builder", choices=sorted(BUILD_CLI), default="classic",
        help="the builder of both sides: the tutor's --builder and the plain CLI's DOCKER_BUILDKIT",
    )
    args = parser.parse_args()
    global build_cli
    build_cli = BUILD_CLI[args.builder]
    os.environ["DOCKER_TUTOR_BUILDER"] = args.builder
    # The tutor's remembered verdicts, progress and cache go to a folder of their own, not the user's.
    with tempfile.TemporaryDirectory(prefix="docker-tutor-bench-") as data:
        os.environ["DOCKER_TUTOR_DATA"] = data
        os.environ["DOCKER_TUTOR_CACHE"] = os.path.join(data, "cache")
        report(args)


def report(args: argparse.Namespace) -> None:
    curriculum = load_curriculum([locations.content_root()])
    chosen = [e for e in curriculum.exercises if not args.exercises or e.id in args.exercises]
    docker = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True).stdout.strip()
    print(f"# Benchmark results\n\nMachine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, "
          f"Docker engine {docker}, builder {args.builder}, {args.repeat} runs each (median (min–max)).\n")
    print("## 1. Check overhead: `docker-tutor check` of a reference solution against the plain docker CLI\n")
    print("\n".join(check_overhead(chosen, args.repeat)))
    cache_exercise = next((e for e in curriculum.exercises if any(s.kind == "cache" for s in e.checks)), None)
    if cache_exercise:
        change = next(s.params["change"] for s in cache_exercise.checks if s.kind == "cache")
        print("\n## 2. Re-check after a one-line source edit\n")
        print("\n".join(recheck_after_edit(cache_exercise, change, args.repeat)))
    if not args.skip_verify:
        print(f"\n## 3. `docker-tutor verify --jobs N`, whole curriculum ({len(curriculum.exercises)} exercises)\n")
        print("\n".join(verify_jobs(list(curriculum.exercises), max(1, args.repeat // 2))))
    print("\n## 4. Start-up\n")
    print("\n".join(startup(args.repeat)))


def _cores() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
