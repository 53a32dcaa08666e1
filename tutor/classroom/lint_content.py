"""Lint a content pack the way CI should: schema, checks, referenced files, then real grading.

Every finding names a file and field, so a typo in an exercise fails a pull request, never a
learner's check. Grading uses the engine's own `grade`, so a pack is judged as learners are.
"""

from __future__ import annotations

import json
import re
import shlex
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.content.loader import RELEASED_MARK, load_curriculum
from tutor.content.model import Curriculum, Exercise
from tutor.errors import ContentError, Problem, UsageError

if TYPE_CHECKING:
    from tutor.content.variants import Variant
    from tutor.engine.dockerhost import DockerHost


@dataclass(frozen=True, slots=True)
class Finding:
    where: str  # "exercises/04-x/exercise.toml: checks[2].matches"
    message: str
    content: bool = True  # False: the content loads, but a solution fails or a starter passes

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def lint_static(root: Path, under: list[Path] | None = None) -> tuple[Curriculum | None, list[Finding]]:
    """Everything that needs no engine. The curriculum is None when the pack does not load.

    under: the content the pack is graded on top of (`--content PACK` puts it after the built-in
    curriculum), so the pack's exercises carry the house rules and lessons grade gives them. The
    curriculum returned holds the pack's own lessons and exercises, with every rule in force."""
    if not (root / "lessons").is_dir() and not (root / "exercises").is_dir():
        raise UsageError(f"{root} is not a content pack", hint="A content pack is a folder holding lessons/ and exercises/.")
    roots = [r for r in (under or []) if r.resolve() != root.resolve()] + [root]
    try:
        curriculum = load_curriculum(roots)
    except ContentError as exc:
        return None, _findings(exc.problems)
    curriculum = _within(curriculum, root)
    return curriculum, [f for exercise in curriculum.exercises for f in _static(exercise)]


def _within(curriculum: Curriculum, root: Path) -> Curriculum:
    here = root.resolve()
    return replace(
        curriculum,
        lessons=tuple(lesson for lesson in curriculum.lessons if lesson.path.resolve().is_relative_to(here)),
        exercises=tuple(e for e in curriculum.exercises if e.path.resolve().is_relative_to(here)),
    )


def load_checked(roots: list[Path]) -> Curriculum:
    """Load content as the tutor uses it, refusing a pack that lint-content would refuse.

    A broken pack must not load silently and fail a learner at their first check: the problems
    are raised at once, each naming its file and field as lint-content does.
    """
    curriculum = load_curriculum(roots)
    findings = [f for exercise in curriculum.exercises for f in _static(exercise)]
    if findings:
        raise ContentError(
            "content does not load:\n  " + "\n  ".join(map(str, findings)),
            hint="Fix them, then run: docker-tutor lint-content DIR",
            problems=[Problem(f.where, f.message) for f in findings],
        )
    return curriculum


def _static(exercise: Exercise) -> list[Finding]:
    return [
        *_compile_checks(exercise), *_copied_files(exercise), *_buildkit_declared(exercise), *_mistakes(exercise),
        *_alternatives(exercise),
    ]


