"""What a Compose project's builds and images may use: the rules of a single build.

Each service's Dockerfile is judged by tutor.engine.build_policy with the build args Compose
passes (so `args: {BASE: ...}` cannot smuggle in another image, nor a URL into `ADD`); a
service's `image:` and a build's `cache_from` may name only the curriculum's base images; extra
`tags` are refused (they could overwrite another user's image). Reads the files through
tutor.engine.learner_files, never following a link.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from tutor.engine.build_policy import base_allowed, refusals
from tutor.engine.dockerfile import DockerfileUnreadable, read_dockerfile


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
    context = build.get("context", ".")
    if not isinstance(context, str) or "://" in context:
        return problems  # a remote context is refused by the Compose policy
    path = (folder / context / str(build.get("dockerfile") or "Dockerfile")).resolve(strict=False)
    if not path.is_relative_to(folder):
        return problems  # outside the folder: refused by the Compose policy
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
    return problems


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return dict(str(item).partition("=")[::2] for item in value or [])


def _names(allowed: Collection[str]) -> str:
    return ", ".join(sorted(a for a in allowed if "@" not in a)) or "none"
