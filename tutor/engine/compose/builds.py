"""A Compose project's builds: the rules and the limits of a single build.

Each service's Dockerfile is judged by tutor.engine.build_policy with the build args Compose
passes (so `args: {BASE: ...}` cannot smuggle in another image, nor a URL into `ADD`); a
service's `image:` and a build's `cache_from` may name only the curriculum's base images; extra
`tags` are refused (they could overwrite another user's image). Reads the files through
tutor.engine.learner_files, never following a link.

The images are built by the tutor's own builder (DockerHost.build), not by Compose: so a service's
build steps get what a single Dockerfile's get (the classic builder's process, memory and file-size
limits, the image-size check, the deadline, cancel), and Compose then only starts the images.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.engine.archives import oversized_archives
from tutor.engine.build_policy import base_allowed, refusals
from tutor.engine.builders.choice import buildkit_only, refused_on_a_shared_engine
from tutor.engine.builders.limits import max_added_bytes
from tutor.engine.builders.outcome import BuildOutcome
from tutor.engine.context import MAX_CONTEXT_BYTES, summarize
from tutor.engine.dockerfile import DockerfileUnreadable, read_dockerfile

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

# The build keys the tutor's builder honours (`cache_from` and `pull` change nothing it builds; the
# Compose policy refuses `ssh`, `privileged`, `additional_contexts` and remote contexts with reasons).
BUILD_KEYS = {"context", "dockerfile", "args", "target", "labels", "network", "cache_from", "pull"}


@dataclass(frozen=True, slots=True)
class ServiceBuild:
    """One service's image to build, as the hardened Compose file asks for it."""

    service: str
    context: Path
    dockerfile: str  # relative to the context
    tag: str  # the tutor's name for the image (owner-hashed)
    network: bool
    args: dict[str, str]
    target: str = ""
    labels: dict[str, str] | None = None
    shown: str = "Dockerfile"  # the Dockerfile as the learner names it: its path in the project's folder


def service_builds(config: dict[str, Any], folder: Path) -> list[ServiceBuild]:
    """The builds a hardened config asks for (harden gave each its image name and build network)."""
    folder = folder.resolve()
    found = []
    for name, service in (config.get("services") or {}).items():
        build = service.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if not isinstance(build, dict):
            continue
        context = folder / str(build.get("context", "."))  # normalized by `compose config`: absolute
        dockerfile = str(build.get("dockerfile") or "Dockerfile")
        path = context / dockerfile
        found.append(
            ServiceBuild(
                service=name,
                context=context,
                dockerfile=dockerfile,
                tag=str(service["image"]),
                network=build.get("network") in ("default", "bridge"),
                args={str(k): "" if v is None else str(v) for k, v in _mapping(build.get("args")).items()},
                target=str(build.get("target") or ""),
                labels={str(k): str(v) for k, v in _mapping(build.get("labels")).items()},
                shown=path.relative_to(folder).as_posix() if path.is_relative_to(folder) else dockerfile,
            )
        )
    return found


def build_service(
    host: DockerHost,
    build: ServiceBuild,
    *,
    exercise_id: str,
    memory_mb: int,
    timeout: float,
    cancel: threading.Event,
    buildkit_taught: bool = False,
) -> BuildOutcome:
    """Build one service's image as a single Dockerfile is built; a context that must not be sent,
    or what only BuildKit builds on a shared engine outside the exercises that teach it
    (buildkit_taught), fails here without reaching the engine."""
    refused = context_refusal(build.context, build.dockerfile)
    if refused:
        return BuildOutcome(ok=False, seconds=0.0, error=refused)
    try:
        needs = buildkit_only(read_dockerfile(build.context / build.dockerfile, build.context))
    except DockerfileUnreadable as exc:
        return BuildOutcome(ok=False, seconds=0.0, error=str(exc))
    unlimited = refused_on_a_shared_engine(needs, buildkit_taught, build.network)
    if unlimited:
        return BuildOutcome(ok=False, seconds=0.0, error=unlimited)
    return host.build(
        build.context,
        tag=build.tag,
        exercise_id=exercise_id,
        timeout=timeout,
        network=build.network,
        memory_mb=memory_mb,
        on_event=lambda _event: None,  # the learner sees the outcome in the check's message
        cancel=cancel,
        dockerfile=build.dockerfile,
        needs=needs,
        build_args=build.args,
        target=build.target,
        labels=build.labels,
        cache_key=build.tag,
    )


