"""Turn the engine's build errors into a message that names the mistake and a hint that teaches the fix.

A failed RUN step is told in the tutor's own words, the same under every builder: Docker's
classic builder, BuildKit and Podman's Buildah each word it differently, and a learner (or a
mistakes.toml pattern) should not have to know which one built the image.
"""

from __future__ import annotations

import re

PULL_FAILED = re.compile(
    r"pull access denied|manifest unknown|not found: manifest|repository does not exist|"
    r"dial tcp|no such host|failed to resolve|TLS handshake|i/o timeout",
    re.I,
)

# How each builder says that a RUN step's command exited non-zero: (the command, its exit code).
_STEP_FAILED = [
    # the classic builder: The command '/bin/sh -c pip install x' returned a non-zero code: 1
    re.compile(r"The command '(?P<command>.*)' returned a non-zero code: (?P<code>\d+)", re.S),
    # BuildKit (Engine 20.10): executor failed running [/bin/sh -c pip install x]: exit code: 1
    re.compile(r"executor failed running \[(?P<command>.*)\]: exit code: (?P<code>\d+)", re.S),
    # BuildKit (Engine 23+): process "/bin/sh -c pip install x" did not complete successfully: exit code: 1
    re.compile(r'process "(?P<command>.*)" did not complete successfully: exit code: (?P<code>\d+)', re.S),
    # Podman (Buildah): building at STEP "RUN pip install x": while running runtime: exit status 1
    re.compile(r'building at STEP "(?:RUN )?(?P<command>.*)": while running runtime: exit status (?P<code>\d+)', re.S),
]
_SHELL = re.compile(r"^/bin/sh -c ")


def step_failure(error: str) -> str:
    """The error with a builder's words for a RUN step that exited non-zero put in the tutor's
    own (what the tutor says before them, such as a limit it saw reached, stays); '' if none."""
    for pattern in _STEP_FAILED:
        found = pattern.search(error)
        if found:
            command = _SHELL.sub("", found["command"].strip())
            told = f"the build step RUN {command} failed with exit code {found['code']}"
            return error[: found.start()] + told + error[found.end() :]
    return ""


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
        re.compile(r"failed with exit code 137$|returned a non-zero code: 137|exit code: 137"),
        "A RUN step was killed, usually because it ran out of memory (the build has a memory limit).",
    ),
    (
        re.compile(r"failed with exit code 153$|returned a non-zero code: 153|exit code: 153|wrote .* over |added .* to its base image"),
        "A build step wrote more than an exercise's image may hold (a file over the limit ends the step "
        "with code 153). Keep data sets and model weights out of the image: mount them, or fetch them at run time.",
    ),
    (
        re.compile(r"processes at once"),
        "A build step started processes without end. A RUN step runs commands to their end: no loops that "
        "start processes in the background.",
    ),
    (
        re.compile(r"failed with exit code \d+$|returned a non-zero code|executor failed running|did not complete successfully: exit code"),
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
