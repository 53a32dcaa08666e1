"""docker-tutor images: what is here, a pull that cannot reach a registry, save and load round trip."""

from __future__ import annotations

import gzip
import io
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.classroom.helpers import assert_clear_failure, run
from tutor.engine.dockerhost import MANAGED_LABEL, STAND_IN_LABEL

pytestmark = pytest.mark.docker


def test_lists_the_curriculum_base_images_and_stand_ins(host) -> None:
    result = run("images")
    missing = [line for line in result.stdout.splitlines() if line.startswith("MISS")]
    assert result.returncode == (1 if missing else 0), result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "busybox:latest" in line)
    assert line.startswith("ok") and "present" in line
    labels = host.image_attrs("busybox:latest")["Config"].get("Labels") or {}
    assert ("offline stand-in" in line) == (labels.get(STAND_IN_LABEL) == "true")


def test_a_pull_that_cannot_reach_the_registry_says_so_and_exits_1(host) -> None:
    name = f"docker-tutor-test/absent-{uuid.uuid4().hex[:8]}:1"
    result = run("images", "pull", name)
    assert_clear_failure(result, 1, f"could not pull {name}")
    assert "images load" in result.stderr
    assert host.image_attrs(name) is None


def test_pull_skips_images_already_here(host) -> None:
    result = run("images", "pull", "busybox:latest")
    assert result.returncode == 0 and "busybox:latest: already here" in result.stdout


@pytest.fixture
def own_image(host):
    """An image of our own on top of busybox, so the round trip may delete it without touching busybox."""
    tag = f"docker-tutor-test/roundtrip:{uuid.uuid4().hex[:12]}"
    dockerfile = f"FROM busybox\nLABEL test.round-trip={tag}\n".encode()
    image, _ = host.client.images.build(
        fileobj=io.BytesIO(dockerfile), tag=tag, labels={MANAGED_LABEL: "true"}, pull=False, rm=True, forcerm=True
    )
    yield tag, image.id
    host.remove_image(tag)


def test_save_then_load_gives_back_the_same_image(own_image, host, tmp_path: Path) -> None:
    tag, image_id = own_image
    archive = tmp_path / "images.tar"
    saved = run("images", "save", str(archive), tag)
    assert saved.returncode == 0, saved.stderr
    with tarfile.open(archive) as tar:
        assert "manifest.json" in tar.getnames()
    host.api.remove_image(tag)
    assert host.image_attrs(tag) is None
    loaded = run("images", "load", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert f"loaded {tag}" in loaded.stdout
    assert host.image_attrs(tag)["Id"] == image_id

    # docker save | gzip is accepted too
    gzipped = tmp_path / "images.tar.gz"
    gzipped.write_bytes(gzip.compress(archive.read_bytes()))
    host.api.remove_image(tag)
    assert run("images", "load", str(gzipped)).returncode == 0
    assert host.image_attrs(tag)["Id"] == image_id


def test_save_of_several_images_keeps_every_tag(own_image, tmp_path: Path) -> None:
    tag, _ = own_image
    archive = tmp_path / "two.tar"
    assert run("images", "save", str(archive), tag, "busybox:latest").returncode == 0
    with tarfile.open(archive) as tar:
        manifest = tar.extractfile("manifest.json").read().decode()
    assert tag in manifest and "busybox:latest" in manifest


def test_load_refuses_a_file_that_is_not_an_image_archive(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a tar\n" * 100)
    assert_clear_failure(run("images", "load", str(text)), 2, "is not an image archive")
    plain_tar = tmp_path / "plain.tar"
    with tarfile.open(plain_tar, "w") as tar:
        tar.add(text, arcname="notes.txt")
    assert_clear_failure(run("images", "load", str(plain_tar)), 2, "is not an image archive")
    assert_clear_failure(run("images", "load", str(tmp_path / "absent.tar")), 2, "cannot read")


def test_save_refuses_images_that_are_not_here_and_unwritable_files(tmp_path: Path) -> None:
    assert_clear_failure(run("images", "save", str(tmp_path / "x.tar"), "docker-tutor-test/absent:1"), 2, "not on this machine")
    assert not (tmp_path / "x.tar").exists()
    assert_clear_failure(run("images", "save", str(tmp_path / "no" / "x.tar"), "busybox:latest"), 2, "cannot write")


def test_save_with_no_names_writes_every_base_image_that_is_here(tmp_path: Path) -> None:
    listing = run("images").stdout.splitlines()
    present = [line.split()[1] for line in listing if line.startswith("ok")]
    missing = [line.split()[1] for line in listing if line.startswith("MISS")]
    archive = tmp_path / "class.tar"
    result = run("images", "save", str(archive))
    assert result.returncode == 0, result.stderr
    with tarfile.open(archive) as tar:
        manifest = tar.extractfile("manifest.json").read().decode()
    assert all(name in manifest for name in present)
    assert all(f"not here, so not saved: {name}" in result.stderr for name in missing)



def test_pull_for_one_exercise_names_only_its_base_images(host) -> None:
    from tutor import locations
    from tutor.content.loader import load_curriculum
    from tutor.content.model import Curriculum
    from tutor.doctor import base_images

    exercise = load_curriculum([locations.content_root()]).exercise("04-first-dockerfile")
    expected = base_images(Curriculum(lessons=(), exercises=(exercise,)))
    assert all(host.image_attrs(name) for name in expected)  # the test machine has them
    result = run("images", "pull", "--exercise", "04-first-dockerfile")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{name}: already here" for name in expected]
    assert_clear_failure(run("images", "pull", "--exercise", "04-first"), 2, "Did you mean 04-first-dockerfile")
