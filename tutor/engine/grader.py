"""Grade one folder: read the Dockerfile, refuse, reuse or build, run every check, return a Report.

`grade` is the one way to grade a folder: the CLI's check, the tutor's Check (and so every tab of
`serve`), an instructor's `grade` of a class and the curriculum's verify all call it, each with its
Grading; they only display the events and the Report that come back.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from tutor import locations
from tutor.content.model import CheckSpec, Exercise
from tutor.engine.archives import ARCHIVE_HINT, oversized_archives
from tutor.engine.build_errors import PULL_FAILED, explain_step_failure, hint_for
from tutor.engine.build_policy import allowed_bases, refusals
from tutor.engine.builders.choice import buildkit_only, refused_on_a_shared_engine
from tutor.engine.builders.limits import max_added_bytes
from tutor.engine.checks import KINDS, Check, CheckContext, compile_check
from tutor.engine.checks.base import without_patterns
from tutor.engine.context import MAX_CONTEXT_BYTES, summarize
from tutor.engine.dockerfile import Dockerfile, DockerfileUnreadable, read_dockerfile
from tutor.engine.dockerhost import BuildOutcome, DockerHost, engine_errors
from tutor.engine.engine_driver import EngineDriver
from tutor.engine.events import CheckFinished, CheckStarted, EventSink, GradeFinished, GradeWarning, ignore
from tutor.engine.folder_images import FolderImages, image_tag
from tutor.engine.folder_lock import folder_lock
from tutor.engine.learner_files import display_name
from tutor.engine.owner import kept_aside as owner_notes
from tutor.engine.report import BuildResult, CheckResult, LayerInfo, Report
from tutor.engine.verdicts import VerdictStore
from tutor.errors import EngineUnavailable, TutorError, UsageError

PARALLEL_CHECKS = 3
CACHE_RACE_RETRIES = 2
VANISHED_LAYER = re.compile(
    r"No such image|unable to find image \"?sha256:|failed to get digest|unknown parent image|"
    r"mount does not exist|layer does not exist|failed to set parent|"
    r"layer not known|image not known",  # Podman's storage, in Buildah's words (an image removed mid-lookup)
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Grading:
    """Who grades a folder, and so which checks run and what becomes of the image.

    keep_image: the image stays as the cache of the folder's next check. verdicts: remember what
    this check proved and reuse what an earlier one proved (folder_images.py). hidden: run the
    checks marked hidden too. only: run just these checks (by id), e.g. the one check a house-rule
    mutant must fail; nothing is built when none of them needs an image. release: what to do with
    an image the grading is done with (default: remove it now)."""

    keep_image: bool = True
    verdicts: VerdictStore | None = None
    hidden: bool = False
    only: frozenset[str] | None = None
    release: Callable[[str], None] | None = None

    @classmethod
    def learners_check(cls) -> Grading:
        """`check`, the tutor's Check, a served tab: the image is the folder's cache, and a folder
        unchanged since it passed is not built again."""
        return cls(verdicts=VerdictStore(locations.data_dir() / "verdicts"))

    @classmethod
    def assessment(cls, release: Callable[[str], None] | None = None) -> Grading:
        """An instructor's grade: the hidden checks too, nothing kept, nothing remembered."""
        return cls(keep_image=False, hidden=True, release=release)