def lint_grading(
    exercises: list[Exercise],
    connect: Callable[[], DockerHost],
    *,
    jobs: int = 1,
    keep_image: bool = False,
    mistakes: bool = False,
    variants: bool = False,
    on_exercise: Callable[[Exercise, list[Finding]], None] = lambda *_: None,
    on_variant: Callable[[Variant, str], None] = lambda *_: None,
) -> list[Finding]:
    """Grade each solution (it must pass) and starter (it must fail); by default leave no image behind.

    mistakes: also grade every typical wrong attempt of mistakes.toml: it must fail the checks it
    names, with a message its `message` pattern matches (so the feedback a learner gets is tested).
    variants: also grade every correct alternative of alternatives.toml (it must pass) and every
    house-rule mutant (the reference solution with one taught practice broken: the rule's own
    check must reject it). on_variant hears each, with '' or what went wrong.
    """
    from tutor.content.variants import variants as variants_of
    from tutor.engine.grader import Grading, grade

    host = connect()
    kept = Grading(keep_image=keep_image)

    def judge(exercise: Exercise) -> list[Finding]:
        findings = []
        # The two folders are graded side by side: most of a check's time is spent waiting.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="starter") as beside:
            starter_graded = beside.submit(grade, exercise, exercise.starter_dir, lambda: host, grading=kept)
            solution = grade(exercise, exercise.solution_dir, lambda: host, grading=kept)
            starter = starter_graded.result()
        if not solution.build.ok:
            findings.append(Finding(f"{_folder(exercise)}/solution", f"does not build: {solution.build.error}", content=False))
        for check in solution.failed_checks:
            if not check.skipped:
                findings.append(Finding(f"{_folder(exercise)}/solution", f"fails check {check.id}: {check.message}", content=False))
        if starter.passed:
            findings.append(
                Finding(f"{_folder(exercise)}/starter", "passes every check; a starter must leave the task to do", content=False)
            )
        if mistakes:
            findings += _graded_mistakes(
                exercise,
                lambda folder, only: grade(exercise, folder, lambda: host, grading=replace(kept, hidden=True, only=only)),
                host.builder_choice().name,
            )
        if variants and not findings:
            for variant in (v for v in variants_of(exercise) if v.kind != "mistake"):
                problem = grade_variant(variant, exercise, lambda: host)
                on_variant(variant, problem)
                if problem:
                    where = f"{_folder(exercise)}/" + ("alternatives.toml" if variant.kind == "alternative" else "rules.toml mutant")
                    findings.append(Finding(f"{where}: {variant.name}", problem, content=False))
        return findings

    found: list[Finding] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for exercise, findings in zip(exercises, pool.map(judge, exercises), strict=True):
            on_exercise(exercise, findings)
            found += findings
    return found


def _findings(problems: Iterable[Problem]) -> list[Finding]:
    return [Finding(p.where or "content", p.message) for p in problems]


def grade_variant(variant: Variant, exercise: Exercise, connect: Callable[[], DockerHost]) -> str:
    """Grade one variant in a temporary copy of the solution; '' when it is judged as it must be."""
    from tutor.engine.grader import Grading, grade

    with tempfile.TemporaryDirectory(prefix="docker-tutor-variant-") as temp:
        folder = variant.materialize(exercise.solution_dir, Path(temp) / exercise.id)
        grading = Grading(keep_image=False, only=variant.only, hidden=True)
        return variant.judge(grade(exercise, folder, connect, grading=grading))


def _folder(exercise: Exercise) -> str:
    return f"exercises/{exercise.id}"


def _compile_checks(exercise: Exercise) -> list[Finding]:
    from tutor.engine.checks import compile_check

    findings: list[Finding] = []
    for spec in exercise.checks:
        try:
            compile_check(spec)
        except ContentError as exc:
            findings += _findings(exc.problems)
            continue
        if spec.kind == "cache":
            change = spec.params.get("change", "")
            # A learner's copy has no solution/: the learner's folder starts as starter/.
            sub = "starter" if (exercise.path.parent.parent / RELEASED_MARK).is_file() else "solution"
            if not (exercise.path / sub / change).is_file():
                findings.append(Finding(f"{spec.where}.change", f"{sub}/{change} does not exist"))
    return findings


def _copied_files(exercise: Exercise) -> list[Finding]:
    """COPY/ADD sources of the reference solution exist in its folder (a starter may be broken on purpose)."""
    from tutor.engine.dockerfile import DockerfileUnreadable, read_dockerfile

    try:
        dockerfile = read_dockerfile(exercise.solution_dir / "Dockerfile")
    except DockerfileUnreadable:
        return []  # the loader already named the missing file
    findings = []
    for instruction in dockerfile.instructions:
        if instruction.name not in ("COPY", "ADD"):
            continue
        for source in _sources(instruction.value):
            if not _exists(exercise.solution_dir, source):
                where = f"{_folder(exercise)}/solution/Dockerfile: line {instruction.line}"
                findings.append(Finding(where, f"{instruction.name} source {source!r} does not exist in solution/"))
    return findings


