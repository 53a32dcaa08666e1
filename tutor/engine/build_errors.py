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
        re.compile(r"not on this engine, and the tutor never makes the engine pull"),
        "Get the image onto the engine first. On your own machine: docker pull NAME (the curriculum's base "
        "images all at once: docker-tutor images pull). On a class's engine, ask your instructor to load it "
        "(docker-tutor images load FILE, a tar written by docker-tutor images save). A digest (@sha256:...) "
        "counts only when a local image carries it: docker images --digests lists them.",
    ),
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
        re.compile(r"under VOLUME \S+"),
        "A RUN step wrote under a path the Dockerfile declared as a VOLUME earlier: during the build that "
        "path is a throwaway volume, so what a step writes there never reaches the image and only fills the "
        "engine's disk. Write build output to another folder, or move the VOLUME line after the steps that "
        "fill that folder.",
    ),
    (
        re.compile(r"files and folders.* over the [\d,]+ an exercise's"),
        "A build made more files than an exercise's image may hold: every file costs the engine's disk an "
        "inode, however small. Make many small files at run time (in a volume), or keep them in one archive "
        "and read it from there.",
    ),
    (
        re.compile(r"a BuildKit step may hold"),
        "A build step held more than an exercise's image may hold: what it wrote into its own layer and what "
        "its cache mounts hold, counted together. Keep data sets and model weights out of the image: mount them, "
        "or fetch them at run time. A cache mount keeps what a step put in it from one build to the next, and "
        "counts again in every step that mounts it: give it a new id (--mount=type=cache,id=NEW,target=...) "
        "to start it empty.",
    ),
    (
        re.compile(r"failed with exit code 153$|returned a non-zero code: 153|exit code: 153|wrote .* over |added .* to its base image"),
        "A build step wrote more than an exercise's image may hold (under the classic builder, a file over "
        "the limit ends the step with code 153). Keep data sets and model weights out of the image: mount them, "
        "or fetch them at run time.",
    ),
    (  # after the limits': a step stopped for one of them is killed too (SIGKILL, 137)
        re.compile(r"failed with exit code 137$|returned a non-zero code: 137|exit code: 137"),
        "A RUN step was killed, usually because it ran out of memory (the build has a memory limit).",
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


# What a step prints when it needed the network and had none, each tool in its own words (pip,
# apt-get, apk, curl, wget, git, npm and the language runtimes): a failed name lookup, said first
# when a line holds both, then a connection that could not be made.
NO_NETWORK = (
    re.compile(
        r"Temporary failure in name resolution|Temporary failure resolving '[^']*'|Name or service not known|"
        r"Could not resolve (host|proxy)(: \S+)?|Could not resolve '[^']*'|Name does not resolve|"
        r"No address associated with hostname|bad address '[^']*'|nodename nor servname provided|"
        r"(?-i:\b(EAI_AGAIN|ENOTFOUND)\b)|dial tcp: lookup [^\s:]+",
        re.I,
    ),
    re.compile(
        r"Network is unreachable|unable to access '[^']*'|Failed to establish a new connection|"
        r"Failed to fetch https?://\S+|Could not connect to \S+|Unable to establish SSL connection|ConnectTimeout",
        re.I,
    ),
)
# Lines of a build log that are the builder's own, not the step's output.
_FRAMING = re.compile(
    r"^(#\d+ (\[|ERROR|DONE|CACHED|\.\.\.|sha256:|extracting|resolve|transferring|naming|exporting|writing)|#\d+ \S+$|"
    r"-{6}$| > |Step \d+/\d+ :|(\[[^\]]*\] )?STEP \d+/\d+:| ---> |Removing intermediate container|"
    r"executor failed running|The command '|error building at STEP|process \"|.*did not complete successfully: exit code)"
)
_STAMP = re.compile(r"^#\d+ \d+(\.\d+)? ")
_MAX_LINE = 160


def step_output(log_tail: list[str]) -> list[str]:
    """The failed RUN step's output as the build log kept it, without the builder's framing."""
    # BuildKit ends a failed build with the step's lines between ' > [n/m] RUN ...:' and '------'.
    summary = [i for i, line in enumerate(log_tail) if line.startswith(" > ")]
    if summary:
        start = summary[-1] + 1
        end = next((i for i in range(start, len(log_tail)) if log_tail[i] == "------"), len(log_tail))
        lines = log_tail[start:end]
    else:  # the classic builder and Buildah: the lines after the last step's header
        headers = [i for i, line in enumerate(log_tail) if re.match(r"(Step \d+/\d+ :|(\[[^\]]*\] )?STEP \d+/\d+:)", line)]
        lines = log_tail[headers[-1] + 1 :] if headers else log_tail
    output = [_STAMP.sub("", line).rstrip() for line in lines if not _FRAMING.match(line)]
    return [line for line in output if line.strip()]


def explain_step_failure(error: str, log_tail: list[str], network: bool) -> tuple[str, str]:
    """A failed RUN step's error with its cause added, as one line, and the hint for it.

    The cause is the step's last lines of output; when they show that it needed the network, the
    message says so, and whether the exercise's builds have one ((error, hint) unchanged if it is
    not a failed RUN step, or the step printed nothing)."""
    output = step_output(log_tail)
    if not step_failure_told(error) or not output:
        return error, hint_for(error)
    last = " / ".join(_short(line.strip()) for line in output[-2:])
    lookup = next((found for pattern in NO_NETWORK for line in output if (found := pattern.search(line))), None)
    if lookup is None:
        return f"{error}; its last output: {last}", hint_for(error)
    if network:
        cause = f'it could not reach the network (it printed "{lookup[0]}")'
        hint = "The step needed the network and could not reach it: check the address, or try again when the network is back."
    else:
        cause = f'builds have no network in this exercise, and the step needed it (it printed "{lookup[0]}")'
        hint = (
            "Builds in this exercise run without a network, so a RUN step cannot download anything (pip, apt-get, "
            "curl). Use what the base image already holds, or COPY the files the step needs from your folder."
        )
    return f"{error}: {cause}; its last output: {last}", hint


def step_failure_told(error: str) -> bool:
    """Whether the error is a failed RUN step, as step_failure() tells it."""
    return bool(re.search(r"(^|: )the build step RUN .* failed with exit code \d+", error))


def _short(line: str) -> str:
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"
