"""Turn the engine's build errors into a message that names the mistake and a hint that teaches the fix."""

from __future__ import annotations

import re

PULL_FAILED = re.compile(
    r"pull access denied|manifest unknown|not found: manifest|repository does not exist|"
    r"dial tcp|no such host|failed to resolve|TLS handshake|i/o timeout",
    re.I,
)

_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"COPY failed|ADD failed|file not found in build context|no source files were specified|"
            r"failed to compute cache key: .* not found",  # BuildKit's words for it
            re.I,
        ),
        "A COPY or ADD names a file that is not in your exercise folder (or .dockerignore leaves it out). "
        "Paths in COPY are relative to the folder being built; check the spelling with ls.",
    ),
    (
        PULL_FAILED,
        "The base image in FROM is not on this machine and could not be pulled. Check its name and tag; "
        "offline, run 'docker-tutor doctor' to see which base images are present.",
    ),
    (
        re.compile(r"returned a non-zero code: 137|exit code: 137"),
        "A RUN step was killed, usually because it ran out of memory (the build has a memory limit).",
    ),
    (
        re.compile(r"returned a non-zero code: 153|exit code: 153|wrote .* over |added .* to its base image"),
        "A build step wrote more than an exercise's image may hold (a file over the limit ends the step "
        "with code 153). Keep data sets and model weights out of the image: mount them, or fetch them at run time.",
    ),
    (
        re.compile(r"processes at once"),
        "A build step started processes without end. A RUN step runs commands to their end: no loops that "
        "start processes in the background.",
    ),
    (
        re.compile(r"returned a non-zero code|executor failed running|did not complete successfully: exit code"),
        "A RUN step failed. The build log above the error shows its output: read the last lines it printed.",
    ),
    (
        re.compile(r"unknown instruction|dockerfile parse error|Dockerfile parse error", re.I),
        "Docker does not understand a line of the Dockerfile: check the instruction's spelling.",
    ),
    (
        re.compile(r"did not finish within"),
        "A build step ran for too long. A RUN step must finish by itself: no servers, no interactive "
        "prompts (use apt-get install -y), no endless loops.",
    ),
]


def hint_for(error: str) -> str:
    return next((hint for pattern, hint in _RULES if pattern.search(error)), "")