def grade(
    exercise: Exercise,
    directory: Path,
    connect: Callable[[], DockerHost] | None = None,
    *,
    grading: Grading = Grading(),
    on_event: EventSink = ignore,
    cancel: threading.Event | None = None,
) -> Report:
    """Grade `directory` against `exercise` on the engine `connect` reaches (default: the one the
    docker CLI would use). Raises UsageError/ContentError/EngineUnavailable only."""
    started = time.monotonic()
    cancel = cancel or threading.Event()
    checks = _checks(exercise, grading)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder", hint="Give the folder that holds your Dockerfile.")

    def report(build: BuildResult, results: list[CheckResult]) -> Report:
        result = Report(
            exercise_id=exercise.id,
            passed=build.ok and all(r.passed for r in results),
            build=build,
            checks=results,
            seconds=time.monotonic() - started,
            directory=display_name(str(directory)),
        )
        while grading.verdicts and grading.verdicts.warnings:  # each said once, also by a store used again
            on_event(GradeWarning(grading.verdicts.warnings.pop(0)))
        for note in owner_notes():
            on_event(GradeWarning(note))
        on_event(GradeFinished(result))
        return result

    # Read the folder.
    try:
        dockerfile = read_dockerfile(directory / "Dockerfile")
    except DockerfileUnreadable as exc:
        return report(_not_built(str(exc), "Create the Dockerfile in the exercise folder."), _results(checks, {}, "no Dockerfile to judge"))
    context = CheckContext(
        exercise=exercise, directory=directory, dockerfile=dockerfile, cancel=cancel, keep_images=grading.keep_image
    )
    static = [c for c in checks if not c.needs_image]
    results = {c.id: _run(c, context, on_event) for c in static if not dockerfile.problems}

    # Refuse what must never reach the engine, or needs none.
    refusal = _refuse_before_build(exercise, directory, dockerfile, checks)
    if refusal is not None:
        build, why = refusal
        return report(build, _results(checks, results, why))

    # Reuse the image of an unchanged folder, or build.
    host = (connect or _default_engine)()
    if host.is_podman() and exercise.uses_compose:
        # Said as what it is, not as the learner's failing checks (whose hints would blame the files).
        raise UsageError(
            f"{exercise.id} is graded on Docker's engine only: on Podman, a Compose project's internal networks "
            "pass nothing between its services, and no HEALTHCHECK runs for the containers Compose starts",
            hint="Run this exercise against Docker's engine (docker-tutor --engine NAME|URL); see the README: Builders, Podman.",
        )
    host.sweep_orphans()
    # One grading of a folder at a time: a second tutor on it would share its image's tag.
    with folder_lock(image_tag(exercise, directory), directory, lambda text: on_event(GradeWarning(text)), cancel) as ours:
        if not ours:
            return report(_not_built("the check was cancelled", ""), _results(checks, results, "cancelled"))
        return _grade_on_the_engine(host, exercise, directory, dockerfile, checks, results, context, grading, on_event, cancel, report)


def _grade_on_the_engine(
    host: DockerHost,
    exercise: Exercise,
    directory: Path,
    dockerfile: Dockerfile,
    checks: list[Check],
    results: dict[str, CheckResult],
    context: CheckContext,
    grading: Grading,
    on_event: EventSink,
    cancel: threading.Event,
    report: Callable[[BuildResult, list[CheckResult]], Report],
) -> Report:
    """Reuse the image of an unchanged folder or build it, run the checks on it, report."""
    # A remembered verdict ran without the hidden checks.
    images = FolderImages(
        host, exercise, directory, keep=grading.keep_image, verdicts=None if grading.hidden else grading.verdicts,
        release=grading.release,
    )
    unchanged = images.unchanged(dockerfile)
    if unchanged is not None:
        return report(unchanged.build, unchanged.checks)
    needs = buildkit_only(dockerfile)

    def build(path: Path, tag: str | None) -> BuildOutcome:
        # A rebuild (of an edited copy) sees the folder's own cache mounts.
        return _build(host, exercise, dockerfile, path, tag, needs, on_event, cancel, cache_key=images.cache_key)

    reused = images.image_to_reuse
    outcome = BuildOutcome(ok=True, seconds=0.0, image_id=reused) if reused else build(directory, images.tag)
    build_result = replace(_build_result(host, outcome, exercise.build.network), reused=bool(reused))
    if not outcome.ok:
        return report(build_result, _results(checks, results, "the image did not build"))
    images.built(outcome.image_id)

    def rebuild(path: Path) -> BuildOutcome:
        again = build(path, None)
        images.made_by_rebuild(again.image_id if again.ok else "", again.created_layers, own=outcome.image_id)
        return again

    # Run the checks that need the image.
    context.driver = EngineDriver(host, outcome.image_id, exercise.id)
    context.rebuild = rebuild
    try:
        results |= _run_on_the_image(checks, context, on_event)
    finally:
        context.shared.close()  # e.g. a Compose project: down, with its volumes and networks
        images.close()

    # Report.
    final = report(build_result, [results[c.id] for c in checks])
    if not cancel.is_set():
        images.remember(outcome.image_id, final)
    return final


