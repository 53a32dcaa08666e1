"""The Dockerfile the tutor sends Buildah: cache mounts made private, every line where it was (pure logic)."""

from __future__ import annotations

from tutor.engine.cache_mounts import private_cache_mounts
from tutor.engine.dockerfile import parse_dockerfile
from tutor.engine.instruction_flags import builder_flags, parse_mount

LEARNERS = (
    "FROM busybox\n"
    "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
    "    --mount=type=cache,id=pip,target=/ids,sharing=locked \\\n"
    "    pip install -r r.txt\n"
    "ONBUILD RUN --mount=target=/c,TYPE=cache true\n"
    "RUN --mount=type=bind,source=a,target=/a ls\n"
    'CMD ["python", "train.py"]\n'
)


def _mounts(text: str, line: int) -> list[dict[str, str]]:
    instruction = next(i for i in parse_dockerfile(text).instructions if i.line == line)
    value = instruction.value.partition(" ")[2] if instruction.name == "ONBUILD" else instruction.value
    return [parse_mount(v or "").fields for name, v in builder_flags(value)[0] if name == "mount"]


def test_every_cache_mount_gets_a_private_id_and_every_instruction_keeps_its_line() -> None:
    sent = private_cache_mounts(LEARNERS, "ns0")
    assert sent is not None
    before, after = parse_dockerfile(LEARNERS), parse_dockerfile(sent.text)
    assert [(i.name, i.line) for i in after.instructions] == [(i.name, i.line) for i in before.instructions]
    default, named = _mounts(sent.text, 2)
    assert default["id"].startswith("ns0-") and named["id"].startswith("ns0-") and default["id"] != named["id"]
    assert named["sharing"] == "locked" and named["target"] == "/ids"
    assert _mounts(sent.text, 5)[0]["id"].startswith("ns0-")  # ONBUILD RUN too
    assert "--mount=type=bind,source=a,target=/a ls" in sent.text  # no cache mount: as written
    assert private_cache_mounts(LEARNERS, "ns1").text != sent.text  # another owner, another id
    # The log shows the learner's own instruction for each rewritten one.
    assert set(sent.shown.values()) == {
        "RUN --mount=type=cache,target=/root/.cache/pip     --mount=type=cache,id=pip,target=/ids,sharing=locked     pip install -r r.txt",
        "ONBUILD RUN --mount=target=/c,TYPE=cache true",
    }


def test_a_dockerfile_without_a_cache_mount_is_sent_as_it_is() -> None:
    assert private_cache_mounts("FROM busybox\nRUN --mount=type=tmpfs,target=/t true\n", "ns0") is None
