"""Nothing a check of one folder removes may take another check's image from under it. Two folders
with the same files get images of their own (a label of the folder's), and the tutor removes an
image by id only through a tag of the removal's own (tutor/engine/image_removal.py): removed by id,
an image with exactly one tag is untagged and deleted, and a rebuild's or a failed build's layers
may be another tutor's image."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from tests.engine.helpers import context, exercise
from tests.engine.podman_support import PODMAN_URL, needs_podman
from tests.engine_cleanup import leftovers, owners_under, remove
from tutor.engine.builders.classic import remove_chain
from tutor.engine.folder_images import image_tag
from tutor.engine.grader import grade
from tutor.engine.owner import OWNER_LABEL, owner_id, tag_secret


@pytest.mark.docker
def test_two_folders_with_the_same_files_have_images_of_their_own(tmp_path: Path, host: Any, builder: str) -> None:
    """One user's tutor, two folders with the same files (an instructor grading two classes at once,
    a learner's copy of an exercise folder, a class of identical submissions). Were their images one,
    a removal of the first folder's, timed as the second's build makes the same image before its tag
    is on it, would delete it under the second folder's check: the engine deletes an image whose only
    tag goes. So whatever removes one folder's image, and when, the other's stays."""
    # A nonce: no other test's layers.
    files = {"Dockerfile": f'FROM busybox:latest\nRUN echo {time.time_ns()} > /n\nCMD ["echo", "hello"]\n'}
    says_hello = exercise([{"kind": "command", "expectedOutput": ["hello"]}])
    first, second = (context(tmp_path / name, files) for name in ("first", "second"))

    def image_of(folder: Path) -> str:
        return str((host.image_attrs(image_tag(says_hello, folder)) or {}).get("Id", ""))

    try:
        assert grade(says_hello, first, lambda: host).passed and grade(says_hello, second, lambda: host).passed
        theirs = image_of(second)
        assert theirs and image_of(first) not in ("", theirs), "two folders share one image"
        # The first folder is edited and checked again: its old image is replaced and removed.
        (first / "Dockerfile").write_text(files["Dockerfile"] + "ENV EDITED=1\n")
        assert grade(says_hello, first, lambda: host).passed
        # However it is removed, forced and by id, the first folder's image is not the second's.
        host.api.remove_image(image_of(first), force=True)
        assert image_of(second) == theirs, "removing the first folder's image took the second's"
        assert grade(says_hello, second, lambda: host).passed and image_of(second) == theirs
    finally:
        remove(host.api, leftovers(host.api, owners_under(tmp_path)))


def _committed_image(api: Any) -> str:
    """An untagged image of this test's own (as a rebuild or a failed build leaves one)."""
    container = api.create_container("busybox:latest", ["true"], labels={"test": "image-removal"})
    try:
        made = str(api.commit(container["Id"], message=str(time.time_ns()), conf={"Labels": {OWNER_LABEL: owner_id(tag_secret())}})["Id"])
        return made if made.startswith("sha256:") else f"sha256:{made}"  # Podman answers without the prefix
    finally:
        api.remove_container(container["Id"], force=True)


REMOVALS: dict[str, Callable[[Any, str], None]] = {
    "a folder's replaced image": lambda host, image: host.remove_image(image),
    "a failed build's layers": lambda host, image: remove_chain(host.api, [image.removeprefix("sha256:")[:12]]),
}


@pytest.mark.docker
@pytest.mark.parametrize("engine", ["docker", pytest.param("podman", marks=needs_podman)])
@pytest.mark.parametrize("removal", list(REMOVALS))
def test_an_image_removed_by_id_that_another_tutor_tagged_keeps_that_tag_and_one_nobody_has_goes(
    host: Any, engine: str, removal: str
) -> None:
    from tutor.engine.discovery import chosen_engine
    from tutor.engine.dockerhost import connect

    on = connect(named=chosen_engine({"DOCKER_HOST": PODMAN_URL})) if engine == "podman" else host
    theirs, ours = _committed_image(on.api), _committed_image(on.api)
    other = f"docker-tutor-test/other-learner:{time.time_ns()}"
    on.api.tag(theirs, *other.split(":"))
    try:
        REMOVALS[removal](on, theirs)
        REMOVALS[removal](on, ours)
        kept = on.image_attrs(other) or {}
        assert kept.get("Id") == theirs, "the other tutor's image was deleted under it"
        assert [tag.removeprefix("docker.io/") for tag in kept["RepoTags"]] == [other], "the removal's own tag was left on it"
        assert on.image_attrs(ours) is None, "an image nobody else has was left behind"
    finally:
        for ref in (other, ours):
            with contextlib.suppress(docker.errors.APIError):
                on.api.remove_image(ref)
