"""Two folders with the same files have one image under two tags (the build cache is the engine's,
and one user's tutor labels both alike): nothing a check of one removes may take the other's image
from under it. Removed by id, an image with exactly one tag is untagged and deleted, so the tutor
removes an image by id only through a tag of the removal's own (tutor/engine/image_removal.py)."""

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
def test_a_recheck_after_an_edit_leaves_the_image_of_an_identical_folder_to_its_own_check(tmp_path: Path, host: Any, builder: str) -> None:
    """One user's tutor, two folders with the same files (an instructor grading two classes at once,
    a learner's copy of an exercise folder): their images are one, under each folder's tag."""
    # A nonce: no other test's layers.
    files = {"Dockerfile": f'FROM busybox:latest\nRUN echo {time.time_ns()} > /n\nCMD ["echo", "hello"]\n'}
    says_hello = exercise([{"kind": "command", "expectedOutput": ["hello"]}])
    first, second = (context(tmp_path / name, files) for name in ("first", "second"))

    def image_of(folder: Path) -> str:
        return str((host.image_attrs(image_tag(says_hello, folder)) or {}).get("Id", ""))

    try:
        assert grade(says_hello, first, lambda: host).passed and grade(says_hello, second, lambda: host).passed
        before = image_of(second)
        assert before and image_of(first) == before
        # The first folder is edited and checked again: its old image (the second's too) is replaced and removed.
        (first / "Dockerfile").write_text(files["Dockerfile"] + "ENV EDITED=1\n")
        assert grade(says_hello, first, lambda: host).passed
        assert image_of(second) == before, "the first folder's check removed the image the second folder's stands on"
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