def _run_on_the_image(checks: list[Check], context: CheckContext, on_event: EventSink) -> dict[str, CheckResult]:
    dynamic = [c for c in checks if c.needs_image]
    with ThreadPoolExecutor(max_workers=PARALLEL_CHECKS, thread_name_prefix="check") as pool:
        return {check.id: result for check, result in zip(dynamic, pool.map(lambda c: _run(c, context, on_event), dynamic), strict=True)}


def _default_engine() -> DockerHost:
    from tutor.engine.dockerhost import connect

    return connect()


def _checks(exercise: Exercise, grading: Grading) -> list[Check]:
    # Hidden checks are an assessment's: an instructor's grade runs them, a learner's check does not.
    return [
        compile_check(spec)
        for spec in enforced(exercise)
        if (grading.only is None or spec.id in grading.only) and (grading.hidden or not spec.hidden)
    ]


def _build(
    host: DockerHost,
    exercise: Exercise,
    dockerfile: Dockerfile,
    path: Path,
    tag: str | None,
    needs: tuple[str, ...],
    on_event: EventSink,
    cancel: threading.Event,
    *,
    cache_key: str,
) -> BuildOutcome:
    for _attempt in range(1 + CACHE_RACE_RETRIES):
        outcome = host.build(
            path,
            tag=tag,
            exercise_id=exercise.id,
            timeout=exercise.build.timeout,
            network=exercise.build.network,
            memory_mb=exercise.build.memory_mb,
            on_event=on_event,
            cancel=cancel,
            needs=needs,
            cache_key=cache_key,
        )
        # The classic builder's cache is shared by everyone on the engine: a layer this build
        # took from it can be removed by another user's tutor before the build is done. That
        # is no mistake of the learner's: build again (the layer is then made anew).
        # The same race can take the finished image itself, untagged for a moment, before it is used.
        vanished = outcome.ok and host.image_attrs(outcome.image_id) is None
        if vanished:
            outcome = BuildOutcome(ok=False, seconds=outcome.seconds, error="the built image vanished before it was used")
            continue
        if outcome.ok or cancel.is_set() or not VANISHED_LAYER.search(outcome.error):
            break
    if PULL_FAILED.search(outcome.error):
        missing = [base for base in dockerfile.base_images if host.image_attrs(base) is None]
        if missing:
            outcome.error = f"the base image {missing[0]} is not on this machine and could not be pulled ({outcome.error})"
    return outcome


def enforced(exercise: Exercise) -> tuple[CheckSpec, ...]:
    """The checks a grading runs. A house rule that needs a built image is left out where the
    exercise itself is judged from its files alone (a CUDA image this machine cannot build)."""
    built = any(KINDS[spec.kind].needs_engine for spec in exercise.checks if not spec.rule and spec.kind in KINDS)
    return tuple(spec for spec in exercise.checks if built or not spec.rule or not KINDS[spec.kind].needs_engine)


def _run(check: Check, context: CheckContext, on_event: EventSink) -> CheckResult:
    if context.cancel.is_set():
        return _skip(check, "cancelled")
    on_event(CheckStarted(check.id, check.display_title))
    started = time.monotonic()
    own_hint = ""
    try:
        with engine_errors(f"check {check.id}"):
            verdict = check.run(context)
        passed, message = verdict.passed, verdict.message
    except EngineUnavailable:
        raise
    except TutorError as exc:
        # An error's own hint (a container stopped for a limit) says what to do about it.
        passed, message, own_hint = False, exc.message, exc.hint
    result = CheckResult(
        id=check.id,
        kind=check.kind,
        title=without_patterns(check, check.display_title),
        passed=passed,
        message=without_patterns(check, message),
        hint="" if passed else own_hint or check.display_hint,
        seconds=round(time.monotonic() - started, 3),
        lesson=check.lesson,
    )
    on_event(CheckFinished(result))
    return result


