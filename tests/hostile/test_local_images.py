"""The tutor never makes the engine pull: every image a build would take must be on the engine already.

The engine pulls a missing image a Dockerfile names (FROM, COPY --from, RUN --mount=from=) whatever
`pull=0` says, from the engine machine's network. Each case names an image of an allowed repository
that this engine does not hold (a digest no local image carries, a CUDA tag never loaded), in each
place a build takes one; the build must be refused before anything is sent to the engine's build
or pull endpoints, naming the line and the reference, with the way to get the image."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.helpers import grade_all
from tutor.engine.build_policy import ImageUse
from tutor.engine.compose.project import ComposeProject
from tutor.engine.local_images import present

_DIGEST = "sha256:" + "ab" * 32
_CUDA = "nvidia/cuda:12.4.1-devel-ubuntu22.04"


@pytest.mark.docker
@pytest.mark.parametrize(
    "dockerfile,named",
    [
        (f"FROM busybox@{_DIGEST}\n", f"line 1: FROM busybox@{_DIGEST}"),
        (f"FROM python@{_DIGEST}\n", f"line 1: FROM python@{_DIGEST}"),
        (f"FROM {_CUDA}@{_DIGEST}\n", f"line 1: FROM {_CUDA}@{_DIGEST}"),
        # An allowed base (16's) that this engine does not hold: before, several GB pulled for 04.
        (f"FROM {_CUDA}\n", f"line 1: FROM {_CUDA}"),
        (f"ARG BASE=python@{_DIGEST}\nFROM $BASE\n", f"line 2: FROM python@{_DIGEST}"),
        (f"FROM busybox\nCOPY --from=python@{_DIGEST} /etc/os-release /x\n", f"line 2: COPY --from=python@{_DIGEST}"),
        (f"FROM busybox\nCOPY --from {_CUDA}@{_DIGEST} /etc/os-release /x\n", f"line 2: COPY --from={_CUDA}@{_DIGEST}"),
        (f"FROM busybox\nRUN --mount=from=python@{_DIGEST},target=/x true\n", f"line 2: RUN --mount=from=python@{_DIGEST}"),
        ("FROM busybox AS one\nFROM busybox@{busybox_id}\n", "line 2: FROM busybox@{busybox_id}"),
    ],
    ids=["from-digest", "from-python-digest", "from-cuda-tag-digest", "from-cuda-absent", "from-arg", "copy-from",
         "copy-from-spaced", "mount-from", "local-image-id-as-digest"],
)
def test_an_image_the_engine_does_not_hold_is_refused_before_the_build(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dockerfile: str, named: str
) -> None:
    if host.image_attrs(_CUDA) is not None and "cuda" in named and "@" not in named:
        pytest.skip("this engine holds the CUDA image")
    # The local busybox's own image id, spelled as a digest: a build resolves a digest by pull, not by id.
    busybox_id = str(host.image_attrs("busybox")["Id"])
    dockerfile, named = dockerfile.replace("{busybox_id}", busybox_id), named.replace("{busybox_id}", busybox_id)
    sent: list[str] = []
    post = host.api._post

    def spy(url: str, *args, **kwargs):
        sent.append(url)
        return post(url, *args, **kwargs)

    monkeypatch.setattr(host.api, "_post", spy)
    started = time.monotonic()
    report = grade_all(host, tmp_path / "ctx", [{"kind": "user"}], {"Dockerfile": dockerfile})
    assert not report.build.ok
    assert "not on this engine, and the tutor never makes the engine pull" in report.build.error, report.build.error
    assert named in report.build.error, report.build.error
    assert "docker pull" in report.build.hint and "docker-tutor images load" in report.build.hint, report.build.hint
    assert not [url for url in sent if url.endswith(("/build", "/images/create"))], sent
    assert time.monotonic() - started < 30


@pytest.mark.docker
def test_an_image_the_engine_holds_still_builds(host, tmp_path: Path) -> None:
    report = grade_all(
        host, tmp_path / "ctx", [{"kind": "command", "command": ["true"]}],
        {"Dockerfile": "FROM python:3.11-slim AS py\nFROM busybox\nCOPY --from=py /etc/os-release /x\n"},
    )
    assert report.build.ok, report.build.error


def test_a_digest_counts_only_when_a_local_image_of_that_repository_carries_it() -> None:
    pinned = {"Id": "sha256:" + "cd" * 32, "RepoDigests": [f"docker.io/library/python@{_DIGEST}"]}

    def inspect(reference: str) -> dict | None:
        return pinned if "python" in reference else None

    assert present(inspect, "python:3.11-slim")
    assert present(inspect, f"python@{_DIGEST}")
    assert present(inspect, f"docker.io/library/python:3.11-slim@{_DIGEST}")
    assert not present(inspect, "python@sha256:" + "ef" * 32)
    assert not present(inspect, "busybox")
    # An engine that answers for a digest it does not carry (a name matched otherwise) is not believed.
    assert not present(lambda _ref: {"Id": "x", "RepoDigests": []}, f"busybox@{_DIGEST}")


def test_a_compose_service_image_the_engine_does_not_hold_is_refused(tmp_path: Path) -> None:
    """Compose would pull a service's missing `image:` at `up`: refused with the others, nothing started."""

    class Engine:
        def inspect_image(self, image: str) -> dict:
            if image == "busybox":
                return {"Id": "sha256:1", "RepoDigests": []}
            raise LookupError(image)

    (tmp_path / "compose.yaml").write_text("services: {}\n")
    project = ComposeProject(tmp_path, exercise_id="99-test", engine=Engine())  # type: ignore[arg-type]
    config = {"services": {"ok": {"image": "busybox"}, "pinned": {"image": f"busybox@{_DIGEST}"}, "built": {"build": "."}}}
    assert project._images_to_pull(config) == [
        f"service pinned: image busybox@{_DIGEST} is not on this engine, and the tutor never makes the engine pull an image for a build"
    ]
    assert str(ImageUse(3, "COPY --from", "busybox")) == "line 3: COPY --from=busybox"


@pytest.mark.docker
@pytest.mark.parametrize("platform", ["linux/arm64", "'linux/s390x'", "windows/amd64"])
def test_an_image_for_another_platform_is_refused_before_buildkit_fetches_it(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    """BuildKit fetched `FROM --platform=linux/arm64 python:3.11-slim` from the registry although the
    engine holds python:3.11-slim (for its own platform): refused before anything is sent."""
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "buildkit")
    sent: list[str] = []
    post = host.api._post
    monkeypatch.setattr(host.api, "_post", lambda url, *a, **k: sent.append(url) or post(url, *a, **k))
    report = grade_all(host, tmp_path / "ctx", [{"kind": "user"}], {"Dockerfile": f"FROM --platform={platform} busybox\n"})
    assert not report.build.ok
    assert "line 1: FROM --platform: the tutor builds for the engine's own platform" in report.build.error, report.build.error
    assert not [url for url in sent if url.endswith(("/build", "/images/create"))], sent


@pytest.mark.docker
def test_the_build_s_own_platform_still_builds(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "buildkit")
    dockerfile = "FROM --platform=$BUILDPLATFORM busybox AS tools\nFROM busybox\nCOPY --from=tools /bin/busybox /b\n"
    report = grade_all(host, tmp_path / "ctx", [{"kind": "command", "command": ["true"]}], {"Dockerfile": dockerfile})
    assert report.build.ok, report.build.error
