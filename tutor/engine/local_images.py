"""Every image a build may use must be on the engine already: the tutor never makes the engine pull.

Whatever the build's `pull=0` and network mode say, the engine pulls a missing image that a
Dockerfile names (FROM, COPY --from, RUN --mount=from=), from the engine machine's network, into
its store, unlabelled, where `clean` never finds it. So before a build, each image the Dockerfile
would take (build_policy.images_used) is resolved against the engine's own images; one that is not
there refuses the build, naming the line, with the way to get it. A digest (`name@sha256:...`)
counts only when a local image of that repository carries it in its RepoDigests: the engine would
fetch any other, whatever it holds under the name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tutor.engine.build_policy import ImageUse, images_used, normalize, repository

if TYPE_CHECKING:
    from tutor.engine.dockerfile import Dockerfile
    from tutor.engine.dockerhost import DockerHost

# What the refusal starts with (build_errors.py gives it its hint).
NOT_ON_THE_ENGINE = "not on this engine, and the tutor never makes the engine pull an image for a build"


def missing_images(host: DockerHost, dockerfile: Dockerfile, build_args: Mapping[str, str] | None = None) -> list[ImageUse]:
    """The images the build would take that the engine does not hold (and would pull)."""
    return [use for use in images_used(dockerfile, build_args=build_args) if not present(host.image_attrs, use.reference)]


def present(inspect: Callable[[str], dict[str, Any] | None], reference: str) -> bool:
    """Whether the engine holds the image a reference names, as the builder would resolve it without
    a pull. inspect: the engine's image inspect (None when it has no such image)."""
    attrs = inspect(reference)
    if attrs is None:
        return False
    name, _, digest = normalize(reference).partition("@")
    if not digest:
        return True
    wanted = f"{repository(name)}@{digest}"
    return any(normalize(str(pinned)) == wanted for pinned in attrs.get("RepoDigests") or [])


def refusal(missing: list[ImageUse]) -> str:
    return f"the Dockerfile uses images {NOT_ON_THE_ENGINE}: " + "; ".join(str(use) for use in missing)
