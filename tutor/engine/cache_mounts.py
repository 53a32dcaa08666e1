"""Cache mounts kept private on an engine that has no namespace for them (Podman's Buildah).

Buildah keys a `RUN --mount=type=cache` by its id (or its target) for every build on the machine,
as BuildKit does; BuildKit takes a namespace for them (BUILDKIT_CACHE_MOUNT_NS), Buildah none. So
the tutor sends Buildah a copy of the Dockerfile (never the learner's file) in which every cache
mount's id is put under the namespace: each rewritten instruction on its own first line, the lines
after it left empty, so every instruction keeps its line; the log shows the learner's own text.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from dockerfile_parse import DockerfileParser

from tutor.engine.instruction_flags import MountUnreadable, builder_flags, csv_record, parse_mount


@dataclass(frozen=True, slots=True)
class PrivateCacheDockerfile:
    text: str  # the Dockerfile sent to the builder
    shown: dict[str, str]  # each rewritten instruction's text -> the learner's own, for the log


def private_cache_mounts(text: str, namespace: str) -> PrivateCacheDockerfile | None:
    """The Dockerfile with every cache mount under `namespace` (None: it has no cache mount).
    The learner's own id (or target) stays part of the new id, so mounts they told apart stay apart."""
    lines = text.splitlines(keepends=True)
    shown: dict[str, str] = {}
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")), env_replace=False)
    for item in parser.structure:
        keyword, value = item["instruction"], item["value"].strip()
        if keyword.upper() == "ONBUILD":
            inner, _, value = value.partition(" ")
            keyword, value = f"{keyword} {inner}", value.strip()
        if keyword.split()[-1].upper() != "RUN":
            continue
        flags, rest = builder_flags(value)
        if not any(name == "mount" and _is_cache(flag_value) for name, flag_value in flags):
            continue
        own = f"{keyword} {value}"
        sent = [(name, _private(arg, namespace) if name == "mount" and _is_cache(arg) else arg) for name, arg in flags]
        rewritten = " ".join([keyword, *(_flag(name, arg) for name, arg in sent), rest]).rstrip()
        # Buildah's errors quote the step as it parsed it: its flags without their quotes.
        parsed = " ".join([keyword, *(f"--{name}" + (f"={arg}" if arg is not None else "") for name, arg in sent), rest]).rstrip()
        shown[rewritten] = shown[parsed] = own
        start, end = item["startline"], item["endline"]
        lines[start] = rewritten + "\n"
        for number in range(start + 1, min(end + 1, len(lines))):
            lines[number] = "\n"
    return PrivateCacheDockerfile("".join(lines), shown) if shown else None


def _is_cache(value: str | None) -> bool:
    try:
        return value is not None and parse_mount(value).type == "cache"
    except MountUnreadable:
        return False  # refused before any build (build_policy)


def _private(value: str | None, namespace: str) -> str:
    mount = parse_mount(value or "")
    own = mount.fields.get("id") or mount.fields.get("target", "")
    private_id = f"{namespace}-{hashlib.sha256(own.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"
    # The learner's fields as written (Buildah reads them by their own spelling), less their id.
    fields = [field for field in csv_record(value or "") if field.partition("=")[0].lower() != "id"]
    return ",".join([*(_csv_field(field) for field in fields), f"id={private_id}"])


def _csv_field(field: str) -> str:
    return f'"{field.replace(chr(34), chr(34) * 2)}"' if "," in field or '"' in field else field


def _flag(name: str, value: str | None) -> str:
    if value is None:
        return f"--{name}"
    return f'--{name}="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
