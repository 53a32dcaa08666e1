"""Which builder builds: BuildKit where the engine offers it, the classic builder elsewhere."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

BUILDERS = ("buildkit", "classic")
ENV_VAR = "DOCKER_TUTOR_BUILDER"  # buildkit | classic | auto (the default)
# Why a multi-learner command (serve, grade) builds with the classic builder unless told otherwise.
LIMITS_REASON = "build steps keep their memory limit (BuildKit through the engine API takes none)"


@dataclass(frozen=True, slots=True)
class BuilderChoice:
    name: str  # "buildkit" | "classic"
    why: str  # in the learner's words, for doctor


def requested() -> str:
    """The builder asked for (--builder sets the environment variable), or "auto"."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    return value


def choose(version: dict[str, Any], wanted: str | None = None) -> BuilderChoice:
    """Pick a builder for an engine from its `GET /version` answer."""
    from tutor.errors import UsageError

    wanted = (wanted or requested()).lower()
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
        return BuilderChoice("buildkit", "asked for (--builder buildkit or " + ENV_VAR + ")")
    if offers:
        return BuilderChoice("buildkit", "the engine offers it, as `docker build` uses it")
    return BuilderChoice("classic", missing)


def _offers_buildkit(version: dict[str, Any]) -> tuple[bool, str]:
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    if "podman" in components.lower():
        return False, "Podman's Docker-compatible API offers only the classic builder"
    if str(version.get("Os", "linux")).lower() != "linux":
        return False, f"BuildKit builds Linux images only; this engine runs {version.get('Os')} containers"
    numbers = tuple(int(n) for n in re.findall(r"\d+", str(version.get("Version", "0")))[:2])
    if numbers < (18, 9):
        return False, f"engine {version.get('Version')} is older than 18.09, the first with BuildKit"
    return True, ""
