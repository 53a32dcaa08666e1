"""The images of checked folders: one tag per exercise and folder, an unchanged folder's image
(and passed verdict) used again, the last few folders' images kept as their cache, the rest removed.

Everything the grader decides about the images of one grading happens here; the grader only asks.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tutor.content.model import Exercise
from tutor.engine.builders.choice import buildkit_only
from tutor.engine.dockerfile import Dockerfile
from tutor.engine.dockerhost import DockerHost
from tutor.engine.folder_lock import being_graded
from tutor.engine.owner import tag_secret
from tutor.engine.report import Report
from tutor.engine.verdicts import Remembered, VerdictStore, fingerprint
from tutor.errors import TutorError

# Each folder checked keeps its image as the cache of its next check; older folders' go.
KEPT_FOLDERS_PER_EXERCISE = 3


def image_tag(exercise: Exercise, directory: Path) -> str:
    """One tag per exercise and folder: the next check of the same folder reuses its cache.

    A secret of this data folder goes into the hash, so no one else on the engine can derive the tag."""
    folder = hashlib.sha256(tag_secret() + os.fsencode(directory.resolve())).hexdigest()[:12]
    return f"{_tag_prefix(exercise)}{folder}"


def _tag_prefix(exercise: Exercise) -> str:
    return f"docker-tutor/{exercise.id}:"


def run_tag(folder_tag: str) -> str:
    """A tag of one grading's own for the folder's image: what an image that goes when the grading
    ends is tagged with (`grade`'s), so no other grading of the folder can take it."""
    return f"{folder_tag}-{uuid.uuid4().hex[:8]}"


# An image tag as the engine lists it: Podman puts a registry's name before a short one.
_LISTED = re.compile(r"(?:docker\.io/|localhost/)?(?P<name>docker-tutor/.+)")
_RUN_TAG = re.compile(r"(?P<folder>docker-tutor/[^:]+:[0-9a-f]{12})-[0-9a-f]{8}")


def tutor_tag(listed: str) -> str:
    """The tutor's own name in an image tag as the engine lists it; '' for a name the tutor never gives."""
    found = _LISTED.fullmatch(listed)
    return found.group("name") if found else ""


def folder_tag_of(tag: str) -> str:
    """The folder's own tag (image_tag) for a tutor's tag: itself, or the folder's of a run_tag.
    A folder's lock is held under its own tag, whichever tag its grading gave the image."""
    run = _RUN_TAG.fullmatch(tag)
    return run.group("folder") if run else tag


def is_run_tag(tag: str) -> bool:
    return _RUN_TAG.fullmatch(tag) is not None


class FolderImages:
    """The image bookkeeping of one grading of one folder on one engine.

    keep: the image stays, tagged, as the cache of the folder's next check (otherwise its tag goes
    when the grading ends). verdicts: remember what this check proved and reuse what an earlier one
    proved; keep images for only the exercise's most recently checked folders. release: what to do
    with an image the grading is done with (default: remove it now)."""

    def __init__(
        self,
        host: DockerHost,
        exercise: Exercise,
        directory: Path,
        *,
        keep: bool = True,
        verdicts: VerdictStore | None = None,
        release: Callable[[str], None] | None = None,
    ) -> None:
        self._host = host
        self._exercise = exercise
        self._directory = directory
        self._keep = keep
        self._verdicts = verdicts if keep else None  # a folder whose image goes has nothing to reuse
        self._release = release or host.remove_image
        # The folder's cache mounts are found by its own tag; an image that goes when the grading
        # ends gets a tag of its own, which a removal noted for later (LaterRemoval) can never take
        # from the folder's next grading.
        self.cache_key = image_tag(exercise, directory)
        self.tag = self.cache_key if keep else run_tag(self.cache_key)
        self._previous = str((host.image_attrs(self.tag) or {}).get("Id", ""))
        self._print = ""  # the folder's fingerprint, when verdicts are remembered
        self._remembered: Remembered | None = None
        self._made: list[str] = []  # images of rebuilds, removed when the grading ends

    def unchanged(self, dockerfile: Dockerfile) -> Report | None:
        """The last check's report when the files, checks, base images and image are all the same
        and it passed (the verdict still holds); else None. An unchanged folder whose last check
        failed keeps its image: see `image_to_reuse`."""
        if self._verdicts is None:
            return None
        bases = [str((self._host.image_attrs(base) or {}).get("Id", "")) for base in dockerfile.base_images]
        builder = self._host.builder_choice(buildkit_only(dockerfile), network=self._exercise.build.network).name
        self._print = fingerprint(self._exercise, self._directory, bases, builder)
        remembered = self._verdicts.recall(self.tag)
        if remembered and (remembered.fingerprint != self._print or not self._previous or self._previous != remembered.image_id):
            remembered = None
        self._remembered = remembered
        if remembered is None or remembered.report is None:
            return None
        self._verdicts.touch(self.tag)  # counts as the folder's latest check
        reused = Report.from_dict(remembered.report)
        return replace(reused, build=replace(reused.build, reused=True, seconds=0.0))

    @property
    def image_to_reuse(self) -> str:
        """The id of the image built from exactly these files ('' when a build is needed)."""
        return self._remembered.image_id if self._remembered else ""

    def built(self, image_id: str) -> None:
        """The folder's image is `image_id` now: the one it replaces goes (with its own layers), the
        fingerprint is noted, and folders beyond the most recently checked few lose their image."""
        if self._previous and self._previous != image_id:
            # By id (the folder's tag is on its new image now), through a tag of the removal's own.
            self._host.remove_image(self._previous)
        if self._verdicts is None or self._remembered is not None:
            return
        self._verdicts.remember(self.tag, self._print, image_id, None)
        prefix, keep = _tag_prefix(self._exercise), KEPT_FOLDERS_PER_EXERCISE - 1
        for old in self._verdicts.older_tags(prefix, keep, current=self.tag):
            if being_graded(old):
                continue  # its checks are running on it in another tutor: the next eviction takes it
            self._host.remove_image(old)  # by tag: one the user also named, or a check made its own, keeps that name
            self._verdicts.forget(old)

    def made_by_rebuild(self, image_id: str, layers: list[str], *, own: str) -> None:
        """A rebuild's image and layers (a check's, e.g. the cache check's) go when the grading ends:
        left behind, they would serve a later rebuild from cache and hide a badly ordered file."""
        self._made.extend(reversed(layers))
        if image_id and image_id != own:
            self._made.insert(0, image_id)

    def close(self) -> None:
        """The grading is over: rebuilds' images go, and the folder's own unless it is kept."""
        for image in self._made:
            self._release(image)  # by id, which leaves another tutor's tag on it (image_removal)
        if not self._keep:
            self._release(self.tag)  # by the grading's own tag: a name someone else gave it stays

    def remember(self, image_id: str, report: Report) -> None:
        """What this check proved, for the next check of an unchanged folder (a passed report only)."""
        if self._verdicts is not None and self._print:
            self._verdicts.remember(self.tag, self._print, image_id, report)


class LaterRemoval:
    """Images that gradings side by side (a class) are done with, removed once all of them are over,
    never while a sibling builds: removing an image prunes its untagged parent layers, which a
    parallel build may have just taken from cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._images: list[tuple[DockerHost, str]] = []

    def on(self, host: DockerHost) -> Callable[[str], None]:
        """A `release` for FolderImages on `host`: the image is noted, not removed yet."""

        def note(image: str) -> None:
            with self._lock:
                self._images.append((host, image))

        return note

    def remove_all(self) -> None:
        with self._lock:
            images, self._images = list(dict.fromkeys(self._images)), []
        for host, image in images:
            with contextlib.suppress(TutorError):  # an engine dropped mid-class keeps its leftovers
                host.remove_image(image)