def context_refusal(context: Path, dockerfile: str) -> str:
    """Why this build context may not be sent to the engine ("" if it may), as for a single build."""
    summary = summarize(context, dockerfile)
    if summary.refused:
        return summary.refused
    if summary.unreadable:
        return f"{summary.unreadable[0]} cannot be read, so it cannot be sent to the engine"
    if summary.escaping_links:
        return f"{summary.escaping_links[0]} is a symbolic link to a place outside the exercise folder"
    if summary.bytes > MAX_CONTEXT_BYTES:
        return (
            f"the build context is {summary.bytes / 2**20:.0f} MB in {summary.files} files, over the "
            f"{MAX_CONTEXT_BYTES // 2**20} MB limit, and was not sent to the engine"
        )
    return ""


def build_failure(build: ServiceBuild, outcome: BuildOutcome) -> str:
    """What the learner reads when a service's image did not build: the service, the step, why."""
    where = f"service {build.service}: its image did not build"
    error = outcome.error or "the build failed"
    if outcome.steps:
        step = max(outcome.steps)
        instruction = outcome.steps[step]
        of = f"/{outcome.total_steps}" if outcome.total_steps >= step else ""
        # The engine's message may quote the step already: then it is not said twice.
        shown = "" if instruction in error else ": " + (instruction if len(instruction) <= 80 else instruction[:77] + "...")
        where += f" (step {step}{of}{shown}, in {build.shown})"
    else:
        where += f" ({build.shown})"
    return f"{where}: {error}"


def image_refusals(config: dict[str, Any], folder: Path, allowed: Collection[str]) -> list[str]:
    """Every reason the project's builds or images may not run here, in the learner's words."""
    folder = folder.resolve()
    problems: list[str] = []
    for name, service in (config.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        where = f"service {name}"
        build = service.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if isinstance(build, dict):
            problems += [f"{where}: {problem}" for problem in _build_refusals(build, folder, allowed)]
        elif service.get("image") and not base_allowed(str(service["image"]), allowed):
            problems.append(
                f"{where}: image {service['image']} may not be used here: services start from the curriculum's "
                f"base images ({_names(allowed)}) or build from your folder"
            )
    return problems


def _build_refusals(build: dict[str, Any], folder: Path, allowed: Collection[str]) -> list[str]:
    problems = []
    for source in build.get("cache_from") or []:
        if not base_allowed(str(source), allowed):
            problems.append(f"build cache_from {source} may not be used here: only the curriculum's base images")
    if build.get("tags"):
        problems.append("build tags are not allowed here: the tutor names the images it builds")
    if build.get("dockerfile_inline"):
        problems.append("dockerfile_inline is not allowed here: write the Dockerfile in your folder")
    unsupported = sorted(set(build) - BUILD_KEYS - {"tags", "dockerfile_inline", "ssh", "privileged", "additional_contexts"})
    if unsupported:
        problems.append(
            f"build {', '.join(unsupported)} {'is' if len(unsupported) == 1 else 'are'} not supported here: the tutor "
            "builds each service's image itself, from context, dockerfile, args, target and labels"
        )
    context = build.get("context", ".")
    if not isinstance(context, str) or "://" in context:
        return problems  # a remote context is refused by the Compose policy
    path = (folder / context / str(build.get("dockerfile") or "Dockerfile")).resolve(strict=False)
    if not path.is_relative_to(folder):
        return problems  # outside the folder: refused by the Compose policy
    if not path.is_relative_to((folder / context).resolve(strict=False)):
        return [*problems, "the dockerfile must be inside its build context here"]
    # Judged where the file is, not where its links lead: a link on the way is refused by the reader.
    unresolved = Path(folder / context / str(build.get("dockerfile") or "Dockerfile"))
    shown = unresolved.relative_to(folder).as_posix() if unresolved.is_relative_to(folder) else path.name
    try:
        dockerfile = read_dockerfile(unresolved, folder)
    except DockerfileUnreadable as exc:
        if "there is no" in str(exc):
            return problems  # Compose says which file is missing
        return [*problems, f"{shown}: {exc}"]
    args = {str(k): "" if v is None else str(v) for k, v in _mapping(build.get("args")).items()}
    problems += [f"{shown} uses what a build here may not: {problem}" for problem in refusals(dockerfile, allowed, build_args=args)]
    root = (folder / context).resolve(strict=False)
    unpacked = oversized_archives(dockerfile, root, summarize(root).included, max_added_bytes())
    return [*problems, unpacked] if unpacked else problems


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return dict(str(item).partition("=")[::2] for item in value or [])


def _names(allowed: Collection[str]) -> str:
    return ", ".join(sorted(a for a in allowed if "@" not in a)) or "none"