def _buildkit_declared(exercise: Exercise) -> list[Finding]:
    """A solution that only BuildKit builds is declared so (`[build] buildkit = true`): without it,
    `serve` and `grade` refuse that Dockerfile on a shared engine; and only such exercises say so."""
    from tutor.engine.builders.choice import buildkit_only
    from tutor.engine.dockerfile import DockerfileUnreadable, read_dockerfile

    try:
        needs = buildkit_only(read_dockerfile(exercise.solution_dir / "Dockerfile"))
    except DockerfileUnreadable:
        return []  # no solution (a released pack), or the loader named it
    where = f"{_folder(exercise)}/exercise.toml: build.buildkit"
    if needs and not exercise.build.buildkit:
        return [Finding(where, f"the solution uses what only BuildKit builds ({'; '.join(needs)}): set [build] buildkit = true")]
    if exercise.build.buildkit and not needs:
        return [Finding(where, "true, but the solution builds with either builder: drop it (it lets BuildKit's unlimited steps in)")]
    return []


def _exists(folder: Path, source: str) -> bool:
    if any(ch in source for ch in "*?["):
        return any(folder.glob(source))  # COPY accepts the same wildcards
    return (folder / source).exists()


def _sources(value: str) -> list[str]:
    """The local source paths of a COPY/ADD; none for --from, URLs, git, heredocs and variables."""
    if value.startswith("["):
        try:
            words = [str(w) for w in json.loads(value)]
        except ValueError:
            return []
    else:
        try:
            words = shlex.split(value)
        except ValueError:
            return []
    if any(w.startswith("--from") for w in words):
        return []
    paths = [w for w in words if not w.startswith("--")][:-1]
    local = [p for p in paths if "://" not in p and "$" not in p and not p.startswith(("git@", "<<"))]
    return [p.lstrip("/") or "." for p in local]


def _alternatives(exercise: Exercise) -> list[Finding]:
    """alternatives.toml: other correct ways to write the solution, each with its files."""
    entries, findings = _entries(exercise.path / "alternatives.toml", f"{_folder(exercise)}/alternatives.toml", "alternatives")
    for at, entry in entries:
        for unknown in sorted(set(entry) - {"name", "why", "files", "delete"}):
            findings.append(Finding(f"{at}.{unknown}", "unknown field"))
        if not isinstance(entry.get("name"), str):
            findings.append(Finding(f"{at}.name", "required, a string"))
        findings += _variant_files(entry, at)
    return findings


def _entries(path: Path, where: str, key: str) -> tuple[list[tuple[str, dict[str, Any]]], list[Finding]]:
    """The tables of a variant file's [[key]] list, each with where it is; and what is wrong with the file.

    No file is no entries: variant files are optional."""
    if not path.exists():
        return [], []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [], [Finding(where, f"not valid TOML: {exc}")]
    listed = data.get(key)
    if not isinstance(listed, list) or not listed:
        return [], [Finding(f"{where}: {key}", f"needs at least one [[{key}]] entry")]
    entries, findings = [], []
    for index, entry in enumerate(listed):
        at = f"{where}: {key}[{index}]"
        if isinstance(entry, dict):
            entries.append((at, entry))
        else:
            findings.append(Finding(at, "must be a table"))
    return entries, findings


def _variant_files(entry: dict[str, Any], at: str) -> list[Finding]:
    files = entry.get("files", {})
    delete = entry.get("delete", [])
    if not isinstance(delete, list) or not all(isinstance(d, str) for d in delete):
        return [Finding(f"{at}.delete", "must be a list of file names")]
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()) or not (files or delete):
        return [Finding(f"{at}.files", "required, a table of file name = contents (or a delete list)")]
    return []


