"""The image of one exercise folder: its tag, whether an earlier verdict still holds, which
images go once a new one is built, and what the next check may reuse.

Each folder checked keeps its image as the cache of its next check; the exercise keeps images
for its last KEPT_FOLDERS_PER_EXERCISE folders only (those this learner's verdict store knows).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from tutor.content.model import Exercise
from tutor.engine.dockerfile import Dockerfile
from tutor.engine.dockerhost import BuildOutcome, DockerHost
from tutor.engine.report import Report
from tutor.engine.verdicts import Remembered, VerdictStore, fingerprint

KEPT_FOLDERS_PER_EXERCISE = 3


def image_tag(exercise: Exercise, directory: Path) -> str:
    """One tag per exercise and folder: the next check of the same folder reuses its cache."""
    folder = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:12]
    return f"{tag_prefix(exercise)}{folder}"


def tag_prefix(exercise: Exercise) -> str:
    return f"docker-tutor/{exercise.id}:"


class FolderImage:
    """Bookkeeping for one check of one folder. Without a verdict store (or with keep=False),
    nothing is remembered or reused: the image is built, judged and, unless kept, untagged."""

    def __init__(
        self,
        host: DockerHost,
        exercise: Exercise,
        directory: Path,
        dockerfile: Dockerfile,
        verdicts: VerdictStore | None,
        *,
        keep: bool,
    ) -> None:
        self.host, self.exercise, self.keep = host, exercise, keep
        self.tag = image_tag(exercise, directory)
        self._previous = host.image_attrs(self.tag)
        self._verdicts = verdicts if keep else None
        self._print = ""
        self._remembered: Remembered | None = None
        if self._verdicts is not None:
            bases = [(host.image_attrs(base) or {}).get("Id", "") for base in dockerfile.base_images]
            self._print = fingerprint(exercise, directory, bases)
            remembered = self._verdicts.recall(self.tag)
            # Same files, same checks, same base images, and the image is still the one tagged.
            if remembered and remembered.fingerprint == self._print and self._previous_id == remembered.image_id:
                self._remembered = remembered

    @property
    def _previous_id(self) -> str:
        return (self._previous or {}).get("Id", "")

    def verdict(self) -> Report | None:
        """The report of an earlier check of these very files, when it still holds (it passed)."""
        if self._verdicts is None or self._remembered is None or not self._remembered.report:
            return None
        self._verdicts.touch(self.tag)
        reused = Report.from_dict(self._remembered.report)
        return replace(reused, build=replace(reused.build, reused=True, seconds=0.0))

    def built_before(self) -> BuildOutcome | None:
        """The image an earlier check built from these files (its checks did not all pass)."""
        if self._remembered is None:
            return None
        return BuildOutcome(ok=True, seconds=0.0, image_id=self._remembered.image_id)

    def adopt(self, outcome: BuildOutcome) -> None:
        """A good image is this folder's now: the old one goes, and so do older folders' beyond the kept ones."""
        if self._previous and self._previous_id != outcome.image_id:
            self.host.remove_image(self._previous_id)  # the old image's unique layers go with it
        if self._verdicts is None or self._remembered is not None:
            return
        self._verdicts.remember(self.tag, self._print, outcome.image_id, None)
        for old in self._verdicts.older_tags(tag_prefix(self.exercise), KEPT_FOLDERS_PER_EXERCISE - 1, current=self.tag):
            self.host.remove_image(old)  # by tag: an image another folder also has keeps its other tag
            self._verdicts.forget(old)

    def release(self) -> None:
        """After the checks: an image not kept is untagged (by tag: parallel checks may share its id)."""
        if not self.keep:
            self.host.remove_image(self.tag)

    def record(self, image_id: str, report: Report) -> None:
        """Remember the verdict of a check that ran to its end (a passed one is reused next time)."""
        if self._verdicts is not None:
            self._verdicts.remember(self.tag, self._print, image_id, report)