def _skip(check: Check, why: str) -> CheckResult:
    return CheckResult(check.id, check.kind, check.display_title, False, f"not run: {why}", skipped=True)


def _results(checks: list[Check], results: dict[str, CheckResult], why: str) -> list[CheckResult]:
    """Every check's result in declared order; those that could not run say why."""
    return [results.get(c.id) or _skip(c, why) for c in checks]


def _not_built(error: str, hint: str) -> BuildResult:
    return BuildResult(ok=False, seconds=0.0, log_tail=[], error=error, hint=hint)


def _refuse_before_build(
    exercise: Exercise, directory: Path, dockerfile: Dockerfile, checks: list[Check]
) -> tuple[BuildResult, str] | None:
    """What is judged without a build: (the build's result, why the checks left did not run)."""
    refused = _refused(directory, dockerfile)
    if refused is not None:
        return refused, "the Dockerfile has mistakes to fix first" if dockerfile.problems else "the folder could not be sent to the engine"
    if not any(c.needs_engine for c in checks):
        # e.g. a CUDA exercise on a machine without the CUDA base image: judged from the files alone.
        note = "not built: this exercise is judged from its Dockerfile alone"
        return BuildResult(ok=True, seconds=0.0, log_tail=[], skipped=True, error="", hint=note), ""
    reaching_out = refusals(dockerfile, allowed_bases(exercise.path, locations.content_root()))
    if reaching_out:
        refused = _not_built(
            "the Dockerfile uses what a build here may not: " + "; ".join(reaching_out),
            "Change the line it names, as it says. A build here starts FROM one of the curriculum's base images or "
            "an earlier stage of your Dockerfile, and takes files from your folder only. Nothing was sent to the engine.",
        )
        return refused, "the Dockerfile uses what a build here may not"
    unlimited = refused_on_a_shared_engine(buildkit_only(dockerfile), exercise.build.buildkit, exercise.build.network)
    if unlimited:
        hint = (
            "Write these steps with what both builders build (plain RUN, COPY --chown, ...): it builds here "
            "with the classic builder. On your own machine, `docker-tutor check` builds it with BuildKit."
        )
        return _not_built(unlimited, hint), "the Dockerfile uses what a build here may not"
    return None


def _refused(directory: Path, dockerfile: Dockerfile) -> BuildResult | None:
    """Mistakes that need no engine to find, and contexts that must never be sent to it."""
    if dockerfile.problems:
        return _not_built("the Dockerfile has mistakes: " + "; ".join(dockerfile.problems), hint_for("unknown instruction"))
    summary = summarize(directory)
    if summary.refused:
        return _not_built(summary.refused, "List data sets, model weights, .git and virtual environments in .dockerignore.")
    if summary.unreadable:
        return _not_built(
            f"{summary.unreadable[0]} cannot be read, so it cannot be sent to the engine",
            "Make it readable (chmod u+r) or list it in .dockerignore.",
        )
    if summary.escaping_links:
        return _not_built(
            f"{summary.escaping_links[0]} is a symbolic link to a place outside the exercise folder",
            "A build can only use files inside its folder: copy the file in, or add the link to .dockerignore.",
        )
    if summary.bytes > MAX_CONTEXT_BYTES:
        return _not_built(
            f"the build context is {summary.bytes / 2**20:.0f} MB in {summary.files} files, over the "
            f"{MAX_CONTEXT_BYTES // 2**20} MB limit, and was not sent to the engine",
            "List data sets, model weights, .git and virtual environments in .dockerignore.",
        )
    unpacked = oversized_archives(dockerfile, directory.resolve(), summary.included, max_added_bytes())
    if unpacked:
        return _not_built(unpacked + "; nothing was sent to the engine", ARCHIVE_HINT)
    return None


