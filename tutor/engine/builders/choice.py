"""Which builder builds: BuildKit where the engine offers it, the classic builder elsewhere.

`serve` and `grade` run many people's builds on one engine: there the classic builder builds
(its build steps keep their memory, process and file-size limits), and what only BuildKit builds
is built with BuildKit in the exercises that teach it (`[build] buildkit = true`) and refused in
the others.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutor.engine.instruction_flags import builder_flags

if TYPE_CHECKING:
    from tutor.engine.dockerfile import Dockerfile

BUILDERS = ("buildkit", "classic")
BUILDER_NAMES = {"buildkit": "BuildKit", "classic": "the classic builder"}
ENV_VAR = "DOCKER_TUTOR_BUILDER"  # buildkit | classic | auto (the default)
# Set by `serve` and `grade` (and inherited by the tabs `serve` starts): many people's builds on one engine.
SHARED_ENV_VAR = "DOCKER_TUTOR_SHARED_ENGINE"
# Why a multi-learner command (serve, grade) builds with the classic builder unless told otherwise.
LIMITS_REASON = "build steps keep their memory, process and file-size limits (BuildKit through the engine API takes none)"
# Why a build that needs the network is built by the classic builder (tutor/engine/egress.py).
BUILDKIT_NETWORK_REASON = (
    "BuildKit through the engine API runs steps only on the engine's default bridge, beside every other "
    "container there, where the classic builder runs them on a network of their own that reaches no other container"
)

# Instruction flags the classic builder refuses ("the --mount option requires BuildKit").
_BUILDKIT_FLAGS = {
    "RUN": ("mount", "network", "security"),
    "COPY": ("chmod", "link", "parents", "exclude"),
    "ADD": ("chmod", "link", "checksum", "keep-git-dir", "exclude"),
}
# Build arguments only BuildKit fills in; the classic builder leaves a bare `ARG TARGETARCH` empty.
_PLATFORM_ARGS = {
    f"{side}{part}" for side in ("TARGET", "BUILD") for part in ("PLATFORM", "OS", "ARCH", "VARIANT")
}
_HEREDOC = re.compile(r"^<<-?([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1$")


@dataclass(frozen=True, slots=True)
class BuilderChoice:
    name: str  # "buildkit" | "classic"
    why: str  # in the learner's words, for doctor and the report


def requested() -> str:
    """The builder asked for (--builder sets the environment variable), or "auto"."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    return value


def shared_engine() -> bool:
    """True in `serve` and `grade`: many people's builds on one engine."""
    return os.environ.get(SHARED_ENV_VAR, "") == "1"


def buildkit_only(dockerfile: Dockerfile) -> tuple[str, ...]:
    """What in the Dockerfile only BuildKit builds, each as 'line N: what' (none: either builder will do)."""
    found: list[str] = []
    for instruction in dockerfile.instructions:
        words = instruction.value.split()
        # Flags as the parser reads them (quotes, backslashes, a value after a space), so a
        # spelling such as --"mount"=... is known for what it is.
        flags, rest = builder_flags(instruction.value)
        names = dict.fromkeys(name for name, _ in flags + builder_flags(instruction.value, spaced=True)[0])
        for name in names:
            if name in _BUILDKIT_FLAGS.get(instruction.name, ()):
                found.append(f"line {instruction.line}: {instruction.name} --{name}")
        if instruction.name in _BUILDKIT_FLAGS and _has_heredoc(rest.split()):
            found.append(f"line {instruction.line}: a here-document ({instruction.name} <<)")
        if instruction.name == "ARG":
            bare = [w for w in words if w in _PLATFORM_ARGS]  # declared without a value of its own
            found += [f"line {instruction.line}: ARG {name} (filled in by BuildKit only)" for name in bare]
    return tuple(found)


