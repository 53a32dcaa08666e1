"""Read a learner's `docker run` command: parse and validate its flags without a shell.

The tutor never executes the text. It turns the flags it understands into sandbox settings and
refuses, with a reason, the ones that would escape the sandbox (host mounts, privileges).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

# Flags that take a value, by every spelling; the value is the next word or follows "=".
_VALUE_FLAGS = {
    "-e": "env", "--env": "env", "-p": "publish", "--publish": "publish", "--name": "name",
    "-w": "workdir", "--workdir": "workdir", "-u": "user", "--user": "user", "--entrypoint": "entrypoint",
    "-m": "memory", "--memory": "memory", "--cpus": "cpus", "-v": "volume", "--volume": "volume",
    "--network": "network", "--net": "network", "--gpus": "gpus", "--restart": "restart",
    "--label": "label", "-l": "label", "--stop-timeout": "stop_timeout", "--hostname": "hostname", "-h": "hostname",
}
_SWITCHES = {"--rm": "rm", "-d": "detach", "--detach": "detach", "-i": "interactive", "--interactive": "interactive",
             "-t": "tty", "--tty": "tty", "-P": "publish_all", "--publish-all": "publish_all",
             "--read-only": "read_only", "--init": "init"}
_REFUSED = {
    "--privileged": "gives the container every capability of the host",
    "--cap-add": "adds kernel capabilities",
    "--device": "passes a host device in",
    "--pid": "shares a process namespace",
    "--ipc": "shares an IPC namespace",
    "--security-opt": "changes the security profile",
    "--mount": "mounts host paths (use -v with a named volume here)",
    "--env-file": "reads a file from your machine",
    "--volumes-from": "mounts another container's volumes",
    "--userns": "changes the user namespace",
    "--uts": "shares the host's hostname namespace",
}


# How the docker CLI reads a boolean written --flag=value (Go's strconv.ParseBool).
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


_BOOLEAN_REFUSED = {"--privileged"}


def canonical(flag: str) -> str:
    """One name for every spelling of a flag: -d and --detach are both "detach"."""
    return _SWITCHES.get(flag) or _VALUE_FLAGS.get(flag) or flag


class DockerRunError(ValueError):
    """The command is not a docker run the tutor can accept; the message says why."""


@dataclass(slots=True)
class DockerRun:
    image: str = ""
    args: list[str] = field(default_factory=list)
    switches: set[str] = field(default_factory=set)
    env: dict[str, str] = field(default_factory=dict)
    publish: list[str] = field(default_factory=list)
    volumes: list[tuple[str, str]] = field(default_factory=list)  # (named volume, container path)
    values: dict[str, str] = field(default_factory=dict)  # name, workdir, user, entrypoint, memory, ...
    flags_seen: list[str] = field(default_factory=list)

    @property
    def published_ports(self) -> list[int]:
        return [int(spec.split(":")[-1].split("/")[0]) for spec in self.publish]


def extract_command(text: str) -> str:
    """The first `docker run` command in a script, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if re.match(r"^(sudo\s+)?docker\s+(container\s+)?run\b", stripped):
            return stripped
    raise DockerRunError("no line starting with 'docker run' was found")


def parse_docker_run(command: str) -> DockerRun:
    try:
        words = shlex.split(command, comments=True)
    except ValueError as exc:
        raise DockerRunError(f"the command does not parse like a shell line: {exc}") from exc
    if words[:1] == ["sudo"]:
        words = words[1:]
    if words[:2] == ["docker", "container"]:
        words = ["docker", *words[2:]]
    if words[:2] != ["docker", "run"]:
        raise DockerRunError("the command must start with 'docker run'")
    run = DockerRun()
    rest = words[2:]
    index = 0
    while index < len(rest):
        word = rest[index]
        if not word.startswith("-") or word == "-":
            run.image, run.args = word, rest[index + 1 :]
            break
        name, has_value, inline = word.partition("=")
        if name in _BOOLEAN_REFUSED and has_value and _boolean(name, inline) is False:
            pass  # --privileged=false asks for nothing
        elif name in _REFUSED:
            raise DockerRunError(f"{name} is not allowed here: it {_REFUSED[name]}")
        elif name in _SWITCHES:
            # The last spelling wins, as in the docker CLI: --rm then --rm=false is no --rm.
            if not has_value or _boolean(name, inline):
                run.switches.add(_SWITCHES[name])
                run.flags_seen.append(name)
            else:
                run.switches.discard(_SWITCHES[name])
                run.flags_seen = [f for f in run.flags_seen if canonical(f) != _SWITCHES[name]]
        elif name in _VALUE_FLAGS:
            if has_value:
                value = inline
            else:
                index += 1
                if index >= len(rest):
                    raise DockerRunError(f"{name} needs a value")
                value = rest[index]
            _apply(run, _VALUE_FLAGS[name], name, value)
            run.flags_seen.append(name)
        elif re.fullmatch(r"-[a-zA-Z]{2,}", word) and all(f"-{c}" in _SWITCHES for c in word[1:-1]) and (
            f"-{word[-1]}" in _SWITCHES or f"-{word[-1]}" in _VALUE_FLAGS
        ):
            for letter in word[1:-1]:  # combined short flags such as -it, -dP, or -dp 8000:8000
                run.switches.add(_SWITCHES[f"-{letter}"])
                run.flags_seen.append(f"-{letter}")
            last = f"-{word[-1]}"
            if last in _SWITCHES:
                run.switches.add(_SWITCHES[last])
                run.flags_seen.append(last)
            else:
                index += 1
                if index >= len(rest):
                    raise DockerRunError(f"{last} needs a value")
                _apply(run, _VALUE_FLAGS[last], last, rest[index])
                run.flags_seen.append(last)
        else:
            raise DockerRunError(f"unknown or unsupported flag {word}")
        index += 1
    if not run.image:
        raise DockerRunError("no image name: docker run [OPTIONS] IMAGE [COMMAND] [ARG...]")
    return run


def _boolean(flag: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise DockerRunError(f"{flag}={value}: a switch takes true or false after =")


def _apply(run: DockerRun, kind: str, flag: str, value: str) -> None:
    if kind == "env":
        key, has_value, val = value.partition("=")
        if not has_value:
            raise DockerRunError(f"{flag} {value}: write KEY=VALUE (taking the value from your shell is not supported here)")
        run.env[key] = val
    elif kind == "publish":
        if not re.fullmatch(r"((\d{1,3}(\.\d{1,3}){3}:)?\d*:)?\d+(/tcp|/udp)?", value):
            raise DockerRunError(f"{flag} {value}: write HOST_PORT:CONTAINER_PORT, e.g. -p 8000:8000")
        run.publish.append(value)
    elif kind == "volume":
        source, _, target = value.partition(":")
        if not target:
            raise DockerRunError(f"{flag} {value}: write VOLUME_NAME:/path/in/container")
        # A volume name is a plain word; anything else ($(pwd), ./data, ~/x, /abs) is a host path.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", source):
            raise DockerRunError(
                f"{flag} {value} mounts a folder of your machine; the tutor's sandbox mounts no host folders, "
                "so use a named volume here (e.g. -v models:/models)"
            )
        run.volumes.append((source, target.split(":")[0]))
    elif kind == "network" and value not in ("none", "bridge", "default"):
        raise DockerRunError(f"{flag} {value} is not allowed here: only none or bridge")
    else:
        run.values[kind] = value