def _mistakes(exercise: Exercise) -> list[Finding]:
    """mistakes.toml: each typical wrong attempt names real checks, a valid pattern and its files."""
    entries, findings = _entries(exercise.path / "mistakes.toml", f"{_folder(exercise)}/mistakes.toml", "mistakes")
    check_ids = {spec.id for spec in exercise.checks} | {"build"}
    for at, entry in entries:
        findings += _mistake(entry, at, check_ids)
    return findings


def _mistake(entry: dict[str, Any], at: str, check_ids: set[str]) -> list[Finding]:
    findings = []
    if not isinstance(entry.get("name"), str):
        findings.append(Finding(f"{at}.name", "required, a string"))
    fails = entry.get("fails")
    if not isinstance(fails, list) or not fails or not all(isinstance(f, str) for f in fails):
        findings.append(Finding(f"{at}.fails", "required, a list of check ids"))
    else:
        findings += [Finding(f"{at}.fails", f"no check with id {f!r}") for f in fails if f not in check_ids]
    message = entry.get("message")
    if not isinstance(message, str):
        findings.append(Finding(f"{at}.message", "required, a regular expression"))
    else:
        try:
            re.compile(message)
        except re.error as exc:
            findings.append(Finding(f"{at}.message", f"not a valid regular expression: {exc}"))
    files = entry.get("files")
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        findings.append(Finding(f"{at}.files", "required, a table of file name = contents"))
    if entry.get("builder", "classic") not in ("classic", "buildkit"):
        findings.append(Finding(f"{at}.builder", "buildkit or classic: the only builder under which it is a mistake"))
    return findings


def _graded_mistakes(
    exercise: Exercise, grade_folder: Callable[[Path, frozenset[str] | None], Any], builder: str
) -> list[Finding]:
    """Each mistake is the solution with its files replaced; it must fail as its entry says.

    It is graded with the checks it names only (grade_folder(folder, only)); one that does not
    fail as it says is graded again with every check, so the finding says what it does fail.
    An entry with `builder` is a mistake under that builder only (the classic builder discards
    what a RUN step writes under a VOLUME path; BuildKit keeps it): it is graded only there."""
    from tutor.content.variants import variants as variants_of

    findings = []
    # Its shape was linted already: every entry is a table, so positions are the file's.
    mistakes = [v for v in variants_of(exercise) if v.kind == "mistake"]
    for index, mistake in enumerate(mistakes):
        at = f"{_folder(exercise)}/mistakes.toml: mistakes[{index}]"
        if mistake.builder not in ("", builder):
            continue
        with tempfile.TemporaryDirectory(prefix="docker-tutor-mistake-") as temp:
            folder = mistake.materialize(exercise.solution_dir, Path(temp) / exercise.id)
            report = grade_folder(folder, mistake.only)
            if mistake.only is not None and mistake.judge(report):
                report = grade_folder(folder, None)
        failing = {c.id: c.message for c in report.checks if not c.passed and not c.skipped}
        if not report.build.ok:
            failing["build"] = report.build.error
        if not failing:
            findings.append(Finding(at, f"{mistake.name!r} passes every check; a mistake must fail", content=False))
            continue
        missed = [c for c in mistake.fails if c not in failing]
        if missed:
            findings.append(
                Finding(
                    f"{at}.fails", f"{mistake.name!r} does not fail {', '.join(missed)} (it fails: {', '.join(failing)})", content=False
                )
            )
            continue
        said = "\n".join(failing[c] for c in mistake.fails)
        if not re.search(mistake.message, said, re.IGNORECASE):
            shown = " | ".join(line for line in said.splitlines() if line.strip())[:300]
            findings.append(
                Finding(f"{at}.message", f"{mistake.message!r} does not match what the learner is told: {shown}", content=False)
            )
    return findings