def refused_on_a_shared_engine(needs: tuple[str, ...], taught_here: bool, network: bool = False) -> str:
    """Why a Dockerfile is not built on a shared engine ('' if it is): what only BuildKit builds,
    outside the exercises that teach it or in a build that needs the network (BuildKit's steps could
    reach other learners' containers), when the builder is chosen automatically."""
    if not needs or not shared_engine() or requested() != "auto":
        return ""
    if network:
        return (
            f"the Dockerfile uses what only BuildKit builds ({'; '.join(needs)}) in a build that needs the network; "
            f"on this shared engine that is not built, because {BUILDKIT_NETWORK_REASON}"
        )
    if taught_here:
        return ""
    return (
        f"the Dockerfile uses what only BuildKit builds ({'; '.join(needs)}); on this shared engine "
        "that is built only in the exercises that teach it, because BuildKit's build steps run without "
        "the file-size limit the classic builder gives them (and, on engines where the tutor cannot hold "
        "them, without its process, memory and disk limits)"
    )


def _has_heredoc(words: list[str]) -> bool:
    """A `<<EOF` word whose terminator follows (the parser folds a here-document's body into its instruction)."""
    for index, word in enumerate(words):
        mark = _HEREDOC.match(word)
        if mark and mark.group(2) in words[index + 1 :]:
            return True
    return False


def choose(
    version: dict[str, Any],
    wanted: str | None = None,
    *,
    shared: bool | None = None,
    needs: tuple[str, ...] = (),
    network: bool = False,
    held: bool = False,
) -> BuilderChoice:
    """Pick a builder for an engine from its `GET /version` answer.

    shared: many people's builds on one engine (serve, grade; default: as the environment says).
    needs: what the Dockerfile uses that only BuildKit builds (buildkit_only).
    network: the build's steps reach the network (the exercise's `[build] network`).
    held: the tutor's step warden holds BuildKit's steps to the build's process and memory limits
    on this engine (step_warden.py)."""
    from tutor.errors import UsageError

    wanted = (wanted or requested()).lower()
    shared = shared_engine() if shared is None else shared
    if wanted not in ("auto", *BUILDERS):
        raise UsageError(
            f"unknown builder {wanted!r} (from --builder or {ENV_VAR})",
            hint="Use buildkit, classic or auto.",
        )
    offers, missing = _offers_buildkit(version)
    if wanted == "classic":
        return BuilderChoice("classic", "asked for (--builder classic or " + ENV_VAR + ")")
    if wanted == "buildkit":
        if not offers:
            raise UsageError(f"this engine has no BuildKit builder: {missing}", hint="Use --builder classic.")
        why = "asked for (--builder buildkit or " + ENV_VAR + ")"
        if network:
            why += "; this build's steps reach the network on the engine's default bridge, beside every other container there"
        return BuilderChoice("buildkit", why)
    if not offers:
        return BuilderChoice("classic", missing)
    if network and not needs:
        return BuilderChoice("classic", f"this exercise's build needs the network: {BUILDKIT_NETWORK_REASON}")
    if network:
        return BuilderChoice(
            "buildkit",
            f"the Dockerfile uses what only BuildKit builds ({'; '.join(needs)}); its steps reach the network on the "
            "engine's default bridge, beside every other container there",
        )
    if shared and needs:
        limits = (
            "the build's deadline, and its process, memory and disk limits from the tutor's step warden, but not "
            "the classic builder's file-size limit"
            if held
            else "the build's deadline but not the classic builder's memory, process and file-size limits"
        )
        uses = f"the Dockerfile uses what only BuildKit builds ({'; '.join(needs)})"
        return BuilderChoice("buildkit", f"{uses}; its build steps have {limits}")
    if shared:
        return BuilderChoice("classic", f"many people's builds share this engine: {LIMITS_REASON}")
    return BuilderChoice("buildkit", "the engine offers it, as `docker build` uses it")


def _offers_buildkit(version: dict[str, Any]) -> tuple[bool, str]:
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    if "podman" in components.lower():
        # Said so, since Docker's classic builder refuses RUN --mount and Buildah builds it.
        return False, "Podman builds with Buildah behind Docker's classic build API (Buildah builds RUN --mount too)"
    if str(version.get("Os", "linux")).lower() != "linux":
        return False, f"BuildKit builds Linux images only; this engine runs {version.get('Os')} containers"
    numbers = tuple(int(n) for n in re.findall(r"\d+", str(version.get("Version", "0")))[:2])
    if numbers < (18, 9):
        return False, f"engine {version.get('Version')} is older than 18.09, the first with BuildKit"
    return True, ""
