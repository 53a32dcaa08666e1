"""What a learner's Dockerfile may reach, judged before it is sent to the engine.

A build may start FROM the curriculum's base images or an earlier stage of the same file, copy
from those alone, take files from its own folder only, and set no label of the tutor's own. The
engine fetches `ADD <url>` itself, from the host's network, whatever the build's network mode: so
remote sources are refused here, after Docker's own variable substitution, instead of being fetched
for the learner. It pulls a missing image the same way: `images_used` lists what the build would
take, for the engine-side check that each is already there (tutor/engine/local_images.py).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from tutor.engine.dockerfile import Dockerfile, DockerfileUnreadable, Instruction, read_dockerfile
from tutor.engine.instruction_flags import MountUnreadable, builder_flags, parse_mount
from tutor.engine.shell_words import Unresolvable, expand, words

# What Docker's builders would fetch rather than read from the context: any scheme://, an scp-like
# git address (git@host:repo), and the bare github.com/ shorthand of the classic builder.
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/\s:@]+@[^/\s:]+:|^github\.com/|://", re.IGNORECASE)
_RUN_NETWORKS = {"none", "default"}
# The labels that say whose image it is and of which folder (dockerhost.image_labels). Set by a
# learner's LABEL line, they would make a build's cached chain another's, step for step.
_TUTOR_LABELS = "org.docker-tutor."


@dataclass(frozen=True, slots=True)
class ImageUse:
    """An image a build would take from the engine (pulling it when absent): where, and which."""

    line: int
    how: str  # "FROM", "COPY --from", "RUN --mount=from"
    reference: str  # after the builder's substitution

    def __str__(self) -> str:
        joiner = "=" if self.how.endswith("from") else " "
        return f"line {self.line}: {self.how}{joiner}{self.reference}"


def refusals(dockerfile: Dockerfile, allowed_bases: Collection[str], *, build_args: Mapping[str, str] | None = None) -> list[str]:
    """Every reason this Dockerfile may not be built, each naming its line.

    build_args: the values given for ARGs (Compose's `build.args`), which win over their defaults."""
    return _walk(dockerfile, allowed_bases, build_args)[0]


def images_used(dockerfile: Dockerfile, *, build_args: Mapping[str, str] | None = None) -> list[ImageUse]:
    """Every image the build would take from the engine (FROM, COPY --from, RUN --mount=from=), as
    the builder reads them: not `scratch`, not an earlier stage. Read as `refusals` reads them."""
    return list(dict.fromkeys(_walk(dockerfile, (), build_args)[1]))


def _walk(
    dockerfile: Dockerfile, allowed_bases: Collection[str], build_args: Mapping[str, str] | None
) -> tuple[list[str], list[ImageUse]]:
    given = dict(build_args or {})
    uses: list[ImageUse] = []
    allowed = {normalize(ref) for ref in allowed_bases}
    allowed_repos = {repository(ref) for ref in allowed}
    problems: list[str] = []
    # A frontend of the learner's choice is an image BuildKit fetches (from any registry, this
    # machine's included) and runs to read the Dockerfile: the engine's own frontend reads it here.
    if dockerfile.syntax:
        problems.append(f"the parser directive # syntax={dockerfile.syntax}: the tutor builds with the engine's own Dockerfile frontend")
    problems += [f"build argument {name}: chooses a Dockerfile frontend to fetch" for name in given if name.upper() == "BUILDKIT_SYNTAX"]
    problems += [
        f"build argument {name}: the tutor chooses where a build's cache mounts are kept (each folder's are its own)"
        for name in given
        if name.upper() == "BUILDKIT_CACHE_MOUNT_NS"
    ]
    meta: dict[str, str] = {}
    stage_env: list[dict[str, str]] = []  # ENV each earlier stage ends with (a later FROM inherits it)
    aliases: list[str] = []
    env: dict[str, str] = {}
    escape = dockerfile.escape
    for instruction in dockerfile.instructions:
        name, line = instruction.name, instruction.line
        try:
            if name == "FROM":
                if aliases:
                    stage_env.append(env)
                readings = [_rest(instruction.value, spaced).split() for spaced in (False, True)]
                words_ = readings[0]
                earlier = [a.lower() for a in aliases]
                env = {}
                for reading in dict.fromkeys(tuple(r) for r in readings):
                    base = expand(reading[0], meta, escape) if reading else ""
                    if base.lower() in earlier:
                        env = dict(stage_env[earlier.index(base.lower())])
                        continue
                    if base and base != "scratch":
                        uses.append(ImageUse(line, "FROM", base))
                    if not _base_allowed(base, allowed, allowed_repos):
                        problems.append(f"line {line}: FROM {base or instruction.value}: {_not_allowed(allowed)}")
                platforms = [chosen for flag, chosen in _flags(instruction.value) if _other_platform(flag, chosen)]
                problems += [f"line {line}: FROM {_OTHER_PLATFORM}" for _ in platforms]
                aliases.append(words_[2] if len(words_) >= 3 and words_[1].upper() == "AS" else f"\0{len(aliases)}")
                continue
            if not aliases:  # ARGs before the first FROM
                if name == "ARG":
                    meta.update(_arg(instruction.value, meta, {}, escape, given))
                continue
            if name == "ARG":
                env.update(_arg(instruction.value, {**meta, **env}, meta, escape, given))
            elif name == "ENV":
                env.update(_env(instruction.value, env, escape))
            for problem in _judge(instruction, env, aliases, allowed, allowed_repos, escape, uses):
                problems.append(f"line {line}: {problem}")
        except Unresolvable as exc:
            problems.append(f"line {line}: {name} uses {exc}, which the tutor cannot follow")
    return problems, uses


def _judge(
    instruction: Instruction,
    env: dict[str, str],
    aliases: list[str],
    allowed: set[str],
    repos: set[str],
    escape: str,
    uses: list[ImageUse],
) -> list[str]:
    name, value = instruction.name, instruction.value
    if name == "ONBUILD":
        inner, _, rest = value.strip().partition(" ")
        inner_instruction = Instruction(inner.upper(), rest.strip(), instruction.line, instruction.stage)
        return _judge(inner_instruction, env, aliases, allowed, repos, escape, uses)
    flags = _flags(value)
    found = []
    if name in ("ADD", "COPY"):
        for flag, flag_value in flags:
            if flag == "from":
                source = expand(flag_value, env, escape)
                if not _earlier_stage(source, aliases) and source != "scratch":
                    uses.append(ImageUse(instruction.line, f"{name} --from", source))
                if not _earlier_stage(source, aliases) and not _base_allowed(source, allowed, repos):
                    found.append(f"{name} --from={source}: only an earlier stage of this Dockerfile (or a curriculum base image) may be copied from")  # noqa: E501
        if name == "ADD":
            sources = [s for spaced in (False, True) for s in _sources(_rest(value, spaced), env, escape)]
            for source in dict.fromkeys(sources):
                if _REMOTE.search(source):
                    found.append(
                        f"ADD {source}: the tutor does not let the engine fetch for a build (it would reach "
                        "the network from this machine, whatever the build's network rules); ADD and COPY "
                        "take files from your folder only"
                    )
    elif name == "LABEL":
        found += [
            f"LABEL {key}: the {_TUTOR_LABELS} labels are the tutor's own (whose image it is, built from which "
            "folder); give your labels a name of your own"
            for key in _env(value, env, escape)
            if key.lower().startswith(_TUTOR_LABELS)
        ]
    elif name == "RUN":
        for flag, flag_value in flags:
            if flag == "mount":
                found += _mount_problems(flag_value, env, aliases, allowed, repos, escape, uses, instruction.line)
            elif flag == "network" and expand(flag_value, env, escape) not in _RUN_NETWORKS:
                found.append(f"RUN --network={flag_value}: build steps take the exercise's network rules")
            elif flag == "security":
                found.append(f"RUN --security={flag_value}: build steps run with the default security profile")
    return found


def _mount_problems(
    value: str,
    env: dict[str, str],
    aliases: list[str],
    allowed: set[str],
    repos: set[str],
    escape: str,
    uses: list[ImageUse],
    line: int,
) -> list[str]:
    """What a `RUN --mount` may not do here: be read otherwise than the builder reads it, ask for a
    client session (secret, ssh), or mount from an image that is neither a curriculum base image
    nor an earlier stage. A cache mount is kept private by the builder (see BuildRequest.cache_key)."""
    try:
        mount = parse_mount(value)
    except MountUnreadable as exc:
        return [f"RUN --mount={value}: the builder would not read this mount ({exc}); write it as key=value pairs, e.g. --mount=type=cache,target=/root/.cache/pip"]  # noqa: E501
    if mount.type in ("secret", "ssh"):
        return [
            f"RUN --mount=type={mount.type}: the tutor builds without a client session, so no "
            f"{'secret' if mount.type == 'secret' else 'SSH agent'} can reach the build; build with what the "
            "folder holds (COPY), and keep secrets out of images"
        ]
    source = mount.fields.get("from")
    if source is None:
        return []
    # Judged after substitution, as later builders read it (20.10's takes a `$` literally: no image).
    source = expand(source, env, escape)
    if _earlier_stage(source, aliases):
        return []
    if source != "scratch":
        uses.append(ImageUse(line, "RUN --mount=from", source))
    if _base_allowed(source, allowed, repos):
        return []
    return [
        f"RUN --mount=type={mount.type},from={source}: only an earlier stage of this Dockerfile "
        "(or a curriculum base image) may be mounted"
    ]


def _flags(value: str) -> list[tuple[str, str]]:
    """The instruction's flags as any builder may read them: the parser of Engine 20.10 and later
    ones, which also take a flag's value after a space (`--from stage`). A flag with no value is
    left out: the builder refuses it ("missing a value"), or it is a switch such as --link."""
    both = builder_flags(value)[0] + builder_flags(value, spaced=True)[0]
    return list(dict.fromkeys((flag, flag_value) for flag, flag_value in both if flag_value is not None))


# An image for a platform of the learner's choosing is another image than the engine holds under
# that name: BuildKit fetches it from the registry whatever `pull=0` says (the classic builder
# fails). The build's own platforms, which BuildKit sets to the engine's, are what the engine holds.
_OWN_PLATFORMS = {"$BUILDPLATFORM", "${BUILDPLATFORM}", "$TARGETPLATFORM", "${TARGETPLATFORM}"}
_OTHER_PLATFORM = (
    "--platform: the tutor builds for the engine's own platform, from the images the engine holds; "
    "another platform's image would be fetched from a registry (leave --platform out, or use $BUILDPLATFORM)"
)


def _other_platform(flag: str, chosen: str) -> bool:
    return flag.lower() == "platform" and chosen.strip().strip("\"'") not in _OWN_PLATFORMS


def _rest(value: str, spaced: bool) -> str:
    return builder_flags(value, spaced=spaced)[1]


def _sources(rest: str, env: dict[str, str], escape: str) -> list[str]:
    if rest.startswith("["):
        try:
            items = json.loads(rest)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return [expand(i, env, escape) for i in items[:-1]]
    return words(rest, env, escape)[:-1]


def _arg(value: str, scope: dict[str, str], meta: dict[str, str], escape: str, given: dict[str, str]) -> dict[str, str]:
    result = {}
    for word in value.split():
        key, has_default, default = word.partition("=")
        if key in given:
            result[key] = given[key]
        elif has_default:
            result[key] = "".join(words(default, scope, escape)) if default else ""
        elif key in meta:
            result[key] = meta[key]
    return result


def _env(value: str, env: dict[str, str], escape: str) -> dict[str, str]:
    parts = words(value, env, escape)
    if parts and "=" not in parts[0]:  # ENV KEY value with spaces (the old form)
        key, _, raw = value.strip().partition(" ")
        return {key: " ".join(words(raw, env, escape))}
    return dict(part.partition("=")[::2] for part in parts)


def _earlier_stage(source: str, aliases: list[str]) -> bool:
    named = [a.lower() for a in aliases[:-1]]
    return source.lower() in named or (source.isdigit() and int(source) < len(aliases) - 1)


def normalize(reference: str) -> str:
    """One spelling per image reference: docker.io/library/busybox -> busybox:latest."""
    name, _, digest = reference.strip().partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        name = name.removeprefix(prefix)
    name = name.removeprefix("library/")
    if not tag and not digest:
        tag = "latest"
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def repository(normalized: str) -> str:
    return normalized.partition("@")[0].rsplit(":", 1)[0] if ":" in normalized.rpartition("/")[2] else normalized.partition("@")[0]


def base_allowed(reference: str, allowed_bases: Collection[str]) -> bool:
    """Whether an image reference names one of the allowed base images (any spelling of it)."""
    allowed = {normalize(ref) for ref in allowed_bases}
    return _base_allowed(reference, allowed, {repository(ref) for ref in allowed})


def _base_allowed(reference: str, allowed: set[str], repos: set[str]) -> bool:
    if reference == "scratch":
        return True
    if not reference or "$" in reference:
        return False
    ref = normalize(reference)
    if ref in allowed:
        return True
    # A digest pin of an allowed image (python:3.11-slim@sha256:...) names the same repository's bytes;
    # it is built only when the engine holds an image with that digest (local_images.py), never pulled.
    name, _, digest = ref.partition("@")
    return bool(digest) and (name in allowed or repository(name) in repos) and name.count(":") <= 1


def _not_allowed(allowed: set[str]) -> str:
    names = ", ".join(sorted(a for a in allowed if "@" not in a)) or "none"
    return f"builds here start from the curriculum's base images ({names}) or an earlier stage of this Dockerfile"


def allowed_bases(exercise_path: Path, builtin: Path) -> frozenset[str]:
    """The base images the exercise's pack and the built-in curriculum build FROM (their
    solutions and starters): the images a learner's build may use.

    The whole curriculum's, not the exercise's own: a learner may start 04 from python:3.11-slim or
    busybox whichever the solution uses, and an exercise's checks judge the base where it matters
    (`dockerfile.base`). What made a CUDA base in 04 costly, the engine pulling gigabytes for the
    learner, is closed for every base by local_images.py: a build may use only an image the engine
    already holds, so an allowed base the instructor has not loaded is refused, and one already
    there costs no disk (its layers are shared)."""
    own = _pack_bases(exercise_path.resolve().parent) if (exercise_path / "exercise.toml").is_file() else frozenset()
    return own | _pack_bases((builtin / "exercises").resolve())


@functools.cache
def _pack_bases(exercises: Path) -> frozenset[str]:
    names: set[str] = set()
    for path in exercises.glob("*/*/Dockerfile"):
        if path.parent.name not in ("solution", "starter"):
            continue
        try:
            names.update(normalize(base) for base in read_dockerfile(path).base_images if base != "scratch")
        except (DockerfileUnreadable, OSError):
            continue
    return frozenset(names)