def _build_result(host: DockerHost, outcome: BuildOutcome, network: bool) -> BuildResult:
    layers: list[LayerInfo] = []
    size = 0
    if outcome.ok:
        attrs = host.image_attrs(outcome.image_id) or {}
        size = attrs.get("Size", 0)
        base = len(host.history(outcome.base_image)) if outcome.base_image and host.image_attrs(outcome.base_image) else 0
        layers = _layers(host.history(outcome.image_id), outcome, base)
    # A failed step's cause (its last output, a network it did not have) goes into the error itself:
    # the grade table, the CSV and a check's first line show only the error, not the log.
    error, hint = explain_step_failure(outcome.error, outcome.log_tail, network) if outcome.error else ("", "")
    return BuildResult(
        ok=outcome.ok,
        seconds=round(outcome.seconds, 3),
        log_tail=outcome.log_tail[-20:],
        error=error,
        hint=hint,
        image_id=outcome.image_id,
        steps_total=outcome.total_steps,
        steps_cached=len(outcome.cached - outcome.hidden_steps),
        layers=layers,
        image_size=size,
        builder=outcome.builder if outcome.builder_why else "",  # set only by a build that ran
        builder_why=outcome.builder_why,
    )


def _layers(history: list[dict], outcome: BuildOutcome, base_entries: int = 0) -> list[LayerInfo]:
    """Pair the image's history with the build's steps, oldest first.

    Each step of the final stage made one history entry, so they pair by position; the text of
    history is written differently (COPY file:<hash> in .), so the step's own text is shown.
    Entries before them belong to the base image, which this build did not make (nor a reused one).
    """
    entries = list(reversed(history))
    if outcome.builder == "buildkit":
        return _buildkit_layers(entries, outcome, base_entries)
    final = outcome.final_stage
    # The tutor's own LABEL steps come last in the history and are not the learner's layers.
    entries = entries[: len(entries) - len(outcome.hidden_steps)]
    base = len(entries) - len(final)
    layers = []
    for index, entry in enumerate(entries):
        if index < base:
            layers.append(LayerInfo(_instruction_of(entry.get("CreatedBy", "")), entry.get("Size", 0), True))
        else:
            step = final[index - base]
            layers.append(LayerInfo(outcome.steps[step], entry.get("Size", 0), step in outcome.cached))
    return layers


def _buildkit_layers(entries: list[dict], outcome: BuildOutcome, base: int) -> list[LayerInfo]:
    """BuildKit's history also has entries for ENV, CMD and the like, which are no build steps:
    each step of the final stage pairs with the entry whose text is its own, and the other
    entries this build made share the cache flag of the step before them."""
    layers = [LayerInfo(_instruction_of(e.get("CreatedBy", "")), e.get("Size", 0), True) for e in entries]
    steps = iter(outcome.final_stage)
    step = next(steps, None)
    cached = bool(outcome.final_stage) and outcome.final_stage[0] in outcome.cached
    for index in range(base, len(layers)):
        if step is not None and _same_instruction(layers[index].instruction, outcome.steps[step]):
            cached = step in outcome.cached
            layers[index] = LayerInfo(outcome.steps[step], layers[index].size, cached)
            step = next(steps, None)
        else:
            layers[index] = replace(layers[index], cached=cached)
    return layers


def _same_instruction(created: str, step: str) -> bool:
    def words(text: str) -> list[str]:
        return text.replace("/bin/sh -c ", "").split()

    return words(created)[:1] == words(step)[:1] and words(created)[-1:] == words(step)[-1:]


def _instruction_of(created_by: str) -> str:
    """docker history's CreatedBy ('/bin/sh -c #(nop)  CMD [...]') back to the instruction."""
    text = created_by.strip().removesuffix("# buildkit").strip()
    if "#(nop)" in text:
        return text.split("#(nop)", 1)[1].strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text.removeprefix("/bin/sh -c ")
    return text
